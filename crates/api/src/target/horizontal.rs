//! `spec.horizontal`: replica floors fed to the workload's HPA (seed 001).

use k8s_openapi::api::autoscaling::v2::MetricSpec;
use kube::KubeSchema;
use serde::{Deserialize, Serialize};

use super::model::ModelSpec;
use super::scaling::ScalingBehavior;
use crate::mode::DirectionMode;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(deny_unknown_fields)]
#[x_kube(validation = Rule::new(crate::rules::MULTIPLE_XOR_ALLOWED.cel).message(crate::rules::MULTIPLE_XOR_ALLOWED.message))]
#[x_kube(validation = Rule::new(crate::rules::MIN_WITHIN_MAX.cel).message(crate::rules::MIN_WITHIN_MAX.message))]
pub struct HorizontalSpec {
    /// `recommendation` (default) or `autonomous`; see the API reference for spellings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<DirectionMode>,
    /// Overrides of `spec.model` for horizontal forecasts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaling_behavior: Option<ScalingBehavior>,
    /// Metrics to forecast in addition to the HPA's own (autoscaling/v2 MetricSpec).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 16))]
    pub additional_metrics: Option<Vec<MetricSpec>>,
    /// HPA metrics not to forecast, matched by name and/or type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 16))]
    pub exclude_metrics: Option<Vec<ExcludeMetric>>,
    #[serde(
        rename = "minReplicas",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(range(min = 0))]
    pub min_replicas: Option<i32>,
    #[serde(
        rename = "maxReplicas",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(range(min = 1))]
    pub max_replicas: Option<i32>,
    /// Suggested replica counts are rounded up to a multiple of this.
    #[serde(
        rename = "multipleOf",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(range(min = 1))]
    pub multiple_of: Option<i32>,
    /// Suggested replica counts are rounded up to one of these.
    #[serde(
        rename = "allowedReplicas",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(length(min = 1, max = 64))]
    pub allowed_replicas: Option<Vec<i32>>,
}

/// An HPA metric to leave out of the forecast.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(deny_unknown_fields)]
pub struct ExcludeMetric {
    /// Metric name, e.g. `cpu`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Metric source type, e.g. `Resource`, `External`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
}

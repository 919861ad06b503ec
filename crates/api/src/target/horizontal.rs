//! `spec.horizontal`: replica floors fed to the workload's HPA (seed 001).

use k8s_openapi::api::autoscaling::v2::MetricSpec;
use kube::KubeSchema;
use serde::{Deserialize, Serialize};

use super::model::ModelSpec;
use super::scaling::ScalingBehavior;
use crate::mode::DirectionMode;

/// Horizontal scaling: prescale forecasts the metrics of the workload's HPA and feeds the
/// forecast into that HPA, so replicas are added ahead of demand. It works alongside the
/// HPA, not instead of it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(deny_unknown_fields)]
#[x_kube(validation = crate::rules::MULTIPLE_XOR_ALLOWED)]
#[x_kube(validation = crate::rules::MIN_WITHIN_MAX)]
pub struct HorizontalSpec {
    /// recommendation (the default: suggestions are only reported, and no HPA is needed; an
    /// 80% utilisation target is assumed) or autonomous (the forecast drives the workload's
    /// single existing HPA). Start in recommendation mode until the suggestions match your
    /// expectations. Switching back to recommendation stops scaling this workload while it
    /// stays enrolled; to stop every autonomous target at once, pause cluster-wide.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<DirectionMode>,
    /// Overrides of spec.model for horizontal forecasts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelSpec>,
    /// How fast replicas may go up and down per scaling action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaling_behavior: Option<ScalingBehavior>,
    /// Metrics to forecast and scale on in addition to the HPA's own (autoscaling/v2
    /// MetricSpec), e.g. an External metric the HPA does not use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = crate::limits::METRICS))]
    pub additional_metrics: Option<Vec<MetricSpec>>,
    /// Metrics of the HPA not to forecast, matched by name, by type, or both (e.g. name cpu,
    /// type Resource).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = crate::limits::METRICS))]
    pub exclude_metrics: Option<Vec<ExcludeMetric>>,
    /// The fewest replicas prescale suggests.
    #[serde(
        rename = "minReplicas",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(range(min = 0))]
    pub min_replicas: Option<i32>,
    /// The most replicas prescale suggests.
    #[serde(
        rename = "maxReplicas",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(range(min = 1))]
    pub max_replicas: Option<i32>,
    /// Suggested replica counts are rounded up to a multiple of this. Mutually exclusive
    /// with allowedReplicas.
    #[serde(
        rename = "multipleOf",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(range(min = 1))]
    pub multiple_of: Option<i32>,
    /// Suggested replica counts are rounded up to one of these. Mutually exclusive with
    /// multipleOf.
    #[serde(
        rename = "allowedReplicas",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(
        length(min = 1, max = crate::limits::ALLOWED_REPLICAS),
        inner(range(min = 0))
    )]
    pub allowed_replicas: Option<Vec<i32>>,
}

/// An HPA metric to leave out of the forecast: by name, by type, or both.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(deny_unknown_fields)]
#[x_kube(validation = crate::rules::EXCLUDE_METRIC_NEEDS_NAME_OR_TYPE)]
pub struct ExcludeMetric {
    /// The metric's name, e.g. cpu.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = crate::limits::METRIC_NAME))]
    pub name: Option<String>,
    /// The metric's source type: Resource, ContainerResource, Pods, Object or External.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = crate::limits::KIND))]
    pub type_: Option<String>,
}

//! `spec.vertical`: per-container request recommendations and how they reach pods.

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::KubeSchema;
use serde::{Deserialize, Serialize};

use super::model::ModelSpec;
use super::scaling::ScalingBehavior;
use crate::mode::{DirectionMode, UpdateMode};
use crate::quantity::QuantityValue;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(deny_unknown_fields)]
#[x_kube(validation = Rule::new(crate::rules::MEMORY_LIMIT_NEEDS_RESTART.cel).message(crate::rules::MEMORY_LIMIT_NEEDS_RESTART.message))]
#[x_kube(validation = Rule::new(crate::rules::IN_PLACE_MATCHES_UPDATE_MODE.cel).message(crate::rules::IN_PLACE_MATCHES_UPDATE_MODE.message))]
pub struct VerticalSpec {
    /// `recommendation` (default) or `autonomous`; see the API reference for spellings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<DirectionMode>,
    /// Overrides of `spec.model` for vertical forecasts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelSpec>,
    /// Bounds per container; `name: "*"` applies to every container not named otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub containers: Option<Vec<ContainerPolicy>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaling_behavior: Option<ScalingBehavior>,
    /// Deprecated alias of `update_policy.update_mode: in_place_or_recreate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_place_resizing: Option<InPlaceResizing>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_policy: Option<UpdatePolicy>,
    /// How many pods may be disrupted at once, and how often.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disruption: Option<Disruption>,
    /// Raise memory after OOM kills and hold it for a stabilisation window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oom_remediation: Option<OomRemediation>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(deny_unknown_fields)]
#[x_kube(validation = Rule::new(crate::rules::CONTAINER_CPU_REQUIRED.cel).message(crate::rules::CONTAINER_CPU_REQUIRED.message))]
#[x_kube(validation = Rule::new(crate::rules::CONTAINER_MEMORY_REQUIRED.cel).message(crate::rules::CONTAINER_MEMORY_REQUIRED.message))]
pub struct ContainerPolicy {
    /// Container name, or `*` for every container.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<ResourcePolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<ResourcePolicy>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(deny_unknown_fields)]
#[x_kube(validation = Rule::new(crate::rules::LOWERBOUND_REQUIRED.cel).message(crate::rules::LOWERBOUND_REQUIRED.message))]
#[x_kube(validation = Rule::new(crate::rules::LOWER_WITHIN_UPPER.cel).message(crate::rules::LOWER_WITHIN_UPPER.message))]
pub struct ResourcePolicy {
    /// The smallest request prescale will set (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new(crate::rules::QUANTITY_WELL_FORMED.cel).message(crate::rules::QUANTITY_WELL_FORMED.message))]
    pub lowerbound: Option<QuantityValue>,
    /// The largest request prescale will set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new(crate::rules::QUANTITY_WELL_FORMED.cel).message(crate::rules::QUANTITY_WELL_FORMED.message))]
    pub upperbound: Option<QuantityValue>,
    /// Set the limit as a multiple of the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<LimitPolicy>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitPolicy {
    /// limit = request × ratio (at least 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1.0))]
    pub ratio: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(deny_unknown_fields)]
pub struct InPlaceResizing {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Allow a restart when a memory limit must go down (required with memory limits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_restart_on_memory_limit_decrease: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePolicy {
    /// initial | recreate | in_place_or_recreate | in_place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_mode: Option<UpdateMode>,
    /// Resources whose change recreates pods even when resizing in place (`cpu`, `memory`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2))]
    pub recreate_resources: Option<Vec<ResourceName>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResourceName {
    Cpu,
    Memory,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(deny_unknown_fields)]
pub struct Disruption {
    /// Pods of one workload disrupted at once: a number or a percentage (default `20%`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_disrupted: Option<IntOrString>,
    /// Minimum time between disruptions (default `60s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32))]
    #[x_kube(validation = Rule::new(crate::rules::DURATION_HAS_UNIT.cel).message(crate::rules::DURATION_HAS_UNIT.message))]
    pub interval: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(deny_unknown_fields)]
pub struct OomRemediation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// How long raised memory is held after an OOM kill (e.g. `1h`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32))]
    #[x_kube(validation = Rule::new(crate::rules::DURATION_HAS_UNIT.cel).message(crate::rules::DURATION_HAS_UNIT.message))]
    pub stabilization_window: Option<String>,
}

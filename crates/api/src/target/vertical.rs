//! `spec.vertical`: per-container request recommendations and how they reach pods.

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::KubeSchema;
use serde::{Deserialize, Serialize};

use super::model::ModelSpec;
use super::scaling::ScalingBehavior;
use crate::mode::{DirectionMode, UpdateMode};
use crate::quantity::QuantityValue;

/// Vertical scaling: container CPU and memory requests set from forecast utilisation,
/// within per-container bounds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(deny_unknown_fields)]
#[x_kube(validation = crate::rules::MEMORY_LIMIT_NEEDS_RESTART)]
#[x_kube(validation = crate::rules::IN_PLACE_MATCHES_UPDATE_MODE)]
pub struct VerticalSpec {
    /// recommendation (the default: suggestions are only reported) or autonomous (requests
    /// are applied to pods). Run in recommendation mode for at least a day so the model can
    /// learn before switching to autonomous. Switching back to recommendation restarts the
    /// workload's pods with the requests of its controller spec while forecasting goes on;
    /// the cluster-wide pause instead keeps running pods as they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<DirectionMode>,
    /// Overrides of spec.model for vertical forecasts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelSpec>,
    /// Bounds per container, by container name; name "*" applies to every container not
    /// named otherwise. cpu.lowerbound and memory.lowerbound are required, upperbounds are
    /// optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = crate::limits::CONTAINERS))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub containers: Option<Vec<ContainerPolicy>>,
    /// How far one change may move a request, up and down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaling_behavior: Option<ScalingBehavior>,
    /// Kubernetes in-place pod resizing: requests (and limits) change without recreating
    /// pods where possible; where not (e.g. the QoS class would change), pods are evicted
    /// and rolled out gradually. The older spelling of update_policy.update_mode:
    /// in_place_or_recreate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_place_resizing: Option<InPlaceResizing>,
    /// How new requests reach pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_policy: Option<UpdatePolicy>,
    /// How many pods may be disrupted at once, and how often.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disruption: Option<Disruption>,
    /// Raise memory after OOM kills and hold it for a stabilisation window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oom_remediation: Option<OomRemediation>,
}

/// The request bounds of one container (or of every container, with name "*").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(deny_unknown_fields)]
#[x_kube(validation = crate::rules::CONTAINER_CPU_REQUIRED)]
#[x_kube(validation = crate::rules::CONTAINER_MEMORY_REQUIRED)]
pub struct ContainerPolicy {
    /// The container's name, or "*" for every container not listed by name.
    #[schemars(
        length(min = 1, max = crate::limits::DNS_LABEL),
        regex(pattern = crate::rules::CONTAINER_NAME.pattern)
    )]
    pub name: String,
    /// Bounds of the CPU request; lowerbound is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<ResourcePolicy>,
    /// Bounds of the memory request; lowerbound is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<ResourcePolicy>,
}

/// Bounds of one resource's request, and its limit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(deny_unknown_fields)]
#[x_kube(validation = crate::rules::LOWERBOUND_REQUIRED)]
#[x_kube(validation = crate::rules::LOWER_WITHIN_UPPER)]
pub struct ResourcePolicy {
    /// The smallest request prescale sets (required), as a quantity: 20m, 50Mi, 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lowerbound: Option<QuantityValue>,
    /// The largest request prescale sets (optional), as a quantity: 1, 2G.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upperbound: Option<QuantityValue>,
    /// Set the limit as a multiple of the request. With in-place resizing, a memory limit
    /// needs in_place_resizing.allow_restart_on_memory_limit_decrease: true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<LimitPolicy>,
}

/// A limit derived from the request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitPolicy {
    /// limit = request × ratio; at least 1, as a limit cannot be below the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1.0))]
    pub ratio: Option<f64>,
}

/// Kubernetes in-place pod resizing (Kubernetes 1.33 and later).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(deny_unknown_fields)]
pub struct InPlaceResizing {
    /// Resize pods in place instead of evicting them; if a resize is not possible (e.g. the
    /// QoS class would change), pods are evicted and rolled out gracefully.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Allow a pod restart when a memory limit decreases. Must be true when
    /// vertical.containers[*].memory.limit is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_restart_on_memory_limit_decrease: Option<bool>,
}

/// How new requests reach pods.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePolicy {
    /// initial (only pods created from now on), recreate (pods are evicted and recreated),
    /// in_place_or_recreate (resized in place where possible, else recreated) or in_place
    /// (resized in place only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_mode: Option<UpdateMode>,
    /// Resources whose change recreates pods even when resizing in place (cpu, memory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = crate::limits::RECREATE_RESOURCES))]
    #[x_kube(merge_strategy = ListMerge::Set)]
    pub recreate_resources: Option<Vec<ResourceName>>,
}

/// A resource of a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResourceName {
    Cpu,
    Memory,
}

/// How many pods may be disrupted at once, and how often.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(deny_unknown_fields)]
pub struct Disruption {
    /// Pods of one workload disrupted at once: a number of pods (2) or a percentage of them
    /// (20%, the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::max_disrupted")]
    pub max_disrupted: Option<IntOrString>,
    /// The shortest time between two disruptions of one workload (default 60s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = crate::limits::DURATION))]
    #[x_kube(validation = crate::rules::DURATION_HAS_UNIT)]
    pub interval: Option<String>,
}

/// Raise memory after OOM kills.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(deny_unknown_fields)]
pub struct OomRemediation {
    /// Raise a container's memory after it is OOM-killed (default true; only autonomous
    /// targets act on it, bounded by the memory upperbound, for the stabilization window).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// How long raised memory is held after an OOM kill (e.g. 1h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = crate::limits::DURATION))]
    #[x_kube(validation = crate::rules::DURATION_HAS_UNIT)]
    pub stabilization_window: Option<String>,
}

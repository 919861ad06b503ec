//! What the controller reports on a PodAutoscaler (AIBrix's status, plus
//! `observedGeneration`), and the condition types and reasons seed 004 lists, once.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::spec::PredictiveMode;

/// Condition types (seed 004).
pub const CONDITION_READY: &str = "Ready";
pub const CONDITION_VALID_SPEC: &str = "ValidSpec";
pub const CONDITION_CONFLICT: &str = "MultiPodAutoscalerConflict";
pub const CONDITION_SCALING_ACTIVE: &str = "ScalingActive";
pub const CONDITION_ABLE_TO_SCALE: &str = "AbleToScale";

/// Condition reasons (seed 004).
pub const REASON_AS_EXPECTED: &str = "AsExpected";
pub const REASON_RECONCILING_SCALE_DIFF: &str = "ReconcilingScaleDiff";
pub const REASON_STABLE: &str = "Stable";
pub const REASON_INVALID_SCALING_STRATEGY: &str = "InvalidScalingStrategy";
pub const REASON_INVALID_BOUNDS: &str = "InvalidBounds";
pub const REASON_MISSING_TARGET_REF: &str = "MissingScaleTargetRef";
pub const REASON_METRICS_CONFIG_ERROR: &str = "MetricsConfigError";
pub const REASON_INVALID_SPEC: &str = "InvalidSpec";
pub const REASON_CONFIGURED: &str = "Configured";

/// The observed state of a PodAutoscaler.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodAutoscalerStatus {
    /// When the target's replicas were last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_scale_time: Option<Time>,
    /// The replicas the strategy asks for, after bounds and cooldowns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_scale: Option<i32>,
    /// The replicas the target has; may differ from desiredScale while it scales.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual_scale: Option<i32>,
    /// Ready, ValidSpec, MultiPodAutoscalerConflict, ScalingActive and AbleToScale.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = crate::limits::CONDITIONS), transform = crate::schema::conditions)]
    pub conditions: Vec<Condition>,
    /// The last scaling decisions, newest last.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = crate::limits::SCALING_HISTORY))]
    pub scaling_history: Vec<ScalingDecision>,
    /// The replica bounds in force and the schedule that set them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_bounds: Option<ScheduledBoundsStatus>,
    /// The latest predictive evaluation; absent without spec.predictive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predictive: Option<PredictiveStatus>,
    /// The metadata.generation of the spec this status describes (prescale's addition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// One scaling decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScalingDecision {
    /// When the decision was made.
    pub timestamp: Time,
    /// Replicas before.
    pub previous_scale: i32,
    /// Replicas after.
    pub new_scale: i32,
    /// Why, in words.
    pub reason: String,
    /// Whether the target took the new scale.
    pub success: bool,
    /// Why the target refused it, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The replica bounds in force.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScheduledBoundsStatus {
    /// The open schedule; absent when the spec's own bounds apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_schedule: Option<String>,
    /// The minReplicas in force.
    pub effective_min_replicas: i32,
    /// The maxReplicas in force.
    pub effective_max_replicas: i32,
}

/// The latest predictive evaluation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PredictiveStatus {
    /// The mode used, after defaulting to Preview.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<PredictiveMode>,
    /// The targetMetric of the source the projection came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// The metric's value the projection started from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_value: Option<String>,
    /// The projected value at the horizon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicted_value: Option<String>,
    /// The replicas the projection alone asks for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicted_replicas: Option<i32>,
    /// The replicas the reactive strategy chose, before the predictive floor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reactive_replicas: Option<i32>,
    /// The replicas Auto applies (after the same caps, bounds and cooldown); in Preview,
    /// what Auto would have applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub would_be_replicas: Option<i32>,
    /// When the projection last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<Time>,
}

//! What the operator reports on an AIScaleTarget: conditions, the latest suggestion, how
//! much history it has, and OOM remediation state.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What the operator reports on an AIScaleTarget.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AIScaleTargetStatus {
    /// Conditions of the target: Ready, ValidSpec, AbleToScale, ScalingActive.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = crate::limits::CONDITIONS), transform = crate::schema::conditions)]
    pub conditions: Vec<Condition>,
    /// The metadata.generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The workloads this target resolved to (one with scaleTargetRef, many with selector).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = crate::limits::STATUS_WORKLOADS))]
    pub workloads: Vec<WorkloadStatus>,
    /// The latest suggestion of the forecaster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<Suggestion>,
    /// When usage was last collected for this target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_collection_time: Option<Time>,
    /// The id of the last suggestion the actuators processed.
    #[serde(
        rename = "lastProcessedSuggestionUID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub last_processed_suggestion_uid: Option<String>,
    /// Pods of the target's workloads that run the current suggestion, over all its pods
    /// (`3/4`), while vertical scaling is autonomous: what `kubectl get ast` shows as
    /// APPLIED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_pods: Option<String>,
    /// How much usage history the target has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<HistoryStatus>,
    /// Memory raised after OOM kills, per container.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = crate::limits::STATUS_CONTAINERS))]
    pub oom_adjusted_memory: BTreeMap<String, String>,
    /// Containers OOM-killed since the last suggestion.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = crate::limits::STATUS_CONTAINERS))]
    pub oom_killed_containers: Vec<String>,
    /// When a container of the target was last OOM-killed.
    #[serde(
        rename = "lastOOMTime",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub last_oom_time: Option<Time>,
    /// Until when OOM-raised memory is held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oom_stabilization_window_expiry: Option<Time>,
    /// The replica floor prescale feeds the workload's HPA while `horizontal.mode` is
    /// autonomous: the workload is scaled up to it ahead of the forecast peak, and the
    /// `*/scale` webhook raises writes below it until `validUntil`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica_floor: Option<ReplicaFloor>,
}

/// A replica floor and how long it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplicaFloor {
    /// `<kind>/<name>` of the workload it applies to.
    pub workload: String,
    /// The HPA it feeds (whose spec prescale never writes).
    pub hpa: String,
    /// The fewest replicas the workload runs until `validUntil`.
    pub replicas: i32,
    /// The metric whose forecast drove it (`cpu`, `memory`).
    pub metric: String,
    /// When it stops holding (the next forecast plus a grace), unless renewed.
    pub valid_until: Time,
}

/// A workload an AIScaleTarget resolved to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadStatus {
    /// Deployment, StatefulSet or Rollout.
    pub kind: String,
    /// The workload's name.
    pub name: String,
    /// Its pods (not going away), while vertical scaling is autonomous.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pods: Option<u32>,
    /// How many of them run the current suggestion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pods_at_suggestion: Option<u32>,
}

/// The latest suggestion of the forecaster.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Suggestion {
    /// Changes whenever the suggestion's content changes.
    pub id: String,
    /// When the suggestion was made.
    pub time: Option<Time>,
    /// False until min_lookback_to_scale of history exists (the cold-start model is used).
    pub has_enough_data_to_scale: bool,
    /// The suggested replica count (horizontal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggested_replicas: Option<i32>,
    /// The metric whose forecast needs the most replicas (`cpu`, `memory`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas_driven_by: Option<String>,
    /// Forecast peak of the horizon per metric, summed over pods (`cpu` in cores,
    /// `memory` in bytes), as quantities.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = crate::limits::STATUS_TOTALS))]
    pub forecasted_totals: BTreeMap<String, String>,
    /// Per-container requests (vertical).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = crate::limits::STATUS_CONTAINERS))]
    pub containers: Vec<ContainerRecommendation>,
    /// The model chosen by backtest, per workload, container and metric.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = crate::limits::STATUS_MODELS))]
    pub models: BTreeMap<String, String>,
    /// How far off the chosen models were in backtest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forecast_errors: Option<ForecastErrors>,
    /// What each value's decision leaves for the next one, per
    /// `<workload>/<container>/<cpu|memory>`: hysteresis and online calibration survive
    /// restarts through it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = crate::limits::STATUS_MODELS))]
    pub decisions: BTreeMap<String, DecisionStatus>,
}

/// The state of one value's decision (`prescale_forecast::decide::DecisionState`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DecisionStatus {
    /// The value applied, in cores or bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied: Option<f64>,
    /// When it was decided, in unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<i64>,
    /// Natural log of the online calibration factor applied to the forecast.
    #[serde(default)]
    pub calibration: f64,
    /// Since when (unix seconds) a scale-down has been pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_since: Option<i64>,
    /// The value a pending scale-down goes to.
    #[serde(default)]
    pub pending_value: f64,
    /// The hysteresis band, a fraction of the applied value, adapted to a budget of
    /// changes per day.
    #[serde(default)]
    pub band: f64,
}

/// Suggested requests (and limits) of one container.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerRecommendation {
    /// `<kind>/<name>` of the workload when the target has a selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<String>,
    /// The container's name.
    pub name: String,
    /// Suggested CPU request, as a quantity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    /// Suggested memory request, as a quantity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    /// CPU limit (request × limit.ratio), when a ratio is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_limit: Option<String>,
    /// Memory limit (request × limit.ratio), when a ratio is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_limit: Option<String>,
}

/// Relative backtest error (pinball loss over mean usage) of the chosen model.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ForecastErrors {
    /// Of the horizontal forecast.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub horizontal: Option<f64>,
    /// Of the vertical forecast.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vertical: Option<f64>,
}

/// How much usage history a target has.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryStatus {
    /// Oldest sample held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Time>,
    /// Hours of history held (live collection and backfill).
    pub hours: f64,
    /// Days backfilled from Prometheus, when a backfill ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backfilled_days: Option<f64>,
}

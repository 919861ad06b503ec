//! What one AIScaleTarget's status should say, which Events to record and which actions
//! to take, as a pure function of plain inputs: the target, the workloads it resolves,
//! the collector's state, this round's forecast (if one ran), OOM kills, the pause and the
//! clock. The controller only gathers `TargetInputs` and applies the `TargetOutcome`.
//!
//! Conditions and their reasons:
//! - `ValidSpec`: `Valid` | `InvalidSpec` (each wrong field by path; the target waits).
//! - `Ready`: `SuggestionAvailable` | `CollectingUsage` | `NoReadyPods` | `InvalidSpec` |
//!   `WorkloadNotFound` | a forecast failure (`TargetError::reason`).
//! - `MetricsAvailable`: `Collecting` | the collector's failure (`CollectError::reason`).
//! - `AbleToScale`: see `super::actuation` (`RecommendationMode` | `ScalingPaused` |
//!   `ActuationNotAvailable` | `InvalidVerticalPolicy` | `WaitingForData` | `Applying` |
//!   `Applied`).
//! - `ScalingActive`: `EnoughData` | `NotEnoughData`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use prescale_api::AIScaleTargetSpec;
use prescale_api::mode::Scaling;
use prescale_api::target::status::{
    AIScaleTargetStatus, HistoryStatus, Suggestion, WorkloadStatus,
};
use prescale_api::validate::validate_target_spec;

use super::actuation::{PodCounts, actuation, workload_id};
use super::revert::FinalizerChange;
use crate::actuate::Action;
use crate::conditions::condition;
use crate::pause::PauseState;
use crate::vertical::oom::{self, OomDecision, OomInputs, oom_policy};
use crate::vertical::pods::PodView;
use crate::workload::ContainerRequests;
use prescale_api::quantity::{Format, Quantity};

/// A workload the target resolved, as the plan sees it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WorkloadInput {
    pub kind: String,
    pub name: String,
    /// Pods and ready pods now.
    pub pods: usize,
    pub ready_pods: usize,
    /// The HPAs scaling it and the PodDisruptionBudgets covering its pods (what actuation
    /// works with).
    pub hpas: Vec<crate::horizontal::metrics::HpaView>,
    pub pdbs: Vec<String>,
    /// Desired replicas, and the pods as the cache shows them (what the rollout moves).
    pub replicas: u32,
    pub running: Vec<PodView>,
    /// The pod template's container requests (what a revert returns the pods to), its
    /// restart token, and whether its controller has finished rolling it out.
    pub template: Vec<ContainerRequests>,
    pub restart_token: Option<String>,
    pub rolled_out: bool,
}

/// Why the collector has no fresh samples for the target's namespace.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectionFailure {
    /// A condition reason (`CollectError::reason`).
    pub reason: &'static str,
    pub message: String,
}

/// The collector's state for the target's namespace.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CollectionState {
    /// Data time (the metrics' timestamp) of the last samples recorded.
    pub data_time: Option<i64>,
    pub failing: Option<CollectionFailure>,
}

/// What this round's forecast step did.
// One value per reconcile, moved into the plan and dropped: boxing the suggestion would
// only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Default)]
pub enum ForecastOutcome {
    /// No direction was due: the previous suggestion stands.
    #[default]
    NotDue,
    /// The due directions ran on the history up to `data_time`.
    Ran {
        data_time: i64,
        history: HistoryStatus,
        /// The new suggestion, or why none can be made yet.
        suggestion: Result<Suggestion, String>,
    },
    /// The forecast could not run (`reason` from `TargetError::reason`).
    Failed {
        reason: &'static str,
        message: String,
    },
}

/// Everything the plan decides from.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetInputs {
    pub namespace: String,
    pub name: String,
    pub generation: Option<i64>,
    pub spec: AIScaleTargetSpec,
    /// The status as last written, or as last decided when writing it failed.
    pub previous: AIScaleTargetStatus,
    pub workloads: Vec<WorkloadInput>,
    /// Workload kinds the cluster serves now (Argo Rollouts need their CRD).
    pub served_kinds: Vec<String>,
    pub pause: PauseState,
    pub collection: CollectionState,
    pub forecast: ForecastOutcome,
    /// OOM kills of the target's containers in the last days: (container, data time).
    pub oom_kills: Vec<(String, i64)>,
    /// Resizes the API server refused: (suggestion id, pod). Such a pod falls back to
    /// eviction (or is reported) until the suggestion changes.
    pub refused: BTreeSet<(String, String)>,
    /// When this process last evicted a pod of each workload (`Kind/name`), seconds.
    pub last_evictions: BTreeMap<String, i64>,
    /// When this process last raised each workload's replicas (`Kind/name`), seconds, and
    /// to how many.
    pub last_raises: BTreeMap<String, (i64, u32)>,
    /// The last restart token this process issued per workload (`Kind/name`).
    pub restarts_issued: BTreeMap<String, String>,
    /// Whether the target carries `TARGET_FINALIZER`, and its deletionTimestamp (seconds)
    /// when it is being deleted.
    pub has_finalizer: bool,
    pub deleting_since: Option<i64>,
    pub now: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Normal,
    Warning,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

/// An Event to record on the target.
#[derive(Debug, Clone, PartialEq)]
pub struct EventSpec {
    pub type_: EventType,
    pub reason: &'static str,
    pub message: String,
    pub time: Timestamp,
}

/// What the plan decided.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetOutcome {
    pub status: AIScaleTargetStatus,
    pub events: Vec<EventSpec>,
    /// Changes to make to the cluster (carried out by `crate::actuate`).
    pub actions: Vec<Action>,
    /// Look at the target again within this much cluster time (a rollout in progress).
    pub recheck: Option<Duration>,
    /// What to do with the target's finalizer (`super::revert`).
    pub finalizer: FinalizerChange,
    /// The deleted target's revert timed out (its finalizer goes without it).
    pub revert_timed_out: bool,
}

/// Whether any direction of the target is autonomous.
pub fn autonomous(spec: &AIScaleTargetSpec) -> bool {
    [
        spec.horizontal.as_ref().and_then(|h| h.mode.as_ref()),
        spec.vertical.as_ref().and_then(|v| v.mode.as_ref()),
    ]
    .into_iter()
    .flatten()
    .any(|m| m.scaling() == Some(Scaling::Autonomous))
}

fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// The plan for one target.
pub fn plan(i: &TargetInputs) -> TargetOutcome {
    let previous = &i.previous;
    let cond = |type_: &str, status: &str, reason: &str, message: &str| {
        condition(
            type_,
            status,
            reason,
            message,
            i.generation,
            &previous.conditions,
            i.now,
        )
    };
    let mut status = previous.clone();
    status.observed_generation = i.generation;
    let errors = validate_target_spec(&i.spec, Some(&i.namespace));
    if !errors.is_empty() {
        let message = errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        status.conditions = vec![
            cond("ValidSpec", "False", "InvalidSpec", &message),
            cond(
                "Ready",
                "False",
                "InvalidSpec",
                "fix the spec; the target waits for a change",
            ),
        ];
        let events = transition_events(previous, &status, i.now);
        return TargetOutcome {
            status,
            events,
            actions: vec![],
            recheck: None,
            // An invalid spec cannot be acted on; a deleted one lets go at once.
            finalizer: if i.deleting_since.is_some() {
                FinalizerChange::Remove
            } else {
                FinalizerChange::Keep
            },
            revert_timed_out: false,
        };
    }
    status.workloads = i
        .workloads
        .iter()
        .map(|w| WorkloadStatus {
            kind: w.kind.clone(),
            name: w.name.clone(),
            ..WorkloadStatus::default()
        })
        .collect();
    let mut forecast_failure = None;
    match &i.forecast {
        ForecastOutcome::NotDue => {}
        ForecastOutcome::Ran {
            data_time,
            history,
            suggestion,
        } => {
            status.last_collection_time = Timestamp::from_second(*data_time).ok().map(Time);
            status.history = Some(history.clone());
            // No suggestion yet (too little usage): the previous one, if any, stands.
            if let Ok(s) = suggestion {
                status.suggestion = Some(s.clone());
            }
        }
        ForecastOutcome::Failed { reason, message } => forecast_failure = Some((*reason, message)),
    }
    let suggested_at = status
        .suggestion
        .as_ref()
        .and_then(|s| s.time.as_ref())
        .map(|t| t.0.as_second());
    let mut killed: Vec<String> = i
        .oom_kills
        .iter()
        .filter(|(_, at)| suggested_at.is_none_or(|s| *at > s))
        .map(|(c, _)| c.clone())
        .collect();
    killed.sort();
    killed.dedup();
    status.oom_killed_containers = killed;
    let oom = remediate_oom(i);
    status.oom_adjusted_memory = oom.adjusted;
    status.oom_stabilization_window_expiry = oom.expiry;
    if let Some(last) = i.oom_kills.iter().map(|(_, at)| *at).max() {
        status.last_oom_time = Timestamp::from_second(last).ok().map(Time);
    }

    let ready = match (&status.suggestion, forecast_failure) {
        _ if i.workloads.is_empty() => cond("Ready", "False", "WorkloadNotFound", &not_found(i)),
        (Some(_), None) => cond(
            "Ready",
            "True",
            "SuggestionAvailable",
            "a suggestion is available",
        ),
        (Some(_), Some((_, message))) => cond(
            "Ready",
            "True",
            "SuggestionAvailable",
            &format!("the last forecast failed ({message}); the previous suggestion stands"),
        ),
        (None, Some((reason, message))) => cond("Ready", "False", reason, message),
        (None, None) if i.workloads.iter().all(|w| w.ready_pods == 0) => cond(
            "Ready",
            "False",
            "NoReadyPods",
            "no pod of the target's workloads is ready: there is no usage to collect yet",
        ),
        (None, None) => cond(
            "Ready",
            "False",
            "CollectingUsage",
            "collecting usage for a first suggestion",
        ),
    };
    let metrics = match &i.collection.failing {
        Some(f) => cond(
            "MetricsAvailable",
            "False",
            f.reason,
            &format!(
                "{}; retried with backoff (up to 5 minutes), no samples are recorded meanwhile",
                f.message
            ),
        ),
        None => cond(
            "MetricsAvailable",
            "True",
            "Collecting",
            "usage is collected from metrics.k8s.io",
        ),
    };
    let acting = actuation(i, status.suggestion.as_ref(), &status.oom_adjusted_memory);
    status.replica_floor = acting.floor.clone();
    if acting.processed.is_some() {
        status.last_processed_suggestion_uid = acting.processed.clone();
    }
    for w in &mut status.workloads {
        let counts = acting.pods.get(&workload_id(&w.kind, &w.name));
        w.pods = counts.map(|c| c.pods as u32);
        w.pods_at_suggestion = counts.map(|c| c.at_suggestion as u32);
    }
    status.applied_pods = (!acting.pods.is_empty()).then(|| {
        let total = PodCounts::total(&acting.pods);
        format!("{}/{}", total.at_suggestion, total.pods)
    });
    let (able_status, able_reason, able_message) = &acting.able;
    let able = cond("AbleToScale", able_status, able_reason, able_message);
    let enough = status
        .suggestion
        .as_ref()
        .is_some_and(|s| s.has_enough_data_to_scale);
    let active = if enough {
        cond(
            "ScalingActive",
            "True",
            "EnoughData",
            "the forecast has enough history",
        )
    } else {
        cond(
            "ScalingActive",
            "False",
            "NotEnoughData",
            "waiting for min_lookback_to_scale of history; the cold-start model is used",
        )
    };
    status.conditions = vec![
        cond("ValidSpec", "True", "Valid", "the spec is valid"),
        ready,
        metrics,
        able,
        active,
    ];
    let mut events = transition_events(previous, &status, i.now);
    if let Some(s) = &status.suggestion
        && previous.suggestion.as_ref().map(|p| &p.id) != Some(&s.id)
    {
        events.push(EventSpec {
            type_: EventType::Normal,
            reason: "SuggestionChanged",
            message: format!("new suggestion: {}", summary(s)),
            time: i.now,
        });
    }
    events.extend(floor_events(
        previous,
        &status,
        acting.floor_reason,
        &acting.able.2,
        i.now,
    ));
    if acting.revert_timed_out {
        events.push(EventSpec {
            type_: EventType::Warning,
            reason: "RevertTimedOut",
            message: acting.able.2.clone(),
            time: i.now,
        });
    }
    events.extend(oom.bumps.iter().map(|b| EventSpec {
        type_: EventType::Warning,
        reason: OOM_REMEDIATED,
        message: format!(
            "container {} was OOM-killed: its memory floor is raised from {} to {}{}, held until {}",
            b.container,
            b.from.format(Format::Binary),
            b.to.format(Format::Binary),
            if b.capped { " (its upperbound)" } else { "" },
            status
                .oom_stabilization_window_expiry
                .as_ref()
                .map_or_else(|| "-".to_string(), |t| t.0.to_string()),
        ),
        time: i.now,
    }));
    TargetOutcome {
        status,
        events,
        actions: acting.actions,
        recheck: acting.recheck,
        finalizer: acting.finalizer,
        revert_timed_out: acting.revert_timed_out,
    }
}

/// Events of the horizontal part: a Warning when an HPA problem (`HPA_PROBLEMS`) starts,
/// a Normal `ReplicaFloorChanged` when the floor's replicas change.
fn floor_events(
    previous: &AIScaleTargetStatus,
    now: &AIScaleTargetStatus,
    reason: &'static str,
    message: &str,
    time: Timestamp,
) -> Vec<EventSpec> {
    let mut events = vec![];
    let before = find(&previous.conditions, "AbleToScale").map(|c| c.reason.as_str());
    if crate::horizontal::floor::HPA_PROBLEMS.contains(&reason) && before != Some(reason) {
        events.push(EventSpec {
            type_: EventType::Warning,
            reason,
            message: message.to_string(),
            time,
        });
    }
    let replicas = |s: &AIScaleTargetStatus| s.replica_floor.as_ref().map(|f| f.replicas);
    if let Some(f) = &now.replica_floor
        && replicas(previous) != Some(f.replicas)
    {
        events.push(EventSpec {
            type_: EventType::Normal,
            reason: "ReplicaFloorChanged",
            message: format!(
                "replica floor {} for {} (forecast of {}), fed to HPA {} until {}",
                f.replicas, f.workload, f.metric, f.hpa, f.valid_until.0
            ),
            time,
        });
    }
    events
}

/// The Event reason of a raised OOM floor (counted in `prescale_oom_remediations_total`).
pub const OOM_REMEDIATED: &str = "OOMRemediated";

/// The OOM floors to hold (`vertical::oom`), from the kills seen and the memory the
/// workloads' pods ask now.
fn remediate_oom(i: &TargetInputs) -> OomDecision {
    // An unreadable window is reported by ValidSpec; the plan stops before this then.
    let Ok(policy) = oom_policy(&i.spec) else {
        return OomDecision::default();
    };
    let vertical = i.spec.vertical.as_ref();
    let mut requests: BTreeMap<String, Quantity> = BTreeMap::new();
    let memory_requests = i
        .workloads
        .iter()
        .flat_map(|w| &w.running)
        .flat_map(|p| &p.containers)
        .filter_map(|c| {
            let q = c.spec.requests.as_ref()?.get("memory")?;
            Some((c.name.clone(), q.0.parse::<Quantity>().ok()?))
        });
    for (name, q) in memory_requests {
        let e = requests.entry(name).or_insert(q);
        *e = (*e).min(q);
    }
    oom::decide(OomInputs {
        policy,
        autonomous: vertical
            .and_then(|v| v.mode.as_ref())
            .and_then(|m| m.scaling())
            == Some(Scaling::Autonomous),
        containers: vertical
            .and_then(|v| v.containers.as_deref())
            .unwrap_or_default(),
        kills: &i.oom_kills,
        previous: &i.previous,
        requests: &requests,
        now: i.now,
    })
}

/// Why the target resolves no workload, and how to fix it.
fn not_found(i: &TargetInputs) -> String {
    match &i.spec.scale_target_ref {
        Some(r) if !i.served_kinds.contains(&r.kind) => format!(
            "this cluster does not serve kind {}: install the CRD that defines it (Argo Rollouts for Rollout)",
            r.kind
        ),
        Some(r) => format!(
            "{} {} does not exist in namespace {}; the target waits for it",
            r.kind, r.name, i.namespace
        ),
        None => format!(
            "the selector matches no pod template of a {} in namespace {}",
            i.served_kinds.join(", "),
            i.namespace
        ),
    }
}

/// A Warning for each condition that has just turned bad, so `kubectl describe` and
/// `kubectl get events` show it once rather than only in status.
fn transition_events(
    previous: &AIScaleTargetStatus,
    now: &AIScaleTargetStatus,
    time: Timestamp,
) -> Vec<EventSpec> {
    let warn_on = [
        ("ValidSpec", "False"),
        ("Ready", "False"),
        ("MetricsAvailable", "False"),
    ];
    let mut events = vec![];
    for (type_, bad) in warn_on {
        let Some(c) = find(&now.conditions, type_) else {
            continue;
        };
        let before = find(&previous.conditions, type_);
        let turned_bad =
            c.status == bad && before.is_none_or(|b| b.status != c.status || b.reason != c.reason);
        // Collecting usage, or waiting for pods, is how every target starts: not a warning.
        let normal = ["CollectingUsage", "NoReadyPods"].contains(&c.reason.as_str());
        // One Warning per reason (Ready repeats ValidSpec's InvalidSpec).
        let reason = reason_label(&c.reason);
        if turned_bad && !normal && !events.iter().any(|e: &EventSpec| e.reason == reason) {
            events.push(EventSpec {
                type_: EventType::Warning,
                reason,
                message: c.message.clone(),
                time,
            });
        }
    }
    events
}

/// Event reasons are a fixed set (they are aggregated by reason).
fn reason_label(reason: &str) -> &'static str {
    const KNOWN: [&str; 10] = [
        "InvalidSpec",
        "NoReadyPods",
        "WorkloadNotFound",
        "MetricsAPINotServed",
        "MetricsAPIUnavailable",
        "MetricsUnavailable",
        "HistoryStoreFailed",
        "HistoryReadFailed",
        "ForecastFailed",
        "StatusWriteFailed",
    ];
    KNOWN
        .into_iter()
        .find(|k| *k == reason)
        .unwrap_or("TargetProblem")
}

/// `container cpu=… memory=…` for each container of a suggestion.
fn summary(s: &Suggestion) -> String {
    let mut parts: Vec<String> = s
        .containers
        .iter()
        .map(|c| {
            format!(
                "{} cpu={} memory={}",
                c.name,
                c.cpu.as_deref().unwrap_or("-"),
                c.memory.as_deref().unwrap_or("-")
            )
        })
        .collect();
    if let Some(r) = s.suggested_replicas {
        parts.push(format!("replicas={r}"));
    }
    parts.join(", ")
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;

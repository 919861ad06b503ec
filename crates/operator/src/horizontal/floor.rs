//! The horizontal half of a target's plan, pure: from the suggestion, the workload's HPA
//! and its current replicas to the replica floor published in status and, when the
//! workload runs fewer replicas than the floor, one scale-up action.
//!
//! prescale feeds the HPA without writing its spec (docs/ARCHITECTURE.md says why): the
//! floor is the suggestion for the coming window, never above the HPA's `maxReplicas`;
//! it holds until the next horizontal forecast plus `FLOOR_GRACE`. Below it the workload
//! is scaled up through its `scale` subresource, by at most one `scale_up` step of
//! `horizontal.scaling_behavior` per round, never down; the `*/scale` webhook
//! (`webhook::scale`) raises the HPA's own writes below it. Once the forecast peak has
//! left the window the suggestion, and with it the floor, drops, and the HPA's scale-down
//! goes through.
//!
//! No floor, no action, and a `note` saying why, when: horizontal is not autonomous, the
//! pause is on, the target is deleted, the suggestion has not enough data or is older than
//! its validity (no forecast renewed it), the target
//! resolves other than one workload, the workload has no HPA or several, or a utilisation
//! metric has no request to be a fraction of.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use prescale_api::target::status::{ReplicaFloor, Suggestion};
use prescale_forecast::recommend::Step;

use super::metrics::{HorizontalMetrics, HpaView, ResourceTarget};
use crate::actuate::Action;
use crate::collector::owners::WorkloadRef;

/// How long a floor outlives the forecast that should renew it: an operator that stops
/// forecasting (down, failing) lets the HPA alone decide soon after.
pub const FLOOR_GRACE_SECS: i64 = 300;

/// After a raise, the least time before the next raise of the same workload. When the
/// HPA writes the replicas back below the floor, the `*/scale` webhook that holds the
/// floor is not answering (not registered, unreachable, `failurePolicy: Ignore`); raising
/// again at once would fight the HPA at each of its syncs. Five minutes: the HPA's own
/// default scale-down stabilisation.
pub const RAISE_INTERVAL_SECS: i64 = 300;

/// One workload of the target, as the floor decision sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct FloorWorkload<'a> {
    pub kind: &'a str,
    pub name: &'a str,
    /// `spec.replicas` now.
    pub replicas: u32,
    pub hpas: &'a [HpaView],
    /// Per-pod requests of the pod template, cores and bytes (`None`: some container has
    /// none).
    pub cpu_request: Option<f64>,
    pub memory_request: Option<f64>,
}

/// Everything the decision reads.
#[derive(Debug, Clone, PartialEq)]
pub struct FloorInputs<'a> {
    pub namespace: &'a str,
    pub autonomous: bool,
    pub paused: bool,
    pub deleting: bool,
    pub suggestion: Option<&'a Suggestion>,
    pub workloads: &'a [FloorWorkload<'a>],
    /// The metrics the forecast scaled on (for the requests check and the message).
    pub metrics: &'a HorizontalMetrics,
    /// When the next horizontal forecast is due (unix seconds).
    pub next_forecast: Option<i64>,
    /// `horizontal.scaling_behavior.scale_up` in pods.
    pub scale_up: Option<Step>,
    /// When this process last raised the workload, and to how many replicas.
    pub last_raise: Option<(i64, u32)>,
    pub now: Timestamp,
}

/// What the decision says.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FloorDecision {
    pub floor: Option<ReplicaFloor>,
    pub action: Option<Action>,
    /// For `AbleToScale`: its reason when horizontal alone is autonomous, and what
    /// horizontal did or why nothing (the message).
    pub reason: &'static str,
    pub note: String,
}

fn nothing(reason: &'static str, note: impl Into<String>) -> FloorDecision {
    FloorDecision {
        reason,
        note: note.into(),
        ..FloorDecision::default()
    }
}

/// `AbleToScale` reasons of the horizontal part that a user must act on (each recorded
/// once as a Warning Event when it starts).
pub const HPA_PROBLEMS: [&str; 5] = [
    "NoSingleWorkload",
    "HpaNotFound",
    "MultipleHpas",
    "MissingRequests",
    "FloorNotHeld",
];

/// The floor and action of this round (see the module doc).
pub fn decide_floor(i: &FloorInputs<'_>) -> FloorDecision {
    if !i.autonomous {
        return nothing(
            "RecommendationMode",
            "horizontal: recommendation mode, no floor",
        );
    }
    if i.deleting {
        return nothing("Deleting", "horizontal: the target is deleted, no floor");
    }
    if i.paused {
        return nothing(
            "ScalingPaused",
            "horizontal: the system-wide pause is on, no floor is held",
        );
    }
    let [w] = i.workloads else {
        return nothing(
            "NoSingleWorkload",
            format!(
                "horizontal: autonomous scaling needs exactly one workload, the target resolves {}",
                i.workloads.len()
            ),
        );
    };
    let hpa = match w.hpas {
        [h] => h,
        [] => {
            return nothing(
                "HpaNotFound",
                format!(
                    "horizontal: {}/{} has no HorizontalPodAutoscaler; autonomous mode feeds exactly one (create one, or use recommendation mode)",
                    w.kind, w.name
                ),
            );
        }
        many => {
            let names: Vec<&str> = many.iter().map(|h| h.name.as_str()).collect();
            return nothing(
                "MultipleHpas",
                format!(
                    "horizontal: {}/{} is scaled by several HPAs ({}); autonomous mode feeds exactly one",
                    w.kind,
                    w.name,
                    names.join(", ")
                ),
            );
        }
    };
    let missing: Vec<&str> = i
        .metrics
        .resource
        .iter()
        .filter(|m| matches!(m.target, ResourceTarget::Utilization(_)))
        .filter(|m| match m.name.as_str() {
            "cpu" => w.cpu_request.is_none(),
            _ => w.memory_request.is_none(),
        })
        .map(|m| m.name.as_str())
        .collect();
    if !missing.is_empty() {
        return nothing(
            "MissingRequests",
            format!(
                "horizontal: HPA {} scales on {} utilisation but {}/{} has containers without {} requests; set them",
                hpa.name,
                missing.join(", "),
                w.kind,
                w.name,
                missing.join(", ")
            ),
        );
    }
    let not_forecast = if i.metrics.not_forecast.is_empty() {
        String::new()
    } else {
        format!(
            "; not forecast yet (the HPA alone answers them): {}",
            i.metrics.not_forecast.join(", ")
        )
    };
    let Some(s) = i.suggestion.filter(|s| s.has_enough_data_to_scale) else {
        return nothing(
            "WaitingForData",
            format!(
                "horizontal: waiting for a suggestion with enough data before feeding HPA {}{not_forecast}",
                hpa.name
            ),
        );
    };
    let Some(suggested) = s.suggested_replicas.map(|r| r.max(0) as u32) else {
        return nothing(
            "WaitingForData",
            format!(
                "horizontal: no replica suggestion (no forecast metric has usage){not_forecast}"
            ),
        );
    };
    let floor = suggested.min(hpa.max_replicas.max(1));
    let valid_until = i
        .next_forecast
        .unwrap_or(i.now.as_second())
        .saturating_add(FLOOR_GRACE_SECS);
    if valid_until <= i.now.as_second() {
        // The forecast that should have renewed the floor has not come (metrics or the
        // forecast failing): the HPA decides alone until one does.
        return nothing(
            "WaitingForData",
            format!(
                "horizontal: the last forecast is older than its cadence; no floor is held for HPA {} until a new one{not_forecast}",
                hpa.name
            ),
        );
    }
    let Ok(valid_until) = Timestamp::from_second(valid_until) else {
        return nothing(
            "WaitingForData",
            "horizontal: the next forecast time is out of range",
        );
    };
    let metric = s.replicas_driven_by.clone().unwrap_or_default();
    let published = ReplicaFloor {
        workload: format!("{}/{}", w.kind, w.name),
        hpa: hpa.name.clone(),
        replicas: floor as i32,
        metric: metric.clone(),
        valid_until: Time(valid_until),
    };
    let target = scale_up_to(w.replicas, floor, i.scale_up);
    if let Some((at, to)) = i.last_raise
        && target > w.replicas
        && i.now.as_second() - at < RAISE_INTERVAL_SECS
    {
        let raised = Timestamp::from_second(at).map_or_else(|_| at.to_string(), |t| t.to_string());
        return FloorDecision {
            floor: Some(published),
            action: None,
            reason: "FloorNotHeld",
            note: format!(
                "horizontal: {}/{} runs {} replicas, below floor {floor}, after prescale raised it to {to} at {raised}: HPA {} scaled it back, so the `*/scale` admission webhook that holds the floor is not answering (check that the operator's MutatingWebhookConfiguration is registered and reachable); raised again at most once every {RAISE_INTERVAL_SECS} s{not_forecast}",
                w.kind, w.name, w.replicas, hpa.name
            ),
        };
    }
    let action = (target > w.replicas).then(|| Action::ScaleUp {
        namespace: i.namespace.to_string(),
        workload: WorkloadRef {
            kind: w.kind.to_string(),
            name: w.name.to_string(),
        },
        from: w.replicas,
        to: target,
        why: format!(
            "replica floor {floor} ahead of the forecast peak ({metric}), HPA {}",
            hpa.name
        ),
    });
    let note = match &action {
        Some(_) => format!(
            "horizontal: scaling {}/{} from {} to {target} towards floor {floor} (driven by {metric}), fed to HPA {}{not_forecast}",
            w.kind, w.name, w.replicas, hpa.name
        ),
        None => format!(
            "horizontal: floor {floor} (driven by {metric}) held for HPA {}, {} replicas run{not_forecast}",
            hpa.name, w.replicas
        ),
    };
    FloorDecision {
        floor: Some(published),
        reason: if action.is_some() {
            "Applying"
        } else {
            "Applied"
        },
        action,
        note,
    }
}

/// Towards `floor` from `current` by at most one `scale_up` step (a percent step of at
/// least one pod); never down.
pub fn scale_up_to(current: u32, floor: u32, scale_up: Option<Step>) -> u32 {
    if floor <= current {
        return current;
    }
    let allowed = scale_up.map_or(u32::MAX, |s| {
        s.limit(f64::from(current.max(1)))
            .ceil()
            .clamp(1.0, f64::from(u32::MAX)) as u32
    });
    floor.min(current.saturating_add(allowed))
}

#[cfg(test)]
#[path = "floor_tests.rs"]
mod tests;

//! One PodAutoscaler's decision, as a pure function of what the controller read: the spec,
//! the target's scale (or why it could not be read), one reading per metric source, the
//! other autoscalers of the same workload, the system-wide pause, the clock and the
//! autoscaler's memory. It returns the new status (seed 004's conditions and reasons), the
//! replicas to write to the target's `scale` subresource (if any), the native HPA the HPA
//! strategy stands for, the Events, and the next memory.
//!
//! The strategies themselves are `prescale_autoscale::compute_desired_replicas`; this adds
//! what a controller decides around them: whether it may act at all (a valid spec, no
//! conflict, not paused, a target it can scale), the conditions, and the history.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use prescale_api::limits;
use prescale_api::podautoscaler::status::{
    CONDITION_ABLE_TO_SCALE, CONDITION_CONFLICT, CONDITION_READY, CONDITION_SCALING_ACTIVE,
    CONDITION_VALID_SPEC, REASON_AS_EXPECTED, REASON_CONFIGURED, REASON_INVALID_BOUNDS,
    REASON_INVALID_SCALING_STRATEGY, REASON_INVALID_SPEC, REASON_METRICS_CONFIG_ERROR,
    REASON_MISSING_TARGET_REF, REASON_RECONCILING_SCALE_DIFF, REASON_STABLE, ScalingDecision,
    ScheduledBoundsStatus,
};
use prescale_api::podautoscaler::{
    EffectiveBounds, PodAutoscaler, PodAutoscalerStatus, ScalingStrategy, effective_bounds,
    scaling_parameters,
};
use prescale_api::validate::FieldError;
use prescale_api::validate::validate_pod_autoscaler;
use prescale_autoscale::{
    AutoscalerState, MetricReading, Projection, ReplicaComputeRequest, compute_desired_replicas,
};

use super::predictive::{predictive_status, projections};
use crate::clock::whole_seconds;
use crate::conditions::condition;
use crate::target::plan::{EventSpec, EventType};

/// The reason of `MultiPodAutoscalerConflict=True` (seed 004 names the condition, not a
/// reason for it) and of the conditions a conflict turns false.
pub const REASON_CONFLICT: &str = "MultiPodAutoscalerConflict";
/// prescale's addition: the system-wide pause (seed 002) holds the replicas.
pub const REASON_PAUSED: &str = "Paused";
/// prescale's addition: the metrics of no source could be read.
pub const REASON_FAILED_GET_METRICS: &str = "FailedGetMetrics";

/// The target's `scale` subresource as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetScale {
    /// `spec.replicas`.
    pub replicas: u32,
    /// Its pods that are ready (matched by `status.selector`).
    pub ready_pods: u32,
}

/// Everything one decision needs.
#[derive(Debug, Clone)]
pub struct PaInputs<'a> {
    pub pa: &'a PodAutoscaler,
    pub now: Timestamp,
    /// The system-wide pause is on.
    pub paused: bool,
    /// The other autoscaler that keeps this one from acting, described for the condition.
    pub conflict: Option<String>,
    /// The target's scale, or why it cannot be read (no such workload, no scale
    /// subresource, a kind the cluster does not serve).
    pub scale: Result<TargetScale, String>,
    /// One per `spec.metricsSources` entry (KPA and APA only; empty for HPA).
    pub readings: &'a [Result<MetricReading, String>],
    /// The HPA strategy: `status.desiredReplicas` of the HPA this PodAutoscaler owns.
    pub hpa_desired: Option<u32>,
    /// `spec.predictive`: projections of prescale's seasonal forecaster (`seasonal`), by
    /// source; a source without one is projected by AIBrix's linear trend.
    pub forecasts: &'a [Projection],
}

/// What the HPA strategy's native HorizontalPodAutoscaler should be.
#[derive(Debug, Clone, PartialEq)]
pub enum HpaIntent {
    /// Not the HPA strategy (or nothing to say yet): an HPA this PodAutoscaler owns goes.
    Absent,
    /// The HPA, as `prescale_autoscale::hpa::build_hpa` makes it, within `bounds`.
    Keep { bounds: EffectiveBounds },
    /// Leave whatever exists as it is (the spec cannot be turned into an HPA right now).
    Untouched,
}

/// The decision.
#[derive(Debug, Clone, PartialEq)]
pub struct PaOutcome {
    pub status: PodAutoscalerStatus,
    /// Write this to the target's `scale` subresource.
    pub scale_to: Option<u32>,
    pub hpa: HpaIntent,
    pub events: Vec<EventSpec>,
    pub state: AutoscalerState,
}

/// The reason `ValidSpec=False` gives for a field error at `path`.
fn invalid_reason(path: &str) -> &'static str {
    if path.starts_with("spec.scalingStrategy") {
        REASON_INVALID_SCALING_STRATEGY
    } else if path.starts_with("spec.minReplicas")
        || path.starts_with("spec.maxReplicas")
        || path.starts_with("spec.schedules")
    {
        REASON_INVALID_BOUNDS
    } else if path.starts_with("spec.scaleTargetRef") {
        REASON_MISSING_TARGET_REF
    } else if path.starts_with("spec.metricsSources") {
        REASON_METRICS_CONFIG_ERROR
    } else {
        REASON_INVALID_SPEC
    }
}

/// One condition row: type, whether it holds, reason, message.
type Row = (&'static str, bool, &'static str, String);

/// Seed 004's five conditions, in its order.
fn conditions(
    [ready, valid, conflict, active, able]: [Row; 5],
    pa: &PodAutoscaler,
    now: Timestamp,
) -> Vec<Condition> {
    let previous = pa
        .status
        .as_ref()
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default();
    [ready, valid, conflict, active, able]
        .into_iter()
        .map(|(type_, ok, reason, message)| {
            let status = if ok { "True" } else { "False" };
            condition(
                type_,
                status,
                reason,
                &message,
                pa.metadata.generation,
                previous,
                now,
            )
        })
        .collect()
}

/// Whether condition `type_` was true before this decision (`None`: not set).
fn was_true(pa: &PodAutoscaler, type_: &str) -> Option<bool> {
    pa.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| c.status == "True")
}

/// A Warning Event, once per transition of `type_` to false.
fn warn_on_transition(
    pa: &PodAutoscaler,
    type_: &str,
    reason: &'static str,
    message: &str,
    now: Timestamp,
) -> Option<EventSpec> {
    (was_true(pa, type_) != Some(false)).then(|| EventSpec {
        type_: EventType::Warning,
        reason,
        message: message.to_string(),
        time: now,
    })
}

fn row(type_: &'static str, ok: bool, reason: &'static str, message: impl Into<String>) -> Row {
    (type_, ok, reason, message.into())
}

/// The decision for `inputs` given the autoscaler's memory.
pub fn plan(inputs: &PaInputs<'_>, state: AutoscalerState) -> PaOutcome {
    let pa = inputs.pa;
    let spec = &pa.spec;
    let now = inputs.now;
    let previous = pa.status.clone().unwrap_or_default();
    let annotations = pa.metadata.annotations.clone().unwrap_or_default();
    let mut status = PodAutoscalerStatus {
        observed_generation: pa.metadata.generation,
        last_scale_time: previous.last_scale_time.clone(),
        scaling_history: previous.scaling_history.clone(),
        actual_scale: inputs.scale.as_ref().ok().map(|s| s.replicas as i32),
        desired_scale: previous.desired_scale,
        ..PodAutoscalerStatus::default()
    };
    let mut out = PaOutcome {
        status: PodAutoscalerStatus::default(),
        scale_to: None,
        hpa: HpaIntent::Untouched,
        events: vec![],
        state,
    };

    // 1. A spec the controller can act on (the API refuses most bad specs; annotations and
    //    what only Rust checks arrive here).
    let parsed = scaling_parameters(&annotations, spec);
    let mut errors = validate_pod_autoscaler(spec, pa.metadata.namespace.as_deref(), &annotations);
    errors.extend(parsed.problems.iter().cloned());
    let bounds = effective_bounds(spec, now).map_err(|e| FieldError {
        path: "spec.schedules".into(),
        message: e.to_string(),
    });
    let bounds = match (bounds, errors.into_iter().next()) {
        (Ok(b), None) => b,
        (Err(e), None) | (_, Some(e)) => {
            let reason = invalid_reason(&e.path);
            let message = e.to_string();
            out.events.extend(warn_on_transition(
                pa,
                CONDITION_VALID_SPEC,
                "InvalidSpec",
                &format!("{message}; nothing is scaled until the spec is fixed"),
                now,
            ));
            let idle = "no scaling while the spec is invalid";
            status.conditions = conditions(
                [
                    row(CONDITION_READY, false, reason, message.clone()),
                    row(CONDITION_VALID_SPEC, false, reason, message),
                    row(
                        CONDITION_CONFLICT,
                        false,
                        REASON_AS_EXPECTED,
                        "not checked while the spec is invalid",
                    ),
                    row(CONDITION_SCALING_ACTIVE, false, reason, idle),
                    row(CONDITION_ABLE_TO_SCALE, false, reason, idle),
                ],
                pa,
                now,
            );
            out.status = status;
            return out;
        }
    };
    status.scheduled_bounds = Some(ScheduledBoundsStatus {
        active_schedule: bounds.active_schedule.clone(),
        effective_min_replicas: bounds.min_replicas,
        effective_max_replicas: bounds.max_replicas,
    });
    let valid = row(
        CONDITION_VALID_SPEC,
        true,
        REASON_CONFIGURED,
        "the spec is valid",
    );

    // 2. One autoscaler per workload: a conflicted one stands aside entirely (its own HPA
    //    included), so the two never fight.
    if let Some(other) = &inputs.conflict {
        let message = format!(
            "{other} also scales {kind}/{name}; this PodAutoscaler does not act until one of them is removed",
            kind = spec.scale_target_ref.kind,
            name = spec.scale_target_ref.name
        );
        if was_true(pa, CONDITION_CONFLICT) != Some(true) {
            out.events.push(EventSpec {
                type_: EventType::Warning,
                reason: REASON_CONFLICT,
                message: message.clone(),
                time: now,
            });
        }
        status.conditions = conditions(
            [
                row(CONDITION_READY, false, REASON_CONFLICT, message.clone()),
                valid,
                row(CONDITION_CONFLICT, true, REASON_CONFLICT, message),
                row(
                    CONDITION_SCALING_ACTIVE,
                    false,
                    REASON_CONFLICT,
                    "standing aside",
                ),
                row(
                    CONDITION_ABLE_TO_SCALE,
                    false,
                    REASON_CONFLICT,
                    "standing aside",
                ),
            ],
            pa,
            now,
        );
        out.hpa = HpaIntent::Absent;
        out.status = status;
        return out;
    }
    let no_conflict = row(
        CONDITION_CONFLICT,
        false,
        REASON_AS_EXPECTED,
        "no other autoscaler scales the target",
    );

    // 3. A target with a scale subresource.
    let scale = match &inputs.scale {
        Ok(s) => *s,
        Err(why) => {
            let message = format!(
                "spec.scaleTargetRef: cannot read the scale of {kind}/{name}: {why}",
                kind = spec.scale_target_ref.kind,
                name = spec.scale_target_ref.name
            );
            out.events.extend(warn_on_transition(
                pa,
                CONDITION_ABLE_TO_SCALE,
                "FailedGetScale",
                &message,
                now,
            ));
            status.conditions = conditions(
                [
                    row(
                        CONDITION_READY,
                        false,
                        REASON_MISSING_TARGET_REF,
                        message.clone(),
                    ),
                    valid,
                    no_conflict,
                    row(
                        CONDITION_SCALING_ACTIVE,
                        false,
                        REASON_MISSING_TARGET_REF,
                        "no target to scale",
                    ),
                    row(
                        CONDITION_ABLE_TO_SCALE,
                        false,
                        REASON_MISSING_TARGET_REF,
                        message,
                    ),
                ],
                pa,
                now,
            );
            if spec.scaling_strategy == ScalingStrategy::HPA {
                out.hpa = HpaIntent::Keep { bounds };
            }
            out.status = status;
            return out;
        }
    };
    let paused_row = |type_| {
        row(
            type_,
            false,
            REASON_PAUSED,
            "the system-wide pause holds the replicas (seed 002); scaling resumes when it is lifted",
        )
    };

    // 4. The HPA strategy: the native HPA decides; paused, it is pinned to the replicas in
    //    place (its bounds set to them), and given its own bounds back on resume.
    if spec.scaling_strategy == ScalingStrategy::HPA {
        let replicas = scale.replicas as i32;
        out.hpa = HpaIntent::Keep {
            bounds: if inputs.paused {
                EffectiveBounds {
                    min_replicas: replicas.max(1),
                    max_replicas: replicas.max(1),
                    active_schedule: bounds.active_schedule.clone(),
                }
            } else {
                bounds.clone()
            },
        };
        status.desired_scale = inputs.hpa_desired.map(|d| d as i32);
        let able = able_row(status.desired_scale, scale.replicas);
        let name =
            prescale_autoscale::hpa::hpa_name(pa.metadata.name.as_deref().unwrap_or_default())
                .unwrap_or_default();
        status.conditions = conditions(
            if inputs.paused {
                [
                    paused_row(CONDITION_READY),
                    valid,
                    no_conflict,
                    paused_row(CONDITION_SCALING_ACTIVE),
                    able,
                ]
            } else {
                [
                    row(
                        CONDITION_READY,
                        true,
                        REASON_AS_EXPECTED,
                        "the HorizontalPodAutoscaler scales the target",
                    ),
                    valid,
                    no_conflict,
                    row(
                        CONDITION_SCALING_ACTIVE,
                        true,
                        REASON_AS_EXPECTED,
                        format!("HorizontalPodAutoscaler {name} decides the replicas"),
                    ),
                    able,
                ]
            },
            pa,
            now,
        );
        out.status = status;
        return out;
    }
    out.hpa = HpaIntent::Absent;

    // 5. KPA and APA: the strategy decides; the controller applies it.
    let projections = projections(inputs, &out.state, parsed.parameters.stable_window);
    let request = ReplicaComputeRequest {
        spec,
        parameters: &parsed.parameters,
        current_replicas: scale.replicas,
        ready_pods: scale.ready_pods,
        readings: inputs.readings,
        projections: &projections,
        now,
    };
    let (result, next) = compute_desired_replicas(&request, std::mem::take(&mut out.state));
    out.state = next;
    status.predictive = predictive_status(&result, previous.predictive.as_ref(), now);
    status.desired_scale = Some(result.desired_replicas as i32);
    let failed: Vec<String> = result
        .failed_metrics
        .iter()
        .map(|(metric, why)| format!("{metric}: {why}"))
        .collect();
    let active = if !result.valid {
        let message = format!("{}; the replicas are held", result.reason);
        out.events.extend(warn_on_transition(
            pa,
            CONDITION_SCALING_ACTIVE,
            "FailedGetMetrics",
            &message,
            now,
        ));
        row(
            CONDITION_SCALING_ACTIVE,
            false,
            REASON_FAILED_GET_METRICS,
            message,
        )
    } else if !failed.is_empty() {
        row(
            CONDITION_SCALING_ACTIVE,
            true,
            REASON_AS_EXPECTED,
            format!(
                "{}; no scale-down while these cannot be read: {}",
                result.reason,
                failed.join("; ")
            ),
        )
    } else {
        row(
            CONDITION_SCALING_ACTIVE,
            true,
            REASON_AS_EXPECTED,
            result.reason.clone(),
        )
    };
    if inputs.paused {
        status.conditions = conditions(
            [
                paused_row(CONDITION_READY),
                valid,
                no_conflict,
                paused_row(CONDITION_SCALING_ACTIVE),
                paused_row(CONDITION_ABLE_TO_SCALE),
            ],
            pa,
            now,
        );
        out.status = status;
        return out;
    }
    if result.desired_replicas != scale.replicas {
        out.scale_to = Some(result.desired_replicas);
        status.last_scale_time = Some(Time(whole_seconds(now)));
        status.scaling_history.push(ScalingDecision {
            timestamp: Time(whole_seconds(now)),
            previous_scale: scale.replicas as i32,
            new_scale: result.desired_replicas as i32,
            reason: result.reason.clone(),
            success: true,
            error: None,
        });
        let keep = limits::SCALING_HISTORY as usize;
        let excess = status.scaling_history.len().saturating_sub(keep);
        status.scaling_history.drain(..excess);
        out.events.push(EventSpec {
            type_: EventType::Normal,
            reason: "SuccessfulRescale",
            message: format!(
                "New size: {}; reason: {}",
                result.desired_replicas, result.reason
            ),
            time: now,
        });
    }
    let able = able_row(status.desired_scale, scale.replicas);
    let ready = if active.1 {
        row(
            CONDITION_READY,
            true,
            REASON_AS_EXPECTED,
            "the target is scaled on its metrics",
        )
    } else {
        row(CONDITION_READY, false, active.2, active.3.clone())
    };
    status.conditions = conditions([ready, valid, no_conflict, active, able], pa, now);
    out.status = status;
    out
}

/// `AbleToScale`: true; `ReconcilingScaleDiff` while the target's replicas differ from the
/// desired, `Stable` once they match.
fn able_row(desired: Option<i32>, replicas: u32) -> Row {
    match desired {
        Some(d) if d != replicas as i32 => row(
            CONDITION_ABLE_TO_SCALE,
            true,
            REASON_RECONCILING_SCALE_DIFF,
            format!("scaling the target from {replicas} to {d} replicas"),
        ),
        _ => row(
            CONDITION_ABLE_TO_SCALE,
            true,
            REASON_STABLE,
            format!("the target has the desired {replicas} replicas"),
        ),
    }
}

/// What the controller records when the scale write it was told to make failed: the last
/// decision marked unsuccessful with the server's answer, `AbleToScale=False`, a Warning.
pub fn scale_failed(out: &mut PaOutcome, error: &str, now: Timestamp) {
    if let Some(last) = out.status.scaling_history.last_mut() {
        last.success = false;
        last.error = Some(error.to_string());
    }
    out.events.retain(|e| e.reason != "SuccessfulRescale");
    out.events.push(EventSpec {
        type_: EventType::Warning,
        reason: "FailedRescale",
        message: format!("the target refused the new scale: {error}"),
        time: now,
    });
    let message = format!("the last scale write failed: {error}; retried at the next sync");
    for c in &mut out.status.conditions {
        if c.type_ == CONDITION_ABLE_TO_SCALE || c.type_ == CONDITION_READY {
            if c.status == "True" {
                c.last_transition_time = Time(whole_seconds(now));
            }
            c.status = "False".into();
            c.reason = REASON_MISSING_TARGET_REF.into();
            c.message = message.clone();
        }
    }
}

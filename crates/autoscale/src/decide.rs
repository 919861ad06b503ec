//! The AutoScaler of seed 004, as one pure function: `compute_desired_replicas` takes what
//! the controller observed (current and ready replicas, one reading per metric source, the
//! time, optional projections) and the autoscaler's memory, and returns the decision —
//! desired replicas, algorithm, reason, validity — with the next memory.
//!
//! One decision: the bounds in force (schedules) → each source's readings recorded → each
//! source's recommendation (KPA or APA) → the most demanding one (AIBrix's multi-metric
//! rule) → never below the current replicas while a source could not be read (a metrics
//! failure never scales down) → at least one replica unless scale-to-zero → the predictive
//! floor (Auto) → the cooldown windows → the bounds.

use std::time::Duration;

use jiff::Timestamp;
use prescale_api::podautoscaler::{
    EffectiveBounds, PodAutoscalerSpec, PredictiveMode, ScalingParameters, ScalingStrategy,
    effective_bounds,
};

use crate::predictive::{Projection, replicas_for};
use crate::stabilize::stabilize;
use crate::state::{AutoscalerState, Sample};
use crate::{apa, kpa};

/// One reading of a metric source: the metric summed over the pods that reported it (pod
/// and resource sources), or the one value of a cluster-level source (custom, external),
/// in the units of the source's targetValue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricReading {
    pub total: f64,
    /// The pods the total covers (0 for a cluster-level value).
    pub pods: u32,
}

/// Everything one decision needs. `readings` lines up with `spec.metrics_sources`:
/// `Err` says why that source could not be read this time.
#[derive(Debug, Clone, Copy)]
pub struct ReplicaComputeRequest<'a> {
    pub spec: &'a PodAutoscalerSpec,
    pub parameters: &'a ScalingParameters,
    /// The target's replicas (its scale subresource's spec.replicas).
    pub current_replicas: u32,
    /// The target's pods that are ready.
    pub ready_pods: u32,
    pub readings: &'a [Result<MetricReading, String>],
    /// Projections for `spec.predictive`, by metric; ignored without it.
    pub projections: &'a [Projection],
    pub now: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Kpa,
    Apa,
    /// The native HPA decides; see `hpa::build_hpa`.
    Hpa,
}

/// What the predictive floor asked for and did.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictiveOutcome {
    pub mode: PredictiveMode,
    pub metric: String,
    pub observed: f64,
    pub predicted: f64,
    /// The replicas the projection alone asks for.
    pub predicted_replicas: u32,
    /// The replicas the reactive strategy asked for, before the floor, cooldowns and bounds.
    pub reactive_replicas: u32,
    /// What Auto applies (after the same cooldowns and bounds); in Preview, what Auto would.
    pub would_be_replicas: u32,
}

/// The decision.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicaComputeResult {
    pub desired_replicas: u32,
    pub algorithm: Algorithm,
    pub reason: String,
    /// False when no recommendation could be made (no source read, bad schedules, HPA
    /// strategy): `desired_replicas` is then the current replicas within the bounds.
    pub valid: bool,
    /// The source the decision followed, and its value (KPA: the stable-window total;
    /// APA: the per-pod average).
    pub metric: Option<String>,
    pub metric_value: Option<f64>,
    /// KPA is in panic mode on the source followed.
    pub panicking: bool,
    pub bounds: EffectiveBounds,
    /// Sources not read this time, with why.
    pub failed_metrics: Vec<(String, String)>,
    pub predictive: Option<PredictiveOutcome>,
}

/// One source's recommendation.
struct Candidate {
    metric: String,
    desired: u32,
    value: f64,
    panicking: bool,
}

/// The decision for `request` given the autoscaler's memory, and the next memory.
pub fn compute_desired_replicas(
    request: &ReplicaComputeRequest<'_>,
    mut state: AutoscalerState,
) -> (ReplicaComputeResult, AutoscalerState) {
    let spec = request.spec;
    let p = request.parameters;
    let current = request.current_replicas;
    let algorithm = match spec.scaling_strategy {
        ScalingStrategy::KPA => Algorithm::Kpa,
        ScalingStrategy::APA => Algorithm::Apa,
        ScalingStrategy::HPA => Algorithm::Hpa,
    };
    let invalid = |bounds: EffectiveBounds, reason: String, failed: Vec<(String, String)>| {
        ReplicaComputeResult {
            desired_replicas: clamp(current, &bounds),
            algorithm,
            reason,
            valid: false,
            metric: None,
            metric_value: None,
            panicking: false,
            bounds,
            failed_metrics: failed,
            predictive: None,
        }
    };
    let bounds = match effective_bounds(spec, request.now) {
        Ok(b) => b,
        Err(e) => {
            let base = prescale_api::podautoscaler::schedule::base_bounds(spec);
            return (invalid(base, format!("spec.{e}"), vec![]), state);
        }
    };
    if algorithm == Algorithm::Hpa {
        let reason = "scalingStrategy HPA: the HorizontalPodAutoscaler decides".to_string();
        return (invalid(bounds, reason, vec![]), state);
    }
    if request.readings.len() != spec.metrics_sources.len() {
        let reason = format!(
            "{} readings for {} metric sources: one reading (or error) per source is expected",
            request.readings.len(),
            spec.metrics_sources.len()
        );
        return (invalid(bounds, reason, vec![]), state);
    }

    let names: Vec<&str> = spec
        .metrics_sources
        .iter()
        .map(|s| s.target_metric.as_str())
        .collect();
    state.retain_metrics(&names);
    let keep = p.stable_window.max(p.panic_window);
    let mut candidates = vec![];
    let mut failed = vec![];
    for (source, reading) in spec.metrics_sources.iter().zip(request.readings) {
        let name = source.target_metric.clone();
        let target = match source.target() {
            Ok(t) if t > 0.0 && t.is_finite() => t,
            _ => {
                let why = format!(
                    "targetValue {:?} is not a number above 0",
                    source.target_value
                );
                failed.push((name, why));
                continue;
            }
        };
        let reading = match reading {
            Ok(r) if r.total.is_finite() && r.total >= 0.0 => *r,
            Ok(r) => {
                failed.push((
                    name,
                    format!("the reading {} is not a number of 0 or more", r.total),
                ));
                continue;
            }
            Err(why) => {
                failed.push((name, why.clone()));
                continue;
            }
        };
        let metric = state.metrics.entry(name.clone()).or_default();
        metric.record(
            Sample {
                at: request.now,
                total: reading.total,
                pods: reading.pods,
            },
            keep,
        );
        let candidate = match algorithm {
            Algorithm::Kpa => {
                let input = kpa::KpaInput {
                    parameters: p,
                    target,
                    current_replicas: current,
                    ready_pods: request.ready_pods,
                    now: request.now,
                };
                kpa::recommend(metric, input).map(|(outcome, panic)| {
                    metric.panic = panic;
                    Candidate {
                        metric: name,
                        desired: outcome.desired,
                        value: outcome.stable_value,
                        panicking: outcome.panicking,
                    }
                })
            }
            _ => metric
                .mean_per_pod(request.now, p.stable_window, current)
                .map(|per_pod| Candidate {
                    desired: apa_desired(per_pod, target, current, request.ready_pods, p),
                    metric: name,
                    value: per_pod,
                    panicking: false,
                }),
        };
        candidates.extend(candidate);
    }

    let Some(best) = candidates.into_iter().max_by_key(|c| c.desired) else {
        let reason = format!(
            "no metric source could be read ({}): keeping {current} replicas",
            describe(&failed)
        );
        return (invalid(bounds, reason, failed), state);
    };
    let mut raw = best.desired;
    let mut reason = format!(
        "{} on {} = {}: {} replicas",
        if best.panicking {
            "KPA panic mode"
        } else if algorithm == Algorithm::Kpa {
            "KPA"
        } else {
            "APA"
        },
        best.metric,
        round(best.value),
        best.desired
    );
    if !failed.is_empty() && raw < current {
        raw = current;
        reason.push_str(&format!(
            "; not scaling down while {} cannot be read",
            describe(&failed)
        ));
    }
    if !p.scale_to_zero {
        raw = raw.max(1);
    }

    let keep_recommendations = p.scale_up_cooldown.max(p.scale_down_cooldown);
    let apply = |state: &AutoscalerState, raw: u32| -> u32 {
        let mut remembered = state.recommendations.clone();
        remembered.push(crate::state::Recommendation {
            at: request.now,
            replicas: raw,
        });
        clamp(
            stabilize(
                &remembered,
                request.now,
                current,
                p.scale_up_cooldown,
                p.scale_down_cooldown,
            ),
            &bounds,
        )
    };
    let predictive = spec.predictive.as_ref().and_then(|predictive| {
        let projection = request.projections.iter().find(|pr| {
            spec.metrics_sources
                .iter()
                .any(|s| s.target_metric == pr.metric)
        })?;
        let target = spec
            .metrics_sources
            .iter()
            .find(|s| s.target_metric == projection.metric)?
            .target()
            .ok()?;
        let predicted_replicas = replicas_for(projection.predicted, target);
        let cap = (p.max_scale_up_rate * f64::from(request.ready_pods.max(1))).ceil() as u32;
        let floor = predicted_replicas.min(cap);
        let would_be_raw = raw.max(floor);
        Some((
            PredictiveOutcome {
                mode: predictive.mode.unwrap_or_default(),
                metric: projection.metric.clone(),
                observed: projection.observed,
                predicted: projection.predicted,
                predicted_replicas,
                reactive_replicas: raw,
                would_be_replicas: apply(&state, would_be_raw),
            },
            would_be_raw,
        ))
    });
    if let Some((outcome, would_be_raw)) = &predictive
        && outcome.mode == PredictiveMode::Auto
        && *would_be_raw > raw
    {
        reason.push_str(&format!(
            "; raised to {would_be_raw} by the projection of {} to {}",
            outcome.metric,
            round(outcome.predicted)
        ));
        raw = *would_be_raw;
    }
    let desired = apply(&state, raw);
    state.recommend(request.now, raw, keep_recommendations);
    if desired != clamp(raw, &bounds) {
        reason.push_str(&format!(
            "; {desired} within the cooldown windows and bounds [{}, {}]",
            bounds.min_replicas, bounds.max_replicas
        ));
    }
    let result = ReplicaComputeResult {
        desired_replicas: desired,
        algorithm,
        reason,
        valid: true,
        metric: Some(best.metric),
        metric_value: Some(best.value),
        panicking: best.panicking,
        bounds,
        failed_metrics: failed,
        predictive: predictive.map(|(outcome, _)| outcome),
    };
    (result, state)
}

/// APA on the pods the per-pod average was measured over — the ready ones, as KPA's rates
/// are — so that pods still starting are not multiplied by the ratio again on every sync
/// (which compounded a scale-up for as long as the start-up lasted). A scale-up never
/// removes the pods already starting; inside the band the replicas stay as they are.
fn apa_desired(per_pod: f64, target: f64, current: u32, ready: u32, p: &ScalingParameters) -> u32 {
    let base = if ready > 0 {
        ready.min(current)
    } else {
        current
    };
    let desired = apa::recommend(per_pod, target, base, p);
    match desired.cmp(&base) {
        std::cmp::Ordering::Greater => desired.max(current),
        std::cmp::Ordering::Less => desired,
        std::cmp::Ordering::Equal => current,
    }
}

fn clamp(replicas: u32, bounds: &EffectiveBounds) -> u32 {
    let min = bounds.min_replicas.max(0) as u32;
    let max = (bounds.max_replicas.max(0) as u32).max(min);
    replicas.clamp(min, max)
}

fn describe(failed: &[(String, String)]) -> String {
    failed
        .iter()
        .map(|(m, why)| format!("{m}: {why}"))
        .collect::<Vec<_>>()
        .join("; ")
}

fn round(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// The horizon of `spec.predictive` (default 120 s).
pub fn predictive_horizon(spec: &PodAutoscalerSpec) -> Duration {
    let seconds = spec
        .predictive
        .as_ref()
        .and_then(|p| p.horizon_seconds)
        .unwrap_or(prescale_api::podautoscaler::defaults::PREDICTIVE_HORIZON_SECONDS);
    Duration::from_secs(seconds.max(0) as u64)
}

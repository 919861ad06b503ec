//! The native HorizontalPodAutoscaler's algorithm (kube-controller-manager's
//! `podautoscaler` package, autoscaling/v2) for one utilisation or average-value metric, as a
//! pure function of what it reads each sync period and its memory:
//!
//! 1. **Replica calculation** (`replica_calculator.go`): the usage ratio is the metric's
//!    average over the ready pods divided by the target; within the tolerance (0.1) of 1
//!    nothing changes, else ⌈ratio × ready pods⌉. While pods are still starting and the
//!    ratio asks to scale up, the starting pods count as using nothing (the HPA's
//!    conservative rule); if that brings the ratio within the tolerance or across 1, the
//!    replicas stay as they are.
//! 2. **Stabilisation** (`stabilizeRecommendationWithBehaviors`): `stabilize::stabilize`,
//!    the same windows the PodAutoscaler's cooldowns use.
//! 3. **Rate policies** (`convertDesiredReplicasWithBehaviorRate`): the defaults allow a
//!    scale-up of max(100 %, 4 pods) per 15 s and a scale-down of 100 % per 15 s, counted
//!    from the replicas at the start of each policy period.
//! 4. `minReplicas` / `maxReplicas`.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use crate::stabilize::stabilize;
use crate::state::Recommendation;

/// The HPA's default tolerance (`--horizontal-pod-autoscaler-tolerance`).
pub const TOLERANCE: f64 = 0.1;
/// The HPA's default sync period (`--horizontal-pod-autoscaler-sync-period`).
pub const SYNC_PERIOD: Duration = Duration::from_secs(15);

/// One rate policy: at most `percent` % or `pods` pods per `period` (the larger of the two
/// when both are set: `selectPolicy: Max`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateRule {
    pub stabilization: Duration,
    pub percent: Option<f64>,
    pub pods: Option<u32>,
    pub period: Duration,
}

/// `spec.behavior`, as far as the algorithm reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Behavior {
    pub scale_up: RateRule,
    pub scale_down: RateRule,
}

impl Default for Behavior {
    /// The defaults of autoscaling/v2 when `behavior` is left out.
    fn default() -> Self {
        Behavior {
            scale_up: RateRule {
                stabilization: Duration::ZERO,
                percent: Some(100.0),
                pods: Some(4),
                period: Duration::from_secs(15),
            },
            scale_down: RateRule {
                stabilization: Duration::from_secs(300),
                percent: Some(100.0),
                pods: None,
                period: Duration::from_secs(15),
            },
        }
    }
}

/// An HPA on one metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HpaSpec {
    /// The per-pod target (utilisation fraction × request, or an average value).
    pub target_per_pod: f64,
    pub min_replicas: u32,
    pub max_replicas: u32,
    pub tolerance: f64,
    pub behavior: Behavior,
}

/// What the HPA reads in one sync period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HpaReading {
    /// The metric summed over the ready pods.
    pub total: f64,
    pub ready: u32,
    /// Pods that exist but are not ready yet.
    pub starting: u32,
    /// The scale subresource's replicas.
    pub current: u32,
}

/// The HPA controller's memory of one HPA.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HpaState {
    pub recommendations: Vec<Recommendation>,
    /// (when, replicas added (+) or removed (−)) by this HPA.
    pub events: Vec<(Timestamp, i64)>,
}

/// Step 1: the replicas the metric asks for.
pub fn calculate(r: &HpaReading, target_per_pod: f64, tolerance: f64) -> u32 {
    if r.ready == 0 || target_per_pod.is_nan() || target_per_pod <= 0.0 || !r.total.is_finite() {
        return r.current;
    }
    let ratio = r.total / f64::from(r.ready) / target_per_pod;
    if r.starting == 0 || ratio <= 1.0 {
        if (1.0 - ratio).abs() <= tolerance {
            return r.current;
        }
        return ceil_u32(ratio * f64::from(r.ready));
    }
    // Scaling up with starting pods: they count as using nothing.
    let counted = r.ready + r.starting;
    let new_ratio = r.total / f64::from(counted) / target_per_pod;
    if (1.0 - new_ratio).abs() <= tolerance || new_ratio < 1.0 {
        return r.current;
    }
    ceil_u32(new_ratio * f64::from(counted)).max(r.current)
}

fn ceil_u32(v: f64) -> u32 {
    v.ceil().clamp(0.0, f64::from(u32::MAX)) as u32
}

/// One sync period: the replicas the HPA sets, and its next memory.
pub fn hpa_step(
    spec: &HpaSpec,
    reading: &HpaReading,
    now: Timestamp,
    mut state: HpaState,
) -> (u32, HpaState) {
    let current = reading.current;
    let raw = calculate(reading, spec.target_per_pod, spec.tolerance);
    let b = &spec.behavior;
    let mut remembered = state.recommendations.clone();
    remembered.push(Recommendation {
        at: now,
        replicas: raw,
    });
    let stabilized = stabilize(
        &remembered,
        now,
        current,
        b.scale_up.stabilization,
        b.scale_down.stabilization,
    );
    let in_period = |period: Duration, sign: i64| -> i64 {
        let from = now
            .checked_sub(SignedDuration::try_from(period).unwrap_or(SignedDuration::MAX))
            .unwrap_or(Timestamp::MIN);
        state
            .events
            .iter()
            .filter(|(at, d)| *at > from && d.signum() == sign)
            .map(|(_, d)| d.abs())
            .sum()
    };
    let mut desired = stabilized;
    if desired > current {
        let rule = b.scale_up;
        let start = (i64::from(current) - in_period(rule.period, 1)).max(0) as f64;
        let by_percent = rule.percent.map(|p| (start * (1.0 + p / 100.0)).ceil());
        let by_pods = rule.pods.map(|n| start + f64::from(n));
        let limit = by_percent.into_iter().chain(by_pods).fold(start, f64::max);
        desired = desired.min(ceil_u32(limit));
    } else if desired < current {
        let rule = b.scale_down;
        let start = i64::from(current) as f64 + in_period(rule.period, -1) as f64;
        let by_percent = rule.percent.map(|p| (start * (1.0 - p / 100.0)).floor());
        let by_pods = rule.pods.map(|n| start - f64::from(n));
        let limit = by_percent.into_iter().chain(by_pods).fold(start, f64::min);
        desired = desired.max(limit.max(0.0) as u32);
    }
    let max = spec.max_replicas.max(spec.min_replicas);
    let desired = desired.clamp(spec.min_replicas, max);
    // Keep what the longest window or period looks back on.
    let keep = [
        b.scale_up.stabilization,
        b.scale_down.stabilization,
        b.scale_up.period,
        b.scale_down.period,
    ]
    .into_iter()
    .max()
    .unwrap_or_default();
    let oldest = now
        .checked_sub(SignedDuration::try_from(keep).unwrap_or(SignedDuration::MAX))
        .unwrap_or(Timestamp::MIN);
    state.recommendations = remembered;
    state.recommendations.retain(|r| r.at >= oldest);
    if desired != current {
        state
            .events
            .push((now, i64::from(desired) - i64::from(current)));
    }
    state.events.retain(|(at, _)| *at >= oldest);
    (desired, state)
}

#[cfg(test)]
#[path = "native_hpa_tests.rs"]
mod tests;

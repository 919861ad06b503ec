//! KPA, Knative's pod autoscaler as AIBrix adopted it: the desired pods are the metric's
//! average over the stable window divided by the per-pod target, limited to
//! [ready / max-scale-down-rate, ready × max-scale-up-rate]. When the short panic window
//! asks for `panic_threshold` times the ready pods or more, KPA panics: it follows the
//! larger of the two windows and never scales down, until the threshold has not been
//! crossed for a whole stable window. Outside panic mode, a metric within the tolerance band
//! around its target changes nothing (AIBrix applies its tolerances to KPA too).
//!
//! Until its history covers a whole stable window, KPA does not scale down: an average of
//! a few samples is not the stable load (Knative starts in panic mode after a restart for
//! the same reason; holding the replicas does it without panic mode's scale-ups).

use jiff::{SignedDuration, Timestamp};
use prescale_api::podautoscaler::ScalingParameters;

use crate::state::{MetricState, PanicState};

/// What KPA asks for on one metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KpaOutcome {
    pub desired: u32,
    pub panicking: bool,
    /// The averages over the stable and panic windows (metric totals).
    pub stable_value: f64,
    pub panic_value: f64,
}

/// Inputs beyond the metric history.
#[derive(Debug, Clone, Copy)]
pub struct KpaInput<'a> {
    pub parameters: &'a ScalingParameters,
    /// The per-pod target value.
    pub target: f64,
    pub current_replicas: u32,
    pub ready_pods: u32,
    pub now: Timestamp,
}

/// KPA's decision on one metric, and its next panic state. `None` when the windows hold no
/// sample.
pub fn recommend(metric: &MetricState, input: KpaInput<'_>) -> Option<(KpaOutcome, PanicState)> {
    let p = input.parameters;
    let stable_value = metric.mean_total(input.now, p.stable_window)?;
    let panic_value = metric
        .mean_total(input.now, p.panic_window)
        .unwrap_or(stable_value);
    let ready = f64::from(input.ready_pods).max(1.0);
    let max_up = (p.max_scale_up_rate * ready).ceil();
    let max_down = (f64::from(input.ready_pods) / p.max_scale_down_rate).floor();
    let wanted_stable = (stable_value / input.target).ceil();
    let wanted_panic = (panic_value / input.target).ceil();
    let limit = |wanted: f64| wanted.max(max_down).min(max_up).max(0.0) as u32;
    let (desired_stable, desired_panic) = (limit(wanted_stable), limit(wanted_panic));

    let mut panic = metric.panic;
    let over_threshold = wanted_panic / ready >= p.panic_threshold;
    let stable_window = SignedDuration::try_from(p.stable_window).unwrap_or(SignedDuration::MAX);
    if over_threshold {
        if panic.since.is_none() {
            // Entering panic: hold at least the current replicas.
            panic.max_pods = panic.max_pods.max(input.current_replicas);
        }
        panic.since = Some(input.now);
    } else if let Some(since) = panic.since
        && since
            .checked_add(stable_window)
            .is_ok_and(|end| end < input.now)
    {
        panic = PanicState::default();
    }

    let desired = match panic.since {
        Some(_) => {
            panic.max_pods = panic.max_pods.max(desired_stable.max(desired_panic));
            panic.max_pods
        }
        None => {
            let current = f64::from(input.current_replicas);
            let ratio = stable_value / (input.target * current);
            let within_tolerance = input.current_replicas > 0
                && ratio <= 1.0 + p.scale_up_tolerance
                && ratio >= 1.0 - p.scale_down_tolerance;
            let warming = metric
                .since
                .is_some_and(|since| input.now.duration_since(since) < stable_window);
            if within_tolerance || (warming && desired_stable < input.current_replicas) {
                input.current_replicas
            } else {
                desired_stable
            }
        }
    };
    Some((
        KpaOutcome {
            desired,
            panicking: panic.since.is_some(),
            stable_value,
            panic_value,
        },
        panic,
    ))
}

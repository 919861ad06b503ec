//! From a forecast to the value to apply: the one decision path. The operator
//! (`prescale-operator`'s `target/suggest.rs`) and the backtest (`backtest/mod.rs`) both
//! call [`decide`], so every backtest figure is a figure of what the operator would apply.
//!
//! A decision is pure: (forecast, usage seen since the last decision, spec, previous
//! state) → (value, new state, whether it changed). The state is a few numbers the
//! operator keeps in the AIScaleTarget's status, so a restart changes nothing.
//!
//! Four steps:
//! 1. **Online calibration** (adaptive conformal inference, Gibbs & Candès 2021): the
//!    forecast is multiplied by `exp(calibration)`; after each decision interval the
//!    calibration moves by `GAIN × (missed − rate)`, where `missed` is the share of that
//!    interval's samples above the applied value. Whatever the series, the long-run share
//!    of missed samples is pulled to the mode's target rate: misses raise the value, an
//!    interval without any lowers it a little.
//! 2. **Anticipation**: with a daily cycle, the value is never below the peak the last
//!    week saw in the next half hour of the day (`Forecast::daily_peak`): a daily peak is
//!    provisioned before it comes instead of being where the calibration spends its misses.
//! 3. **Buffer and bounds**: `× (1 + buffer)`, clamped to `[lowerbound, upperbound]`.
//! 4. **Hysteresis**: up at once when the forecast needs more (within
//!    `scaling_behavior.scale_up`), to a little above what is needed; down only when the
//!    saving is worth a change — the value wanted stayed a `band` below the applied one
//!    for `down_after` — and then to the highest value wanted meanwhile (within
//!    `scaling_behavior.scale_down`). The band adapts to a budget of changes per day, per
//!    resource: it widens after a change and narrows while none is made, so a smooth
//!    series is followed closely and a noisy one is not chased. Memory has the smaller
//!    budget and waits longer to come down: every memory change may be an eviction.

use serde::{Deserialize, Serialize};

use crate::forecaster::Forecast;
use crate::recommend::{Bounds, Step};
use crate::resource::Resource;

/// Calibration step per decision for a fully missed interval (natural log units: a
/// missed interval raises the value by about 10 %).
pub const GAIN: f64 = 0.1;
/// The calibration factor stays within [1/4, 4]: beyond, the forecast is not the problem.
const CALIBRATION_LIMIT: f64 = std::f64::consts::LN_2 * 2.0;
/// A change goes this share of the band beyond what is wanted, so that the next small
/// move needs no change of its own.
const HEADROOM: f64 = 0.5;
/// How fast the band adapts: a change beyond the budget widens it by about 10 %.
const BAND_RATE: f64 = 0.1;

/// How reluctant one resource is to change.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hysteresis {
    /// Seconds the wanted value must stay a band below the applied one before a
    /// scale-down.
    pub down_after: i64,
    /// Applied changes per day the band adapts to.
    pub changes_per_day: f64,
    /// The band's starting value and range (fractions of the applied value).
    pub band_start: f64,
    pub band_min: f64,
    pub band_max: f64,
}

impl Hysteresis {
    pub fn of(resource: Resource) -> Hysteresis {
        match resource {
            Resource::Cpu => Hysteresis {
                down_after: 1800,
                changes_per_day: 20.0,
                band_start: 0.1,
                band_min: 0.02,
                band_max: 0.5,
            },
            Resource::Memory => Hysteresis {
                down_after: 3600,
                changes_per_day: 5.0,
                band_start: 0.15,
                band_min: 0.02,
                band_max: 0.5,
            },
        }
    }
}

/// Everything about a decision that comes from the spec (or the backtest's flags).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecisionSpec {
    pub resource: Resource,
    /// Target share of samples above the applied value (the mode's, `Mode::target_rate`).
    pub rate: f64,
    /// Added on top of the calibrated forecast (0.1 = 10 %).
    pub buffer: f64,
    pub bounds: Bounds,
    pub scale_up: Option<Step>,
    pub scale_down: Option<Step>,
    /// Seconds of history needed before a value is applied (`min_lookback_to_scale`).
    pub min_lookback: i64,
}

/// What one decision leaves for the next: kept in the target's status by the operator.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct DecisionState {
    /// The value the last decision applied; `None` before the first applied value.
    pub applied: Option<f64>,
    /// When the last decision was taken (unix seconds).
    pub decided_at: Option<i64>,
    /// Online calibration: the natural log of the factor applied to the forecast.
    pub calibration: f64,
    /// Since when the wanted value has been worth a scale-down, if it is.
    pub pending_since: Option<i64>,
    /// The highest value wanted since then: what a scale-down goes to.
    pub pending_value: f64,
    /// The hysteresis band (a fraction of the applied value; 0 = not started yet).
    pub band: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    /// The value to apply; `None` while there is nothing to apply (no forecast yet, or less
    /// history than `min_lookback`).
    pub value: Option<f64>,
    /// What the calibrated forecast asks for, after buffer and bounds, before hysteresis
    /// (shown as a provisional value while `value` is `None`).
    pub wanted: Option<f64>,
    /// True when `value` differs from the previously applied value (an applied change).
    pub changed: bool,
    /// False until the forecast is calibrated and `min_lookback` of history exists.
    pub enough: bool,
    pub state: DecisionState,
}

/// One decision at `now`. `forecast` is `None` when forecasting failed (the applied value
/// is kept); `observed` is the usage sampled since the previous decision (NaN = missing);
/// `span` is how many seconds of history the forecast saw (`history_span`).
pub fn decide(
    forecast: Option<&Forecast>,
    observed: &[f64],
    now: i64,
    span: i64,
    spec: &DecisionSpec,
    state: &DecisionState,
) -> Decision {
    let mut next = *state;
    next.decided_at = Some(now);
    next.calibration = calibrate(state, observed, spec);
    let Some(f) = forecast.filter(|f| f.peak.is_finite()) else {
        // A failed forecast keeps the applied value.
        return Decision {
            value: state.applied,
            wanted: None,
            changed: false,
            enough: state.applied.is_some(),
            state: next,
        };
    };
    let calibrated = (f.peak.max(0.0) * next.calibration.exp()).max(f.daily_peak.unwrap_or(0.0));
    let wanted = spec
        .bounds
        .clamp((calibrated * (1.0 + spec.buffer.max(0.0))).max(0.0));
    if !(f.calibrated && span >= spec.min_lookback) {
        // Not enough history: nothing is applied, and nothing is learnt from misses.
        return Decision {
            value: None,
            wanted: Some(wanted),
            changed: false,
            enough: false,
            state: DecisionState {
                decided_at: Some(now),
                ..DecisionState::default()
            },
        };
    }
    let hysteresis = Hysteresis::of(spec.resource);
    let Some(current) = state.applied.filter(|c| c.is_finite()) else {
        next.applied = Some(wanted);
        next.pending_since = None;
        next.band = hysteresis.band_start;
        return Decision {
            value: Some(wanted),
            wanted: Some(wanted),
            changed: true,
            enough: true,
            state: next,
        };
    };
    let band = if state.band > 0.0 {
        state.band
    } else {
        hysteresis.band_start
    };
    let aim = spec.bounds.clamp(wanted * (1.0 + HEADROOM * band));
    let value = if wanted > current {
        next.pending_since = None;
        step_limited(current, aim, spec.scale_up)
    } else if aim < current * (1.0 - band) {
        let since = *next.pending_since.get_or_insert(now);
        next.pending_value = if since == now {
            aim
        } else {
            next.pending_value.max(aim)
        };
        if now - since >= hysteresis.down_after {
            next.pending_since = None;
            step_limited(current, next.pending_value, spec.scale_down)
        } else {
            current
        }
    } else {
        next.pending_since = None;
        current
    };
    // Bounds win over everything, including a value applied under older bounds.
    let value = spec.bounds.clamp(value);
    let changed = value != current;
    // The band widens after a change and narrows while none is made: changes come at the
    // resource's budget per day, whatever the series.
    let elapsed = state.decided_at.map_or(0, |d| (now - d).max(0)) as f64;
    let budget = hysteresis.changes_per_day * elapsed / 86_400.0;
    let signal = if changed { 1.0 } else { 0.0 } - budget;
    next.band = (band * (BAND_RATE * signal).exp()).clamp(hysteresis.band_min, hysteresis.band_max);
    next.applied = Some(value);
    Decision {
        value: Some(value),
        wanted: Some(wanted),
        changed,
        enough: true,
        state: next,
    }
}

/// The calibration after the interval that just ended: up when more than `rate` of its
/// samples were above the applied value (without the buffer), down otherwise. An interval
/// whose value a bound decided says nothing about the forecast and leaves it unchanged.
fn calibrate(state: &DecisionState, observed: &[f64], spec: &DecisionSpec) -> f64 {
    let Some(applied) = state.applied.filter(|a| a.is_finite()) else {
        return state.calibration;
    };
    let at_bound = spec.bounds.lower.is_some_and(|l| applied <= l)
        || spec.bounds.upper.is_some_and(|u| applied >= u);
    let valid: Vec<f64> = observed.iter().copied().filter(|u| !u.is_nan()).collect();
    if at_bound || valid.is_empty() {
        return state.calibration;
    }
    let unbuffered = applied / (1.0 + spec.buffer.max(0.0));
    let missed = valid.iter().filter(|u| **u > unbuffered).count() as f64 / valid.len() as f64;
    (state.calibration + GAIN * (missed - spec.rate)).clamp(-CALIBRATION_LIMIT, CALIBRATION_LIMIT)
}

/// Seconds from the first to the last valid sample of `values` (spaced `step` seconds):
/// the history a decision counts against `min_lookback`.
pub fn history_span(values: &[f64], step: i64) -> i64 {
    let first = values.iter().position(|v| !v.is_nan());
    let last = values.iter().rposition(|v| !v.is_nan());
    match (first, last) {
        (Some(f), Some(l)) => (l - f) as i64 * step,
        _ => 0,
    }
}

/// `wanted`, or as far towards it from `current` as the step allows.
fn step_limited(current: f64, wanted: f64, step: Option<Step>) -> f64 {
    let Some(limit) = step.map(|s| s.limit(current)) else {
        return wanted;
    };
    wanted.clamp(current - limit, current + limit)
}

#[cfg(test)]
mod tests;

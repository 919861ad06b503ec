//! Horizontal: how many replicas a forecast load needs, by the HPA's own formula for each
//! kind of metric target, and the rules seed 001 applies on top of it — the largest need
//! over metrics, `multipleOf` or `allowedReplicas`, `minReplicas`/`maxReplicas`, and
//! `scaling_behavior` steps from the previous suggestion, and the horizontal forecast those
//! needs are computed on (`floor_load`). Pure functions over plain data;
//! the operator maps an HPA's metrics and an AIScaleTarget's settings onto these types.

use crate::forecaster::Replays;
use crate::mode::FloorLevel;
use crate::recommend::{ReplicaPolicy, Step};
use crate::seasons::detect_cycles_today;

/// The default target utilisation when no HPA says otherwise (seed 001: 80 % of the
/// request, for CPU and memory alike).
pub const DEFAULT_UTILIZATION: f64 = 0.8;

/// A metric's target, as an autoscaling/v2 `MetricTarget` states it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Goal {
    /// `Utilization` (Resource, ContainerResource): this fraction of the per-pod request.
    Utilization { fraction: f64, per_pod_request: f64 },
    /// `AverageValue` (any metric type): this much per pod, in the metric's unit.
    AverageValue(f64),
    /// `Value` (Object, External): the metric itself against the target, at the replicas
    /// it was measured with (the HPA scales those by the ratio).
    Value { target: f64, replicas: u32 },
}

/// Replicas that hold the metric at its goal when it reaches `peak`: the forecast peak of
/// the workload's total (sum over pods) for `Utilization` and `AverageValue`, of the
/// metric's own value for `Value`. `None` when the goal cannot be computed (a zero or
/// non-finite target or request, a non-finite peak).
pub fn needed(peak: f64, goal: Goal) -> Option<u32> {
    if !peak.is_finite() {
        return None;
    }
    let peak = peak.max(0.0);
    let n = match goal {
        Goal::Utilization {
            fraction,
            per_pod_request,
        } => {
            let fraction = if fraction > 0.0 {
                fraction
            } else {
                DEFAULT_UTILIZATION
            };
            positive(per_pod_request)?;
            peak / (fraction * per_pod_request)
        }
        Goal::AverageValue(per_pod) => peak / positive(per_pod)?,
        Goal::Value { target, replicas } => f64::from(replicas.max(1)) * peak / positive(target)?,
    };
    Some(n.ceil().min(f64::from(u32::MAX)) as u32)
}

fn positive(v: f64) -> Option<f64> {
    (v.is_finite() && v > 0.0).then_some(v)
}

/// What one metric asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Need {
    /// The metric, as status and Events name it (`cpu`, `Pods/requests_per_second`, …).
    pub metric: String,
    pub replicas: u32,
}

/// The suggested replicas and the metric that drove them.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicaDecision {
    pub replicas: u32,
    pub driver: String,
}

/// From the needs of every metric to the suggestion: the largest need (at least one
/// replica), rounded up to `multiple_of` or to the smallest allowed count ≥ it (else the
/// largest), then moved from `previous` by at most the `scale_up` / `scale_down` step (in
/// pods; a percent step is of `previous`, rounded up, so a step is never zero pods unless
/// it says 0), then clamped into [`min`, `max`]: bounds win over steps and rounding.
/// `None` without any need.
pub fn decide_replicas(
    needs: &[Need],
    policy: &ReplicaPolicy,
    previous: Option<u32>,
    (scale_up, scale_down): (Option<Step>, Option<Step>),
) -> Option<ReplicaDecision> {
    let driver = needs
        .iter()
        .max_by(|a, b| a.replicas.cmp(&b.replicas).then(b.metric.cmp(&a.metric)))?;
    let mut n = round(driver.replicas.max(1), policy);
    if let Some(prev) = previous {
        let allowance = |step: Option<Step>| {
            step.map(|s| {
                s.limit(f64::from(prev.max(1)))
                    .ceil()
                    .min(f64::from(u32::MAX)) as u32
            })
        };
        if n > prev
            && let Some(up) = allowance(scale_up)
        {
            n = n.min(prev.saturating_add(up));
        }
        if n < prev
            && let Some(down) = allowance(scale_down)
        {
            n = n.max(prev.saturating_sub(down));
        }
    }
    Some(ReplicaDecision {
        replicas: clamp(n, policy),
        driver: driver.metric.clone(),
    })
}

/// `multipleOf` (round up) or `allowedReplicas` (the smallest allowed count ≥ `n`, else
/// the largest).
fn round(n: u32, policy: &ReplicaPolicy) -> u32 {
    let mut n = n;
    if let Some(m) = policy.multiple_of.filter(|m| *m > 1) {
        n = n.div_ceil(m).saturating_mul(m);
    }
    if !policy.allowed.is_empty() {
        let mut allowed = policy.allowed.clone();
        allowed.sort_unstable();
        n = allowed
            .iter()
            .copied()
            .find(|a| *a >= n)
            .unwrap_or(*allowed.last().unwrap_or(&n));
    }
    n
}

fn clamp(n: u32, policy: &ReplicaPolicy) -> u32 {
    let n = policy.min.map_or(n, |min| n.max(min));
    policy.max.map_or(n, |max| n.min(max))
}

/// In autonomous mode prescale feeds the HPA a floor; the HPA still scales above it on
/// live metrics. What runs is never below what the HPA asks now.
pub fn fed(suggested: u32, hpa_live: u32) -> u32 {
    suggested.max(hpa_live)
}

#[cfg(test)]
#[path = "replicas_tests.rs"]
mod tests;

/// How the horizontal forecast is made (the operator's `horizontal.model`, or the
/// backtest's flags).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TotalForecast {
    /// Seconds ahead the load is forecast over.
    pub horizon: i64,
    /// What the floor provisions of each stretch of it (the mode's `Mode::floor_level`).
    pub level: FloorLevel,
    /// `forecast_buffer_percentage` as a fraction.
    pub buffer: f64,
    /// `min_lookback_to_scale` in seconds.
    pub min_lookback: i64,
}

/// The longest stretch of the horizon the floor provisions as one (seconds): the default
/// forecast cadence, the shortest span the operator re-decides a floor for. A longer
/// stretch would average a peak with the quiet hours around it; a sustained rise shorter
/// than this is what the HPA answers within its lag.
pub const STRETCH: i64 = 15 * 60;

/// The horizon (in samples) as `(stretches, samples per stretch)`: the fewest equal
/// stretches of at most `STRETCH` (at least one sample each) that cover it.
pub fn stretches(horizon: usize, step: i64) -> (usize, usize) {
    let horizon = horizon.max(1);
    let longest = (STRETCH / step.max(1)).max(1) as usize;
    let count = horizon.div_ceil(longest);
    (count, horizon.div_ceil(count))
}

/// The horizontal forecast: the load of a workload's total (`values` on a grid of `step`
/// seconds from `start`, all before `now`) the replica floor provisions over the next
/// `f.horizon`, with its buffer, and whether it may be acted on (calibrated, on at least
/// `min_lookback` of history). That load is the **peak of the horizon's stretches**: the
/// horizon is cut into `stretches`, each stretch's level (`f.level`: its expected load, or
/// a per-sample quantile of it, never above the expectation for a quantile at or below the
/// median nor below it for a higher one) is forecast as far ahead as it lies
/// (`Replays::ahead`), and the largest is the floor's. So a long horizon still provisions the predicted peak
/// rather than its average with the quiet hours around it.
///
/// Why, by default, an expected level and not an upper quantile of the horizon's peak:
/// the floor feeds an HPA that keeps its own headroom (its target utilisation) and
/// answers any load above the floor within its own lag. What it cannot do is see a rise
/// coming — the daily cycle, a trend — so that is what the floor provisions: the replicas
/// the HPA would run at the load each stretch is expected to bring (the HPA's formula at
/// its own target, in `needed`), in place before it comes. An upper quantile sized at the
/// HPA's target counts the margin twice (the quantile's, then the HPA's headroom):
/// docs/BENCHMARKS.md measures both. Unlike a container's request (`crate::decide`), no
/// hysteresis and no daily-peak floor: once a predicted rise has passed the forecast
/// drops with it, so a replica floor never holds replicas up after it, and scale-downs are
/// the HPA's own (its stabilisation). The operator and the horizontal backtest both call
/// this.
pub fn floor_load(
    values: &[f64],
    start: i64,
    step: i64,
    now: i64,
    f: TotalForecast,
) -> Option<(f64, bool)> {
    let step = step.max(1);
    let (count, samples) = stretches((f.horizon / step).max(1) as usize, step);
    let cycles = detect_cycles_today(values, start, step, now);
    let mut level = 0.0f64;
    let mut calibrated = true;
    for lead in 0..count {
        let replays = Replays::ahead(values, step, samples, lead, &cycles).ok()?;
        let expected = replays.expected();
        let stretch = match f.level {
            FloorLevel::Expected => expected.peak,
            // The ladder stays in order whatever the load's distribution: a quantile at or
            // below the median never provisions more than the expectation, one above it
            // never less.
            FloorLevel::Quantile(q) if q <= 0.5 => replays.at(1.0 - q).peak.min(expected.peak),
            FloorLevel::Quantile(q) => replays.at(1.0 - q).peak.max(expected.peak),
        };
        level = level.max(stretch);
        calibrated &= expected.calibrated;
    }
    let level = level * (1.0 + f.buffer.max(0.0));
    let enough = calibrated && crate::decide::history_span(values, step) >= f.min_lookback;
    level.is_finite().then_some((level, enough))
}

//! Predictive scaling (`spec.predictive`): a projection of a metric to the horizon, turned
//! into replicas with the strategy's own formula, used (in Auto) as a floor under the
//! reactive decision — it can raise a scale-up, never cause or lower a scale-down. Preview
//! computes the same and changes nothing but status.
//!
//! Where projections come from is the caller's choice: `linear_trend` is AIBrix's
//! (a least-squares line over the observe window); prescale's seasonal forecaster can
//! provide them instead.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use crate::state::Sample;

/// A metric projected to the horizon, in the units of the readings (totals over pods).
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    /// The targetMetric of the source.
    pub metric: String,
    /// The value the projection started from (AIBrix: the mean of the fitted samples).
    pub observed: f64,
    /// The value at the horizon.
    pub predicted: f64,
}

/// AIBrix's projection: the least-squares line through the samples of the `window` ending
/// at `now`, evaluated `horizon` after `now`, kept between 0 and four times the samples'
/// mean. `None` until the window holds at least three samples spanning at least half of it.
pub fn linear_trend(
    samples: &[Sample],
    now: Timestamp,
    window: Duration,
    horizon: Duration,
) -> Option<(f64, f64)> {
    let span = SignedDuration::try_from(window).ok()?;
    let from = now.checked_sub(span).ok()?;
    let points: Vec<(f64, f64)> = samples
        .iter()
        .filter(|s| s.at > from && s.at <= now && s.total.is_finite())
        .map(|s| (s.at.duration_since(now).as_secs_f64(), s.total))
        .collect();
    let first = points.first()?.0;
    let last = points.last()?.0;
    if points.len() < 3 || last - first < window.as_secs_f64() / 2.0 {
        return None;
    }
    let n = points.len() as f64;
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let at_horizon = mean_y + slope * (horizon.as_secs_f64() - mean_x);
    Some((mean_y, at_horizon.clamp(0.0, 4.0 * mean_y.max(0.0))))
}

/// The replicas a projected total asks for with a per-pod `target`: ⌈predicted / target⌉.
/// That is KPA's formula, and APA's (⌈current × projected per-pod value / target⌉) when the
/// per-pod value is the projected total over the current pods.
pub fn replicas_for(predicted: f64, target: f64) -> u32 {
    (predicted / target).ceil().clamp(0.0, f64::from(u32::MAX)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(values: &[f64], every: i64, end: Timestamp) -> Vec<Sample> {
        let n = values.len() as i64;
        values
            .iter()
            .enumerate()
            .map(|(i, v)| Sample {
                at: end
                    .checked_sub(SignedDuration::from_secs((n - 1 - i as i64) * every))
                    .unwrap(),
                total: *v,
                pods: 2,
            })
            .collect()
    }

    #[test]
    fn a_rising_line_is_extended_to_the_horizon() {
        let now: Timestamp = "2026-11-29T12:00:00Z".parse().unwrap();
        // +1 every 15 s over 180 s: 12 more at 180 s ahead than now.
        let values: Vec<f64> = (0..12).map(|i| 10.0 + f64::from(i)).collect();
        let s = samples(&values, 15, now);
        let (observed, predicted) =
            linear_trend(&s, now, Duration::from_secs(180), Duration::from_secs(180)).unwrap();
        assert!((observed - 15.5).abs() < 1e-9);
        assert!((predicted - 33.0).abs() < 1e-9, "{predicted}");
    }

    #[test]
    fn too_few_or_too_recent_samples_give_nothing() {
        let now: Timestamp = "2026-11-29T12:00:00Z".parse().unwrap();
        let w = Duration::from_secs(180);
        assert_eq!(
            linear_trend(&samples(&[1.0, 2.0], 60, now), now, w, w),
            None
        );
        assert_eq!(
            linear_trend(&samples(&[1.0, 2.0, 3.0], 10, now), now, w, w),
            None
        );
    }

    #[test]
    fn the_projection_stays_within_zero_and_four_times_the_mean() {
        let now: Timestamp = "2026-11-29T12:00:00Z".parse().unwrap();
        let w = Duration::from_secs(180);
        let long = Duration::from_secs(3600);
        let up = samples(
            &[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 9.0],
            15,
            now,
        );
        let (mean, p) = linear_trend(&up, now, w, long).unwrap();
        assert_eq!(p, 4.0 * mean);
        let down = samples(&[9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0], 20, now);
        assert_eq!(linear_trend(&down, now, w, long).unwrap().1, 0.0);
    }

    #[test]
    fn replicas_round_up() {
        assert_eq!(replicas_for(2.01, 0.5), 5);
        assert_eq!(replicas_for(0.0, 0.5), 0);
    }
}

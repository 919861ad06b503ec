//! `spec.predictive` with prescale's forecaster behind it: a metric source's recorded
//! history, forecast with the same seasonal models the AIScaleTargets use, gives the
//! projection at the horizon — the forecast peak of the next `horizonSeconds` — so a daily
//! peak is anticipated from the days before it, where AIBrix's linear trend only
//! extrapolates the last few minutes. Without a daily cycle in the history (or less than
//! two days of it) there is nothing seasonal to anticipate: the caller falls back to the
//! linear trend. Pure.

use prescale_autoscale::Projection;
use prescale_forecast::forecaster::forecast_peak;
use prescale_forecast::mode::Mode;
use prescale_forecast::resource::Resource;
use prescale_forecast::seasons::{DAY, detect_cycles_today};
use prescale_forecast::series::Series;

/// History needed before a daily cycle can be detected and trusted.
pub const MIN_HISTORY_SECS: i64 = 2 * DAY;
/// How often a source's history is recorded (the forecaster's grid).
pub const RECORD_EVERY_SECS: i64 = 60;
/// The share of samples allowed above the projection: the balanced mode's rate for
/// throttled quantities (a request rate, a queue, a cache's use).
fn rate() -> f64 {
    Mode::Balanced.target_rate(Resource::Cpu)
}

/// The projection of `metric`'s total `horizon_secs` ahead of `now` from its `history`
/// (`(unix seconds, total)`, oldest first), or `None` when the history shows no daily cycle.
/// `observed` is the current reading.
pub fn seasonal_projection(
    history: &[(i64, f64)],
    now: i64,
    horizon_secs: i64,
    metric: &str,
    observed: f64,
) -> Option<Projection> {
    let first = history.first()?.0;
    if now - first < MIN_HISTORY_SECS {
        return None;
    }
    let series = Series::from_samples(history).ok()?;
    let cycles = detect_cycles_today(&series.values, series.start, series.step, now);
    if !cycles.contains(&DAY) {
        return None;
    }
    let horizon = ((horizon_secs + series.step - 1) / series.step).max(1) as usize;
    let forecast = forecast_peak(&series.values, series.step, horizon, rate(), &cycles).ok()?;
    Some(Projection {
        metric: metric.to_string(),
        observed,
        predicted: forecast.peak.max(0.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use prescale_autoscale::linear_trend;
    use prescale_autoscale::state::Sample;

    /// Requests in flight with a daily peak from 12:00 to 14:00 UTC (40, else 10), a
    /// minute apart, for `days` days up to `end`.
    fn daily(days: i64, end: i64) -> Vec<(i64, f64)> {
        (0..days * DAY / 60)
            .map(|i| {
                let t = end - days * DAY + i * 60;
                let hour = t.rem_euclid(DAY) / 3600;
                (t, if (12..14).contains(&hour) { 40.0 } else { 10.0 })
            })
            .collect()
    }

    #[test]
    fn a_daily_peak_is_anticipated_where_the_trend_sees_nothing_coming() {
        // Five minutes before today's peak: flat for hours, so the trend projects 10.
        let now = 20 * DAY + 12 * 3600 - 300;
        let history = daily(7, now);
        let seasonal = seasonal_projection(&history, now, 600, "requests_in_flight", 10.0)
            .expect("a week with a daily cycle");
        assert!(seasonal.predicted >= 35.0, "{seasonal:?}");
        let samples: Vec<Sample> = history[history.len() - 5..]
            .iter()
            .map(|&(t, v)| Sample {
                at: jiff::Timestamp::from_second(t).unwrap(),
                total: v,
                pods: 1,
            })
            .collect();
        let (_, trend) = linear_trend(
            &samples,
            jiff::Timestamp::from_second(now).unwrap(),
            std::time::Duration::from_secs(300),
            std::time::Duration::from_secs(600),
        )
        .unwrap();
        assert!(trend < 11.0, "the trend sees no peak coming: {trend}");
        // After the peak, the projection comes down again.
        let later = now + 3 * 3600;
        let history = daily(7, later);
        let after = seasonal_projection(&history, later, 600, "requests_in_flight", 10.0).unwrap();
        assert!(after.predicted < 20.0, "{after:?}");
    }

    #[test]
    fn too_little_history_or_no_cycle_falls_back() {
        let now = 20 * DAY;
        assert!(seasonal_projection(&daily(1, now), now, 600, "m", 10.0).is_none());
        let flat: Vec<(i64, f64)> = (0..7 * 1440)
            .map(|i| (now - 7 * DAY + i * 60, 10.0))
            .collect();
        assert!(seasonal_projection(&flat, now, 600, "m", 10.0).is_none());
        assert!(seasonal_projection(&[], now, 600, "m", 10.0).is_none());
    }
}

//! Forecasting the peak of the next horizon at a quantile, with per-series model selection
//! by rolling-origin backtest on the series' own recent history.
//!
//! For every candidate model, the last few days are replayed block by block (each origin
//! sees only what came before it). The model's raw estimates are calibrated by the
//! quantile `q` of actual/estimate ratios (recent origins weigh more), which turns any raw
//! estimate into one that covers the peak with probability ≈ q; the calibrated pinball
//! loss at `q` then ranks the models. An incident moves a few ratios, not the quantile, so
//! it does not poison later forecasts. Too little history → the cold-start model.

use crate::models::{Model, raw_forecast};
use crate::quantile::{pinball, weighted_quantile};
use crate::seasons::{DAY, WEEK};
use crate::series::block_max;

/// Origins needed before a model's calibration is trusted.
const MIN_ORIGINS: usize = 24;
/// Headroom allowed above the highest sample of the last week.
const CEILING_MARGIN: f64 = 1.1;
/// Days of history replayed for calibration and selection.
const SELECTION_DAYS: i64 = 3;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Forecast {
    /// Forecast peak of the horizon at the requested quantile (before any buffer).
    pub peak: f64,
    pub model: Model,
    /// Calibrated pinball loss over the mean actual peak, on the selection window.
    pub relative_error: f64,
    /// False on the cold-start path (too little history to calibrate any model).
    pub calibrated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForecastError {
    #[error("no usable sample in the history (empty, or only NaN / negative values)")]
    NoData,
    #[error("the horizon must be at least one sample")]
    EmptyHorizon,
}

/// Forecasts the peak of the next `horizon` samples after `history` (spaced `step`
/// seconds) at quantile `q`. `cycles` are the seasonal cycles detected in the series.
pub fn forecast_peak(
    history: &[f64],
    step: i64,
    horizon: usize,
    q: f64,
    cycles: &[i64],
) -> Result<Forecast, ForecastError> {
    if horizon == 0 {
        return Err(ForecastError::EmptyHorizon);
    }
    if !history.iter().any(|v| !v.is_nan()) {
        return Err(ForecastError::NoData);
    }
    let q = if q.is_nan() { 0.9 } else { q.clamp(0.0, 1.0) };
    let mut candidates = vec![Model::RecentPeak];
    if cycles.contains(&DAY) {
        candidates.push(Model::SeasonalDaily);
        candidates.push(Model::RecentOrSeasonal);
    }
    if cycles.contains(&WEEK) {
        candidates.push(Model::SeasonalWeekly);
    }
    let mstl = cycles
        .contains(&DAY)
        .then(|| crate::mstl::fit_blocks(history, step, horizon, cycles))
        .flatten();
    if mstl.is_some() {
        candidates.push(Model::Mstl);
    }
    let per_day = (DAY / step.max(1)).max(1) as usize;
    let origins = ((SELECTION_DAYS as usize * per_day) / horizon).clamp(1, 400);
    let level =
        mean_valid(&history[history.len().saturating_sub(per_day)..]).max(f64::MIN_POSITIVE);
    // Never provision far beyond anything the last week has seen: a burst in the
    // calibration window must not turn into a permanent multiple of the level.
    let ceiling = block_max(&history[history.len().saturating_sub(7 * per_day)..]) * CEILING_MARGIN;

    let mut best: Option<Forecast> = None;
    for model in candidates {
        // MSTL's raw estimate at a past origin comes from a daily refit (`mstl.rs`);
        // every other model is replayed on the history before the origin.
        let (raw_now, raw_at): (Option<f64>, Box<RawAt>) = match (model, &mstl) {
            (Model::Mstl, Some(fit)) => (
                Some(fit.next),
                Box::new(|j: usize, _origin: usize| fit.past.get(j).copied().flatten()),
            ),
            _ => (
                raw_forecast(model, history, step, horizon, q),
                Box::new(move |_j: usize, origin: usize| {
                    raw_forecast(model, &history[..origin], step, horizon, q)
                }),
            ),
        };
        let Some(raw) = raw_now.filter(|r| r.is_finite()) else {
            continue;
        };
        let Some((correction, loss)) =
            calibrate(&*raw_at, history, step, horizon, q, origins, level)
        else {
            continue;
        };
        let peak = correction.apply(raw.max(level * 0.01)).min(ceiling);
        let candidate = Forecast {
            peak,
            model,
            relative_error: loss,
            calibrated: true,
        };
        if best
            .as_ref()
            .is_none_or(|b| candidate.relative_error < b.relative_error)
        {
            best = Some(candidate);
        }
    }
    if let Some(best) = best {
        return Ok(best);
    }
    // Cold start: a high percentile of everything seen, recent samples weighted more.
    let cold_q = q.max(0.95);
    let peak = raw_forecast(Model::DecayingHistogram, history, step, horizon, cold_q)
        .ok_or(ForecastError::NoData)?;
    Ok(Forecast {
        peak,
        model: Model::DecayingHistogram,
        relative_error: f64::NAN,
        calibrated: false,
    })
}

fn mean_valid(values: &[f64]) -> f64 {
    let (s, n) = values
        .iter()
        .filter(|v| !v.is_nan())
        .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 { 0.0 } else { s / n as f64 }
}

/// How a model's raw estimate is corrected to the requested quantile.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Correction {
    /// raw × factor: right when errors scale with the level.
    Scale(f64),
    /// raw + offset: right when errors are bursts of a size of their own (spiky series,
    /// or levels near zero where ratios explode).
    Shift(f64),
}

impl Correction {
    fn apply(self, raw: f64) -> f64 {
        match self {
            Correction::Scale(f) => raw * f,
            Correction::Shift(o) => (raw + o).max(0.0),
        }
    }
}

/// A model's raw estimate for the `j`-th block before the forecast time, starting at `origin`.
type RawAt<'a> = dyn Fn(usize, usize) -> Option<f64> + 'a;

/// The better of the two corrections of a model, and its relative pinball loss.
/// `raw_at(j, origin)` is the model's raw estimate for the block starting at `origin`,
/// the `j`-th block before the forecast time, from history before `origin` only.
fn calibrate(
    raw_at: &RawAt,
    history: &[f64],
    step: i64,
    horizon: usize,
    q: f64,
    origins: usize,
    level: f64,
) -> Option<(Correction, f64)> {
    let n = history.len();
    let floor = level * 0.01;
    let mut points = Vec::with_capacity(origins);
    for j in 0..origins {
        let Some(origin) = n.checked_sub(horizon * (j + 1)) else {
            break;
        };
        if origin < horizon * 4 {
            break;
        }
        let actual = block_max(&history[origin..(origin + horizon).min(n)]);
        if actual.is_nan() {
            continue;
        }
        let Some(raw) = raw_at(j, origin).filter(|r| r.is_finite()) else {
            continue;
        };
        points.push((j, raw.max(floor), actual));
    }
    if points.len() < MIN_ORIGINS {
        return None;
    }
    // Errors from the last day count twice as much as those from the day before.
    let half_life = ((DAY / step.max(1)) as f64 / horizon as f64).max(1.0);
    let weight = |j: usize| 0.5f64.powf(j as f64 / half_life);
    let mut ratios: Vec<(f64, f64)> = points
        .iter()
        .map(|(j, raw, actual)| (actual / raw, weight(*j)))
        .collect();
    let mut diffs: Vec<(f64, f64)> = points
        .iter()
        .map(|(j, raw, actual)| (actual - raw, weight(*j)))
        .collect();
    let total: f64 = points.iter().map(|(_, _, a)| a).sum();
    let loss = |c: Correction| {
        let l: f64 = points
            .iter()
            .map(|(_, raw, actual)| pinball(*actual, c.apply(*raw), q))
            .sum();
        if total > 0.0 { l / total } else { 0.0 }
    };
    [
        weighted_quantile(&mut ratios, q).map(Correction::Scale),
        weighted_quantile(&mut diffs, q).map(Correction::Shift),
    ]
    .into_iter()
    .flatten()
    .map(|c| (c, loss(c)))
    .min_by(|a, b| a.1.total_cmp(&b.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn daily(days: usize) -> Vec<f64> {
        (0..days * 288)
            .map(|i| 10.0 + 5.0 * ((i as f64) * 2.0 * std::f64::consts::PI / 288.0).sin())
            .collect()
    }

    #[test]
    fn seasonal_series_choose_a_seasonal_model_and_cover_the_peak() {
        let values = daily(14);
        let cycles = crate::seasons::detect_cycles(&values, 300);
        let (history, future) = values.split_at(values.len() - 3);
        let f = forecast_peak(history, 300, 3, 0.9, &cycles).unwrap();
        assert!(f.calibrated);
        assert!(
            f.peak >= block_max(future) * 0.99,
            "{f:?} vs {}",
            block_max(future)
        );
        assert!(f.peak <= 15.5, "{f:?}");
    }

    #[test]
    fn short_history_takes_the_cold_start_path() {
        let f = forecast_peak(&[1.0, 2.0, 3.0], 300, 3, 0.9, &[]).unwrap();
        assert!(!f.calibrated);
        assert_eq!(f.model, Model::DecayingHistogram);
    }

    #[test]
    fn degenerate_inputs_are_errors_not_panics() {
        assert_eq!(
            forecast_peak(&[], 300, 3, 0.9, &[]),
            Err(ForecastError::NoData)
        );
        assert_eq!(
            forecast_peak(&[f64::NAN; 10], 300, 3, 0.9, &[]),
            Err(ForecastError::NoData)
        );
        assert_eq!(
            forecast_peak(&[1.0], 300, 0, 0.9, &[]),
            Err(ForecastError::EmptyHorizon)
        );
        let constant = vec![4.0; 2000];
        assert_eq!(
            forecast_peak(&constant, 300, 3, 0.9, &[]).unwrap().peak,
            4.0
        );
    }
}

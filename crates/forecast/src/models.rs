//! The forecasting models. Each predicts a *raw* estimate of the peak of the next
//! `horizon` samples from the history strictly before the forecast time; `forecaster`
//! calibrates every raw estimate to the requested quantile on the series' own recent
//! history and picks the model that did best there.

use crate::quantile::weighted_quantile;
use crate::series::block_max;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Model {
    /// The peak of the last block: the level now (robust fallback).
    RecentPeak,
    /// Median of the peaks at the same time of day over the last week, recent days weighted more.
    SeasonalDaily,
    /// Median of the peaks at the same time of week over the last weeks.
    SeasonalWeekly,
    /// The larger of the recent peak and the daily seasonal peak: follows a level shift
    /// at once and anticipates the daily rise.
    RecentOrSeasonal,
    /// Decaying-histogram percentile of all history (24 h half-life): the cold-start model.
    DecayingHistogram,
    /// MSTL (daily and weekly seasonality, ETS trend) over block peaks (`mstl.rs`).
    Mstl,
}

impl Model {
    pub fn name(self) -> &'static str {
        match self {
            Model::RecentPeak => "recent_peak",
            Model::SeasonalDaily => "seasonal_daily",
            Model::SeasonalWeekly => "seasonal_weekly",
            Model::RecentOrSeasonal => "recent_or_seasonal",
            Model::DecayingHistogram => "decaying_histogram",
            Model::Mstl => "mstl",
        }
    }
}

/// Raw peak estimate for the `horizon` samples after `history`; `None` when the model has
/// too little history.
pub fn raw_forecast(
    model: Model,
    history: &[f64],
    step: i64,
    horizon: usize,
    q: f64,
) -> Option<f64> {
    let n = history.len();
    let horizon = horizon.max(1);
    let est = match model {
        Model::RecentPeak => {
            let recent = block_max(&history[n.saturating_sub(horizon)..]);
            if recent.is_nan() {
                block_max(&history[n.saturating_sub(horizon * 4)..])
            } else {
                recent
            }
        }
        Model::SeasonalDaily => seasonal(
            history,
            (crate::seasons::DAY / step.max(1)) as usize,
            horizon,
            7,
        )?,
        Model::SeasonalWeekly => seasonal(
            history,
            (crate::seasons::WEEK / step.max(1)) as usize,
            horizon,
            3,
        )?,
        Model::RecentOrSeasonal => raw_forecast(Model::RecentPeak, history, step, horizon, q)?.max(
            raw_forecast(Model::SeasonalDaily, history, step, horizon, q)?,
        ),
        Model::DecayingHistogram => decaying_quantile(history, step, q)?,
        // Standalone, both cycles are tried (weekly only with two weeks of history); the
        // forecaster fits once with the cycles it detected and calibrates in-sample.
        Model::Mstl => {
            let cycles = [crate::seasons::DAY, crate::seasons::WEEK];
            crate::mstl::fit_blocks(history, step, horizon, &cycles)?.next
        }
    };
    (est.is_finite() && est >= 0.0).then_some(est)
}

/// The weighted median of the peaks one, two, ... `cycles` periods ago at this phase.
fn seasonal(history: &[f64], period: usize, horizon: usize, cycles: usize) -> Option<f64> {
    let n = history.len();
    if period == 0 || n < period + horizon {
        return None;
    }
    let mut pairs = vec![];
    for d in 1..=cycles {
        let Some(start) = n.checked_sub(d * period) else {
            break;
        };
        let end = (start + horizon).min(n);
        let peak = block_max(&history[start..end]);
        pairs.push((peak, 0.75f64.powi(d as i32 - 1)));
    }
    if pairs.iter().filter(|(v, _)| !v.is_nan()).count() < 2 {
        return None;
    }
    weighted_quantile(&mut pairs, 0.5)
}

/// The `q` quantile of every sample, weights halving every 24 hours of age (VPA-style).
pub fn decaying_quantile(history: &[f64], step: i64, q: f64) -> Option<f64> {
    let half_life = 86_400.0 / step.max(1) as f64;
    let n = history.len();
    // Older than ten half-lives weighs under 0.1%: skip it.
    let from = n.saturating_sub(((half_life * 10.0).ceil() as usize).max(1));
    let mut pairs: Vec<(f64, f64)> = history[from..]
        .iter()
        .enumerate()
        .map(|(i, v)| (*v, 0.5f64.powf((n - from - i) as f64 / half_life)))
        .collect();
    weighted_quantile(&mut pairs, q)
}

//! The forecasting models. Each predicts a *raw* estimate of the peak of the next block
//! (one horizon) from the peaks of the blocks before it; `forecaster` calibrates every raw
//! estimate to the requested rate on the series' own recent history and picks the model
//! that did best there. Working on block peaks makes a replay over hundreds of past origins
//! cheap: the peaks are computed once per forecast.

use crate::quantile::weighted_quantile;
use crate::seasons::{DAY, WEEK};
use crate::series::block_max;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Model {
    /// The peak of the last block: the level now (robust fallback).
    RecentPeak,
    /// The median block peak of the last day: a level that one spike does not move —
    /// right for noisy series with no cycle to learn.
    RecentLevel,
    /// Median over the last week of the highest peak at the same time of day, one block
    /// either side (a cycle's rise comes a little early or late): rises before the daily
    /// peak, recent days weighing more.
    SeasonalDaily,
    /// The same at the same time of week over the last three weeks.
    SeasonalWeekly,
    /// The larger of the recent peak and the daily seasonal peak: follows a level shift
    /// at once and anticipates the daily rise.
    RecentOrSeasonal,
    /// Decaying-histogram percentile of all history (24 h half-life): the cold-start model.
    DecayingHistogram,
    /// MSTL (daily and weekly seasonality, naive trend) over block peaks (`mstl.rs`).
    Mstl,
}

impl Model {
    pub fn name(self) -> &'static str {
        match self {
            Model::RecentPeak => "recent_peak",
            Model::RecentLevel => "recent_level",
            Model::SeasonalDaily => "seasonal_daily",
            Model::SeasonalWeekly => "seasonal_weekly",
            Model::RecentOrSeasonal => "recent_or_seasonal",
            Model::DecayingHistogram => "decaying_histogram",
            Model::Mstl => "mstl",
        }
    }
}

/// The peaks of consecutive blocks of one horizon, aligned to end at the forecast time
/// (oldest first; NaN for a block with no sample), and the cycle lengths in blocks.
#[derive(Debug, Clone)]
pub struct Blocks {
    pub peaks: Vec<f64>,
    pub per_day: usize,
    pub per_week: usize,
}

impl Blocks {
    pub fn new(history: &[f64], step: i64, horizon: usize) -> Blocks {
        let horizon = horizon.max(1);
        let n = history.len();
        let count = n / horizon;
        let peaks = (0..count)
            .rev()
            .map(|k| block_max(&history[n - (k + 1) * horizon..n - k * horizon]))
            .collect();
        let block_secs = (step.max(1) * horizon as i64) as f64;
        Blocks {
            peaks,
            per_day: ((DAY as f64 / block_secs).round() as usize).max(1),
            per_week: ((WEEK as f64 / block_secs).round() as usize).max(1),
        }
    }

    /// The raw estimate of `model` for the block after the first `len` blocks.
    pub fn raw(&self, model: Model, len: usize) -> Option<f64> {
        self.raw_ahead(model, len, 0)
    }

    /// The raw estimate of `model` for the block `lead` blocks after the one following the
    /// first `len` blocks (`lead` 0: the next one), from those `len` blocks only: the
    /// seasonal models read the same phase of past cycles, the recent ones persist.
    pub fn raw_ahead(&self, model: Model, len: usize, lead: usize) -> Option<f64> {
        let peaks = &self.peaks[..len.min(self.peaks.len())];
        let est = match model {
            Model::RecentPeak => recent_peak(peaks)?,
            Model::RecentLevel => {
                let day = &peaks[peaks.len().saturating_sub(self.per_day)..];
                let mut valid: Vec<f64> = day.iter().copied().filter(|p| !p.is_nan()).collect();
                if valid.len() < self.per_day.min(8) {
                    return None;
                }
                // The lower median, as `weighted_quantile(…, 0.5)` would give.
                let k = (valid.len() - 1) / 2;
                *valid.select_nth_unstable_by(k, f64::total_cmp).1
            }
            Model::SeasonalDaily => seasonal(peaks, lead, self.per_day, 7)?,
            Model::SeasonalWeekly => seasonal(peaks, lead, self.per_week, 3)?,
            Model::RecentOrSeasonal => {
                recent_peak(peaks)?.max(seasonal(peaks, lead, self.per_day, 7)?)
            }
            // Neither is a function of the block peaks (see `raw_forecast`, `mstl.rs`).
            Model::DecayingHistogram | Model::Mstl => return None,
        };
        (est.is_finite() && est >= 0.0).then_some(est)
    }
}

fn recent_peak(peaks: &[f64]) -> Option<f64> {
    let last = *peaks.last()?;
    if last.is_nan() {
        let m = block_max(&peaks[peaks.len().saturating_sub(4)..]);
        (!m.is_nan()).then_some(m)
    } else {
        Some(last)
    }
}

/// The weighted median, over one, two, ... `cycles` periods ago, of the highest peak at
/// the phase of the block `lead` blocks after the next and the blocks either side of it.
fn seasonal(peaks: &[f64], lead: usize, period: usize, cycles: usize) -> Option<f64> {
    envelope(peaks, lead, period, cycles, (1, 1), 0.5)
}

/// The weighted `q` quantile, over one, two, ... `cycles` periods ago, of the highest
/// peak within `reach` blocks of the phase of the block `lead` blocks after the next
/// (only blocks of `peaks` are read: a reach beyond them is cut).
pub fn envelope(
    peaks: &[f64],
    lead: usize,
    period: usize,
    cycles: usize,
    (back, ahead): (usize, usize),
    q: f64,
) -> Option<f64> {
    let n = peaks.len();
    let target = n + lead;
    if period < 2 || target < period + 1 {
        return None;
    }
    let mut pairs = vec![];
    for d in 1..=cycles {
        // The block being forecast is index `target`; d periods before it, target − d·period.
        let Some(at) = target.checked_sub(d * period) else {
            break;
        };
        let from = at.saturating_sub(back);
        let to = (at + ahead + 1).min(n);
        if from >= to {
            continue;
        }
        pairs.push((block_max(&peaks[from..to]), 0.75f64.powi(d as i32 - 1)));
    }
    if pairs.iter().filter(|(v, _)| !v.is_nan()).count() < 2 {
        return None;
    }
    weighted_quantile(&mut pairs, q)
}

/// Raw peak estimate for the `horizon` samples after `history`; `None` when the model has
/// too little history. `q` is the cold-start model's quantile.
pub fn raw_forecast(
    model: Model,
    history: &[f64],
    step: i64,
    horizon: usize,
    q: f64,
) -> Option<f64> {
    let est = match model {
        Model::DecayingHistogram => decaying_quantile(history, step, q)?,
        // Standalone, both cycles are tried (weekly only with two weeks of history).
        Model::Mstl => {
            let cycles = [DAY, WEEK];
            crate::mstl::fit_blocks(history, step, horizon, &cycles)?.next
        }
        _ => {
            let blocks = Blocks::new(history, step, horizon);
            blocks.raw(model, blocks.peaks.len())?
        }
    };
    (est.is_finite() && est >= 0.0).then_some(est)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_read_block_peaks_before_the_origin() {
        // Two days of 4 blocks a day (6-hour blocks of 1-hour samples): a peak at block 1.
        let history: Vec<f64> = (0..48)
            .map(|i| {
                if (6..12).contains(&(i % 24)) {
                    9.0
                } else {
                    1.0 + (i % 6) as f64 * 0.1
                }
            })
            .collect();
        let blocks = Blocks::new(&history, 3600, 6);
        assert_eq!(blocks.per_day, 4);
        assert_eq!(blocks.peaks.len(), 8);
        assert_eq!(blocks.raw(Model::RecentPeak, 8), Some(1.5));
        // Forecasting block 0 of a day: the peak of block 1 is one block away, and
        // anticipated.
        assert_eq!(blocks.raw(Model::SeasonalDaily, 8), Some(9.0));
        assert_eq!(
            raw_forecast(Model::RecentPeak, &history, 3600, 6, 0.5),
            Some(1.5)
        );
        assert_eq!(blocks.raw(Model::RecentLevel, 8), Some(1.5));
        assert_eq!(blocks.raw(Model::Mstl, 8), None);
        // From the same 8 blocks, two blocks ahead (block 2 of a day): a day earlier it
        // was quiet, but block 1 beside it was not; three ahead, nothing near the peak.
        assert_eq!(blocks.raw_ahead(Model::SeasonalDaily, 8, 2), Some(9.0));
        assert_eq!(blocks.raw_ahead(Model::SeasonalDaily, 8, 3), Some(1.5));
        // The recent models persist whatever the lead.
        assert_eq!(blocks.raw_ahead(Model::RecentPeak, 8, 3), Some(1.5));
        // From 5 blocks, 2 ahead is block 7: only one past day (blocks 2–4) reaches its
        // phase, too few cycles for a seasonal estimate.
        assert_eq!(blocks.raw_ahead(Model::SeasonalDaily, 5, 2), None);
    }
}

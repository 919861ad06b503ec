//! Forecasting the peak of the next horizon at a risk level, with per-series model
//! selection by rolling-origin backtest on the series' own recent history.
//!
//! For every candidate model, the last few days are replayed block by block (each origin
//! sees only what came before it). The risk level is a *target rate*: the share of samples
//! allowed above the forecast. Each model's raw estimates are calibrated to it on the
//! samples themselves — the (1 − rate) quantile of sample/estimate ratios, or of
//! sample − estimate differences, recent blocks weighing more — so "2 %" means usage above
//! the value in about 2 % of samples, the figure the backtest measures. The calibrated
//! pinball loss at that quantile then ranks the models. An incident moves a few ratios, not
//! the quantile, so it does not poison later forecasts. Too little history → the
//! cold-start model.
//!
//! The replays do not depend on the rate: `Replays` is built once per forecast time and
//! answers any number of rates (the backtest measures every mode from one replay).

use crate::models::{Blocks, Model, envelope, raw_forecast};
use crate::quantile::{Distribution, pinball};
use crate::seasons::{DAY, WEEK};
use crate::series::block_max;

/// Origins needed before a model's calibration is trusted.
const MIN_ORIGINS: usize = 24;
/// Headroom allowed above the highest sample of the last week.
const CEILING_MARGIN: f64 = 1.1;
/// Days of history replayed for calibration and selection.
const SELECTION_DAYS: i64 = 3;
/// The cold-start model provisions at least for this quantile of all samples.
const COLD_START_QUANTILE: f64 = 0.95;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Forecast {
    /// Forecast peak of the horizon at the requested rate (before any buffer).
    pub peak: f64,
    pub model: Model,
    /// Calibrated pinball loss over the mean usage, on the selection window.
    pub relative_error: f64,
    /// False on the cold-start path (too little history to calibrate any model).
    pub calibrated: bool,
    /// With a daily cycle: the median, over the last week, of the highest block peak in
    /// the next two blocks at this time of day. The decision never goes below it, so a
    /// daily peak is provisioned before it comes rather than calibrated away.
    pub daily_peak: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForecastError {
    #[error("no usable sample in the history (empty, or only NaN / negative values)")]
    NoData,
    #[error("the horizon must be at least one sample")]
    EmptyHorizon,
}

/// Forecasts the peak of the next `horizon` samples after `history` (spaced `step`
/// seconds) so that about `rate` (0..1) of the samples exceed it. `cycles` are the seasonal
/// cycles detected in the series.
pub fn forecast_peak(
    history: &[f64],
    step: i64,
    horizon: usize,
    rate: f64,
    cycles: &[i64],
) -> Result<Forecast, ForecastError> {
    Ok(Replays::new(history, step, horizon, cycles)?.at(rate))
}

/// Every candidate model's estimate now and its replay over the selection window: what a
/// forecast at any rate is calibrated from.
pub struct Replays<'a> {
    history: &'a [f64],
    step: i64,
    candidates: Vec<Candidate>,
    daily_peak: Option<f64>,
    /// No forecast exceeds this (`CEILING_MARGIN` × the last week's highest sample).
    ceiling: f64,
}

/// One model's replay: its raw estimate now, and every replayed sample with the raw
/// estimate of its block, as sorted distributions of ratio and difference.
struct Candidate {
    model: Model,
    raw_now: f64,
    /// (raw estimate of the block, sample) pairs.
    samples: Vec<(f64, f64)>,
    used: f64,
    ratios: Distribution,
    diffs: Distribution,
}

impl<'a> Replays<'a> {
    /// The replays of the next `horizon` samples after `history`.
    pub fn new(
        history: &'a [f64],
        step: i64,
        horizon: usize,
        cycles: &[i64],
    ) -> Result<Replays<'a>, ForecastError> {
        Replays::ahead(history, step, horizon, 0, cycles)
    }

    /// The replays of the `horizon` samples that start `lead` × `horizon` samples after
    /// `history` ends (`lead` 0: the next ones). Each candidate's estimate of that block is
    /// made from the history before it, and calibrated on past blocks estimated from the
    /// history `lead` blocks before each of them: a forecast made as far ahead as this one.
    /// MSTL forecasts only the next block, so it is a candidate at `lead` 0 only.
    pub fn ahead(
        history: &'a [f64],
        step: i64,
        horizon: usize,
        lead: usize,
        cycles: &[i64],
    ) -> Result<Replays<'a>, ForecastError> {
        if horizon == 0 {
            return Err(ForecastError::EmptyHorizon);
        }
        if !history.iter().any(|v| !v.is_nan()) {
            return Err(ForecastError::NoData);
        }
        let mut models = vec![Model::RecentPeak, Model::RecentLevel];
        if cycles.contains(&DAY) {
            models.push(Model::SeasonalDaily);
            models.push(Model::RecentOrSeasonal);
        }
        if cycles.contains(&WEEK) {
            models.push(Model::SeasonalWeekly);
        }
        let mstl = (lead == 0 && cycles.contains(&DAY))
            .then(|| crate::mstl::fit_blocks(history, step, horizon, cycles))
            .flatten();
        if mstl.is_some() {
            models.push(Model::Mstl);
        }
        let per_day = (DAY / step.max(1)).max(1) as usize;
        let origins = ((SELECTION_DAYS as usize * per_day) / horizon).clamp(1, 400);
        let level =
            mean_valid(&history[history.len().saturating_sub(per_day)..]).max(f64::MIN_POSITIVE);
        // Never provision far beyond anything the last week has seen: a burst in the
        // calibration window must not turn into a permanent multiple of the level.
        let ceiling =
            block_max(&history[history.len().saturating_sub(7 * per_day)..]) * CEILING_MARGIN;
        let window = Window {
            history,
            horizon,
            origins,
            floor: level * 0.01,
            half_life: (per_day as f64 / horizon as f64).max(1.0),
        };
        let blocks = Blocks::new(history, step, horizon);
        let len = blocks.peaks.len();
        let mut candidates = vec![];
        for model in models {
            // MSTL's raw estimate at a past origin comes from a daily refit (`mstl.rs`);
            // every other model reads the block peaks before the origin.
            let candidate = match (model, &mstl) {
                (Model::Mstl, Some(fit)) => window.replay(model, Some(fit.next), |j| {
                    fit.past.get(j).copied().flatten()
                }),
                _ => window.replay(model, blocks.raw_ahead(model, len, lead), |j| {
                    blocks.raw_ahead(model, len.checked_sub(j + 1 + lead)?, lead)
                }),
            };
            candidates.extend(candidate);
        }
        // The median, over the last week, of the highest peak in the next half hour of
        // the day: what the coming daily rise will need.
        let daily_peak = cycles
            .contains(&DAY)
            .then(|| envelope(&blocks.peaks, 0, blocks.per_day, 7, (0, 2), 0.5))
            .flatten()
            .map(|p| p.min(ceiling));
        Ok(Replays {
            history,
            step,
            candidates,
            daily_peak,
            ceiling,
        })
    }

    /// The forecast that about `rate` (0..1) of the samples exceed: every calibrated
    /// candidate at that rate, the one with the lowest loss; the cold-start model when
    /// none could be calibrated.
    pub fn at(&self, rate: f64) -> Forecast {
        let q = if rate.is_nan() {
            0.9
        } else {
            (1.0 - rate).clamp(0.0, 1.0)
        };
        self.best(|c| c.calibrated(q)).unwrap_or_else(|| {
            // Cold start: a high quantile of everything seen, recent samples weighing more.
            let peak = raw_forecast(
                Model::DecayingHistogram,
                self.history,
                self.step,
                1,
                q.max(COLD_START_QUANTILE),
            )
            .unwrap_or(0.0);
            Forecast {
                peak,
                model: Model::DecayingHistogram,
                relative_error: f64::NAN,
                calibrated: false,
                daily_peak: None,
            }
        })
    }
}

impl Replays<'_> {
    /// The expected value of the horizon's samples: every calibrated candidate's raw
    /// estimate scaled by the weighted mean ratio of the replayed samples to their block's
    /// estimate, or shifted by their mean difference (the one with the lower squared
    /// error), and of the candidates the one with the lowest error. (`Forecast::peak`
    /// then holds that expectation.) The cold-start forecast, not calibrated, when no
    /// candidate could be.
    pub fn expected(&self) -> Forecast {
        self.best(Candidate::expected)
            .unwrap_or_else(|| self.at(0.5))
    }

    /// Every candidate corrected by `correct` (its correction and that correction's
    /// loss), the one with the lowest loss; `None` without a calibrated candidate.
    fn best(&self, correct: impl Fn(&Candidate) -> (Correction, f64)) -> Option<Forecast> {
        let mut best: Option<Forecast> = None;
        for c in &self.candidates {
            let (correction, loss) = correct(c);
            let candidate = Forecast {
                peak: correction.apply(c.raw_now).min(self.ceiling),
                model: c.model,
                relative_error: loss,
                calibrated: true,
                daily_peak: self.daily_peak,
            };
            if best
                .as_ref()
                .is_none_or(|b| candidate.relative_error < b.relative_error)
            {
                best = Some(candidate);
            }
        }
        best
    }
}

impl Candidate {
    /// The mean correction (scale or shift) with the lower squared error, and that error's
    /// root over the mean usage.
    fn expected(&self) -> (Correction, f64) {
        let loss = |c: Correction| {
            let n = self.samples.len().max(1) as f64;
            let l: f64 = self
                .samples
                .iter()
                .map(|(raw, u)| (u - c.apply(*raw)).powi(2))
                .sum();
            let mean = self.used / n;
            if mean > 0.0 {
                (l / n).sqrt() / mean
            } else {
                0.0
            }
        };
        [
            Correction::Scale(self.ratios.mean().unwrap_or(1.0)),
            Correction::Shift(self.diffs.mean().unwrap_or(0.0)),
        ]
        .into_iter()
        .map(|c| (c, loss(c)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .expect("two corrections")
    }
}

/// The selection window of one forecast time.
struct Window<'a> {
    history: &'a [f64],
    horizon: usize,
    origins: usize,
    /// Floor of raw estimates (1 % of the last day's mean): keeps ratios finite.
    floor: f64,
    /// Blocks per day: errors a day older weigh half.
    half_life: f64,
}

impl Window<'_> {
    /// Replays one model: `raw_at(j)` is its raw estimate for the `j`-th block before the
    /// forecast time (0 = the last one), from the history before that block only. `None`
    /// without a raw estimate now or with too few replayed blocks.
    fn replay(
        &self,
        model: Model,
        raw_now: Option<f64>,
        raw_at: impl Fn(usize) -> Option<f64>,
    ) -> Option<Candidate> {
        let raw_now = raw_now.filter(|r| r.is_finite())?.max(self.floor);
        let n = self.history.len();
        let mut samples = vec![];
        let mut ratios = vec![];
        let mut diffs = vec![];
        let mut blocks = 0;
        for j in 0..self.origins {
            let Some(origin) = n.checked_sub(self.horizon * (j + 1)) else {
                break;
            };
            if origin < self.horizon * 4 {
                break;
            }
            let block = &self.history[origin..(origin + self.horizon).min(n)];
            if block.iter().all(|v| v.is_nan()) {
                continue;
            }
            let Some(raw) = raw_at(j).filter(|r| r.is_finite()) else {
                continue;
            };
            let raw = raw.max(self.floor);
            let weight = 0.5f64.powf(j as f64 / self.half_life);
            blocks += 1;
            for &u in block.iter().filter(|u| !u.is_nan()) {
                samples.push((raw, u));
                ratios.push((u / raw, weight));
                diffs.push((u - raw, weight));
            }
        }
        if blocks < MIN_ORIGINS {
            return None;
        }
        Some(Candidate {
            model,
            raw_now,
            used: samples.iter().map(|(_, u)| u).sum(),
            samples,
            ratios: Distribution::new(ratios),
            diffs: Distribution::new(diffs),
        })
    }
}

impl Candidate {
    /// The better of the two corrections at quantile `q`, and its relative pinball loss.
    fn calibrated(&self, q: f64) -> (Correction, f64) {
        let loss = |c: Correction| {
            let l: f64 = self
                .samples
                .iter()
                .map(|(raw, u)| pinball(*u, c.apply(*raw), q))
                .sum();
            if self.used > 0.0 { l / self.used } else { 0.0 }
        };
        [
            Correction::Scale(self.ratios.quantile(q).unwrap_or(1.0)),
            Correction::Shift(self.diffs.quantile(q).unwrap_or(0.0)),
        ]
        .into_iter()
        .map(|c| (c, loss(c)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .expect("two corrections")
    }
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
        let f = forecast_peak(history, 300, 3, 0.1, &cycles).unwrap();
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
        let f = forecast_peak(&[1.0, 2.0, 3.0], 300, 3, 0.1, &[]).unwrap();
        assert!(!f.calibrated);
        assert_eq!(f.model, Model::DecayingHistogram);
    }

    #[test]
    fn degenerate_inputs_are_errors_not_panics() {
        assert_eq!(
            forecast_peak(&[], 300, 3, 0.1, &[]),
            Err(ForecastError::NoData)
        );
        assert_eq!(
            forecast_peak(&[f64::NAN; 10], 300, 3, 0.1, &[]),
            Err(ForecastError::NoData)
        );
        assert_eq!(
            forecast_peak(&[1.0], 300, 0, 0.1, &[]),
            Err(ForecastError::EmptyHorizon)
        );
        let constant = vec![4.0; 2000];
        assert_eq!(
            forecast_peak(&constant, 300, 3, 0.1, &[]).unwrap().peak,
            4.0
        );
    }
}

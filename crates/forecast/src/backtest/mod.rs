//! The backtest engine behind `prescale backtest`: replays a series strictly causally (a
//! decision at sample t sees only samples before t), holds each policy's value until its
//! next decision, and measures what each policy cost and missed.
//!
//! prescale's values come from [`decide`] — the function the operator calls — with the
//! backtest's spec (mode, buffer, bounds, scaling behaviour, min lookback), so its figures
//! are the product's. Every mode is replayed from the same forecast replays, which is how
//! the report shows the trade-off curve and each mode's target against its achieved rate.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::baselines::{hourly_oracle, reactive_capacity, static_peak, vpa_recommendation};
use crate::decide::{DecisionSpec, DecisionState, decide, history_span};
use crate::forecaster::Replays;
use crate::mode::Mode;
use crate::recommend::{Bounds, Step};
use crate::resource::Resource;
use crate::seasons::{DAY, detect_cycles, detect_cycles_today};
use crate::series::{Series, block_max};

pub mod metrics;

use metrics::Window;
pub use metrics::{EXPLAINED, Metrics, ModeOutcome, Summary};

pub const POLICIES: [&str; 6] = [
    "prescale",
    "vpa",
    "reactive",
    "static_peak",
    "oracle",
    "oracle_hourly",
];

#[derive(Debug, Clone)]
pub struct BacktestConfig {
    /// Seconds each forecast looks ahead (forecast_blocks).
    pub horizon: i64,
    /// Seconds between decisions.
    pub cadence: i64,
    /// The mode reported as the `prescale` policy (every mode is replayed).
    pub mode: Mode,
    /// Buffer added to prescale's forecast (0.1 = 10 %).
    pub buffer: f64,
    /// `lowerbound` / `upperbound`, in the series' unit.
    pub bounds: Bounds,
    /// `scaling_behavior.scale_up` / `scale_down`.
    pub scale_up: Option<Step>,
    pub scale_down: Option<Step>,
    /// Seconds of history before a value is applied (`min_lookback_to_scale`).
    pub min_lookback: i64,
    /// Days at the start of every series excluded from the metrics, for every policy.
    pub warmup_days: f64,
    /// The resource every series measures; `None`: from each series' name.
    pub resource: Option<Resource>,
}

impl Default for BacktestConfig {
    fn default() -> Self {
        BacktestConfig {
            horizon: 900,
            cadence: 900,
            mode: Mode::Balanced,
            buffer: 0.0,
            bounds: Bounds::default(),
            scale_up: None,
            scale_down: None,
            min_lookback: 86_400,
            warmup_days: 2.0,
            resource: None,
        }
    }
}

impl BacktestConfig {
    /// The modes replayed: the five named ones, and the configured one if it is a percentile.
    pub fn modes(&self) -> Vec<Mode> {
        let mut modes = Mode::NAMED.to_vec();
        if !modes.contains(&self.mode) {
            modes.push(self.mode);
        }
        modes
    }

    /// The decision spec of one mode on a series of `resource`: what the operator would
    /// derive from an AIScaleTarget with the same settings.
    pub fn decision_spec(&self, mode: Mode, resource: Resource) -> DecisionSpec {
        DecisionSpec {
            resource,
            rate: mode.target_rate(resource),
            buffer: self.buffer,
            bounds: self.bounds,
            scale_up: self.scale_up,
            scale_down: self.scale_down,
            min_lookback: self.min_lookback,
        }
    }

    /// The resource of the series called `name`.
    pub fn resource_of(&self, name: &str) -> Resource {
        self.resource.unwrap_or_else(|| Resource::from_name(name))
    }

    /// How many decisions replaying a series of `len` samples spaced `step` takes (for a
    /// progress bar).
    pub fn decisions(&self, len: usize, step: i64) -> u64 {
        let cadence = (self.cadence / step.max(1)).max(1) as usize;
        (len.saturating_sub(1) / cadence) as u64
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SeriesResult {
    pub name: String,
    pub resource: Resource,
    /// Whether the whole series shows a daily cycle (peak-onset coverage matters there).
    pub daily_season: bool,
    pub policies: BTreeMap<String, Metrics>,
    /// Every mode on this series: its target rate and what it achieved.
    pub modes: Vec<ModeOutcome>,
    /// How often prescale chose each model.
    pub models: BTreeMap<String, usize>,
    /// Per sample: usage and each policy's provisioned value (for plots).
    #[serde(skip)]
    pub trace: Trace,
}

#[derive(Debug, Clone, Default)]
pub struct Trace {
    pub start: i64,
    pub step: i64,
    /// First sample measured (after the warm-up).
    pub from: usize,
    pub usage: Vec<f64>,
    pub provisioned: BTreeMap<String, Vec<f64>>,
}

#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    #[error("{name}: too short to backtest: {days:.2} days, the warm-up alone is {warmup} days")]
    TooShort {
        name: String,
        days: f64,
        warmup: f64,
    },
    #[error("{name}: horizon and cadence must be at least one sample ({step} s)")]
    BadWindow { name: String, step: i64 },
}

/// Replays one series under every policy and every mode. `progress` is told how many
/// decisions were replayed since its last call (see `BacktestConfig::decisions`).
pub fn backtest_series(
    name: &str,
    series: &Series,
    config: &BacktestConfig,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<SeriesResult, BacktestError> {
    let step = series.step;
    let horizon = (config.horizon / step) as usize;
    let cadence = (config.cadence / step) as usize;
    if horizon == 0 || cadence == 0 {
        return Err(BacktestError::BadWindow {
            name: name.into(),
            step,
        });
    }
    let n = series.len();
    let warmup = ((config.warmup_days * DAY as f64) / step as f64) as usize;
    if warmup + cadence >= n {
        return Err(BacktestError::TooShort {
            name: name.into(),
            days: (n as f64 * step as f64) / DAY as f64,
            warmup: config.warmup_days,
        });
    }
    let u = &series.values;
    let resource = config.resource_of(name);
    let modes = config.modes();
    let specs: Vec<DecisionSpec> = modes
        .iter()
        .map(|m| config.decision_spec(*m, resource))
        .collect();
    let headline = modes
        .iter()
        .position(|m| *m == config.mode)
        .expect("the configured mode is replayed");
    let mut states = vec![DecisionState::default(); modes.len()];
    let mut by_mode = vec![vec![f64::NAN; n]; modes.len()];
    let mut provisioned: BTreeMap<String, Vec<f64>> = ["vpa", "static_peak", "oracle"]
        .iter()
        .map(|p| (p.to_string(), vec![f64::NAN; n]))
        .collect();
    let mut models: BTreeMap<String, usize> = BTreeMap::new();
    let (mut cycles, mut cycles_day) = (vec![], i64::MIN);
    let (mut previous, mut t, mut reported) = (0, cadence, 0u64);
    while t < n {
        let history = &u[..t];
        let end = (t + cadence).min(n);
        let now = series.time_of(t);
        if now.div_euclid(DAY) != cycles_day {
            cycles_day = now.div_euclid(DAY);
            cycles = detect_cycles_today(history, series.start, step, now);
        }
        let span = history_span(history, step);
        let replays = Replays::new(history, step, horizon, &cycles).ok();
        for (k, spec) in specs.iter().enumerate() {
            let forecast = replays.as_ref().map(|r| r.at(spec.rate));
            if k == headline
                && let Some(f) = &forecast
            {
                *models.entry(f.model.name().to_string()).or_default() += 1;
            }
            let d = decide(
                forecast.as_ref(),
                &u[previous..t],
                now,
                span,
                spec,
                &states[k],
            );
            states[k] = d.state;
            if let Some(v) = d.value {
                by_mode[k][t..end].fill(v);
            }
        }
        let mut hold = |policy: &str, value: Option<f64>| {
            if let Some(v) = value.filter(|v| v.is_finite()) {
                provisioned.get_mut(policy).expect("known policy")[t..end].fill(v);
            }
        };
        hold("vpa", vpa_recommendation(history, step, resource, 0));
        hold("static_peak", static_peak(history));
        let oracle = block_max(&u[t..end]);
        hold("oracle", (!oracle.is_nan()).then_some(oracle));
        previous = t;
        t += cadence;
        let done = (t / cadence) as u64;
        if done - reported >= 96 || t >= n {
            progress(done - reported);
            reported = done;
        }
    }
    provisioned.insert("reactive".into(), reactive_capacity(u, step));
    provisioned.insert(
        "oracle_hourly".into(),
        hourly_oracle(u, step, config.mode.target_rate(resource)),
    );
    provisioned.insert("prescale".into(), by_mode[headline].clone());

    let from = warmup.max(cadence);
    let window = Window {
        usage: u,
        from,
        start: series.start,
        step,
        oracle_sum: provisioned["oracle"][from..]
            .iter()
            .zip(&u[from..])
            .filter(|(p, u)| !p.is_nan() && !u.is_nan())
            .map(|(p, _)| p)
            .sum(),
        days: ((n - from) as f64 * step as f64 / DAY as f64).max(1e-9),
    };
    let policies = provisioned
        .iter()
        .map(|(policy, p)| (policy.clone(), window.measure(p)))
        .collect();
    let modes = modes
        .iter()
        .zip(&by_mode)
        .map(|(mode, p)| {
            let metrics = window.measure(p);
            ModeOutcome {
                mode: mode.to_string(),
                target: mode.target_rate(resource),
                achieved: metrics.under_provisioned,
                metrics,
            }
        })
        .collect();
    Ok(SeriesResult {
        name: name.into(),
        resource,
        daily_season: detect_cycles(u, step).contains(&DAY),
        policies,
        modes,
        models,
        trace: Trace {
            start: series.start,
            step,
            from,
            usage: u.clone(),
            provisioned,
        },
    })
}

/// Every policy (and, within one resource, every mode) summarised over `results`.
pub fn summarize(results: &[&SeriesResult]) -> Summary {
    let policies = POLICIES
        .iter()
        .map(|policy| {
            let rows: Vec<&Metrics> = results
                .iter()
                .filter_map(|r| r.policies.get(*policy))
                .collect();
            (policy.to_string(), metrics::mean(&rows))
        })
        .collect();
    let single_resource = results.windows(2).all(|w| w[0].resource == w[1].resource);
    let mut modes = vec![];
    if single_resource && let Some(first) = results.first() {
        for (k, outcome) in first.modes.iter().enumerate() {
            let rows: Vec<&Metrics> = results
                .iter()
                .filter_map(|r| r.modes.get(k).map(|m| &m.metrics))
                .collect();
            let metrics = metrics::mean(&rows);
            modes.push(ModeOutcome {
                mode: outcome.mode.clone(),
                target: outcome.target,
                achieved: metrics.under_provisioned,
                metrics,
            });
        }
    }
    Summary {
        series: results.len(),
        policies,
        modes,
    }
}

/// One summary per resource present in `results` (`cpu`, `memory`).
pub fn summarize_by_resource(results: &[SeriesResult]) -> BTreeMap<String, Summary> {
    Resource::ALL
        .iter()
        .filter_map(|r| {
            let of: Vec<&SeriesResult> = results.iter().filter(|s| s.resource == *r).collect();
            (!of.is_empty()).then(|| (r.name().to_string(), summarize(&of)))
        })
        .collect()
}

#[cfg(test)]
mod tests;

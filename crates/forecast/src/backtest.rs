//! The backtest engine behind `prescale backtest`: replays a series strictly causally (a
//! decision at sample t sees only samples before t), holds each policy's provisioned value
//! until its next decision, and measures what each policy cost and missed.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::baselines::{Resource, reactive_capacity, static_peak, vpa_recommendation};
use crate::forecaster::forecast_peak;
use crate::mode::Mode;
use crate::seasons::{DAY, detect_cycles};
use crate::series::{Series, block_max};

pub const POLICIES: [&str; 5] = ["prescale", "vpa", "reactive", "static_peak", "oracle"];

#[derive(Debug, Clone)]
pub struct BacktestConfig {
    /// Seconds each forecast looks ahead (forecast_blocks).
    pub horizon: i64,
    /// Seconds between decisions.
    pub cadence: i64,
    pub mode: Mode,
    /// Buffer added to prescale's forecast (0.1 = 10 %).
    pub buffer: f64,
    /// Days at the start of every series excluded from the metrics, for every policy.
    pub warmup_days: f64,
}

impl Default for BacktestConfig {
    fn default() -> Self {
        BacktestConfig {
            horizon: 900,
            cadence: 900,
            mode: Mode::Balanced,
            buffer: 0.0,
            warmup_days: 2.0,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Metrics {
    /// Σ max(p − u, 0) / Σ p: the idle share of what was provisioned.
    pub slack: f64,
    /// Share of samples with u > p.
    pub under_provisioned: f64,
    /// Σ max(u − p, 0) / Σ u.
    pub shortfall: f64,
    /// Σ p / Σ p_oracle.
    pub cost_vs_oracle: f64,
    pub changes_per_day: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SeriesResult {
    pub name: String,
    pub policies: BTreeMap<String, Metrics>,
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

/// Replays one series under every policy.
pub fn backtest_series(
    name: &str,
    series: &Series,
    config: &BacktestConfig,
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
    let days = (n as f64 * step as f64) / DAY as f64;
    if warmup + cadence >= n {
        return Err(BacktestError::TooShort {
            name: name.into(),
            days,
            warmup: config.warmup_days,
        });
    }
    let u = &series.values;
    let resource = if name.to_lowercase().contains("memory") {
        Resource::Memory
    } else {
        Resource::Cpu
    };
    let q = config.mode.quantile();

    let mut provisioned: BTreeMap<String, Vec<f64>> = POLICIES
        .iter()
        .map(|p| (p.to_string(), vec![f64::NAN; n]))
        .collect();
    let mut models: BTreeMap<String, usize> = BTreeMap::new();
    let mut cycles: Vec<i64> = vec![];
    let mut cycles_day = usize::MAX;
    let per_day = (DAY / step) as usize;
    let mut t = cadence; // the first decision needs at least one block of history
    while t < n {
        let history = &u[..t];
        let end = (t + cadence).min(n);
        // Seasonality is re-detected once a simulated day, from the history before it.
        if t / per_day != cycles_day {
            cycles_day = t / per_day;
            cycles = detect_cycles(history, step);
        }
        let mut hold = |policy: &str, value: Option<f64>| {
            if let Some(v) = value.filter(|v| v.is_finite()) {
                provisioned.get_mut(policy).expect("known policy")[t..end].fill(v);
            }
        };
        let forecast = forecast_peak(history, step, horizon, q, &cycles).ok();
        if let Some(f) = &forecast {
            *models.entry(f.model.name().to_string()).or_default() += 1;
        }
        hold("prescale", forecast.map(|f| f.peak * (1.0 + config.buffer)));
        hold("vpa", vpa_recommendation(history, step, resource, 0));
        hold("static_peak", static_peak(history));
        let oracle = block_max(&u[t..end]);
        hold("oracle", (!oracle.is_nan()).then_some(oracle));
        t += cadence;
    }
    provisioned.insert("reactive".into(), reactive_capacity(u, step));

    let from = warmup.max(cadence);
    let oracle_sum: f64 = sum_where(u, &provisioned["oracle"], from, |_, p| p);
    let eval_days = ((n - from) as f64 * step as f64 / DAY as f64).max(1e-9);
    let mut policies = BTreeMap::new();
    for (policy, p) in &provisioned {
        policies.insert(policy.clone(), metrics(u, p, from, oracle_sum, eval_days));
    }
    Ok(SeriesResult {
        name: name.into(),
        policies,
        models,
        trace: Trace {
            start: series.start,
            step,
            usage: u.clone(),
            provisioned,
        },
    })
}

/// Σ f(u, p) over samples from `from` where both usage and provisioning are known.
fn sum_where(u: &[f64], p: &[f64], from: usize, f: impl Fn(f64, f64) -> f64) -> f64 {
    u[from..]
        .iter()
        .zip(&p[from..])
        .filter(|(u, p)| !u.is_nan() && !p.is_nan())
        .map(|(u, p)| f(*u, *p))
        .sum()
}

fn metrics(u: &[f64], p: &[f64], from: usize, oracle_sum: f64, days: f64) -> Metrics {
    let count = u[from..]
        .iter()
        .zip(&p[from..])
        .filter(|(u, p)| !u.is_nan() && !p.is_nan())
        .count()
        .max(1);
    let provisioned = sum_where(u, p, from, |_, p| p);
    let used = sum_where(u, p, from, |u, _| u);
    let idle = sum_where(u, p, from, |u, p| (p - u).max(0.0));
    let short = sum_where(u, p, from, |u, p| (u - p).max(0.0));
    let under = sum_where(u, p, from, |u, p| if u > p { 1.0 } else { 0.0 });
    let changes = p[from..]
        .windows(2)
        .filter(|w| {
            !w[0].is_nan() && !w[1].is_nan() && (w[1] - w[0]).abs() > 1e-9 * w[0].abs().max(1e-12)
        })
        .count();
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    Metrics {
        slack: ratio(idle, provisioned),
        under_provisioned: under / count as f64,
        shortfall: ratio(short, used),
        cost_vs_oracle: ratio(provisioned, oracle_sum),
        changes_per_day: changes as f64 / days,
    }
}

/// The unweighted mean of each policy's per-series metrics (series have different units:
/// none may dominate by its magnitude).
pub fn summarize(results: &[SeriesResult]) -> BTreeMap<String, Metrics> {
    let mut out = BTreeMap::new();
    for policy in POLICIES {
        let rows: Vec<&Metrics> = results
            .iter()
            .filter_map(|r| r.policies.get(policy))
            .collect();
        let n = rows.len().max(1) as f64;
        let mean = |f: fn(&Metrics) -> f64| rows.iter().map(|m| f(m)).sum::<f64>() / n;
        out.insert(
            policy.to_string(),
            Metrics {
                slack: mean(|m| m.slack),
                under_provisioned: mean(|m| m.under_provisioned),
                shortfall: mean(|m| m.shortfall),
                cost_vs_oracle: mean(|m| m.cost_vs_oracle),
                changes_per_day: mean(|m| m.changes_per_day),
            },
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(values: Vec<f64>) -> Series {
        Series {
            start: 0,
            step: 300,
            values,
        }
    }

    fn daily(days: usize) -> Vec<f64> {
        (0..days * 288)
            .map(|i| 10.0 + 5.0 * ((i as f64) * 2.0 * std::f64::consts::PI / 288.0).sin())
            .collect()
    }

    #[test]
    fn decisions_never_read_the_future() {
        let base = daily(6);
        let config = BacktestConfig::default();
        let a = backtest_series("s", &series(base.clone()), &config).unwrap();
        // Change everything after sample t: no decision taken at or before t may change.
        let t = 4 * 288;
        let mut changed = base.clone();
        for v in &mut changed[t..] {
            *v *= 3.0;
        }
        let b = backtest_series("s", &series(changed), &config).unwrap();
        for policy in ["prescale", "vpa", "static_peak", "reactive"] {
            let (pa, pb) = (&a.trace.provisioned[policy], &b.trace.provisioned[policy]);
            // Samples up to t are provisioned by decisions taken at or before t.
            for i in 0..=t {
                assert!(
                    pa[i] == pb[i] || (pa[i].is_nan() && pb[i].is_nan()),
                    "{policy} changed at {i}"
                );
            }
        }
    }

    #[test]
    fn oracle_is_the_physical_limit() {
        let r = backtest_series("s", &series(daily(5)), &BacktestConfig::default()).unwrap();
        let oracle = r.policies["oracle"];
        assert_eq!(oracle.under_provisioned, 0.0);
        assert!((oracle.cost_vs_oracle - 1.0).abs() < 1e-12);
        for p in POLICIES {
            assert!(r.policies[p].cost_vs_oracle >= 0.0);
        }
    }

    #[test]
    fn too_short_is_a_clear_error() {
        let err = backtest_series("tiny", &series(vec![1.0; 10]), &BacktestConfig::default())
            .unwrap_err();
        assert!(err.to_string().contains("tiny"), "{err}");
    }
}

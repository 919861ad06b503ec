//! The horizontal backtest behind `prescale backtest --direction horizontal`: a load trace
//! replayed through a simulated workload (a per-pod capacity, a start-up delay before a new
//! pod serves) under each autoscaler, sync tick by sync tick, against the oracle.
//!
//! prescale's floor is the operator's: the load of the workload's total the floor provisions
//! over the coming horizon (the peak of its stretches at the mode's level) comes from
//! `prescale_forecast::replicas::floor_load` — the function
//! the operator's horizontal suggestion calls — and becomes replicas through `needed` and
//! `decide_replicas`, as the operator's suggestion does. The reactive autoscalers are this crate's own functions.
//!
//! The model, tick by tick (every `sync` seconds): the load is the trace interpolated
//! linearly between samples; pods created `startup` seconds ago or more are ready and each
//! serves `capacity`; each autoscaler reads the load over its ready pods and sets the
//! replicas; new pods start, removed ones (the newest first) stop at once. Under-capacity
//! is judged after the decision.

use std::collections::BTreeMap;

use jiff::Timestamp;
use prescale_forecast::backtest::{BacktestConfig, BacktestError};
use prescale_forecast::recommend::ReplicaPolicy;
use prescale_forecast::replicas::{Goal, Need, TotalForecast, decide_replicas, floor_load, needed};
use prescale_forecast::series::Series;
use serde::Serialize;

pub mod metrics;
pub mod policies;
pub mod workload;

pub use metrics::{EXPLAINED, HorizontalMetrics, Target};
pub use policies::POLICIES;
use policies::{Autoscaler, Observation, Shared};
use workload::{Workload, load_at_ticks, oracle};

/// The default per-pod capacity rule: the capacity at which the series' 95th percentile
/// load needs this many pods.
pub const PODS_AT_P95: u32 = 10;
/// The default start-up delay (seconds) before a new pod serves.
pub const STARTUP_SECONDS: i64 = 60;

#[derive(Debug, Clone)]
pub struct HorizontalConfig {
    /// The forecast's settings (mode, buffer, cadence, min lookback, warm-up), as for the
    /// vertical backtest. Its horizon is raised to cover a cadence and a start-up delay.
    pub forecast: BacktestConfig,
    /// Per-pod capacity in the series' unit; `None`: `p95 / pods_at_p95` of each series.
    pub capacity: Option<f64>,
    pub pods_at_p95: u32,
    /// Seconds before a new pod serves.
    pub startup: i64,
    /// The autoscalers' sync period (seconds).
    pub sync: i64,
    /// Target utilisation of the capacity (HPA, PodAutoscaler targets and prescale's floor).
    pub target_utilization: f64,
    /// The utilisation prescale's floor sizes the forecast load at; `None`: the target
    /// utilisation, as the operator does (the HPA's own target).
    pub floor_utilization: Option<f64>,
    pub min_replicas: u32,
    pub max_replicas: u32,
}

impl Default for HorizontalConfig {
    fn default() -> Self {
        HorizontalConfig {
            forecast: BacktestConfig::default(),
            capacity: None,
            pods_at_p95: PODS_AT_P95,
            startup: STARTUP_SECONDS,
            sync: policies::SYNC_PERIOD_SECONDS,
            target_utilization: prescale_forecast::replicas::DEFAULT_UTILIZATION,
            floor_utilization: None,
            min_replicas: 1,
            max_replicas: 10_000,
        }
    }
}

impl HorizontalConfig {
    /// The forecast horizon in seconds: at least a cadence plus a start-up delay, so that
    /// the pods a decision adds are ready for everything until the next decision's are
    /// (rounded up to whole samples of `step`).
    pub fn horizon(&self, step: i64) -> i64 {
        let step = step.max(1);
        let lead = self.forecast.cadence + self.startup;
        let h = self.forecast.horizon.max(lead);
        (h + step - 1) / step * step
    }

    /// The per-pod capacity for a series.
    pub fn capacity_of(&self, values: &[f64]) -> Option<f64> {
        if let Some(c) = self.capacity {
            return (c > 0.0 && c.is_finite()).then_some(c);
        }
        let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        let p95 = prescale_forecast::quantile::quantile(&finite, 0.95)?;
        let peak = finite.iter().copied().fold(0.0, f64::max);
        let basis = if p95 > 0.0 { p95 } else { peak };
        (basis > 0.0).then(|| basis / f64::from(self.pods_at_p95.max(1)))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HorizontalError {
    #[error(transparent)]
    Forecast(#[from] BacktestError),
    #[error(
        "{name}: no per-pod capacity: the series is zero throughout; pass --capacity in the series' unit"
    )]
    NoCapacity { name: String },
    #[error(
        "{name}: the sync period ({sync} s) must be between 1 s and the sampling step ({step} s)"
    )]
    BadSync { name: String, sync: i64, step: i64 },
}

#[derive(Debug, Clone, Serialize)]
pub struct HorizontalResult {
    pub name: String,
    /// The per-pod capacity used, in the series' unit.
    pub capacity: f64,
    pub policies: BTreeMap<String, HorizontalMetrics>,
    pub target: Option<Target>,
    #[serde(skip)]
    pub trace: HorizontalTrace,
}

/// Tick by tick, for plots.
#[derive(Debug, Clone, Default)]
pub struct HorizontalTrace {
    pub start: i64,
    pub sync: i64,
    /// First tick measured (after the warm-up).
    pub from: usize,
    pub load: Vec<f64>,
    /// Per policy: the replicas (starting pods included) and the ready pods.
    pub replicas: BTreeMap<String, Vec<u32>>,
    pub ready: BTreeMap<String, Vec<u32>>,
}

/// prescale's forecast (load units) and floor per trace sample, from the operator's
/// decision path: every `cadence`, `floor_load` on the history so far (the horizontal
/// forecast the operator makes), then `needed` and `decide_replicas`, held until the next
/// decision; NaN / `None` until the forecast may be acted on (`min_lookback`, calibrated).
pub fn forecast_floors(
    series: &Series,
    config: &HorizontalConfig,
    capacity: f64,
    progress: &(dyn Fn(u64) + Sync),
) -> (Vec<f64>, Vec<Option<u32>>) {
    let fc = &config.forecast;
    let how = TotalForecast {
        horizon: config.horizon(series.step),
        level: fc.mode.floor_level(),
        buffer: fc.buffer,
        min_lookback: fc.min_lookback,
    };
    let policy = ReplicaPolicy {
        target_utilization: config.target_utilization,
        min: Some(config.min_replicas),
        max: Some(config.max_replicas),
        multiple_of: None,
        allowed: vec![],
    };
    let goal = Goal::Utilization {
        fraction: config
            .floor_utilization
            .unwrap_or(config.target_utilization),
        per_pod_request: capacity,
    };
    let n = series.values.len();
    let step = series.step.max(1);
    let every = (fc.cadence / step).max(1) as usize;
    let mut forecast = vec![f64::NAN; n];
    let mut floors = vec![None; n];
    let mut previous = None;
    let mut held: (f64, Option<u32>) = (f64::NAN, None);
    for i in 0..n {
        if i > 0 && i % every == 0 {
            let now = series.start + i as i64 * step;
            held = match floor_load(&series.values[..i], series.start, step, now, how) {
                Some((peak, true)) => {
                    let need = needed(peak, goal).map(|replicas| Need {
                        metric: "load".into(),
                        replicas,
                    });
                    let decision =
                        need.and_then(|n| decide_replicas(&[n], &policy, previous, (None, None)));
                    if let Some(d) = &decision {
                        previous = Some(d.replicas);
                    }
                    (peak, decision.map(|d| d.replicas))
                }
                _ => (f64::NAN, None),
            };
            progress(1);
        }
        forecast[i] = held.0;
        floors[i] = held.1;
    }
    (forecast, floors)
}

/// Replays one series under every policy.
pub fn run_series(
    name: &str,
    series: &Series,
    config: &HorizontalConfig,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<HorizontalResult, HorizontalError> {
    let (step, sync) = (series.step, config.sync);
    if sync <= 0 || sync > step {
        return Err(HorizontalError::BadSync {
            name: name.into(),
            sync,
            step,
        });
    }
    let capacity = config
        .capacity_of(&series.values)
        .ok_or_else(|| HorizontalError::NoCapacity { name: name.into() })?;
    let (forecast, floors) = forecast_floors(series, config, capacity, progress);
    let load = load_at_ticks(&series.values, step, sync);
    let delay = (config.startup.max(0) + sync - 1) / sync;
    let needs: Vec<u32> = load
        .iter()
        .map(|l| workload::needed(*l, capacity))
        .collect();
    let shared = Shared {
        target_per_pod: config.target_utilization * capacity,
        min_replicas: config.min_replicas,
        max_replicas: config.max_replicas.max(config.min_replicas),
    };
    let initial = needs.first().copied().unwrap_or(0).max(config.min_replicas);
    let warmup = (config.forecast.warmup_days * 86_400.0 / sync as f64) as usize;
    let from = warmup.min(load.len().saturating_sub(1));
    let mut replicas = BTreeMap::new();
    let mut ready = BTreeMap::new();
    for policy in POLICIES {
        let mut pods = Workload::new(initial, delay);
        let (mut r, mut g) = (
            Vec::with_capacity(load.len()),
            Vec::with_capacity(load.len()),
        );
        let scheduled = (policy == "oracle").then(|| oracle(&needs, delay as usize));
        let mut autoscaler = Autoscaler::new(policy, &shared);
        for (k, l) in load.iter().enumerate() {
            let tick = k as i64;
            let sample = (tick * sync / step) as usize;
            let n = match (&scheduled, autoscaler.as_mut()) {
                (Some(s), _) => s[k],
                (None, Some(a)) => a.decide(&Observation {
                    now: Timestamp::from_second(series.start + tick * sync)
                        .unwrap_or(Timestamp::UNIX_EPOCH),
                    load: *l,
                    ready: pods.ready(tick),
                    current: pods.replicas(),
                    forecast: forecast.get(sample).copied().filter(|f| f.is_finite()),
                    floor: floors.get(sample).copied().flatten(),
                }),
                (None, None) => pods.replicas(),
            };
            pods.scale_to(n, tick);
            r.push(pods.replicas());
            g.push(pods.ready(tick));
        }
        replicas.insert(policy.to_string(), r);
        ready.insert(policy.to_string(), g);
    }
    let run = |policy: &str| metrics::Run {
        load: &load,
        replicas: &replicas[policy],
        ready: &ready[policy],
        capacity,
        sync,
        from,
    };
    let oracle_hours = run("oracle").measure(None).replica_hours;
    let policies: BTreeMap<String, HorizontalMetrics> = POLICIES
        .iter()
        .map(|p| (p.to_string(), run(p).measure(Some(oracle_hours))))
        .collect();
    Ok(HorizontalResult {
        name: name.into(),
        capacity,
        target: metrics::target(&policies),
        policies,
        trace: HorizontalTrace {
            start: series.start,
            sync,
            from,
            load,
            replicas,
            ready,
        },
    })
}

/// Every policy's metrics averaged over `results`, and the target on those means.
#[derive(Debug, Clone, Serialize)]
pub struct HorizontalSummary {
    pub series: usize,
    pub policies: BTreeMap<String, HorizontalMetrics>,
    pub target: Option<Target>,
}

pub fn summarize(results: &[HorizontalResult]) -> HorizontalSummary {
    let policies: BTreeMap<String, HorizontalMetrics> = POLICIES
        .iter()
        .map(|p| {
            let rows: Vec<&HorizontalMetrics> =
                results.iter().filter_map(|r| r.policies.get(*p)).collect();
            (p.to_string(), metrics::mean(&rows))
        })
        .collect();
    HorizontalSummary {
        series: results.len(),
        target: metrics::target(&policies),
        policies,
    }
}

#[cfg(test)]
mod tests;

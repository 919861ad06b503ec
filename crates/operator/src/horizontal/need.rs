//! The suggested replicas, pure: for each Resource metric the horizontal forecast scales
//! on (`metrics`), the workload's total — per-pod usage times the pods that ran then, so
//! a daily cycle the HPA follows stays visible in it — is forecast over the horizontal
//! horizon (`forecast`, plus `forecast_buffer_percentage`), and the HPA's own formula
//! (`prescale_forecast::replicas::needed`) turns that load into replicas; each Pods, Object
//! and External metric's recorded load (`sampler`) likewise, with `desired = ceil(load /
//! target)`; the largest need, `multipleOf`/`allowedReplicas`, `scaling_behavior` and the
//! bounds follow (`decide_replicas`).
//!
//! Unlike a container's request, the suggestion keeps no hysteresis and no floor of the
//! daily peak (`prescale_forecast::decide`): once a predicted rise has left the horizon
//! the suggestion drops with it, so the replica floor never holds replicas up after the
//! peak — the HPA's own stabilisation smooths the way down.

use std::collections::BTreeMap;

use prescale_api::settings::EffectiveModel;
use prescale_api::target::horizontal::HorizontalSpec;
use prescale_api::target::status::Suggestion;
use prescale_forecast::recommend::ReplicaPolicy;
use prescale_forecast::replicas::{Goal, Need, TotalForecast, decide_replicas, floor_load, needed};
use prescale_forecast::series::Series;

use super::metrics::{HorizontalMetrics, ResourceTarget};
use crate::target::suggest::{ContainerHistory, mode_of, steps};

/// What the horizontal forecast suggests.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicaSuggestion {
    pub replicas: u32,
    /// The metric needing the most replicas.
    pub driver: String,
    /// Forecast peak of the workload's total per metric (cores, bytes).
    pub peaks: BTreeMap<String, f64>,
    /// Whether every forecast is calibrated on enough history.
    pub enough: bool,
}

/// The pods running at `t`: the last replica sample at or before it.
fn replicas_at(samples: &[(i64, f64)], t: i64) -> Option<f64> {
    let i = samples.partition_point(|(at, _)| *at <= t);
    i.checked_sub(1).map(|i| samples[i].1)
}

/// The workloads' total of `metric` over time: per-pod usage of each container times the
/// pods its workload ran then (its current replicas where no count was recorded).
pub fn total_series(history: &[ContainerHistory], metric: &str) -> Vec<(i64, f64)> {
    let mut totals: BTreeMap<i64, f64> = BTreeMap::new();
    for h in history {
        let samples = if metric == "cpu" { &h.cpu } else { &h.memory };
        for (t, v) in samples {
            let pods = replicas_at(&h.replicas_history, *t).unwrap_or(f64::from(h.replicas));
            *totals.entry(*t).or_default() += v * pods.max(1.0);
        }
    }
    totals.into_iter().collect()
}

/// The load of `samples` the replica floor provisions over `model`'s horizon at `now` —
/// the peak of its stretches at the mode's level (`floor_load`) — with its buffer, and
/// whether it is calibrated on enough history (`min_lookback_to_scale`).
fn forecast(samples: &[(i64, f64)], model: &EffectiveModel, now: i64) -> Option<(f64, bool)> {
    let series = Series::from_samples(samples).ok()?;
    floor_load(
        &series.values,
        series.start,
        series.step,
        now,
        TotalForecast {
            horizon: model.horizon.as_secs() as i64,
            level: mode_of(model).floor_level(),
            buffer: model.buffer_fraction,
            min_lookback: model.min_lookback.as_secs() as i64,
        },
    )
}

/// The replicas `spec` suggests from `history` (and `custom`, each Pods/Object/External
/// metric's recorded load by id) at `now`, with `models` the horizontal forecast's cpu
/// and memory settings (custom metrics use the cpu one); `None` when no metric has usage
/// or a request to be a fraction of.
pub fn suggest_replicas(
    spec: &HorizontalSpec,
    metrics: &HorizontalMetrics,
    history: &[ContainerHistory],
    custom: &BTreeMap<String, Vec<(i64, f64)>>,
    (cpu_model, memory_model): (&EffectiveModel, &EffectiveModel),
    previous: Option<&Suggestion>,
    now: i64,
) -> Option<ReplicaSuggestion> {
    let policy = ReplicaPolicy {
        target_utilization: prescale_forecast::replicas::DEFAULT_UTILIZATION,
        min: spec.min_replicas.map(|m| m.max(0) as u32),
        max: spec.max_replicas.map(|m| m.max(1) as u32),
        multiple_of: spec.multiple_of.map(|m| m.max(1) as u32),
        allowed: spec
            .allowed_replicas
            .iter()
            .flatten()
            .map(|r| (*r).max(0) as u32)
            .collect(),
    };
    let mut peaks = BTreeMap::new();
    let mut needs = vec![];
    let mut enough = true;
    for m in &metrics.resource {
        let (model, request): (_, fn(&ContainerHistory) -> Option<f64>) = match m.name.as_str() {
            "cpu" => (cpu_model, |c| c.cpu_request),
            _ => (memory_model, |c| c.memory_request),
        };
        let peak = match peaks.get(&m.name) {
            Some(p) => *p,
            None => {
                let samples = total_series(history, &m.name);
                let Some((peak, calibrated)) = forecast(&samples, model, now) else {
                    continue;
                };
                enough &= calibrated;
                peaks.insert(m.name.clone(), peak);
                peak
            }
        };
        let goal = match m.target {
            ResourceTarget::Utilization(fraction) => Goal::Utilization {
                fraction,
                per_pod_request: history.iter().filter_map(request).sum(),
            },
            ResourceTarget::AverageValue(v) => Goal::AverageValue(v),
        };
        if let Some(replicas) = needed(peak, goal) {
            needs.push(Need {
                metric: m.name.clone(),
                replicas,
            });
        }
    }
    for m in &metrics.custom {
        let id = m.id();
        let Some(samples) = custom.get(&id).filter(|s| !s.is_empty()) else {
            continue;
        };
        // Rates and counts carry the risk of CPU (a shortfall is latency, not a kill).
        let Some((peak, calibrated)) = forecast(samples, cpu_model, now) else {
            continue;
        };
        enough &= calibrated;
        peaks.insert(id.clone(), peak);
        if let Some(replicas) = needed(peak, Goal::AverageValue(m.target)) {
            needs.push(Need {
                metric: id,
                replicas,
            });
        }
    }
    let steps = steps(spec.scaling_behavior.as_ref(), |s| {
        s.absolute.as_ref()?.pods.map(f64::from)
    });
    let previous = previous
        .and_then(|p| p.suggested_replicas)
        .map(|r| r.max(0) as u32);
    let d = decide_replicas(&needs, &policy, previous, steps)?;
    Some(ReplicaSuggestion {
        replicas: d.replicas,
        driver: d.driver,
        peaks,
        enough,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_total_follows_the_pods_that_ran() {
        let h = ContainerHistory {
            workload: "Deployment/web".into(),
            container: "app".into(),
            cpu: vec![(0, 0.5), (60, 0.5), (120, 0.5)],
            replicas_history: vec![(0, 2.0), (120, 6.0)],
            replicas: 4,
            ..ContainerHistory::default()
        };
        assert_eq!(
            total_series(std::slice::from_ref(&h), "cpu"),
            vec![(0, 1.0), (60, 1.0), (120, 3.0)]
        );
        let unknown = ContainerHistory {
            replicas_history: vec![],
            ..h
        };
        assert_eq!(total_series(&[unknown], "cpu")[0], (0, 2.0));
    }

    /// Pods, Object and External metrics: `desired = ⌈forecast peak of the recorded load /
    /// target⌉`, the largest need drives, and a metric without history is left out.
    #[test]
    fn custom_metrics_follow_the_hpas_formula_on_their_forecast_load() {
        use super::super::metrics::{CustomMetric, CustomSource};
        let spec: HorizontalSpec =
            serde_json::from_value(serde_json::json!({"minReplicas": 1, "maxReplicas": 50}))
                .unwrap();
        let model = prescale_api::settings::effective_model(
            &serde_json::from_value(serde_json::json!({
                "forecast_blocks": "15m", "forecast_interval": "15m", "min_lookback_to_scale": "1h"}))
            .unwrap(),
            None,
            "cpu",
        )
        .unwrap();
        let metric = |source, name: &str, target: f64| CustomMetric {
            source,
            name: name.into(),
            selector: None,
            target,
            per_replica: false,
        };
        let metrics = HorizontalMetrics {
            custom: vec![
                metric(CustomSource::Pods, "rps", 10.0),
                metric(CustomSource::External, "queue", 5.0),
                metric(CustomSource::External, "silent", 1.0),
            ],
            ..HorizontalMetrics::default()
        };
        let day = 86_400;
        let flat =
            |v: f64| -> Vec<(i64, f64)> { (0..2 * day).step_by(60).map(|t| (t, v)).collect() };
        // The suggestion with `rps` at 95 and the queue at `queue`, flat for two days.
        let with_queue = |queue: f64| {
            let custom = BTreeMap::from([
                ("Pods/rps".to_string(), flat(95.0)),
                ("External/queue".to_string(), flat(queue)),
            ]);
            suggest_replicas(
                &spec,
                &metrics,
                &[],
                &custom,
                (&model, &model),
                None,
                2 * day,
            )
            .unwrap()
        };
        let s = with_queue(12.0);
        // ⌈95 / 10⌉ = 10 against ⌈12 / 5⌉ = 3; a flat series is forecast flat.
        assert_eq!((s.replicas, s.driver.as_str()), (10, "Pods/rps"));
        assert_eq!(s.peaks.len(), 2, "{:?}", s.peaks);
        assert!(
            (s.peaks["External/queue"] - 12.0).abs() < 0.5,
            "{:?}",
            s.peaks
        );
        // The queue grows: it drives.
        let s = with_queue(120.0);
        assert_eq!((s.replicas, s.driver.as_str()), (24, "External/queue"));
    }
}

//! The suggested replicas, pure: for each Resource metric the horizontal forecast scales
//! on (`metrics`), the workload's total — per-pod usage times the pods that ran then, so
//! a daily cycle the HPA follows stays visible in it — is forecast over the horizontal
//! horizon — its expected level, `replicas::total_expected`, plus
//! `forecast_buffer_percentage` — and the HPA's own formula at the HPA's own target
//! (`prescale_forecast::replicas::needed`) turns it into replicas; the largest
//! need, `multipleOf`/`allowedReplicas`, `scaling_behavior` and the bounds follow
//! (`decide_replicas`).
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
use prescale_forecast::replicas::{
    Goal, Need, TotalForecast, decide_replicas, needed, total_expected,
};
use prescale_forecast::series::Series;

use super::metrics::{HorizontalMetrics, ResourceTarget};
use crate::target::suggest::{ContainerHistory, steps};

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

/// The expected total of `samples` over `model`'s horizon at `now`, with its buffer, and
/// whether it is calibrated on enough history (`min_lookback_to_scale`).
/// (`total_expected` says why the expectation; the mode does not enter.)
fn forecast(samples: &[(i64, f64)], model: &EffectiveModel, now: i64) -> Option<(f64, bool)> {
    let series = Series::from_samples(samples).ok()?;
    total_expected(
        &series.values,
        series.start,
        series.step,
        now,
        TotalForecast {
            horizon: model.horizon.as_secs() as i64,
            buffer: model.buffer_fraction,
            min_lookback: model.min_lookback.as_secs() as i64,
        },
    )
}

/// The replicas `spec` suggests from `history` at `now`, with `models` the horizontal
/// forecast's cpu and memory settings; `None` when no metric has usage or a request to
/// be a fraction of.
pub fn suggest_replicas(
    spec: &HorizontalSpec,
    metrics: &HorizontalMetrics,
    history: &[ContainerHistory],
    (cpu_model, memory_model): (&EffectiveModel, &EffectiveModel),
    previous: Option<&Suggestion>,
    now: i64,
) -> Option<ReplicaSuggestion> {
    let policy = ReplicaPolicy {
        target_utilization: prescale_api::defaults::TARGET_UTILIZATION,
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
}

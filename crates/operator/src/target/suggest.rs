//! From an AIScaleTarget's settings and its workloads' history to the suggestion written
//! into its status. Pure: history in, suggestion out.

use std::collections::BTreeMap;

use prescale_api::mode::ModelMode;
use prescale_api::settings::{EffectiveModel, effective_model};
use prescale_api::target::scaling::{ScalingBehavior, ScalingStep};
use prescale_api::target::status::{ContainerRecommendation, ForecastErrors, Suggestion};
use prescale_api::target::vertical::ResourcePolicy;
use prescale_api::{AIScaleTargetSpec, mode::StepType};
use prescale_forecast::forecaster::forecast_peak;
use prescale_forecast::mode::Mode;
use prescale_forecast::recommend::{
    Behavior, Bounds, ReplicaPolicy, Step, recommend_replicas, recommend_value,
};
use prescale_forecast::seasons::detect_cycles;
use prescale_forecast::series::Series;

/// What is known about one container of one workload.
#[derive(Debug, Clone, Default)]
pub struct ContainerHistory {
    pub workload: String,
    pub container: String,
    /// Per-pod peak CPU (cores) and memory (bytes) over time.
    pub cpu: Vec<(i64, f64)>,
    pub memory: Vec<(i64, f64)>,
    /// Current requests, if any.
    pub cpu_request: Option<f64>,
    pub memory_request: Option<f64>,
    pub replicas: u32,
}

pub fn quantile_of(m: &EffectiveModel) -> f64 {
    let mode = match m.mode {
        ModelMode::Undershoot => Mode::Undershoot,
        ModelMode::CostOptimized => Mode::CostOptimized,
        ModelMode::Balanced => Mode::Balanced,
        ModelMode::AssuranceOptimized => Mode::AssuranceOptimized,
        ModelMode::Overshoot => Mode::Overshoot,
        ModelMode::Percentile => Mode::Percentile(m.percentile.unwrap_or(95.0)),
    };
    mode.quantile()
}

fn behavior(
    b: Option<&ScalingBehavior>,
    unit_absolute: impl Fn(&ScalingStep) -> Option<f64>,
) -> Behavior {
    let step = |s: &Option<ScalingStep>| {
        s.as_ref().and_then(|s| match s.type_ {
            StepType::Percent => s.percent.map(Step::Percent),
            StepType::Absolute => unit_absolute(s).map(Step::Absolute),
        })
    };
    Behavior {
        scale_up: b.and_then(|b| step(&b.scale_up)),
        scale_down: b.and_then(|b| step(&b.scale_down)),
        dead_band: 0.05,
    }
}

fn bounds(policy: Option<&ResourcePolicy>) -> Bounds {
    let q = |v: Option<&prescale_api::quantity::QuantityValue>| {
        v.and_then(|v| v.quantity().ok()).map(|q| q.as_f64())
    };
    Bounds {
        lower: q(policy.and_then(|p| p.lowerbound.as_ref())),
        upper: q(policy.and_then(|p| p.upperbound.as_ref())),
    }
}

/// Forecast result for one metric of one container.
struct Predicted {
    value: Option<f64>,
    model: String,
    error: f64,
    enough: bool,
}

fn predict(
    samples: &[(i64, f64)],
    m: &EffectiveModel,
    buffer_bounds: Bounds,
    behavior: Behavior,
    current: Option<f64>,
) -> Predicted {
    let empty = Predicted {
        value: None,
        model: "none".into(),
        error: f64::NAN,
        enough: false,
    };
    let Ok(series) = Series::from_samples(samples) else {
        return empty;
    };
    let horizon = ((m.horizon.as_secs() as i64) / series.step.max(1)).max(1) as usize;
    let cycles = detect_cycles(&series.values, series.step);
    let Ok(f) = forecast_peak(
        &series.values,
        series.step,
        horizon,
        quantile_of(m),
        &cycles,
    ) else {
        return empty;
    };
    let span = samples.last().map(|l| l.0).unwrap_or(0) - samples.first().map(|f| f.0).unwrap_or(0);
    Predicted {
        value: recommend_value(f.peak, m.buffer_fraction, buffer_bounds, behavior, current),
        model: f.model.name().to_string(),
        error: f.relative_error,
        enough: f.calibrated && span >= m.min_lookback.as_secs() as i64,
    }
}

fn cpu_text(cores: f64) -> String {
    format!("{}m", (cores * 1000.0).ceil().max(1.0) as i64)
}

fn memory_text(bytes: f64) -> String {
    format!("{}Mi", (bytes / (1024.0 * 1024.0)).ceil().max(1.0) as i64)
}

/// The suggestion for a target, or why none can be made yet.
pub fn suggest(
    spec: &AIScaleTargetSpec,
    history: &[ContainerHistory],
    now: i64,
) -> Result<Suggestion, String> {
    let vertical = spec.vertical.as_ref();
    let v_model = |metric: &str| {
        effective_model(&spec.model, vertical.and_then(|v| v.model.as_ref()), metric)
            .map_err(|e| e.to_string())
    };
    let (cpu_model, mem_model) = (v_model("cpu")?, v_model("memory")?);
    let policies = vertical
        .and_then(|v| v.containers.as_deref())
        .unwrap_or_default();
    let mut containers = vec![];
    let mut models = BTreeMap::new();
    let mut errors = vec![];
    let mut enough = !history.is_empty();
    let mut totals: BTreeMap<String, f64> = BTreeMap::new();
    for h in history {
        let policy = crate::vertical::desired::policy_for(policies, &h.container);
        let b = vertical.and_then(|v| v.scaling_behavior.as_ref());
        let q = |s: &ScalingStep,
                 f: fn(
            &prescale_api::target::scaling::AbsoluteStep,
        ) -> Option<&prescale_api::quantity::QuantityValue>| {
            s.absolute
                .as_ref()
                .and_then(f)
                .and_then(|v| v.quantity().ok())
                .map(|q| q.as_f64())
        };
        let cpu = predict(
            &h.cpu,
            &cpu_model,
            bounds(policy.and_then(|p| p.cpu.as_ref())),
            behavior(b, |s| q(s, |a| a.cpu.as_ref())),
            h.cpu_request,
        );
        let mem = predict(
            &h.memory,
            &mem_model,
            bounds(policy.and_then(|p| p.memory.as_ref())),
            behavior(b, |s| q(s, |a| a.memory.as_ref())),
            h.memory_request,
        );
        enough &= cpu.enough && mem.enough;
        models.insert(
            format!("{}/{}/cpu", h.workload, h.container),
            cpu.model.clone(),
        );
        models.insert(
            format!("{}/{}/memory", h.workload, h.container),
            mem.model.clone(),
        );
        errors.extend([cpu.error, mem.error].into_iter().filter(|e| e.is_finite()));
        if let Some(c) = cpu.value {
            *totals.entry("cpu".into()).or_default() += c * h.replicas.max(1) as f64;
        }
        if let Some(m) = mem.value {
            *totals.entry("memory".into()).or_default() += m * h.replicas.max(1) as f64;
        }
        let limit = |p: Option<&ResourcePolicy>, v: Option<f64>| {
            p.and_then(|p| p.limit.as_ref())
                .and_then(|l| l.ratio)
                .zip(v)
                .map(|(r, v)| r * v)
        };
        containers.push(ContainerRecommendation {
            workload: (spec.selector.is_some()).then(|| h.workload.clone()),
            name: h.container.clone(),
            cpu: cpu.value.map(cpu_text),
            memory: mem.value.map(memory_text),
            cpu_limit: limit(policy.and_then(|p| p.cpu.as_ref()), cpu.value).map(cpu_text),
            memory_limit: limit(policy.and_then(|p| p.memory.as_ref()), mem.value).map(memory_text),
        });
    }
    if containers
        .iter()
        .all(|c| c.cpu.is_none() && c.memory.is_none())
    {
        return Err("no usage collected yet for the target's workloads".into());
    }
    let suggested_replicas = spec.horizontal.as_ref().and_then(|h| {
        let per_pod: f64 = history.iter().filter_map(|c| c.cpu_request).sum();
        let policy = ReplicaPolicy {
            target_utilization: prescale_api::defaults::TARGET_UTILIZATION,
            min: h.min_replicas.map(|m| m.max(0) as u32),
            max: h.max_replicas.map(|m| m.max(1) as u32),
            multiple_of: h.multiple_of.map(|m| m.max(1) as u32),
            allowed: h
                .allowed_replicas
                .clone()
                .unwrap_or_default()
                .into_iter()
                .map(|r| r.max(0) as u32)
                .collect(),
        };
        recommend_replicas(*totals.get("cpu")?, per_pod, &policy).map(|r| r as i32)
    });
    let mean_error = (!errors.is_empty()).then(|| errors.iter().sum::<f64>() / errors.len() as f64);
    let forecasted_totals = totals
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                if k == "cpu" {
                    cpu_text(*v)
                } else {
                    memory_text(*v)
                },
            )
        })
        .collect();
    let mut suggestion = Suggestion {
        id: String::new(),
        time: jiff::Timestamp::from_second(now)
            .ok()
            .map(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time),
        has_enough_data_to_scale: enough,
        suggested_replicas,
        forecasted_totals,
        containers,
        models,
        forecast_errors: Some(ForecastErrors {
            horizontal: suggested_replicas.and(mean_error),
            vertical: mean_error,
        }),
    };
    suggestion.id = suggestion_id(&suggestion);
    Ok(suggestion)
}

/// A content hash: the id changes exactly when what is suggested changes.
fn suggestion_id(s: &Suggestion) -> String {
    let content = serde_json::json!([
        s.containers,
        s.suggested_replicas,
        s.has_enough_data_to_scale
    ])
    .to_string();
    let h = content.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    });
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> AIScaleTargetSpec {
        let doc = serde_json::json!({
            "scaleTargetRef": {"kind": "Deployment", "name": "web"},
            "model": {"forecast_blocks": "15m", "forecast_interval": "15m", "min_lookback_to_scale": "1h"},
            "horizontal": {"mode": "recommendation", "minReplicas": 1, "maxReplicas": 10},
            "vertical": {"mode": "recommendation", "containers": [{"name": "*",
                "cpu": {"lowerbound": "100m", "upperbound": "2"}, "memory": {"lowerbound": "64Mi"}}]}
        });
        serde_json::from_value(doc).unwrap()
    }

    fn history(days: i64) -> ContainerHistory {
        let samples = |scale: f64| -> Vec<(i64, f64)> {
            (0..days * 288)
                .map(|i| {
                    (
                        i * 300,
                        scale * (1.0 + 0.5 * (i as f64 * std::f64::consts::TAU / 288.0).sin()),
                    )
                })
                .collect()
        };
        ContainerHistory {
            workload: "Deployment/web".into(),
            container: "app".into(),
            cpu: samples(0.5),
            memory: samples(200.0 * 1024.0 * 1024.0),
            cpu_request: Some(1.0),
            memory_request: Some(512.0 * 1024.0 * 1024.0),
            replicas: 3,
        }
    }

    #[test]
    fn suggestion_has_requests_replicas_and_a_stable_id() {
        let s = suggest(&spec(), &[history(4)], 4 * 86_400).unwrap();
        assert!(s.has_enough_data_to_scale);
        let c = &s.containers[0];
        assert!(
            c.cpu.as_deref().unwrap().ends_with('m')
                && c.memory.as_deref().unwrap().ends_with("Mi")
        );
        assert!(s.suggested_replicas.unwrap() >= 1);
        assert_eq!(
            s.id,
            suggest(&spec(), &[history(4)], 4 * 86_400).unwrap().id
        );
    }

    #[test]
    fn little_history_is_not_enough_to_scale_and_none_is_an_error() {
        let s = suggest(&spec(), &[history(0).clone()], 0);
        assert!(s.is_err());
        let mut short = history(1);
        short.cpu.truncate(5);
        short.memory.truncate(5);
        assert!(
            !suggest(&spec(), &[short], 1500)
                .unwrap()
                .has_enough_data_to_scale
        );
    }
}

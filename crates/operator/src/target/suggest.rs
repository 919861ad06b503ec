//! From an AIScaleTarget's settings, its workloads' history and the previous suggestion
//! to the suggestion written into its status. Pure: history and state in, suggestion out.
//! Every value goes through `prescale_forecast::decide::decide`, the function
//! `prescale backtest` replays, with the decision state kept in the suggestion
//! (`decisions`) so that hysteresis and calibration survive restarts.

use std::collections::BTreeMap;

use prescale_api::mode::ModelMode;
use prescale_api::settings::{EffectiveModel, effective_model};
use prescale_api::target::scaling::{ScalingBehavior, ScalingStep};
use prescale_api::target::status::{
    ContainerRecommendation, DecisionStatus, ForecastErrors, Suggestion,
};
use prescale_api::target::vertical::ResourcePolicy;
use prescale_api::{AIScaleTargetSpec, mode::StepType};
use prescale_forecast::decide::{DecisionSpec, DecisionState, decide, history_span};
use prescale_forecast::forecaster::forecast_peak;
use prescale_forecast::mode::Mode;
use prescale_forecast::recommend::{Bounds, Step};
use prescale_forecast::resource::Resource;
use prescale_forecast::seasons::detect_cycles_today;
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
    /// The workload's pods over time (what per-pod usage is multiplied by for its total).
    pub replicas_history: Vec<(i64, f64)>,
}

/// The forecaster's mode for the API's model settings.
pub fn mode_of(m: &EffectiveModel) -> Mode {
    match m.mode {
        ModelMode::Undershoot => Mode::Undershoot,
        ModelMode::CostOptimized => Mode::CostOptimized,
        ModelMode::Balanced => Mode::Balanced,
        ModelMode::AssuranceOptimized => Mode::AssuranceOptimized,
        ModelMode::Overshoot => Mode::Overshoot,
        ModelMode::Percentile => Mode::Percentile(m.percentile.unwrap_or(95.0)),
    }
}

/// `scaling_behavior` as step limits (up, down); `unit_absolute` reads an absolute step
/// in the metric's unit.
pub(crate) fn steps(
    b: Option<&ScalingBehavior>,
    unit_absolute: impl Fn(&ScalingStep) -> Option<f64>,
) -> (Option<Step>, Option<Step>) {
    let step = |s: &Option<ScalingStep>| {
        s.as_ref().and_then(|s| match s.type_ {
            StepType::Percent => s.percent.map(Step::Percent),
            StepType::Absolute => unit_absolute(s).map(Step::Absolute),
        })
    };
    (
        b.and_then(|b| step(&b.scale_up)),
        b.and_then(|b| step(&b.scale_down)),
    )
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

/// The decision spec of one metric: what `prescale backtest` builds from its flags.
pub fn decision_spec(
    m: &EffectiveModel,
    resource: Resource,
    bounds: Bounds,
    (scale_up, scale_down): (Option<Step>, Option<Step>),
) -> DecisionSpec {
    DecisionSpec {
        resource,
        rate: mode_of(m).target_rate(resource),
        buffer: m.buffer_fraction,
        bounds,
        scale_up,
        scale_down,
        min_lookback: m.min_lookback.as_secs() as i64,
    }
}

fn state_of(s: Option<&DecisionStatus>) -> DecisionState {
    s.map(|s| DecisionState {
        applied: s.applied,
        decided_at: s.decided_at,
        calibration: s.calibration,
        pending_since: s.pending_since,
        pending_value: s.pending_value,
        band: s.band,
    })
    .unwrap_or_default()
}

fn status_of(s: &DecisionState) -> DecisionStatus {
    DecisionStatus {
        applied: s.applied,
        decided_at: s.decided_at,
        calibration: s.calibration,
        pending_since: s.pending_since,
        pending_value: s.pending_value,
        band: s.band,
    }
}

/// The decision for one metric of one container.
#[derive(Debug, Clone)]
pub struct Predicted {
    /// The value to apply, or the provisional one while there is not enough history.
    pub value: Option<f64>,
    pub model: String,
    pub error: f64,
    pub enough: bool,
    pub state: DecisionState,
}

/// Forecasts `samples` at `now` and decides the value from the previous decision `state`:
/// the operator's one path from history to a value.
pub fn predict(
    samples: &[(i64, f64)],
    horizon_secs: i64,
    spec: &DecisionSpec,
    state: &DecisionState,
    now: i64,
) -> Predicted {
    let Ok(series) = Series::from_samples(samples) else {
        return Predicted {
            value: state.applied,
            model: "none".into(),
            error: f64::NAN,
            enough: false,
            state: *state,
        };
    };
    let step = series.step.max(1);
    let horizon = (horizon_secs / step).max(1) as usize;
    let cycles = detect_cycles_today(&series.values, series.start, step, now);
    let forecast = forecast_peak(&series.values, step, horizon, spec.rate, &cycles).ok();
    // The usage seen since the previous decision, on the same grid the backtest replays.
    let since = state.decided_at.map_or(series.len(), |d| {
        ((d - series.start).max(0) + step - 1).div_euclid(step) as usize
    });
    let until = ((now - series.start).max(0) + step - 1).div_euclid(step) as usize;
    let observed = &series.values[since.min(series.len())..until.clamp(since, series.len())];
    let span = history_span(&series.values, step);
    let d = decide(forecast.as_ref(), observed, now, span, spec, state);
    Predicted {
        value: d.value.or(d.wanted),
        model: forecast
            .as_ref()
            .map_or("none", |f| f.model.name())
            .to_string(),
        error: forecast.as_ref().map_or(f64::NAN, |f| f.relative_error),
        enough: d.enough,
        state: d.state,
    }
}

fn cpu_text(cores: f64) -> String {
    format!("{}m", (cores * 1000.0).ceil().max(1.0) as i64)
}

fn memory_text(bytes: f64) -> String {
    format!("{}Mi", (bytes / (1024.0 * 1024.0)).ceil().max(1.0) as i64)
}

/// The suggestion for a target at `now`, or why none can be made yet. `previous` is the
/// suggestion in the target's status: its decision states continue. `hpa` is the
/// workload's single HPA, whose metrics the replicas follow.
pub fn suggest(
    spec: &AIScaleTargetSpec,
    history: &[ContainerHistory],
    custom: &BTreeMap<String, Vec<(i64, f64)>>,
    hpa: Option<&crate::horizontal::metrics::HpaView>,
    previous: Option<&Suggestion>,
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
    let mut decisions = BTreeMap::new();
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
        let mut decided = |metric: &str,
                           samples: &[(i64, f64)],
                           m: &EffectiveModel,
                           resource: Resource,
                           limits: Option<&ResourcePolicy>,
                           unit: fn(
            &prescale_api::target::scaling::AbsoluteStep,
        ) -> Option<&prescale_api::quantity::QuantityValue>| {
            let key = format!("{}/{}/{metric}", h.workload, h.container);
            let state = state_of(previous.and_then(|p| p.decisions.get(&key)));
            let spec = decision_spec(m, resource, bounds(limits), steps(b, |s| q(s, unit)));
            let p = predict(samples, m.horizon.as_secs() as i64, &spec, &state, now);
            decisions.insert(key, status_of(&p.state));
            p
        };
        let cpu = decided(
            "cpu",
            &h.cpu,
            &cpu_model,
            Resource::Cpu,
            policy.and_then(|p| p.cpu.as_ref()),
            |a| a.cpu.as_ref(),
        );
        let mem = decided(
            "memory",
            &h.memory,
            &mem_model,
            Resource::Memory,
            policy.and_then(|p| p.memory.as_ref()),
            |a| a.memory.as_ref(),
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
    // Replicas: the metrics of the workload's HPA (`hpa`), or seed 001's 80 % rule for
    // CPU and memory without one (`horizontal::need`).
    let replicas = spec.horizontal.as_ref().and_then(|h| {
        let metrics = crate::horizontal::metrics::horizontal_metrics(hpa, h);
        crate::horizontal::need::suggest_replicas(
            h,
            &metrics,
            history,
            custom,
            (&cpu_model, &mem_model),
            previous,
            now,
        )
    });
    if let Some(r) = &replicas {
        enough &= r.enough;
        for (metric, peak) in &r.peaks {
            totals.insert(metric.clone(), *peak);
        }
    }
    let suggested_replicas = replicas.as_ref().map(|r| r.replicas as i32);
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
        replicas_driven_by: replicas.map(|r| r.driver),
        forecasted_totals,
        containers,
        models,
        forecast_errors: Some(ForecastErrors {
            horizontal: suggested_replicas.and(mean_error),
            vertical: mean_error,
        }),
        decisions,
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
            replicas_history: vec![],
        }
    }

    #[test]
    fn suggestion_has_requests_replicas_and_a_stable_id() {
        let s = suggest(
            &spec(),
            &[history(4)],
            &BTreeMap::new(),
            None,
            None,
            4 * 86_400,
        )
        .unwrap();
        assert!(s.has_enough_data_to_scale);
        let c = &s.containers[0];
        assert!(
            c.cpu.as_deref().unwrap().ends_with('m')
                && c.memory.as_deref().unwrap().ends_with("Mi")
        );
        assert!(s.suggested_replicas.unwrap() >= 1);
        assert_eq!(
            s.id,
            suggest(
                &spec(),
                &[history(4)],
                &BTreeMap::new(),
                None,
                None,
                4 * 86_400
            )
            .unwrap()
            .id
        );
    }

    /// Without an HPA, replicas follow seed 001's 80 % rule for CPU and memory alike (the
    /// larger need wins), and `horizontal.scaling_behavior` limits each move in pods.
    #[test]
    fn replicas_follow_the_larger_of_cpu_and_memory_and_their_steps() {
        let replicas =
            |spec: &AIScaleTargetSpec, h: ContainerHistory, prior: Option<&Suggestion>| {
                suggest(spec, &[h], &BTreeMap::new(), None, prior, 4 * 86_400)
                    .unwrap()
                    .suggested_replicas
                    .unwrap()
            };
        let cpu_bound = replicas(&spec(), history(4), None);
        // Memory requests of a tenth: memory needs ten times the pods, and drives.
        let mut small_memory = history(4);
        small_memory.memory_request = Some(51.2 * 1024.0 * 1024.0);
        let memory_bound = replicas(&spec(), small_memory.clone(), None);
        assert!(memory_bound > cpu_bound, "{memory_bound} vs {cpu_bound}");
        assert!(memory_bound <= 10, "maxReplicas holds: {memory_bound}");
        // From a previous suggestion of 2, a step of one pod up allows 3.
        let mut stepped = spec();
        stepped.horizontal.as_mut().unwrap().scaling_behavior = Some(
            serde_json::from_value(serde_json::json!(
                {"scale_up": {"type": "absolute", "absolute": {"pods": 1}}}))
            .unwrap(),
        );
        let prior = Suggestion {
            suggested_replicas: Some(2),
            ..Suggestion::default()
        };
        assert_eq!(replicas(&stepped, small_memory, Some(&prior)), 3);
    }

    #[test]
    fn little_history_is_not_enough_to_scale_and_none_is_an_error() {
        let s = suggest(
            &spec(),
            &[history(0).clone()],
            &BTreeMap::new(),
            None,
            None,
            0,
        );
        assert!(s.is_err());
        let mut short = history(1);
        short.cpu.truncate(5);
        short.memory.truncate(5);
        assert!(
            !suggest(&spec(), &[short], &BTreeMap::new(), None, None, 1500)
                .unwrap()
                .has_enough_data_to_scale
        );
    }

    /// The operator and `prescale backtest` share one decision path: replaying a series
    /// through `suggest` (state carried from suggestion to suggestion, as the status
    /// carries it) applies exactly the values the backtest measures.
    #[test]
    fn the_operator_applies_exactly_what_the_backtest_replays() {
        use prescale_forecast::backtest::{BacktestConfig, backtest_series};
        use prescale_forecast::series::Series;

        let step = 300;
        let values: Vec<f64> = (0..3 * 288)
            .map(|i| {
                let noise = ((i * 7919) % 97) as f64 / 97.0;
                0.4 + 0.3 * (i as f64 * std::f64::consts::TAU / 288.0).sin() + 0.1 * noise
            })
            .collect();
        let series = Series {
            start: 0,
            step,
            values: values.clone(),
        };
        let config = BacktestConfig {
            bounds: Bounds {
                lower: Some(0.1),
                upper: Some(2.0),
            },
            min_lookback: 3600,
            warmup_days: 0.5,
            resource: Some(Resource::Cpu),
            ..BacktestConfig::default()
        };
        let replayed = backtest_series("web", &series, &config, &|_| {}).unwrap();
        let expected = &replayed.trace.provisioned["prescale"];

        let mut previous: Option<Suggestion> = None;
        let mut applied = 0;
        for t in (3..values.len()).step_by(3) {
            let mut h = history(0);
            h.cpu = values[..t]
                .iter()
                .enumerate()
                .map(|(i, v)| (i as i64 * step, *v))
                .collect();
            h.memory = h.cpu.clone();
            let s = suggest(
                &spec(),
                &[h],
                &BTreeMap::new(),
                None,
                previous.as_ref(),
                t as i64 * step,
            )
            .unwrap();
            let state = &s.decisions["Deployment/web/app/cpu"];
            match state.applied {
                Some(v) => {
                    assert_eq!(v, expected[t], "decision at sample {t}");
                    applied += 1;
                }
                None => assert!(expected[t].is_nan(), "decision at sample {t}"),
            }
            previous = Some(s);
        }
        assert!(applied > 100, "only {applied} decisions applied a value");
    }
}

//! The PodAutoscaler plan: every condition and reason it can produce, when it scales and
//! when it must not.

use jiff::Timestamp;
use prescale_api::podautoscaler::PodAutoscaler;
use prescale_autoscale::{AutoscalerState, MetricReading};
use serde_json::json;

use super::plan::*;

const NOW: &str = "2026-06-01T12:00:00Z";

fn now() -> Timestamp {
    NOW.parse().unwrap()
}

fn pa(strategy: &str, extra: serde_json::Value) -> PodAutoscaler {
    let mut spec = json!({
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "minReplicas": 1,
        "maxReplicas": 10,
        "scalingStrategy": strategy,
        "metricsSources": [{
            "metricSourceType": "pod", "protocolType": "http", "port": "8000",
            "path": "metrics", "targetMetric": "requests_in_flight", "targetValue": "10"
        }]
    });
    if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            s.insert(k.clone(), v.clone());
        }
    }
    serde_json::from_value(json!({
        "apiVersion": "autoscaling.aibrix.ai/v1alpha1",
        "kind": "PodAutoscaler",
        "metadata": {"name": "web", "namespace": "ns", "uid": "u1", "generation": 3},
        "spec": spec
    }))
    .unwrap()
}

fn scale(replicas: u32) -> Result<TargetScale, String> {
    Ok(TargetScale {
        replicas,
        ready_pods: replicas,
    })
}

fn run(
    pa: &PodAutoscaler,
    s: Result<TargetScale, String>,
    readings: &[Result<MetricReading, String>],
) -> PaOutcome {
    run_with(pa, s, readings, false, None, AutoscalerState::default())
}

fn run_with(
    pa: &PodAutoscaler,
    s: Result<TargetScale, String>,
    readings: &[Result<MetricReading, String>],
    paused: bool,
    conflict: Option<&str>,
    state: AutoscalerState,
) -> PaOutcome {
    plan(
        &PaInputs {
            pa,
            now: now(),
            paused,
            conflict: conflict.map(str::to_string),
            scale: s,
            readings,
            hpa_desired: None,
            forecasts: &[],
        },
        state,
    )
}

fn cond<'a>(o: &'a PaOutcome, type_: &str) -> (&'a str, &'a str) {
    let c = o
        .status
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .unwrap_or_else(|| panic!("no {type_} condition in {:?}", o.status.conditions));
    (c.status.as_str(), c.reason.as_str())
}

fn reading(total: f64, pods: u32) -> Result<MetricReading, String> {
    Ok(MetricReading { total, pods })
}

#[test]
fn apa_scales_by_the_ratio_and_reports_every_condition_in_order() {
    let p = pa("APA", json!({}));
    // 3 pods at 20 in flight each against a target of 10: ⌈3 × 2⌉ = 6.
    let o = run(&p, scale(3), &[reading(60.0, 3)]);
    assert_eq!(o.scale_to, Some(6));
    assert_eq!(o.status.desired_scale, Some(6));
    assert_eq!(o.status.actual_scale, Some(3));
    let types: Vec<&str> = o
        .status
        .conditions
        .iter()
        .map(|c| c.type_.as_str())
        .collect();
    assert_eq!(
        types,
        [
            "Ready",
            "ValidSpec",
            "MultiPodAutoscalerConflict",
            "ScalingActive",
            "AbleToScale"
        ]
    );
    assert_eq!(cond(&o, "Ready"), ("True", "AsExpected"));
    assert_eq!(cond(&o, "ValidSpec"), ("True", "Configured"));
    assert_eq!(
        cond(&o, "MultiPodAutoscalerConflict"),
        ("False", "AsExpected")
    );
    assert_eq!(cond(&o, "ScalingActive"), ("True", "AsExpected"));
    assert_eq!(cond(&o, "AbleToScale"), ("True", "ReconcilingScaleDiff"));
    assert_eq!(o.status.scaling_history.len(), 1);
    let d = &o.status.scaling_history[0];
    assert_eq!((d.previous_scale, d.new_scale, d.success), (3, 6, true));
    assert!(o.events.iter().any(|e| e.reason == "SuccessfulRescale"));
    assert_eq!(o.hpa, HpaIntent::Absent);
    assert_eq!(o.status.observed_generation, Some(3));
}

#[test]
fn inside_the_tolerance_band_nothing_moves_and_able_to_scale_is_stable() {
    let p = pa("APA", json!({}));
    let o = run(&p, scale(3), &[reading(31.0, 3)]);
    assert_eq!(o.scale_to, None);
    assert_eq!(cond(&o, "AbleToScale"), ("True", "Stable"));
    assert!(o.status.scaling_history.is_empty());
    assert!(o.events.is_empty());
}

#[test]
fn the_history_keeps_the_last_five_decisions() {
    let mut p = pa("APA", json!({}));
    let mut state = AutoscalerState::default();
    let mut replicas = 1;
    for _ in 0..8 {
        let o = run_with(
            &p,
            scale(replicas),
            &[reading(replicas as f64 * 20.0, replicas)],
            false,
            None,
            state,
        );
        state = o.state.clone();
        replicas = o.scale_to.unwrap_or(replicas);
        p.status = Some(o.status);
    }
    let history = &p.status.as_ref().unwrap().scaling_history;
    assert!(history.len() <= 5, "{history:?}");
    assert_eq!(history.last().unwrap().new_scale as u32, replicas);
}

#[test]
fn every_invalid_spec_gets_valid_spec_false_with_its_reason_and_nothing_scales() {
    let cases = [
        (json!({"minReplicas": 5, "maxReplicas": 2}), "InvalidBounds"),
        (
            json!({"metricsSources": [{"metricSourceType": "pod", "targetMetric": "x", "targetValue": "1"}]}),
            "MetricsConfigError",
        ),
        (
            json!({"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "namespace": "other"}}),
            "MissingScaleTargetRef",
        ),
        (
            json!({"observeWindowSeconds": 30, "panicWindowSeconds": 60}),
            "InvalidSpec",
        ),
    ];
    for (extra, reason) in cases {
        let p = pa("KPA", extra.clone());
        let o = run(&p, scale(3), &[reading(300.0, 3)]);
        assert_eq!(
            cond(&o, "ValidSpec"),
            ("False", reason),
            "{extra}: {:?}",
            o.status.conditions
        );
        assert_eq!(cond(&o, "Ready"), ("False", reason));
        assert_eq!(cond(&o, "ScalingActive").0, "False");
        assert_eq!(o.scale_to, None, "{extra}");
        assert_eq!(o.hpa, HpaIntent::Untouched);
        assert!(o.events.iter().any(|e| e.reason == "InvalidSpec"));
        // Said once: the next decision on the same spec records no second Event.
        let mut again = p.clone();
        again.status = Some(o.status.clone());
        assert!(
            run(&again, scale(3), &[reading(300.0, 3)])
                .events
                .is_empty()
        );
    }
}

#[test]
fn an_annotation_that_does_not_parse_is_an_invalid_spec() {
    let mut p = pa("KPA", json!({}));
    p.metadata.annotations = Some(
        [(
            "autoscaling.aibrix.ai/max-scale-up-rate".to_string(),
            "fast".to_string(),
        )]
        .into_iter()
        .collect(),
    );
    let o = run(&p, scale(3), &[reading(300.0, 3)]);
    assert_eq!(cond(&o, "ValidSpec").0, "False");
    assert_eq!(o.scale_to, None);
}

#[test]
fn a_conflict_stands_aside_entirely() {
    let p = pa("APA", json!({}));
    let o = run_with(
        &p,
        scale(3),
        &[reading(60.0, 3)],
        false,
        Some("PodAutoscaler older"),
        AutoscalerState::default(),
    );
    assert_eq!(
        cond(&o, "MultiPodAutoscalerConflict"),
        ("True", "MultiPodAutoscalerConflict")
    );
    assert_eq!(cond(&o, "Ready").0, "False");
    assert_eq!(cond(&o, "ValidSpec"), ("True", "Configured"));
    assert_eq!(o.scale_to, None);
    // Its own HPA goes too (HPA strategy): the two never fight.
    let h = pa("HPA", json!({}));
    let o = run_with(
        &h,
        scale(3),
        &[],
        false,
        Some("PodAutoscaler older"),
        AutoscalerState::default(),
    );
    assert_eq!(o.hpa, HpaIntent::Absent);
    assert!(
        o.events
            .iter()
            .any(|e| e.reason == "MultiPodAutoscalerConflict")
    );
}

#[test]
fn a_target_without_scale_is_missing_scale_target_ref() {
    let p = pa("KPA", json!({}));
    let o = run(&p, Err("Deployment web not found".into()), &[]);
    assert_eq!(cond(&o, "AbleToScale"), ("False", "MissingScaleTargetRef"));
    assert_eq!(cond(&o, "Ready"), ("False", "MissingScaleTargetRef"));
    assert_eq!(o.scale_to, None);
    assert!(o.events.iter().any(|e| e.reason == "FailedGetScale"));
}

#[test]
fn metrics_that_cannot_be_read_never_scale_down() {
    let p = pa("APA", json!({}));
    let o = run(&p, scale(6), &[Err("no ready pod answered".into())]);
    assert_eq!(
        cond(&o, "ScalingActive"),
        ("False", REASON_FAILED_GET_METRICS)
    );
    assert_eq!(cond(&o, "Ready").0, "False");
    assert!(o.scale_to.is_none_or(|n| n >= 6), "{:?}", o.scale_to);
}

#[test]
fn the_pause_holds_the_replicas() {
    let p = pa("APA", json!({}));
    let o = run_with(
        &p,
        scale(3),
        &[reading(90.0, 3)],
        true,
        None,
        AutoscalerState::default(),
    );
    assert_eq!(o.scale_to, None);
    assert_eq!(cond(&o, "ScalingActive"), ("False", REASON_PAUSED));
    assert_eq!(cond(&o, "AbleToScale"), ("False", REASON_PAUSED));
    // The HPA strategy's HPA is pinned to the replicas in place.
    let h = pa("HPA", json!({}));
    let o = run_with(&h, scale(4), &[], true, None, AutoscalerState::default());
    match o.hpa {
        HpaIntent::Keep { bounds } => {
            assert_eq!((bounds.min_replicas, bounds.max_replicas), (4, 4))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_hpa_strategy_keeps_an_hpa_within_the_bounds() {
    let h = pa("HPA", json!({"minReplicas": 2, "maxReplicas": 7}));
    let o = run(&h, scale(3), &[]);
    match &o.hpa {
        HpaIntent::Keep { bounds } => {
            assert_eq!((bounds.min_replicas, bounds.max_replicas), (2, 7))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(o.scale_to, None);
    assert_eq!(cond(&o, "ScalingActive"), ("True", "AsExpected"));
    assert_eq!(cond(&o, "Ready"), ("True", "AsExpected"));
}

#[test]
fn a_refused_scale_write_is_recorded() {
    let p = pa("APA", json!({}));
    let mut o = run(&p, scale(3), &[reading(60.0, 3)]);
    scale_failed(&mut o, "forbidden", now());
    let last = o.status.scaling_history.last().unwrap();
    assert!(!last.success);
    assert_eq!(last.error.as_deref(), Some("forbidden"));
    assert_eq!(cond(&o, "AbleToScale").0, "False");
    assert!(o.events.iter().any(|e| e.reason == "FailedRescale"));
    assert!(!o.events.iter().any(|e| e.reason == "SuccessfulRescale"));
}

#[test]
fn preview_records_the_projection_and_changes_nothing_auto_raises_the_floor() {
    let readings_over_time = [10.0, 20.0, 30.0, 40.0, 50.0];
    let decide = |mode: Option<&str>| {
        let predictive = match mode {
            Some(m) => json!({"mode": m, "horizonSeconds": 120}),
            None => serde_json::Value::Null,
        };
        let mut extra = json!({"observeWindowSeconds": 60, "panicWindowSeconds": 60});
        if !predictive.is_null() {
            extra["predictive"] = predictive;
        }
        let p = pa("APA", extra);
        let mut state = AutoscalerState::default();
        let mut last = None;
        for (i, total) in readings_over_time.iter().enumerate() {
            let at = now() + jiff::SignedDuration::from_secs(15 * i as i64);
            let o = plan(
                &PaInputs {
                    pa: &p,
                    now: at,
                    paused: false,
                    conflict: None,
                    scale: scale(5),
                    readings: &[reading(*total, 5)],
                    hpa_desired: None,
                    forecasts: &[],
                },
                state,
            );
            state = o.state.clone();
            last = Some(o);
        }
        last.unwrap()
    };
    let reactive = decide(None);
    let preview = decide(Some("Preview"));
    let auto = decide(Some("Auto"));
    assert!(reactive.status.predictive.is_none());
    let p = preview
        .status
        .predictive
        .as_ref()
        .expect("Preview records the projection");
    assert!(p.predicted_replicas.unwrap() > 5, "{p:?}");
    // Preview: the reactive decision stands.
    assert_eq!(preview.scale_to, reactive.scale_to);
    assert_eq!(preview.status.desired_scale, reactive.status.desired_scale);
    // Auto: the rising trend raises the replicas ahead of the load.
    let reactive_desired = reactive.status.desired_scale.unwrap();
    assert!(
        auto.status.desired_scale.unwrap() > reactive_desired.max(5),
        "auto {:?} vs reactive {reactive_desired}",
        auto.status.desired_scale
    );
}

#[test]
fn a_seasonal_forecast_raises_the_floor_where_the_trend_sees_nothing() {
    let p = pa(
        "APA",
        json!({"predictive": {"mode": "Auto", "horizonSeconds": 600}, "maxReplicas": 20}),
    );
    let flat = [reading(50.0, 5)];
    let decide = |forecasts: &[prescale_autoscale::Projection]| {
        plan(
            &PaInputs {
                pa: &p,
                now: now(),
                paused: false,
                conflict: None,
                scale: scale(5),
                readings: &flat,
                hpa_desired: None,
                forecasts,
            },
            AutoscalerState::default(),
        )
    };
    let without = decide(&[]);
    assert_eq!(
        without.scale_to, None,
        "40 over 5 pods at 10 is below target"
    );
    let peak = prescale_autoscale::Projection {
        metric: "requests_in_flight".into(),
        observed: 50.0,
        predicted: 120.0,
    };
    let with = decide(std::slice::from_ref(&peak));
    // ⌈120 / 10⌉ = 12 before the peak comes, at most doubling the 5 ready pods a step.
    assert_eq!(with.scale_to, Some(10));
    let status = with.status.predictive.unwrap();
    assert_eq!(status.predicted_value.as_deref(), Some("120"));
}

//! `spec.predictive`: Preview changes nothing but what is reported; Auto raises the replica
//! floor to what the projection asks for (capped by the scale-up rate), never lowers the
//! reactive decision, and still goes through the cooldowns and bounds.

mod common;

use common::{Driver, spec};
use prescale_api::podautoscaler::{PredictiveMode, annotations};
use prescale_autoscale::{MetricReading, Projection, linear_trend, predictive_horizon};
use proptest::prelude::*;

fn driver(mode: Option<&str>) -> Driver {
    let predictive = match mode {
        Some(m) => format!("predictive: {{mode: {m}, horizonSeconds: 120}}\n"),
        None => String::new(),
    };
    Driver::new(
        spec("KPA", "0.5", 1, 40, &predictive),
        &[(annotations::SCALE_DOWN_COOLDOWN_WINDOW, "0s")],
        4,
    )
}

fn projection(predicted: f64) -> Vec<Projection> {
    vec![Projection {
        metric: "gpu_cache_usage_perc".into(),
        observed: 2.0,
        predicted,
    }]
}

fn reading(d: &Driver, total: f64) -> Vec<Result<MetricReading, String>> {
    vec![Ok(MetricReading {
        total,
        pods: d.ready,
    })]
}

#[test]
fn auto_raises_the_floor_to_the_projection() {
    let mut d = driver(Some("Auto"));
    for _ in 0..20 {
        let r = d.step_with(&reading(&d, 2.0), &[]);
        assert_eq!(r.desired_replicas, 4);
    }
    // The projection asks for ⌈3.0 / 0.5⌉ = 6 while the metric is still at target.
    let r = d.step_with(&reading(&d, 2.0), &projection(3.0));
    let p = r.predictive.clone().unwrap();
    assert_eq!(p.mode, PredictiveMode::Auto);
    assert_eq!(
        (
            p.predicted_replicas,
            p.reactive_replicas,
            p.would_be_replicas
        ),
        (6, 4, 6)
    );
    assert_eq!(r.desired_replicas, 6, "{}", r.reason);
    // Capped by the scale-up rate: at most 2 × the ready pods.
    let r = d.step_with(&reading(&d, 3.0), &projection(100.0));
    assert_eq!(r.predictive.unwrap().predicted_replicas, 200);
    assert_eq!(r.desired_replicas, 12);
}

#[test]
fn preview_only_reports() {
    let mut plain = driver(None);
    let mut preview = driver(Some("Preview"));
    for step in 0..40 {
        let total = if step < 20 { 2.0 } else { 1.0 };
        let a = plain.step_with(&reading(&plain, total), &projection(9.0));
        let b = preview.step_with(&reading(&preview, total), &projection(9.0));
        assert_eq!(a.desired_replicas, b.desired_replicas, "step {step}");
        assert_eq!(a.predictive, None, "no spec.predictive, no evaluation");
        let p = b.predictive.unwrap();
        assert_eq!(p.mode, PredictiveMode::Preview);
        assert!(p.would_be_replicas >= b.desired_replicas);
    }
}

#[test]
fn mode_defaults_to_preview() {
    let mut d = Driver::new(spec("APA", "0.5", 1, 40, "predictive: {}\n"), &[], 4);
    let r = d.step_with(
        &[Ok(MetricReading {
            total: 2.0,
            pods: 4,
        })],
        &projection(8.0),
    );
    assert_eq!(r.predictive.unwrap().mode, PredictiveMode::Preview);
    assert_eq!(r.desired_replicas, 4);
    assert_eq!(
        predictive_horizon(&d.spec),
        std::time::Duration::from_secs(120)
    );
}

#[test]
fn aibrixs_linear_trend_feeds_the_floor() {
    let mut d = driver(Some("Auto"));
    // A steady climb: 2.0 → 4.4 over three minutes.
    for step in 0..13 {
        let total = 2.0 + 0.2 * f64::from(step);
        let samples = d
            .state
            .metrics
            .get("gpu_cache_usage_perc")
            .map(|m| m.samples.clone())
            .unwrap_or_default();
        let projections: Vec<Projection> = linear_trend(
            &samples,
            d.now,
            d.parameters.stable_window,
            predictive_horizon(&d.spec),
        )
        .map(|(observed, predicted)| Projection {
            metric: "gpu_cache_usage_perc".into(),
            observed,
            predicted,
        })
        .into_iter()
        .collect();
        let r = d.step_with(&reading(&d, total), &projections);
        if let Some(p) = r.predictive {
            assert!(p.predicted > p.observed, "a climb projects higher");
            assert!(r.desired_replicas >= p.reactive_replicas);
        }
    }
}

proptest! {
    /// Auto never decides fewer replicas than the same history without a projection, and
    /// Preview always decides exactly as many.
    #[test]
    fn auto_only_raises_and_preview_changes_nothing(
        steps in prop::collection::vec((0.0f64..20.0, prop::option::of(0.0f64..40.0)), 1..50),
    ) {
        let mut plain = driver(None);
        let mut preview = driver(Some("Preview"));
        let mut auto = driver(Some("Auto"));
        let mut auto_shadow = driver(Some("Auto"));
        for (total, predicted) in steps {
            let projections: Vec<Projection> = predicted.map(projection).unwrap_or_default();
            let a = plain.step_with(&reading(&plain, total), &projections);
            let b = preview.step_with(&reading(&preview, total), &projections);
            prop_assert_eq!(a.desired_replicas, b.desired_replicas);
            // Auto against its own history without this step's projection.
            auto_shadow.state = auto.state.clone();
            auto_shadow.current = auto.current;
            auto_shadow.ready = auto.ready;
            auto_shadow.now = auto.now;
            let without = auto_shadow.step_with(&reading(&auto_shadow, total), &[]);
            let with = auto.step_with(&reading(&auto, total), &projections);
            prop_assert!(with.desired_replicas >= without.desired_replicas,
                "{} < {}: {}", with.desired_replicas, without.desired_replicas, with.reason);
        }
    }
}

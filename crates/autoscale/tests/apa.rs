//! APA and the shared pipeline through `compute_desired_replicas`: the tolerance band, the
//! ratio outside it, doubling and halving per step, the APA window, several metrics (the most
//! demanding wins), schedules, and the HPA strategy deciding nothing here.

mod common;

use common::{Driver, spec};
use prescale_api::podautoscaler::annotations;
use prescale_autoscale::{Algorithm, MetricReading};

/// APA on 0.5 per pod with a one-sample window and no cooldown: each decision sees the
/// current reading only.
fn apa(replicas: u32, annotations: &[(&str, &str)]) -> Driver {
    let mut all = vec![(annotations::SCALE_DOWN_COOLDOWN_WINDOW, "0s")];
    all.extend_from_slice(annotations);
    Driver::new(
        spec(
            "APA",
            "0.5",
            1,
            40,
            "observeWindowSeconds: 15\npanicWindowSeconds: 15\n",
        ),
        &all,
        replicas,
    )
}

#[test]
fn holds_inside_the_band_and_scales_by_the_ratio_outside() {
    let mut d = apa(4, &[]);
    for per_pod in [0.5, 0.46, 0.54, 0.5] {
        let r = d.step(per_pod);
        assert_eq!(
            (r.desired_replicas, r.algorithm),
            (4, Algorithm::Apa),
            "{}",
            r.reason
        );
    }
    // 0.75 per pod on 4 pods: ratio 1.5, ⌈4 × 1.5⌉ = 6.
    assert_eq!(d.step(0.75).desired_replicas, 6);
    // 6 pods at 0.25: ratio 0.5, ⌈6 × 0.5⌉ = 3.
    assert_eq!(d.step(0.25).desired_replicas, 3);
}

#[test]
fn at_most_doubles_and_halves_per_step() {
    let mut d = apa(2, &[]);
    let up: Vec<u32> = (0..4).map(|_| d.step(10.0).desired_replicas).collect();
    assert_eq!(up, [4, 8, 16, 32]);
    let down: Vec<u32> = (0..4).map(|_| d.step(0.0).desired_replicas).collect();
    assert_eq!(down, [16, 8, 4, 2]);
}

#[test]
fn the_tolerance_annotations_widen_the_band() {
    let mut d = apa(
        4,
        &[
            (annotations::SCALE_UP_TOLERANCE, "0.6"),
            (annotations::SCALE_DOWN_TOLERANCE, "0.6"),
        ],
    );
    assert_eq!(d.step(0.75).desired_replicas, 4);
    assert_eq!(d.step(0.25).desired_replicas, 4);
}

#[test]
fn the_apa_window_averages_the_metric() {
    let mut d = Driver::new(
        spec("APA", "0.5", 1, 40, ""),
        &[
            (annotations::SCALE_DOWN_COOLDOWN_WINDOW, "0s"),
            (annotations::APA_WINDOW, "60s"),
        ],
        4,
    );
    for _ in 0..4 {
        d.step(0.5);
    }
    // One high reading among four in the 60 s window: (0.5 × 3 + 1.1) / 4 = 0.65, ratio 1.3.
    let r = d.step(1.1);
    assert_eq!(r.desired_replicas, 6, "{}", r.reason);
    assert!((r.metric_value.unwrap() - 0.65).abs() < 1e-9);
}

#[test]
fn with_several_metrics_the_most_demanding_wins() {
    let extra = "- {metricSourceType: pod, protocolType: http, port: '8000', path: /metrics, targetMetric: 'vllm:num_requests_waiting', targetValue: '2'}\nobserveWindowSeconds: 15\npanicWindowSeconds: 15\n";
    let mut d = Driver::new(
        spec("APA", "0.5", 1, 40, extra),
        &[(annotations::SCALE_DOWN_COOLDOWN_WINDOW, "0s")],
        4,
    );
    // Cache at target; 6 waiting per pod against 2: ratio 3, capped at 8.
    let r = d.step_with(
        &[
            Ok(MetricReading {
                total: 2.0,
                pods: 4,
            }),
            Ok(MetricReading {
                total: 24.0,
                pods: 4,
            }),
        ],
        &[],
    );
    assert_eq!(r.desired_replicas, 8);
    assert_eq!(r.metric.as_deref(), Some("vllm:num_requests_waiting"));
}

#[test]
fn the_schedule_in_force_bounds_the_decision() {
    // 2026-11-30 12:00 UTC is a Monday: the window is open.
    let extra = "schedules:\n- {name: business-hours, daysOfWeek: [Mon], startTime: '11:00', endTime: '13:00', minReplicas: 6}\n";
    let mut d = Driver::new(spec("APA", "0.5", 1, 40, extra), &[], 2);
    let r = d.step(0.5);
    assert_eq!(r.desired_replicas, 6, "{}", r.reason);
    assert_eq!(r.bounds.active_schedule.as_deref(), Some("business-hours"));
    assert_eq!((r.bounds.min_replicas, r.bounds.max_replicas), (6, 40));
}

#[test]
fn the_hpa_strategy_is_decided_by_the_hpa() {
    let mut d = Driver::new(spec("HPA", "0.5", 1, 10, ""), &[], 3);
    let r = d.step(5.0);
    assert!(!r.valid);
    assert_eq!((r.algorithm, r.desired_replicas), (Algorithm::Hpa, 3));
}

#[test]
fn readings_must_line_up_with_the_sources() {
    let mut d = apa(3, &[]);
    let r = d.step_with(&[], &[]);
    assert!(!r.valid);
    assert!(r.reason.contains("one reading"), "{}", r.reason);
    assert_eq!(r.desired_replicas, 3);
}

/// The per-pod average comes from the ready pods: with 10 ready at 1.5 × the target and 10
/// more starting, APA asks for ⌈10 × 1.5⌉ = 15 — fewer than the 20 already there, so it holds
/// 20 — instead of multiplying all 20 by the ratio (30, then more on every sync).
#[test]
fn pods_still_starting_are_not_multiplied_again() {
    let mut d = apa(20, &[]);
    d.ready = 10;
    let total = 0.75 * 10.0;
    let r = d.step_with(&[Ok(MetricReading { total, pods: 10 })], &[]);
    assert_eq!(r.desired_replicas, 20, "{}", r.reason);
    // With 10 ready at 3 × the target: 30, at most twice the ready pods (20): 20.
    let mut d = apa(12, &[]);
    d.ready = 10;
    let r = d.step_with(
        &[Ok(MetricReading {
            total: 15.0,
            pods: 10,
        })],
        &[],
    );
    assert_eq!(r.desired_replicas, 20, "{}", r.reason);
}

//! KPA through `compute_desired_replicas`, a decision every 15 s: panic mode on a burst
//! (entry within the panic window, no scale-down while panicking, exit after a calm stable
//! window), scale-down only after the stable window and the cooldown, the rate limits, the
//! tolerance band, bounds and scale-to-zero, and never scaling down on a metric failure.

mod common;

use common::{Driver, spec};
use prescale_api::podautoscaler::annotations;
use prescale_autoscale::MetricReading;
use proptest::prelude::*;

/// KPA on gpu_cache_usage_perc at 0.5 per pod, 1 to 20 replicas, AIBrix's defaults.
fn kpa(replicas: u32) -> Driver {
    Driver::new(spec("KPA", "0.5", 1, 20, ""), &[], replicas)
}

#[test]
fn steady_load_at_target_keeps_the_replicas() {
    let mut d = kpa(1);
    for _ in 0..40 {
        let r = d.step_total(1.0);
        assert!(r.valid, "{}", r.reason);
        assert_eq!(r.desired_replicas, 2, "{}", r.reason);
    }
}

#[test]
fn a_burst_enters_panic_mode_within_the_panic_window_and_scales_up() {
    let mut d = kpa(2);
    for _ in 0..24 {
        assert_eq!(d.step_total(1.0).desired_replicas, 2);
    }
    // Demand jumps five-fold: 5.0 total = 10 pods at 0.5. The panic window's average
    // (4 samples) asks for twice the ready pods at the first decision: panic at once, and
    // at most twice the ready pods per decision.
    let replicas: Vec<(u32, bool)> = (0..6)
        .map(|_| {
            let r = d.step_total(5.0);
            (r.desired_replicas, r.panicking)
        })
        .collect();
    assert_eq!(
        replicas,
        [
            (4, true),
            (6, true),
            (8, true),
            (10, true),
            (10, true),
            (10, true)
        ],
        "scaled to the burst within the 60 s panic window"
    );
}

#[test]
fn no_scale_down_while_panicking_then_down_after_the_stable_window_and_cooldown() {
    let mut d = kpa(2);
    for _ in 0..24 {
        d.step_total(1.0);
    }
    for _ in 0..4 {
        d.step_total(5.0);
    }
    assert_eq!(d.current, 10);
    // The burst ends. Panic mode holds the replicas until the threshold has not been
    // crossed for a whole stable window (180 s), then the cooldown (300 s) delays the
    // scale-down further.
    let calm_from = d.elapsed();
    let mut first_down = None;
    for _ in 0..60 {
        let r = d.step_total(1.0);
        if r.panicking {
            assert_eq!(
                r.desired_replicas, 10,
                "scaled down while panicking: {}",
                r.reason
            );
        }
        if r.desired_replicas < 10 && first_down.is_none() {
            first_down = Some(d.elapsed() - calm_from);
        }
    }
    let first_down = first_down.expect("scales down in the end");
    assert!(
        first_down > 180,
        "down after {first_down} s, before the stable window"
    );
    assert!(
        first_down >= 300,
        "down after {first_down} s, before the cooldown"
    );
    assert_eq!(d.current, 2, "back to the steady state");
}

#[test]
fn panic_exit_needs_a_whole_stable_window_below_the_threshold() {
    let mut d = kpa(2);
    for _ in 0..24 {
        d.step_total(1.0);
    }
    d.step_total(5.0);
    assert!(
        d.state.metrics["gpu_cache_usage_perc"]
            .panic
            .since
            .is_some()
    );
    let mut panicking_for = 0;
    loop {
        let r = d.step_total(1.0);
        if !r.panicking {
            break;
        }
        panicking_for += 15;
        assert!(panicking_for < 600, "never left panic mode");
    }
    assert!(
        panicking_for >= 180,
        "left panic mode after {panicking_for} s"
    );
}

#[test]
fn rates_limit_each_step_to_twice_up_and_half_down() {
    // One-sample windows, no panic and no cooldown: only the rates limit the steps.
    let windows = "observeWindowSeconds: 15\npanicWindowSeconds: 15\n";
    let plain = [
        (annotations::SCALE_DOWN_COOLDOWN_WINDOW, "0s"),
        (annotations::PANIC_THRESHOLD, "100"),
    ];
    let mut d = Driver::new(spec("KPA", "0.5", 1, 100, windows), &plain, 1);
    let up: Vec<u32> = (0..7)
        .map(|_| d.step_total(20.0).desired_replicas)
        .collect();
    assert_eq!(up, [2, 4, 8, 16, 32, 40, 40]);
    let down: Vec<u32> = (0..6).map(|_| d.step_total(0.0).desired_replicas).collect();
    assert_eq!(down, [20, 10, 5, 2, 1, 1]);
    // The annotations set the rates.
    let rates = [
        plain[0],
        plain[1],
        (annotations::MAX_SCALE_UP_RATE, "3"),
        (annotations::MAX_SCALE_DOWN_RATE, "4"),
    ];
    let mut d = Driver::new(spec("KPA", "0.5", 1, 100, windows), &rates, 1);
    let up: Vec<u32> = (0..4)
        .map(|_| d.step_total(20.0).desired_replicas)
        .collect();
    assert_eq!(up, [3, 9, 27, 40]);
    let down: Vec<u32> = (0..3).map(|_| d.step_total(0.0).desired_replicas).collect();
    assert_eq!(down, [10, 2, 1]);
}

#[test]
fn the_tolerance_band_holds_small_deviations() {
    let mut d = Driver::new(spec("KPA", "10", 1, 20, ""), &[], 4);
    for _ in 0..20 {
        // 41 over 4 pods of target 10 is 2.5 % above: ⌈41 / 10⌉ = 5 without the band.
        assert_eq!(d.step_total(41.0).desired_replicas, 4);
    }
    for _ in 0..20 {
        d.step_total(45.0);
    }
    assert_eq!(d.current, 5, "12.5 % above: outside the band");
}

#[test]
fn bounds_clamp_and_scale_to_zero_is_opt_in() {
    let mut d = Driver::new(
        spec("KPA", "0.5", 0, 3, ""),
        &[(annotations::SCALE_DOWN_COOLDOWN_WINDOW, "0s")],
        1,
    );
    for _ in 0..20 {
        d.step_total(100.0);
    }
    assert_eq!(d.current, 3, "maxReplicas");
    for _ in 0..40 {
        d.step_total(0.0);
    }
    assert_eq!(
        d.current, 1,
        "minReplicas 0 without scale-to-zero keeps one pod"
    );
    let mut d = Driver::new(
        spec("KPA", "0.5", 0, 3, ""),
        &[
            (annotations::SCALE_DOWN_COOLDOWN_WINDOW, "0s"),
            (annotations::SCALE_TO_ZERO, "true"),
        ],
        1,
    );
    for _ in 0..40 {
        d.step_total(0.0);
    }
    assert_eq!(d.current, 0, "scale-to-zero with minReplicas 0");
    let mut d = Driver::new(
        spec("KPA", "0.5", 2, 3, ""),
        &[(annotations::SCALE_TO_ZERO, "true")],
        2,
    );
    for _ in 0..60 {
        d.step_total(0.0);
    }
    assert_eq!(
        d.current, 2,
        "scale-to-zero is still bounded by minReplicas"
    );
}

#[test]
fn a_metric_failure_never_scales_down() {
    let mut d = Driver::new(
        spec(
            "KPA",
            "0.5",
            1,
            20,
            "- {metricSourceType: pod, protocolType: http, port: '8000', path: /metrics, targetMetric: 'vllm:num_requests_waiting', targetValue: '2'}\n",
        ),
        &[(annotations::SCALE_DOWN_COOLDOWN_WINDOW, "0s")],
        6,
    );
    for _ in 0..30 {
        let r = d.step_with(
            &[
                Ok(MetricReading {
                    total: 0.0,
                    pods: 6,
                }),
                Err("connection refused".into()),
            ],
            &[],
        );
        assert_eq!(r.desired_replicas, 6, "{}", r.reason);
        assert_eq!(r.failed_metrics.len(), 1);
    }
    let r = d.step_with(&[Err("timeout".into()), Err("timeout".into())], &[]);
    assert!(!r.valid);
    assert_eq!(r.desired_replicas, 6);
    assert!(r.reason.contains("timeout"), "{}", r.reason);
}

/// A random decision history: per step, the workload-wide demand or a failed read.
fn history() -> impl Strategy<Value = Vec<Option<f64>>> {
    prop::collection::vec(
        prop_oneof![8 => (0.0f64..30.0).prop_map(Some), 1 => Just(None)],
        1..80,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Whatever the load and the failures: the replicas stay within the bounds (and at one
    /// or more without scale-to-zero), panic mode never lowers them, a failed read never
    /// lowers them, and the memory stays within its windows.
    #[test]
    fn kpa_invariants(
        steps in history(),
        min in 0i32..4,
        extra in 0i32..30,
        start in 1u32..20,
        scale_to_zero in any::<bool>(),
        up_rate in 1.0f64..5.0,
        down_rate in 1.0f64..5.0,
        threshold in 1.0f64..4.0,
        cooldown in 0u64..400,
    ) {
        let max = min.max(1) + extra;
        let (up_rate, down_rate, threshold) = (format!("{up_rate}"), format!("{down_rate}"), format!("{threshold}"));
        let cooldown = format!("{cooldown}s");
        let zero = scale_to_zero.to_string();
        let mut d = Driver::new(
            spec("KPA", "0.5", min, max, ""),
            &[
                (annotations::MAX_SCALE_UP_RATE, &up_rate),
                (annotations::MAX_SCALE_DOWN_RATE, &down_rate),
                (annotations::PANIC_THRESHOLD, &threshold),
                (annotations::SCALE_DOWN_COOLDOWN_WINDOW, &cooldown),
                (annotations::SCALE_TO_ZERO, &zero),
            ],
            start.min(max as u32),
        );
        let mut was_panicking = false;
        for step in steps {
            let before = d.current;
            let reading = match step {
                Some(total) => Ok(MetricReading { total, pods: d.ready }),
                None => Err("scrape failed".to_string()),
            };
            let r = d.step_with(&[reading], &[]);
            let n = r.desired_replicas;
            prop_assert!(n >= min as u32 && n <= max as u32, "{n} outside [{min}, {max}]: {}", r.reason);
            if !scale_to_zero {
                prop_assert!(n >= 1);
            }
            if step.is_none() {
                prop_assert!(n >= before, "a failed read lowered {before} to {n}");
            }
            if was_panicking && r.panicking {
                prop_assert!(n >= before, "panic mode lowered {before} to {n}");
            }
            was_panicking = r.panicking;
            let samples = &d.state.metrics.get("gpu_cache_usage_perc").map(|m| m.samples.len()).unwrap_or(0);
            prop_assert!(*samples <= 13, "{samples} samples kept for a 180 s window at 15 s");
        }
    }

    /// The memory is plain data: serialised and read back mid-way, the decisions that follow
    /// are the same (JSON may move a float by its last bit, so the values are compared to a
    /// tolerance).
    #[test]
    fn the_state_round_trips(steps in history(), split in 0usize..80) {
        let mut a = kpa(3);
        let mut b = kpa(3);
        for (i, step) in steps.iter().enumerate() {
            if i == split {
                let json = serde_json::to_string(&b.state).unwrap();
                b.state = serde_json::from_str(&json).unwrap();
            }
            let reading = |d: &Driver| match step {
                Some(total) => Ok(MetricReading { total: *total, pods: d.ready }),
                None => Err("scrape failed".to_string()),
            };
            let ra = a.step_with(&[reading(&a)], &[]);
            let rb = b.step_with(&[reading(&b)], &[]);
            prop_assert_eq!(
                (ra.desired_replicas, ra.panicking, ra.valid),
                (rb.desired_replicas, rb.panicking, rb.valid)
            );
            let (va, vb) = (ra.metric_value.unwrap_or(0.0), rb.metric_value.unwrap_or(0.0));
            prop_assert!((va - vb).abs() <= 1e-9 * va.abs().max(1.0));
        }
    }
}

use proptest::prelude::*;

use super::*;

fn spec() -> HpaSpec {
    HpaSpec {
        target_per_pod: 0.8,
        min_replicas: 1,
        max_replicas: 100,
        tolerance: TOLERANCE,
        behavior: Behavior::default(),
    }
}

fn reading(total: f64, ready: u32, starting: u32) -> HpaReading {
    HpaReading {
        total,
        ready,
        starting,
        current: ready + starting,
    }
}

fn at(s: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + s).unwrap()
}

#[test]
fn within_the_tolerance_nothing_changes() {
    // 4 pods at 0.85 average against 0.8: ratio 1.0625.
    assert_eq!(calculate(&reading(3.4, 4, 0), 0.8, TOLERANCE), 4);
    // Outside: 4 × 1.25 = 5.
    assert_eq!(calculate(&reading(4.0, 4, 0), 0.8, TOLERANCE), 5);
    assert_eq!(calculate(&reading(1.6, 4, 0), 0.8, TOLERANCE), 2);
}

#[test]
fn starting_pods_count_as_idle_when_scaling_up() {
    // 4 ready at 1.2 each (ratio 1.5) with 2 starting: 4.8 / 6 = 0.8 → ratio 1: hold.
    assert_eq!(calculate(&reading(4.8, 4, 2), 0.8, TOLERANCE), 6);
    // 4 ready at 2.0 (ratio 2.5) with 2 starting: 8 / 6 / 0.8 = 1.67 → 10.
    assert_eq!(calculate(&reading(8.0, 4, 2), 0.8, TOLERANCE), 10);
}

#[test]
fn scale_up_is_limited_to_double_or_four_pods_per_period() {
    let (n, _) = hpa_step(&spec(), &reading(80.0, 2, 0), at(0), HpaState::default());
    assert_eq!(n, 6, "max(2 × 2, 2 + 4)");
    let (n, _) = hpa_step(&spec(), &reading(800.0, 10, 0), at(0), HpaState::default());
    assert_eq!(n, 20, "max(2 × 10, 10 + 4)");
}

#[test]
fn scale_down_waits_for_the_stabilisation_window() {
    let mut state = HpaState::default();
    let mut current = 10;
    for tick in 0..=25 {
        let total = if tick == 0 { 8.0 } else { 1.6 };
        let (n, s) = hpa_step(&spec(), &reading(total, current, 0), at(tick * 15), state);
        state = s;
        let expected = if tick * 15 <= 300 { 10 } else { 2 };
        assert_eq!(n, expected, "at {} s", tick * 15);
        current = n;
    }
}

proptest! {
    /// Within [min, max]; never moves against the metric.
    #[test]
    fn bounded_and_monotone(total in 0.0f64..200.0, ready in 1u32..50, starting in 0u32..10) {
        let r = reading(total, ready, starting);
        let (n, _) = hpa_step(&spec(), &r, at(0), HpaState::default());
        prop_assert!((1..=100).contains(&n));
        let ratio = total / f64::from(ready) / 0.8;
        if ratio > 1.0 + TOLERANCE { prop_assert!(n >= r.current.min(100)); }
        if ratio < 1.0 - TOLERANCE { prop_assert!(n <= r.current.max(1)); }
    }
}

use proptest::prelude::*;

use super::metrics::Run;
use super::*;

#[test]
fn the_trace_is_interpolated_linearly_between_samples() {
    let ticks = load_at_ticks(&[0.0, 300.0, f64::NAN, 0.0], 300, 100);
    assert_eq!(
        ticks,
        vec![
            0.0, 100.0, 200.0, 300.0, 300.0, 300.0, 300.0, 200.0, 100.0, 0.0
        ]
    );
}

#[test]
fn a_new_pod_serves_only_after_its_start_up_delay() {
    let mut w = Workload::new(2, 4);
    assert_eq!(w.ready(0), 2);
    w.scale_to(5, 10);
    assert_eq!((w.replicas(), w.ready(10)), (5, 2));
    assert_eq!(w.ready(13), 2);
    assert_eq!(w.ready(14), 5);
    // Scaling down removes the starting pods first.
    w.scale_to(6, 15);
    w.scale_to(3, 16);
    assert_eq!((w.replicas(), w.ready(16)), (3, 3));
}

#[test]
fn under_capacity_counts_the_ticks_with_load_above_ready_capacity() {
    let load = [1.0, 2.0, 3.0, 4.0, 2.0];
    let ready = [1, 1, 2, 2, 2];
    let replicas = [1, 2, 2, 3, 2];
    let run = Run {
        load: &load,
        replicas: &replicas,
        ready: &ready,
        capacity: 1.5,
        sync: 3600,
        from: 1,
    };
    let m = run.measure(Some(4.5));
    // From tick 1: 2 > 1.5 and 4 > 3 are short; 3 ≤ 3 and 2 ≤ 3 are not.
    assert_eq!(m.under_capacity, 0.5);
    assert_eq!(m.replica_hours, 9.0);
    assert_eq!(m.replica_hours_vs_oracle, 2.0);
    // Changes at ticks 1, 3 and 4 (tick 1's decision is measured) over 4 hours.
    assert_eq!(m.scale_events_per_day, 3.0 * 6.0);
}

/// Simulates a schedule of replicas and returns the ready pods at each tick.
fn ready_under(schedule: &[u32], delay: i64) -> Vec<u32> {
    let mut w = Workload::new(schedule[0], delay);
    schedule
        .iter()
        .enumerate()
        .map(|(k, n)| {
            w.scale_to(*n, k as i64);
            w.ready(k as i64)
        })
        .collect()
}

#[test]
fn the_oracle_is_never_short_and_minimal_on_a_tiny_series() {
    let needs = [1, 1, 1, 4, 1, 1, 3, 3, 1, 1];
    let schedule = oracle(&needs, 2);
    assert_eq!(schedule, vec![1, 4, 4, 4, 3, 3, 3, 3, 1, 1]);
    let ready = ready_under(&schedule, 2);
    assert!(needs.iter().zip(&ready).all(|(n, r)| r >= n), "{ready:?}");
    // One pod fewer at any tick leaves some later tick short.
    for k in 0..schedule.len() {
        if schedule[k] == 0 {
            continue;
        }
        let mut fewer = schedule.clone();
        fewer[k] -= 1;
        let ready = ready_under(&fewer, 2);
        assert!(
            needs.iter().zip(&ready).any(|(n, r)| r < n),
            "removing a pod at tick {k} still served everything"
        );
    }
}

proptest! {
    /// The oracle always serves the load once its pods are up.
    #[test]
    fn the_oracle_serves_every_tick(needs in prop::collection::vec(0u32..20, 1..60), delay in 0usize..6) {
        let schedule = oracle(&needs, delay);
        let mut w = Workload::new(schedule[0].max(needs[..=delay.min(needs.len() - 1)].iter().copied().max().unwrap()), delay as i64);
        for (k, n) in schedule.iter().enumerate() {
            w.scale_to(*n, k as i64);
            prop_assert!(w.ready(k as i64) >= needs[k], "tick {k}: {} ready for {}", w.ready(k as i64), needs[k]);
        }
    }

    /// prescale's floor only ever raises what the HPA sets, and the HPA still scales above it.
    #[test]
    fn the_floor_never_goes_below_the_hpa(loads in prop::collection::vec(0.0f64..50.0, 2..40), floors in prop::collection::vec(prop::option::of(0u32..20), 2..40)) {
        let shared = Shared { target_per_pod: 0.8, min_replicas: 1, max_replicas: 100 };
        let mut alone = Autoscaler::new("hpa", &shared).unwrap();
        let mut fed = Autoscaler::new("prescale+hpa", &shared).unwrap();
        let mut current = 5;
        for (k, (load, floor)) in loads.iter().zip(&floors).enumerate() {
            let o = Observation {
                now: Timestamp::from_second(1_800_000_000 + 15 * k as i64).unwrap(),
                load: *load,
                ready: current,
                current,
                forecast: None,
                floor: *floor,
            };
            let own = alone.decide(&o);
            let with_floor = fed.decide(&o);
            prop_assert!(with_floor >= own, "tick {k}: {with_floor} below the HPA's {own}");
            prop_assert_eq!(with_floor, own.max(floor.unwrap_or(0)));
            current = with_floor;
        }
    }
}

/// A tiny daily cycle: three days of a morning ramp, every 5 minutes.
fn daily(days: usize) -> Series {
    let samples: Vec<(i64, f64)> = (0..days * 288)
        .map(|i| {
            let minute = (i % 288) as f64 * 5.0;
            let peak = if (480.0..720.0).contains(&minute) {
                900.0
            } else {
                100.0
            };
            (i as i64 * 300, peak)
        })
        .collect();
    Series::from_samples(&samples).unwrap()
}

#[test]
fn on_a_daily_step_the_forecast_floor_has_pods_ready_where_the_hpa_lags() {
    let config = HorizontalConfig {
        forecast: BacktestConfig {
            min_lookback: 86_400,
            warmup_days: 2.0,
            ..BacktestConfig::default()
        },
        ..HorizontalConfig::default()
    };
    let r = run_series("daily_requests", &daily(4), &config, &|_| {}).unwrap();
    let hpa = r.policies["hpa"];
    let fed = r.policies["prescale+hpa"];
    let oracle = r.policies["oracle"];
    assert_eq!(oracle.under_capacity, 0.0);
    assert!((oracle.replica_hours_vs_oracle - 1.0).abs() < 1e-12);
    assert!(
        hpa.under_capacity > 0.0,
        "a step up leaves the HPA short while pods start"
    );
    assert!(
        fed.under_capacity < hpa.under_capacity,
        "{} vs {}",
        fed.under_capacity,
        hpa.under_capacity
    );
    for p in POLICIES {
        assert!(r.policies[p].replica_hours_vs_oracle >= 1.0 - 1e-9, "{p}");
    }
}

use proptest::prelude::*;

use super::*;
use crate::mode::Mode;

fn need(metric: &str, replicas: u32) -> Need {
    Need {
        metric: metric.into(),
        replicas,
    }
}

#[test]
fn each_target_type_follows_the_hpa_formula() {
    // 4 cores at peak, 1 core requested per pod, 80 %: ceil(4 / 0.8) = 5.
    let util = Goal::Utilization {
        fraction: 0.8,
        per_pod_request: 1.0,
    };
    assert_eq!(needed(4.0, util), Some(5));
    // A zero fraction means the default 80 %.
    let default = Goal::Utilization {
        fraction: 0.0,
        per_pod_request: 1.0,
    };
    assert_eq!(needed(4.0, default), Some(5));
    // 900 requests/s in total at 100 per pod: 9.
    assert_eq!(needed(900.0, Goal::AverageValue(100.0)), Some(9));
    // An External value of 30 against a target of 10, measured at 4 replicas: 12.
    let value = Goal::Value {
        target: 10.0,
        replicas: 4,
    };
    assert_eq!(needed(30.0, value), Some(12));
    // Nothing computable: no request, a zero target, a NaN peak.
    let no_request = Goal::Utilization {
        fraction: 0.8,
        per_pod_request: 0.0,
    };
    assert_eq!(needed(4.0, no_request), None);
    assert_eq!(needed(4.0, Goal::AverageValue(0.0)), None);
    assert_eq!(needed(f64::NAN, Goal::AverageValue(1.0)), None);
    // A negative peak (noise below zero) needs nothing.
    assert_eq!(needed(-3.0, Goal::AverageValue(1.0)), Some(0));
}

#[test]
fn the_largest_need_drives_then_rounding_then_bounds() {
    let p = ReplicaPolicy::default();
    let d = decide_replicas(&[need("cpu", 3), need("memory", 7)], &p, None, (None, None)).unwrap();
    assert_eq!((d.replicas, d.driver.as_str()), (7, "memory"));
    let p = ReplicaPolicy {
        multiple_of: Some(4),
        ..Default::default()
    };
    assert_eq!(
        decide_replicas(&[need("cpu", 5)], &p, None, (None, None))
            .unwrap()
            .replicas,
        8
    );
    let p = ReplicaPolicy {
        allowed: vec![10, 2, 6],
        ..Default::default()
    };
    assert_eq!(
        decide_replicas(&[need("cpu", 4)], &p, None, (None, None))
            .unwrap()
            .replicas,
        6
    );
    assert_eq!(
        decide_replicas(&[need("cpu", 40)], &p, None, (None, None))
            .unwrap()
            .replicas,
        10
    );
    let p = ReplicaPolicy {
        min: Some(3),
        max: Some(5),
        ..Default::default()
    };
    assert_eq!(
        decide_replicas(&[need("cpu", 0)], &p, None, (None, None))
            .unwrap()
            .replicas,
        3
    );
    assert_eq!(
        decide_replicas(&[need("cpu", 50)], &p, None, (None, None))
            .unwrap()
            .replicas,
        5
    );
    assert_eq!(decide_replicas(&[], &p, None, (None, None)), None);
    // At least one replica without a minimum.
    let p = ReplicaPolicy::default();
    assert_eq!(
        decide_replicas(&[need("cpu", 0)], &p, None, (None, None))
            .unwrap()
            .replicas,
        1
    );
}

#[test]
fn steps_limit_each_move_in_pods_or_percent() {
    let p = ReplicaPolicy::default();
    let up = Some(Step::Absolute(2.0));
    let down = Some(Step::Percent(10.0));
    // From 4 up to a need of 10: at most +2.
    let d = decide_replicas(&[need("cpu", 10)], &p, Some(4), (up, down)).unwrap();
    assert_eq!(d.replicas, 6);
    // From 20 down to 2: at most 10 % of 20 = 2 pods.
    let d = decide_replicas(&[need("cpu", 2)], &p, Some(20), (up, down)).unwrap();
    assert_eq!(d.replicas, 18);
    // 10 % of 3 rounds up to one pod, not zero.
    let d = decide_replicas(&[need("cpu", 1)], &p, Some(3), (up, down)).unwrap();
    assert_eq!(d.replicas, 2);
    // Bounds win over a step: a new minimum above the previous value is honoured at once.
    let p = ReplicaPolicy {
        min: Some(12),
        ..Default::default()
    };
    let d = decide_replicas(&[need("cpu", 1)], &p, Some(4), (up, down)).unwrap();
    assert_eq!(d.replicas, 12);
}

#[test]
fn the_hpa_still_scales_above_the_floor() {
    assert_eq!(fed(5, 9), 9);
    assert_eq!(fed(5, 2), 5);
}

/// A daily cycle on a 5-minute grid: a 2-hour rise to 5 × the base at 12:00, with noise
/// that repeats every day.
fn cycle(days: usize) -> Vec<f64> {
    (0..days * 288)
        .map(|i| {
            let of_day = i % 288;
            let rise = if (144..168).contains(&of_day) {
                40.0
            } else {
                0.0
            };
            10.0 + rise + ((i * 7919) % 13) as f64 * 0.5
        })
        .collect()
}

/// The balanced floor's forecast of `cycle(14)` with `horizon` seconds, at sample
/// `day_sample` of the last day.
fn expected_at(values: &[f64], horizon: i64, day_sample: usize) -> (f64, bool) {
    let how = TotalForecast {
        horizon,
        level: FloorLevel::Expected,
        buffer: 0.0,
        min_lookback: 3600,
    };
    let i = 13 * 288 + day_sample;
    floor_load(&values[..i], 0, 300, i as i64 * 300, how).unwrap()
}

#[test]
fn the_floor_provisions_the_expected_rise_before_it_comes_and_drops_after() {
    let values = cycle(14);
    // Ten minutes before the rise, the horizon holds it: the expectation is the raised
    // level's, not the base.
    let (before, enough) = expected_at(&values, 1200, 142);
    assert!(enough);
    assert!(before > 25.0, "{before}");
    // Long after it, the forecast is the base level again: nothing is held up.
    let (after, _) = expected_at(&values, 1200, 200);
    assert!((10.0..20.0).contains(&after), "{after}");
    // The expectation, not an upper quantile: below the highest sample of the raised level.
    assert!(before <= 56.0, "{before}");
}

#[test]
fn a_long_horizon_provisions_its_predicted_peak_not_its_average() {
    let values = cycle(14);
    // At 10:00 with a 3-hour horizon: two quiet hours (about 13) and the first hour of the
    // rise (about 53). The horizon's average would be about 26; its peak stretch is the
    // raised level's.
    let (peak, enough) = expected_at(&values, 3 * 3600, 120);
    assert!(enough);
    assert!((45.0..=56.0).contains(&peak), "{peak}");
    let i = 13 * 288 + 120;
    let cycles = crate::seasons::detect_cycles_today(&values[..i], 0, 300, i as i64 * 300);
    let average = Replays::new(&values[..i], 300, 36, &cycles)
        .unwrap()
        .expected()
        .peak;
    assert!(average < 40.0, "the horizon's average {average}");
    // After the peak has passed the horizon, the base again.
    let (after, _) = expected_at(&values, 3 * 3600, 200);
    assert!((10.0..20.0).contains(&after), "{after}");
}

#[test]
fn a_plateau_ahead_in_a_long_horizon_gets_its_full_level() {
    // A week of 1-minute samples: 2 until 12:00, a 30-minute ramp to 8, held until 14:00
    // (the operator's daily-cycle lifecycle scenario). At 10:00 with a 3-hour horizon the
    // plateau is an hour away: the floor's load is the plateau's, 8, not the horizon's
    // average.
    let day = 1440;
    let demand = |m: usize| {
        let m = (m % day) as f64;
        let up = ((m - 720.0) / 30.0).clamp(0.0, 1.0);
        let down = ((m - 840.0) / 30.0).clamp(0.0, 1.0);
        2.0 + 6.0 * (up - down).max(0.0)
    };
    let values: Vec<f64> = (0..7 * day + 600).map(demand).collect();
    let how = TotalForecast {
        horizon: 3 * 3600,
        level: FloorLevel::Expected,
        buffer: 0.0,
        min_lookback: 3600,
    };
    let (load, enough) = floor_load(&values, 0, 60, values.len() as i64 * 60, how).unwrap();
    assert!(enough);
    // Above 7.7, so that at 70 % of 1 per pod the need is the plateau's: ⌈8 / 0.7⌉ = 12.
    assert!((7.7..=8.4).contains(&load), "{load}");
}

#[test]
fn the_horizon_is_cut_into_the_fewest_equal_stretches_of_at_most_15_minutes() {
    // 20 minutes of 5-minute samples: two stretches of 10 minutes.
    assert_eq!(stretches(4, 300), (2, 2));
    assert_eq!(stretches(3, 300), (1, 3));
    assert_eq!(stretches(36, 300), (12, 3));
    assert_eq!(stretches(16, 60), (2, 8));
    // Samples longer than a stretch: one sample each.
    assert_eq!(stretches(3, 3600), (3, 1));
    assert_eq!(stretches(0, 300), (1, 1));
}

#[test]
fn higher_modes_provision_more_and_percentile_names_the_quantile() {
    let values = cycle(14);
    let i = 13 * 288 + 60;
    let level = |mode: Mode| {
        let how = TotalForecast {
            horizon: 1200,
            level: mode.floor_level(),
            buffer: 0.0,
            min_lookback: 3600,
        };
        floor_load(&values[..i], 0, 300, i as i64 * 300, how)
            .unwrap()
            .0
    };
    let [under, cost, balanced, assurance, over] = Mode::NAMED.map(level);
    assert!(under < cost, "{under} {cost}");
    assert!(
        cost <= balanced && balanced < assurance,
        "{cost} {balanced} {assurance}"
    );
    assert!(assurance < over, "{assurance} {over}");
    assert_eq!(level(Mode::Percentile(50.0)), cost);
    assert_eq!(level(Mode::Percentile(98.0)), over);
}

#[test]
fn the_expectation_is_not_acted_on_without_enough_history() {
    let values = cycle(14);
    let how = TotalForecast {
        horizon: 1200,
        level: FloorLevel::Expected,
        buffer: 0.0,
        min_lookback: 30 * 86_400,
    };
    let (_, enough) = floor_load(&values, 0, 300, values.len() as i64 * 300, how).unwrap();
    assert!(!enough);
    let cold = floor_load(
        &values[..10],
        0,
        300,
        3000,
        TotalForecast {
            min_lookback: 0,
            ..how
        },
    );
    assert!(cold.is_none_or(|(_, enough)| !enough), "{cold:?}");
}

fn step() -> impl Strategy<Value = Option<Step>> {
    prop_oneof![
        Just(None),
        (0.0f64..300.0).prop_map(|p| Some(Step::Percent(p))),
        (0u32..20).prop_map(|a| Some(Step::Absolute(f64::from(a)))),
    ]
}

proptest! {
    #[test]
    fn always_within_min_and_max(
        needs in prop::collection::vec(0u32..500, 1..5),
        min in 0u32..20, extra in 0u32..60, multiple in 1u32..6,
        previous in prop::option::of(0u32..200), up in step(), down in step(),
    ) {
        let p = ReplicaPolicy { min: Some(min), max: Some(min + extra), multiple_of: Some(multiple), ..Default::default() };
        let needs: Vec<Need> = needs.iter().enumerate().map(|(i, n)| need(&format!("m{i}"), *n)).collect();
        let d = decide_replicas(&needs, &p, previous, (up, down)).unwrap();
        prop_assert!(d.replicas >= min && d.replicas <= min + extra, "{} not in [{min}, {}]", d.replicas, min + extra);
    }

    #[test]
    fn a_move_never_exceeds_its_step_within_bounds(
        need_n in 0u32..500, previous in 1u32..200, up in 0u32..20, down in 0u32..20,
    ) {
        let p = ReplicaPolicy::default();
        let steps = (Some(Step::Absolute(f64::from(up))), Some(Step::Absolute(f64::from(down))));
        let d = decide_replicas(&[need("cpu", need_n)], &p, Some(previous), steps).unwrap();
        prop_assert!(d.replicas <= previous + up);
        prop_assert!(d.replicas + down >= previous);
        // And it moves towards the need, never past it.
        let want = need_n.max(1);
        if want >= previous {
            prop_assert!(d.replicas >= previous && d.replicas <= want);
        } else {
            prop_assert!(d.replicas <= previous && d.replicas >= want);
        }
    }

    #[test]
    fn more_load_never_means_fewer_replicas(
        a in 0u32..500, extra in 0u32..500, min in 0u32..10, multiple in 1u32..6,
    ) {
        let p = ReplicaPolicy { min: Some(min), multiple_of: Some(multiple), ..Default::default() };
        let lo = decide_replicas(&[need("cpu", a)], &p, None, (None, None)).unwrap().replicas;
        let hi = decide_replicas(&[need("cpu", a + extra)], &p, None, (None, None)).unwrap().replicas;
        prop_assert!(hi >= lo);
    }

    #[test]
    fn fed_replicas_are_never_below_the_hpa(s in 0u32..1000, live in 0u32..1000) {
        prop_assert!(fed(s, live) >= live && fed(s, live) >= s);
    }
}

use super::*;

fn series(values: Vec<f64>) -> Series {
    Series {
        start: 0,
        step: 300,
        values,
    }
}

fn daily(days: usize) -> Vec<f64> {
    (0..days * 288)
        .map(|i| 10.0 + 5.0 * ((i as f64) * 2.0 * std::f64::consts::PI / 288.0).sin())
        .collect()
}

fn run(name: &str, values: Vec<f64>) -> SeriesResult {
    backtest_series(name, &series(values), &BacktestConfig::default(), &|_| {}).unwrap()
}

#[test]
fn decisions_never_read_the_future() {
    let base = daily(6);
    let a = run("s", base.clone());
    // Change everything after sample t: no decision taken at or before t may change.
    let t = 4 * 288;
    let mut changed = base.clone();
    for v in &mut changed[t..] {
        *v *= 3.0;
    }
    let b = run("s", changed);
    for policy in ["prescale", "vpa", "static_peak", "reactive"] {
        let (pa, pb) = (&a.trace.provisioned[policy], &b.trace.provisioned[policy]);
        // Samples up to t are provisioned by decisions taken at or before t.
        for i in 0..=t {
            assert!(
                pa[i] == pb[i] || (pa[i].is_nan() && pb[i].is_nan()),
                "{policy} changed at {i}"
            );
        }
    }
}

#[test]
fn oracle_is_the_physical_limit() {
    let r = run("s", daily(5));
    let oracle = r.policies["oracle"];
    assert_eq!(oracle.under_provisioned, 0.0);
    assert!((oracle.cost_vs_oracle - 1.0).abs() < 1e-12);
    for p in POLICIES {
        assert!(r.policies[p].cost_vs_oracle >= 0.0);
    }
}

#[test]
fn too_short_is_a_clear_error() {
    let err = backtest_series(
        "tiny",
        &series(vec![1.0; 10]),
        &BacktestConfig::default(),
        &|_| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("tiny"), "{err}");
}

#[test]
fn every_mode_is_replayed_with_its_resource_target() {
    let r = run("vm_memory_bytes.csv", daily(6));
    assert_eq!(r.resource, Resource::Memory);
    assert_eq!(r.modes.len(), Mode::NAMED.len());
    for (outcome, mode) in r.modes.iter().zip(Mode::NAMED) {
        assert_eq!(outcome.mode, mode.to_string());
        assert_eq!(outcome.target, mode.target_rate(Resource::Memory));
    }
    // The headline policy is the configured mode's replay.
    let balanced = r.modes.iter().find(|m| m.mode == "balanced").unwrap();
    assert_eq!(balanced.metrics, r.policies["prescale"]);
    let by_resource = summarize_by_resource(&[r, run("vm_cpu_cores.csv", daily(6))]);
    assert_eq!(
        by_resource.keys().collect::<Vec<_>>(),
        vec!["cpu", "memory"]
    );
    assert_eq!(by_resource["memory"].modes.len(), Mode::NAMED.len());
}

#[test]
fn changes_per_day_counts_applied_changes_only() {
    let r = run("s", daily(6));
    let p = &r.trace.provisioned["prescale"];
    let from = r.trace.from;
    let changes = p[from..]
        .windows(2)
        .filter(|w| !w[0].is_nan() && w[0] != w[1])
        .count();
    let days = (p.len() - from) as f64 / 288.0;
    assert!((r.policies["prescale"].changes_per_day - changes as f64 / days).abs() < 1e-9);
    // Values only change at decision times (every 15 minutes = 3 samples).
    for i in from + 1..p.len() {
        if p[i] != p[i - 1] {
            assert_eq!(i % 3, 0, "change at {i} is not at a decision");
        }
    }
}

#[test]
fn a_daily_spike_is_anticipated_where_the_reactive_policy_is_late() {
    // A flat level with a sudden daily spike at 03:00 for an hour.
    let values: Vec<f64> = (0..10 * 288)
        .map(|i| {
            if (36..48).contains(&(i % 288)) {
                8.0
            } else {
                1.0
            }
        })
        .collect();
    let r = run("job_cpu_cores.csv", values);
    assert!(r.daily_season);
    let prescale = r.policies["prescale"];
    let reactive = r.policies["reactive"];
    assert!(
        reactive.peak_onsets > 0 && prescale.peak_onsets > 0,
        "{prescale:?} vs {reactive:?}"
    );
    assert_eq!(reactive.peak_onset_coverage, Some(0.0));
    assert!(
        prescale.peak_onset_coverage.unwrap() > 0.5,
        "{prescale:?} vs {reactive:?}"
    );
}

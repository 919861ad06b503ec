use proptest::prelude::*;

use super::*;
use crate::models::Model;

fn forecast(peak: f64) -> Forecast {
    Forecast {
        peak,
        model: Model::RecentPeak,
        relative_error: 0.0,
        calibrated: true,
        daily_peak: None,
    }
}

fn spec(resource: Resource, rate: f64) -> DecisionSpec {
    DecisionSpec {
        resource,
        rate,
        buffer: 0.0,
        bounds: Bounds::default(),
        scale_up: None,
        scale_down: None,
        min_lookback: 0,
    }
}

/// Deterministic uniform noise in [0, 1).
fn noise(seed: u64) -> impl FnMut() -> f64 {
    let mut state = seed | 1;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Replays `days` of 15-minute decisions over usage `1 + noise` (5-minute samples) with a
/// forecaster that is `bias` times the true 98th percentile; returns the share of missed
/// samples and the applied changes per day.
fn replay(resource: Resource, rate: f64, bias: f64, days: usize) -> (f64, f64) {
    let spec = spec(resource, rate);
    let mut next = noise(7);
    let mut state = DecisionState::default();
    let (mut missed, mut samples, mut changes) = (0usize, 0usize, 0usize);
    let mut observed: Vec<f64> = vec![];
    for k in 0..days * 96 {
        let now = k as i64 * 900;
        let d = decide(
            Some(&forecast(1.98 * bias)),
            &observed,
            now,
            now,
            &spec,
            &state,
        );
        changes += usize::from(d.changed && k > 0);
        state = d.state;
        observed = (0..3).map(|_| 1.0 + next()).collect();
        if k > 96 * 2 {
            let value = d.value.unwrap();
            missed += observed.iter().filter(|u| **u > value).count();
            samples += observed.len();
        }
    }
    (missed as f64 / samples as f64, changes as f64 / days as f64)
}

#[test]
fn the_online_calibration_holds_the_target_rate_whatever_the_forecast_bias() {
    for bias in [0.7, 1.0, 1.4] {
        let (missed, _) = replay(Resource::Cpu, 0.02, bias, 40);
        assert!(
            (missed - 0.02).abs() < 0.01,
            "bias {bias}: missed {missed:.4} instead of 0.02"
        );
        let (missed, _) = replay(Resource::Memory, 0.0025, bias, 40);
        assert!(missed < 0.005, "bias {bias}: memory missed {missed:.4}");
    }
}

#[test]
fn changes_follow_the_budget_of_the_resource() {
    let (_, cpu) = replay(Resource::Cpu, 0.02, 1.0, 30);
    let (_, memory) = replay(Resource::Memory, 0.0025, 1.0, 30);
    assert!(cpu <= 24.0, "{cpu} CPU changes a day");
    assert!(memory <= 6.0, "{memory} memory changes a day");
}

#[test]
fn up_at_once_down_only_when_the_saving_lasts() {
    let spec = spec(Resource::Cpu, 0.02);
    let step = |state: &DecisionState, peak: f64, now: i64| {
        decide(Some(&forecast(peak)), &[], now, now, &spec, state)
    };
    let first = step(&DecisionState::default(), 1.0, 0);
    assert_eq!(first.value, Some(1.0));
    // Up at once, a little beyond what is needed.
    let up = step(&first.state, 2.0, 900);
    assert!(up.changed && up.value.unwrap() > 2.0, "{up:?}");
    let held = up.value.unwrap();
    // Down only after `down_after` of wanting less, then to the highest value wanted.
    let mut state = up.state;
    let mut values = vec![];
    for (k, peak) in [1.0, 1.2, 1.1, 1.0].into_iter().enumerate() {
        let d = step(&state, peak, 1800 + k as i64 * 900);
        values.push(d.value.unwrap());
        state = d.state;
    }
    assert_eq!(&values[..2], &[held, held], "{values:?}");
    assert!(values[2] < held && values[2] >= 1.2, "{values:?}");
    // A small dip is not worth a change.
    let small = step(&state, values[3] * 0.99, 10_000);
    assert!(!small.changed);
}

#[test]
fn not_enough_history_applies_nothing_and_a_failed_forecast_keeps_the_value() {
    let mut spec = spec(Resource::Memory, 0.0025);
    spec.min_lookback = 86_400;
    let early = decide(
        Some(&forecast(5.0)),
        &[],
        3600,
        3600,
        &spec,
        &DecisionState::default(),
    );
    assert_eq!(
        (early.value, early.wanted, early.enough),
        (None, Some(5.0), false)
    );
    let mut uncalibrated = forecast(5.0);
    uncalibrated.calibrated = false;
    let cold = decide(
        Some(&uncalibrated),
        &[],
        0,
        90_000,
        &spec,
        &DecisionState::default(),
    );
    assert_eq!(cold.value, None);
    let applied = decide(
        Some(&forecast(5.0)),
        &[],
        0,
        90_000,
        &spec,
        &DecisionState::default(),
    );
    let failed = decide(None, &[], 900, 90_900, &spec, &applied.state);
    assert_eq!((failed.value, failed.changed), (Some(5.0), false));
    let nan = decide(
        Some(&forecast(f64::NAN)),
        &[],
        900,
        90_900,
        &spec,
        &applied.state,
    );
    assert_eq!(nan.value, Some(5.0));
}

#[test]
fn the_daily_peak_is_provisioned_ahead_and_the_buffer_is_not_calibrated_away() {
    let mut spec = spec(Resource::Cpu, 0.02);
    let mut f = forecast(1.0);
    f.daily_peak = Some(3.0);
    let d = decide(Some(&f), &[], 0, 0, &spec, &DecisionState::default());
    assert_eq!(d.value, Some(3.0));
    // With a 50 % buffer, usage at the unbuffered value is not a miss.
    spec.buffer = 0.5;
    let d = decide(
        Some(&forecast(2.0)),
        &[],
        0,
        0,
        &spec,
        &DecisionState::default(),
    );
    assert_eq!(d.value, Some(3.0));
    let after = decide(Some(&forecast(2.0)), &[2.5, 2.9], 900, 900, &spec, &d.state);
    assert!(after.state.calibration > 0.0, "2.5 > 2.0 is a miss");
    let clean = decide(Some(&forecast(2.0)), &[1.9, 2.0], 900, 900, &spec, &d.state);
    assert!(clean.state.calibration < 0.0);
}

proptest! {
    #[test]
    fn values_stay_within_bounds_and_steps(
        peaks in proptest::collection::vec(0.0f64..100.0, 1..60),
        lo in 0.0f64..20.0, span in 0.0f64..80.0,
        up in 1.0f64..200.0, down in 1.0f64..100.0,
        memory in any::<bool>(),
    ) {
        let resource = if memory { Resource::Memory } else { Resource::Cpu };
        let mut spec = spec(resource, 0.02);
        spec.bounds = Bounds { lower: Some(lo), upper: Some(lo + span) };
        spec.scale_up = Some(Step::Percent(up));
        spec.scale_down = Some(Step::Percent(down));
        let mut state = DecisionState::default();
        for (k, peak) in peaks.iter().enumerate() {
            let now = k as i64 * 900;
            let observed = [peak * 0.9, *peak];
            let d = decide(Some(&forecast(*peak)), &observed, now, now, &spec, &state);
            let v = d.value.unwrap();
            prop_assert!(v >= lo - 1e-9 && v <= lo + span + 1e-9, "{} outside [{}, {}]", v, lo, lo + span);
            if let Some(previous) = state.applied {
                prop_assert_eq!(d.changed, v != previous);
                if v > previous {
                    prop_assert!(v <= previous + previous * up / 100.0 + 1e-9);
                }
                if v < previous {
                    prop_assert!(v >= previous - previous * down / 100.0 - 1e-9);
                }
            }
            prop_assert!(d.state.band > 0.0 && d.state.calibration.is_finite());
            state = d.state;
        }
    }
}

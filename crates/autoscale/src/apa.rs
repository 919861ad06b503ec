//! APA, AIBrix's own strategy (after Huo et al., "High Concurrency Response Strategy based
//! on Kubernetes Horizontal Pod Autoscaler", 2023): with the per-pod metric averaged over its
//! window, the ratio to the target decides. Above 1 + scale-up-tolerance the replicas grow
//! to ⌈current × ratio⌉, at most max-scale-up-rate times the current; below
//! 1 − scale-down-tolerance they shrink to ⌈current × ratio⌉, at least current /
//! max-scale-down-rate; in between nothing changes.

use prescale_api::podautoscaler::ScalingParameters;

/// APA's decision for one metric: `per_pod` is the metric's per-pod average over the window,
/// `target` the per-pod target. From zero replicas APA computes as if one pod were there
/// (⌈current × ratio⌉ would stay at zero forever).
pub fn recommend(per_pod: f64, target: f64, current_replicas: u32, p: &ScalingParameters) -> u32 {
    let current = f64::from(current_replicas.max(1));
    let ratio = per_pod / target;
    let wanted = (current * ratio).ceil();
    let desired = if ratio > 1.0 + p.scale_up_tolerance {
        wanted.min((p.max_scale_up_rate * current).ceil())
    } else if ratio < 1.0 - p.scale_down_tolerance {
        wanted.max((current / p.max_scale_down_rate).floor())
    } else {
        return current_replicas;
    };
    desired.clamp(0.0, f64::from(u32::MAX)) as u32
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn p() -> ScalingParameters {
        ScalingParameters::default()
    }

    #[test]
    fn holds_inside_the_tolerance_band() {
        for per_pod in [0.46, 0.5, 0.54, 0.549] {
            assert_eq!(recommend(per_pod, 0.5, 4, &p()), 4, "{per_pod}");
        }
    }

    #[test]
    fn scales_by_the_ratio_outside_it() {
        // 0.75 / 0.5 = 1.5: 4 → 6.
        assert_eq!(recommend(0.75, 0.5, 4, &p()), 6);
        // 0.25 / 0.5 = 0.5: 4 → 2.
        assert_eq!(recommend(0.25, 0.5, 4, &p()), 2);
    }

    #[test]
    fn at_most_doubles_or_halves_per_step() {
        assert_eq!(recommend(5.0, 0.5, 4, &p()), 8);
        assert_eq!(recommend(0.0, 0.5, 4, &p()), 2);
        assert_eq!(recommend(0.0, 0.5, 1, &p()), 0, "floor(1 / 2) = 0");
    }

    #[test]
    fn the_tolerances_are_the_annotations() {
        let wide = ScalingParameters {
            scale_up_tolerance: 0.6,
            scale_down_tolerance: 0.6,
            ..p()
        };
        assert_eq!(recommend(0.75, 0.5, 4, &wide), 4);
        assert_eq!(recommend(0.25, 0.5, 4, &wide), 4);
    }

    proptest! {
        #[test]
        fn moves_toward_the_target_within_the_rates(per_pod in 0.0f64..100.0, target in 0.01f64..50.0, current in 0u32..200) {
            let d = recommend(per_pod, target, current, &p());
            let ratio = per_pod / target;
            let base = current.max(1);
            if ratio > 1.1 {
                prop_assert!(d >= current && d <= 2 * base, "{current} -> {d} at {ratio}");
            } else if ratio < 0.9 {
                prop_assert!(d <= base && d >= base / 2, "{current} -> {d} at {ratio}");
            } else {
                prop_assert_eq!(d, current);
            }
        }
    }
}

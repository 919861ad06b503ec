//! What the `*/scale` webhook does with one write of a workload's replicas (UPDATE of
//! `deployments/scale`, `statefulsets/scale`, `rollouts/scale`: the HPA's scale-downs,
//! `kubectl scale`), as a pure function of the write, the target covering the workload
//! (found in the cache), the pause and the clock. It never calls the API server.
//!
//! A write that lowers the replicas below the target's replica floor
//! (`status.replicaFloor`, `horizontal::floor`) is raised back to the floor — or to what
//! ran before, when that was already below it: the webhook holds replicas up, the
//! rate-limited scale-up (`actuate::scale`) is what raises them — when all hold: the
//! target's `horizontal.mode` is autonomous, the pause is off, the target is not being
//! deleted, the floor names this workload and has not expired. Every other write is
//! admitted unchanged: raises (the HPA answering a spike above the forecast, prescale's
//! own step), writes at or above the floor, and always when in doubt. The webhook never
//! lowers a write.

use jiff::Timestamp;
use prescale_api::AIScaleTarget;
use prescale_api::mode::Scaling;

/// Why a write was admitted unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaleSkip {
    /// No AIScaleTarget covers the workload (or it is not in the cache).
    NoTarget,
    RecommendationMode,
    Paused,
    Deleting,
    /// The target publishes no floor (or one for another workload).
    NoFloor,
    Expired,
    /// The write is at or above the floor.
    AtOrAboveFloor,
    /// The write does not lower the replicas.
    NotLowering,
}

impl ScaleSkip {
    /// A short, bounded label for metrics.
    pub fn reason(self) -> &'static str {
        match self {
            ScaleSkip::NoTarget => "no_target",
            ScaleSkip::RecommendationMode => "recommendation_mode",
            ScaleSkip::Paused => "paused",
            ScaleSkip::Deleting => "deleting",
            ScaleSkip::NoFloor => "no_floor",
            ScaleSkip::Expired => "expired",
            ScaleSkip::AtOrAboveFloor => "at_or_above_floor",
            ScaleSkip::NotLowering => "not_lowering",
        }
    }
}

/// The webhook's answer for one write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaleDecision {
    Unchanged(ScaleSkip),
    /// Set `spec.replicas` to `to` (the floor) instead of `from`.
    Raise {
        from: i32,
        to: i32,
    },
}

/// Decides what to do with a write of `replicas` to workload `kind/name` that ran `old`
/// replicas before (`None`: unknown; see the module doc).
pub fn decide_scale(
    replicas: i32,
    old: Option<i32>,
    workload: (&str, &str),
    target: Option<&AIScaleTarget>,
    paused: bool,
    now: Timestamp,
) -> ScaleDecision {
    let skip = ScaleDecision::Unchanged;
    let Some(target) = target else {
        return skip(ScaleSkip::NoTarget);
    };
    let autonomous = target
        .spec
        .horizontal
        .as_ref()
        .and_then(|h| h.mode.as_ref())
        .and_then(|m| m.scaling())
        == Some(Scaling::Autonomous);
    if !autonomous {
        return skip(ScaleSkip::RecommendationMode);
    }
    if paused {
        return skip(ScaleSkip::Paused);
    }
    if target.metadata.deletion_timestamp.is_some() {
        return skip(ScaleSkip::Deleting);
    }
    let id = format!("{}/{}", workload.0, workload.1);
    let Some(floor) = target
        .status
        .as_ref()
        .and_then(|s| s.replica_floor.as_ref())
        .filter(|f| f.workload == id)
    else {
        return skip(ScaleSkip::NoFloor);
    };
    if floor.valid_until.0 <= now {
        return skip(ScaleSkip::Expired);
    }
    if replicas >= floor.replicas {
        return skip(ScaleSkip::AtOrAboveFloor);
    }
    let held = old.map_or(floor.replicas, |old| old.min(floor.replicas));
    if replicas >= held {
        return skip(ScaleSkip::NotLowering);
    }
    ScaleDecision::Raise {
        from: replicas,
        to: held,
    }
}

/// The replicas a write ends with.
pub fn admitted(replicas: i32, d: ScaleDecision) -> i32 {
    match d {
        ScaleDecision::Raise { to, .. } => to,
        ScaleDecision::Unchanged(_) => replicas,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use prescale_api::target::status::{AIScaleTargetStatus, ReplicaFloor};
    use proptest::prelude::*;

    const NOW: i64 = 1_800_000_000;

    fn target(mode: &str, floor: i32, valid_for: i64) -> AIScaleTarget {
        let spec = serde_json::from_value(serde_json::json!({
            "scaleTargetRef": {"kind": "Deployment", "name": "web"},
            "model": {"forecast_blocks": "15m", "forecast_interval": "15m"},
            "horizontal": {"mode": mode},
        }))
        .unwrap();
        let mut t = AIScaleTarget::new("web", spec);
        t.status = Some(AIScaleTargetStatus {
            replica_floor: Some(ReplicaFloor {
                workload: "Deployment/web".into(),
                hpa: "web".into(),
                replicas: floor,
                metric: "cpu".into(),
                valid_until: Time(Timestamp::from_second(NOW + valid_for).unwrap()),
            }),
            ..Default::default()
        });
        t
    }

    fn now() -> Timestamp {
        Timestamp::from_second(NOW).unwrap()
    }

    #[test]
    fn a_write_below_a_live_floor_is_raised_to_it() {
        let t = target("autonomous", 6, 60);
        assert_eq!(
            decide_scale(2, Some(8), ("Deployment", "web"), Some(&t), false, now()),
            ScaleDecision::Raise { from: 2, to: 6 }
        );
        // Held at what ran when that was below the floor: the actuator raises, in steps.
        assert_eq!(
            decide_scale(2, Some(4), ("Deployment", "web"), Some(&t), false, now()),
            ScaleDecision::Raise { from: 2, to: 4 }
        );
    }

    #[test]
    fn every_other_write_passes_unchanged() {
        let w = ("Deployment", "web");
        let live = target("autonomous", 6, 60);
        let cases = [
            (
                decide_scale(8, Some(9), w, Some(&live), false, now()),
                ScaleSkip::AtOrAboveFloor,
            ),
            (
                decide_scale(6, Some(9), w, Some(&live), false, now()),
                ScaleSkip::AtOrAboveFloor,
            ),
            (
                decide_scale(2, Some(9), w, None, false, now()),
                ScaleSkip::NoTarget,
            ),
            (
                decide_scale(2, Some(9), w, Some(&live), true, now()),
                ScaleSkip::Paused,
            ),
            (
                decide_scale(
                    2,
                    Some(9),
                    w,
                    Some(&target("recommendation", 6, 60)),
                    false,
                    now(),
                ),
                ScaleSkip::RecommendationMode,
            ),
            (
                decide_scale(
                    2,
                    Some(9),
                    w,
                    Some(&target("autonomous", 6, 0)),
                    false,
                    now(),
                ),
                ScaleSkip::Expired,
            ),
            (
                decide_scale(
                    2,
                    Some(9),
                    ("StatefulSet", "web"),
                    Some(&live),
                    false,
                    now(),
                ),
                ScaleSkip::NoFloor,
            ),
            (
                decide_scale(3, Some(2), w, Some(&live), false, now()),
                ScaleSkip::NotLowering,
            ),
        ];
        for (got, want) in cases {
            assert_eq!(got, ScaleDecision::Unchanged(want));
        }
        let mut deleted = live.clone();
        deleted.metadata.deletion_timestamp = Some(Time(now()));
        assert_eq!(
            decide_scale(2, Some(9), w, Some(&deleted), false, now()),
            ScaleDecision::Unchanged(ScaleSkip::Deleting)
        );
    }

    proptest! {
        /// The webhook never lowers a write (what the HPA asks on live metrics always
        /// runs), and raises only up to a live floor.
        #[test]
        fn never_lowers_and_never_exceeds_the_floor(
            write in 0i32..200, old in proptest::option::of(0i32..200), floor in 0i32..200,
            valid_for in -600i64..600,
            paused: bool, autonomous: bool,
        ) {
            let mode = if autonomous { "autonomous" } else { "recommendation" };
            let t = target(mode, floor, valid_for);
            let d = decide_scale(write, old, ("Deployment", "web"), Some(&t), paused, now());
            let out = admitted(write, d);
            prop_assert!(out >= write);
            prop_assert!(out <= write.max(floor));
            if let Some(old) = old {
                prop_assert!(out <= write.max(old), "never above what ran or was written");
            }
            if out != write {
                prop_assert!(autonomous && !paused && valid_for > 0);
            }
        }
    }
}

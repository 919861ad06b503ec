//! The limits a recommendation respects — bounds and `scaling_behavior` steps, applied by
//! `decide.rs` — and, horizontally, replicas. Pure functions over plain data; the operator
//! maps an AIScaleTarget's settings onto these types.

/// How far one change may move a value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Step {
    /// At most this many percent of the current value.
    Percent(f64),
    /// At most this much, in the value's unit.
    Absolute(f64),
}

impl Step {
    /// The largest move allowed from `current`.
    pub fn limit(self, current: f64) -> f64 {
        match self {
            Step::Percent(p) => current.abs() * p.max(0.0) / 100.0,
            Step::Absolute(a) => a.max(0.0),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Bounds {
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

impl Bounds {
    /// Clamps into [lower, upper]; a lower bound above the upper one gives the upper.
    pub fn clamp(self, v: f64) -> f64 {
        let v = self.lower.map_or(v, |l| v.max(l));
        self.upper.map_or(v, |u| v.min(u))
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReplicaPolicy {
    /// Target utilisation of the per-pod request (default 0.8).
    pub target_utilization: f64,
    pub min: Option<u32>,
    pub max: Option<u32>,
    pub multiple_of: Option<u32>,
    /// Sorted or not; the smallest allowed count ≥ the need is chosen (else the largest).
    pub allowed: Vec<u32>,
}

/// Replicas for a forecast total, given the per-pod request of the same metric: one
/// utilisation goal through `replicas::decide_replicas`, without steps.
pub fn recommend_replicas(total: f64, per_pod_request: f64, policy: &ReplicaPolicy) -> Option<u32> {
    let goal = crate::replicas::Goal::Utilization {
        fraction: policy.target_utilization,
        per_pod_request,
    };
    let need = crate::replicas::Need {
        metric: String::new(),
        replicas: crate::replicas::needed(total, goal)?,
    };
    crate::replicas::decide_replicas(&[need], policy, None, (None, None)).map(|d| d.replicas)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn bounds_clamp_and_steps_limit() {
        let bounds = Bounds {
            lower: Some(0.02),
            upper: Some(1.0),
        };
        assert_eq!(bounds.clamp(5.0), 1.0);
        assert_eq!(bounds.clamp(0.0), 0.02);
        assert_eq!(Step::Percent(50.0).limit(0.4), 0.2);
        assert_eq!(Step::Absolute(0.1).limit(0.4), 0.1);
        assert_eq!(Step::Percent(-5.0).limit(0.4), 0.0);
    }

    #[test]
    fn replicas_follow_utilisation_and_rounding_rules() {
        let p = ReplicaPolicy {
            target_utilization: 0.8,
            ..Default::default()
        };
        assert_eq!(recommend_replicas(4.0, 1.0, &p), Some(5));
        let p = ReplicaPolicy {
            target_utilization: 0.8,
            multiple_of: Some(4),
            ..Default::default()
        };
        assert_eq!(recommend_replicas(4.0, 1.0, &p), Some(8));
        let p = ReplicaPolicy {
            allowed: vec![2, 10, 6],
            ..Default::default()
        };
        assert_eq!(recommend_replicas(4.0, 1.0, &p), Some(6));
        let p = ReplicaPolicy {
            min: Some(3),
            max: Some(4),
            ..Default::default()
        };
        assert_eq!(recommend_replicas(0.0, 1.0, &p), Some(3));
        assert_eq!(recommend_replicas(100.0, 1.0, &p), Some(4));
        assert_eq!(recommend_replicas(1.0, 0.0, &p), None);
    }

    proptest! {
        #[test]
        fn replicas_respect_min_max(total in -10.0f64..1e5, per_pod in 0.001f64..100.0, min in 0u32..10, extra in 0u32..50, m in 1u32..8) {
            let p = ReplicaPolicy { target_utilization: 0.8, min: Some(min), max: Some(min + extra), multiple_of: Some(m), allowed: vec![] };
            let n = recommend_replicas(total, per_pod, &p).unwrap();
            prop_assert!(n >= min && n <= min + extra);
        }
    }
}

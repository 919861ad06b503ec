//! From a forecast peak to a recommendation: buffer, bounds, scaling behaviour (dead band
//! and step limits) and, horizontally, replicas. Pure functions over plain data; the
//! operator maps an AIScaleTarget's settings onto these types.

/// How far one change may move a value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Step {
    /// At most this many percent of the current value.
    Percent(f64),
    /// At most this much, in the value's unit.
    Absolute(f64),
}

impl Step {
    fn limit(self, current: f64) -> f64 {
        match self {
            Step::Percent(p) => current.abs() * p.max(0.0) / 100.0,
            Step::Absolute(a) => a.max(0.0),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Behavior {
    pub scale_up: Option<Step>,
    pub scale_down: Option<Step>,
    /// Changes smaller than this fraction of the current value are not made (0.05 = 5 %).
    pub dead_band: f64,
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

/// The value to set, given the forecast peak, the buffer (0.1 = 10 %), the bounds, the
/// behaviour and the current value (None when nothing is set yet). NaN or infinite
/// forecasts keep the current value (a failed forecast changes nothing).
pub fn recommend_value(
    peak: f64,
    buffer: f64,
    bounds: Bounds,
    behavior: Behavior,
    current: Option<f64>,
) -> Option<f64> {
    if !peak.is_finite() {
        return current;
    }
    let wanted = bounds.clamp((peak * (1.0 + buffer.max(0.0))).max(0.0));
    let Some(current) = current.filter(|c| c.is_finite()) else {
        return Some(wanted);
    };
    if current > 0.0 && (wanted - current).abs() / current < behavior.dead_band {
        return Some(bounds.clamp(current));
    }
    let stepped = if wanted > current {
        behavior
            .scale_up
            .map_or(wanted, |s| wanted.min(current + s.limit(current)))
    } else {
        behavior
            .scale_down
            .map_or(wanted, |s| wanted.max(current - s.limit(current)))
    };
    // Step limits never push a value outside its bounds.
    Some(bounds.clamp(stepped))
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

/// Replicas for a forecast total, given the per-pod request of the same metric.
pub fn recommend_replicas(total: f64, per_pod_request: f64, policy: &ReplicaPolicy) -> Option<u32> {
    if !(total.is_finite() && per_pod_request.is_finite() && per_pod_request > 0.0) {
        return None;
    }
    let target = if policy.target_utilization > 0.0 {
        policy.target_utilization
    } else {
        0.8
    };
    let mut n = (total.max(0.0) / (target * per_pod_request))
        .ceil()
        .min(u32::MAX as f64) as u32;
    n = n.max(1);
    if let Some(m) = policy.multiple_of.filter(|m| *m > 1) {
        n = n.div_ceil(m).saturating_mul(m);
    }
    if !policy.allowed.is_empty() {
        let mut allowed = policy.allowed.clone();
        allowed.sort_unstable();
        n = allowed
            .iter()
            .copied()
            .find(|a| *a >= n)
            .unwrap_or(*allowed.last().unwrap_or(&n));
    }
    if let Some(min) = policy.min {
        n = n.max(min);
    }
    if let Some(max) = policy.max {
        n = n.min(max);
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn buffer_bounds_and_steps() {
        let bounds = Bounds {
            lower: Some(0.02),
            upper: Some(1.0),
        };
        assert_eq!(
            recommend_value(0.5, 0.1, bounds, Behavior::default(), None),
            Some(0.55)
        );
        assert_eq!(
            recommend_value(5.0, 0.0, bounds, Behavior::default(), None),
            Some(1.0)
        );
        assert_eq!(
            recommend_value(0.0, 0.0, bounds, Behavior::default(), None),
            Some(0.02)
        );
        let b = Behavior {
            scale_up: Some(Step::Percent(50.0)),
            scale_down: Some(Step::Absolute(0.1)),
            dead_band: 0.05,
        };
        assert_eq!(
            recommend_value(0.9, 0.0, bounds, b, Some(0.4)),
            Some(0.6000000000000001)
        );
        assert_eq!(
            recommend_value(0.1, 0.0, bounds, b, Some(0.4)),
            Some(0.30000000000000004)
        );
        assert_eq!(recommend_value(0.41, 0.0, bounds, b, Some(0.4)), Some(0.4));
        assert_eq!(
            recommend_value(f64::NAN, 0.0, bounds, b, Some(0.4)),
            Some(0.4)
        );
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
        fn recommendations_respect_bounds_and_steps(
            peak in -1e6f64..1e6, buffer in 0.0f64..2.0, lo in 0.0f64..100.0, span in 0.0f64..100.0,
            current in 0.0f64..1000.0, up in 0.0f64..200.0, down in 0.0f64..100.0, band in 0.0f64..0.5,
        ) {
            let bounds = Bounds { lower: Some(lo), upper: Some(lo + span) };
            let b = Behavior { scale_up: Some(Step::Percent(up)), scale_down: Some(Step::Percent(down)), dead_band: band };
            let v = recommend_value(peak, buffer, bounds, b, Some(current)).unwrap();
            prop_assert!(v >= lo - 1e-9 && v <= lo + span + 1e-9, "{} outside [{}, {}]", v, lo, lo + span);
            // Inside the bounds, a move is never larger than its step allows.
            let in_bounds = current >= lo && current <= lo + span;
            if in_bounds && v > current {
                prop_assert!(v <= current + current * up / 100.0 + 1e-9);
            }
            if in_bounds && v < current {
                prop_assert!(v >= current - current * down / 100.0 - 1e-9);
            }
        }

        #[test]
        fn replicas_respect_min_max(total in -10.0f64..1e5, per_pod in 0.001f64..100.0, min in 0u32..10, extra in 0u32..50, m in 1u32..8) {
            let p = ReplicaPolicy { target_utilization: 0.8, min: Some(min), max: Some(min + extra), multiple_of: Some(m), allowed: vec![] };
            let n = recommend_replicas(total, per_pod, &p).unwrap();
            prop_assert!(n >= min && n <= min + extra);
        }
    }
}

//! The model modes of the API as explicit risk targets: each mode promises, per resource,
//! the share of samples whose usage may exceed the applied value (the *target
//! under-provisioning rate*). The forecaster calibrates to it and the decision's online
//! calibration (`decide.rs`) holds each series to it. `percentile:<p>` names the rate
//! directly: usage above the value in (100 − p) % of samples, for every resource.

use std::fmt;
use std::str::FromStr;

use crate::resource::Resource;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    Undershoot,
    CostOptimized,
    Balanced,
    AssuranceOptimized,
    Overshoot,
    /// An explicit percentile in [0, 100].
    Percentile(f64),
}

impl Mode {
    /// The five named modes, from the cheapest to the safest.
    pub const NAMED: [Mode; 5] = [
        Mode::Undershoot,
        Mode::CostOptimized,
        Mode::Balanced,
        Mode::AssuranceOptimized,
        Mode::Overshoot,
    ];

    /// The share of samples (0..1) in which usage may exceed the applied value. Memory's
    /// targets are far lower than CPU's: a memory shortfall can kill, a CPU one throttles.
    /// One table for every series; docs/FORECASTING.md explains it.
    pub fn target_rate(self, resource: Resource) -> f64 {
        let (cpu, memory) = match self {
            Mode::Undershoot => (0.10, 0.02),
            Mode::CostOptimized => (0.05, 0.01),
            Mode::Balanced => (0.02, 0.0025),
            Mode::AssuranceOptimized => (0.005, 0.0005),
            Mode::Overshoot => (0.001, 0.0001),
            Mode::Percentile(p) => {
                let rate = (1.0 - p / 100.0).clamp(0.0, 1.0);
                (rate, rate)
            }
        };
        match resource {
            Resource::Cpu => cpu,
            Resource::Memory => memory,
        }
    }
}

/// What the horizontal replica floor provisions of each stretch of the horizon's load
/// (`crate::replicas::floor_load`): the seasonal models' expectation of it, or a per-sample
/// quantile of it as the calibrated replays predict it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FloorLevel {
    /// The mean of the stretch's samples.
    Expected,
    /// The level this share (0..1) of the stretch's samples stays at or below; at or below
    /// the median never above `Expected`, above it never below.
    Quantile(f64),
}

impl Mode {
    /// The mode's meaning for the horizontal replica floor: one ladder for every series,
    /// higher modes provisioning more of the load. `balanced` is the expected load (the
    /// HPA keeps its own headroom above it and answers the rest within its lag;
    /// docs/FORECASTING.md, "Replicas", says why and docs/BENCHMARKS.md measures it); the
    /// others are per-sample quantiles below and above it, and `percentile:<p>` is the
    /// p-th.
    pub fn floor_level(self) -> FloorLevel {
        match self {
            Mode::Undershoot => FloorLevel::Quantile(0.25),
            Mode::CostOptimized => FloorLevel::Quantile(0.5),
            Mode::Balanced => FloorLevel::Expected,
            Mode::AssuranceOptimized => FloorLevel::Quantile(0.9),
            Mode::Overshoot => FloorLevel::Quantile(0.98),
            Mode::Percentile(p) => FloorLevel::Quantile((p / 100.0).clamp(0.0, 1.0)),
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mode::Undershoot => f.write_str("undershoot"),
            Mode::CostOptimized => f.write_str("cost_optimized"),
            Mode::Balanced => f.write_str("balanced"),
            Mode::AssuranceOptimized => f.write_str("assurance_optimized"),
            Mode::Overshoot => f.write_str("overshoot"),
            Mode::Percentile(p) => write!(f, "percentile:{p}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown mode {0:?}: use undershoot, cost_optimized, balanced, assurance_optimized, overshoot or percentile:<0-100>"
)]
pub struct ModeError(pub String);

impl FromStr for Mode {
    type Err = ModeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "undershoot" => Mode::Undershoot,
            "cost_optimized" => Mode::CostOptimized,
            "balanced" => Mode::Balanced,
            "assurance_optimized" => Mode::AssuranceOptimized,
            "overshoot" => Mode::Overshoot,
            other => {
                let p: f64 = other
                    .strip_prefix("percentile:")
                    .and_then(|p| p.parse().ok())
                    .filter(|p: &f64| (0.0..=100.0).contains(p))
                    .ok_or_else(|| ModeError(other.into()))?;
                Mode::Percentile(p)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_are_increasingly_safe_and_memory_safer_than_cpu() {
        for r in Resource::ALL {
            assert!(
                Mode::NAMED
                    .windows(2)
                    .all(|w| w[0].target_rate(r) > w[1].target_rate(r))
            );
        }
        for m in Mode::NAMED {
            assert!(m.target_rate(Resource::Memory) < m.target_rate(Resource::Cpu));
        }
        let p = "percentile:97.5".parse::<Mode>().unwrap();
        assert!((p.target_rate(Resource::Memory) - 0.025).abs() < 1e-12);
        assert!("percentile:120".parse::<Mode>().is_err());
        assert_eq!("balanced".parse::<Mode>().unwrap().to_string(), "balanced");
    }

    #[test]
    fn the_floor_ladder_is_explicit_for_every_mode() {
        let q = |m: Mode| match m.floor_level() {
            FloorLevel::Quantile(q) => Some(q),
            FloorLevel::Expected => None,
        };
        assert_eq!(Mode::Balanced.floor_level(), FloorLevel::Expected);
        assert_eq!(q(Mode::Undershoot), Some(0.25));
        // Below balanced's mean, the median and less; above it, upper quantiles.
        assert!(q(Mode::Undershoot) < q(Mode::CostOptimized));
        assert_eq!(q(Mode::CostOptimized), Some(0.5));
        assert!(q(Mode::AssuranceOptimized) < q(Mode::Overshoot));
        assert!(q(Mode::AssuranceOptimized) > Some(0.5));
        let p = "percentile:97.5".parse::<Mode>().unwrap();
        assert_eq!(p.floor_level(), FloorLevel::Quantile(0.975));
    }
}

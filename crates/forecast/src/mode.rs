//! The model modes of the API and the quantile of the forecast peak each provisions for.
//! The modes are "increasingly safe"; `percentile` names the quantile explicitly.

use std::fmt;
use std::str::FromStr;

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
    /// Quantile of the next block's peak the mode provisions for.
    pub fn quantile(self) -> f64 {
        match self {
            Mode::Undershoot => 0.75,
            Mode::CostOptimized => 0.9,
            Mode::Balanced => 0.955,
            Mode::AssuranceOptimized => 0.98,
            Mode::Overshoot => 0.995,
            Mode::Percentile(p) => (p / 100.0).clamp(0.0, 1.0),
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
    fn modes_are_increasingly_safe() {
        let order = [
            Mode::Undershoot,
            Mode::CostOptimized,
            Mode::Balanced,
            Mode::AssuranceOptimized,
            Mode::Overshoot,
        ];
        assert!(order.windows(2).all(|w| w[0].quantile() < w[1].quantile()));
        assert_eq!("percentile:97.5".parse::<Mode>().unwrap().quantile(), 0.975);
        assert!("percentile:120".parse::<Mode>().is_err());
        assert_eq!("balanced".parse::<Mode>().unwrap().to_string(), "balanced");
    }
}

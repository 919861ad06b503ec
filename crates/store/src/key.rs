//! What a series is about.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// CPU usage in cores.
    Cpu,
    /// Memory working set in bytes.
    Memory,
    Restarts,
    OomKills,
    Replicas,
    /// A PodAutoscaler metric source's value, summed over the target's pods (or the one
    /// value of a cluster-level source); the key's `container` holds its targetMetric.
    ScalingMetric,
}

/// namespace / workload kind / workload name / container / metric.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SeriesKey {
    pub namespace: String,
    pub kind: String,
    pub workload: String,
    pub container: String,
    pub metric: Metric,
}

impl Metric {
    pub const ALL: [Metric; 6] = [
        Metric::Cpu,
        Metric::Memory,
        Metric::Restarts,
        Metric::OomKills,
        Metric::Replicas,
        Metric::ScalingMetric,
    ];

    /// The name used in storage and on the wire (as serde spells it).
    pub fn name(self) -> &'static str {
        match self {
            Metric::Cpu => "cpu",
            Metric::Memory => "memory",
            Metric::Restarts => "restarts",
            Metric::OomKills => "oom_kills",
            Metric::Replicas => "replicas",
            Metric::ScalingMetric => "scaling_metric",
        }
    }

    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_serde() {
        for m in Metric::ALL {
            assert_eq!(serde_json::to_value(m).unwrap(), m.name());
            assert_eq!(Metric::from_name(m.name()), Some(m));
        }
    }
}

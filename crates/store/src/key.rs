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

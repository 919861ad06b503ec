//! The memory of one PodAutoscaler between decisions, as a plain value: the metric samples
//! of its windows, KPA's panic state per metric, and the recent recommendations the
//! cooldowns look back on. `compute_desired_replicas` takes it and returns the next one; the
//! controller keeps it (in memory, or serialised) — nothing is hidden in globals.
//!
//! It stays bounded: samples older than the longest window and recommendations older than
//! the longest cooldown are dropped, and each list is capped besides.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// At most this many samples per metric (a sample a second for an hour, the longest window).
pub const MAX_SAMPLES: usize = 3600;
/// At most this many recommendations (one a second over a 4096 s cooldown).
pub const MAX_RECOMMENDATIONS: usize = 4096;

/// One reading of a metric.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub at: Timestamp,
    /// The metric summed over the pods that reported it, or the one value of a
    /// cluster-level source.
    pub total: f64,
    /// The pods the total covers (0 for a cluster-level value).
    pub pods: u32,
}

/// KPA's panic mode (Knative): since when the panic window has asked for at least
/// `panic_threshold` times the ready pods, and the most pods asked for since — what the
/// target is held at while panicking, so panic mode never scales down.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PanicState {
    /// When the threshold was last exceeded; `None` when not panicking.
    pub since: Option<Timestamp>,
    pub max_pods: u32,
}

/// The memory of one metric source.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricState {
    /// When this history began (its first sample, kept after the sample is dropped).
    pub since: Option<Timestamp>,
    /// Oldest first.
    pub samples: Vec<Sample>,
    pub panic: PanicState,
}

/// One recommendation, as the cooldowns remember it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recommendation {
    pub at: Timestamp,
    pub replicas: u32,
}

/// Everything one PodAutoscaler's decisions remember. `Default` is a fresh autoscaler.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AutoscalerState {
    /// By targetMetric.
    pub metrics: BTreeMap<String, MetricState>,
    /// Oldest first.
    pub recommendations: Vec<Recommendation>,
}

fn cutoff(now: Timestamp, window: Duration) -> Timestamp {
    let window = SignedDuration::try_from(window).unwrap_or(SignedDuration::MAX);
    now.checked_sub(window).unwrap_or(Timestamp::MIN)
}

impl MetricState {
    /// Appends a sample and forgets those `keep` or more older than it. A sample older than
    /// the newest (a clock step back) replaces the history: windows stay ordered.
    pub fn record(&mut self, sample: Sample, keep: Duration) {
        if self.samples.last().is_some_and(|last| last.at > sample.at) {
            self.samples.clear();
            self.since = None;
        }
        self.since.get_or_insert(sample.at);
        self.samples.push(sample);
        let oldest = cutoff(sample.at, keep);
        let stale = self.samples.iter().take_while(|s| s.at <= oldest).count();
        let excess = self.samples.len().saturating_sub(MAX_SAMPLES);
        self.samples.drain(..stale.max(excess));
    }

    /// The samples of the `window` ending at `now`: those taken after `now - window`.
    pub fn window(&self, now: Timestamp, window: Duration) -> impl Iterator<Item = &Sample> {
        let from = cutoff(now, window);
        self.samples
            .iter()
            .filter(move |s| s.at > from && s.at <= now)
    }

    /// The mean total over the window, if it holds a sample.
    pub fn mean_total(&self, now: Timestamp, window: Duration) -> Option<f64> {
        mean(self.window(now, window).map(|s| s.total))
    }

    /// The mean per-pod value over the window: each sample's total over its pods (over
    /// `fallback_pods` for cluster-level samples).
    pub fn mean_per_pod(
        &self,
        now: Timestamp,
        window: Duration,
        fallback_pods: u32,
    ) -> Option<f64> {
        mean(self.window(now, window).map(|s| {
            s.total
                / f64::from(if s.pods > 0 {
                    s.pods
                } else {
                    fallback_pods.max(1)
                })
        }))
    }
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / n as f64)
}

impl AutoscalerState {
    /// Remembers a recommendation and forgets those older than `keep`.
    pub fn recommend(&mut self, at: Timestamp, replicas: u32, keep: Duration) {
        if self.recommendations.last().is_some_and(|last| last.at > at) {
            self.recommendations.clear();
        }
        self.recommendations.push(Recommendation { at, replicas });
        let oldest = cutoff(at, keep);
        let stale = self
            .recommendations
            .iter()
            .take_while(|r| r.at < oldest)
            .count();
        let excess = self
            .recommendations
            .len()
            .saturating_sub(MAX_RECOMMENDATIONS);
        self.recommendations.drain(..stale.max(excess));
    }

    /// Forgets metrics no source names any more.
    pub fn retain_metrics(&mut self, names: &[&str]) {
        self.metrics
            .retain(|name, _| names.contains(&name.as_str()));
    }
}

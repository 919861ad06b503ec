//! What the horizontal backtest measures for one policy on one series, how series are
//! summarised, and issue 14's target. Each metric is explained in one sentence by
//! `EXPLAINED`, which the report prints.

use std::collections::BTreeMap;

use serde::Serialize;

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct HorizontalMetrics {
    /// Share of sync ticks with load above the ready capacity.
    pub under_capacity: f64,
    /// Pods (starting ones included) × hours.
    pub replica_hours: f64,
    /// replica_hours / the oracle's.
    pub replica_hours_vs_oracle: f64,
    /// Changes of the replica count per day.
    pub scale_events_per_day: f64,
}

pub const EXPLAINED: [(&str, &str); 3] = [
    (
        "under_capacity",
        "the share of time the load exceeded what the ready pods can serve (replicas still starting serve nothing): requests queued, slowed or dropped",
    ),
    (
        "replica_hours_vs_oracle",
        "pod-hours paid for (starting pods included) relative to the oracle, the fewest replicas that never fall short knowing the future and the start-up delay (1.0 is the floor)",
    ),
    (
        "scale_events_per_day",
        "how often the replica count changed per day: every change starts or stops pods",
    ),
];

/// What one policy did, tick by tick, measured from tick `from` on.
pub struct Run<'a> {
    pub load: &'a [f64],
    pub replicas: &'a [u32],
    pub ready: &'a [u32],
    pub capacity: f64,
    pub sync: i64,
    pub from: usize,
}

impl Run<'_> {
    pub fn measure(&self, oracle_hours: Option<f64>) -> HorizontalMetrics {
        let ticks = self.load.len().saturating_sub(self.from).max(1) as f64;
        let short = (self.from..self.load.len())
            .filter(|k| self.load[*k] > f64::from(self.ready[*k]) * self.capacity * (1.0 + 1e-9))
            .count() as f64;
        let hours_per_tick = self.sync as f64 / 3600.0;
        let replica_hours = self.replicas[self.from..]
            .iter()
            .map(|r| f64::from(*r) * hours_per_tick)
            .sum::<f64>();
        let changes = (self.from.max(1)..self.replicas.len())
            .filter(|k| self.replicas[*k] != self.replicas[k - 1])
            .count() as f64;
        let days = ticks * self.sync as f64 / 86_400.0;
        HorizontalMetrics {
            under_capacity: short / ticks,
            replica_hours,
            replica_hours_vs_oracle: oracle_hours
                .filter(|o| *o > 0.0)
                .map_or(1.0, |o| replica_hours / o),
            scale_events_per_day: changes / days.max(1e-9),
        }
    }
}

/// The mean of every metric over series (each series weighs the same).
pub fn mean(rows: &[&HorizontalMetrics]) -> HorizontalMetrics {
    let n = rows.len().max(1) as f64;
    let avg = |f: fn(&HorizontalMetrics) -> f64| rows.iter().map(|m| f(m)).sum::<f64>() / n;
    HorizontalMetrics {
        under_capacity: avg(|m| m.under_capacity),
        replica_hours: avg(|m| m.replica_hours),
        replica_hours_vs_oracle: avg(|m| m.replica_hours_vs_oracle),
        scale_events_per_day: avg(|m| m.scale_events_per_day),
    }
}

/// Issue 14's target: prescale feeding the HPA halves the HPA's under-capacity for at most
/// 10 % more replica-hours (both as means over series; replica-hours relative to the
/// oracle, so that every series weighs the same).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Target {
    /// prescale+hpa's under_capacity / hpa's (target ≤ 0.5).
    pub under_capacity_ratio: f64,
    /// prescale+hpa's replica_hours_vs_oracle / hpa's (target ≤ 1.1).
    pub replica_hours_ratio: f64,
    pub met: bool,
}

pub const UNDER_CAPACITY_RATIO: f64 = 0.5;
pub const REPLICA_HOURS_RATIO: f64 = 1.1;

pub fn target(policies: &BTreeMap<String, HorizontalMetrics>) -> Option<Target> {
    let hpa = policies.get("hpa")?;
    let fed = policies.get("prescale+hpa")?;
    let ratio = |a: f64, b: f64| {
        if b > 0.0 {
            a / b
        } else if a > 0.0 {
            f64::INFINITY
        } else {
            0.0
        }
    };
    let under_capacity_ratio = ratio(fed.under_capacity, hpa.under_capacity);
    let replica_hours_ratio = ratio(fed.replica_hours_vs_oracle, hpa.replica_hours_vs_oracle);
    Some(Target {
        under_capacity_ratio,
        replica_hours_ratio,
        met: under_capacity_ratio <= UNDER_CAPACITY_RATIO
            && replica_hours_ratio <= REPLICA_HOURS_RATIO,
    })
}

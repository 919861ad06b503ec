//! What the backtest measures for one policy on one series, and how series are summarised
//! (overall and per resource). Each metric is explained in one sentence by `EXPLAINED`,
//! which the report prints.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::seasons::DAY;

/// How far back "the value held before the peak" is looked for (seconds): a raise up to
/// two hours ahead of a daily peak counts as covering it in advance.
pub const ONSET_LEAD: i64 = 2 * 3600;

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Metrics {
    /// Σ max(p − u, 0) / Σ p: the idle share of what was provisioned.
    pub slack: f64,
    /// Share of samples with u > p.
    pub under_provisioned: f64,
    /// Σ max(u − p, 0) / Σ u.
    pub shortfall: f64,
    /// Σ p / Σ p_oracle.
    pub cost_vs_oracle: f64,
    /// Applied changes of the value per day.
    pub changes_per_day: f64,
    /// Share of daily peak onsets covered in advance; `None` when no onset was seen.
    pub peak_onset_coverage: Option<f64>,
    /// Daily peak onsets seen (days on which usage rose above the previous value).
    pub peak_onsets: usize,
}

/// One sentence per metric, for the report and `--help`.
pub const EXPLAINED: [(&str, &str); 8] = [
    (
        "slack",
        "the share of what was provisioned that sat idle: Σ max(value − usage, 0) / Σ value (lower is cheaper)",
    ),
    (
        "under_provisioned",
        "the share of samples in which usage exceeded the value (throttling for CPU, OOM or eviction risk for memory)",
    ),
    (
        "shortfall",
        "how much usage went unserved: Σ max(usage − value, 0) / Σ usage",
    ),
    (
        "cost_vs_oracle",
        "what was provisioned relative to an oracle that knows each interval's true peak (1.0 is the floor)",
    ),
    (
        "changes_per_day",
        "how often the applied value changed: every change is a resize or an eviction under autonomous actuation",
    ),
    (
        "peak_onset_coverage",
        "of the days whose peak pushed usage above the lowest value held in the two hours before, the share on which the value had already been raised when usage got there (anticipation: a reactive policy raises only after)",
    ),
    (
        "oracle_hourly",
        "not a policy but a clairvoyant reference: one value per hour, chosen knowing the future and lowered greedily where that saves most while missing no more than the mode's target rate (24 changes a day at most) — a near-floor for a causal policy with that budget",
    ),
    (
        "target / achieved",
        "each mode's promised share of under-provisioned samples for the resource, and the share the backtest measured",
    ),
];

/// The evaluation window of one series and what every policy is measured against.
pub(super) struct Window<'a> {
    pub usage: &'a [f64],
    /// First evaluated sample (after the warm-up).
    pub from: usize,
    /// Time of sample 0 and spacing, for the day boundaries of peak onsets.
    pub start: i64,
    pub step: i64,
    /// Σ of the oracle's provisioned values over the window.
    pub oracle_sum: f64,
    pub days: f64,
}

impl Window<'_> {
    /// The metrics of provisioned values `p`.
    pub fn measure(&self, p: &[f64]) -> Metrics {
        let (u, from) = (self.usage, self.from);
        let pairs = || {
            u[from..]
                .iter()
                .zip(&p[from..])
                .filter(|(u, p)| !u.is_nan() && !p.is_nan())
                .map(|(u, p)| (*u, *p))
        };
        let count = pairs().count().max(1);
        let provisioned: f64 = pairs().map(|(_, p)| p).sum();
        let used: f64 = pairs().map(|(u, _)| u).sum();
        let idle: f64 = pairs().map(|(u, p)| (p - u).max(0.0)).sum();
        let short: f64 = pairs().map(|(u, p)| (u - p).max(0.0)).sum();
        let under = pairs().filter(|(u, p)| u > p).count();
        let changes = p[from..]
            .windows(2)
            .filter(|w| !w[0].is_nan() && !w[1].is_nan() && w[1] != w[0])
            .count();
        let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        let (onsets, covered) = self.peak_onsets(p);
        Metrics {
            slack: ratio(idle, provisioned),
            under_provisioned: under as f64 / count as f64,
            shortfall: ratio(short, used),
            cost_vs_oracle: ratio(provisioned, self.oracle_sum),
            changes_per_day: changes as f64 / self.days,
            peak_onset_coverage: (onsets > 0).then(|| covered as f64 / onsets as f64),
            peak_onsets: onsets,
        }
    }

    /// Daily peak onsets and how many were covered in advance. For each UTC day of the
    /// window (at least 80 % of it sampled), take the first sample of highest usage. If
    /// usage there exceeds the lowest value the policy held in the `ONSET_LEAD` before it
    /// (the value in place before any raise for this peak: "the previous applied value"),
    /// the day has a peak onset — the first sample of the run of such samples leading to
    /// the peak. The onset was covered in advance when the value in force at that sample,
    /// decided before the sample was seen, was already at or above usage.
    fn peak_onsets(&self, p: &[f64]) -> (usize, usize) {
        let u = self.usage;
        let lead = (ONSET_LEAD / self.step.max(1)).max(1) as usize;
        let previous = |i: usize| {
            p[i.saturating_sub(lead)..i]
                .iter()
                .copied()
                .filter(|v| !v.is_nan())
                .reduce(f64::min)
        };
        let crossing = |i: usize| previous(i).is_some_and(|prev| u[i] > prev);
        let per_day = (DAY / self.step.max(1)).max(1) as usize;
        let (mut onsets, mut covered) = (0, 0);
        let mut i = self.from;
        while i < u.len() {
            let day = (self.start + i as i64 * self.step).div_euclid(DAY);
            let end = (i..u.len())
                .find(|j| (self.start + *j as i64 * self.step).div_euclid(DAY) != day)
                .unwrap_or(u.len());
            let valid = (i..end).filter(|j| !u[*j].is_nan()).count();
            // The first sample at the day's highest usage (a plateau starts there).
            let peak = (i..end)
                .filter(|j| !u[*j].is_nan())
                .reduce(|best, j| if u[j] > u[best] { j } else { best });
            if let Some(peak) = peak.filter(|_| valid * 5 >= per_day * 4)
                && crossing(peak)
            {
                let mut onset = peak;
                while onset > i && crossing(onset - 1) {
                    onset -= 1;
                }
                onsets += 1;
                if !p[onset].is_nan() && p[onset] >= u[onset] {
                    covered += 1;
                }
            }
            i = end;
        }
        (onsets, covered)
    }
}

/// The unweighted mean of each policy's per-series metrics (series have different units:
/// none may dominate by its magnitude). Peak-onset coverage is averaged over the series
/// that had onsets.
pub fn mean(rows: &[&Metrics]) -> Metrics {
    let n = rows.len().max(1) as f64;
    let avg = |f: fn(&Metrics) -> f64| rows.iter().map(|m| f(m)).sum::<f64>() / n;
    let coverage: Vec<f64> = rows.iter().filter_map(|m| m.peak_onset_coverage).collect();
    Metrics {
        slack: avg(|m| m.slack),
        under_provisioned: avg(|m| m.under_provisioned),
        shortfall: avg(|m| m.shortfall),
        cost_vs_oracle: avg(|m| m.cost_vs_oracle),
        changes_per_day: avg(|m| m.changes_per_day),
        peak_onset_coverage: (!coverage.is_empty())
            .then(|| coverage.iter().sum::<f64>() / coverage.len() as f64),
        peak_onsets: rows.iter().map(|m| m.peak_onsets).sum(),
    }
}

/// A mode's promise and what it achieved over a set of series of one resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModeOutcome {
    pub mode: String,
    /// The mode's target share of under-provisioned samples for the resource.
    pub target: f64,
    /// The measured share (mean over series).
    pub achieved: f64,
    pub metrics: Metrics,
}

/// Everything summarised over the series of one resource (or of all of them).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub series: usize,
    pub policies: BTreeMap<String, Metrics>,
    /// Every mode of prescale, cheapest first (per resource only: targets differ).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub modes: Vec<ModeOutcome>,
}

impl Summary {
    pub fn policy(&self, name: &str) -> Option<&Metrics> {
        self.policies.get(name)
    }
}

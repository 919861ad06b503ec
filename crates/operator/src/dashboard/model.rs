//! What the dashboard shows, as plain data: one row per AIScaleTarget, the overview's
//! totals, and the targets table's filter, sort and page. Pure: built from values the
//! caller read from the cache and the store (`snapshot`), so it is tested without I/O.

use serde::{Deserialize, Serialize};

/// CPU (cores) and memory (bytes) of one pod, summed over its containers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct PerPod {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<f64>,
}

impl PerPod {
    /// Adds `other`, a missing side counting as nothing when the other has a value.
    pub fn plus(self, other: PerPod) -> PerPod {
        let add = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
        };
        PerPod {
            cpu: add(self.cpu, other.cpu),
            memory: add(self.memory, other.memory),
        }
    }

    pub fn times(self, n: f64) -> PerPod {
        PerPod {
            cpu: self.cpu.map(|v| v * n),
            memory: self.memory.map(|v| v * n),
        }
    }

    pub fn get(&self, resource: Resource) -> Option<f64> {
        match resource {
            Resource::Cpu => self.cpu,
            Resource::Memory => self.memory,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    Cpu,
    Memory,
}

impl Resource {
    pub const BOTH: [Resource; 2] = [Resource::Cpu, Resource::Memory];

    pub fn name(self) -> &'static str {
        match self {
            Resource::Cpu => "cpu",
            Resource::Memory => "memory",
        }
    }
}

/// One condition of a target's status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConditionRow {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    pub reason: String,
    pub message: String,
}

/// One AIScaleTarget as the dashboard shows it. Per-pod values are summed over the
/// containers of the target's workloads' pod templates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetRow {
    pub namespace: String,
    pub name: String,
    /// `Kind/name` of each workload the target resolves.
    pub workloads: Vec<String>,
    /// Each direction's mode as canonical words (`autonomous`, `recommendation`), `None`
    /// when the direction is not configured.
    pub vertical: Option<String>,
    pub horizontal: Option<String>,
    /// Whether the system-wide pause stops this target.
    pub autonomous: bool,
    pub conditions: Vec<ConditionRow>,
    /// The workloads' own requests (their pod templates).
    pub request: PerPod,
    /// What running pods have now (mean over pods): the applied value.
    pub running: PerPod,
    /// The current recommendation.
    pub recommended: PerPod,
    /// The forecast peak of the horizon, per pod (forecast totals over the replicas).
    pub forecast: PerPod,
    /// The latest usage of one pod (the busiest, as the collector records it).
    pub used: PerPod,
    /// `spec.replicas` summed over the workloads, and pods running.
    pub replicas: u32,
    pub pods: u32,
    pub suggested_replicas: Option<i32>,
    /// When the current suggestion was made (RFC 3339).
    pub suggestion_time: Option<String>,
    /// The latest Event about the target: `reason` and RFC 3339 time.
    pub last_action: Option<(String, String)>,
}

impl TargetRow {
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// The status of condition `type_`, when reported.
    pub fn condition(&self, type_: &str) -> Option<&ConditionRow> {
        self.conditions.iter().find(|c| c.type_ == type_)
    }
}

/// Counts per direction.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModeCounts {
    pub autonomous: usize,
    pub recommendation: usize,
    pub off: usize,
}

/// Cluster-wide totals of one resource over enrolled workloads (cores or bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    pub requested: f64,
    pub used: f64,
    pub recommended: f64,
    /// `requested - recommended` over the targets that have a recommendation: positive is
    /// a saving, negative added safety.
    pub saving: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    pub targets: usize,
    pub autonomous_targets: usize,
    pub vertical: ModeCounts,
    pub horizontal: ModeCounts,
    pub with_recommendation: usize,
    pub cpu: Totals,
    pub memory: Totals,
    pub paused: bool,
    /// Why the pause ConfigMap could not be understood, when it could not.
    pub pause_problem: Option<String>,
}

fn count(counts: &mut ModeCounts, mode: Option<&str>) {
    match mode {
        Some("autonomous") => counts.autonomous += 1,
        Some(_) => counts.recommendation += 1,
        None => counts.off += 1,
    }
}

/// The overview of `rows`. Totals count each workload's replicas: requested is the own
/// request × replicas, recommended the recommendation × replicas (suggested replicas when
/// horizontal), used the latest per-pod usage × running pods.
pub fn overview(rows: &[TargetRow], paused: bool, pause_problem: Option<String>) -> Overview {
    let mut o = Overview {
        targets: rows.len(),
        paused,
        pause_problem,
        ..Default::default()
    };
    for r in rows {
        count(&mut o.vertical, r.vertical.as_deref());
        count(&mut o.horizontal, r.horizontal.as_deref());
        o.autonomous_targets += usize::from(r.autonomous);
        let has_rec = r.recommended.cpu.is_some() || r.recommended.memory.is_some();
        o.with_recommendation += usize::from(has_rec);
        let replicas = f64::from(r.replicas);
        let suggested = r
            .suggested_replicas
            .map_or(replicas, |s| f64::from(s.max(0)));
        for (totals, res) in [
            (&mut o.cpu, Resource::Cpu),
            (&mut o.memory, Resource::Memory),
        ] {
            let requested = r.request.get(res).unwrap_or(0.0) * replicas;
            totals.requested += requested;
            totals.used += r.used.get(res).unwrap_or(0.0) * f64::from(r.pods);
            if let Some(rec) = r.recommended.get(res) {
                totals.recommended += rec * suggested;
                totals.saving += requested - rec * suggested;
            }
        }
    }
    o
}

/// The targets table's query: `?q=&mode=&sort=&desc=&page=&per_page=`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TableQuery {
    /// Substring of namespace, name or a workload (case-insensitive).
    pub q: String,
    /// `autonomous`, `recommendation` (either direction), or empty for all.
    pub mode: String,
    /// A `SORT_KEYS` column; `name` (namespace/name) when empty or unknown.
    pub sort: String,
    pub desc: bool,
    /// 1-based.
    pub page: usize,
    pub per_page: usize,
}

pub const SORT_KEYS: [&str; 8] = [
    "name", "mode", "cpu", "memory", "replicas", "ready", "saving", "action",
];
pub const DEFAULT_PER_PAGE: usize = 50;
pub const MAX_PER_PAGE: usize = 500;

/// One page of the table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<'a> {
    pub rows: Vec<&'a TargetRow>,
    /// Rows that matched the filter.
    pub matched: usize,
    pub page: usize,
    pub pages: usize,
    pub per_page: usize,
}

fn mode_word(r: &TargetRow) -> &str {
    if r.autonomous {
        "autonomous"
    } else if r.vertical.is_some() || r.horizontal.is_some() {
        "recommendation"
    } else {
        "off"
    }
}

fn saving(r: &TargetRow) -> f64 {
    r.request.cpu.unwrap_or(0.0) - r.recommended.cpu.unwrap_or(r.request.cpu.unwrap_or(0.0))
}

/// Filters, sorts (stable, ties by namespace/name) and pages `rows`.
pub fn page<'a>(rows: &'a [TargetRow], q: &TableQuery) -> Page<'a> {
    let needle = q.q.to_lowercase();
    let mut hits: Vec<&TargetRow> = rows
        .iter()
        .filter(|r| {
            needle.is_empty()
                || r.namespace.to_lowercase().contains(&needle)
                || r.name.to_lowercase().contains(&needle)
                || r.workloads
                    .iter()
                    .any(|w| w.to_lowercase().contains(&needle))
        })
        .filter(|r| q.mode.is_empty() || mode_word(r) == q.mode)
        .collect();
    let by_name =
        |a: &&TargetRow, b: &&TargetRow| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name));
    let num = |v: Option<f64>| v.unwrap_or(f64::NEG_INFINITY);
    hits.sort_by(|a, b| {
        let primary = match q.sort.as_str() {
            "mode" => mode_word(a).cmp(mode_word(b)),
            "cpu" => num(a.recommended.cpu).total_cmp(&num(b.recommended.cpu)),
            "memory" => num(a.recommended.memory).total_cmp(&num(b.recommended.memory)),
            "replicas" => a.replicas.cmp(&b.replicas),
            "ready" => a
                .condition("Ready")
                .map(|c| c.status.as_str())
                .cmp(&b.condition("Ready").map(|c| c.status.as_str())),
            "saving" => saving(a).total_cmp(&saving(b)),
            "action" => a
                .last_action
                .as_ref()
                .map(|x| &x.1)
                .cmp(&b.last_action.as_ref().map(|x| &x.1)),
            _ => std::cmp::Ordering::Equal,
        };
        let primary = if q.desc { primary.reverse() } else { primary };
        primary.then_with(|| by_name(a, b))
    });
    let per_page = match q.per_page {
        0 => DEFAULT_PER_PAGE,
        n => n.min(MAX_PER_PAGE),
    };
    let matched = hits.len();
    let pages = matched.div_ceil(per_page).max(1);
    let page = q.page.clamp(1, pages);
    let rows = hits
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    Page {
        rows,
        matched,
        page,
        pages,
        per_page,
    }
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;

//! One target over time: the data (usage from the store, the timeline's forecast,
//! recommendation, applied value and request, pause periods, Events, OOM kills and
//! restarts) and its page — a chart per resource (vertical) and replicas (horizontal).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;

use prescale_store::{HistoryStore, Metric, SeriesKey};
use serde::Serialize;

use super::chart::{Band, Chart, Marker, Series};
use super::events::EventRow;
use super::html::{cpu, escape, memory, opt};
use super::model::{Resource, TargetRow};
use super::timeline::{PausePeriod, Point};
use crate::workload::WorkloadView;

/// Buckets per chart: enough for a smooth line, few enough for a light page.
pub const BUCKETS: i64 = 240;

/// Everything the detail page and `GET /api/v1/targets/{ns}/{name}` show.
#[derive(Debug, Clone, Serialize)]
pub struct Detail {
    pub target: TargetRow,
    pub from: i64,
    pub to: i64,
    /// Per-pod usage (the busiest pod, summed over containers): bucket start and max.
    pub usage: BTreeMap<&'static str, Vec<(i64, f64)>>,
    /// Running pods over time (from the store).
    pub replicas: Vec<(i64, f64)>,
    pub timeline: Vec<Point>,
    pub pauses: Vec<PausePeriod>,
    pub events: Vec<EventRow>,
    /// (time, count) where OOM kills or restarts rose.
    pub oom_kills: Vec<(i64, f64)>,
    pub restarts: Vec<(i64, f64)>,
}

/// Sums, per bucket time, the bucket maxima of each workload container's `metric`.
fn summed(
    store: &dyn HistoryStore,
    workloads: &[Arc<WorkloadView>],
    metric: Metric,
    from: i64,
    to: i64,
    per_container: bool,
) -> Vec<(i64, f64)> {
    let bucket = ((to - from) / BUCKETS).max(1);
    let mut sums: BTreeMap<i64, f64> = BTreeMap::new();
    for w in workloads {
        let containers: Vec<String> = if per_container {
            w.containers.iter().map(|c| c.name.clone()).collect()
        } else {
            vec![String::new()]
        };
        for container in containers {
            let key = SeriesKey {
                namespace: w.namespace.clone(),
                kind: w.kind.clone(),
                workload: w.name.clone(),
                container,
                metric,
            };
            for b in store
                .read_downsampled(&key, from, to, bucket)
                .unwrap_or_default()
            {
                *sums.entry(b.t).or_default() += b.max;
            }
        }
    }
    sums.into_iter().collect()
}

/// Where a counter rose: (time, increase).
fn rises(series: &[(i64, f64)]) -> Vec<(i64, f64)> {
    series
        .windows(2)
        .filter(|w| w[1].1 > w[0].1)
        .map(|w| (w[1].0, w[1].1 - w[0].1))
        .collect()
}

#[allow(clippy::too_many_arguments)]
pub fn gather(
    store: &dyn HistoryStore,
    target: TargetRow,
    workloads: &[Arc<WorkloadView>],
    timeline: Vec<Point>,
    pauses: Vec<PausePeriod>,
    events: Vec<EventRow>,
    from: i64,
    to: i64,
) -> Detail {
    let usage = Resource::BOTH
        .into_iter()
        .map(|r| {
            let m = if r == Resource::Cpu {
                Metric::Cpu
            } else {
                Metric::Memory
            };
            (r.name(), summed(store, workloads, m, from, to, true))
        })
        .collect();
    Detail {
        target,
        from,
        to,
        usage,
        replicas: summed(store, workloads, Metric::Replicas, from, to, false),
        timeline,
        pauses: pauses
            .into_iter()
            .filter(|p| p.to.is_none_or(|t| t >= from) && p.from <= to)
            .collect(),
        events: events.into_iter().filter(|e| e.time >= from).collect(),
        oom_kills: rises(&summed(store, workloads, Metric::OomKills, from, to, true)),
        restarts: rises(&summed(store, workloads, Metric::Restarts, from, to, true)),
    }
}

fn markers(d: &Detail) -> Vec<Marker> {
    let mut m: Vec<Marker> = d
        .events
        .iter()
        .map(|e| Marker {
            t: e.time,
            label: format!("{}: {}", e.reason, e.message),
            class: "m-event",
        })
        .collect();
    m.extend(d.oom_kills.iter().map(|&(t, n)| Marker {
        t,
        label: format!("{n} OOM kill(s)"),
        class: "m-oom",
    }));
    m.extend(d.restarts.iter().map(|&(t, n)| Marker {
        t,
        label: format!("{n} container restart(s)"),
        class: "m-restart",
    }));
    m
}

fn bands(d: &Detail) -> Vec<Band> {
    d.pauses
        .iter()
        .map(|p| Band {
            from: p.from.max(d.from),
            to: p.to.unwrap_or(d.to).min(d.to),
            label: "scaling paused".into(),
        })
        .collect()
}

fn timeline_series(
    d: &Detail,
    name: &'static str,
    class: &'static str,
    f: impl Fn(&Point) -> Option<f64>,
) -> Series {
    Series {
        name,
        class,
        points: d
            .timeline
            .iter()
            .filter_map(|p| Some((p.t, f(p)?)))
            .collect(),
        step: true,
    }
}

fn resource_chart(d: &Detail, r: Resource) -> String {
    let f: fn(f64) -> String = if r == Resource::Cpu { cpu } else { memory };
    let chart = Chart {
        title: format!(
            "{} per pod: usage, forecast peak, recommendation, applied, own request",
            r.name()
        ),
        from: d.from,
        to: d.to,
        series: vec![
            Series {
                name: "usage",
                class: "s-usage",
                points: d.usage.get(r.name()).cloned().unwrap_or_default(),
                step: false,
            },
            timeline_series(d, "forecast peak", "s-forecast", |p| p.forecast.get(r)),
            timeline_series(d, "recommendation", "s-rec", |p| p.recommended.get(r)),
            timeline_series(d, "applied", "s-applied", |p| p.running.get(r)),
            timeline_series(d, "own request", "s-request", |p| p.request.get(r)),
        ],
        markers: markers(d),
        bands: bands(d),
        format: &f,
    };
    chart.svg()
}

fn replicas_chart(d: &Detail) -> String {
    let f = |v: f64| format!("{v:.0}");
    Chart {
        title: "replicas: running against the suggestion".into(),
        from: d.from,
        to: d.to,
        series: vec![
            Series {
                name: "running pods",
                class: "s-usage",
                points: d.replicas.clone(),
                step: false,
            },
            timeline_series(d, "suggested replicas", "s-rec", |p| {
                p.suggested_replicas.map(f64::from)
            }),
            timeline_series(d, "workload replicas", "s-request", |p| {
                Some(f64::from(p.replicas))
            }),
        ],
        markers: markers(d),
        bands: bands(d),
        format: &f,
    }
    .svg()
}

pub fn page(d: &Detail) -> String {
    let t = &d.target;
    let mut out = String::with_capacity(32 * 1024);
    let _ = write!(
        out,
        r#"<h1 id="target-title">{ns}/{name}</h1><p>Workloads: {w} · vertical <b>{v}</b> · horizontal <b>{h}</b> · suggestion from {st}</p>
<div class="cards"><div class="card"><h3>CPU per pod</h3>request {rq} · applied {ap} · recommended {rc} · used {us}</div><div class="card"><h3>Memory per pod</h3>request {mrq} · applied {map} · recommended {mrc} · used {mus}</div><div class="card"><h3>Replicas</h3>{rep} (suggested {sr}) · {pods} running</div></div>
<p class="muted">Showing the last {hours} hours: <a href="?hours=6">6 h</a> · <a href="?hours=24">24 h</a> · <a href="?hours=168">7 days</a>. Dashed verticals mark Events, OOM kills and restarts; shaded periods had scaling paused.</p>
<section id="vertical-chart"><h2>Vertical</h2>{c}{m}</section><section id="horizontal-chart"><h2>Horizontal</h2>{hz}</section>"#,
        ns = escape(&t.namespace),
        name = escape(&t.name),
        w = escape(&t.workloads.join(", ")),
        v = escape(t.vertical.as_deref().unwrap_or("not set")),
        h = escape(t.horizontal.as_deref().unwrap_or("not set")),
        st = escape(
            t.suggestion_time
                .as_deref()
                .unwrap_or("– (no suggestion yet)")
        ),
        rq = opt(t.request.cpu, cpu),
        ap = opt(t.running.cpu, cpu),
        rc = opt(t.recommended.cpu, cpu),
        us = opt(t.used.cpu, cpu),
        mrq = opt(t.request.memory, memory),
        map = opt(t.running.memory, memory),
        mrc = opt(t.recommended.memory, memory),
        mus = opt(t.used.memory, memory),
        rep = t.replicas,
        sr = t.suggested_replicas.map_or("–".into(), |s| s.to_string()),
        pods = t.pods,
        hours = (d.to - d.from) / 3600,
        c = resource_chart(d, Resource::Cpu),
        m = resource_chart(d, Resource::Memory),
        hz = replicas_chart(d),
    );
    out.push_str(r#"<h2>Conditions</h2><table id="conditions"><tr><th>Type</th><th>Status</th><th>Reason</th><th>Message</th></tr>"#);
    for c in &t.conditions {
        let _ = write!(
            out,
            "<tr><td>{}</td><td><span class=\"pill {s}\">{s}</span></td><td>{}</td><td>{}</td></tr>",
            escape(&c.type_),
            escape(&c.reason),
            escape(&c.message),
            s = escape(&c.status),
        );
    }
    out.push_str(r#"</table><h2>Events</h2><table id="events"><tr><th>Time</th><th>Type</th><th>Reason</th><th>Message</th><th class="num">Count</th></tr>"#);
    for e in d.events.iter().rev() {
        let at = jiff::Timestamp::from_second(e.time)
            .map(|t| t.to_string())
            .unwrap_or_default();
        let _ = write!(
            out,
            r#"<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class="num">{}</td></tr>"#,
            escape(&at),
            escape(&e.type_),
            escape(&e.reason),
            escape(&e.message),
            e.count
        );
    }
    out.push_str("</table>");
    out
}

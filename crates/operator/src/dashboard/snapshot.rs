//! Reads what the pages show from memory: the cache (targets, workloads, pods), the
//! history store (latest usage) and the Event log; then `model` turns it into rows. No
//! request to the API server is made here.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use prescale_api::AIScaleTarget;
use prescale_api::mode::{DirectionMode, Scaling};
use prescale_store::{HistoryStore, Metric, SeriesKey};

use super::events::{EventRow, EventsByTarget};
use super::model::{ConditionRow, PerPod, TargetRow};
use crate::cache::Cache;
use crate::workload::WorkloadView;

/// How far back the latest usage sample may be to count as "used now".
pub const USAGE_WINDOW_SECS: i64 = 3600;

fn quantity(s: &str) -> Option<f64> {
    prescale_api::quantity::parse(s).ok().map(|q| q.as_f64())
}

fn mode_word(mode: Option<&DirectionMode>) -> Option<String> {
    mode.map(|m| match m.scaling() {
        Some(Scaling::Autonomous) => "autonomous".to_string(),
        Some(Scaling::Recommendation) => "recommendation".to_string(),
        None => m.0.clone(),
    })
}

/// Requests of one running pod, summed over its containers.
fn pod_requests(pod: &Pod) -> PerPod {
    let mut total = PerPod::default();
    for c in pod.spec.iter().flat_map(|s| &s.containers) {
        let req = c.resources.as_ref().and_then(|r| r.requests.as_ref());
        let get = |k: &str| req.and_then(|r| r.get(k)).and_then(|q| quantity(&q.0));
        total = total.plus(PerPod {
            cpu: get("cpu"),
            memory: get("memory"),
        });
    }
    total
}

/// (namespace, kind, name) → (requests summed over pods, pod count).
type Running = HashMap<(String, String, String), (PerPod, u32)>;

fn running_pods(cache: &Cache, namespaces: impl Iterator<Item = String>) -> Running {
    let mut out: Running = HashMap::new();
    for ns in namespaces {
        for (w, pod) in cache.pods_by_workload(&ns) {
            let e = out.entry((ns.clone(), w.kind, w.name)).or_default();
            e.0 = e.0.plus(pod_requests(&pod));
            e.1 += 1;
        }
    }
    out
}

/// The latest sample of each container's usage within `USAGE_WINDOW_SECS`, summed.
fn latest_usage(store: &dyn HistoryStore, w: &WorkloadView, now: i64) -> PerPod {
    let mut total = PerPod::default();
    for c in &w.containers {
        let last = |metric| {
            let key = SeriesKey {
                namespace: w.namespace.clone(),
                kind: w.kind.clone(),
                workload: w.name.clone(),
                container: c.name.clone(),
                metric,
            };
            store
                .read(&key, now - USAGE_WINDOW_SECS, now + 1)
                .ok()
                .and_then(|s| s.last().map(|x| x.1))
        };
        total = total.plus(PerPod {
            cpu: last(Metric::Cpu),
            memory: last(Metric::Memory),
        });
    }
    total
}

/// One target's row from what was read about it.
pub fn row(
    t: &AIScaleTarget,
    workloads: &[Arc<WorkloadView>],
    running: &Running,
    used: PerPod,
    events: &[EventRow],
) -> TargetRow {
    let status = t.status.as_ref();
    let suggestion = status.and_then(|s| s.suggestion.as_ref());
    let mut request = PerPod::default();
    let (mut replicas, mut pods, mut running_total) = (0u32, 0u32, PerPod::default());
    for w in workloads {
        for c in &w.containers {
            request = request.plus(PerPod {
                cpu: c.cpu,
                memory: c.memory,
            });
        }
        replicas += w.replicas;
        if let Some((sum, n)) = running.get(&(w.namespace.clone(), w.kind.clone(), w.name.clone()))
        {
            pods += n;
            running_total = running_total.plus(*sum);
        }
    }
    let running_mean = if pods > 0 {
        running_total.times(1.0 / f64::from(pods))
    } else {
        PerPod::default()
    };
    let mut recommended = PerPod::default();
    for c in suggestion.iter().flat_map(|s| &s.containers) {
        recommended = recommended.plus(PerPod {
            cpu: c.cpu.as_deref().and_then(quantity),
            memory: c.memory.as_deref().and_then(quantity),
        });
    }
    let per_pod = |k: &str| {
        let total = suggestion.and_then(|s| s.forecasted_totals.get(k))?;
        let n = suggestion
            .and_then(|s| s.suggested_replicas)
            .map_or(f64::from(replicas.max(1)), |r| f64::from(r.max(1)));
        quantity(total).map(|v| v / n)
    };
    TargetRow {
        namespace: t.namespace().unwrap_or_default(),
        name: t.name_any(),
        workloads: workloads.iter().map(|w| w.id()).collect(),
        vertical: mode_word(t.spec.vertical.as_ref().and_then(|v| v.mode.as_ref())),
        horizontal: mode_word(t.spec.horizontal.as_ref().and_then(|h| h.mode.as_ref())),
        autonomous: crate::pause_switch::is_autonomous(t),
        conditions: status
            .iter()
            .flat_map(|s| &s.conditions)
            .map(|c| ConditionRow {
                type_: c.type_.clone(),
                status: c.status.clone(),
                reason: c.reason.clone(),
                message: c.message.clone(),
            })
            .collect(),
        request,
        running: running_mean,
        recommended,
        forecast: PerPod {
            cpu: per_pod("cpu"),
            memory: per_pod("memory"),
        },
        used,
        replicas,
        pods,
        suggested_replicas: suggestion.and_then(|s| s.suggested_replicas),
        suggestion_time: suggestion
            .and_then(|s| s.time.as_ref())
            .map(|t| t.0.to_string()),
        last_action: events.last().map(|e| {
            (
                e.reason.clone(),
                Timestamp::from_second(e.time)
                    .map(|t| t.to_string())
                    .unwrap_or_default(),
            )
        }),
    }
}

/// The row of one target (the detail page), reading only its own pods and series.
pub fn rows_of(
    cache: &Cache,
    store: &dyn HistoryStore,
    t: &AIScaleTarget,
    workloads: &[Arc<WorkloadView>],
    events: &[EventRow],
    now: i64,
) -> TargetRow {
    let running = running_pods(cache, t.namespace().into_iter());
    let used = workloads.iter().fold(PerPod::default(), |a, w| {
        a.plus(latest_usage(store, w, now))
    });
    row(t, workloads, &running, used, events)
}

/// Every target's row, sorted by namespace and name.
pub fn rows(
    cache: &Cache,
    store: &dyn HistoryStore,
    events: &EventsByTarget,
    now: i64,
) -> Vec<TargetRow> {
    let targets = cache.targets.state();
    let namespaces: std::collections::BTreeSet<String> =
        targets.iter().filter_map(|t| t.namespace()).collect();
    let running = running_pods(cache, namespaces.into_iter());
    let mut rows: Vec<TargetRow> = targets
        .iter()
        .map(|t| {
            let workloads = cache.resolve(t);
            let used = workloads.iter().fold(PerPod::default(), |a, w| {
                a.plus(latest_usage(store, w, now))
            });
            let key = (t.namespace().unwrap_or_default(), t.name_any());
            let ev = events.get(&key).map(Vec::as_slice).unwrap_or_default();
            row(t, &workloads, &running, used, ev)
        })
        .collect();
    rows.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    rows
}

//! What a target's reconcile reads besides the target itself, all without an API request:
//! its workloads with their pods, HPAs and PodDisruptionBudgets (from the cache), the
//! usage history of their containers (from the store), and how far the Prometheus
//! backfill has got.

use std::collections::BTreeMap;
use std::sync::Arc;

use prescale_api::target::status::HistoryStatus;
use prescale_store::{HistoryStore, Metric, SeriesKey, StoreError};

use super::plan::WorkloadInput;
use super::suggest::ContainerHistory;
use crate::cache::Cache;
use crate::collector::owners::WorkloadRef;
use crate::horizontal::metrics::HpaView;
use crate::vertical::pods::PodView;
use crate::workload::WorkloadView;

/// How far back forecasts read history.
pub const HISTORY_WINDOW_SECS: i64 = 14 * 86_400;

/// The plan's view of each workload: pod counts from the workload's own status, its pods
/// as the cache shows them, the HPAs that scale it, the PodDisruptionBudgets that cover
/// its pods.
pub fn workload_inputs(cache: &Cache, workloads: &[Arc<WorkloadView>]) -> Vec<WorkloadInput> {
    let mut pods_by_ns = BTreeMap::new();
    for w in workloads {
        pods_by_ns
            .entry(w.namespace.as_str())
            .or_insert_with(|| cache.pods_of_workloads(&w.namespace));
    }
    workloads
        .iter()
        .map(|w| WorkloadInput {
            replicas: w.replicas,
            running: pods_by_ns[w.namespace.as_str()]
                .get(&WorkloadRef {
                    kind: w.kind.clone(),
                    name: w.name.clone(),
                })
                .into_iter()
                .flatten()
                .map(|p| PodView::of(p))
                .collect(),
            kind: w.kind.clone(),
            name: w.name.clone(),
            template: w.containers.clone(),
            restart_token: w.restart_token.clone(),
            rolled_out: w.rolled_out,
            pods: w.pods as usize,
            ready_pods: w.ready_pods as usize,
            hpas: cache
                .hpas_of(&w.namespace, &w.kind, &w.name)
                .iter()
                .map(|h| HpaView::of(h))
                .collect(),
            pdbs: cache
                .pdbs_of(&w.namespace, &w.pod_labels)
                .iter()
                .map(|p| p.metadata.name.clone().unwrap_or_default())
                .collect(),
        })
        .collect()
}

/// The single HPA of a target's single workload, whose metrics its replicas follow (none,
/// or several: seed 001's 80 % rule; the plan says why nothing is applied).
pub fn single_hpa(cache: &Cache, workloads: &[Arc<WorkloadView>]) -> Option<HpaView> {
    let [w] = workloads else { return None };
    match cache.hpas_of(&w.namespace, &w.kind, &w.name).as_slice() {
        [h] => Some(HpaView::of(h)),
        _ => None,
    }
}

/// The usage history of every container of `workloads` up to data time `now`, with each
/// container's current requests and its workload's replicas.
pub fn histories(
    store: &dyn HistoryStore,
    workloads: &[Arc<WorkloadView>],
    now: i64,
) -> Result<Vec<ContainerHistory>, StoreError> {
    let mut out = vec![];
    for w in workloads {
        let mut containers = w.containers.clone();
        containers.sort_by(|a, b| a.name.cmp(&b.name));
        for c in containers {
            let key = |metric| SeriesKey {
                namespace: w.namespace.clone(),
                kind: w.kind.clone(),
                workload: w.name.clone(),
                container: c.name.clone(),
                metric,
            };
            let from = now - HISTORY_WINDOW_SECS;
            out.push(ContainerHistory {
                workload: w.id(),
                container: c.name.clone(),
                cpu: store.read(&key(Metric::Cpu), from, now + 1)?,
                memory: store.read(&key(Metric::Memory), from, now + 1)?,
                replicas_history: store.read(
                    &SeriesKey {
                        container: String::new(),
                        ..key(Metric::Replicas)
                    },
                    from,
                    now + 1,
                )?,
                cpu_request: c.cpu,
                memory_request: c.memory,
                replicas: w.replicas,
            });
        }
    }
    Ok(out)
}

/// What `status.history` says: the oldest sample, the hours held, the days backfilled.
pub fn history_summary(
    histories: &[ContainerHistory],
    backfilled_days: Option<f64>,
) -> HistoryStatus {
    let span = histories
        .iter()
        .flat_map(|h| h.cpu.first().zip(h.cpu.last()))
        .map(|(f, l)| l.0 - f.0)
        .max()
        .unwrap_or(0);
    let since = histories
        .iter()
        .filter_map(|h| h.cpu.first().map(|f| f.0))
        .min();
    HistoryStatus {
        since: since
            .and_then(|s| jiff::Timestamp::from_second(s).ok())
            .map(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time),
        hours: span as f64 / 3600.0,
        backfilled_days,
    }
}

/// Starts the backfill of workloads seen for the first time — with `custom`, the (history
/// id, query) of the HPA metrics of a single workload — and says the days backfilled so
/// far (the least over the target's workloads: what every one of them has).
pub fn backfilled_days(
    backfill: Option<&std::sync::Arc<crate::backfill::Backfill>>,
    workloads: &[Arc<WorkloadView>],
    custom: &[(String, String)],
    now: i64,
) -> Option<f64> {
    let backfill = backfill?;
    let mut days: Option<f64> = None;
    for w in workloads {
        backfill.start(&w.namespace, &w.kind, &w.name, custom.to_vec(), now);
        let d = backfill
            .progress(&w.namespace, &w.kind, &w.name)
            .map_or(0.0, |p| p.days());
        days = Some(days.map_or(d, |m| m.min(d)));
    }
    days.map(|d| (d * 100.0).round() / 100.0)
}

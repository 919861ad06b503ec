//! The collector: reads metrics.k8s.io (one list per namespace) and, from the cache, the
//! status of the pods of enrolled workloads, and records usage, restarts, OOM kills and
//! replicas into the history store, one batch per namespace. A failed read writes
//! nothing: gaps stay gaps, and the caller backs off (`backoff`) and says so in the
//! target's status. `schedule` runs it on the operator's clock.

pub mod backoff;
pub mod oom;
pub mod owners;
pub mod schedule;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
use kube::{Client, ResourceExt};
use prescale_store::{HistoryStore, Metric, Sample, SeriesKey, StoreError};

use self::owners::WorkloadRef;

#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// The API server answers 404 for the metrics API: no metrics-server is installed.
    #[error(
        "metrics.k8s.io is not served: install metrics-server (https://github.com/kubernetes-sigs/metrics-server); no usage is recorded in namespace {namespace} until it is"
    )]
    MetricsNotServed { namespace: String },
    /// The metrics API is registered but its backend does not answer (503).
    #[error(
        "metrics.k8s.io is registered but does not answer (503): check that the metrics-server pods are running; no usage is recorded in namespace {namespace} meanwhile"
    )]
    MetricsUnavailable { namespace: String },
    #[error("reading {what} in namespace {namespace}: {source}")]
    Read {
        what: &'static str,
        namespace: String,
        source: kube::Error,
    },
    #[error("writing usage history: {0}")]
    Store(#[from] StoreError),
}

impl CollectError {
    /// The condition reason (and metric label) for this failure.
    pub fn reason(&self) -> &'static str {
        match self {
            CollectError::MetricsNotServed { .. } => "MetricsAPINotServed",
            CollectError::MetricsUnavailable { .. } => "MetricsAPIUnavailable",
            CollectError::Read { .. } => "MetricsUnavailable",
            CollectError::Store(_) => "HistoryStoreFailed",
        }
    }
}

fn container_statuses(pod: &Pod) -> &[k8s_openapi::api::core::v1::ContainerStatus] {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_deref())
        .unwrap_or_default()
}

/// Restarts, OOM kills and replicas from pod status, per workload and container, summed
/// over the workload's pods: `restarts` is the sum of restartCount (a counter; a drop
/// means a pod went away), `oom_kills` the number of containers whose last termination was
/// an OOM kill, `replicas` (container "") the number of Ready pods — those that share the
/// load whose per-pod peak is recorded: counting pods still starting would make the
/// workload's total (per-pod usage × replicas) look larger during every scale-up, and a
/// replica floor forecast from it would feed on its own scale-ups.
pub fn status_samples(
    namespace: &str,
    pods: &[(&WorkloadRef, &Pod)],
    t: i64,
) -> Vec<(SeriesKey, Sample)> {
    let mut sums: BTreeMap<(WorkloadRef, String, Metric), f64> = BTreeMap::new();
    for (owner, pod) in pods {
        *sums
            .entry(((*owner).clone(), String::new(), Metric::Replicas))
            .or_default() += if crate::workload::pod_is_ready(pod) {
            1.0
        } else {
            0.0
        };
        for c in container_statuses(pod) {
            let oom = c
                .last_state
                .as_ref()
                .and_then(|s| s.terminated.as_ref())
                .is_some_and(|t| t.reason.as_deref() == Some("OOMKilled"));
            for (metric, v) in [
                (Metric::Restarts, f64::from(c.restart_count.max(0))),
                (Metric::OomKills, if oom { 1.0 } else { 0.0 }),
            ] {
                *sums
                    .entry(((*owner).clone(), c.name.clone(), metric))
                    .or_default() += v;
            }
        }
    }
    sums.into_iter()
        .map(|((owner, container, metric), v)| {
            (
                SeriesKey {
                    namespace: namespace.into(),
                    kind: owner.kind,
                    workload: owner.name,
                    container,
                    metric,
                },
                (t, v),
            )
        })
        .collect()
}

/// One OOM kill, as pod status shows it: the container's last termination, identified by
/// pod and restart count so it is counted once however often it is seen.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OomKill {
    pub workload: WorkloadRef,
    pub pod_uid: String,
    pub container: String,
    pub restart_count: i32,
    /// When the killed container finished (unix seconds), when status says.
    pub finished_at: Option<i64>,
}

/// The containers whose last termination was an OOM kill.
pub fn oom_kills(pods: &[(&WorkloadRef, &Pod)]) -> Vec<OomKill> {
    let mut out = vec![];
    for (owner, pod) in pods {
        for c in container_statuses(pod) {
            let Some(t) = c.last_state.as_ref().and_then(|s| s.terminated.as_ref()) else {
                continue;
            };
            if t.reason.as_deref() == Some("OOMKilled") {
                out.push(OomKill {
                    workload: (*owner).clone(),
                    pod_uid: pod.metadata.uid.clone().unwrap_or_default(),
                    container: c.name.clone(),
                    restart_count: c.restart_count,
                    finished_at: t.finished_at.as_ref().map(|f| f.0.as_second()),
                });
            }
        }
    }
    out
}

/// What one collection found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Collection {
    /// The metrics' timestamp; `None` when no enrolled pod had metrics.
    pub data_time: Option<i64>,
    pub oom_kills: Vec<OomKill>,
}

/// One collection for a namespace: per-pod peak CPU and memory per container of the
/// `pods` given (those of enrolled workloads, with their workload), `status_samples`, and
/// the OOM kills their status shows.
pub async fn collect(
    client: &Client,
    store: &Arc<dyn HistoryStore>,
    namespace: &str,
    pods: &[(WorkloadRef, Arc<Pod>)],
) -> Result<Collection, CollectError> {
    let gvk = GroupVersionKind::gvk("metrics.k8s.io", "v1beta1", "PodMetrics");
    let metrics: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        namespace,
        &ApiResource::from_gvk_with_plural(&gvk, "pods"),
    );
    let items = match metrics.list(&ListParams::default()).await {
        Ok(list) => list.items,
        // A list never answers 404 for a served resource: the group itself is missing.
        Err(kube::Error::Api(s)) if s.code == 404 => {
            return Err(CollectError::MetricsNotServed {
                namespace: namespace.into(),
            });
        }
        Err(kube::Error::Api(s)) if s.code == 503 => {
            return Err(CollectError::MetricsUnavailable {
                namespace: namespace.into(),
            });
        }
        Err(source) => {
            return Err(CollectError::Read {
                what: "pod metrics (metrics.k8s.io)",
                namespace: namespace.into(),
                source,
            });
        }
    };
    let pod_owner: HashMap<String, &WorkloadRef> =
        pods.iter().map(|(w, p)| (p.name_any(), w)).collect();
    let mut peaks: BTreeMap<SeriesKey, f64> = BTreeMap::new();
    let mut data_time = None;
    for m in &items {
        let Some(owner) = pod_owner.get(&m.name_any()) else {
            continue;
        };
        let t = m.data["timestamp"]
            .as_str()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .map(|t| t.as_second());
        data_time = data_time.max(t);
        for c in m.data["containers"].as_array().into_iter().flatten() {
            let container = c["name"].as_str().unwrap_or_default().to_string();
            for (metric, field) in [(Metric::Cpu, "cpu"), (Metric::Memory, "memory")] {
                let Some(v) = crate::workload::quantity(&c["usage"][field]) else {
                    continue;
                };
                let key = SeriesKey {
                    namespace: namespace.into(),
                    kind: owner.kind.clone(),
                    workload: owner.name.clone(),
                    container: container.clone(),
                    metric,
                };
                let e = peaks.entry(key).or_insert(0.0);
                *e = e.max(v);
            }
        }
    }
    let owned: Vec<(&WorkloadRef, &Pod)> = pods.iter().map(|(w, p)| (w, p.as_ref())).collect();
    let oom = oom_kills(&owned);
    let Some(t) = data_time else {
        return Ok(Collection {
            data_time: None,
            oom_kills: oom,
        });
    };
    let mut batch: Vec<_> = peaks.into_iter().map(|(k, v)| (k, (t, v))).collect();
    batch.extend(status_samples(namespace, &owned, t));
    let store = store.clone();
    // The embedded store fsyncs; keep that off the async workers.
    tokio::task::spawn_blocking(move || store.append(&batch))
        .await
        .map_err(|e| StoreError::Database {
            what: "appending collected samples".into(),
            reason: e.to_string(),
        })??;
    Ok(Collection {
        data_time: Some(t),
        oom_kills: oom,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn restarts_oom_kills_and_ready_replicas_are_summed_per_container() {
        let pod = |restarts: i32, oom: bool, ready: bool| -> Pod {
            let last = if oom {
                json!({"terminated": {"exitCode": 137, "reason": "OOMKilled"}})
            } else {
                json!({})
            };
            serde_json::from_value(json!({"status": {
                "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}],
                "containerStatuses": [
                {"name": "app", "restartCount": restarts, "ready": ready, "image": "x", "imageID": "",
                 "lastState": last}]}}))
            .unwrap()
        };
        let web = WorkloadRef {
            kind: "Deployment".into(),
            name: "web".into(),
        };
        // A third pod still starting: it counts for restarts, not as a replica sharing
        // the load.
        let (a, b, starting) = (
            pod(2, true, true),
            pod(1, false, true),
            pod(0, false, false),
        );
        let got = status_samples("shop", &[(&web, &a), (&web, &b), (&web, &starting)], 100);
        let value = |container: &str, metric| {
            got.iter()
                .find(|(k, _)| k.container == container && k.metric == metric)
                .map(|(_, s)| s.1)
        };
        assert_eq!(value("app", Metric::Restarts), Some(3.0));
        assert_eq!(value("app", Metric::OomKills), Some(1.0));
        assert_eq!(value("", Metric::Replicas), Some(2.0));
        assert!(got.iter().all(|(k, s)| k.workload == "web" && s.0 == 100));
    }
}

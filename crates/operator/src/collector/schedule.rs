//! Collection on a schedule: every `interval` on the operator's clock, each namespace with
//! targets this process works on, whose workloads have pods, is read from metrics.k8s.io —
//! one request per namespace — and its samples recorded; then its targets are told. A
//! namespace whose enrolled workloads have no pod makes no request. The Pods, Object and
//! External metrics of the namespace's targets' HPAs are read with it
//! (`horizontal::sampler`). Failures back off per namespace (`backoff`) and are logged once
//! per namespace and kind of failure.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kube::Client;
use prescale_api::AIScaleTarget;
use prescale_store::HistoryStore;

use super::backoff::CollectorHealth;
use super::collect;
use super::oom::OomTracker;
use super::owners::WorkloadRef;
use crate::cache::Cache;
use crate::clock::Clock;
use crate::http::Shared;
use crate::target::controller::Gate;

pub struct Collector {
    pub client: Client,
    pub store: Arc<dyn HistoryStore>,
    pub cache: Arc<Cache>,
    pub clock: Arc<dyn Clock>,
    /// Time between collections of one namespace, on the operator's clock.
    pub interval: Duration,
    pub health: Arc<Mutex<CollectorHealth>>,
    pub oom: Arc<Mutex<OomTracker>>,
    pub gate: Arc<dyn Gate>,
    pub shared: Arc<Shared>,
    /// The HPAs' Pods, Object and External metrics, read after each collection.
    pub custom: Arc<crate::horizontal::sampler::Sampler>,
}

impl Collector {
    /// The targets this process works on, per namespace.
    fn targets_by_namespace(&self) -> BTreeMap<String, Vec<Arc<AIScaleTarget>>> {
        let mut out: BTreeMap<String, Vec<Arc<AIScaleTarget>>> = BTreeMap::new();
        // Every second over every target: names are compared in place, a namespace copied
        // once.
        for t in self.cache.targets.state() {
            let ns = t.metadata.namespace.as_deref().unwrap_or_default();
            if !self
                .gate
                .admits(ns, t.metadata.name.as_deref().unwrap_or_default())
            {
                continue;
            }
            match out.get_mut(ns) {
                Some(targets) => targets.push(t),
                None => {
                    out.insert(ns.to_string(), vec![t]);
                }
            }
        }
        out
    }

    /// One round over the namespaces; returns those whose targets should look again. Only
    /// namespaces due for collection are looked at closely, and only those whose enrolled
    /// workloads have pods are read.
    pub async fn round(&self) -> Vec<String> {
        let interval = self.clock.real_duration(self.interval);
        let mut touched = vec![];
        for (ns, targets) in self.targets_by_namespace() {
            let now = Instant::now();
            if !self
                .health
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .due(&ns, now, interval)
            {
                continue;
            }
            let pods = self.cache.pods_by_workload(&ns);
            if pods.is_empty() {
                continue;
            }
            let enrolled: BTreeSet<WorkloadRef> = targets
                .iter()
                .flat_map(|t| self.cache.resolve(t))
                .map(|w| WorkloadRef {
                    kind: w.kind,
                    name: w.name,
                })
                .collect();
            let pods: Vec<_> = pods
                .into_iter()
                .filter(|(w, _)| enrolled.contains(w))
                .collect();
            if pods.is_empty() {
                continue;
            }
            match collect(&self.client, &self.store, &ns, &pods).await {
                Ok(found) => {
                    if let Some(t) = found.data_time {
                        self.custom
                            .sample(&self.client, &self.store, &self.cache, &targets, t)
                            .await;
                    }
                    let mut health = self.health.lock().unwrap_or_else(|e| e.into_inner());
                    health.succeeded(&ns, now, found.data_time);
                    let at = health.last_data_time(&ns).unwrap_or(0);
                    drop(health);
                    let new = self.oom.lock().unwrap_or_else(|e| e.into_inner()).observe(
                        &ns,
                        found.oom_kills,
                        at,
                    );
                    self.shared.metrics.oom_kills.inc_by(new as u64);
                    touched.push(ns);
                }
                Err(e) => {
                    let retry = self
                        .health
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .failed(&ns, e.reason(), e.to_string(), now);
                    // Once per namespace and kind of failure, not at every retry.
                    if retry.first {
                        tracing::warn!(namespace = %ns, error = %e, retry_in_s = retry.wait.as_secs(), "collection failed; backing off");
                        touched.push(ns);
                    } else {
                        tracing::debug!(namespace = %ns, error = %e, retry_in_s = retry.wait.as_secs(), "collection failed again");
                    }
                }
            }
        }
        touched
    }

    /// Collects until the task is aborted, calling `touched` with each namespace whose
    /// samples (or failure) are new.
    pub async fn run(self, touched: impl Fn(&str)) {
        loop {
            for ns in self.round().await {
                touched(&ns);
            }
            // Check again well within an interval; `due` decides per namespace.
            let tick = self.clock.real_duration(self.interval / 4);
            tokio::time::sleep(tick.clamp(Duration::from_millis(20), Duration::from_secs(1))).await;
        }
    }
}

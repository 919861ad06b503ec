//! The simulated API server's shared state — the store, the load model's latest usage,
//! faults, HPA memory, pod metrics endpoints, replayed traces, tokens, external metric
//! values and the request log — and its accessors.

use std::sync::{Arc, Mutex, MutexGuard};

use super::{request_log, review};
use crate::clock::Clock;
use crate::store::Store;

/// Everything the server shares between requests.
pub struct Sim {
    pub(super) store: Mutex<Store>,
    pub(super) usage: Mutex<Usage>,
    pub(super) faults: Mutex<Vec<crate::faults::Fault>>,
    pub(super) hpa: Mutex<crate::cluster::hpa::HpaMemory>,
    /// The metrics endpoints of pods that serve one (`cluster::pod_metrics`).
    pub(super) pod_metrics: Mutex<crate::cluster::pod_metrics::Endpoints>,
    /// Replayed load per workload (`namespace/name`): the trace and when its replay began.
    pub(super) traces:
        Mutex<std::collections::HashMap<String, (crate::cluster::trace::Trace, i64)>>,
    /// Seconds each (namespace, pod, container) has spent throttled at its CPU limit.
    pub(super) throttling: Mutex<std::collections::BTreeMap<(String, String, String), u64>>,
    /// Simulated seconds a scheduled pod takes to become Ready.
    pub(super) startup_secs: std::sync::atomic::AtomicI64,
    /// Requests served, per (resource[/subresource], verb): what benchmarks count.
    pub(super) requests: Mutex<std::collections::BTreeMap<(String, String), u64>>,
    /// Every request with its RBAC attributes, while recording (`record_requests`).
    pub(super) request_log: Mutex<Option<Vec<request_log::RequestRecord>>>,
    /// Bearer tokens TokenReview accepts (`add_token`).
    pub(super) tokens: Mutex<review::Tokens>,
    /// Values the external metrics API serves: (namespace, metric) → value.
    pub(super) external_metrics: Mutex<std::collections::BTreeMap<(String, String), f64>>,
    pub clock: Arc<Clock>,
}

/// (container, cpu cores, memory bytes)
pub type ContainerUsage = (String, f64, f64);

/// The latest usage figures of the load model, served as metrics.k8s.io.
#[derive(Debug, Clone, Default)]
pub struct Usage {
    /// (namespace, pod) → [(container, cpu cores, memory bytes)]
    pub pods: std::collections::BTreeMap<(String, String), Vec<ContainerUsage>>,
    /// node → (cpu cores, memory bytes)
    pub nodes: std::collections::BTreeMap<String, (f64, f64)>,
    /// (namespace, pod, container) held at its CPU limit in this tick.
    pub throttled: Vec<(String, String, String)>,
    /// (namespace, pod) → the pod's load relative to its requests (1.0 = at requests).
    pub demand: std::collections::BTreeMap<(String, String), f64>,
}

impl Sim {
    pub fn new(clock: Arc<Clock>) -> Arc<Self> {
        Arc::new(Sim {
            store: Mutex::new(Store::new(clock.clone())),
            usage: Mutex::default(),
            faults: Mutex::default(),
            hpa: Mutex::default(),
            pod_metrics: Mutex::default(),
            requests: Mutex::default(),
            request_log: Mutex::default(),
            tokens: Mutex::default(),
            traces: Mutex::default(),
            throttling: Mutex::default(),
            external_metrics: Mutex::default(),
            startup_secs: std::sync::atomic::AtomicI64::new(crate::cluster::STARTUP_SECS),
            clock,
        })
    }

    /// The HPA controller's recommendation history.
    pub fn hpa_memory(&self) -> MutexGuard<'_, crate::cluster::hpa::HpaMemory> {
        self.hpa.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The metrics endpoints of pods (`cluster::pod_metrics`).
    pub fn pod_metrics(&self) -> MutexGuard<'_, crate::cluster::pod_metrics::Endpoints> {
        self.pod_metrics.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces the fault-injection rules (empty: no faults).
    pub fn set_faults(&self, faults: Vec<crate::faults::Fault>) {
        *self.faults.lock().unwrap_or_else(|e| e.into_inner()) = faults;
    }

    pub fn usage(&self) -> MutexGuard<'_, Usage> {
        self.usage.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Drives workload `namespace/name` (any kind) with `trace`, replayed from now on;
    /// workloads without one follow the synthetic pattern.
    pub fn drive_with_trace(
        &self,
        namespace: &str,
        name: &str,
        trace: crate::cluster::trace::Trace,
    ) {
        let now = self.clock.now().as_second();
        self.traces()
            .insert(format!("{namespace}/{name}"), (trace, now));
    }

    pub(crate) fn traces(
        &self,
    ) -> MutexGuard<'_, std::collections::HashMap<String, (crate::cluster::trace::Trace, i64)>>
    {
        self.traces.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets the value external.metrics.k8s.io serves for `metric` in `namespace` (`None`:
    /// served no more).
    pub fn set_external_metric(&self, namespace: &str, metric: &str, value: Option<f64>) {
        let mut m = self
            .external_metrics
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let key = (namespace.to_string(), metric.to_string());
        match value {
            Some(v) => m.insert(key, v),
            None => m.remove(&key),
        };
    }

    pub(crate) fn external_metric(&self, namespace: &str, metric: &str) -> Option<f64> {
        self.external_metrics
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(namespace.to_string(), metric.to_string()))
            .copied()
    }

    /// Sets how long a scheduled pod takes to become Ready (simulated seconds).
    pub fn set_startup_delay(&self, secs: i64) {
        self.startup_secs
            .store(secs.max(0), std::sync::atomic::Ordering::Relaxed);
    }

    pub fn startup_delay(&self) -> i64 {
        self.startup_secs.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Simulated seconds a container has been throttled at its CPU limit.
    pub fn throttled_seconds(&self, namespace: &str, pod: &str, container: &str) -> u64 {
        self.throttling
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(namespace.into(), pod.into(), container.into()))
            .copied()
            .unwrap_or(0)
    }

    /// Adds one tick of `secs` to every container throttled in it.
    pub(crate) fn record_throttling(&self, throttled: &[(String, String, String)], secs: u64) {
        let mut t = self.throttling.lock().unwrap_or_else(|e| e.into_inner());
        for key in throttled {
            *t.entry(key.clone()).or_default() += secs;
        }
    }

    /// Requests served so far, per (resource[/subresource], verb).
    pub fn request_counts(&self) -> std::collections::BTreeMap<(String, String), u64> {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Starts (or restarts, empty) the log of requests with their RBAC attributes.
    pub fn record_requests(&self) {
        *self.request_log.lock().unwrap_or_else(|e| e.into_inner()) = Some(vec![]);
    }

    /// Logs one more RBAC check of a request already logged (while recording).
    pub(super) fn log_also(&self, record: request_log::RequestRecord) {
        if let Some(log) = self
            .request_log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
        {
            log.push(record);
        }
    }

    /// The requests logged since `record_requests`.
    pub fn recorded_requests(&self) -> Vec<request_log::RequestRecord> {
        self.request_log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .unwrap_or_default()
    }

    /// The store, for in-process controllers and tests.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }
}

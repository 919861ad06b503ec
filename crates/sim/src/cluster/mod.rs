//! Cluster behaviour: the workload controllers, the scheduler and the load model, run as
//! one loop on the simulated clock.

pub mod daemonsets;
pub mod hpa;
pub mod hpa_behavior;
pub mod load;
pub mod pod_metrics;
pub mod trace;
pub mod workloads;

use std::sync::Arc;
use std::time::Duration;

use crate::server::Sim;

/// Simulated seconds between ticks of the cluster loop (metrics-server's resolution).
pub const TICK_SECS: u64 = 15;
/// Simulated seconds a pod needs to become Ready, unless `Sim::set_startup_delay` says
/// otherwise.
pub const STARTUP_SECS: i64 = 5;

/// One tick: reconcile workloads, create the pods they want through the API's create path
/// (pod webhooks see them), refresh usage, serve it on the pods' metrics endpoints, then let
/// HPAs act on it — their scalings written through the API's scale path, so `*/scale`
/// webhooks see them.
pub async fn tick(sim: &Arc<Sim>) {
    let (writes, creates) = {
        let mut store = sim.store();
        let creates = workloads::reconcile(&mut store, sim.startup_delay());
        let usage = load::update_usage(&mut store, &sim.traces());
        let pods = store.list(&("".into(), "pods".into()), None);
        let failures = pod_metrics::sync(&mut sim.pod_metrics(), &pods, &usage.demand);
        for f in failures {
            record_warning(
                &mut store,
                &f.namespace,
                &f.pod,
                "MetricsEndpointUnavailable",
                &f.message,
            );
        }
        let writes = hpa::sync(&mut store, &usage, &mut sim.hpa_memory());
        drop(store);
        sim.record_throttling(&usage.throttled, TICK_SECS);
        *sim.usage() = usage;
        (writes, creates)
    };
    // Pods are created as a controller-manager creates them: through the API, so mutating
    // and validating webhooks (their timeouts and failure policies) apply.
    futures::future::join_all(creates.into_iter().map(|(ns, pod)| async move {
        if let Err(e) = crate::server::create_object(sim, "", "pods", &ns, pod).await {
            tracing::warn!(namespace = %ns, error = %e.message, "a pod creation was refused");
        }
    }))
    .await;
    for w in writes {
        if let Err(e) =
            crate::server::write_scale(sim, &w.group, &w.plural, &w.namespace, &w.name, w.replicas)
                .await
        {
            tracing::warn!(hpa_target = %format!("{}/{}", w.namespace, w.name), error = %e.message, "the HPA's scale write was refused");
        }
    }
}

/// Runs the cluster loop until the task is aborted.
pub fn spawn(sim: Arc<Sim>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tick(&sim).await;
            let wait = sim
                .clock
                .real_duration(Duration::from_secs(TICK_SECS))
                .max(Duration::from_millis(20));
            tokio::time::sleep(wait).await;
        }
    })
}

/// A Warning Event about a pod, as its kubelet would write one.
fn record_warning(
    store: &mut crate::store::Store,
    namespace: &str,
    pod: &str,
    reason: &str,
    message: &str,
) {
    let now = store.clock().rfc3339();
    let event = serde_json::json!({
        "metadata": {"generateName": format!("{pod}.")},
        "involvedObject": {"kind": "Pod", "namespace": namespace, "name": pod},
        "reason": reason, "type": "Warning", "message": message,
        "firstTimestamp": now, "lastTimestamp": now, "count": 1, "source": {"component": "kubelet"},
    });
    let _ = store.create(&("".into(), "events".into()), namespace, event);
}

//! The operator process: leader election, the template and target passes on a fixed
//! interval (level-based, so a missed event is caught on the next pass), the pause read
//! each pass (a pause takes effect within one interval), and the HTTP server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Client;
use kube::api::Api;
use prescale_store::HistoryStore;

use crate::http::{Shared, serve};
use crate::leader::LeaseLock;
use crate::metrics::{ControllerLabels, ErrorLabels, ResourceLabels};
use crate::pause::{PauseState, SYSTEM_CONFIG_MAP, pause_state};
use crate::target::controller::{TargetContext, TargetMemory, reconcile_targets};
use crate::template::controller::reconcile_templates;

pub struct OperatorConfig {
    /// The operator's own namespace (Lease, pause ConfigMap).
    pub namespace: String,
    pub metrics_addr: Option<SocketAddr>,
    /// Time between passes.
    pub interval: Duration,
    /// This replica's name in the Lease.
    pub identity: String,
    /// Backfill from Prometheus on enrolment.
    pub backfill: Option<Arc<crate::backfill::Backfill>>,
    /// Time between collections from metrics.k8s.io.
    pub collect_interval: Duration,
    /// With a shared PostgreSQL store: split the targets with other workers.
    pub claims: Option<Arc<crate::target::controller::Claims>>,
    /// A `prescale worker`: target passes only (no Lease, no templates).
    pub worker_only: bool,
    /// The namespaces and templates this operator manages.
    pub scope: crate::scope::Scope,
}

/// Reads the pause ConfigMap; an error reading it keeps the last known state.
pub async fn read_pause(client: &Client, namespace: &str) -> Result<PauseState, kube::Error> {
    let cm = Api::<ConfigMap>::namespaced(client.clone(), namespace)
        .get_opt(SYSTEM_CONFIG_MAP)
        .await?;
    Ok(pause_state(cm.as_ref().and_then(|c| c.data.as_ref())))
}

/// Runs until `shutdown` resolves.
pub async fn run(
    client: Client,
    store: Arc<dyn HistoryStore>,
    config: OperatorConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let shared = Arc::new(Shared::default());
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    if let Some(addr) = config.metrics_addr {
        let mut rx = stop_tx.subscribe();
        let shared = shared.clone();
        let listener_check = tokio::net::TcpListener::bind(addr).await?;
        drop(listener_check);
        tokio::spawn(async move {
            let stop = async move {
                let _ = rx.changed().await;
            };
            if let Err(e) = serve(addr, shared, stop).await {
                tracing::error!(%addr, error = %e, "the metrics server stopped");
            }
        });
        tracing::info!(%addr, "serving /metrics, /healthz and /readyz");
    }
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let lease = LeaseLock::new(
        client.clone(),
        &config.namespace,
        "prescale-operator",
        &config.identity,
        Duration::from_secs(15),
    );
    let ctx = TargetContext {
        backfill: config.backfill.clone(),
        collect_interval: config.collect_interval,
        claims: config.claims.clone(),
        scope: config.scope.clone(),
        ..TargetContext::new(client.clone(), store)
    };
    let mut memory = TargetMemory::default();
    let mut pause = PauseState::RUNNING;
    loop {
        let leading = !config.worker_only
            && match lease.try_lead(jiff::Timestamp::now()).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "leader election failed; standing by");
                    false
                }
            };
        if leading || config.worker_only {
            match read_pause(&client, &config.namespace).await {
                Ok(p) => {
                    if p != pause {
                        tracing::info!(paused = p.paused, problem = ?p.problem, "system-wide pause changed");
                    }
                    pause = p;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "reading the pause ConfigMap failed; keeping the last state")
                }
            }
            shared.metrics.scaling_paused.set(i64::from(pause.paused));
            if leading {
                pass(&shared, "template", async {
                    reconcile_templates(&client, &config.scope)
                        .await
                        .map(|s| s.managed.values().sum::<usize>())
                        .map_err(|e| (e.reason(), e.to_string()))
                })
                .await;
            }
            if let Some(done) = pass(&shared, "target", async {
                reconcile_targets(&ctx, &mut memory, &pause)
                    .await
                    .map_err(|e| ("target_failed", e.to_string()))
            })
            .await
            {
                shared.metrics.recommendations.inc_by(done.written as u64);
                shared.metrics.oom_kills.inc_by(done.oom_kills as u64);
                shared.metrics.managed_targets.set(done.targets as i64);
                for (resource, recommended) in &done.recommended {
                    let requested = done.requested.get(resource).copied().unwrap_or(0.0);
                    if requested > 0.0 {
                        let labels = ResourceLabels {
                            resource: resource.to_string(),
                        };
                        shared
                            .metrics
                            .provisioning_ratio
                            .get_or_create(&labels)
                            .set(recommended / requested);
                    }
                }
            }
        }
        shared.ready.store(true, Ordering::Relaxed);
        tokio::select! {
            _ = tokio::time::sleep(config.interval) => {}
            _ = stop_rx.changed() => {
                if !config.worker_only {
                    let _ = lease.release().await;
                }
                if let Some(claims) = &config.claims {
                    let (store, worker) = (claims.store.clone(), claims.worker.clone());
                    let _ = tokio::task::spawn_blocking(move || store.release_claims(&worker)).await;
                }
                return Ok(());
            }
        }
    }
}

/// Runs one pass, recording its duration and outcome.
async fn pass<T>(
    shared: &Shared,
    controller: &str,
    work: impl std::future::Future<Output = Result<T, (&'static str, String)>>,
) -> Option<T> {
    let labels = ControllerLabels {
        controller: controller.into(),
    };
    let started = Instant::now();
    let result = work.await;
    shared
        .metrics
        .reconcile_duration
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
    shared.metrics.reconciles.get_or_create(&labels).inc();
    match result {
        Ok(v) => Some(v),
        Err((reason, message)) => {
            shared
                .metrics
                .reconcile_errors
                .get_or_create(&ErrorLabels {
                    controller: controller.into(),
                    reason: reason.into(),
                })
                .inc();
            tracing::warn!(controller, %message, "reconcile pass failed");
            None
        }
    }
}

//! The operator process. The cache's watches feed both controllers; each change is turned
//! into work by `triggers`. The target controller runs from a fair work queue
//! (`target::runner`, `workqueue`: first asked, first served, the pause first), the
//! template controller is a `kube_runtime::applier`; each runs one reconcile per object
//! at a time, scheduled by changes, by each target's own next forecast and by a resync
//! safety net, failed objects retried with backoff on their own.
//! Around them: leader election (only the Lease holder reconciles; a standby keeps its
//! cache warm), the claims of a shared store, the collector's schedule, the removal of
//! unenrolled history, and the HTTP server.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::channel::mpsc;
use futures::{StreamExt, stream};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Client;
use kube::api::Api;
use kube::runtime::controller::{Config as ControllerConfig, applier};
use kube::runtime::reflector::ObjectRef;
use prescale_api::template::ClusterAIScaleTemplate;
use prescale_store::HistoryStore;
use tokio::task::JoinHandle;

use crate::cache::{self, Cache};
use crate::clock::Clock;
use crate::collector::backoff::CollectorHealth;
use crate::collector::oom::OomTracker;
use crate::collector::schedule::Collector;
use crate::http::{Shared, serve};
use crate::leader::LeaseLock;
use crate::pause::{PauseState, SYSTEM_CONFIG_MAP, pause_state};
use crate::target::claims::{Claimed, Claims, Leading};
use crate::target::controller::{Gate, TargetContext};
use crate::target::runner::TargetQueue;
use crate::template::controller::TemplateContext;
use crate::triggers::dispatch;

pub struct OperatorConfig {
    /// The operator's own namespace (Lease, pause ConfigMap).
    pub namespace: String,
    pub metrics_addr: Option<SocketAddr>,
    /// The safety net: every object is reconciled at least this often, changed or not.
    pub resync: Duration,
    /// This replica's name in the Lease.
    pub identity: String,
    /// Backfill from Prometheus on enrolment.
    pub backfill: Option<Arc<crate::backfill::Backfill>>,
    /// Time between collections from metrics.k8s.io (per namespace), on `clock`.
    pub collect_interval: Duration,
    /// With a shared PostgreSQL store: split the targets with other workers.
    pub claims: Option<Arc<Claims>>,
    /// A `prescale worker`: targets only (no Lease, no templates).
    pub worker_only: bool,
    /// The namespaces and templates this operator manages.
    pub scope: crate::scope::Scope,
    /// The clock every timestamp and schedule follows.
    pub clock: Arc<dyn Clock>,
    /// Serve the dashboard (`crate::dashboard`) on this bound listener, once the cache
    /// is synced.
    pub dashboard: Option<tokio::net::TcpListener>,
    /// The admission webhooks' HTTPS listener and registration (`None`: no webhooks).
    pub webhook: Option<crate::webhook::WebhookConfig>,
}

/// Reads the pause ConfigMap (for `prescale pause|resume|status`; the operator watches it).
pub async fn read_pause(client: &Client, namespace: &str) -> Result<PauseState, kube::Error> {
    let cm = Api::<ConfigMap>::namespaced(client.clone(), namespace)
        .get_opt(SYSTEM_CONFIG_MAP)
        .await?;
    Ok(pause_state(cm.as_ref().and_then(|c| c.data.as_ref())))
}

/// Targets reconciled at once.
/// Target reconciles at once. Bounded, so a burst (the pause, a resync) is a steady stream
/// of requests rather than thousands at once; reconciles waiting for the forecast pool
/// hold a slot, hence room to spare.
const TARGET_CONCURRENCY: usize = 128;

/// Tasks aborted when dropped.
#[derive(Default)]
struct Tasks(Vec<JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        self.0.iter().for_each(JoinHandle::abort);
    }
}

/// Where work is sent: each controller's queue.
#[derive(Clone)]
struct Queues {
    targets: Arc<TargetQueue>,
    templates: mpsc::UnboundedSender<()>,
}

impl Queues {
    fn all_targets(&self, cache: &Cache) {
        for t in cache.targets.state() {
            self.targets.add(ObjectRef::from_obj(t.as_ref()));
        }
    }
}

/// Runs until `shutdown` resolves.
pub async fn run(
    client: Client,
    store: Arc<dyn HistoryStore>,
    config: OperatorConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let shared = Arc::new(Shared::default());
    let mut tasks = Tasks::default();
    if let Some(addr) = config.metrics_addr {
        let listener_check = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("--metrics-addr {addr}: cannot listen: {e} (pass a free HOST:PORT)"),
            )
        })?;
        drop(listener_check);
        let shared = shared.clone();
        tasks.0.push(tokio::spawn(async move {
            if let Err(e) = serve(addr, shared, std::future::pending()).await {
                tracing::error!(%addr, error = %e, "the metrics server stopped");
            }
        }));
        tracing::info!(%addr, "serving /metrics, /healthz and /readyz");
    }
    let (changes_tx, mut changes) = tokio::sync::mpsc::unbounded_channel();
    let (cache, mut cache_tasks) =
        cache::start(&client, &config.scope, &config.namespace, changes_tx);
    tokio::pin!(shutdown);
    tokio::select! {
        _ = cache_tasks.wait_ready() => {}
        _ = &mut shutdown => return Ok(()),
    }
    shared.ready.store(true, Ordering::Relaxed);
    tracing::info!("caches synced");
    let _dashboard = match config.dashboard {
        Some(listener) => {
            let (dashboard, dashboard_tasks) = crate::dashboard::Dashboard::start(
                client.clone(),
                cache.clone(),
                store.clone(),
                config.namespace.clone(),
                config.clock.clone(),
            );
            let addr = listener.local_addr().ok();
            tasks.0.push(tokio::spawn(async move {
                if let Err(e) =
                    crate::dashboard::serve(listener, dashboard, std::future::pending()).await
                {
                    tracing::error!(error = %e, "the dashboard server stopped");
                }
            }));
            tracing::info!(addr = ?addr, "serving the dashboard");
            Some(dashboard_tasks)
        }
        None => None,
    };
    // Every replica serves the webhooks (standbys' caches are warm too); only once the
    // caches are synced, so no pod is judged on a partial view.
    let _webhooks = match config.webhook.clone() {
        Some(w) => {
            let state = Arc::new(crate::webhook::review::WebhookState {
                cache: cache.clone(),
                shared: shared.clone(),
                clock: config.clock.clone(),
            });
            Some(
                crate::webhook::registration::start(
                    client.clone(),
                    &config.namespace,
                    config
                        .scope
                        .namespaces
                        .as_ref()
                        .map(|n| n.iter().cloned().collect()),
                    w,
                    state,
                )
                .await
                .map_err(std::io::Error::other)?,
            )
        }
        None => None,
    };

    let (templates_tx, templates_rx) = mpsc::unbounded();
    let queues = Queues {
        targets: Arc::new(TargetQueue::default()),
        templates: templates_tx,
    };
    let (leading_tx, leading_rx) = tokio::sync::watch::channel(config.worker_only);
    let leading: Arc<dyn Gate> = Arc::new(Leading(leading_rx));
    let claimed = config.claims.as_ref().map(|_| Arc::new(Claimed::default()));
    let target_gate: Arc<dyn Gate> = match &claimed {
        Some(c) => c.clone(),
        None => leading.clone(),
    };
    let health = Arc::new(Mutex::new(CollectorHealth::default()));
    let oom = Arc::new(Mutex::new(OomTracker::default()));

    // Leader election: the holder reconciles; gaining the Lease reconciles everything.
    let lease = Arc::new(LeaseLock::new(
        client.clone(),
        &config.namespace,
        "prescale-operator",
        &config.identity,
        Duration::from_secs(15),
    ));
    if !config.worker_only {
        let (lease, clock, queues, cache) = (
            lease.clone(),
            config.clock.clone(),
            queues.clone(),
            cache.clone(),
        );
        tasks.0.push(tokio::spawn(async move {
            loop {
                let leads = match lease.try_lead(clock.now()).await {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::warn!(error = %e, "leader election failed; standing by");
                        false
                    }
                };
                if leading_tx.send_replace(leads) != leads {
                    tracing::info!(leading = leads, "leadership changed");
                    if leads {
                        let _ = queues.templates.unbounded_send(());
                        queues.all_targets(&cache);
                    }
                }
                tokio::time::sleep(lease.duration() / 3).await;
            }
        }));
    }
    if let (Some(claims), Some(claimed)) = (config.claims.clone(), claimed.clone()) {
        let (cache, queues) = (cache.clone(), queues.clone());
        tasks
            .0
            .push(tokio::spawn(claimed.keep(claims, cache, move |gained| {
                for (ns, name) in gained {
                    queues.targets.add(ObjectRef::new(&name).within(&ns));
                }
            })));
    }

    let mut target_ctx = TargetContext::new(
        client.clone(),
        cache.clone(),
        store.clone(),
        config.clock.clone(),
        health.clone(),
        oom.clone(),
        target_gate.clone(),
        shared.clone(),
    );
    target_ctx.backfill = config.backfill.clone();
    target_ctx.actuator = Arc::new(crate::actuate::KubeActuator {
        client: client.clone(),
    });
    target_ctx.resync = config.resync;
    let target_ctx = Arc::new(target_ctx);

    // The collector, on the operator's clock; new samples wake the namespace's targets
    // they concern (a forecast due, a collection failure to report or clear).
    let collector = Collector {
        client: client.clone(),
        store: store.clone(),
        cache: cache.clone(),
        clock: config.clock.clone(),
        interval: config.collect_interval,
        health: health.clone(),
        oom: oom.clone(),
        gate: target_gate.clone(),
        shared: shared.clone(),
        custom: Arc::default(),
    };
    {
        let (cache, queues, ctx) = (cache.clone(), queues.clone(), target_ctx.clone());
        tasks.0.push(tokio::spawn(collector.run(move |ns| {
            for t in cache.targets.state_filter(|t| cache::in_namespace(t, ns)) {
                if ctx.collection_concerns(&t) {
                    queues.targets.add(ObjectRef::from_obj(t.as_ref()));
                }
            }
        })));
    }

    // PodAutoscalers (seed 004): watched everywhere (their targets are enrolled), decided
    // by the Lease holder on the operator's clock.
    let (pod_autoscalers, pa_tasks) =
        crate::podautoscaler::controller::start(crate::podautoscaler::controller::PaConfig {
            client: client.clone(),
            cache: cache.clone(),
            store: store.clone(),
            clock: config.clock.clone(),
            shared: shared.clone(),
            leading: leading.clone(),
            scope: config.scope.clone(),
            act: !config.worker_only,
        });
    tasks.0.extend(pa_tasks);

    // The history of workloads no target resolves any more is discarded (seed 002).
    let (janitor_tx, janitor_rx) = mpsc::unbounded::<()>();
    tasks.0.push(tokio::spawn(discard_unenrolled(
        cache.clone(),
        pod_autoscalers,
        store.clone(),
        janitor_rx,
        config.resync,
    )));
    let _ = janitor_tx.unbounded_send(());

    // Changes → work.
    {
        let (cache, queues, ctx, shared) = (
            cache.clone(),
            queues.clone(),
            target_ctx.clone(),
            shared.clone(),
        );
        tasks.0.push(tokio::spawn(async move {
            while let Some(change) = changes.recv().await {
                if let cache::Change::Pause(p) = &change {
                    shared.metrics.scaling_paused.set(i64::from(p.paused));
                    tracing::info!(paused = p.paused, problem = ?p.problem, "system-wide pause changed");
                }
                let work = dispatch(&change, &cache);
                for t in work.targets {
                    if work.urgent {
                        queues.targets.add_urgent(t);
                    } else {
                        queues.targets.add(t);
                    }
                }
                if work.templates {
                    let _ = queues.templates.unbounded_send(());
                }
                if work.janitor {
                    let _ = janitor_tx.unbounded_send(());
                }
                if let Some((ns, name)) = work.forget {
                    queues.targets.forget(&ObjectRef::new(&name).within(&ns));
                    ctx.forget(&ns, &name);
                }
                shared.metrics.managed_targets.set(cache.targets.len() as i64);
            }
        }));
    }

    // Everything once at the start.
    queues.all_targets(&cache);
    tasks.0.push(tokio::spawn(crate::target::runner::run(
        queues.targets.clone(),
        cache.targets.clone(),
        target_ctx,
        TARGET_CONCURRENCY,
    )));
    if !config.worker_only {
        let mut template_ctx = TemplateContext::new(
            client.clone(),
            cache.clone(),
            config.clock.clone(),
            leading,
            shared.clone(),
        );
        template_ctx.resync = config.resync;
        let template_ctx = Arc::new(template_ctx);
        let templates_store = cache.templates.clone();
        // Any change may concern every template (selectors, oldest-wins): each trigger
        // asks for all of them, and the applier's debounce folds a burst into one round.
        let template_queue = stream::select(templates_rx, stream::iter([()]))
            .flat_map(move |()| {
                stream::iter(
                    templates_store
                        .state()
                        .iter()
                        .map(|t| ObjectRef::<ClusterAIScaleTemplate>::from_obj(t.as_ref()))
                        .collect::<Vec<_>>(),
                )
            })
            .map(Ok::<_, Infallible>);
        let templates = applier(
            |t, ctx| Box::pin(crate::template::controller::reconcile(t, ctx)),
            crate::template::controller::error_policy,
            template_ctx,
            cache.templates.clone(),
            template_queue,
            ControllerConfig::default().debounce(Duration::from_millis(100)),
        );
        tasks
            .0
            .push(tokio::spawn(templates.for_each(|result| async move {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "template reconcile not run");
                }
            })));
    }

    shutdown.await;
    drop(tasks);
    drop(cache_tasks);
    if !config.worker_only {
        let _ = lease.release().await;
    }
    if let Some(claims) = &config.claims {
        let (store, worker) = (claims.store.clone(), claims.worker.clone());
        let _ = tokio::task::spawn_blocking(move || store.release_claims(&worker)).await;
    }
    Ok(())
}

/// Deletes the history of every workload no target resolves and no template owns (seed
/// 002: unenrolling discards history), when a target goes, when kinds change, and at every resync. Judged
/// on every target, before claims split them, so each process reaches the same verdict.
async fn discard_unenrolled(
    cache: Arc<Cache>,
    pod_autoscalers: crate::podautoscaler::controller::PodAutoscalers,
    store: Arc<dyn HistoryStore>,
    mut wake: mpsc::UnboundedReceiver<()>,
    resync: Duration,
) {
    loop {
        tokio::select! {
            _ = wake.next() => {}
            _ = tokio::time::sleep(resync) => {}
        }
        // Fold a burst of deletions into one pass.
        while let Ok(()) = wake.try_recv() {}
        // PodAutoscalers' targets are enrolled too; until they are listed, judge nothing.
        let Some(scaled) = pod_autoscalers.targets() else {
            continue;
        };
        // Enrolled: resolved by a target, or owned by a live template (whose target may
        // not be created yet — at start-up, or after the template appears).
        let templates: Vec<_> = cache
            .templates
            .state()
            .iter()
            .map(|t| crate::template::controller::view(t))
            .filter(|t| !t.deleting)
            .collect();
        let enrolled: std::collections::HashSet<(String, String, String)> = cache
            .targets
            .state()
            .iter()
            .flat_map(|t| cache.resolve(t))
            .chain(
                cache
                    .workloads()
                    .into_iter()
                    .filter(|w| crate::template::plan::owner_of(&templates, w).is_some()),
            )
            .map(|w| (w.namespace, w.kind, w.name))
            .chain(scaled)
            .collect();
        let store = store.clone();
        let discarded = tokio::task::spawn_blocking(move || {
            let held: std::collections::HashSet<(String, String, String)> = store
                .series()?
                .into_iter()
                .map(|k| (k.namespace, k.kind, k.workload))
                .collect();
            let mut discarded = vec![];
            for w in held.difference(&enrolled) {
                store.delete_workload(&w.0, &w.1, &w.2)?;
                discarded.push(w.clone());
            }
            Ok::<_, prescale_store::StoreError>(discarded)
        })
        .await;
        match discarded {
            Ok(Ok(gone)) => {
                for (ns, kind, name) in gone {
                    tracing::info!(namespace = %ns, kind = %kind, name = %name, "workload unenrolled: its history is discarded");
                }
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "discarding unenrolled history failed; retried at the next change")
            }
            Err(e) => tracing::warn!(error = %e, "discarding unenrolled history did not finish"),
        }
    }
}

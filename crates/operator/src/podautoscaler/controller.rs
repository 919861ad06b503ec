//! The PodAutoscaler controller (seed 004): every sync period (on the operator's clock),
//! and at once when a PodAutoscaler changes, each PodAutoscaler in scope is decided by
//! `plan` from what is read here — its target's scale, its ready pods (the shared cache),
//! its metrics (`readings`), the other autoscalers of the workload, the pause — and the
//! decision is applied: the target's scale, the owned HPA (HPA strategy), the status, the
//! Events. Only the Lease holder acts. Each autoscaler's memory (KPA's windows and panic
//! state, the cooldowns' recommendations) is kept in this process; a new leader starts
//! afresh, and KPA then makes no scale-down until its history covers a stable window.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ObjectReference, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::runtime::reflector::Store;
use kube::runtime::watcher::{self, Event as WatchEvent};
use kube::runtime::{WatchStreamExt, reflector::store::Writer};
use kube::{Client, ResourceExt};
use prescale_api::podautoscaler::{PodAutoscaler, ScalingStrategy, scaling_parameters};
use prescale_autoscale::hpa::{build_hpa, hpa_name};
use prescale_autoscale::{AutoscalerState, Projection};
use prescale_store::{HistoryStore, SeriesKey};
use serde_json::json;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::conflicts::conflict_of;
use super::learn::{learn, series_key};
use super::plan::{HpaIntent, PaInputs, PaOutcome, TargetScale, plan, scale_failed};
use super::readings::Reader;
use super::scale::Kinds;
use crate::cache::Cache;
use crate::client::FIELD_MANAGER;
use crate::clock::Clock;
use crate::http::Shared;
use crate::scope::Scope;
use crate::target::controller::Gate;

/// How often every PodAutoscaler is decided (AIBrix reconciles on a similar period).
pub const SYNC_PERIOD: Duration = Duration::from_secs(10);
/// PodAutoscalers decided at once.
const CONCURRENCY: usize = 16;

/// What the controller keeps between passes.
pub struct PaContext {
    pub client: Client,
    pub cache: Arc<Cache>,
    pub clock: Arc<dyn Clock>,
    pub shared: Arc<Shared>,
    /// Only the Lease holder acts.
    pub leading: Arc<dyn Gate>,
    pub scope: Scope,
    pub pas: Store<PodAutoscaler>,
    /// The store has its first complete list (or the CRD is not installed: none exist).
    listed: Arc<AtomicBool>,
    changed: Arc<Notify>,
    http: reqwest::Client,
    kinds: Kinds,
    states: Mutex<HashMap<String, AutoscalerState>>,
    /// Each source's history (`seasonal::RECORD_EVERY_SECS` apart): what prescale's
    /// forecaster projects `spec.predictive` from.
    pub(super) store: Arc<dyn HistoryStore>,
    /// When each source was last recorded, and its latest seasonal projection (with when).
    pub(super) recorded: Mutex<HashMap<SeriesKey, i64>>,
    pub(super) forecasts: Mutex<HashMap<SeriesKey, (i64, Option<Projection>)>>,
}

/// The PodAutoscalers as watched, for the history janitor: their targets are enrolled.
#[derive(Clone)]
pub struct PodAutoscalers {
    pub store: Store<PodAutoscaler>,
    listed: Arc<AtomicBool>,
}

impl PodAutoscalers {
    /// The workloads (namespace, kind, name) PodAutoscalers scale; `None` until the watch
    /// has listed them (or found their CRD not installed), when nothing can be said.
    pub fn targets(&self) -> Option<Vec<(String, String, String)>> {
        self.listed.load(Ordering::Relaxed).then(|| {
            self.store
                .state()
                .iter()
                .map(|pa| {
                    let r = &pa.spec.scale_target_ref;
                    (
                        pa.namespace().unwrap_or_default(),
                        r.kind.clone(),
                        r.name.clone(),
                    )
                })
                .collect()
        })
    }
}

/// What the controller needs from the operator.
pub struct PaConfig {
    pub client: Client,
    pub cache: Arc<Cache>,
    pub store: Arc<dyn HistoryStore>,
    pub clock: Arc<dyn Clock>,
    pub shared: Arc<Shared>,
    /// Only the Lease holder acts.
    pub leading: Arc<dyn Gate>,
    pub scope: Scope,
    /// Decide and act (false in a `prescale worker`, which only watches for the janitor).
    pub act: bool,
}

/// Starts the PodAutoscaler watch and, with `act`, the controller loop.
pub fn start(config: PaConfig) -> (PodAutoscalers, Vec<JoinHandle<()>>) {
    let PaConfig {
        client,
        cache,
        store: history,
        clock,
        shared,
        leading,
        scope,
        act,
    } = config;
    let writer = Writer::<PodAutoscaler>::new(());
    let store = writer.as_reader();
    let listed = Arc::new(AtomicBool::new(false));
    let changed = Arc::new(Notify::new());
    let watch = {
        let (listed, changed) = (listed.clone(), changed.clone());
        let api = Api::<PodAutoscaler>::all(client.clone());
        tokio::spawn(async move {
            let stream = watcher::watcher(api, watcher::Config::default())
                .default_backoff()
                .reflect(writer);
            futures::pin_mut!(stream);
            let mut failing = false;
            while let Some(event) = stream.next().await {
                match event {
                    Ok(WatchEvent::InitDone) => {
                        listed.store(true, Ordering::Relaxed);
                        changed.notify_one();
                    }
                    Ok(WatchEvent::Apply(_) | WatchEvent::Delete(_)) => changed.notify_one(),
                    Ok(_) => {}
                    // No CRD: no PodAutoscaler exists (the janitor may judge).
                    Err(watcher::Error::InitialListFailed(kube::Error::Api(s)))
                        if s.code == 404 =>
                    {
                        listed.store(true, Ordering::Relaxed);
                        if !failing {
                            failing = true;
                            tracing::info!(
                                "PodAutoscalers are not served (their CRD is not installed); watching for it"
                            );
                        }
                    }
                    Err(e) if !failing => {
                        failing = true;
                        tracing::warn!(error = %e, "the PodAutoscaler watch failed (is its CRD installed? `prescale crds`); retrying with backoff");
                    }
                    Err(e) => tracing::debug!(error = %e, "the PodAutoscaler watch still fails"),
                }
            }
        })
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .timeout(super::readings::READ_TIMEOUT)
        .build()
        .unwrap_or_default();
    let handle = PodAutoscalers {
        store: store.clone(),
        listed: listed.clone(),
    };
    if !act {
        return (handle, vec![watch]);
    }
    let ctx = Arc::new(PaContext {
        client,
        cache,
        clock,
        shared,
        leading,
        scope,
        pas: store,
        listed,
        changed,
        http,
        kinds: Kinds::default(),
        states: Mutex::new(HashMap::new()),
        store: history,
        recorded: Mutex::new(HashMap::new()),
        forecasts: Mutex::new(HashMap::new()),
    });
    let run = tokio::spawn(async move {
        loop {
            if ctx.listed.load(Ordering::Relaxed) && ctx.leading.admits("", "") {
                pass(&ctx).await;
            }
            let period = ctx.clock.real_duration(SYNC_PERIOD);
            tokio::select! {
                _ = tokio::time::sleep(period) => {}
                _ = ctx.changed.notified() => {
                    // Fold a burst of changes into one pass.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    });
    (handle, vec![watch, run])
}

/// One decision for every PodAutoscaler in scope, then the HPAs of deleted ones removed.
async fn pass(ctx: &Arc<PaContext>) {
    let all: Vec<Arc<PodAutoscaler>> = ctx
        .pas
        .state()
        .into_iter()
        .filter(|pa| {
            pa.namespace()
                .is_some_and(|ns| ctx.scope.admits_namespace(&ns))
                && pa.metadata.deletion_timestamp.is_none()
        })
        .collect();
    let paused = ctx.cache.pause().paused;
    futures::stream::iter(all.iter().cloned())
        .for_each_concurrent(CONCURRENCY, |pa| {
            let all = &all;
            async move {
                let started = std::time::Instant::now();
                let failure = reconcile(ctx, &pa, all, paused).await.err();
                if let Some(e) = &failure {
                    tracing::warn!(namespace = ?pa.namespace(), name = %pa.name_any(), error = %e, "PodAutoscaler not reconciled");
                }
                ctx.shared.metrics.reconciled(
                    "podautoscaler",
                    started,
                    failure.as_ref().map(|_| "write_failed"),
                );
            }
        })
        .await;
    let live: HashSet<String> = all.iter().filter_map(|pa| pa.uid()).collect();
    ctx.states
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|uid, _| live.contains(uid));
    let scaled: HashSet<(String, String, String)> = all
        .iter()
        .map(|pa| {
            let k = series_key(pa, "");
            (k.namespace, k.kind, k.workload)
        })
        .collect();
    let keep =
        |k: &SeriesKey| scaled.contains(&(k.namespace.clone(), k.kind.clone(), k.workload.clone()));
    ctx.recorded
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|k, _| keep(k));
    ctx.forecasts
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|k, _| keep(k));
    remove_orphaned_hpas(ctx, &ctx.pas.state()).await;
}

/// Whether `h` is an HPA a PodAutoscaler owns, and which (uid).
fn owner_pa(h: &HorizontalPodAutoscaler) -> Option<String> {
    let api = format!(
        "{}/{}",
        prescale_api::podautoscaler::GROUP,
        prescale_api::podautoscaler::VERSION
    );
    h.owner_references()
        .iter()
        .find(|o| o.kind == "PodAutoscaler" && o.api_version == api)
        .map(|o| o.uid.clone())
}

/// Deletes the HPAs whose PodAutoscaler is gone (as the garbage collector would; done here
/// too so a cluster without one, or a slow one, does not keep scaling on a dead spec).
async fn remove_orphaned_hpas(ctx: &PaContext, all: &[Arc<PodAutoscaler>]) {
    let live: HashSet<String> = all.iter().filter_map(|pa| pa.uid()).collect();
    let orphans = ctx.cache.hpas.state_filter(|h| {
        owner_pa(h).is_some_and(|uid| !live.contains(&uid))
            && h.namespace()
                .is_some_and(|ns| ctx.scope.admits_namespace(&ns))
    });
    for h in orphans {
        let api = Api::<HorizontalPodAutoscaler>::namespaced(
            ctx.client.clone(),
            &h.namespace().unwrap_or_default(),
        );
        match api.delete(&h.name_any(), &DeleteParams::default()).await {
            Ok(_) => {
                tracing::info!(namespace = ?h.namespace(), name = %h.name_any(), "removed the HPA of a deleted PodAutoscaler");
            }
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => {
                tracing::warn!(error = %e, name = %h.name_any(), "removing an orphaned HPA failed; retried next pass")
            }
        }
    }
}

/// The target's ready pods, matched by its scale's selector.
fn ready_pods(cache: &Cache, namespace: &str, selector: &str) -> Result<Vec<Arc<Pod>>, String> {
    // No selector says nothing about the pods (it must not select the whole namespace).
    if selector.trim().is_empty() {
        return Ok(vec![]);
    }
    let selector = crate::selector::parse_selector_text(selector)?;
    let mut pods = cache.pods_by_namespace.in_namespace(namespace);
    pods.retain(|p| {
        crate::selector::selector_matches(&selector, p.labels()) && crate::workload::pod_is_ready(p)
    });
    Ok(pods)
}

async fn reconcile(
    ctx: &PaContext,
    pa: &PodAutoscaler,
    all: &[Arc<PodAutoscaler>],
    paused: bool,
) -> Result<(), kube::Error> {
    let ns = pa.namespace().unwrap_or_default();
    let now = ctx.clock.now();
    let conflict = conflict_of(pa, all, &ctx.cache);
    let target = &pa.spec.scale_target_ref;
    let read = ctx.kinds.read(&ctx.client, &ns, target).await;
    let (scale, pods) = match read {
        Ok(view) => match ready_pods(&ctx.cache, &ns, &view.selector) {
            Ok(pods) => (
                Ok(TargetScale {
                    replicas: view.replicas,
                    ready_pods: pods.len() as u32,
                }),
                Some((pods, view.selector)),
            ),
            Err(e) => (Err(format!("its status.selector: {e}")), None),
        },
        Err(e) => (Err(e), None),
    };
    let readings = match (&pods, pa.spec.scaling_strategy, &conflict) {
        (Some((pods, selector)), ScalingStrategy::KPA | ScalingStrategy::APA, None) => {
            Reader {
                client: &ctx.client,
                http: &ctx.http,
                namespace: &ns,
                pods,
                selector,
            }
            .read_all(&pa.spec.metrics_sources)
            .await
        }
        _ => vec![],
    };
    let forecasts = learn(ctx, pa, &readings, now).await;
    let owned_hpa = hpa_name(&pa.name_any()).ok().and_then(|name| {
        ctx.cache
            .hpas
            .state()
            .into_iter()
            .find(|h| h.name_any() == name && h.namespace().as_deref() == Some(ns.as_str()))
    });
    let inputs = PaInputs {
        pa,
        now,
        paused,
        conflict,
        scale,
        readings: &readings,
        hpa_desired: owned_hpa
            .as_ref()
            .and_then(|h| h.status.as_ref())
            .map(|s| s.desired_replicas.max(0) as u32),
        forecasts: &forecasts,
    };
    let uid = pa.uid().unwrap_or_default();
    let state = ctx
        .states
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&uid)
        .unwrap_or_default();
    let mut outcome = plan(&inputs, state);
    if let Some(replicas) = outcome.scale_to {
        let from = outcome.status.actual_scale.unwrap_or_default().max(0) as u32;
        match ctx
            .kinds
            .write(&ctx.client, &ns, target, from, replicas)
            .await
        {
            Ok(()) => ctx
                .shared
                .metrics
                .scale_action("podautoscaler_scale", "applied"),
            Err(e) => {
                ctx.shared
                    .metrics
                    .scale_action("podautoscaler_scale", "refused");
                scale_failed(&mut outcome, &e, now);
            }
        }
    }
    apply_hpa(ctx, pa, &outcome, owned_hpa.as_deref()).await;
    let result = write_status(ctx, pa, &outcome).await;
    for e in &outcome.events {
        let involved = ObjectReference {
            api_version: Some(format!(
                "{}/{}",
                prescale_api::podautoscaler::GROUP,
                prescale_api::podautoscaler::VERSION
            )),
            kind: Some("PodAutoscaler".into()),
            name: Some(pa.name_any()),
            namespace: Some(ns.clone()),
            uid: pa.uid(),
            resource_version: pa.resource_version(),
            ..Default::default()
        };
        if let Err(err) = crate::target::events::record_on(&ctx.client, involved, e).await {
            tracing::debug!(error = %err, reason = e.reason, "Event not recorded");
        }
    }
    ctx.states
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(uid, outcome.state);
    result
}

/// Creates, updates or removes the HPA the HPA strategy stands for.
async fn apply_hpa(
    ctx: &PaContext,
    pa: &PodAutoscaler,
    outcome: &PaOutcome,
    existing: Option<&HorizontalPodAutoscaler>,
) {
    let ns = pa.namespace().unwrap_or_default();
    let api = Api::<HorizontalPodAutoscaler>::namespaced(ctx.client.clone(), &ns);
    match &outcome.hpa {
        HpaIntent::Untouched => {}
        HpaIntent::Absent => {
            let ours = existing.is_some_and(|h| owner_pa(h) == pa.uid());
            if let (true, Some(h)) = (ours, existing)
                && let Err(e) = api.delete(&h.name_any(), &DeleteParams::default()).await
            {
                tracing::warn!(error = %e, name = %h.name_any(), "removing the PodAutoscaler's HPA failed");
            }
        }
        HpaIntent::Keep { bounds } => {
            let parameters = scaling_parameters(
                &pa.metadata.annotations.clone().unwrap_or_default(),
                &pa.spec,
            )
            .parameters;
            let hpa = match build_hpa(pa, &parameters, bounds) {
                Ok(h) => h,
                Err(e) => {
                    tracing::warn!(error = %e, name = %pa.name_any(), "the PodAutoscaler's HPA cannot be built");
                    return;
                }
            };
            let unchanged = existing.is_some_and(|h| h.spec == hpa.spec && owner_pa(h) == pa.uid());
            if unchanged {
                return;
            }
            let name = hpa.metadata.name.clone().unwrap_or_default();
            let mut body = serde_json::to_value(&hpa).unwrap_or_default();
            body["apiVersion"] = json!("autoscaling/v2");
            body["kind"] = json!("HorizontalPodAutoscaler");
            let params = PatchParams::apply(FIELD_MANAGER).force();
            match api.patch(&name, &params, &Patch::Apply(body)).await {
                Ok(_) => ctx
                    .shared
                    .metrics
                    .scale_action("podautoscaler_hpa", "applied"),
                Err(e) => {
                    ctx.shared
                        .metrics
                        .scale_action("podautoscaler_hpa", "refused");
                    tracing::warn!(error = %e, %name, "applying the PodAutoscaler's HPA failed; retried next pass");
                }
            }
        }
    }
}

/// Applies the status when it differs from what the object has.
async fn write_status(
    ctx: &PaContext,
    pa: &PodAutoscaler,
    outcome: &PaOutcome,
) -> Result<(), kube::Error> {
    if pa.status.as_ref() == Some(&outcome.status) {
        return Ok(());
    }
    let api =
        Api::<PodAutoscaler>::namespaced(ctx.client.clone(), &pa.namespace().unwrap_or_default());
    let body = json!({
        "apiVersion": format!("{}/{}", prescale_api::podautoscaler::GROUP, prescale_api::podautoscaler::VERSION),
        "kind": "PodAutoscaler",
        "status": outcome.status,
    });
    api.patch_status(
        &pa.name_any(),
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(body),
    )
    .await
    .map(drop)
}

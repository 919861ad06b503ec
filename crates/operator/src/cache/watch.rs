//! Starting the cache's watches: one `watcher` per kind (cluster-wide, objects outside the
//! operator's scope dropped before they are stored), reflected into the stores, each
//! relevant event reported as a `Change`. Optional workload kinds (Argo Rollouts) are
//! watched while their CustomResourceDefinition is established.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Debug;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ConfigMap, Event as CoreEvent, Pod};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::Api;
use kube::core::DynamicObject;
use kube::runtime::reflector::store::Writer;
use kube::runtime::watcher::{self, Event};
use kube::runtime::{WatchStreamExt, reflector};
use kube::{Client, Resource, ResourceExt};
use prescale_api::AIScaleTarget;
use prescale_api::template::ClusterAIScaleTemplate;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use super::{Cache, Change, NamespaceIndex, strip};
use crate::collector::owners::WorkloadRef;
use crate::pause::{PauseState, SYSTEM_CONFIG_MAP, pause_state};
use crate::scope::Scope;
use crate::workload::{self, Kind};

/// The watch tasks; stopped when dropped.
pub struct CacheTasks {
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
    ready: Vec<futures::future::BoxFuture<'static, ()>>,
}

impl CacheTasks {
    /// Waits until every store has its first complete list (and optional kinds that exist
    /// are listed too), so no controller decides on a partial view of the cluster.
    pub async fn wait_ready(&mut self) {
        for ready in self.ready.drain(..) {
            ready.await;
        }
    }
}

impl Drop for CacheTasks {
    fn drop(&mut self) {
        for task in self
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            task.abort();
        }
    }
}

/// A task aborted when its handle is dropped (a watch owned by another watch's callback).
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What a watch saw.
pub(super) enum Seen<'a, K> {
    /// An object was created or changed.
    Applied(&'a K),
    /// An object was deleted.
    Deleted(&'a K),
    /// An object seen again by a relist (the store holds it only once `Listed`).
    Relisted(&'a K),
    /// A (re)list is complete: the store holds exactly the objects listed.
    Listed,
}

/// Watches `api`, keeping the objects in scope (stripped by `strip`) in `writer`'s store
/// and calling `on` for each object applied or deleted (relists included).
fn reflect<K>(
    what: &str,
    api: Api<K>,
    config: watcher::Config,
    writer: Writer<K>,
    scope: Scope,
    strip: fn(&mut K),
    on: impl FnMut(Seen<'_, K>) + Send + 'static,
) -> JoinHandle<()>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Eq + Hash + Clone + Send + Sync,
{
    let events = watcher::watcher(api, config).default_backoff();
    reflect_events(what, events, writer, scope, strip, on)
}

/// `reflect` of a stream of watch events already made (the targets' are decoded one by
/// one: `decode`).
fn reflect_events<K>(
    what: &str,
    events: impl futures::Stream<Item = Result<Event<K>, watcher::Error>> + Send + 'static,
    writer: Writer<K>,
    scope: Scope,
    strip: fn(&mut K),
    mut on: impl FnMut(Seen<'_, K>) + Send + 'static,
) -> JoinHandle<()>
where
    K: Resource + Clone + Debug + Send + Sync + 'static,
    K::DynamicType: Eq + Hash + Clone + Send + Sync,
{
    let what = what.to_string();
    tokio::spawn(async move {
        let in_scope = move |ev: &Event<K>| match ev {
            Event::Apply(o) | Event::Delete(o) | Event::InitApply(o) => o
                .meta()
                .namespace
                .as_deref()
                .is_none_or(|ns| scope.admits_namespace(ns)),
            Event::Init | Event::InitDone => true,
        };
        let stream = events
            .try_filter(move |ev| std::future::ready(in_scope(ev)))
            .modify(strip)
            .reflect(writer);
        futures::pin_mut!(stream);
        let mut failing = false;
        while let Some(event) = stream.next().await {
            match event {
                Ok(Event::Apply(o)) => on(Seen::Applied(&o)),
                Ok(Event::InitApply(o)) => on(Seen::Relisted(&o)),
                Ok(Event::Delete(o)) => on(Seen::Deleted(&o)),
                Ok(Event::InitDone) => on(Seen::Listed),
                Ok(Event::Init) => {}
                Err(e) if !failing => {
                    failing = true;
                    match failure_hint(&e) {
                        Some(hint) => {
                            tracing::warn!(resource = %what, error = %e, hint, "watch failed; retrying with backoff")
                        }
                        None => {
                            tracing::warn!(resource = %what, error = %e, "watch failed; retrying with backoff")
                        }
                    }
                    continue;
                }
                Err(e) => {
                    tracing::debug!(resource = %what, error = %e, "watch still failing");
                    continue;
                }
            }
            if std::mem::take(&mut failing) {
                tracing::info!(resource = %what, "watch recovered");
            }
        }
    })
}

/// What a user can do about a watch that fails to list: the two causes that never clear
/// by themselves are a resource the API server does not serve (prescale's CRDs not
/// installed) and a permission the operator's account lacks.
fn failure_hint(e: &watcher::Error) -> Option<&'static str> {
    let (watcher::Error::InitialListFailed(kube::Error::Api(status))
    | watcher::Error::WatchStartFailed(kube::Error::Api(status))) = e
    else {
        return None;
    };
    match status.code {
        404 => Some(
            "the API server does not serve this resource: install prescale's CRDs \
             (`prescale install`, or `prescale crds | kubectl apply -f -`)",
        ),
        403 => Some(
            "the operator's account may not list or watch this resource: apply the RBAC \
             rules of `prescale install` (or the Helm chart) to its ServiceAccount",
        ),
        _ => None,
    }
}

fn ready_future<K>(store: reflector::Store<K>) -> futures::future::BoxFuture<'static, ()>
where
    K: kube::runtime::reflector::Lookup + Clone + Send + Sync + 'static,
    K::DynamicType: Eq + Hash + Clone + Send + Sync,
{
    Box::pin(async move {
        let _ = store.wait_until_ready().await;
    })
}

/// Starts every watch. `system_namespace` holds the pause ConfigMap.
pub fn start(
    client: &Client,
    scope: &Scope,
    system_namespace: &str,
    changes: UnboundedSender<Change>,
) -> (Arc<Cache>, CacheTasks) {
    let all = watcher::Config::default();
    let mut tasks = vec![];
    let mut ready = vec![];

    let relists = Arc::new(AtomicU64::new(0));
    let w = Writer::<AIScaleTarget>::new(());
    let targets = w.as_reader();
    let tx = changes.clone();
    let listed = relists.clone();
    let mut skipper = super::decode::Skipper::new(targets.clone());
    let events = watcher::watcher(
        Api::<super::decode::Decoded>::all(client.clone()),
        all.clone(),
    )
    .default_backoff()
    .filter_map(move |event| {
        std::future::ready(match event {
            Ok(e) => skipper.typed(e).map(Ok),
            Err(e) => Some(Err(e)),
        })
    });
    tasks.push(reflect_events(
        "aiscaletargets",
        events,
        w,
        scope.clone(),
        |t| {
            t.metadata.managed_fields = None;
            if let Some(a) = t.metadata.annotations.as_mut() {
                a.remove("kubectl.kubernetes.io/last-applied-configuration");
            }
        },
        {
            let mut changes = super::target_changes::TargetChanges::default();
            move |seen| {
                if matches!(seen, Seen::Listed) {
                    listed.fetch_add(1, Ordering::Relaxed);
                }
                for change in changes.seen(seen) {
                    let _ = tx.send(change);
                }
            }
        },
    ));
    ready.push(ready_future(targets.clone()));

    let w = Writer::<ClusterAIScaleTemplate>::new(());
    let templates = w.as_reader();
    let tx = changes.clone();
    let listed = relists.clone();
    let mut template_config = all.clone();
    template_config.label_selector = scope.template_selector.clone();
    tasks.push(reflect(
        "clusteraiscaletemplates",
        Api::all(client.clone()),
        template_config,
        w,
        scope.clone(),
        |t| {
            t.metadata.managed_fields = None;
        },
        move |seen| {
            if matches!(seen, Seen::Listed) {
                listed.fetch_add(1, Ordering::Relaxed);
            }
            let _ = tx.send(Change::Template);
        },
    ));
    ready.push(ready_future(templates.clone()));

    let w = Writer::<ReplicaSet>::new(());
    let replica_sets = w.as_reader();
    let replica_sets_by_namespace = NamespaceIndex::new(replica_sets.clone());
    let index = replica_sets_by_namespace.clone();
    tasks.push(reflect(
        "replicasets",
        Api::all(client.clone()),
        all.clone(),
        w,
        scope.clone(),
        strip::replica_set,
        move |seen| index.seen(&seen),
    ));
    ready.push(ready_future(replica_sets.clone()));

    let w = Writer::<Pod>::new(());
    let pods = w.as_reader();
    let pods_by_namespace = NamespaceIndex::new(pods.clone());
    let index = pods_by_namespace.clone();
    let tx = changes.clone();
    // What the targets report of a pod; a change of anything else triggers nothing.
    let mut last_seen: HashMap<String, (i32, bool, Option<String>)> = HashMap::new();
    let owners = replica_sets.clone();
    tasks.push(reflect(
        "pods",
        Api::all(client.clone()),
        all.clone(),
        w,
        scope.clone(),
        strip::pod,
        move |seen| {
            index.seen(&seen);
            let (p, deleted) = match seen {
                Seen::Applied(p) | Seen::Relisted(p) => (p, false),
                Seen::Deleted(p) => (p, true),
                Seen::Listed => return,
            };
            let uid = p.uid().unwrap_or_default();
            let statuses = p
                .status
                .as_ref()
                .and_then(|s| s.container_statuses.as_deref())
                .unwrap_or_default();
            let now = (
                statuses.iter().map(|c| c.restart_count).sum::<i32>(),
                statuses.iter().all(|c| c.ready),
                p.status.as_ref().and_then(|s| s.phase.clone()),
            );
            let relevant = if deleted {
                last_seen.remove(&uid).is_some()
            } else {
                last_seen.insert(uid, now.clone()) != Some(now)
            };
            if relevant {
                let namespace = p.namespace().unwrap_or_default();
                let workload = super::pod_workload(&owners, &namespace, p.owner_references());
                let _ = tx.send(Change::Pod {
                    workload,
                    namespace,
                });
            }
        },
    ));
    ready.push(ready_future(pods.clone()));

    let w = Writer::<HorizontalPodAutoscaler>::new(());
    let hpas = w.as_reader();
    let hpas_by_namespace = NamespaceIndex::new(hpas.clone());
    let index = hpas_by_namespace.clone();
    let tx = changes.clone();
    tasks.push(reflect(
        "horizontalpodautoscalers",
        Api::all(client.clone()),
        all.clone(),
        w,
        scope.clone(),
        strip::hpa,
        move |seen| {
            index.seen(&seen);
            let h = match seen {
                Seen::Applied(h) | Seen::Relisted(h) | Seen::Deleted(h) => h,
                Seen::Listed => return,
            };
            if let Some(spec) = &h.spec {
                let _ = tx.send(Change::Hpa {
                    namespace: h.namespace().unwrap_or_default(),
                    target: WorkloadRef {
                        kind: spec.scale_target_ref.kind.clone(),
                        name: spec.scale_target_ref.name.clone(),
                    },
                });
            }
        },
    ));
    ready.push(ready_future(hpas.clone()));

    let w = Writer::<PodDisruptionBudget>::new(());
    let pdbs = w.as_reader();
    let pdbs_by_namespace = NamespaceIndex::new(pdbs.clone());
    let index = pdbs_by_namespace.clone();
    tasks.push(reflect(
        "poddisruptionbudgets",
        Api::all(client.clone()),
        all.clone(),
        w,
        scope.clone(),
        strip::pdb,
        move |seen| index.seen(&seen),
    ));
    ready.push(ready_future(pdbs.clone()));

    // Events about targets: nothing is triggered by them; the dashboard reads them.
    let w = Writer::<CoreEvent>::new(());
    let target_events = w.as_reader();
    tasks.push(reflect(
        "events",
        Api::all(client.clone()),
        all.clone().fields("involvedObject.kind=AIScaleTarget"),
        w,
        scope.clone(),
        strip::event,
        |_| {},
    ));
    ready.push(ready_future(target_events.clone()));

    // The pause: one ConfigMap, by name. A relist that no longer finds it means "running".
    let (pause_tx, pause_rx) = tokio::sync::watch::channel(PauseState::RUNNING);
    let w = Writer::<ConfigMap>::new(());
    let pause_store = w.as_reader();
    let tx = changes.clone();
    let by_name = all
        .clone()
        .fields(&format!("metadata.name={SYSTEM_CONFIG_MAP}"));
    tasks.push(reflect(
        "configmaps",
        Api::namespaced(client.clone(), system_namespace),
        by_name,
        w,
        Scope::all(),
        |c| strip::meta(&mut c.metadata),
        {
            let store = pause_store.clone();
            move |seen| {
                // The store is complete only after a relist: decide then, not per object.
                if matches!(seen, Seen::Relisted(_)) {
                    return;
                }
                let state = pause_state(store.state().first().and_then(|c| c.data.as_ref()));
                let changed = pause_tx.send_if_modified(|p| {
                    let changed = *p != state;
                    *p = state.clone();
                    changed
                });
                if changed {
                    let _ = tx.send(Change::Pause(state));
                }
            }
        },
    ));
    ready.push(ready_future(pause_store));

    let cache = Arc::new(Cache {
        targets,
        templates,
        workloads: RwLock::new(BTreeMap::new()),
        pods,
        replica_sets,
        hpas,
        pdbs,
        pods_by_namespace,
        replica_sets_by_namespace,
        pod_groups: Default::default(),
        hpas_by_namespace,
        pdbs_by_namespace,
        target_events,
        pause: pause_rx,
        views: Arc::default(),
        relists,
    });
    let tasks = Arc::new(Mutex::new(tasks));
    for kind in Kind::all() {
        if kind.optional() {
            ready.push(watch_optional_kind(
                client,
                scope,
                &cache,
                &tasks,
                kind,
                changes.clone(),
            ));
        } else {
            let (task, store_ready) = watch_kind(client, scope, &cache, kind, changes.clone());
            tasks.lock().unwrap_or_else(|e| e.into_inner()).push(task);
            ready.push(store_ready);
        }
    }
    (cache, CacheTasks { tasks, ready })
}

/// Watches one workload kind into a new store, added to the cache once listed.
fn watch_kind(
    client: &Client,
    scope: &Scope,
    cache: &Arc<Cache>,
    kind: Kind,
    changes: UnboundedSender<Change>,
) -> (JoinHandle<()>, futures::future::BoxFuture<'static, ()>) {
    let resource = kind.api_resource();
    let w = Writer::<DynamicObject>::new(resource.clone());
    let store = w.as_reader();
    let tx = changes.clone();
    let kind_name = kind.kind.clone();
    let (views, relists, listed) = (cache.views.clone(), cache.relists.clone(), store.clone());
    let task = reflect(
        &kind.plural,
        Api::all_with(client.clone(), &resource),
        watcher::Config::default(),
        w,
        scope.clone(),
        workload::strip,
        move |seen| {
            let o = match seen {
                Seen::Applied(o) | Seen::Relisted(o) => o,
                Seen::Deleted(o) => {
                    views.forget(o.metadata.uid.as_deref().unwrap_or_default());
                    o
                }
                Seen::Listed => {
                    let live: HashSet<String> =
                        listed.state().iter().filter_map(|o| o.uid()).collect();
                    views.retain_kind(&kind_name, |uid| live.contains(uid));
                    relists.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            };
            let _ = tx.send(Change::Workload {
                kind: kind_name.clone(),
                namespace: o.namespace().unwrap_or_default(),
                name: o.name_any(),
            });
        },
    );
    let cache = cache.clone();
    let ready = Box::pin(async move {
        let _ = store.wait_until_ready().await;
        cache
            .workloads
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(kind.kind.clone(), (kind, store));
        let _ = changes.send(Change::Kinds);
    });
    (task, ready)
}

/// Watches the CRD of an optional kind: while it is established and serves the kind's
/// version, the kind is watched too. Ready once the CRD is listed and, when it exists, the
/// kind's objects too.
fn watch_optional_kind(
    client: &Client,
    scope: &Scope,
    cache: &Arc<Cache>,
    tasks: &Arc<Mutex<Vec<JoinHandle<()>>>>,
    kind: Kind,
    changes: UnboundedSender<Change>,
) -> futures::future::BoxFuture<'static, ()> {
    let w = Writer::<CustomResourceDefinition>::new(());
    let crds = w.as_reader();
    let config = watcher::Config::default().fields(&format!("metadata.name={}", kind.crd_name()));
    let (settled_tx, mut settled_rx) = tokio::sync::watch::channel(false);
    let api = Api::all(client.clone());
    let (client, scope, cache, kind_for_task) =
        (client.clone(), scope.clone(), cache.clone(), kind.clone());
    let mut kind_task: Option<AbortOnDrop> = None;
    let on_crd = move |seen: Seen<'_, CustomResourceDefinition>,
                       crds: &reflector::Store<CustomResourceDefinition>| {
        // The store is complete only after a relist: decide then, not per object.
        if matches!(seen, Seen::Relisted(_)) {
            return;
        }
        let served = crds.state().first().is_some_and(|crd| {
            let established = crd
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|cs| {
                    cs.iter()
                        .any(|c| c.type_ == "Established" && c.status == "True")
                });
            established
                && crd
                    .spec
                    .versions
                    .iter()
                    .any(|v| v.name == kind_for_task.version && v.served)
        });
        match (served, kind_task.is_some()) {
            (true, false) => {
                let (task, ready) = watch_kind(
                    &client,
                    &scope,
                    &cache,
                    kind_for_task.clone(),
                    changes.clone(),
                );
                kind_task = Some(AbortOnDrop(task));
                let settled = settled_tx.clone();
                tokio::spawn(async move {
                    ready.await;
                    let _ = settled.send(true);
                });
                tracing::info!(kind = %kind_for_task.kind, "the kind is served: watching it");
            }
            (false, true) => {
                kind_task = None;
                cache.views.retain_kind(&kind_for_task.kind, |_| false);
                cache
                    .workloads
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&kind_for_task.kind);
                let _ = changes.send(Change::Kinds);
                tracing::info!(kind = %kind_for_task.kind, "the kind is no longer served");
            }
            (false, false) => {
                let _ = settled_tx.send(true);
            }
            (true, true) => {}
        }
    };
    let store = crds.clone();
    let mut on_crd = on_crd;
    let task = reflect(
        "customresourcedefinitions",
        api,
        config,
        w,
        Scope::all(),
        |c| strip::meta(&mut c.metadata),
        move |seen| on_crd(seen, &store),
    );
    tasks.lock().unwrap_or_else(|e| e.into_inner()).push(task);
    Box::pin(async move {
        let _ = crds.wait_until_ready().await;
        // Listed: if the CRD exists, wait for its kind's store too.
        if !crds.state().is_empty() {
            let _ = settled_rx.wait_for(|s| *s).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing_failed(code: u16) -> watcher::Error {
        watcher::Error::InitialListFailed(kube::Error::Api(Box::new(kube::core::Status {
            code,
            ..Default::default()
        })))
    }

    #[test]
    fn a_missing_crd_or_permission_gets_a_hint_and_other_failures_none() {
        assert!(
            failure_hint(&listing_failed(404))
                .unwrap()
                .contains("prescale crds")
        );
        assert!(failure_hint(&listing_failed(403)).unwrap().contains("RBAC"));
        assert_eq!(failure_hint(&listing_failed(500)), None);
        assert_eq!(failure_hint(&watcher::Error::NoResourceVersion), None);
    }
}

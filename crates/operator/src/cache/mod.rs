//! One shared set of reflector stores, fed by watches (kube-runtime `watcher`: relists
//! after 410 Gone, reconnects with backoff), read by both controllers and the collector:
//! AIScaleTargets, ClusterAIScaleTemplates, the workload kinds (Rollouts once their CRD
//! is installed), pods, ReplicaSets (pod → workload), HPAs, PodDisruptionBudgets, the
//! Events about AIScaleTargets (the dashboard shows them) and the pause ConfigMap. Objects are stripped before they are stored (`strip`).
//!
//! Every change that can matter is reported as a `Change` on a channel; what it triggers
//! is the controllers' business (`crate::triggers`). Reading the cache makes no request.

mod decode;
mod index;
pub mod strip;
mod target_changes;
mod views;
mod watch;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Event, Pod};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::ResourceExt;
use kube::core::DynamicObject;
use kube::runtime::reflector::{ObjectRef, Store};
use prescale_api::AIScaleTarget;
use prescale_api::template::ClusterAIScaleTemplate;

pub use self::index::NamespaceIndex;
pub use self::views::WorkloadViews;
pub use self::watch::{CacheTasks, start};
use crate::collector::owners::{WorkloadRef, controller, workload_of_pod};
use crate::pause::PauseState;
use crate::workload::{Kind, WorkloadView};

/// Something changed in the cluster that may change what the controllers decide.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// An AIScaleTarget was created, changed or `deleted`; `status_only` when nothing
    /// but its status changed (templates need not look again).
    Target {
        namespace: String,
        name: String,
        deleted: bool,
        status_only: bool,
    },
    /// A ClusterAIScaleTemplate was created, changed or deleted.
    Template,
    /// A workload was created, changed or deleted.
    Workload {
        kind: String,
        namespace: String,
        name: String,
    },
    /// A workload kind became served or stopped being served (Argo's CRD).
    Kinds,
    /// A pod appeared, went, or changed in a way the targets report (restarts, OOM kills,
    /// readiness): its workload, when the cache can tell.
    Pod {
        namespace: String,
        workload: Option<WorkloadRef>,
    },
    /// An HPA changed; `target` is the workload it scales.
    Hpa {
        namespace: String,
        target: WorkloadRef,
    },
    /// The system-wide pause changed.
    Pause(PauseState),
}

/// Whether `o` lives in `namespace`, compared in place: these filters run over whole
/// stores (targets, workloads; pods, HPAs and PDBs go through `index` instead), and
/// `ResourceExt::namespace` would copy the namespace of each object looked at.
pub fn in_namespace<K: kube::Resource>(o: &K, namespace: &str) -> bool {
    o.meta().namespace.as_deref() == Some(namespace)
}

/// The workload of a pod of `namespace` owned by `pod_owners`: its owning ReplicaSet is
/// looked up by name, not found by scanning every ReplicaSet of the namespace.
pub fn pod_workload(
    replica_sets: &Store<ReplicaSet>,
    namespace: &str,
    pod_owners: &[OwnerReference],
) -> Option<WorkloadRef> {
    let rs_owners: BTreeMap<String, Vec<OwnerReference>> = controller(pod_owners)
        .filter(|o| o.kind == "ReplicaSet")
        .and_then(|o| {
            let rs = replica_sets.get(&ObjectRef::new(&o.name).within(namespace))?;
            Some((o.name.clone(), rs.owner_references().to_vec()))
        })
        .into_iter()
        .collect();
    workload_of_pod(pod_owners, &rs_owners)
}

/// A namespace's pods by the workload they belong to (pods no workload owns left out).
pub type PodGroups = BTreeMap<WorkloadRef, Vec<Arc<Pod>>>;

/// `PodGroups` with the generations of the namespace's pods and ReplicaSets they hold for.
type GroupedPods = ((u64, u64), Arc<PodGroups>);

/// The stores. Cloning a `Store` is cheap (it is shared).
pub struct Cache {
    pub targets: Store<AIScaleTarget>,
    pub templates: Store<ClusterAIScaleTemplate>,
    /// By kind name; a kind is here while the cluster serves it.
    workloads: RwLock<BTreeMap<String, (Kind, Store<DynamicObject>)>>,
    pub pods: Store<Pod>,
    pub replica_sets: Store<ReplicaSet>,
    pub hpas: Store<HorizontalPodAutoscaler>,
    pub pdbs: Store<PodDisruptionBudget>,
    /// Pods, HPAs and PDBs by namespace (`index`): what a reconcile reads of them.
    pub pods_by_namespace: Arc<NamespaceIndex<Pod>>,
    replica_sets_by_namespace: Arc<NamespaceIndex<ReplicaSet>>,
    /// Each namespace's pods grouped by workload, with the generations of its pods and
    /// ReplicaSets they were grouped at (`pods_of_workloads`).
    pod_groups: Mutex<HashMap<String, GroupedPods>>,
    hpas_by_namespace: Arc<NamespaceIndex<HorizontalPodAutoscaler>>,
    pdbs_by_namespace: Arc<NamespaceIndex<PodDisruptionBudget>>,
    /// Events whose `involvedObject` is an AIScaleTarget (field selector).
    pub target_events: Store<Event>,
    pause: tokio::sync::watch::Receiver<PauseState>,
    /// Workload views, built once per version of each workload (`views`).
    views: Arc<WorkloadViews>,
    /// How many (re)lists of targets, templates and workloads have completed.
    relists: Arc<AtomicU64>,
}

impl Cache {
    fn workload_stores(&self) -> Vec<(Kind, Store<DynamicObject>)> {
        self.workloads
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// The kinds the cluster serves now.
    pub fn served_kinds(&self) -> Vec<String> {
        self.workload_stores()
            .into_iter()
            .map(|(k, _)| k.kind)
            .collect()
    }

    /// Every workload in scope.
    pub fn workloads(&self) -> Vec<Arc<WorkloadView>> {
        self.workload_stores()
            .iter()
            .flat_map(|(kind, store)| self.views.of_all(kind, store.state().iter().map(|o| &**o)))
            .collect()
    }

    /// The workloads of one namespace.
    pub fn workloads_in(&self, namespace: &str) -> Vec<Arc<WorkloadView>> {
        self.workload_stores()
            .iter()
            .flat_map(|(kind, store)| {
                let objects = store.state_filter(|o| in_namespace(o, namespace));
                self.views.of_all(kind, objects.iter().map(|o| &**o))
            })
            .collect()
    }

    /// One workload, when it exists and its kind is served.
    pub fn workload(&self, kind: &str, namespace: &str, name: &str) -> Option<Arc<WorkloadView>> {
        let stores = self.workloads.read().unwrap_or_else(|e| e.into_inner());
        let (kind, store) = stores.get(kind)?;
        let key = ObjectRef::new_with(name, kind.api_resource()).within(namespace);
        store.get(&key).map(|o| self.views.of(kind, &o))
    }

    /// The workloads `target` resolves (see `workload::resolves`), without scanning every
    /// workload when it names one by `scaleTargetRef`.
    pub fn resolve(&self, target: &AIScaleTarget) -> Vec<Arc<WorkloadView>> {
        let ns = target.namespace().unwrap_or_default();
        let candidates = match &target.spec.scale_target_ref {
            Some(r) => self.workload(&r.kind, &ns, &r.name).into_iter().collect(),
            None => self.workloads_in(&ns),
        };
        candidates
            .into_iter()
            .filter(|w| crate::workload::resolves(target, w))
            .collect()
    }

    /// How many (re)lists of targets, templates and workloads have completed: a pass that
    /// keeps what it decided per object (the template plan's memo) starts again from
    /// scratch when this changes, as after a watch was down.
    pub fn relists(&self) -> u64 {
        self.relists.load(Ordering::Relaxed)
    }

    /// The workload a pod belongs to.
    pub fn workload_of(&self, pod: &Pod) -> Option<WorkloadRef> {
        let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
        pod_workload(&self.replica_sets, ns, pod.owner_references())
    }

    /// The pods of `namespace`, each with its workload (pods no workload owns are left out).
    pub fn pods_by_workload(&self, namespace: &str) -> Vec<(WorkloadRef, Arc<Pod>)> {
        self.pods_by_namespace
            .in_namespace(namespace)
            .into_iter()
            .filter_map(|p| {
                Some((
                    pod_workload(&self.replica_sets, namespace, p.owner_references())?,
                    p,
                ))
            })
            .collect()
    }

    /// The pods of `namespace` grouped by workload, grouped again only once its pods or
    /// ReplicaSets changed: every target of the namespace reads them at each reconcile,
    /// and a pause reconciles every target at once.
    pub fn pods_of_workloads(&self, namespace: &str) -> Arc<PodGroups> {
        let generation = (
            self.pods_by_namespace.generation(namespace),
            self.replica_sets_by_namespace.generation(namespace),
        );
        let known = self
            .pod_groups
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(namespace)
            .filter(|(g, _)| *g == generation)
            .map(|(_, groups)| groups.clone());
        if let Some(groups) = known {
            return groups;
        }
        let mut groups = PodGroups::new();
        for (w, p) in self.pods_by_workload(namespace) {
            groups.entry(w).or_default().push(p);
        }
        let groups = Arc::new(groups);
        self.pod_groups
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(namespace.to_string(), (generation, groups.clone()));
        groups
    }

    /// The HPAs that scale workload `kind/name` of `namespace`.
    pub fn hpas_of(
        &self,
        namespace: &str,
        kind: &str,
        name: &str,
    ) -> Vec<Arc<HorizontalPodAutoscaler>> {
        let mut hpas = self.hpas_by_namespace.in_namespace(namespace);
        hpas.retain(|h| {
            h.spec
                .as_ref()
                .is_some_and(|s| s.scale_target_ref.kind == kind && s.scale_target_ref.name == name)
        });
        hpas
    }

    /// The PodDisruptionBudgets of `namespace` whose selector matches `pod_labels`.
    pub fn pdbs_of(
        &self,
        namespace: &str,
        pod_labels: &BTreeMap<String, String>,
    ) -> Vec<Arc<PodDisruptionBudget>> {
        let mut pdbs = self.pdbs_by_namespace.in_namespace(namespace);
        pdbs.retain(|p| {
            p.spec
                .as_ref()
                .and_then(|s| s.selector.as_ref())
                .is_some_and(|sel| crate::selector::selector_matches(sel, pod_labels))
        });
        pdbs
    }

    /// The system-wide pause, as last seen.
    pub fn pause(&self) -> PauseState {
        self.pause.borrow().clone()
    }
}

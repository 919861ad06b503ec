//! One shared set of reflector stores, fed by watches (kube-runtime `watcher`: relists
//! after 410 Gone, reconnects with backoff), read by both controllers and the collector:
//! AIScaleTargets, ClusterAIScaleTemplates, the workload kinds (Rollouts once their CRD
//! is installed), pods, ReplicaSets (pod → workload), HPAs, PodDisruptionBudgets and the
//! pause ConfigMap. Objects are stripped before they are stored (`strip`).
//!
//! Every change that can matter is reported as a `Change` on a channel; what it triggers
//! is the controllers' business (`crate::triggers`). Reading the cache makes no request.

pub mod strip;
mod watch;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::ResourceExt;
use kube::core::DynamicObject;
use kube::runtime::reflector::{ObjectRef, Store};
use prescale_api::AIScaleTarget;
use prescale_api::template::ClusterAIScaleTemplate;

pub use self::watch::{CacheTasks, start};
use crate::collector::owners::{WorkloadRef, workload_of_pod};
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
    pause: tokio::sync::watch::Receiver<PauseState>,
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
    pub fn workloads(&self) -> Vec<WorkloadView> {
        self.workload_stores()
            .iter()
            .flat_map(|(kind, store)| {
                store
                    .state()
                    .into_iter()
                    .map(move |o| WorkloadView::of(kind, &o))
            })
            .collect()
    }

    /// The workloads of one namespace.
    pub fn workloads_in(&self, namespace: &str) -> Vec<WorkloadView> {
        self.workload_stores()
            .iter()
            .flat_map(|(kind, store)| {
                store
                    .state_filter(|o| o.namespace().as_deref() == Some(namespace))
                    .into_iter()
                    .map(move |o| WorkloadView::of(kind, &o))
            })
            .collect()
    }

    /// One workload, when it exists and its kind is served.
    pub fn workload(&self, kind: &str, namespace: &str, name: &str) -> Option<WorkloadView> {
        let stores = self.workloads.read().unwrap_or_else(|e| e.into_inner());
        let (kind, store) = stores.get(kind)?;
        let key = ObjectRef::new_with(name, kind.api_resource()).within(namespace);
        store.get(&key).map(|o| WorkloadView::of(kind, &o))
    }

    /// The workloads `target` resolves (see `workload::resolve`), without scanning every
    /// workload when it names one by `scaleTargetRef`.
    pub fn resolve(&self, target: &AIScaleTarget) -> Vec<WorkloadView> {
        let ns = target.namespace().unwrap_or_default();
        let candidates = match &target.spec.scale_target_ref {
            Some(r) => self.workload(&r.kind, &ns, &r.name).into_iter().collect(),
            None => self.workloads_in(&ns),
        };
        crate::workload::resolve(target, &candidates)
            .into_iter()
            .cloned()
            .collect()
    }

    /// The owners of every ReplicaSet of `namespace`, by ReplicaSet name.
    pub fn replica_set_owners(&self, namespace: &str) -> BTreeMap<String, Vec<OwnerReference>> {
        self.replica_sets
            .state_filter(|rs| rs.namespace().as_deref() == Some(namespace))
            .into_iter()
            .map(|rs| (rs.name_any(), rs.owner_references().to_vec()))
            .collect()
    }

    /// The workload a pod belongs to.
    pub fn workload_of(&self, pod: &Pod) -> Option<WorkloadRef> {
        let ns = pod.namespace().unwrap_or_default();
        workload_of_pod(pod.owner_references(), &self.replica_set_owners(&ns))
    }

    /// The pods of `namespace`, each with its workload (pods no workload owns are left out).
    pub fn pods_by_workload(&self, namespace: &str) -> Vec<(WorkloadRef, Arc<Pod>)> {
        let owners = self.replica_set_owners(namespace);
        self.pods
            .state_filter(|p| p.namespace().as_deref() == Some(namespace))
            .into_iter()
            .filter_map(|p| Some((workload_of_pod(p.owner_references(), &owners)?, p)))
            .collect()
    }

    /// The HPAs that scale workload `kind/name` of `namespace`.
    pub fn hpas_of(
        &self,
        namespace: &str,
        kind: &str,
        name: &str,
    ) -> Vec<Arc<HorizontalPodAutoscaler>> {
        self.hpas.state_filter(|h| {
            h.namespace().as_deref() == Some(namespace)
                && h.spec.as_ref().is_some_and(|s| {
                    s.scale_target_ref.kind == kind && s.scale_target_ref.name == name
                })
        })
    }

    /// The PodDisruptionBudgets of `namespace` whose selector matches `pod_labels`.
    pub fn pdbs_of(
        &self,
        namespace: &str,
        pod_labels: &BTreeMap<String, String>,
    ) -> Vec<Arc<PodDisruptionBudget>> {
        self.pdbs.state_filter(|p| {
            p.namespace().as_deref() == Some(namespace)
                && p.spec
                    .as_ref()
                    .and_then(|s| s.selector.as_ref())
                    .is_some_and(|sel| crate::selector::selector_matches(sel, pod_labels))
        })
    }

    /// The system-wide pause, as last seen.
    pub fn pause(&self) -> PauseState {
        self.pause.borrow().clone()
    }
}

//! Finding, in the watch-fed cache and without any request, the workload a new pod
//! belongs to and the AIScaleTarget covering it.
//!
//! Owner chain: Pod → ReplicaSet → Deployment or Argo Rollout, Pod → StatefulSet. A
//! ReplicaSet created a moment ago may not have reached the cache when its first pods are
//! admitted; then its owner is read from the pod itself: a Deployment's (or Rollout's)
//! ReplicaSet is named `<workload>-<pod-template-hash>` and its pods carry that hash as a
//! label, so the workload is the name before it — accepted only when such a workload is in
//! the cache.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;
use prescale_api::AIScaleTarget;

use crate::cache::Cache;
use crate::collector::owners::{WorkloadRef, workload_of_pod};

/// Labels a workload controller puts on its pods with the hash its ReplicaSet is named by.
const TEMPLATE_HASH_LABELS: &[(&str, &str)] = &[
    ("pod-template-hash", "Deployment"),
    ("rollouts-pod-template-hash", "Rollout"),
];

/// The workload `pod` (created in `namespace`) belongs to.
pub fn workload_of_new_pod(cache: &Cache, namespace: &str, pod: &Pod) -> Option<WorkloadRef> {
    let owners = pod.owner_references();
    let rs = owners
        .iter()
        .find(|o| o.controller == Some(true))
        .or_else(|| owners.first())
        .filter(|o| o.kind == "ReplicaSet");
    let mut rs_owners: BTreeMap<String, Vec<OwnerReference>> = BTreeMap::new();
    if let Some(rs) = rs {
        match cache
            .replica_sets
            .get(&ObjectRef::new(&rs.name).within(namespace))
        {
            Some(found) => {
                rs_owners.insert(rs.name.clone(), found.owner_references().to_vec());
            }
            None => return owner_from_template_hash(cache, namespace, &rs.name, pod.labels()),
        }
    }
    workload_of_pod(owners, &rs_owners)
}

fn owner_from_template_hash(
    cache: &Cache,
    namespace: &str,
    replica_set: &str,
    labels: &BTreeMap<String, String>,
) -> Option<WorkloadRef> {
    TEMPLATE_HASH_LABELS.iter().find_map(|(label, kind)| {
        let hash = labels.get(*label)?;
        let name = replica_set.strip_suffix(hash.as_str())?.strip_suffix('-')?;
        cache.workload(kind, namespace, name).map(|_| WorkloadRef {
            kind: (*kind).to_string(),
            name: name.to_string(),
        })
    })
}

/// The target covering `workload` in `namespace`: one naming it by `scaleTargetRef` or
/// selecting it by labels. When several do (a misconfiguration each target reports), the
/// oldest wins, as for templates.
pub fn target_of(
    cache: &Cache,
    namespace: &str,
    workload: &WorkloadRef,
) -> Option<std::sync::Arc<AIScaleTarget>> {
    let view = cache.workload(&workload.kind, namespace, &workload.name);
    let mut covering = cache.targets.state_filter(|t| {
        t.metadata.namespace.as_deref() == Some(namespace)
            && match (&t.spec.scale_target_ref, &view) {
                (Some(r), _) => r.kind == workload.kind && r.name == workload.name,
                (None, Some(view)) => crate::workload::resolves(t, view),
                (None, None) => false,
            }
    });
    covering.sort_by(|a, b| {
        (a.creation_timestamp().map(|t| t.0), a.name_any())
            .cmp(&(b.creation_timestamp().map(|t| t.0), b.name_any()))
    });
    covering.into_iter().next()
}

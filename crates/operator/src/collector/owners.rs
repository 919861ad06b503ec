//! Which workload a pod belongs to, through its ownerReferences:
//! Pod → ReplicaSet → Deployment or Argo Rollout; Pod → StatefulSet. Only the kinds a
//! target may name (`prescale_api::target::spec::WORKLOAD_KINDS`) count.
//!
//! Pure: the caller hands in the pod's owner references and a lookup of the owners of
//! ReplicaSets (which it keeps from a watch), so a test needs no cluster.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

/// A workload prescale can manage.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkloadRef {
    pub kind: String,
    pub name: String,
}

fn is_workload(kind: &str) -> bool {
    prescale_api::target::spec::WORKLOAD_KINDS
        .iter()
        .any(|(k, _)| *k == kind)
}

pub fn controller(refs: &[OwnerReference]) -> Option<&OwnerReference> {
    refs.iter()
        .find(|r| r.controller == Some(true))
        .or_else(|| refs.first())
}

/// Resolves the workload of a pod. `replica_set_owners` maps a ReplicaSet name (in the
/// pod's namespace) to that ReplicaSet's own owner references.
pub fn workload_of_pod(
    pod_owners: &[OwnerReference],
    replica_set_owners: &BTreeMap<String, Vec<OwnerReference>>,
) -> Option<WorkloadRef> {
    let owner = controller(pod_owners)?;
    if owner.kind == "ReplicaSet" {
        let parent = controller(replica_set_owners.get(&owner.name)?)?;
        return is_workload(&parent.kind).then(|| WorkloadRef {
            kind: parent.kind.clone(),
            name: parent.name.clone(),
        });
    }
    is_workload(&owner.kind).then(|| WorkloadRef {
        kind: owner.kind.clone(),
        name: owner.name.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(kind: &str, name: &str, controller: bool) -> OwnerReference {
        OwnerReference {
            api_version: "apps/v1".into(),
            kind: kind.into(),
            name: name.into(),
            uid: format!("uid-{name}"),
            controller: Some(controller),
            block_owner_deletion: None,
        }
    }

    #[test]
    fn deployment_pods_resolve_through_their_replica_set() {
        let rs = BTreeMap::from([(
            "web-7d9".to_string(),
            vec![owner("Deployment", "web", true)],
        )]);
        let got = workload_of_pod(&[owner("ReplicaSet", "web-7d9", true)], &rs);
        assert_eq!(
            got,
            Some(WorkloadRef {
                kind: "Deployment".into(),
                name: "web".into()
            })
        );
    }

    #[test]
    fn rollout_and_statefulset_pods_resolve_daemonset_pods_do_not() {
        let rs = BTreeMap::from([("r-1".to_string(), vec![owner("Rollout", "r", true)])]);
        assert_eq!(
            workload_of_pod(&[owner("ReplicaSet", "r-1", true)], &rs)
                .unwrap()
                .kind,
            "Rollout"
        );
        assert_eq!(
            workload_of_pod(&[owner("StatefulSet", "db", true)], &rs)
                .unwrap()
                .name,
            "db"
        );
        assert_eq!(
            workload_of_pod(&[owner("DaemonSet", "agent", true)], &rs),
            None,
            "no target can name a DaemonSet"
        );
    }

    #[test]
    fn bare_pods_jobs_and_unknown_replica_sets_resolve_to_nothing() {
        let rs = BTreeMap::new();
        assert_eq!(workload_of_pod(&[], &rs), None);
        assert_eq!(workload_of_pod(&[owner("Job", "j", true)], &rs), None);
        assert_eq!(
            workload_of_pod(&[owner("ReplicaSet", "gone", true)], &rs),
            None
        );
    }

    #[test]
    fn the_controller_reference_wins_over_others() {
        let refs = [
            owner("ConfigMap", "x", false),
            owner("StatefulSet", "db", true),
        ];
        assert_eq!(workload_of_pod(&refs, &BTreeMap::new()).unwrap().name, "db");
    }
}

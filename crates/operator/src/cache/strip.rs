//! What the cache keeps of each object: only the fields some part of the operator reads,
//! so a cluster's pods, ReplicaSets and workloads fit in little memory. Each function
//! states what it keeps; everything else is dropped before the object is stored.

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStateTerminated, ContainerStatus, Event, Pod, PodCondition,
    PodSpec, PodStatus,
};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// Name, namespace, uid, resourceVersion, generation, labels, owners, deletion time.
pub fn meta(m: &mut ObjectMeta) {
    *m = ObjectMeta {
        name: m.name.take(),
        namespace: m.namespace.take(),
        uid: m.uid.take(),
        resource_version: m.resource_version.take(),
        generation: m.generation.take(),
        labels: m.labels.take(),
        owner_references: m.owner_references.take(),
        creation_timestamp: m.creation_timestamp.take(),
        deletion_timestamp: m.deletion_timestamp.take(),
        finalizers: m.finalizers.take(),
        ..ObjectMeta::default()
    };
}

/// What actuation, the collector and the PodAutoscalers need of a pod: its owners, labels and
/// restart token; each container's name and resources; phase, IP, conditions (readiness,
/// resize), and each container's readiness, restarts and last termination (OOM kills).
pub fn pod(p: &mut Pod) {
    // The restart token its template gave it: whether a restart has reached it.
    let restart = p
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(crate::actuate::restart::RESTART_ANNOTATION).cloned());
    meta(&mut p.metadata);
    p.metadata.annotations = restart.map(|t| {
        [(crate::actuate::restart::RESTART_ANNOTATION.to_string(), t)]
            .into_iter()
            .collect()
    });
    p.spec = p.spec.take().map(|s| PodSpec {
        containers: s
            .containers
            .into_iter()
            .map(|c| Container {
                name: c.name,
                resources: c.resources,
                ..Container::default()
            })
            .collect(),
        node_name: s.node_name,
        ..PodSpec::default()
    });
    p.status = p.status.take().map(|s| PodStatus {
        phase: s.phase,
        qos_class: s.qos_class,
        resize: s.resize,
        conditions: s.conditions.map(|cs| {
            cs.into_iter()
                .map(|c| PodCondition {
                    // How long a resize has been pending decides when it falls back.
                    last_transition_time: c
                        .type_
                        .starts_with("PodResize")
                        .then_some(c.last_transition_time)
                        .flatten(),
                    type_: c.type_,
                    status: c.status,
                    reason: c.reason,
                    ..PodCondition::default()
                })
                .collect()
        }),
        container_statuses: s.container_statuses.map(|cs| {
            cs.into_iter()
                .map(|c| ContainerStatus {
                    name: c.name,
                    ready: c.ready,
                    restart_count: c.restart_count,
                    resources: c.resources,
                    last_state: c.last_state.map(|l| ContainerState {
                        terminated: l.terminated.map(|t| ContainerStateTerminated {
                            exit_code: t.exit_code,
                            reason: t.reason,
                            finished_at: t.finished_at,
                            ..ContainerStateTerminated::default()
                        }),
                        ..ContainerState::default()
                    }),
                    ..ContainerStatus::default()
                })
                .collect()
        }),
        // Where a PodAutoscaler's `pod` metric sources are scraped.
        pod_ip: s.pod_ip,
        ..PodStatus::default()
    });
}

/// A ReplicaSet is kept for its owner (which Deployment or Rollout its pods belong to).
pub fn replica_set(rs: &mut ReplicaSet) {
    meta(&mut rs.metadata);
    rs.spec = None;
    rs.status = None;
}

/// An HPA's target, bounds, metrics and replica counts (all of its spec and status but
/// conditions).
pub fn hpa(h: &mut HorizontalPodAutoscaler) {
    meta(&mut h.metadata);
    if let Some(s) = h.status.as_mut() {
        s.conditions = None;
    }
}

/// A PodDisruptionBudget's selector and budget.
pub fn pdb(p: &mut PodDisruptionBudget) {
    meta(&mut p.metadata);
    if let Some(s) = p.status.as_mut() {
        s.conditions = None;
        s.disrupted_pods = None;
    }
}

/// What the dashboard shows of an Event about a target: the object it is about, its
/// type, reason, message, count and times.
pub fn event(e: &mut Event) {
    meta(&mut e.metadata);
    e.metadata.labels = None;
    e.metadata.owner_references = None;
    e.source = None;
    e.related = None;
    e.series = None;
    e.reporting_component = None;
    e.reporting_instance = None;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pods_keep_what_is_read_and_lose_the_rest() {
        let mut p: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web-1", "namespace": "shop", "uid": "u1", "labels": {"app": "web"},
                         "annotations": {"big": "x"}, "managedFields": [{"manager": "m"}],
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7", "uid": "r", "controller": true}]},
            "spec": {"containers": [{"name": "app", "image": "img", "env": [{"name": "A", "value": "1"}],
                                     "resources": {"requests": {"cpu": "100m"}}}],
                     "volumes": [{"name": "v", "emptyDir": {}}], "nodeName": "n1"},
            "status": {"phase": "Running", "podIP": "10.0.0.1",
                       "conditions": [{"type": "Ready", "status": "True", "message": "long"}],
                       "containerStatuses": [{"name": "app", "ready": true, "restartCount": 2, "image": "img", "imageID": "sha",
                                              "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "message": "m"}}}]}
        }))
        .unwrap();
        pod(&mut p);
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["metadata"]["ownerReferences"][0]["name"], "web-7");
        assert!(v["metadata"]["annotations"].is_null() && v["metadata"]["managedFields"].is_null());
        assert_eq!(
            v["spec"]["containers"][0]["resources"]["requests"]["cpu"],
            "100m"
        );
        assert!(v["spec"]["containers"][0]["env"].is_null() && v["spec"]["volumes"].is_null());
        assert_eq!(v["status"]["containerStatuses"][0]["restartCount"], 2);
        assert_eq!(
            v["status"]["containerStatuses"][0]["lastState"]["terminated"]["reason"],
            "OOMKilled"
        );
        // Where the PodAutoscalers' pod metric sources are scraped.
        assert_eq!(v["status"]["podIP"], "10.0.0.1");
        assert_eq!(v["status"]["conditions"][0]["type"], "Ready");
    }
}

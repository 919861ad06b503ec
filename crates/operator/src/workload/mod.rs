//! The workloads prescale manages, one module for both controllers: the kinds
//! (`kinds`), what the controllers need to know of one workload (`WorkloadView`, built
//! from the object the cache keeps, stripped by `strip`), and which workloads a target
//! resolves — its `scaleTargetRef`, or every workload of its namespace whose pod template
//! matches its `selector` (Deployments, StatefulSets and Rollouts alike).

pub mod kinds;

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::ResourceExt;
use kube::core::DynamicObject;
use prescale_api::AIScaleTarget;
use serde_json::{Value, json};

pub use self::kinds::Kind;
use crate::actuate::restart::RESTART_ANNOTATION;
use crate::selector::selector_matches;

/// Requests of one container of a workload's pod template.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContainerRequests {
    pub name: String,
    /// Cores.
    pub cpu: Option<f64>,
    /// Bytes.
    pub memory: Option<f64>,
}

/// A Deployment, StatefulSet or Rollout.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WorkloadView {
    pub api_version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub labels: BTreeMap<String, String>,
    /// The pod template's labels (what selectors match), when the kind has a template.
    pub pod_labels: BTreeMap<String, String>,
    /// `spec.replicas` (1 when unset, as the API defaults it).
    pub replicas: u32,
    /// The pod template's containers, in template order.
    pub containers: Vec<ContainerRequests>,
    /// Pods and ready pods, from the workload's status.
    pub pods: u32,
    pub ready_pods: u32,
    /// The pod template's restart token (`actuate::restart::RESTART_ANNOTATION`), when a
    /// restart has marked it.
    pub restart_token: Option<String>,
    /// Whether the workload's controller has finished rolling out its current template,
    /// from its status (see `rollout_complete`).
    pub rolled_out: bool,
}

/// Whether a pod is Ready and not going away: a pod that shares its workload's load (a
/// Service sends nothing to one that is starting or terminating).
pub fn pod_is_ready(pod: &k8s_openapi::api::core::v1::Pod) -> bool {
    pod.metadata.deletion_timestamp.is_none()
        && pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// A quantity field (`"250m"`, `"1Gi"` or a bare number) as a number, through the one
/// quantity parser.
pub fn quantity(v: &Value) -> Option<f64> {
    match v {
        Value::String(s) => prescale_api::quantity::parse(s).ok().map(|q| q.as_f64()),
        Value::Number(n) => n.as_f64(),
        _ => None,
    }
}

impl WorkloadView {
    /// The view of a workload object (full, or as `strip` left it).
    pub fn of(kind: &Kind, obj: &DynamicObject) -> WorkloadView {
        let spec = &obj.data["spec"];
        let template = &spec["template"];
        let count = |field: &str| {
            obj.data["status"][field]
                .as_u64()
                .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX))
        };
        WorkloadView {
            api_version: kind.api_version(),
            kind: kind.kind.clone(),
            namespace: obj.namespace().unwrap_or_default(),
            name: obj.name_any(),
            uid: obj.uid().unwrap_or_default(),
            labels: obj.labels().clone(),
            // Read in place: views are made for every workload of a template pass, the
            // janitor and the dashboard, and at each reconcile.
            pod_labels: template["metadata"]["labels"]
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect(),
            replicas: spec["replicas"]
                .as_u64()
                .map_or(1, |r| u32::try_from(r).unwrap_or(u32::MAX)),
            containers: template["spec"]["containers"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| ContainerRequests {
                    name: c["name"].as_str().unwrap_or_default().to_string(),
                    cpu: quantity(&c["resources"]["requests"]["cpu"]),
                    memory: quantity(&c["resources"]["requests"]["memory"]),
                })
                .collect(),
            pods: count("replicas"),
            ready_pods: count("readyReplicas"),
            restart_token: template["metadata"]["annotations"][RESTART_ANNOTATION]
                .as_str()
                .map(str::to_string),
            rolled_out: rollout_complete(obj),
        }
    }

    /// `kind/name`, how history and suggestions name a workload within its namespace.
    pub fn id(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }
}

/// Whether a Deployment, StatefulSet or Rollout has finished rolling out its current pod
/// template, as `kubectl rollout status` decides it: its controller has seen the current
/// generation, every desired replica is updated and ready, no old replica is left, and (a
/// StatefulSet) the update revision is the current one. A workload whose status says
/// nothing yet is not finished.
pub fn rollout_complete(obj: &DynamicObject) -> bool {
    let status = &obj.data["status"];
    let field = |name: &str| status[name].as_i64().unwrap_or(0);
    let desired = obj.data["spec"]["replicas"].as_i64().unwrap_or(1);
    let generation = obj.metadata.generation.unwrap_or(0);
    let observed = status["observedGeneration"].as_i64().unwrap_or(-1);
    let revisions_settled = match (
        status["currentRevision"].as_str(),
        status["updateRevision"].as_str(),
    ) {
        (Some(current), Some(update)) => current == update,
        _ => true,
    };
    observed >= generation
        && field("updatedReplicas") >= desired
        && field("readyReplicas") >= desired
        && field("replicas") <= desired
        && revisions_settled
}

/// Reduces a workload object to what `WorkloadView::of` and `rollout_complete` read, so the cache holds
/// thousands of workloads in little memory.
pub fn strip(obj: &mut DynamicObject) {
    let meta = &mut obj.metadata;
    meta.managed_fields = None;
    meta.annotations = None;
    let spec = &obj.data["spec"];
    let containers: Vec<Value> = spec["template"]["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| json!({"name": c["name"], "resources": {"requests": c["resources"]["requests"]}}))
        .collect();
    let status = &obj.data["status"];
    let restart = &spec["template"]["metadata"]["annotations"][RESTART_ANNOTATION];
    let annotations = if restart.is_null() {
        Value::Null
    } else {
        json!({RESTART_ANNOTATION: restart})
    };
    let kept_status = [
        "replicas",
        "readyReplicas",
        "updatedReplicas",
        "observedGeneration",
        "currentRevision",
        "updateRevision",
    ]
    .into_iter()
    .filter(|k| !status[*k].is_null())
    .map(|k| (k.to_string(), status[k].clone()))
    .collect::<serde_json::Map<_, _>>();
    obj.data = json!({
        "spec": {
            "replicas": spec["replicas"],
            "template": {"metadata": {"labels": spec["template"]["metadata"]["labels"],
                                      "annotations": annotations},
                         "spec": {"containers": containers}},
        },
        "status": kept_status,
    });
}

/// The workloads `target` resolves among `workloads` (any namespace; filtered here): its
/// `scaleTargetRef`, or every workload of its namespace whose pod template matches its
/// `selector`.
pub fn resolve<'a>(
    target: &AIScaleTarget,
    workloads: impl IntoIterator<Item = &'a WorkloadView>,
) -> Vec<&'a WorkloadView> {
    let ns = target.namespace().unwrap_or_default();
    let matches = |w: &WorkloadView| match (&target.spec.scale_target_ref, &target.spec.selector) {
        (Some(r), _) => {
            r.name == w.name
                && r.kind == w.kind
                && r.api_version.as_deref().is_none_or(|v| {
                    v.split_once('/').map_or("", |(g, _)| g)
                        == w.api_version.split_once('/').map_or("", |(g, _)| g)
                })
        }
        (None, Some(sel)) => selects(sel, w),
        (None, None) => false,
    };
    workloads
        .into_iter()
        .filter(|w| w.namespace == ns && matches(w))
        .collect()
}

/// Whether `selector` (a target's) matches the workload's pod template labels.
pub fn selects(selector: &LabelSelector, w: &WorkloadView) -> bool {
    selector_matches(selector, &w.pod_labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(kind: &Kind, ns: &str, name: &str, app: &str) -> DynamicObject {
        serde_json::from_value(json!({
            "apiVersion": kind.api_version(), "kind": kind.kind,
            "metadata": {"name": name, "namespace": ns, "uid": format!("u-{name}"),
                         "labels": {"team": "a"}, "managedFields": [{"manager": "x"}]},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": app}},
                     "template": {"metadata": {"labels": {"app": app}},
                                  "spec": {"containers": [{"name": "app", "image": "x", "env": [{"name": "A", "value": "1"}],
                                           "resources": {"requests": {"cpu": "250m", "memory": "1Gi"}, "limits": {"cpu": 1}}}]}}},
            "status": {"replicas": 3, "readyReplicas": 2, "conditions": [{"type": "Available"}]}
        }))
        .unwrap()
    }

    fn target(spec: Value) -> AIScaleTarget {
        serde_json::from_value(json!({
            "apiVersion": "thoras.ai/v1", "kind": "AIScaleTarget",
            "metadata": {"name": "t", "namespace": "shop"},
            "spec": spec,
        }))
        .unwrap()
    }

    #[test]
    fn a_stripped_object_gives_the_same_view() {
        let kind = Kind::named("Deployment").unwrap();
        let full = object(&kind, "shop", "web", "web");
        let mut stripped = full.clone();
        strip(&mut stripped);
        assert_eq!(
            WorkloadView::of(&kind, &full),
            WorkloadView::of(&kind, &stripped)
        );
        let view = WorkloadView::of(&kind, &stripped);
        assert_eq!((view.replicas, view.pods, view.ready_pods), (3, 3, 2));
        assert_eq!(view.containers[0].cpu, Some(0.25));
        assert_eq!(view.containers[0].memory, Some(1024.0 * 1024.0 * 1024.0));
        assert_eq!(view.pod_labels["app"], "web");
        assert!(stripped.metadata.managed_fields.is_none());
        assert!(stripped.data["spec"]["template"]["spec"]["containers"][0]["env"].is_null());
    }

    #[test]
    fn the_restart_token_and_rollout_status_survive_the_strip() {
        let kind = Kind::named("StatefulSet").unwrap();
        let mut obj = object(&kind, "shop", "db", "db");
        obj.metadata.generation = Some(4);
        obj.data["spec"]["template"]["metadata"]["annotations"] =
            json!({RESTART_ANNOTATION: "revert-1", "other": "x"});
        obj.data["status"] = json!({"replicas": 3, "readyReplicas": 3, "updatedReplicas": 3,
            "observedGeneration": 4, "currentRevision": "db-1", "updateRevision": "db-1"});
        let mut stripped = obj.clone();
        strip(&mut stripped);
        let view = WorkloadView::of(&kind, &stripped);
        assert_eq!(view, WorkloadView::of(&kind, &obj));
        assert_eq!(view.restart_token.as_deref(), Some("revert-1"));
        assert!(view.rolled_out);
        // Each way a rollout is not finished.
        for (field, value) in [
            ("observedGeneration", json!(3)),
            ("updatedReplicas", json!(2)),
            ("readyReplicas", json!(2)),
            ("replicas", json!(4)),
            ("updateRevision", json!("db-2")),
        ] {
            let mut o = obj.clone();
            o.data["status"][field] = value;
            assert!(!rollout_complete(&o), "{field}");
        }
        let mut o = obj.clone();
        o.data["status"] = json!({});
        assert!(!rollout_complete(&o), "a status that says nothing yet");
    }

    #[test]
    fn selector_targets_resolve_deployments_statefulsets_and_rollouts() {
        let views: Vec<WorkloadView> = [
            ("Deployment", "shop", "web", "shop"),
            ("StatefulSet", "shop", "db", "shop"),
            ("Rollout", "shop", "canary", "shop"),
            ("Deployment", "other", "web", "shop"),
            ("Deployment", "shop", "admin", "admin"),
        ]
        .iter()
        .map(|(k, ns, name, app)| {
            let k = Kind::named(k).unwrap();
            WorkloadView::of(&k, &object(&k, ns, name, app))
        })
        .collect();
        let t = target(json!({"selector": {"matchLabels": {"app": "shop"}},
                              "model": {"forecast_interval": "15m"}}));
        let mut got: Vec<String> = resolve(&t, &views).iter().map(|w| w.id()).collect();
        got.sort();
        assert_eq!(got, ["Deployment/web", "Rollout/canary", "StatefulSet/db"]);
    }

    #[test]
    fn scale_target_refs_resolve_by_kind_name_and_group() {
        let (d, s) = (
            Kind::named("Deployment").unwrap(),
            Kind::named("StatefulSet").unwrap(),
        );
        let views = vec![
            WorkloadView::of(&d, &object(&d, "shop", "web", "web")),
            WorkloadView::of(&s, &object(&s, "shop", "web", "web")),
        ];
        let by_ref = |r: Value| {
            resolve(&target(json!({"scaleTargetRef": r, "model": {}})), &views)
                .iter()
                .map(|w| w.id())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            by_ref(json!({"kind": "Deployment", "name": "web"})),
            ["Deployment/web"]
        );
        assert_eq!(
            by_ref(json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web"})),
            ["StatefulSet/web"]
        );
        assert!(
            by_ref(json!({"apiVersion": "example.com/v1", "kind": "Deployment", "name": "web"}))
                .is_empty()
        );
        assert!(by_ref(json!({"kind": "Deployment", "name": "gone"})).is_empty());
    }
}

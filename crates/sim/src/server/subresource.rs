//! Subresources with behaviour of their own: `scale`, `pods/eviction` (honouring
//! PodDisruptionBudgets), `pods/resize` (in-place resize, QoS class kept, node room
//! checked), and the metrics.k8s.io API fed by the load model.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::request::{Query, Target};
use super::{Sim, json_response};
use crate::error::ApiError;
use crate::patch::{PatchType, apply_patch};
use crate::resources::{pod_requests, qos_class};
use crate::selector::{LabelSelector, selector_string};
use crate::store::{Part, Propagation, Store};

pub fn serve(
    sim: &Arc<Sim>,
    method: &Method,
    t: &Target,
    body: Result<Value, ApiError>,
) -> Result<Response, ApiError> {
    let name = t.name.clone().unwrap_or_default();
    let ns = t.namespace.clone().unwrap_or_default();
    let mut store = sim.store();
    match (t.sub.as_deref(), method) {
        (Some("scale"), &Method::GET) => Ok(json_response(
            StatusCode::OK,
            &scale_of(&store, t, &ns, &name)?,
        )),
        (Some("scale"), &Method::PUT | &Method::PATCH) => {
            let body = body?;
            let scale = if method == Method::PATCH {
                let current = scale_of(&store, t, &ns, &name)?;
                apply_patch(&current, &body, PatchType::Merge)
                    .map_err(|m| ApiError::bad_request(&m))?
            } else {
                body
            };
            let replicas = scale
                .pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .ok_or_else(|| {
                    ApiError::invalid("Scale", &name, "spec.replicas: Required value")
                })?;
            let paths =
                t.rt.scale
                    .clone()
                    .ok_or_else(|| ApiError::not_found("scale", &name))?;
            let mut obj = store.get(&t.rt.key(), &ns, &name)?;
            set_path(&mut obj, &paths.spec_replicas, json!(replicas));
            store.update(&t.rt.key(), &ns, &name, obj, Part::Main)?;
            Ok(json_response(
                StatusCode::OK,
                &scale_of(&store, t, &ns, &name)?,
            ))
        }
        (Some("eviction"), &Method::POST) => evict(&mut store, &ns, &name),
        (Some("resize"), &Method::GET) => Ok(json_response(
            StatusCode::OK,
            &store.get(&t.rt.key(), &ns, &name)?,
        )),
        (Some("resize"), &Method::PATCH | &Method::PUT) => {
            let body = body?;
            let pod = store.get(&t.rt.key(), &ns, &name)?;
            let wanted = if method == Method::PATCH {
                apply_patch(&pod, &body, PatchType::Strategic)
                    .map_err(|m| ApiError::bad_request(&m))?
            } else {
                body
            };
            let resized = resize(&mut store, pod, &wanted)?;
            Ok(json_response(StatusCode::OK, &resized))
        }
        _ => Err(ApiError::method_not_allowed(&format!(
            "{method} is not supported on {}",
            t.sub.as_deref().unwrap_or("")
        ))),
    }
}

fn path_get<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    obj.pointer(&path.replace('.', "/"))
}

fn set_path(obj: &mut Value, path: &str, value: Value) {
    let parts: Vec<&str> = path.trim_start_matches('.').split('.').collect();
    let mut cur = obj;
    for p in &parts[..parts.len() - 1] {
        if !cur.get(*p).is_some_and(Value::is_object) {
            cur[*p] = json!({});
        }
        cur = &mut cur[*p];
    }
    cur[parts[parts.len() - 1]] = value;
}

pub(super) fn scale_of(store: &Store, t: &Target, ns: &str, name: &str) -> Result<Value, ApiError> {
    let paths =
        t.rt.scale
            .clone()
            .ok_or_else(|| ApiError::not_found("scale", name))?;
    let obj = store.get(&t.rt.key(), ns, name)?;
    let selector = paths
        .label_selector
        .as_deref()
        .and_then(|p| path_get(&obj, p))
        .and_then(Value::as_str)
        .map(String::from)
        .unwrap_or_else(|| selector_string(obj.pointer("/spec/selector")));
    Ok(json!({
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": name, "namespace": ns,
            "uid": obj["metadata"]["uid"], "resourceVersion": obj["metadata"]["resourceVersion"],
            "creationTimestamp": obj["metadata"]["creationTimestamp"],
        },
        "spec": {"replicas": path_get(&obj, &paths.spec_replicas).and_then(Value::as_i64).unwrap_or(0)},
        "status": {
            "replicas": path_get(&obj, &paths.status_replicas).and_then(Value::as_i64).unwrap_or(0),
            "selector": selector,
        },
    }))
}

fn pods_key() -> (String, String) {
    (String::new(), "pods".into())
}

fn is_ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

/// Evicts a pod unless a PodDisruptionBudget forbids it (429, as the Eviction API does).
fn evict(store: &mut Store, ns: &str, name: &str) -> Result<Response, ApiError> {
    let pod = store.get(&pods_key(), ns, name)?;
    let pods = store.list(&pods_key(), Some(ns));
    for pdb in store.list(&("policy".into(), "poddisruptionbudgets".into()), Some(ns)) {
        let selector = selector_string(pdb.pointer("/spec/selector"));
        let Ok(selector) = LabelSelector::parse(&selector) else {
            continue;
        };
        if !selector.matches(&pod) {
            continue;
        }
        let covered: Vec<&Value> = pods.iter().filter(|p| selector.matches(p)).collect();
        let expected = covered.len() as i64;
        let healthy = covered.iter().filter(|p| is_ready(p)).count() as i64;
        let resolve = |v: &Value| match v {
            Value::Number(n) => n.as_i64().unwrap_or(0),
            Value::String(s) => {
                let pct: f64 = s.trim_end_matches('%').parse().unwrap_or(0.0);
                (pct / 100.0 * expected as f64).ceil() as i64
            }
            _ => 0,
        };
        let allowed = if let Some(min) = pdb.pointer("/spec/minAvailable") {
            healthy - resolve(min)
        } else if let Some(max) = pdb.pointer("/spec/maxUnavailable") {
            resolve(max) - (expected - healthy)
        } else {
            1
        };
        let pod_counts = is_ready(&pod);
        if allowed < 1 && pod_counts {
            let pdb_name = pdb
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            return Err(ApiError::too_many_requests(&format!(
                "Cannot evict pod as it would violate the pod's disruption budget {pdb_name:?}."
            )));
        }
    }
    store.delete(&pods_key(), ns, name, Propagation::Background)?;
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
    ))
}

/// Applies new container resources in place: refused when the QoS class would change
/// (422, as the API server does); marked Infeasible when the node lacks room.
fn resize(store: &mut Store, mut pod: Value, wanted: &Value) -> Result<Value, ApiError> {
    let name = pod
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let ns = pod
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let mut candidate = pod.clone();
    let containers = candidate
        .pointer_mut("/spec/containers")
        .and_then(Value::as_array_mut);
    for c in containers.into_iter().flatten() {
        let cname = c["name"].clone();
        let new = wanted
            .pointer("/spec/containers")
            .and_then(Value::as_array)
            .and_then(|cs| cs.iter().find(|w| w["name"] == cname))
            .and_then(|w| w.get("resources"));
        if let Some(resources) = new {
            c["resources"] = resources.clone();
        }
    }
    if qos_class(&candidate) != qos_class(&pod) {
        return Err(ApiError::invalid(
            "Pod",
            &name,
            "spec: Forbidden: Pod QOS Class may not change as a result of resizing",
        ));
    }
    let node = pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let fits = node.is_empty() || node_has_room(store, &node, &pod, &candidate);
    if fits {
        pod["spec"]["containers"] = candidate["spec"]["containers"].clone();
        let statuses = pod
            .pointer_mut("/status/containerStatuses")
            .and_then(Value::as_array_mut);
        for s in statuses.into_iter().flatten() {
            let resources = candidate
                .pointer("/spec/containers")
                .and_then(Value::as_array)
                .and_then(|cs| cs.iter().find(|c| c["name"] == s["name"]))
                .map(|c| c["resources"].clone());
            if let Some(r) = resources {
                s["resources"] = r;
            }
        }
        remove_resize_condition(&mut pod);
    } else {
        remove_resize_condition(&mut pod);
        if !pod["status"]["conditions"].is_array() {
            pod["status"]["conditions"] = json!([]);
        }
        if let Some(conditions) = pod["status"]["conditions"].as_array_mut() {
            conditions.push(json!({
                "type": "PodResizePending", "status": "True", "reason": "Infeasible",
                "message": format!("Node didn't have enough capacity for the resize on node {node}"),
            }));
        }
        pod["status"]["resize"] = json!("Infeasible");
    }
    // The resize subresource changes spec and status together.
    let status = pod["status"].clone();
    let updated = store.update(&pods_key(), &ns, &name, pod, Part::Main)?;
    let mut with_status = updated;
    with_status["status"] = status;
    store.update(&pods_key(), &ns, &name, with_status, Part::Status)
}

fn remove_resize_condition(pod: &mut Value) {
    if let Some(c) = pod
        .pointer_mut("/status/conditions")
        .and_then(Value::as_array_mut)
    {
        c.retain(|c| c["type"] != "PodResizePending");
    }
    if let Some(status) = pod.get_mut("status").and_then(Value::as_object_mut) {
        status.remove("resize");
    }
}

fn node_has_room(store: &Store, node: &str, before: &Value, after: &Value) -> bool {
    let Ok(node_obj) = store.get(&(String::new(), "nodes".into()), "", node) else {
        return true;
    };
    let allocatable = crate::resources::node_allocatable(&node_obj);
    let used = store
        .list(&pods_key(), None)
        .iter()
        .filter(|p| p.pointer("/spec/nodeName").and_then(Value::as_str) == Some(node))
        .map(pod_requests)
        .fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
    let (b, a) = (pod_requests(before), pod_requests(after));
    let cpu = used.0 - b.0 + a.0;
    let mem = used.1 - b.1 + a.1;
    cpu <= allocatable.0 + 1e-9 && mem <= allocatable.1 + 0.5
}

/// metrics.k8s.io/v1beta1 PodMetrics and NodeMetrics from the load model's latest figures.
pub fn metrics(sim: &Arc<Sim>, t: &Target, _q: &Query) -> Result<Response, ApiError> {
    let usage = sim.usage();
    let now = sim.clock.rfc3339();
    let items: Vec<Value> = if t.rt.kind == "PodMetrics" {
        usage
            .pods
            .iter()
            .filter(|((ns, _), _)| t.namespace.as_ref().is_none_or(|n| n == ns))
            .filter(|((_, name), _)| t.name.as_ref().is_none_or(|n| n == name))
            .map(|((ns, name), containers)| {
                json!({
                    "kind": "PodMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
                    "metadata": {"name": name, "namespace": ns, "creationTimestamp": now},
                    "timestamp": now, "window": "15s",
                    "containers": containers.iter().map(|(c, cpu, mem)| json!({
                        "name": c,
                        "usage": {"cpu": format!("{}n", (cpu * 1e9).round() as i64), "memory": format!("{}Ki", (mem / 1024.0).round() as i64)}
                    })).collect::<Vec<_>>(),
                })
            })
            .collect()
    } else {
        usage
            .nodes
            .iter()
            .filter(|(name, _)| t.name.as_ref().is_none_or(|n| n == *name))
            .map(|(name, (cpu, mem))| {
                json!({
                    "kind": "NodeMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
                    "metadata": {"name": name, "creationTimestamp": now},
                    "timestamp": now, "window": "15s",
                    "usage": {"cpu": format!("{}n", (cpu * 1e9).round() as i64), "memory": format!("{}Ki", (mem / 1024.0).round() as i64)},
                })
            })
            .collect()
    };
    if t.name.is_some() {
        let item = items
            .into_iter()
            .next()
            .ok_or_else(|| ApiError::not_found(&t.rt.plural, t.name.as_deref().unwrap_or("")))?;
        return Ok(json_response(StatusCode::OK, &item));
    }
    Ok(json_response(
        StatusCode::OK,
        &json!({"kind": format!("{}List", t.rt.kind), "apiVersion": "metrics.k8s.io/v1beta1", "metadata": {}, "items": items}),
    ))
}

//! Workload controllers of the simulated cluster: Deployment → ReplicaSet → Pods, Argo
//! Rollout → ReplicaSet → Pods (when its CRD is installed; the same one-step update as a
//! Deployment — canary and blue-green steps are not simulated), StatefulSet → Pods and
//! DaemonSet → a pod per node (`daemonsets.rs`), with pods scheduled onto nodes that have
//! room (Pending otherwise) and turning Ready after a start-up delay. Works on the store
//! directly, in-process, except pod creations by ReplicaSets and StatefulSets: those are
//! returned and made through the API's create path (admission webhooks included).

use serde_json::{Value, json};

use crate::resources::{node_allocatable, pod_requests};
use crate::store::{Part, Propagation, Store, name_of, random_suffix};

pub(super) fn key(group: &str, plural: &str) -> (String, String) {
    (group.to_string(), plural.to_string())
}

fn replicas(obj: &Value) -> usize {
    obj.pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1)
        .max(0) as usize
}

pub(super) fn owner_ref(obj: &Value) -> Value {
    json!([{
        "apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true
    }])
}

pub(super) fn owned_by<'a>(objs: &'a [Value], uid: &Value) -> Vec<&'a Value> {
    objs.iter()
        .filter(|o| {
            o.pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .is_some_and(|r| r.iter().any(|r| r["uid"] == *uid))
        })
        .collect()
}

/// A stable short hash of the pod template, as the ReplicaSet name suffix.
fn template_hash(template: &Value) -> String {
    let text = template.to_string();
    let h = text.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    });
    format!("{:x}", h & 0xffffffff)
}

/// A pod a controller wants created: (namespace, pod). `cluster::tick` creates them
/// through the API's create path, so admission webhooks see them as a real API server's
/// would.
pub type PodCreate = (String, Value);

/// One pass of every workload controller and the scheduler; returns the pods the
/// ReplicaSet and StatefulSet controllers want created.
pub fn reconcile(store: &mut Store, startup_secs: i64) -> Vec<PodCreate> {
    reconcile_replica_set_owners(store, "apps", "deployments");
    reconcile_replica_set_owners(store, "argoproj.io", "rollouts");
    let mut creates = reconcile_replica_sets(store);
    creates.extend(reconcile_stateful_sets(store));
    super::daemonsets::reconcile(store);
    schedule_and_start(store, startup_secs);
    creates
}

/// Deployments and Rollouts: one ReplicaSet per pod template.
fn reconcile_replica_set_owners(store: &mut Store, group: &str, plural: &str) {
    let rs_key = key("apps", "replicasets");
    for d in store.list(&key(group, plural), None) {
        if d.pointer("/metadata/deletionTimestamp").is_some() {
            continue;
        }
        let ns = d["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let template = d.pointer("/spec/template").cloned().unwrap_or(json!({}));
        let hash = template_hash(&template);
        let name = format!(
            "{}-{hash}",
            d["metadata"]["name"].as_str().unwrap_or_default()
        );
        let all = store.list(&rs_key, Some(&ns));
        let mine = owned_by(&all, &d["metadata"]["uid"]);
        let want = replicas(&d);
        // A changed template gets a new ReplicaSet; the old ones are scaled to zero
        // (a one-step rolling update: `kubectl rollout restart` works).
        for old in mine
            .iter()
            .filter(|rs| name_of(rs).as_deref() != Some(&name))
        {
            if replicas(old) != 0 {
                let mut o = (*old).clone();
                o["spec"]["replicas"] = json!(0);
                let _ = store.update(
                    &rs_key,
                    &ns,
                    &name_of(old).unwrap_or_default(),
                    o,
                    Part::Main,
                );
            }
        }
        match mine.iter().find(|rs| name_of(rs).as_deref() == Some(&name)) {
            Some(current) if replicas(current) != want => {
                let mut o = (*current).clone();
                o["spec"]["replicas"] = json!(want);
                let _ = store.update(&rs_key, &ns, &name, o, Part::Main);
            }
            Some(_) => {}
            None => {
                let mut labels = template
                    .pointer("/metadata/labels")
                    .cloned()
                    .unwrap_or(json!({}));
                labels["pod-template-hash"] = json!(hash);
                let mut tpl = template.clone();
                tpl["metadata"]["labels"] = labels.clone();
                let rs = json!({
                    "metadata": {"name": name, "labels": labels, "ownerReferences": owner_ref(&d)},
                    "spec": {"replicas": want, "selector": {"matchLabels": labels}, "template": tpl},
                });
                let _ = store.create(&rs_key, &ns, rs);
            }
        }
        let ready: i64 = store
            .list(&rs_key, Some(&ns))
            .iter()
            .filter(|rs| owned_by(std::slice::from_ref(rs), &d["metadata"]["uid"]).len() == 1)
            .map(|rs| {
                rs.pointer("/status/readyReplicas")
                    .and_then(Value::as_i64)
                    .unwrap_or(0)
            })
            .sum();
        set_status(store, group, plural, &d, ready, want as i64);
    }
}

fn set_status(store: &mut Store, group: &str, plural: &str, obj: &Value, ready: i64, want: i64) {
    let selector = crate::selector::selector_string(obj.pointer("/spec/selector"));
    let status = json!({
        "replicas": want, "readyReplicas": ready, "availableReplicas": ready, "updatedReplicas": want,
        "observedGeneration": obj["metadata"]["generation"], "selector": selector,
    });
    if obj.get("status") != Some(&status) {
        let mut o = obj.clone();
        o["status"] = status;
        let ns = obj["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let _ = store.update(
            &key(group, plural),
            &ns,
            &name_of(obj).unwrap_or_default(),
            o,
            Part::Status,
        );
    }
}

fn reconcile_replica_sets(store: &mut Store) -> Vec<PodCreate> {
    let pods_key = key("", "pods");
    let mut creates = vec![];
    for rs in store.list(&key("apps", "replicasets"), None) {
        let ns = rs["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let pods = store.list(&pods_key, Some(&ns));
        let mine: Vec<Value> = owned_by(&pods, &rs["metadata"]["uid"])
            .into_iter()
            .cloned()
            .collect();
        let want = replicas(&rs);
        let base = name_of(&rs).unwrap_or_default();
        for _ in mine.len()..want {
            let pod = pod_from_template(&rs, &format!("{base}-{}", random_suffix()));
            creates.push((ns.clone(), pod));
        }
        for extra in mine.iter().skip(want) {
            let _ = store.delete(
                &pods_key,
                &ns,
                &name_of(extra).unwrap_or_default(),
                Propagation::Background,
            );
        }
        let ready = mine.iter().take(want).filter(|p| is_ready(p)).count() as i64;
        set_status(store, "apps", "replicasets", &rs, ready, want as i64);
    }
    creates
}

fn reconcile_stateful_sets(store: &mut Store) -> Vec<PodCreate> {
    let pods_key = key("", "pods");
    let mut creates = vec![];
    for sts in store.list(&key("apps", "statefulsets"), None) {
        let ns = sts["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let base = name_of(&sts).unwrap_or_default();
        let want = replicas(&sts);
        let pods = store.list(&pods_key, Some(&ns));
        let mine: Vec<Value> = owned_by(&pods, &sts["metadata"]["uid"])
            .into_iter()
            .cloned()
            .collect();
        for i in 0..want {
            let name = format!("{base}-{i}");
            if !mine.iter().any(|p| name_of(p).as_deref() == Some(&name)) {
                creates.push((ns.clone(), pod_from_template(&sts, &name)));
            }
        }
        for p in &mine {
            let ordinal =
                name_of(p).and_then(|n| n.rsplit('-').next().and_then(|i| i.parse::<usize>().ok()));
            if ordinal.is_none_or(|i| i >= want) {
                let _ = store.delete(
                    &pods_key,
                    &ns,
                    &name_of(p).unwrap_or_default(),
                    Propagation::Background,
                );
            }
        }
        let ready = mine.iter().filter(|p| is_ready(p)).count() as i64;
        set_status(store, "apps", "statefulsets", &sts, ready, want as i64);
    }
    creates
}

pub(super) fn pod_from_template(owner: &Value, name: &str) -> Value {
    let tpl = owner
        .pointer("/spec/template")
        .cloned()
        .unwrap_or(json!({}));
    let mut metadata = json!({"name": name, "labels": tpl.pointer("/metadata/labels").cloned().unwrap_or(json!({})),
                              "ownerReferences": owner_ref(owner)});
    if let Some(annotations) = tpl.pointer("/metadata/annotations") {
        metadata["annotations"] = annotations.clone();
    }
    // The workload's own size, which its demand is relative to: kept on the pod so that
    // what an autoscaler (or an admission webhook) later sets on the pod changes the
    // headroom, not the demand.
    let base = crate::cluster::load::base_requests(
        tpl.pointer("/spec/containers")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default(),
    );
    if !metadata["annotations"].is_object() {
        metadata["annotations"] = json!({});
    }
    metadata["annotations"][crate::cluster::load::BASE_REQUESTS] = json!(base);
    json!({
        "metadata": metadata,
        "spec": tpl.get("spec").cloned().unwrap_or(json!({"containers": []})),
        "status": {"phase": "Pending"},
    })
}

pub fn is_ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

/// Places unscheduled pods on the node with the most free CPU that fits them, and marks
/// scheduled pods Running and Ready once `startup_secs` have passed since creation.
fn schedule_and_start(store: &mut Store, startup_secs: i64) {
    let pods_key = key("", "pods");
    let nodes = store.list(&key("", "nodes"), None);
    let pods = store.list(&pods_key, None);
    let now = store.clock().now().as_second();
    // (node, allocatable (cpu, memory), requested (cpu, memory))
    type NodeRoom = (String, (f64, f64), (f64, f64));
    let mut ips: std::collections::BTreeSet<String> = pods
        .iter()
        .filter_map(|p| p.pointer("/status/podIP").and_then(Value::as_str))
        .map(str::to_string)
        .collect();
    let mut used: Vec<NodeRoom> = nodes
        .iter()
        .map(|n| {
            let name = name_of(n).unwrap_or_default();
            let u = pods
                .iter()
                .filter(|p| p.pointer("/spec/nodeName").and_then(Value::as_str) == Some(&name))
                .map(pod_requests)
                .fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
            (name, node_allocatable(n), u)
        })
        .collect();
    for pod in pods {
        let ns = pod["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let name = name_of(&pod).unwrap_or_default();
        let mut p = pod.clone();
        if p.pointer("/spec/nodeName")
            .and_then(Value::as_str)
            .is_none()
        {
            let need = pod_requests(&pod);
            let choice = used
                .iter_mut()
                .filter(|(_, cap, u)| u.0 + need.0 <= cap.0 + 1e-9 && u.1 + need.1 <= cap.1 + 0.5)
                .max_by(|a, b| (a.1.0 - a.2.0).total_cmp(&(b.1.0 - b.2.0)));
            let Some((node, _, u)) = choice else {
                if p.pointer("/status/conditions").is_none() {
                    p["status"] = json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
                        "reason": "Unschedulable", "message": "0 nodes are available: insufficient cpu or memory"}]});
                    let _ = store.update(&pods_key, &ns, &name, p, Part::Status);
                }
                continue;
            };
            u.0 += need.0;
            u.1 += need.1;
            p["spec"]["nodeName"] = json!(node.clone());
            if let Ok(updated) = store.update(&pods_key, &ns, &name, p, Part::Main) {
                p = updated;
            } else {
                continue;
            }
        }
        let created = p
            .pointer("/metadata/creationTimestamp")
            .and_then(Value::as_str)
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .map(|t| t.as_second())
            .unwrap_or(now);
        if !is_ready(&p) && now - created >= startup_secs {
            let containers: Vec<Value> = p
                .pointer("/spec/containers")
                .and_then(Value::as_array)
                .map(|cs| {
                    cs.iter()
                        .map(|c| json!({"name": c["name"], "ready": true, "restartCount": 0, "image": c["image"],
                                        "state": {"running": {"startedAt": store.clock().rfc3339()}},
                                        "resources": c.get("resources").cloned().unwrap_or(json!({}))}))
                        .collect()
                })
                .unwrap_or_default();
            let uid = p["metadata"]["uid"].as_str().unwrap_or(&name).to_string();
            let ip = super::pod_metrics::pod_ip(&uid, &ips);
            ips.insert(ip.clone());
            p["status"] = json!({
                "phase": "Running", "qosClass": crate::resources::qos_class(&p), "startTime": store.clock().rfc3339(),
                "conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "True"}],
                "containerStatuses": containers,
                "podIP": ip, "podIPs": [{"ip": ip}], "hostIP": "127.0.0.1", "hostIPs": [{"ip": "127.0.0.1"}],
            });
            let _ = store.update(&pods_key, &ns, &name, p, Part::Status);
        }
    }
}

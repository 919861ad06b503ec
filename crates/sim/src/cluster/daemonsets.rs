//! DaemonSet → one pod per node, bound to its node at creation (the scheduler leaves pods
//! with a `nodeName` where they are). A pod whose node is gone is deleted; a new node gets
//! its pod on the next tick.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::workloads::{is_ready, key, owned_by, pod_from_template};
use crate::store::{Part, Propagation, Store, name_of, random_suffix};

pub fn reconcile(store: &mut Store) {
    let pods_key = key("", "pods");
    let nodes: BTreeSet<String> = store
        .list(&key("", "nodes"), None)
        .iter()
        .filter_map(name_of)
        .collect();
    for ds in store.list(&key("apps", "daemonsets"), None) {
        if ds.pointer("/metadata/deletionTimestamp").is_some() {
            continue;
        }
        let ns = ds["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let base = name_of(&ds).unwrap_or_default();
        let pods = store.list(&pods_key, Some(&ns));
        let mine: Vec<Value> = owned_by(&pods, &ds["metadata"]["uid"])
            .into_iter()
            .cloned()
            .collect();
        let node_of = |p: &Value| {
            p.pointer("/spec/nodeName")
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let covered: BTreeSet<String> = mine.iter().filter_map(node_of).collect();
        for node in nodes.difference(&covered) {
            let mut pod = pod_from_template(&ds, &format!("{base}-{}", random_suffix()));
            pod["spec"]["nodeName"] = json!(node);
            let _ = store.create(&pods_key, &ns, pod);
        }
        for p in &mine {
            if node_of(p).is_none_or(|n| !nodes.contains(&n)) {
                let _ = store.delete(
                    &pods_key,
                    &ns,
                    &name_of(p).unwrap_or_default(),
                    Propagation::Background,
                );
            }
        }
        let ready = mine
            .iter()
            .filter(|p| is_ready(p) && node_of(p).is_some_and(|n| nodes.contains(&n)))
            .count();
        let status = json!({
            "desiredNumberScheduled": nodes.len(), "currentNumberScheduled": covered.intersection(&nodes).count(),
            "numberReady": ready, "numberAvailable": ready, "updatedNumberScheduled": covered.intersection(&nodes).count(),
            "numberMisscheduled": 0, "observedGeneration": ds["metadata"]["generation"],
        });
        if ds.get("status") != Some(&status) {
            let mut o = ds.clone();
            o["status"] = status;
            let _ = store.update(&key("apps", "daemonsets"), &ns, &base, o, Part::Status);
        }
    }
}

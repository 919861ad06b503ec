//! The load model: every workload gets a synthetic demand pattern (daily and weekly
//! seasonality, a slow trend, noise and bursts), or replays a trace attached with
//! `Sim::drive_with_trace` (`trace.rs`); demand is split across its ready pods and turned
//! into per-container CPU usage and memory working set relative to the container's
//! requests (or a fixed memory working set, `WORKING_SET_ANNOTATION`). CPU above the
//! limit is throttled; memory above the limit OOM-kills the container (restartCount, lastState.terminated.reason=OOMKilled, an Event).

use std::collections::{BTreeMap, HashMap};
use std::f64::consts::TAU;

use serde_json::{Value, json};

use crate::resources::container_resource;
use crate::server::Usage;
use crate::store::{Part, Store, name_of};

/// The annotation (on the pod template) that fixes every container's memory working set
/// (a quantity, e.g. `300Mi`) whatever its requests: a workload that needs that much, as a
/// leak or a bigger data set would — the one whose memory outgrows its limit.
pub const WORKING_SET_ANNOTATION: &str = "sim.prescale.io/memory-working-set";

/// Demand of a workload at `t` (unix seconds) relative to its requests (1.0 = at requests).
pub fn demand(workload: &str, t: i64) -> f64 {
    let seed = workload
        .bytes()
        .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64));
    let phase = (seed % 1000) as f64 / 1000.0;
    let day = (t as f64 / 86_400.0 + phase) * TAU;
    let week = (t as f64 / 604_800.0) * TAU;
    let noise = hash01(seed ^ (t as u64 / 15)) * 0.08;
    let burst = if hash01(seed.rotate_left(7) ^ (t as u64 / 300)) > 0.995 {
        0.4
    } else {
        0.0
    };
    (0.55 + 0.35 * day.sin() + 0.06 * week.sin() + noise + burst).max(0.05)
}

fn hash01(x: u64) -> f64 {
    let mut z = x.wrapping_add(0x9E3779B97F4A7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
    ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
}

/// Computes usage for every running pod at the store's current time, OOM-kills containers
/// over their memory limit, and returns the figures metrics.k8s.io serves.
pub fn update_usage(
    store: &mut Store,
    traces: &HashMap<String, (crate::cluster::trace::Trace, i64)>,
) -> Usage {
    let now = store.clock().now().as_second();
    let pods_key = ("".to_string(), "pods".to_string());
    let pods = store.list(&pods_key, None);
    // Ready pods per owner, to split a workload's demand across them.
    let mut ready_per_owner: BTreeMap<String, usize> = BTreeMap::new();
    for p in pods
        .iter()
        .filter(|p| crate::cluster::workloads::is_ready(p))
    {
        *ready_per_owner.entry(owner_key(p)).or_default() += 1;
    }
    let mut usage = Usage::default();
    for pod in pods
        .iter()
        .filter(|p| crate::cluster::workloads::is_ready(p))
    {
        let owner = owner_key(pod);
        let ns = pod["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let name = name_of(pod).unwrap_or_default();
        // The workload's demand is shared by its ready pods: more replicas, less each.
        let ready = *ready_per_owner.get(&owner).unwrap_or(&1) as f64;
        let total = match traces.get(&owner) {
            Some((trace, began)) => trace.at(now - began),
            None => demand(&owner, now),
        };
        let d = total / ready;
        usage.demand.insert((ns.clone(), name.clone()), d);
        let working_set = crate::resources::quantity(
            pod.pointer("/metadata/annotations")
                .and_then(|a| a.get(WORKING_SET_ANNOTATION)),
        );
        let mut containers = vec![];
        let mut oom = vec![];
        for c in pod
            .pointer("/spec/containers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let cname = c["name"].as_str().unwrap_or_default().to_string();
            let (cpu_req, cpu_lim) = container_resource(c, "cpu");
            let (mem_req, mem_lim) = container_resource(c, "memory");
            let cpu_base = cpu_req.or(cpu_lim).unwrap_or(0.1);
            let mem_base = mem_req.or(mem_lim).unwrap_or(128.0 * 1024.0 * 1024.0);
            let wanted_cpu = cpu_base * d;
            let cpu = wanted_cpu.min(cpu_lim.unwrap_or(f64::INFINITY));
            if cpu < wanted_cpu {
                usage
                    .throttled
                    .push((ns.clone(), name.clone(), cname.clone()));
            }
            let mem = working_set.unwrap_or(mem_base * (0.35 + 0.45 * d));
            // A container never holds more than its limit: it is killed on reaching it.
            let mem = match mem_lim {
                Some(l) if mem > l => {
                    oom.push(cname.clone());
                    l
                }
                _ => mem,
            };
            containers.push((cname, cpu, mem));
        }
        if !oom.is_empty() {
            oom_kill(store, pod, &oom);
        }
        if let Some(node) = pod.pointer("/spec/nodeName").and_then(Value::as_str) {
            let e = usage.nodes.entry(node.to_string()).or_default();
            for (_, cpu, mem) in &containers {
                e.0 += cpu;
                e.1 += mem;
            }
        }
        usage.pods.insert((ns, name), containers);
    }
    usage
}

fn owner_key(pod: &Value) -> String {
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or_default();
    let owner = pod
        .pointer("/metadata/ownerReferences/0/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    // A ReplicaSet's pods share demand with the Deployment's other ReplicaSets: use the
    // name without the template hash.
    let base = match pod
        .pointer("/metadata/ownerReferences/0/kind")
        .and_then(Value::as_str)
    {
        Some("ReplicaSet") => owner.rsplit_once('-').map(|(b, _)| b).unwrap_or(owner),
        _ => owner,
    };
    format!("{ns}/{base}")
}

fn oom_kill(store: &mut Store, pod: &Value, containers: &[String]) {
    let ns = pod["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let name = name_of(pod).unwrap_or_default();
    let now = store.clock().rfc3339();
    let mut p = pod.clone();
    for s in p
        .pointer_mut("/status/containerStatuses")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        if containers.iter().any(|c| s["name"] == *c) {
            let restarts = s["restartCount"].as_i64().unwrap_or(0) + 1;
            s["restartCount"] = json!(restarts);
            s["lastState"] =
                json!({"terminated": {"reason": "OOMKilled", "exitCode": 137, "finishedAt": now}});
        }
    }
    let _ = store.update(&("".into(), "pods".into()), &ns, &name, p, Part::Status);
    for c in containers {
        let event = json!({
            "metadata": {"generateName": format!("{name}.")},
            "involvedObject": {"kind": "Pod", "namespace": ns, "name": name, "fieldPath": format!("spec.containers{{{c}}}")},
            "reason": "OOMKilled", "type": "Warning", "message": format!("Container {c} was OOM-killed: memory above its limit"),
            "firstTimestamp": now, "lastTimestamp": now, "count": 1, "source": {"component": "kubelet"},
        });
        let _ = store.create(&("".into(), "events".into()), &ns, event);
    }
}

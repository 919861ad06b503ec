//! The load model: every workload gets a synthetic demand pattern (daily and weekly
//! seasonality, a slow trend, noise and bursts), or replays a trace attached with
//! `Sim::drive_with_trace` (`trace.rs`); demand is split across its ready pods and turned
//! into per-container CPU usage and memory working set relative to the requests of the
//! pod's template (`BASE_REQUESTS`), so a resized pod keeps its demand — or a fixed memory
//! working set (`WORKING_SET_ANNOTATION`). CPU above the limit is throttled; memory above
//! the limit OOM-kills the container (restartCount, lastState.terminated.reason=OOMKilled,
//! an Event), whose working set stops at the limit.

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

/// The annotation (on the pod template) that multiplies the workload's synthetic demand
/// (a positive number, default 1): a workload whose demand is that many pods' requests
/// at the pattern's level, so that its daily rise needs more replicas — the one an HPA
/// scales. Without it a workload's whole demand is about one pod's requests.
pub const DEMAND_SCALE_ANNOTATION: &str = "sim.prescale.io/demand-scale";

/// The demand multiplier a pod's annotations declare (`DEMAND_SCALE_ANNOTATION`); 1 when
/// absent or not a positive number.
pub fn demand_scale(annotations: Option<&Value>) -> f64 {
    annotations
        .and_then(|a| a.get(DEMAND_SCALE_ANNOTATION))
        .and_then(Value::as_str)
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .unwrap_or(1.0)
}

/// The pod annotation holding the requests its workload's demand is relative to (JSON:
/// container name → `[cpu cores, memory bytes]`), written when the sim's controllers
/// create the pod from its template. Pods without it use their own requests.
pub const BASE_REQUESTS: &str = "sim.prescale.io/base-requests";

/// The size of each of `containers` (a pod template's) its demand is relative to: its
/// requests, or its limits where it has no request; the defaults for neither.
pub fn base_of(containers: &[Value]) -> BTreeMap<String, (f64, f64)> {
    containers
        .iter()
        .map(|c| {
            let (cpu_req, cpu_lim) = container_resource(c, "cpu");
            let (mem_req, mem_lim) = container_resource(c, "memory");
            (
                c["name"].as_str().unwrap_or_default().to_string(),
                (
                    cpu_req.or(cpu_lim).unwrap_or(DEFAULT_CPU),
                    mem_req.or(mem_lim).unwrap_or(DEFAULT_MEMORY),
                ),
            )
        })
        .collect()
}

/// The `BASE_REQUESTS` annotation's value for `containers`.
pub fn base_requests(containers: &[Value]) -> String {
    serde_json::to_string(&base_of(containers)).unwrap_or_default()
}

/// What a container with neither request nor limit is sized as.
const DEFAULT_CPU: f64 = 0.1;
const DEFAULT_MEMORY: f64 = 128.0 * 1024.0 * 1024.0;

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

/// What a container sized `base` (cpu cores, memory bytes) would use at load `d` (its
/// pod's share of the workload's demand), before any limit: cpu in proportion, memory a
/// fixed part plus one in proportion.
pub fn container_usage(base: (f64, f64), d: f64) -> (f64, f64) {
    (base.0 * d, base.1 * (0.35 + 0.45 * d))
}

/// The usage each of a workload's `replicas` ready pods, with containers sized `base` (as
/// `base_requests` records them) and its demand multiplied by `scale`
/// (`DEMAND_SCALE_ANNOTATION`), reports at `t` under the synthetic demand: per container,
/// one pod's cpu and memory — the demand is split evenly, so this is also the peak over
/// pods, what a collector of metrics.k8s.io records. For history made up before a
/// simulation starts (`prescale demo` backfills a week this way).
pub fn pod_usage(
    owner: &str,
    base: &BTreeMap<String, (f64, f64)>,
    replicas: u32,
    scale: f64,
    t: i64,
) -> BTreeMap<String, (f64, f64)> {
    let d = demand(owner, t) * scale / f64::from(replicas.max(1));
    base.iter()
        .map(|(c, b)| (c.clone(), container_usage(*b, d)))
        .collect()
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
            None => demand(&owner, now) * demand_scale(pod.pointer("/metadata/annotations")),
        };
        let d = total / ready;
        usage.demand.insert((ns.clone(), name.clone()), d);
        let working_set = crate::resources::quantity(
            pod.pointer("/metadata/annotations")
                .and_then(|a| a.get(WORKING_SET_ANNOTATION)),
        );
        let base: BTreeMap<String, (f64, f64)> = pod
            .pointer(&format!(
                "/metadata/annotations/{}",
                BASE_REQUESTS.replace('/', "~1")
            ))
            .and_then(Value::as_str)
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default();
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
            let (cpu_base, mem_base) = base.get(&cname).copied().unwrap_or((
                cpu_req.or(cpu_lim).unwrap_or(DEFAULT_CPU),
                mem_req.or(mem_lim).unwrap_or(DEFAULT_MEMORY),
            ));
            let (wanted_cpu, mem) = container_usage((cpu_base, mem_base), d);
            let cpu = wanted_cpu.min(cpu_lim.unwrap_or(f64::INFINITY));
            if cpu < wanted_cpu {
                usage
                    .throttled
                    .push((ns.clone(), name.clone(), cname.clone()));
            }
            let mem = working_set.unwrap_or(mem);
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::Clock;

    fn ready_pod(name: &str, owner: &str, cpu: &str, base: Option<String>) -> Value {
        let mut pod = json!({
            "metadata": {"name": name,
                         "ownerReferences": [{"kind": "StatefulSet", "name": owner, "uid": owner, "apiVersion": "apps/v1"}]},
            "spec": {"containers": [{"name": "app", "resources": {"requests": {"cpu": cpu, "memory": "256Mi"}}}]},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        });
        if let Some(base) = base {
            pod["metadata"]["annotations"] = json!({BASE_REQUESTS: base});
        }
        pod
    }

    /// A store with a stopped clock, the pods key, and the base requests of a template of
    /// one container at 1 cpu and 256Mi.
    fn one_cpu_template() -> (jiff::Timestamp, Store, (String, String), String) {
        let start = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        let store = Store::new(Arc::new(Clock::new(start, 0.0)));
        let template =
            [json!({"name": "app", "resources": {"requests": {"cpu": "1", "memory": "256Mi"}}})];
        (
            start,
            store,
            ("".to_string(), "pods".to_string()),
            base_requests(&template),
        )
    }

    #[test]
    fn demand_follows_the_template_not_what_the_pod_was_resized_to() {
        let (_, mut store, pods, base) = one_cpu_template();
        // Created at 1 cpu, resized to 100m: still the demand of 1 cpu.
        store
            .create(
                &pods,
                "default",
                ready_pod("resized-0", "resized", "100m", Some(base)),
            )
            .unwrap();
        // Created directly with 100m and no record of a template: its own requests.
        store
            .create(&pods, "default", ready_pod("bare-0", "bare", "100m", None))
            .unwrap();
        let usage = update_usage(&mut store, &HashMap::new());
        let cpu = |pod: &str| {
            let key = ("default".to_string(), pod.to_string());
            (usage.pods[&key][0].1, usage.demand[&key])
        };
        let (resized, d) = cpu("resized-0");
        assert!(
            (resized - d).abs() < 1e-9,
            "{resized} vs demand {d} of 1 cpu"
        );
        let (bare, d) = cpu("bare-0");
        assert!(
            (bare - 0.1 * d).abs() < 1e-9,
            "{bare} vs demand {d} of 100m"
        );
    }

    #[test]
    fn demand_scale_multiplies_the_demand_and_pod_usage_matches_what_pods_report() {
        let (start, mut store, pods, base) = one_cpu_template();
        for (i, scale) in [(0, None), (1, Some("4")), (2, Some("-3"))] {
            let mut pod = ready_pod(
                &format!("w{i}-0"),
                &format!("w{i}"),
                "1",
                Some(base.clone()),
            );
            if let Some(scale) = scale {
                pod["metadata"]["annotations"][DEMAND_SCALE_ANNOTATION] = json!(scale);
            }
            store.create(&pods, "default", pod).unwrap();
        }
        let usage = update_usage(&mut store, &HashMap::new());
        let d = |pod: &str| usage.demand[&("default".to_string(), pod.to_string())];
        let now = start.as_second();
        let owner = |w: &str| format!("default/{w}");
        assert!((d("w1-0") - 4.0 * demand(&owner("w1"), now)).abs() < 1e-9);
        // Not a positive number: the default.
        assert!((d("w2-0") - demand(&owner("w2"), now)).abs() < 1e-9);
        // What `pod_usage` makes up is what the pod reports.
        let made_up = pod_usage(
            &owner("w1"),
            &serde_json::from_str(&base).unwrap(),
            1,
            4.0,
            now,
        );
        let reported = &usage.pods[&("default".to_string(), "w1-0".to_string())][0];
        assert!(
            (made_up["app"].0 - reported.1).abs() < 1e-9,
            "{made_up:?} vs {reported:?}"
        );
        assert!(
            (made_up["app"].1 - reported.2).abs() < 1.0,
            "{made_up:?} vs {reported:?}"
        );
    }

    #[test]
    fn base_requests_fall_back_to_limits_then_defaults() {
        let base: BTreeMap<String, (f64, f64)> = serde_json::from_str(&base_requests(&[
            json!({"name": "a", "resources": {"limits": {"cpu": "2", "memory": "1Gi"}}}),
            json!({"name": "b"}),
        ]))
        .unwrap();
        assert_eq!(base["a"], (2.0, 1024.0 * 1024.0 * 1024.0));
        assert_eq!(base["b"], (DEFAULT_CPU, DEFAULT_MEMORY));
    }
}

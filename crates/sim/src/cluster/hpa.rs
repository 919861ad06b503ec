//! The HorizontalPodAutoscaler controller, following the real algorithm on the simulated
//! metrics: every sync (15 s), desired = ceil(current × utilisation / target) per Resource
//! metric (the largest wins), no change within the 10 % tolerance, then `spec.behavior`
//! (stabilisation windows and Pods/Percent rate limits, `hpa_behavior.rs`), then min/max.
//! It scales through the workload's spec as the `scale` subresource would.

use std::collections::{BTreeMap, VecDeque};

use serde_json::{Value, json};

use crate::resources::container_resource;
use crate::server::Usage;
use crate::store::{Part, Store, name_of};

use super::hpa_behavior;

pub const TOLERANCE: f64 = 0.1;
pub const DOWNSCALE_STABILIZATION_SECS: i64 = 300;

/// Recommendations of the last window, per HPA (`namespace/name`).
#[derive(Debug, Default)]
pub struct HpaMemory {
    recommendations: BTreeMap<String, VecDeque<(i64, i64)>>,
    /// Past scalings (time, change in replicas), for the behaviour's rate limits.
    events: BTreeMap<String, VecDeque<(i64, i64)>>,
}

/// A change of replicas the HPA decided, to be written through the `scale` subresource.
#[derive(Debug, Clone, PartialEq)]
pub struct ScaleWrite {
    pub group: String,
    pub plural: String,
    pub namespace: String,
    pub name: String,
    pub replicas: i64,
}

/// One sync of every HPA; returns the scalings to write (`cluster::tick` writes them
/// through the API's scale path, so `*/scale` admission webhooks see them).
pub fn sync(store: &mut Store, usage: &Usage, memory: &mut HpaMemory) -> Vec<ScaleWrite> {
    let mut writes = vec![];
    let now = store.clock().now().as_second();
    for hpa in store.list(
        &("autoscaling".into(), "horizontalpodautoscalers".into()),
        None,
    ) {
        let ns = hpa["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let name = name_of(&hpa).unwrap_or_default();
        let target_kind = hpa
            .pointer("/spec/scaleTargetRef/kind")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let target_name = hpa
            .pointer("/spec/scaleTargetRef/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let (group, plural) = match target_kind {
            "Deployment" => ("apps", "deployments"),
            "StatefulSet" => ("apps", "statefulsets"),
            "Rollout" => ("argoproj.io", "rollouts"),
            _ => continue,
        };
        let key = (group.to_string(), plural.to_string());
        let Ok(target) = store.get(&key, &ns, &target_name) else {
            continue;
        };
        let current = target
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(1)
            .max(0);
        let selector: BTreeMap<String, String> = serde_json::from_value(
            target
                .pointer("/spec/selector/matchLabels")
                .cloned()
                .unwrap_or(json!({})),
        )
        .unwrap_or_default();
        let pods: Vec<Value> = store
            .list(&("".into(), "pods".into()), Some(&ns))
            .into_iter()
            .filter(|p| {
                selector.iter().all(|(k, v)| {
                    p.pointer(&format!("/metadata/labels/{k}"))
                        .and_then(Value::as_str)
                        == Some(v)
                })
            })
            .filter(crate::cluster::workloads::is_ready)
            .collect();
        let min = hpa
            .pointer("/spec/minReplicas")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let max = hpa
            .pointer("/spec/maxReplicas")
            .and_then(Value::as_i64)
            .unwrap_or(current.max(1));
        let mut proposals = vec![];
        let mut current_metrics = vec![];
        for metric in hpa
            .pointer("/spec/metrics")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(resource) = metric.pointer("/resource/name").and_then(Value::as_str) else {
                continue;
            };
            let Some(target_util) = metric
                .pointer("/resource/target/averageUtilization")
                .and_then(Value::as_f64)
            else {
                continue;
            };
            let (mut used, mut requested) = (0.0, 0.0);
            for p in &pods {
                let key = (ns.clone(), name_of(p).unwrap_or_default());
                for (i, c) in p
                    .pointer("/spec/containers")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    requested += container_resource(c, resource).0.unwrap_or(0.0);
                    if let Some(u) = usage.pods.get(&key).and_then(|cs| cs.get(i)) {
                        used += if resource == "cpu" { u.1 } else { u.2 };
                    }
                }
            }
            if requested <= 0.0 || pods.is_empty() {
                continue;
            }
            let utilization = used / requested * 100.0;
            current_metrics.push(json!({"type": "Resource", "resource": {"name": resource, "current": {"averageUtilization": utilization.round() as i64}}}));
            let ratio = utilization / target_util;
            proposals.push(if (ratio - 1.0).abs() > TOLERANCE {
                (pods.len() as f64 * ratio).ceil() as i64
            } else {
                current
            });
        }
        // With several metrics the largest proposal wins, as in Kubernetes.
        let desired = proposals.into_iter().max().unwrap_or(current);
        let behavior = hpa_behavior::parse(hpa.pointer("/spec/behavior"));
        let id = format!("{ns}/{name}");
        let horizon = hpa_behavior::horizon_secs(&behavior);
        let history = memory.recommendations.entry(id.clone()).or_default();
        history.push_back((now, desired));
        while history.front().is_some_and(|(t, _)| now - t > horizon) {
            history.pop_front();
        }
        let events = memory.events.entry(id).or_default();
        while events.front().is_some_and(|(t, _)| now - t > horizon) {
            events.pop_front();
        }
        let normalized = hpa_behavior::normalize(&behavior, now, current, desired, history, events);
        let replicas = normalized.clamp(min, max.max(min));
        if replicas != current {
            events.push_back((now, replicas - current));
            writes.push(ScaleWrite {
                group: group.to_string(),
                plural: plural.to_string(),
                namespace: ns.clone(),
                name: target_name.clone(),
                replicas,
            });
        }
        let status = json!({"currentReplicas": current, "desiredReplicas": replicas, "currentMetrics": current_metrics,
                            "lastScaleTime": if replicas != current { json!(store.clock().rfc3339()) } else { hpa.pointer("/status/lastScaleTime").cloned().unwrap_or(Value::Null) }});
        if hpa.get("status") != Some(&status) {
            let mut h = hpa.clone();
            h["status"] = status;
            let _ = store.update(
                &("autoscaling".into(), "horizontalpodautoscalers".into()),
                &ns,
                &name,
                h,
                Part::Status,
            );
        }
    }
    writes
}

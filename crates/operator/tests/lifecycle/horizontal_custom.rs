//! An HPA that scales on a Pods metric and an External metric, through the running
//! operator on the simulated cluster (which serves custom.metrics.k8s.io from its pods'
//! load and external.metrics.k8s.io from values the test sets): the operator records
//! both metrics' load after each collection, and the horizontal forecast turns the
//! recorded history into replicas with the HPA's own formula — the Pods metric, needing
//! the most, drives the suggestion.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use kube::api::{Api, PostParams};
use prescale_api::AIScaleTarget;
use prescale_sim::cluster::trace::Trace;
use prescale_store::{HistoryStore, MemoryStore, Metric, SeriesKey};
use serde_json::json;

use crate::common::env::{RUN_LABEL, TestEnv, eventually};

/// In flight per pod at its requests' load (the sim's default capacity).
const IN_FLIGHT_AT_LOAD: f64 = 8.0;
/// The HPA's targets: 4 in flight per pod; 20 of the queue per pod.
const PODS_TARGET: f64 = 4.0;
const QUEUE: f64 = 30.0;
const QUEUE_TARGET: f64 = 20.0;

fn key(ns: &str, container: &str, metric: Metric) -> SeriesKey {
    SeriesKey {
        namespace: ns.into(),
        kind: "Deployment".into(),
        workload: "api".into(),
        container: container.into(),
        metric,
    }
}

pub async fn hpa_custom_metrics(env: &TestEnv) {
    let ns = env.ns("prod").to_string();
    let sim = env.sim.as_ref().expect("a simulated cluster").sim.clone();
    let now = sim.clock.now().as_second();
    let d: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "api", "labels": {RUN_LABEL: env.run}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "api"}},
            "template": {"metadata": {"labels": {"app": "api"}}, "spec": {"containers": [{
                "name": "app", "image": "registry.k8s.io/pause:3.10",
                "resources": {"requests": {"cpu": "500m", "memory": "256Mi"}}}]}}}
    }))
    .unwrap();
    Api::<Deployment>::namespaced(env.admin.clone(), &ns)
        .create(&PostParams::default(), &d)
        .await
        .unwrap();
    // Two pods' worth of load on two pods: 8 in flight each, 16 in all.
    sim.drive_with_trace(
        &ns,
        "api",
        Trace::from_points(vec![(0, 1.0), (86_400, 1.0)], 2.0).unwrap(),
    );
    sim.set_external_metric(&ns, "queue_depth", Some(QUEUE));
    let hpa: HorizontalPodAutoscaler = serde_json::from_value(json!({
        "metadata": {"name": "api"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"},
                 "minReplicas": 1, "maxReplicas": 20,
                 "metrics": [
                     {"type": "Pods", "pods": {"metric": {"name": "requests_in_flight"},
                         "target": {"type": "AverageValue", "averageValue": PODS_TARGET.to_string()}}},
                     {"type": "External", "external": {"metric": {"name": "queue_depth"},
                         "target": {"type": "AverageValue", "averageValue": QUEUE_TARGET.to_string()}}}]}
    }))
    .unwrap();
    Api::<HorizontalPodAutoscaler>::namespaced(env.admin.clone(), &ns)
        .create(&PostParams::default(), &hpa)
        .await
        .unwrap();
    // A week of what the operator would have recorded, so the forecast has its history.
    let store = Arc::new(MemoryStore::new());
    let pods_id = "Pods/requests_in_flight";
    let queue_id = "External/queue_depth";
    let mut week = vec![];
    for t in (now - 7 * 86_400..now).step_by(60) {
        week.push((key(&ns, "app", Metric::Cpu), (t, 0.5)));
        week.push((
            key(&ns, "app", Metric::Memory),
            (t, 200.0 * 1024.0 * 1024.0),
        ));
        week.push((key(&ns, "", Metric::Replicas), (t, 2.0)));
        week.push((
            key(&ns, pods_id, Metric::ScalingMetric),
            (t, 2.0 * IN_FLIGHT_AT_LOAD),
        ));
        week.push((key(&ns, queue_id, Metric::ScalingMetric), (t, QUEUE)));
    }
    store.append(&week).unwrap();
    let _operator = env.start_operator(store.clone());
    let target: AIScaleTarget = serde_json::from_value(json!({
        "apiVersion": "thoras.ai/v1", "kind": "AIScaleTarget",
        "metadata": {"name": "api", "namespace": ns},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"},
                 "model": {"forecast_blocks": "15m", "forecast_interval": "15m"},
                 "horizontal": {"mode": "recommendation"},
                 "vertical": {"mode": "recommendation"}}
    }))
    .unwrap();
    Api::<AIScaleTarget>::namespaced(env.admin.clone(), &ns)
        .create(&PostParams::default(), &target)
        .await
        .unwrap();

    // Live readings are recorded: 16 in flight over the two pods, the queue as served.
    eventually(
        "both metrics are recorded from the metrics APIs",
        120,
        || async {
            let live = |id: &str| {
                store
                    .read(&key(&ns, id, Metric::ScalingMetric), now, i64::MAX)
                    .unwrap()
            };
            match (live(pods_id).last(), live(queue_id).last()) {
                (Some(&(_, p)), Some(&(_, q))) if p == 2.0 * IN_FLIGHT_AT_LOAD && q == QUEUE => {
                    Ok(())
                }
                other => Err(format!("recorded since the start: {other:?}")),
            }
        },
    )
    .await;
    // ⌈16 / 4⌉ = 4 for the Pods metric (a little more with the forecast's margin) against
    // ⌈30 / 20⌉ = 2 for the queue: the Pods metric drives.
    let asts = Api::<AIScaleTarget>::namespaced(env.admin.clone(), &ns);
    eventually(
        "the Pods metric drives the suggested replicas",
        120,
        || async {
            let s = asts
                .get("api")
                .await
                .map_err(|e| e.to_string())?
                .status
                .and_then(|s| s.suggestion);
            match s
                .as_ref()
                .map(|s| (s.suggested_replicas, s.replicas_driven_by.as_deref()))
            {
                Some((Some(r), Some(driver))) if driver == pods_id && (4..=6).contains(&r) => {
                    Ok(())
                }
                other => Err(format!("suggestion {other:?}")),
            }
        },
    )
    .await;
}

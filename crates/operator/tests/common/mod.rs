//! Shared by the operator's tests: a simulated cluster with prescale's CRDs, one node, and
//! a Deployment whose pods run and report metrics.
#![allow(dead_code)] // each test binary uses its own part of this module

pub mod env;

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Node};
use kube::api::{Api, PostParams};
use prescale_api::AIScaleTarget;
use prescale_sim::testing::TestCluster;
use serde_json::json;

/// A cluster whose clock moves only with `tick`, with Deployment `name` (two replicas,
/// container `app`) in namespace `ns`, its pods running.
pub async fn cluster_with_deployment(ns: &str, name: &str) -> TestCluster {
    let c = TestCluster::start_with(jiff::Timestamp::now(), 0.0)
        .await
        .unwrap();
    {
        let mut sim = c.sim.store();
        for crd in prescale_api::crd::crds() {
            let key = (
                "apiextensions.k8s.io".into(),
                "customresourcedefinitions".into(),
            );
            sim.create(&key, "", serde_json::to_value(crd).unwrap())
                .unwrap();
        }
    }
    Api::<Namespace>::all(c.client.clone())
        .create(
            &PostParams::default(),
            &create(json!({"metadata": {"name": ns}})),
        )
        .await
        .unwrap();
    Api::<Node>::all(c.client.clone())
        .create(
            &PostParams::default(),
            &create(json!({"metadata": {"name": "n1"},
                "status": {"allocatable": {"cpu": "8", "memory": "16Gi"}}})),
        )
        .await
        .unwrap();
    let deployment: Deployment = create(json!({
        "metadata": {"name": name},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [
                     {"name": "app", "image": "x", "resources": {"requests": {"cpu": "500m", "memory": "256Mi"}}}]}}}
    }));
    Api::<Deployment>::namespaced(c.client.clone(), ns)
        .create(&PostParams::default(), &deployment)
        .await
        .unwrap();
    tick(&c, 8).await;
    c
}

fn create<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).unwrap()
}

/// Advances the simulated cluster by `n` ticks.
pub async fn tick(c: &TestCluster, n: usize) {
    for _ in 0..n {
        c.sim
            .clock
            .advance(Duration::from_secs(prescale_sim::cluster::TICK_SECS));
        prescale_sim::cluster::tick(&c.sim).await;
    }
}

/// Creates an AIScaleTarget over Deployment `name` in `ns` and returns the API for it.
pub async fn target(c: &TestCluster, ns: &str, name: &str) -> Api<AIScaleTarget> {
    let ast: AIScaleTarget = serde_json::from_value(json!({
        "apiVersion": "thoras.ai/v1", "kind": "AIScaleTarget",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": name},
                 "model": {"forecast_blocks": "15m", "forecast_interval": "15m"}}
    }))
    .unwrap();
    let asts: Api<AIScaleTarget> = Api::namespaced(c.client.clone(), ns);
    asts.create(&PostParams::default(), &ast).await.unwrap();
    asts
}

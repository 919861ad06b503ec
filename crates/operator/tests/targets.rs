//! Target behaviour on the simulated cluster that needs running pods: every time the
//! operator writes follows the clock it is given (the cluster's), and a target with
//! per-direction model overrides gets both its container requests and its replicas.

mod common;

use std::sync::Arc;

use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, ListParams, PostParams};
use prescale_api::AIScaleTarget;
use prescale_store::MemoryStore;
use serde_json::json;

use common::env::{TestEnv, eventually};

fn target(name: &str, spec: serde_json::Value) -> AIScaleTarget {
    serde_json::from_value(json!({
        "apiVersion": "thoras.ai/v1", "kind": "AIScaleTarget", "metadata": {"name": name},
        "spec": spec,
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_time_written_follows_the_clusters_clock() {
    // The cluster lives in 2024: anything the operator stamps with the wall clock shows.
    let start: jiff::Timestamp = "2024-03-01T00:00:00Z".parse().unwrap();
    let env = TestEnv::sim_from("clock", &["shop"], start).await;
    env.deploy("shop", "web", false).await;
    let asts: Api<AIScaleTarget> = Api::namespaced(env.admin.clone(), "shop");
    let spec = json!({"scaleTargetRef": {"kind": "Deployment", "name": "web"},
                      "model": {"forecast_blocks": "15m", "forecast_interval": "15m"}});
    asts.create(&PostParams::default(), &target("web", spec))
        .await
        .unwrap();
    let operator = env.start_operator(Arc::new(MemoryStore::new()));
    let events: Api<Event> = Api::namespaced(env.admin.clone(), "shop");
    let event = eventually("a SuggestionChanged Event", 90, || async {
        let list = events
            .list(&ListParams::default())
            .await
            .map_err(|e| e.to_string())?;
        list.items
            .into_iter()
            .find(|e| e.reason.as_deref() == Some("SuggestionChanged"))
            .ok_or("no Event yet".to_string())
    })
    .await;
    let now = env.clock().now();
    let in_cluster_time = |t: jiff::Timestamp| t >= start && t <= now;
    for t in [&event.first_timestamp, &event.last_timestamp] {
        let t = t.as_ref().expect("the Event is stamped").0;
        assert!(
            in_cluster_time(t),
            "Event stamped {t}, the cluster's clock says {now}"
        );
    }
    let status = asts.get("web").await.unwrap().status.unwrap();
    for c in &status.conditions {
        let t = c.last_transition_time.0;
        assert!(
            in_cluster_time(t),
            "{} changed at {t}, the cluster's clock says {now}",
            c.type_
        );
    }
    let suggested = status.suggestion.unwrap().time.unwrap().0;
    assert!(in_cluster_time(suggested), "suggestion stamped {suggested}");
    operator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_direction_overrides_give_both_requests_and_replicas() {
    let env = TestEnv::sim("overrides", &["shop"]).await;
    env.deploy("shop", "web", false).await;
    let asts: Api<AIScaleTarget> = Api::namespaced(env.admin.clone(), "shop");
    let spec = json!({"scaleTargetRef": {"kind": "Deployment", "name": "web"},
        "model": {"forecast_blocks": "1h", "forecast_interval": "1h"},
        "vertical": {"mode": "recommendation", "model": {"forecast_blocks": "2h", "forecast_interval": "2h"}},
        "horizontal": {"mode": "recommendation", "minReplicas": 1, "maxReplicas": 10,
                       "model": {"forecast_blocks": "15m", "forecast_interval": "15m"}}});
    asts.create(&PostParams::default(), &target("web", spec))
        .await
        .unwrap();
    let operator = env.start_operator(Arc::new(MemoryStore::new()));
    eventually("containers and replicas are suggested", 90, || async {
        let s = asts
            .get("web")
            .await
            .map_err(|e| e.to_string())?
            .status
            .and_then(|s| s.suggestion)
            .ok_or("no suggestion yet".to_string())?;
        let cpu = s.containers.first().and_then(|c| c.cpu.clone());
        (cpu.is_some() && s.suggested_replicas.is_some())
            .then_some(())
            .ok_or(format!("cpu {cpu:?}, replicas {:?}", s.suggested_replicas))
    })
    .await;
    operator.stop().await;
}

//! Target behaviour on the simulated cluster that needs running pods: every time the
//! operator writes follows the clock it is given (the cluster's), and a target with
//! per-direction model overrides gets both its container requests and its replicas, and
//! without an HPA the replicas follow seed 001's 80 % rule.

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

/// Seed 001: in recommendation mode without an HPA, CPU and memory are each assumed to
/// target 80 % of the pod's requests, so `suggestedReplicas` is the larger of
/// ⌈forecast total ÷ (0.8 × the pod's request)⌉ over the two, within min/max. The workload's
/// demand is scaled to several pods' requests (`sim.prescale.io/demand-scale`): at under
/// one pod's worth every rule would give 1 and the check could not tell them apart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_hpa_replicas_follow_the_eighty_percent_rule() {
    let env = TestEnv::sim("eighty", &["shop"]).await;
    env.deploy_annotated(
        "shop",
        "web",
        false,
        json!({"sim.prescale.io/demand-scale": "8"}),
    )
    .await;
    let asts: Api<AIScaleTarget> = Api::namespaced(env.admin.clone(), "shop");
    let spec = json!({"scaleTargetRef": {"kind": "Deployment", "name": "web"},
        "model": {"forecast_blocks": "15m", "forecast_interval": "15m"},
        "horizontal": {"mode": "recommendation", "minReplicas": 1, "maxReplicas": 40}});
    asts.create(&PostParams::default(), &target("web", spec))
        .await
        .unwrap();
    let operator = env.start_operator(Arc::new(MemoryStore::new()));
    let s = eventually("replicas are suggested", 90, || async {
        asts.get("web")
            .await
            .map_err(|e| e.to_string())?
            .status
            .and_then(|s| s.suggestion)
            .filter(|s| s.suggested_replicas.is_some())
            .ok_or("no suggested replicas yet".to_string())
    })
    .await;
    operator.stop().await;

    // The totals are shown rounded up to 1m and 1Mi: the true total lies within one unit
    // below, so each metric's need lies between the two roundings.
    let per_pod = [("cpu", 0.2, 1e-3, "m"), ("memory", 128.0, 1.0, "Mi")];
    let mut needs = vec![];
    for (metric, request, unit, suffix) in per_pod {
        let shown = s
            .forecasted_totals
            .get(metric)
            .unwrap_or_else(|| panic!("no forecast total for {metric}: {s:?}"));
        let value: f64 = shown
            .strip_suffix(suffix)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{metric} total {shown} is not in {suffix}"));
        let value = value * if suffix == "m" { 1e-3 } else { 1.0 };
        let need = |total: f64| (total / (0.8 * request)).ceil() as i32;
        needs.push((metric, need(value - unit).max(1), need(value).max(1)));
    }
    let replicas = s.suggested_replicas.unwrap();
    let (driver, low, high) = *needs.iter().max_by_key(|(_, _, high)| *high).unwrap();
    assert!(
        replicas >= 3,
        "the scenario must need several replicas to tell the 80 % rule from others: {needs:?}, suggested {replicas}"
    );
    assert!(
        (low..=high).contains(&replicas) && needs.iter().all(|(_, l, _)| *l <= replicas),
        "suggested {replicas}; the 80 % rule needs {needs:?} (metric, low, high); totals {:?}",
        s.forecasted_totals
    );
    assert_eq!(s.replicas_driven_by.as_deref(), Some(driver), "{needs:?}");
}

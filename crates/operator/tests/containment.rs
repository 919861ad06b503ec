//! A failure stays with its target: while every status write of one target fails (500),
//! the others get theirs as usual, the failing one is retried with backoff, and the
//! forecast it could not write is written once the server accepts it — not dropped and
//! recomputed a cadence later.

mod common;

use std::sync::Arc;

use kube::api::{Api, PostParams};
use prescale_api::AIScaleTarget;
use prescale_sim::faults::Fault;
use prescale_store::MemoryStore;
use serde_json::json;

use common::env::{TestEnv, eventually};

fn target(name: &str, workload: &str) -> AIScaleTarget {
    // Four hours between forecasts: two minutes of real time at the test cluster's 120×,
    // far longer than the failing target's first retries.
    serde_json::from_value(json!({
        "apiVersion": "thoras.ai/v1", "kind": "AIScaleTarget", "metadata": {"name": name},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": workload},
                 "model": {"forecast_blocks": "4h", "forecast_interval": "4h"}}
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_target_neither_delays_others_nor_loses_its_forecast() {
    let env = TestEnv::sim("containment", &["shop"]).await;
    let clock = env.clock();
    let asts: Api<AIScaleTarget> = Api::namespaced(env.admin.clone(), "shop");
    env.deploy("shop", "web", false).await;
    asts.create(&PostParams::default(), &target("healthy", "web"))
        .await
        .unwrap();
    let operator = env.start_operator(Arc::new(MemoryStore::new()));
    let suggested_at = |t: &AIScaleTarget| {
        t.status
            .as_ref()
            .and_then(|s| s.suggestion.as_ref())
            .and_then(|s| s.time.as_ref())
            .map(|t| t.0)
    };
    eventually("the healthy target gets its suggestion", 90, || async {
        let t = asts.get("healthy").await.map_err(|e| e.to_string())?;
        suggested_at(&t)
            .map(drop)
            .ok_or("no suggestion yet".to_string())
    })
    .await;

    // A second target over the same workload (so its first reconcile has history to
    // forecast from), every status write of which fails.
    env.set_faults(vec![Fault {
        resource: Some("aiscaletargets".into()),
        verb: Some("patch".into()),
        name: Some("failing".into()),
        error_rate: 1.0,
        error_code: 500,
        ..Fault::default()
    }]);
    asts.create(&PostParams::default(), &target("failing", "web"))
        .await
        .unwrap();
    let sim = &env.sim.as_ref().unwrap().sim;
    eventually("the failing target's forecast is refused", 90, || async {
        let refused = sim.recorded_requests().iter().any(|r| {
            r.verb == "patch"
                && r.subresource.as_deref() == Some("status")
                && r.namespace.as_deref() == Some("shop")
                && r.user_agent == prescale_operator::client::USER_AGENT
        });
        let failing = asts.get("failing").await.map_err(|e| e.to_string())?;
        (refused && failing.status.is_none())
            .then_some(())
            .ok_or("no refused write yet".to_string())
    })
    .await;
    // Meanwhile other targets are processed as usual.
    env.deploy("shop", "other", false).await;
    asts.create(&PostParams::default(), &target("another", "other"))
        .await
        .unwrap();
    eventually(
        "other targets are processed while one fails",
        90,
        || async {
            let t = asts.get("another").await.map_err(|e| e.to_string())?;
            t.status.map(drop).ok_or("no status yet".to_string())
        },
    )
    .await;
    assert!(asts.get("failing").await.unwrap().status.is_none());

    // The server accepts writes again: the failing target's retry writes the forecast it
    // made while failing, well before its next one is due.
    let healed_at = clock.now();
    env.set_faults(vec![]);
    let written = eventually("the retry writes the kept forecast", 90, || async {
        let t = asts.get("failing").await.map_err(|e| e.to_string())?;
        suggested_at(&t).ok_or("no suggestion yet".to_string())
    })
    .await;
    assert!(
        written <= healed_at,
        "the suggestion ({written}) is the one forecast before the fault cleared ({healed_at}), not a new one"
    );
    operator.stop().await;
}

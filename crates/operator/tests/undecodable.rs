//! One AIScaleTarget the typed struct cannot read (the simulated cluster validates no
//! schema; a real one may still hold objects written before a CRD change) is skipped: the
//! others are cached and reconciled as usual, and the skipped one is picked up once fixed.

mod common;

use std::sync::Arc;

use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use prescale_api::AIScaleTarget;
use prescale_store::MemoryStore;
use serde_json::json;

use common::env::{TestEnv, eventually};

fn target(name: &str, mode: serde_json::Value) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "thoras.ai/v1", "kind": "AIScaleTarget",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
                 "model": {"forecast_blocks": "4h", "forecast_interval": "4h", "mode": mode}}
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecodable_target_is_skipped_and_the_others_keep_working() {
    let env = TestEnv::sim("undecodable", &["shop"]).await;
    env.deploy("shop", "web", false).await;
    let resource = ApiResource::erase::<AIScaleTarget>(&());
    let raw: Api<DynamicObject> = Api::namespaced_with(env.admin.clone(), "shop", &resource);
    // `mode` must be a string: this one cannot be read, and was there before the operator
    // started (so its first list holds it).
    raw.create(&PostParams::default(), &target("broken", json!(42)))
        .await
        .unwrap();
    raw.create(
        &PostParams::default(),
        &target("healthy", json!("balanced")),
    )
    .await
    .unwrap();
    let _operator = env.start_operator(Arc::new(MemoryStore::new()));
    let has_status = |name: &'static str| {
        let raw = raw.clone();
        move || {
            let raw = raw.clone();
            async move {
                let t = raw.get(name).await.map_err(|e| e.to_string())?;
                t.data
                    .pointer("/status/conditions")
                    .map(drop)
                    .ok_or(format!("{name} has no status yet"))
            }
        }
    };
    eventually(
        "the healthy target is reconciled",
        90,
        has_status("healthy"),
    )
    .await;
    let broken = raw.get("broken").await.unwrap();
    assert!(
        broken.data.get("status").is_none(),
        "the unreadable target is skipped, not reconciled: {:?}",
        broken.data.get("status")
    );
    // Fixed, it is read and reconciled like any other.
    raw.patch(
        "broken",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"model": {"mode": "balanced"}}})),
    )
    .await
    .unwrap();
    eventually("the fixed target is reconciled", 90, has_status("broken")).await;
}

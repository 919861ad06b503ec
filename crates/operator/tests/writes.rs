//! How the operator writes its statuses, on the real API server (the authority on field
//! ownership): through the status subresource by server-side apply under the operator's
//! field manager. (Conflict retries of spec updates are a lifecycle scenario:
//! `lifecycle/scenarios.rs`, `update_conflict_is_reread_and_retried`.)

mod common;

use std::sync::Arc;

use kube::api::{Api, Patch, PatchParams, PostParams};
use prescale_api::AIScaleTarget;
use prescale_operator::client::FIELD_MANAGER;
use prescale_store::MemoryStore;
use serde_json::json;

use common::env::{TestEnv, eventually};

fn target(ns: &str, name: &str) -> AIScaleTarget {
    serde_json::from_value(json!({
        "apiVersion": "thoras.ai/v1", "kind": "AIScaleTarget", "metadata": {"name": name, "namespace": ns},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": name},
                 "model": {"forecast_blocks": "15m", "forecast_interval": "15m", "forecast_buffer_percentage": "10%"}}
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_is_server_side_applied_and_owned_by_the_operator_on_the_real_server() {
    let Some(env) = TestEnv::real("status-ownership", &["prod"]).await else {
        return;
    };
    let prod = env.ns("prod");
    env.deploy(prod, "api", false).await;
    let asts: Api<AIScaleTarget> = Api::namespaced(env.admin.clone(), prod);
    asts.create(&PostParams::default(), &target(prod, "api"))
        .await
        .unwrap();
    let operator = env.start_operator(Arc::new(MemoryStore::new()));
    let ast = eventually("the operator writes the status", 90, || async {
        let t = asts.get("api").await.map_err(|e| e.to_string())?;
        match &t.status {
            Some(s) if !s.conditions.is_empty() => Ok(t),
            _ => Err("no status yet".into()),
        }
    })
    .await;
    let fields = ast.metadata.managed_fields.clone().unwrap_or_default();
    let entry = fields
        .iter()
        .find(|f| f.manager.as_deref() == Some(FIELD_MANAGER))
        .unwrap_or_else(|| panic!("no managedFields entry of {FIELD_MANAGER}: {fields:#?}"));
    assert_eq!(entry.operation.as_deref(), Some("Apply"), "{entry:#?}");
    assert_eq!(entry.subresource.as_deref(), Some("status"), "{entry:#?}");
    let owned = serde_json::to_string(&entry.fields_v1).unwrap();
    assert!(owned.contains("f:conditions"), "{owned}");

    // The operator owns the status: another manager's apply without force conflicts…
    let foreign = Patch::Apply(json!({
        "apiVersion": "thoras.ai/v1", "kind": "AIScaleTarget", "metadata": {"name": "api"},
        "status": {"observedGeneration": 99},
    }));
    let err = asts
        .patch_status("api", &PatchParams::apply("someone-else"), &foreign)
        .await
        .expect_err("a conflicting apply of the operator's fields");
    assert!(
        matches!(&err, kube::Error::Api(s) if s.code == 409),
        "expected 409 Conflict, got {err}"
    );
    // …and its own writes go on: a spec change is reflected in the status it applies.
    asts.patch(
        "api",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"model": {"forecast_buffer_percentage": "20%"}}})),
    )
    .await
    .unwrap();
    eventually("the operator observes the new generation", 90, || async {
        let t = asts.get("api").await.map_err(|e| e.to_string())?;
        let (generation, observed) = (
            t.metadata.generation,
            t.status.as_ref().and_then(|s| s.observed_generation),
        );
        (observed == generation && generation == Some(2))
            .then_some(())
            .ok_or_else(|| format!("generation {generation:?}, observed {observed:?}"))
    })
    .await;
    operator.stop().await;
}

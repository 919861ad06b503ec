//! How the operator writes, on the real API server (the authority on field ownership):
//! status through the status subresource by server-side apply under the operator's field
//! manager; spec updates that re-read and retry on a conflict (409) instead of overwriting
//! a concurrent edit.

mod common;

use std::sync::Arc;

use kube::api::{Api, Patch, PatchParams, PostParams};
use prescale_api::AIScaleTarget;
use prescale_operator::client::FIELD_MANAGER;
use prescale_operator::template::controller::update_with_retry;
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

async fn conflict_is_reread_and_retried(env: &TestEnv) {
    let prod = env.ns("prod");
    let asts: Api<AIScaleTarget> = Api::namespaced(env.admin.clone(), prod);
    asts.create(&PostParams::default(), &target(prod, "api"))
        .await
        .unwrap();
    let stale = asts.get("api").await.unwrap();
    // Someone else writes in between: the stale copy's resourceVersion is now out of date.
    asts.patch(
        "api",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"team": "payments"}}})),
    )
    .await
    .unwrap();
    let as_operator: Api<AIScaleTarget> = Api::namespaced(env.operator_client.clone(), prod);
    let updated = update_with_retry(&as_operator, "api", stale, |t| {
        t.spec.model.forecast_interval = Some("5m".into());
        Ok(())
    })
    .await
    .expect("the update succeeds after re-reading");
    assert_eq!(updated.spec.model.forecast_interval.as_deref(), Some("5m"));
    assert_eq!(
        updated
            .metadata
            .labels
            .unwrap_or_default()
            .get("team")
            .map(String::as_str),
        Some("payments"),
        "the concurrent edit is kept, not overwritten"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_is_reread_and_retried_on_the_real_server() {
    let Some(env) = TestEnv::real("conflict-retry", &["prod"]).await else {
        return;
    };
    conflict_is_reread_and_retried(&env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_is_reread_and_retried_on_the_sim() {
    let env = TestEnv::sim("conflict-retry", &["prod"]).await;
    conflict_is_reread_and_retried(&env).await;
}

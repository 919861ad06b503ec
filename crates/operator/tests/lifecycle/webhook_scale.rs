//! The `*/scale` webhook on the real API server, registered by URL by an operator running
//! outside the cluster: a horizontally autonomous target whose suggestion asks for 4
//! replicas publishes that floor for the Deployment's one HPA, and the operator scales the
//! Deployment up to it through `deployments/scale` (as the install's ServiceAccount). A
//! `kubectl scale`-style write of 1 replica then comes back raised to the floor; a write
//! above it passes unchanged; the HPA's spec is never written. With the operator stopped
//! the same write is admitted unchanged (failurePolicy Ignore).
//!
//! The real server has no kubelet, hence no usage and no forecast of its own: the test
//! writes the suggestion into the target's status, as a forecast would.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use prescale_api::AIScaleTarget;
use prescale_store::MemoryStore;
use serde_json::json;

use crate::common::env::{TestEnv, eventually};
use crate::webhook_scenarios::{by_url, free_port, registered};

/// What a `kubectl scale --replicas=n` write comes back with.
async fn scale_to(deployments: &Api<Deployment>, replicas: i32) -> i32 {
    let scale = deployments
        .patch_scale(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": replicas}})),
        )
        .await
        .unwrap();
    scale.spec.and_then(|s| s.replicas).unwrap_or_default()
}

pub async fn scale_writes_below_the_floor_are_raised(env: &TestEnv) {
    let ns = env.ns("prod");
    env.deploy(ns, "web", false).await;
    let deployments: Api<Deployment> = Api::namespaced(env.admin.clone(), ns);
    let hpas: Api<HorizontalPodAutoscaler> = Api::namespaced(env.admin.clone(), ns);
    let hpa: HorizontalPodAutoscaler = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                 "minReplicas": 1, "maxReplicas": 10,
                 "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                     "target": {"type": "Utilization", "averageUtilization": 70}}}]}
    }))
    .unwrap();
    let hpa = hpas.create(&PostParams::default(), &hpa).await.unwrap();
    let hpa_spec = hpa.spec.clone();
    let hpa_generation = hpa.metadata.generation;

    let operator = env.start_operator_with(Arc::new(MemoryStore::new()), |c| {
        c.webhook = Some(by_url(free_port()));
    });
    let (mutating, validating, name) = registered(env).await;
    let hooks = mutating
        .get(&name)
        .await
        .unwrap()
        .webhooks
        .unwrap_or_default();
    assert!(
        hooks.iter().any(|h| h.name == "scale.prescale.thoras.ai"),
        "the scale webhook is registered"
    );

    let asts: Api<AIScaleTarget> = Api::namespaced(env.admin.clone(), ns);
    let ast: AIScaleTarget = serde_json::from_value(json!({
        "apiVersion": "thoras.ai/v1", "kind": "AIScaleTarget", "metadata": {"name": "web"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
                 "model": {"forecast_blocks": "15m", "forecast_interval": "15m"},
                 "horizontal": {"mode": "autonomous", "maxReplicas": 10}},
    }))
    .unwrap();
    asts.create(&PostParams::default(), &ast).await.unwrap();
    let now = jiff::Timestamp::now().to_string();
    let suggestion = json!({"status": {"suggestion": {
        "id": "s1", "time": now, "hasEnoughDataToScale": true,
        "suggestedReplicas": 4, "replicasDrivenBy": "cpu"}}});
    asts.patch_status("web", &PatchParams::default(), &Patch::Merge(&suggestion))
        .await
        .unwrap();

    eventually(
        "the floor published and the Deployment scaled up to it",
        90,
        || async {
            let t = asts.get("web").await.map_err(|e| e.to_string())?;
            let floor = t.status.and_then(|s| s.replica_floor);
            let replicas = deployments
                .get("web")
                .await
                .map_err(|e| e.to_string())?
                .spec
                .and_then(|s| s.replicas);
            match (&floor, replicas) {
                (Some(f), Some(4)) if f.replicas == 4 && f.hpa == "web" => Ok(()),
                _ => Err(format!("floor {floor:?}, replicas {replicas:?}")),
            }
        },
    )
    .await;

    // Below the floor: raised. Above it: unchanged (the HPA answering a spike).
    assert_eq!(scale_to(&deployments, 1).await, 4, "raised to the floor");
    assert_eq!(
        scale_to(&deployments, 6).await,
        6,
        "above the floor, unchanged"
    );
    assert_eq!(
        scale_to(&deployments, 2).await,
        4,
        "a scale-down stops at the floor"
    );

    // The operator gone: admitted unchanged (once the API server's open connection to
    // the stopped listener is gone).
    drop(operator);
    eventually(
        "a write admitted unchanged with the operator stopped",
        60,
        || async {
            match scale_to(&deployments, 1).await {
                1 => Ok(()),
                n => Err(format!("came back {n}")),
            }
        },
    )
    .await;

    let after = hpas.get("web").await.unwrap();
    assert_eq!(
        after.spec, hpa_spec,
        "the HPA's spec is as the user wrote it"
    );
    assert_eq!(after.metadata.generation, hpa_generation);
    let _ = mutating.delete(&name, &DeleteParams::default()).await;
    let _ = validating.delete(&name, &DeleteParams::default()).await;
}

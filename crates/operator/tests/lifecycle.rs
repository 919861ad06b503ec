//! Seed 000's template lifecycle and seed 002's pause, on the simulated cluster through a
//! real HTTP client.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use prescale_api::AIScaleTarget;
use prescale_api::template::ClusterAIScaleTemplate;
use prescale_operator::pause::{PauseState, SYSTEM_CONFIG_KEY, SYSTEM_CONFIG_MAP};
use prescale_operator::run::read_pause;
use prescale_operator::target::controller::{TargetContext, TargetMemory, reconcile_targets};
use prescale_operator::template::controller::reconcile_templates;
use prescale_sim::testing::TestCluster;
use serde_json::json;

async fn cluster() -> TestCluster {
    let c = TestCluster::start().await.unwrap();
    {
        let mut store = c.sim.store();
        for crd in prescale_api::crd::crds() {
            store
                .create(
                    &(
                        "apiextensions.k8s.io".into(),
                        "customresourcedefinitions".into(),
                    ),
                    "",
                    serde_json::to_value(crd).unwrap(),
                )
                .unwrap();
        }
        for ns in ["prod", "kube-system-like", "ops"] {
            store
                .create(
                    &("".into(), "namespaces".into()),
                    "",
                    json!({"metadata": {"name": ns}}),
                )
                .unwrap();
        }
    }
    c
}

async fn deploy(c: &TestCluster, ns: &str, name: &str, enabled: bool) {
    let labels = if enabled {
        json!({"thoras.ai/enabled": "true"})
    } else {
        json!({})
    };
    let d: Deployment = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": labels},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "app", "image": "x"}]}}}
    }))
    .unwrap();
    Api::<Deployment>::namespaced(c.client.clone(), ns)
        .create(&PostParams::default(), &d)
        .await
        .unwrap();
}

fn template(name: &str, policy: serde_json::Value, buffer: &str) -> ClusterAIScaleTemplate {
    serde_json::from_value(json!({
        "apiVersion": "thoras.ai/v1", "kind": "ClusterAIScaleTemplate",
        "metadata": {"name": name},
        "spec": {"selector": {"matchLabels": {"thoras.ai/enabled": "true"}}, "policy": policy,
                 "template": {"model": {"forecast_blocks": "1h", "forecast_interval": "15m", "forecast_buffer_percentage": buffer},
                              "vertical": {"mode": "auto", "containers": [{"name": "*", "cpu": {"lowerbound": "10m"}, "memory": {"lowerbound": 0}}]}}}
    }))
    .unwrap()
}

async fn targets(c: &TestCluster) -> Vec<AIScaleTarget> {
    Api::<AIScaleTarget>::all(c.client.clone())
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
}

#[tokio::test]
async fn template_lifecycle_follows_seed_000() {
    let c = cluster().await;
    deploy(&c, "prod", "api", true).await;
    deploy(&c, "prod", "worker", false).await;
    deploy(&c, "kube-system-like", "dns", true).await;
    let templates: Api<ClusterAIScaleTemplate> = Api::all(c.client.clone());
    templates
        .create(
            &PostParams::default(),
            &template(
                "prod",
                json!({"excludedNamespaces": ["kube-system-like"]}),
                "10%",
            ),
        )
        .await
        .unwrap();

    // Create: only the matching workload in an admitted namespace gets `<name>-ast`.
    reconcile_templates(&c.client).await.unwrap();
    let all = targets(&c).await;
    assert_eq!(all.len(), 1);
    let ast = &all[0];
    assert_eq!(
        (
            ast.metadata.namespace.as_deref(),
            ast.metadata.name.as_deref()
        ),
        (Some("prod"), Some("api-ast"))
    );
    assert_eq!(
        ast.metadata.labels.as_ref().unwrap()["thoras.ai/managed-by-template"],
        "prod"
    );
    assert_eq!(
        ast.metadata.owner_references.as_ref().unwrap()[0].kind,
        "Deployment"
    );
    assert_eq!(ast.spec.scale_target_ref.as_ref().unwrap().name, "api");
    let status = templates.get("prod").await.unwrap().status.unwrap();
    assert_eq!(status.conditions[0].type_, "Ready");
    assert_eq!(status.conditions[0].reason, "ReconciliationSucceeded");
    assert_eq!(status.observed_generation, Some(1));
    assert!(
        templates
            .get("prod")
            .await
            .unwrap()
            .metadata
            .finalizers
            .unwrap()
            .contains(&"thoras.ai/template-cleanup".to_string())
    );

    // A resync of unchanged objects writes nothing.
    assert_eq!(reconcile_templates(&c.client).await.unwrap().writes, 0);

    // Label change: the worker starts matching, the api stops.
    let deployments: Api<Deployment> = Api::namespaced(c.client.clone(), "prod");
    deployments
        .patch(
            "worker",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"thoras.ai/enabled": "true"}}})),
        )
        .await
        .unwrap();
    deployments
        .patch(
            "api",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"thoras.ai/enabled": null}}})),
        )
        .await
        .unwrap();
    reconcile_templates(&c.client).await.unwrap();
    let names: Vec<_> = targets(&c)
        .await
        .into_iter()
        .map(|t| t.metadata.name.unwrap())
        .collect();
    assert_eq!(names, ["worker-ast"]);

    // Template update: managed targets follow.
    templates
        .patch(
            "prod",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"spec": {"template": {"model": {"forecast_buffer_percentage": "25%"}}}}),
            ),
        )
        .await
        .unwrap();
    reconcile_templates(&c.client).await.unwrap();
    let t = &targets(&c).await[0];
    assert_eq!(
        serde_json::to_value(&t.spec.model.forecast_buffer_percentage).unwrap(),
        json!("25%")
    );

    // Workload deletion: the target goes with it (owner reference).
    deployments
        .delete("worker", &DeleteParams::background())
        .await
        .unwrap();
    assert!(targets(&c).await.is_empty());

    // Template deletion: the finalizer removes every managed target, then the template goes.
    deploy(&c, "ops", "job", true).await;
    reconcile_templates(&c.client).await.unwrap();
    assert_eq!(targets(&c).await.len(), 1);
    templates
        .delete("prod", &DeleteParams::default())
        .await
        .unwrap();
    reconcile_templates(&c.client).await.unwrap();
    assert!(targets(&c).await.is_empty());
    assert!(templates.get_opt("prod").await.unwrap().is_none());
}

#[tokio::test]
async fn conflicts_skip_or_override_and_included_namespaces() {
    let c = cluster().await;
    deploy(&c, "prod", "api", true).await;
    deploy(&c, "ops", "tool", true).await;
    let manual: AIScaleTarget = serde_json::from_value(json!({
        "apiVersion": "thoras.ai/v1", "kind": "AIScaleTarget",
        "metadata": {"name": "by-hand", "namespace": "prod"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "api"}, "model": {"forecast_blocks": "15m", "forecast_cron": "*/15 * * * *"}}
    }))
    .unwrap();
    Api::<AIScaleTarget>::namespaced(c.client.clone(), "prod")
        .create(&PostParams::default(), &manual)
        .await
        .unwrap();
    let templates: Api<ClusterAIScaleTemplate> = Api::all(c.client.clone());
    templates
        .create(
            &PostParams::default(),
            &template("only-prod", json!({"includedNamespaces": ["prod"]}), "0%"),
        )
        .await
        .unwrap();
    reconcile_templates(&c.client).await.unwrap();
    let all = targets(&c).await;
    assert_eq!(
        all.len(),
        1,
        "skip leaves the hand-made target alone; ops is not included"
    );
    assert!(
        all[0]
            .metadata
            .labels
            .as_ref()
            .is_none_or(|l| !l.contains_key("thoras.ai/managed-by-template"))
    );
    let status = templates.get("only-prod").await.unwrap().status.unwrap();
    assert_eq!(status.skipped_conflicts, 1);
    assert!(
        status.conditions[0].message.contains("skipped"),
        "{}",
        status.conditions[0].message
    );

    templates
        .patch(
            "only-prod",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"policy": {"conflictResolution": "override"}}})),
        )
        .await
        .unwrap();
    reconcile_templates(&c.client).await.unwrap();
    let all = targets(&c).await;
    assert_eq!(all.len(), 1);
    assert_eq!(
        all[0].metadata.labels.as_ref().unwrap()["thoras.ai/managed-by-template"],
        "only-prod"
    );
    assert_eq!(all[0].spec.model.forecast_interval.as_deref(), Some("15m"));
}

#[tokio::test]
async fn pause_follows_seed_002() {
    let c = cluster().await;
    let system = "prod";
    // Missing ConfigMap: not paused.
    assert_eq!(
        read_pause(&c.client, system).await.unwrap(),
        PauseState::RUNNING
    );
    let cms: Api<ConfigMap> = Api::namespaced(c.client.clone(), system);
    let cm = |doc: &str| -> ConfigMap {
        serde_json::from_value(
            json!({"metadata": {"name": SYSTEM_CONFIG_MAP}, "data": {SYSTEM_CONFIG_KEY: doc}}),
        )
        .unwrap()
    };
    cms.create(&PostParams::default(), &cm("scaling-paused: true\n"))
        .await
        .unwrap();
    assert!(read_pause(&c.client, system).await.unwrap().paused);
    cms.replace(
        SYSTEM_CONFIG_MAP,
        &PostParams::default(),
        &cm("scaling-paused: false\n"),
    )
    .await
    .unwrap();
    assert!(!read_pause(&c.client, system).await.unwrap().paused);
    cms.replace(
        SYSTEM_CONFIG_MAP,
        &PostParams::default(),
        &cm("scaling-paused: sometimes\n"),
    )
    .await
    .unwrap();
    let malformed = read_pause(&c.client, system).await.unwrap();
    assert!(!malformed.paused && malformed.problem.is_some());

    // While paused, an autonomous target reports that its apply steps are skipped.
    deploy(&c, "prod", "api", true).await;
    let ast: AIScaleTarget = serde_json::from_value(json!({
        "apiVersion": "thoras.ai/v1", "kind": "AIScaleTarget", "metadata": {"name": "api", "namespace": "prod"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "api"}, "model": {"forecast_blocks": "15m", "forecast_interval": "15m"},
                 "vertical": {"mode": "autonomous", "containers": [{"name": "*", "cpu": {"lowerbound": "10m"}, "memory": {"lowerbound": "10Mi"}}]}}
    }))
    .unwrap();
    let asts: Api<AIScaleTarget> = Api::namespaced(c.client.clone(), "prod");
    asts.create(&PostParams::default(), &ast).await.unwrap();
    let ctx = TargetContext::new(
        c.client.clone(),
        Arc::new(prescale_store::MemoryStore::new()),
    );
    let paused = PauseState {
        paused: true,
        problem: None,
    };
    reconcile_targets(&ctx, &mut TargetMemory::default(), &paused)
        .await
        .unwrap();
    let conditions = asts.get("api").await.unwrap().status.unwrap().conditions;
    let able = conditions
        .iter()
        .find(|c| c.type_ == "AbleToScale")
        .unwrap();
    assert_eq!(
        (able.status.as_str(), able.reason.as_str()),
        ("False", "ScalingPaused")
    );

    // An invalid spec gets ValidSpec=False with the field path, and waits.
    asts.patch(
        "api",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"model": {"forecast_interval": "2h"}}})),
    )
    .await
    .unwrap();
    reconcile_targets(&ctx, &mut TargetMemory::default(), &PauseState::RUNNING)
        .await
        .unwrap();
    let conditions = asts.get("api").await.unwrap().status.unwrap().conditions;
    let valid = conditions.iter().find(|c| c.type_ == "ValidSpec").unwrap();
    assert_eq!(valid.status, "False");
    assert!(
        valid.message.contains("spec.model.forecast_interval"),
        "{}",
        valid.message
    );
}

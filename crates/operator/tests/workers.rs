//! Scale-out: workers sharing one PostgreSQL store split the targets through claims, every
//! target is processed, and a worker that stops is taken over after its claims expire.

mod common;

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, PostParams};
use prescale_operator::pause::PauseState;
use prescale_operator::target::controller::{
    Claims, TargetContext, TargetMemory, reconcile_targets,
};
use prescale_store::PgStore;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_split_targets_and_take_over_from_a_stopped_one() {
    let Some(url) = prescale_store::testing::fresh_database("operator_workers") else {
        return;
    };
    let c = common::cluster_with_deployment("shop", "web0").await;
    let deployments: Api<Deployment> = Api::namespaced(c.client.clone(), "shop");
    for i in 1..4 {
        let d = serde_json::from_value(json!({
            "metadata": {"name": format!("web{i}")},
            "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "x"}},
                     "template": {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "app", "image": "x"}]}}}
        }))
        .unwrap();
        deployments
            .create(&PostParams::default(), &d)
            .await
            .unwrap();
    }
    for i in 0..4 {
        common::target(&c, "shop", &format!("web{i}")).await;
    }
    let store = Arc::new(PgStore::connect(&url, 4).unwrap());
    let ttl = Duration::from_secs(2);
    let worker = |name: &str| TargetContext {
        claims: Some(Arc::new(Claims {
            store: store.clone(),
            worker: name.into(),
            ttl,
        })),
        ..TargetContext::new(c.client.clone(), store.clone())
    };
    let (a, b) = (worker("a"), worker("b"));
    let (mut ma, mut mb) = (TargetMemory::default(), TargetMemory::default());
    let run = PauseState::RUNNING;
    // Round 1: a is alone and takes all; b arrives; a gives back half; b takes it.
    assert_eq!(
        reconcile_targets(&a, &mut ma, &run).await.unwrap().targets,
        4
    );
    assert_eq!(
        reconcile_targets(&b, &mut mb, &run).await.unwrap().targets,
        0
    );
    assert_eq!(
        reconcile_targets(&a, &mut ma, &run).await.unwrap().targets,
        2
    );
    assert_eq!(
        reconcile_targets(&b, &mut mb, &run).await.unwrap().targets,
        2
    );

    let asts: Api<prescale_api::AIScaleTarget> = Api::namespaced(c.client.clone(), "shop");
    for i in 0..4 {
        let status = asts.get(&format!("web{i}")).await.unwrap().status;
        assert!(
            status.is_some_and(|s| !s.conditions.is_empty()),
            "web{i} was processed by one of the workers"
        );
    }
    // b stops; once its claims expire, a processes everything.
    tokio::time::sleep(ttl + Duration::from_millis(500)).await;
    assert_eq!(
        reconcile_targets(&a, &mut ma, &run).await.unwrap().targets,
        4
    );
}

//! The collector end to end against the simulated cluster's metrics.k8s.io and pod status:
//! usage, restarts and replicas reach the store; a metrics outage writes nothing (gaps stay
//! gaps), backs off, and shows in the target's status until collection works again.

mod common;

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, Patch, PatchParams};
use prescale_operator::pause::PauseState;
use prescale_operator::target::controller::{TargetContext, TargetMemory, reconcile_targets};
use prescale_sim::faults::Fault;
use prescale_store::{HistoryStore, MemoryStore, Metric};
use serde_json::json;

fn samples(store: &MemoryStore) -> usize {
    store
        .series()
        .unwrap()
        .iter()
        .map(|k| store.read(k, 0, i64::MAX).unwrap().len())
        .sum()
}

#[tokio::test]
async fn collection_records_usage_and_pod_status_and_rides_out_a_metrics_outage() {
    let c = common::cluster_with_deployment("shop", "web").await;
    let asts = common::target(&c, "shop", "web").await;
    let store = Arc::new(MemoryStore::new());
    // Collect on every pass: the test's passes stand for collection intervals.
    let ctx = TargetContext {
        collect_interval: Duration::ZERO,
        ..TargetContext::new(c.client.clone(), store.clone())
    };
    let mut memory = TargetMemory::default();
    let metrics_condition = || async {
        let status = asts.get("web").await.unwrap().status.unwrap();
        let c = status
            .conditions
            .into_iter()
            .find(|c| c.type_ == "MetricsAvailable")
            .unwrap();
        (c.status, c.message)
    };

    reconcile_targets(&ctx, &mut memory, &PauseState::RUNNING)
        .await
        .unwrap();
    let metrics: Vec<Metric> = store.series().unwrap().iter().map(|k| k.metric).collect();
    for m in [
        Metric::Cpu,
        Metric::Memory,
        Metric::Restarts,
        Metric::OomKills,
        Metric::Replicas,
    ] {
        assert!(metrics.contains(&m), "{m:?} missing from {metrics:?}");
    }
    let replicas = store
        .series()
        .unwrap()
        .into_iter()
        .find(|k| k.metric == Metric::Replicas)
        .unwrap();
    assert_eq!(store.read(&replicas, 0, i64::MAX).unwrap()[0].1, 2.0);
    assert_eq!(metrics_condition().await.0, "True");
    let before = samples(&store);

    // metrics-server down: every list of pod metrics fails.
    c.sim.set_faults(vec![Fault {
        resource: Some("pods".into()),
        verb: Some("list".into()),
        error_rate: 1.0,
        error_code: 500,
        ..Fault::default()
    }]);
    common::tick(&c, 2).await;
    reconcile_targets(&ctx, &mut memory, &PauseState::RUNNING)
        .await
        .unwrap();
    let (status, message) = metrics_condition().await;
    assert_eq!(status, "False");
    assert!(
        message.contains("pod metrics") && message.contains("backoff"),
        "{message}"
    );
    assert_eq!(
        samples(&store),
        before,
        "nothing is written during the outage"
    );

    // Back up, but within the backoff nothing is tried; after it, collection resumes.
    c.sim.set_faults(vec![]);
    reconcile_targets(&ctx, &mut memory, &PauseState::RUNNING)
        .await
        .unwrap();
    assert_eq!(
        samples(&store),
        before,
        "the backoff holds the next attempt"
    );
    tokio::time::sleep(Duration::from_millis(5_100)).await;
    common::tick(&c, 1).await;
    reconcile_targets(&ctx, &mut memory, &PauseState::RUNNING)
        .await
        .unwrap();
    assert_eq!(metrics_condition().await.0, "True");
    assert!(samples(&store) > before);
    let cpu = store
        .series()
        .unwrap()
        .into_iter()
        .find(|k| k.metric == Metric::Cpu)
        .unwrap();
    let times: Vec<i64> = store
        .read(&cpu, 0, i64::MAX)
        .unwrap()
        .iter()
        .map(|s| s.0)
        .collect();
    assert_eq!(
        times.len(),
        2,
        "one sample before and one after: the gap stays a gap"
    );
    assert!(times[1] - times[0] >= 45, "{times:?}");

    // A memory limit below the working set: the sim OOM-kills the new pods' container.
    Api::<Deployment>::namespaced(c.client.clone(), "shop")
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"template": {"spec": {"containers": [
                {"name": "app", "image": "x", "resources": {
                    "requests": {"cpu": "500m", "memory": "256Mi"}, "limits": {"memory": "100Mi"}}}]}}}})),
        )
        .await
        .unwrap();
    common::tick(&c, 8).await;
    let pass = reconcile_targets(&ctx, &mut memory, &PauseState::RUNNING)
        .await
        .unwrap();
    assert!(pass.oom_kills >= 1, "{pass:?}");
    let again = reconcile_targets(&ctx, &mut memory, &PauseState::RUNNING)
        .await
        .unwrap();
    assert_eq!(again.oom_kills, 0, "a kill is counted once");
    let status = asts.get("web").await.unwrap().status.unwrap();
    assert_eq!(status.oom_killed_containers, vec!["app".to_string()]);
    assert!(status.last_oom_time.is_some());

    // Unenrolling (deleting the target) discards the workload's history (seed 002).
    asts.delete("web", &Default::default()).await.unwrap();
    reconcile_targets(&ctx, &mut memory, &PauseState::RUNNING)
        .await
        .unwrap();
    assert!(store.series().unwrap().is_empty());
}

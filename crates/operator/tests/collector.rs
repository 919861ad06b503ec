//! The collector end to end against the simulated cluster's metrics.k8s.io and pod status,
//! through a running operator: usage, restarts and replicas reach the store; a metrics
//! outage writes nothing (gaps stay gaps), backs off, and shows in the target's status
//! until collection works again; OOM kills are reported; unenrolling discards history.

mod common;

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, Patch, PatchParams, PostParams};
use prescale_api::AIScaleTarget;
use prescale_sim::faults::Fault;
use prescale_store::{HistoryStore, MemoryStore, Metric};
use serde_json::json;

use common::env::{TestEnv, eventually};

fn samples(store: &MemoryStore) -> usize {
    store
        .series()
        .unwrap()
        .iter()
        .map(|k| store.read(k, 0, i64::MAX).unwrap().len())
        .sum()
}

async fn metrics_condition(asts: &Api<AIScaleTarget>) -> Result<(String, String, String), String> {
    let t = asts.get("web").await.map_err(|e| e.to_string())?;
    t.status
        .and_then(|s| {
            s.conditions
                .into_iter()
                .find(|c| c.type_ == "MetricsAvailable")
        })
        .map(|c| (c.status, c.reason, c.message))
        .ok_or_else(|| "no MetricsAvailable condition yet".to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collection_records_usage_and_pod_status_and_rides_out_a_metrics_outage() {
    let env = TestEnv::sim("collector", &["shop"]).await;
    env.deploy("shop", "web", false).await;
    let asts: Api<AIScaleTarget> = Api::namespaced(env.admin.clone(), "shop");
    let ast: AIScaleTarget = serde_json::from_value(json!({
        "apiVersion": "thoras.ai/v1", "kind": "AIScaleTarget", "metadata": {"name": "web"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
                 "model": {"forecast_blocks": "15m", "forecast_interval": "15m"}}
    }))
    .unwrap();
    asts.create(&PostParams::default(), &ast).await.unwrap();
    let store = Arc::new(MemoryStore::new());
    let operator = env.start_operator(store.clone());

    eventually("usage and pod status are recorded", 90, || async {
        let metrics: Vec<Metric> = store.series().unwrap().iter().map(|k| k.metric).collect();
        let all = [
            Metric::Cpu,
            Metric::Memory,
            Metric::Restarts,
            Metric::OomKills,
            Metric::Replicas,
        ];
        all.iter()
            .all(|m| metrics.contains(m))
            .then_some(())
            .ok_or_else(|| format!("{metrics:?}"))
    })
    .await;
    let replicas = store
        .series()
        .unwrap()
        .into_iter()
        .find(|k| k.metric == Metric::Replicas)
        .unwrap();
    // Replicas count Ready pods: a collection before the pod turned Ready records 0.
    eventually("the Ready pod is counted", 90, || async {
        let samples = store.read(&replicas, 0, i64::MAX).unwrap();
        (samples.last().map(|s| s.1) == Some(1.0))
            .then_some(())
            .ok_or_else(|| format!("{samples:?}"))
    })
    .await;
    eventually("metrics are available", 90, || async {
        let (status, ..) = metrics_condition(&asts).await?;
        (status == "True").then_some(()).ok_or(status)
    })
    .await;

    // metrics-server down: every list of pod metrics fails.
    env.set_faults(vec![Fault {
        resource: Some("pods".into()),
        verb: Some("list".into()),
        error_rate: 1.0,
        error_code: 500,
        ..Fault::default()
    }]);
    let (_, reason, message) = eventually("the outage is reported", 90, || async {
        let m = metrics_condition(&asts).await?;
        (m.0 == "False")
            .then_some(m.clone())
            .ok_or(format!("{m:?}"))
    })
    .await;
    assert_eq!(reason, "MetricsUnavailable");
    assert!(
        message.contains("pod metrics") && message.contains("backoff"),
        "{message}"
    );
    let before = samples(&store);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        samples(&store),
        before,
        "nothing is written during the outage"
    );

    // Back up: after the backoff, collection resumes, and the gap stays a gap.
    env.set_faults(vec![]);
    eventually("collection resumes", 90, || async {
        let (status, ..) = metrics_condition(&asts).await?;
        (status == "True" && samples(&store) > before)
            .then_some(())
            .ok_or(status)
    })
    .await;
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
    let widest = times.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
    assert!(
        widest >= 200,
        "a gap of at least the 2 s outage at 120x: {times:?}"
    );

    // A memory limit below the working set: the sim OOM-kills the new pods' container.
    Api::<Deployment>::namespaced(env.admin.clone(), "shop")
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"template": {"spec": {"containers": [
                {"name": "app", "image": "x", "resources": {
                    "requests": {"cpu": "200m", "memory": "128Mi"}, "limits": {"memory": "20Mi"}}}]}}}})),
        )
        .await
        .unwrap();
    eventually("the OOM kill is reported", 90, || async {
        let s = asts
            .get("web")
            .await
            .map_err(|e| e.to_string())?
            .status
            .unwrap_or_default();
        (s.oom_killed_containers == ["app"] && s.last_oom_time.is_some())
            .then_some(())
            .ok_or(format!(
                "{:?} {:?}",
                s.oom_killed_containers, s.last_oom_time
            ))
    })
    .await;

    // Unenrolling (deleting the target) discards the workload's history (seed 002).
    asts.delete("web", &Default::default()).await.unwrap();
    eventually("the history is discarded", 90, || async {
        let held = store.series().unwrap();
        held.is_empty().then_some(()).ok_or(format!("{held:?}"))
    })
    .await;
    operator.stop().await;
}

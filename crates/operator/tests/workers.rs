//! Scale-out: an operator and a worker sharing one PostgreSQL store split the targets
//! through claims, every target is processed, and the targets of a worker that stops are
//! taken over once its claims expire.

mod common;

use std::sync::Arc;
use std::time::Duration;

use kube::api::{Api, Patch, PatchParams, PostParams};
use prescale_api::AIScaleTarget;
use prescale_operator::target::claims::Claims;
use prescale_store::PgStore;
use serde_json::json;

use common::env::{TestEnv, eventually};

/// Waits until every target has observed `generation`.
async fn all_observe(asts: &Api<AIScaleTarget>, generation: i64, what: &str) {
    eventually(what, 90, || async {
        let mut behind = vec![];
        for t in asts
            .list(&Default::default())
            .await
            .map_err(|e| e.to_string())?
            .items
        {
            let observed = t.status.and_then(|s| s.observed_generation);
            if observed != Some(generation) {
                behind.push(format!("{:?}: {observed:?}", t.metadata.name));
            }
        }
        behind.is_empty().then_some(()).ok_or(format!("{behind:?}"))
    })
    .await;
}

fn free_addr() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// `prescale_reconciles_total{controller="target"}` of the process serving `addr`.
async fn target_reconciles(addr: std::net::SocketAddr) -> u64 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await else {
        return 0;
    };
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
        .lines()
        .find(|l| l.starts_with("prescale_reconciles_total{controller=\"target\"}"))
        .and_then(|l| l.split_whitespace().last()?.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_split_targets_and_take_over_from_a_stopped_one() {
    let Some(url) = prescale_store::testing::fresh_database("operator_workers") else {
        return;
    };
    let env = TestEnv::sim("workers", &["shop"]).await;
    let asts: Api<AIScaleTarget> = Api::namespaced(env.admin.clone(), "shop");
    for i in 0..6 {
        let name = format!("web{i}");
        env.deploy("shop", &name, false).await;
        let ast: AIScaleTarget = serde_json::from_value(json!({
            "apiVersion": "thoras.ai/v1", "kind": "AIScaleTarget", "metadata": {"name": name},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": name},
                     "model": {"forecast_blocks": "15m", "forecast_interval": "15m"}}
        }))
        .unwrap();
        asts.create(&PostParams::default(), &ast).await.unwrap();
    }
    let store = Arc::new(PgStore::connect(&url, 4).unwrap());
    let ttl = Duration::from_secs(3);
    let claims = |worker: &str| {
        Some(Arc::new(Claims {
            store: store.clone(),
            worker: worker.into(),
            ttl,
        }))
    };
    let (operator_addr, worker_addr) = (free_addr(), free_addr());
    let operator = env.start_operator_with(store.clone(), |c| {
        c.claims = claims("operator");
        c.metrics_addr = Some(operator_addr);
    });
    let worker = env.start_operator_with(store.clone(), |c| {
        c.claims = claims("worker");
        c.worker_only = true;
        c.metrics_addr = Some(worker_addr);
    });
    all_observe(&asts, 1, "every target is processed by one of them").await;
    // Each reconciles only the targets it claims: both have reconciled some.
    eventually("the targets are split", 60, || async {
        let (a, b) = (
            target_reconciles(operator_addr).await,
            target_reconciles(worker_addr).await,
        );
        (a > 0 && b > 0)
            .then_some(())
            .ok_or(format!("operator {a}, worker {b} reconciles"))
    })
    .await;

    // The worker stops without giving its claims back (a crash): once they expire the
    // operator processes every target, as a spec change of each shows.
    drop(worker);
    for i in 0..6 {
        asts.patch(
            &format!("web{i}"),
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"model": {"forecast_buffer_percentage": "20%"}}})),
        )
        .await
        .unwrap();
    }
    all_observe(
        &asts,
        2,
        "the operator takes the stopped worker's targets over",
    )
    .await;
    operator.stop().await;
}

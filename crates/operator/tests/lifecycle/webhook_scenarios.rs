//! The admission webhooks, registered by URL (`--webhook-url https://127.0.0.1:PORT`) by
//! an operator running outside the cluster, on both clusters: the configurations are
//! accepted with the caBundle the operator issued (a broken certificate Secret found at
//! start is replaced); an AIScaleTarget with an invalid cron is refused at create with the
//! field path; pods made by the cluster's own ReplicaSet controller pass through the pod
//! webhook (its metrics count them); with the operator stopped, pods are still created
//! (failurePolicy Ignore).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ValidatingWebhookConfiguration,
};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use prescale_api::AIScaleTarget;
use prescale_operator::webhook::configs::configuration_name;
use prescale_operator::webhook::{CERT_SECRET, CertSource, WebhookConfig};
use prescale_store::MemoryStore;
use serde_json::json;

use crate::common::env::{TestEnv, eventually};

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The `prescale_webhook_requests_total` and `prescale_webhook_errors_total` lines of
/// the metrics endpoint (what the webhooks answered, and how).
pub async fn webhook_outcomes(metrics: SocketAddr) -> Result<Vec<String>, String> {
    let text = reqwest::get(format!("http://{metrics}/metrics"))
        .await
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    Ok(text
        .lines()
        .filter(|l| {
            l.starts_with("prescale_webhook_requests_total{")
                || l.starts_with("prescale_webhook_errors_total{")
        })
        .map(String::from)
        .collect())
}

/// The sum of `prescale_webhook_requests_total{webhook="pods"}` on the metrics endpoint.
pub async fn pod_reviews(metrics: SocketAddr) -> Result<u64, String> {
    Ok(webhook_outcomes(metrics)
        .await?
        .iter()
        .filter(|l| {
            l.starts_with("prescale_webhook_requests_total{") && l.contains("webhook=\"pods\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum())
}

async fn pods_of(env: &TestEnv, ns: &str) -> usize {
    Api::<Pod>::namespaced(env.admin.clone(), ns)
        .list(&ListParams::default().labels("app=web"))
        .await
        .map(|l| l.items.len())
        .unwrap_or(0)
}

pub async fn scale(env: &TestEnv, ns: &str, name: &str, replicas: i32) {
    Api::<Deployment>::namespaced(env.admin.clone(), ns)
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": replicas}})),
        )
        .await
        .unwrap();
}

/// The webhooks of an operator outside the cluster: listening on 127.0.0.1:`port` and
/// registered by that URL, with the operator's own certificates.
pub fn by_url(port: u16) -> WebhookConfig {
    WebhookConfig {
        listen: format!("127.0.0.1:{port}").parse().unwrap(),
        certs: CertSource::SelfSigned,
        url: Some(format!("https://127.0.0.1:{port}")),
        service: prescale_operator::install::APP.into(),
        refresh: Duration::from_secs(600),
    }
}

/// Waits until both configurations of the test's operator are registered with a
/// caBundle; returns their APIs and name (for the clean-up).
pub async fn registered(
    env: &TestEnv,
) -> (
    Api<MutatingWebhookConfiguration>,
    Api<ValidatingWebhookConfiguration>,
    String,
) {
    let name = configuration_name(&env.system_ns);
    let mutating = Api::<MutatingWebhookConfiguration>::all(env.admin.clone());
    let validating = Api::<ValidatingWebhookConfiguration>::all(env.admin.clone());
    eventually(
        "both configurations registered with a caBundle",
        90,
        || async {
            let m = mutating.get(&name).await.map_err(|e| e.to_string())?;
            let v = validating.get(&name).await.map_err(|e| e.to_string())?;
            let bundle = |c: Option<&ByteString>| c.is_some_and(|b| !b.0.is_empty());
            let hooks_ok = m
                .webhooks
                .iter()
                .flatten()
                .all(|w| bundle(w.client_config.ca_bundle.as_ref()))
                && v.webhooks
                    .iter()
                    .flatten()
                    .all(|w| bundle(w.client_config.ca_bundle.as_ref()));
            hooks_ok.then_some(()).ok_or("no caBundle yet".to_string())
        },
    )
    .await;
    (mutating, validating, name)
}

pub async fn admission_webhooks(env: &TestEnv) {
    let ns = env.ns("prod");
    // A Secret left broken (by hand, or a failed write): the operator replaces it.
    let broken = Secret {
        metadata: kube::api::ObjectMeta {
            name: Some(CERT_SECRET.into()),
            ..Default::default()
        },
        data: Some(
            [(
                "tls.crt".to_string(),
                ByteString(b"not a certificate".to_vec()),
            )]
            .into(),
        ),
        ..Default::default()
    };
    Api::<Secret>::namespaced(env.admin.clone(), &env.system_ns)
        .create(&PostParams::default(), &broken)
        .await
        .unwrap();
    let metrics: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let operator = env.start_operator_with(Arc::new(MemoryStore::new()), |c| {
        c.metrics_addr = Some(metrics);
        c.webhook = Some(by_url(free_port()));
    });
    let (mutating, validating, name) = registered(env).await;

    // Refused at create, by path: a rule CEL cannot express (cron syntax).
    let asts: Api<AIScaleTarget> = Api::namespaced(env.admin.clone(), ns);
    let bad: AIScaleTarget = serde_json::from_value(json!({
        "apiVersion": "thoras.ai/v1", "kind": "AIScaleTarget", "metadata": {"name": "bad"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
                 "model": {"forecast_cron": "every tuesday"}},
    }))
    .unwrap();
    let refused = eventually("the invalid target refused", 30, || async {
        match asts.create(&PostParams::default(), &bad).await {
            Err(kube::Error::Api(e)) => Ok(e.message),
            Ok(_) => {
                let _ = asts.delete("bad", &DeleteParams::default()).await;
                Err("accepted (webhook not called yet?)".to_string())
            }
            Err(e) => Err(e.to_string()),
        }
    })
    .await;
    assert!(refused.contains("spec.model.forecast_cron"), "{refused}");

    // Pods of the cluster's own ReplicaSet controller go through the pod webhook.
    env.deploy(ns, "web", false).await;
    let good: AIScaleTarget = serde_json::from_value(json!({
        "apiVersion": "thoras.ai/v1", "kind": "AIScaleTarget", "metadata": {"name": "web"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
                 "model": {"forecast_blocks": "15m", "forecast_interval": "15m"},
                 "vertical": {"mode": "autonomous", "containers": [{"name": "app",
                     "cpu": {"lowerbound": "50m"}, "memory": {"lowerbound": "64Mi"}}]}},
    }))
    .unwrap();
    asts.create(&PostParams::default(), &good).await.unwrap();
    scale(env, ns, "web", 2).await;
    eventually("pod admissions counted", 90, || async {
        let n = pod_reviews(metrics).await?;
        (n >= 2)
            .then_some(n)
            .ok_or(format!("{n} pod reviews so far"))
    })
    .await;

    // The operator gone, the configurations still there: pods are still created.
    drop(operator);
    scale(env, ns, "web", 3).await;
    eventually("a pod created with the webhook down", 60, || async {
        let n = pods_of(env, ns).await;
        (n >= 3).then_some(()).ok_or(format!("{n} pods"))
    })
    .await;
    let _ = mutating.delete(&name, &DeleteParams::default()).await;
    let _ = validating.delete(&name, &DeleteParams::default()).await;
}

//! The pod webhook on the simulated cluster (which calls it over HTTPS, trusting only the
//! caBundle): a Deployment of an autonomous target in `update_mode: initial` — applied
//! through the webhook alone — scaled up gets new pods with the recommended requests while
//! its own template (and its running pod) stay as they were; a Deployment of a
//! recommendation-mode target gets pods with the controller's own requests, and so does
//! the autonomous one while the system-wide pause is on.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use prescale_api::AIScaleTarget;
use prescale_api::quantity::{Quantity, parse};
use prescale_operator::pause::{SYSTEM_CONFIG_KEY, SYSTEM_CONFIG_MAP};
use prescale_operator::webhook::pod::{ADMITTED_RESOURCES, ADMITTED_SUGGESTION};
use prescale_store::MemoryStore;
use serde_json::json;

use crate::autonomous::backfill;
use crate::common::env::{TestEnv, eventually};
use crate::webhook_scenarios::{by_url, free_port, registered, scale, webhook_outcomes};

/// The template's requests (`TestEnv::deploy`).
const TEMPLATE: (&str, &str) = ("200m", "128Mi");

fn target(name: &str, mode: &str) -> AIScaleTarget {
    serde_json::from_value(json!({
        "apiVersion": "thoras.ai/v1", "kind": "AIScaleTarget", "metadata": {"name": name},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": name},
            "model": {"forecast_blocks": "15m", "forecast_interval": "15m", "min_lookback_to_scale": "1h"},
            "vertical": {"mode": mode, "update_policy": {"update_mode": "initial"},
                "containers": [{"name": "app", "cpu": {"lowerbound": "10m"}, "memory": {"lowerbound": "16Mi"}}]}},
    }))
    .unwrap()
}

/// The app container's requests (cpu, memory).
fn requests(p: &Pod) -> (Quantity, Quantity) {
    let r = p.spec.as_ref().unwrap().containers[0]
        .resources
        .clone()
        .unwrap_or_default()
        .requests
        .unwrap_or_default();
    let q = |k: &str| parse(&r[k].0).unwrap();
    (q("cpu"), q("memory"))
}

/// Whole bytes, rounded up (as the API server stores memory).
fn bytes_ceil(q: Quantity) -> i128 {
    -(-q.nanos()).div_euclid(1_000_000_000)
}

fn template_requests() -> (Quantity, Quantity) {
    (parse(TEMPLATE.0).unwrap(), parse(TEMPLATE.1).unwrap())
}

async fn pods(env: &TestEnv, ns: &str, app: &str, n: usize) -> Vec<Pod> {
    let api: Api<Pod> = Api::namespaced(env.admin.clone(), ns);
    eventually(&format!("{n} pods of {app}"), 90, || async {
        let all = api
            .list(&ListParams::default().labels(&format!("app={app}")))
            .await
            .map_err(|e| e.to_string())?
            .items;
        (all.len() == n)
            .then_some(all.clone())
            .ok_or(format!("{} pods", all.len()))
    })
    .await
}

/// The suggestion of target `name` once it may scale: (id, cpu, memory).
async fn suggestion(asts: &Api<AIScaleTarget>, name: &str) -> (String, Quantity, Quantity) {
    eventually(
        &format!("{name}: a suggestion with enough data"),
        120,
        || async {
            let t = asts.get(name).await.map_err(|e| e.to_string())?;
            let s = t
                .status
                .and_then(|s| s.suggestion)
                .filter(|s| s.has_enough_data_to_scale)
                .ok_or("no suggestion with enough data yet")?;
            let c = s.containers.first().ok_or("no container")?;
            let q = |v: &Option<String>| parse(v.as_deref().unwrap_or_default()).ok();
            Ok((
                s.id.clone(),
                q(&c.cpu).ok_or("cpu")?,
                q(&c.memory).ok_or("memory")?,
            ))
        },
    )
    .await
}

pub async fn new_pods_start_with_the_recommendation(env: &TestEnv) {
    let ns = env.ns("prod");
    env.deploy(ns, "web", false).await;
    env.deploy(ns, "rec", false).await;
    let original = pods(env, ns, "web", 1).await;
    let store = Arc::new(MemoryStore::new());
    let now = env.sim.as_ref().unwrap().sim.clock.now().as_second();
    backfill(&store, ns, "web", now);
    backfill(&store, ns, "rec", now);
    let asts: Api<AIScaleTarget> = Api::namespaced(env.admin.clone(), ns);
    for t in [target("web", "autonomous"), target("rec", "recommendation")] {
        asts.create(&PostParams::default(), &t).await.unwrap();
    }
    let metrics: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let operator = env.start_operator_with(store, |c| {
        c.metrics_addr = Some(metrics);
        c.webhook = Some(by_url(free_port()));
    });
    let (mutating, validating, name) = registered(env).await;
    let (id, cpu, memory) = suggestion(&asts, "web").await;
    suggestion(&asts, "rec").await;
    let deployments: Api<Deployment> = Api::namespaced(env.admin.clone(), ns);
    let template = |d: Deployment| serde_json::to_value(d.spec.unwrap().template).unwrap();
    let web_template = template(deployments.get("web").await.unwrap());

    scale(env, ns, "web", 3).await;
    scale(env, ns, "rec", 3).await;
    let web = pods(env, ns, "web", 3).await;
    let outcomes = webhook_outcomes(metrics).await;
    for p in &web {
        let annotations = p.metadata.annotations.clone().unwrap_or_default();
        if p.metadata.uid == original[0].metadata.uid {
            assert_eq!(
                requests(p),
                template_requests(),
                "a running pod is not touched"
            );
            continue;
        }
        let (got_cpu, got_memory) = requests(p);
        assert_eq!(
            got_cpu.millis_ceil(),
            cpu.millis_ceil(),
            "new pod {}: cpu request is the suggestion's; webhook outcomes {outcomes:?}",
            serde_json::to_string(&p).unwrap()
        );
        assert_eq!(
            bytes_ceil(got_memory),
            bytes_ceil(memory),
            "new pod {:?}: memory request is the suggestion's",
            p.metadata.name
        );
        assert_eq!(annotations[ADMITTED_SUGGESTION], format!("web/{id}"));
        assert!(
            annotations[ADMITTED_RESOURCES].contains(TEMPLATE.0),
            "what the template asked is recorded: {}",
            annotations[ADMITTED_RESOURCES]
        );
    }
    assert_eq!(
        template(deployments.get("web").await.unwrap()),
        web_template,
        "the Deployment's own template is never changed"
    );
    for p in pods(env, ns, "rec", 3).await {
        assert_eq!(requests(&p), template_requests(), "recommendation mode");
        let annotations = p.metadata.annotations.unwrap_or_default();
        assert!(!annotations.contains_key(ADMITTED_SUGGESTION));
    }

    // The system-wide pause: the autonomous target's new pods keep the template's requests.
    let cms: Api<ConfigMap> = Api::namespaced(env.admin.clone(), &env.system_ns);
    let pause: ConfigMap = serde_json::from_value(json!({"metadata": {"name": SYSTEM_CONFIG_MAP},
        "data": {SYSTEM_CONFIG_KEY: "scaling-paused: true\n"}}))
    .unwrap();
    cms.create(&PostParams::default(), &pause).await.unwrap();
    eventually("the pause is seen", 60, || async {
        let t = asts.get("web").await.map_err(|e| e.to_string())?;
        t.status
            .and_then(|s| s.conditions.into_iter().find(|c| c.type_ == "AbleToScale"))
            .filter(|c| c.reason == "ScalingPaused")
            .map(|_| ())
            .ok_or("not paused yet".to_string())
    })
    .await;
    let before: Vec<_> = web.iter().filter_map(|p| p.metadata.uid.clone()).collect();
    scale(env, ns, "web", 4).await;
    let added: Vec<Pod> = pods(env, ns, "web", 4)
        .await
        .into_iter()
        .filter(|p| p.metadata.uid.as_ref().is_none_or(|u| !before.contains(u)))
        .collect();
    assert_eq!(added.len(), 1);
    assert_eq!(requests(&added[0]), template_requests(), "paused");

    operator.stop().await;
    let _ = mutating.delete(&name, &DeleteParams::default()).await;
    let _ = validating.delete(&name, &DeleteParams::default()).await;
}

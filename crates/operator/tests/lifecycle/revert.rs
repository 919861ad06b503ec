//! Seed 002's revert through the running operator. `revert_finalizer` runs on both
//! clusters (the real server checks the finalizer's requests and RBAC): an autonomous
//! target gets the `thoras.ai/revert` finalizer, loses it in recommendation mode when
//! nothing needs reverting, and a deleted one goes. `revert_restarts` (simulated cluster:
//! pods that run and get resized) switches a target whose pods were resized in place to
//! recommendation mode, then deletes it: each time the Deployment is restarted once, with
//! a new token, and its pods come back with the Deployment's own requests.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use prescale_api::AIScaleTarget;
use prescale_api::defaults::TARGET_FINALIZER;
use prescale_operator::actuate::restart::RESTART_ANNOTATION;
use prescale_store::MemoryStore;
use serde_json::{Value, json};

use crate::autonomous::{able, backfill, ready, resources};
use crate::common::env::{TestEnv, eventually};

const PATIENCE: u64 = 120;

/// The messages of the Events with `reason` in namespace `ns`.
pub(crate) async fn events(env: &TestEnv, ns: &str, reason: &str) -> Vec<String> {
    Api::<Event>::namespaced(env.admin.clone(), ns)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some(reason))
        .filter_map(|e| e.message)
        .collect()
}

/// The token of a `Restarted` Event's message (`… with token T (why)`).
pub(crate) fn token_of(message: &str) -> String {
    message
        .split(" with token ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_default()
        .to_string()
}

/// Fails when a restart token was issued twice (two `Restarted` Events for one workload
/// and token); returns the Events.
pub(crate) async fn restarts_once(env: &TestEnv, ns: &str) -> Vec<String> {
    let restarted = events(env, ns, "Restarted").await;
    let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
    for m in &restarted {
        let workload = m.split(' ').nth(1).unwrap_or_default().to_string();
        *seen.entry((workload, token_of(m))).or_default() += 1;
    }
    for (key, n) in &seen {
        assert_eq!(*n, 1, "restart {key:?} issued {n} times: {restarted:#?}");
    }
    restarted
}

/// Target `web` of Deployment `web`, forecasting once `lookback` of history is held.
fn target(ns: &str, mode: &str, lookback: &str) -> AIScaleTarget {
    serde_json::from_value(json!({
        "apiVersion": "thoras.ai/v1", "kind": "AIScaleTarget",
        "metadata": {"name": "web", "namespace": ns},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
            "model": {"forecast_blocks": "15m", "forecast_interval": "15m", "min_lookback_to_scale": lookback},
            "vertical": {"mode": mode,
                "update_policy": {"update_mode": "in_place_or_recreate", "recreate_resources": []},
                "containers": [{"name": "*", "cpu": {"lowerbound": "10m"}, "memory": {"lowerbound": "16Mi"}}]}}
    }))
    .unwrap()
}

async fn set_mode(asts: &Api<AIScaleTarget>, mode: &str) {
    asts.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"vertical": {"mode": mode}}})),
    )
    .await
    .unwrap();
}

async fn finalizer_is(asts: &Api<AIScaleTarget>, present: bool) {
    let what = if present {
        "the finalizer is added"
    } else {
        "the finalizer is removed"
    };
    eventually(what, PATIENCE, || async {
        let t = asts.get("web").await.map_err(|e| e.to_string())?;
        let has = t.finalizers().iter().any(|f| f == TARGET_FINALIZER);
        (has == present).then_some(()).ok_or(format!(
            "finalizers {:?}, {:?}",
            t.finalizers(),
            able(&t)
        ))
    })
    .await;
}

async fn gone(asts: &Api<AIScaleTarget>) {
    eventually("the deleted target goes", PATIENCE, || async {
        match asts.get_opt("web").await.map_err(|e| e.to_string())? {
            None => Ok(()),
            Some(t) => Err(format!("still there: {:?} {:?}", t.finalizers(), able(&t))),
        }
    })
    .await;
}

/// The finalizer's life on a target whose pods were never changed.
pub async fn revert_finalizer(env: &TestEnv) {
    let prod = env.ns("prod");
    env.deploy(prod, "web", false).await;
    let asts: Api<AIScaleTarget> = Api::namespaced(env.admin.clone(), prod);
    // Never enough history to scale: nothing is applied, so nothing needs reverting.
    asts.create(&PostParams::default(), &target(prod, "autonomous", "720h"))
        .await
        .unwrap();
    let operator = env.start_operator(Arc::new(MemoryStore::new()));
    finalizer_is(&asts, true).await;
    // Nothing to revert: the finalizer goes, nothing is restarted.
    set_mode(&asts, "recommendation").await;
    finalizer_is(&asts, false).await;
    // Autonomous again, then deleted: the finalizer comes back, and lets the target go.
    set_mode(&asts, "autonomous").await;
    finalizer_is(&asts, true).await;
    asts.delete("web", &DeleteParams::default()).await.unwrap();
    gone(&asts).await;
    assert!(
        events(env, prod, "Restarted").await.is_empty(),
        "pods prescale never changed are never restarted"
    );
    let d = Api::<Deployment>::namespaced(env.admin.clone(), prod)
        .get("web")
        .await
        .unwrap();
    let annotations = d.spec.unwrap().template.metadata.unwrap().annotations;
    assert!(annotations.is_none_or(|a| !a.contains_key(RESTART_ANNOTATION)));
    operator.stop().await;
}

const REPLICAS: usize = 3;

/// The Deployment's restart token now.
async fn template_token(deployments: &Api<Deployment>) -> Option<String> {
    deployments
        .get("web")
        .await
        .unwrap()
        .spec
        .and_then(|s| s.template.metadata)
        .and_then(|m| m.annotations)
        .and_then(|a| a.get(RESTART_ANNOTATION).cloned())
}

/// Waits until every one of `REPLICAS` Ready pods runs `want(cpu)`, checking at every
/// poll that no restart token was issued twice.
async fn pods_until(env: &TestEnv, ns: &str, what: &str, want: impl Fn(&str) -> bool) {
    let pods: Api<Pod> = Api::namespaced(env.admin.clone(), ns);
    eventually(what, PATIENCE, || async {
        restarts_once(env, ns).await;
        let all = pods
            .list(&ListParams::default().labels("app=web"))
            .await
            .map_err(|e| e.to_string())?
            .items;
        let live: Vec<&Pod> = all
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .collect();
        let at: Vec<_> = live.iter().map(|p| resources(p)).collect();
        (live.len() == REPLICAS
            && live.iter().all(|p| ready(p))
            && at
                .iter()
                .all(|(cpu, _, running)| want(cpu) && want(running)))
        .then_some(())
        .ok_or(format!("pods {at:?}"))
    })
    .await;
}

/// Mode switch and deletion revert pods resized in place, each through one restart.
pub async fn revert_restarts(env: &TestEnv) {
    let prod = env.ns("prod");
    let deployments = crate::autonomous::create_web(env, prod, REPLICAS).await;
    let store = Arc::new(MemoryStore::new());
    let now = env.sim.as_ref().unwrap().sim.clock.now().as_second();
    backfill(&store, prod, "web", now);
    let asts: Api<AIScaleTarget> = Api::namespaced(env.admin.clone(), prod);
    asts.create(&PostParams::default(), &target(prod, "autonomous", "1h"))
        .await
        .unwrap();
    let operator = env.start_operator(store.clone());
    let own = |cpu: &str| cpu == "200m";
    pods_until(env, prod, "the pods are resized in place", |cpu| !own(cpu)).await;
    finalizer_is(&asts, true).await;
    assert!(template_token(&deployments).await.is_none());

    // Recommendation mode: one restart, the pods come back with the Deployment's own
    // requests, and the finalizer goes.
    set_mode(&asts, "recommendation").await;
    pods_until(env, prod, "the mode switch reverts the pods", own).await;
    finalizer_is(&asts, false).await;
    let first = template_token(&deployments).await.expect("restarted");
    assert!(first.starts_with("revert-"), "{first}");
    let restarted = restarts_once(env, prod).await;
    assert_eq!(restarted.len(), 1, "{restarted:#?}");
    assert!(restarted[0].contains("left autonomous"), "{}", restarted[0]);
    let t = asts.get("web").await.unwrap();
    assert_eq!(able(&t).0, "RecommendationMode");

    // Autonomous again, resized again, then deleted: a second restart with a new token,
    // before the target goes.
    set_mode(&asts, "autonomous").await;
    pods_until(env, prod, "the pods are resized again", |cpu| !own(cpu)).await;
    finalizer_is(&asts, true).await;
    asts.delete("web", &DeleteParams::default()).await.unwrap();
    gone(&asts).await;
    let second = template_token(&deployments).await.expect("restarted");
    assert_ne!(first, second, "a new revert has a new token");
    pods_until(env, prod, "the deletion reverts the pods", own).await;
    let restarted = restarts_once(env, prod).await;
    assert_eq!(restarted.len(), 2, "{restarted:#?}");
    assert!(
        restarted
            .iter()
            .any(|m| m.contains("deleted") && m.contains(&second)),
        "{restarted:#?}"
    );
    // The Deployment's own spec is untouched but for the restart annotation.
    let spec: Value = serde_json::to_value(
        deployments
            .get("web")
            .await
            .unwrap()
            .spec
            .unwrap()
            .template
            .spec,
    )
    .unwrap();
    assert_eq!(
        spec["containers"][0]["resources"]["requests"]["cpu"],
        json!("200m")
    );
    operator.stop().await;
}

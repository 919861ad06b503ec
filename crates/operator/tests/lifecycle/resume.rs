//! An operator killed mid-rollout, and a new one that resumes it, on the simulated cluster
//! (pods that run and go): neither a pod evicted twice nor a restart token issued twice,
//! with the safety rules checked at every poll — the disruption budget, the bounds of
//! every applied value, and the pause (nothing is applied while it is on).
//!
//! - `killed_mid_rollout_resumes`: a `recreate` target evicts the pods of one Deployment
//!   one at a time; the operator is killed after the first eviction.
//! - `selector_restarts_one_by_one`: a selector target in `recreate` mode restarts the
//!   Deployments it matches one at a time (the next once the previous has rolled out); the
//!   operator is killed after the first restart.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{Api, ListParams, PostParams};
use prescale_api::AIScaleTarget;
use prescale_operator::actuate::restart::RESTART_ANNOTATION;
use prescale_operator::pause::{SYSTEM_CONFIG_KEY, SYSTEM_CONFIG_MAP};
use prescale_store::MemoryStore;
use serde_json::json;

use crate::autonomous::{backfill, ready};
use crate::common::env::{RUN_LABEL, TestEnv};
use crate::revert::{events, restarts_once};

const PATIENCE: Duration = Duration::from_secs(150);
/// The upper bound of the target's cpu, in millicores.
const CPU_UPPER_MILLIS: f64 = 150.0;

async fn deploy(env: &TestEnv, ns: &str, name: &str, replicas: usize) {
    let d: Deployment = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {RUN_LABEL: env.run}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name, "tier": "web"}}, "spec": {"containers": [{
                "name": "app", "image": "registry.k8s.io/pause:3.10",
                "resources": {"requests": {"cpu": "200m", "memory": "128Mi"}}}]}}}
    }))
    .unwrap();
    Api::<Deployment>::namespaced(env.admin.clone(), ns)
        .create(&PostParams::default(), &d)
        .await
        .unwrap();
}

fn target(ns: &str, reference: serde_json::Value, interval: &str) -> AIScaleTarget {
    let mut spec = json!({
        "model": {"forecast_blocks": "15m", "forecast_interval": "15m", "min_lookback_to_scale": "1h"},
        "vertical": {"mode": "autonomous",
            "update_policy": {"update_mode": "recreate"},
            "disruption": {"interval": interval},
            "containers": [{"name": "*", "cpu": {"lowerbound": "10m", "upperbound": format!("{CPU_UPPER_MILLIS}m")},
                            "memory": {"lowerbound": "16Mi"}}]}
    });
    for (k, v) in reference.as_object().unwrap() {
        spec[k] = v.clone();
    }
    serde_json::from_value(json!({
        "apiVersion": "thoras.ai/v1", "kind": "AIScaleTarget",
        "metadata": {"name": "t", "namespace": ns}, "spec": spec,
    }))
    .unwrap()
}

fn millis(q: &str) -> f64 {
    prescale_api::quantity::parse(q).map_or(f64::NAN, |q| q.as_f64() * 1000.0)
}

/// The new cpu request of an `Evicted` Event (`… requests cpu 200m→50m …`).
fn new_cpu(message: &str) -> Option<f64> {
    let after = message.split("requests cpu ").nth(1)?;
    let new = after.split('→').nth(1)?;
    Some(millis(new.split([',', ';', ' ']).next()?))
}

async fn set_pause(env: &TestEnv, on: bool) {
    let cms: Api<ConfigMap> = Api::namespaced(env.admin.clone(), &env.system_ns);
    let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": SYSTEM_CONFIG_MAP},
        "data": {SYSTEM_CONFIG_KEY: format!("scaling-paused: {on}\n")}}))
    .unwrap();
    if cms.get_opt(SYSTEM_CONFIG_MAP).await.unwrap().is_some() {
        cms.replace(SYSTEM_CONFIG_MAP, &PostParams::default(), &cm)
            .await
            .unwrap();
    } else {
        cms.create(&PostParams::default(), &cm).await.unwrap();
    }
}

/// The pods of Deployment `app`.
async fn pods_of(env: &TestEnv, ns: &str, app: &str) -> Vec<Pod> {
    Api::<Pod>::namespaced(env.admin.clone(), ns)
        .list(&ListParams::default().labels(&format!("app={app}")))
        .await
        .unwrap()
        .items
}

/// Checks the evictions so far: none of a pod twice, every new value within the bounds,
/// the disruption budget (one of five pods) now. Returns the pods evicted.
async fn check_evictions(env: &TestEnv, ns: &str, replicas: usize) -> Vec<String> {
    let evicted = events(env, ns, "Evicted").await;
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    for m in &evicted {
        let pod = m.split(' ').nth(2).unwrap_or_default().to_string();
        *count.entry(pod).or_default() += 1;
        let cpu = new_cpu(m).unwrap_or_else(|| panic!("no new cpu in {m}"));
        assert!(
            (10.0..=CPU_UPPER_MILLIS).contains(&cpu),
            "applied cpu {cpu}m outside the bounds: {m}"
        );
    }
    for (pod, n) in &count {
        assert_eq!(*n, 1, "pod {pod} evicted {n} times: {evicted:#?}");
    }
    let pods = pods_of(env, ns, "web").await;
    let disrupted = crate::autonomous::disrupted(&pods, replicas);
    assert!(disrupted <= 1, "{disrupted} pods disrupted (budget 1)");
    count.into_keys().collect()
}

/// Polls `step` (which checks the invariants) until it says done.
async fn until<F, Fut>(what: &str, mut step: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let deadline = Instant::now() + PATIENCE;
    loop {
        match step().await {
            Ok(()) => return,
            Err(e) if Instant::now() > deadline => panic!("{what}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(150)).await,
        }
    }
}

/// Holds the pause for `secs` of real time, checking that nothing is applied meanwhile.
async fn paused_holds(env: &TestEnv, ns: &str, secs: u64, kind: &str) {
    set_pause(env, true).await;
    // The operator sees the pause within a moment; what it started before may finish.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = events(env, ns, kind).await.len();
    let until = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < until {
        assert_eq!(
            events(env, ns, kind).await.len(),
            before,
            "nothing is applied while paused"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    set_pause(env, false).await;
}

pub async fn killed_mid_rollout_resumes(env: &TestEnv) {
    const REPLICAS: usize = 5;
    let prod = env.ns("prod");
    deploy(env, prod, "web", REPLICAS).await;
    until("5 pods are Ready", || async {
        let n = pods_of(env, prod, "web")
            .await
            .iter()
            .filter(|p| ready(p))
            .count();
        (n == REPLICAS).then_some(()).ok_or(format!("{n} ready"))
    })
    .await;
    let originals: Vec<String> = pods_of(env, prod, "web")
        .await
        .into_iter()
        .filter_map(|p| p.metadata.name)
        .collect();
    let store = Arc::new(MemoryStore::new());
    let now = env.sim.as_ref().unwrap().sim.clock.now().as_second();
    backfill(&store, prod, "web", now);
    let asts: Api<AIScaleTarget> = Api::namespaced(env.admin.clone(), prod);
    // 10 minutes between evictions: a few seconds of real time, room to kill in between.
    let spec = json!({"scaleTargetRef": {"kind": "Deployment", "name": "web"}});
    asts.create(&PostParams::default(), &target(prod, spec, "10m"))
        .await
        .unwrap();
    let first = env.start_operator(store.clone());
    until("the first eviction", || async {
        let evicted = check_evictions(env, prod, REPLICAS).await;
        (!evicted.is_empty())
            .then_some(())
            .ok_or("no eviction yet".to_string())
    })
    .await;
    // Killed mid-rollout: nothing it remembered survives.
    drop(first);
    let second = env.start_operator(store.clone());
    paused_holds(env, prod, 8, "Evicted").await;
    until("every original pod is evicted once", || async {
        let evicted = check_evictions(env, prod, REPLICAS).await;
        let all = originals.iter().all(|p| evicted.contains(p));
        all.then_some(())
            .ok_or(format!("evicted {evicted:?} of {originals:?}"))
    })
    .await;
    // The rollout goes on (the replacements come back without the suggestion: no webhook
    // here) and the rules keep holding.
    let settle = Instant::now() + Duration::from_secs(8);
    while Instant::now() < settle {
        check_evictions(env, prod, REPLICAS).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    second.stop().await;
}

/// Which Deployments carry a restart token, and which of those are still rolling out
/// (not every pod Ready, or pods from before the restart left).
async fn restart_states(env: &TestEnv, ns: &str, apps: &[&str]) -> (Vec<String>, Vec<String>) {
    let deployments: Api<Deployment> = Api::namespaced(env.admin.clone(), ns);
    let (mut restarted, mut rolling) = (vec![], vec![]);
    for app in apps {
        let d = deployments.get(app).await.unwrap();
        let token = d
            .spec
            .as_ref()
            .and_then(|s| s.template.metadata.as_ref())
            .and_then(|m| m.annotations.as_ref())
            .and_then(|a| a.get(RESTART_ANNOTATION).cloned());
        let Some(token) = token else { continue };
        restarted.push(app.to_string());
        let pods = pods_of(env, ns, app).await;
        let settled = pods.len() == 2
            && pods.iter().all(|p| {
                ready(p)
                    && p.metadata.deletion_timestamp.is_none()
                    && p.metadata
                        .annotations
                        .as_ref()
                        .and_then(|a| a.get(RESTART_ANNOTATION))
                        == Some(&token)
            });
        if !settled {
            rolling.push(app.to_string());
        }
    }
    (restarted, rolling)
}

pub async fn selector_restarts_one_by_one(env: &TestEnv) {
    let prod = env.ns("prod");
    let apps = ["web-a", "web-b", "web-c"];
    let store = Arc::new(MemoryStore::new());
    let now = env.sim.as_ref().unwrap().sim.clock.now().as_second();
    for app in apps {
        deploy(env, prod, app, 2).await;
        backfill(&store, prod, app, now);
    }
    let asts: Api<AIScaleTarget> = Api::namespaced(env.admin.clone(), prod);
    let spec = json!({"selector": {"matchLabels": {"tier": "web"}}});
    asts.create(&PostParams::default(), &target(prod, spec, "1m"))
        .await
        .unwrap();
    let check = || async {
        restarts_once(env, prod).await;
        let (restarted, rolling) = restart_states(env, prod, &apps).await;
        assert!(
            rolling.len() <= 1,
            "one workload restarts at a time: {rolling:?} are rolling out"
        );
        restarted
    };
    let first = env.start_operator(store.clone());
    until("the first restart", || async {
        let restarted = check().await;
        (!restarted.is_empty())
            .then_some(())
            .ok_or("none restarted yet".to_string())
    })
    .await;
    drop(first);
    let second = env.start_operator(store.clone());
    paused_holds(env, prod, 5, "Restarted").await;
    until("every matching Deployment is restarted", || async {
        let restarted = check().await;
        (restarted.len() == apps.len())
            .then_some(())
            .ok_or(format!("restarted {restarted:?}"))
    })
    .await;
    let messages = restarts_once(env, prod).await;
    assert!(
        messages
            .iter()
            .all(|m| m.contains("with token suggestion-")),
        "{messages:#?}"
    );
    second.stop().await;
}

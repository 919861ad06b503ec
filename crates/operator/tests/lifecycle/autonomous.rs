//! Autonomous vertical scaling through the running operator, on the simulated cluster
//! (the real server has no kubelet, so no usage and no suggestion): an
//! `in_place_or_recreate` target whose pods are resized in place — same pods, restart
//! counts unchanged, the Deployment's own pod template unchanged — and the system-wide
//! pause, which stops every apply while the target's spec asks for more. The safety rules
//! are checked at every poll, not only at the end.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Event, Pod};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use prescale_api::AIScaleTarget;
use prescale_operator::pause::{SYSTEM_CONFIG_KEY, SYSTEM_CONFIG_MAP};
use prescale_store::{HistoryStore, MemoryStore, Metric, SeriesKey};
use serde_json::json;

use crate::common::env::{RUN_LABEL, TestEnv};

const REPLICAS: usize = 5;
/// 20 % of 5 pods (the default `max_disrupted`).
const BUDGET: usize = 1;
const PATIENCE: Duration = Duration::from_secs(120);

/// What must hold at every moment of the test.
struct Invariants {
    asts: Api<AIScaleTarget>,
    pods: Api<Pod>,
    deployments: Api<Deployment>,
    template: serde_json::Value,
    uids: Vec<String>,
}

impl Invariants {
    /// The pods now, after checking: the disruption budget, no restart, the same pods
    /// (in place: nothing was evicted) and the Deployment's template untouched.
    async fn check(&self) -> Vec<Pod> {
        let pods = self
            .pods
            .list(&ListParams::default().labels("app=web"))
            .await
            .unwrap()
            .items;
        let disrupted = disrupted(&pods, REPLICAS);
        assert!(
            disrupted <= BUDGET,
            "{disrupted} pods disrupted (budget {BUDGET})"
        );
        for p in &pods {
            for s in p
                .status
                .as_ref()
                .and_then(|s| s.container_statuses.as_deref())
                .unwrap_or_default()
            {
                assert_eq!(s.restart_count, 0, "{:?} restarted", p.metadata.name);
            }
        }
        let mut uids: Vec<String> = pods.iter().filter_map(|p| p.metadata.uid.clone()).collect();
        uids.sort();
        assert_eq!(uids, self.uids, "pods were replaced: resizes are in place");
        let d = self.deployments.get("web").await.unwrap();
        assert_eq!(
            serde_json::to_value(&d.spec.unwrap().template).unwrap(),
            self.template,
            "the Deployment's own pod template is never changed"
        );
        pods
    }

    /// Polls (checking at every step) until `done` says yes of the pods and the target.
    async fn until(
        &self,
        what: &str,
        mut done: impl FnMut(&[Pod], &AIScaleTarget) -> Result<(), String>,
    ) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let pods = self.check().await;
            let target = self.asts.get("web").await.unwrap();
            match done(&pods, &target) {
                Ok(()) => return,
                Err(e) if Instant::now() > deadline => panic!("{what}: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }
}

/// Creates Deployment `web` (`replicas` pods of 200m/128Mi, cpu limit 400m) in `ns`.
pub(crate) async fn create_web(env: &TestEnv, ns: &str, replicas: usize) -> Api<Deployment> {
    let d: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web", "labels": {RUN_LABEL: env.run}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{
                "name": "app", "image": "registry.k8s.io/pause:3.10",
                "resources": {"requests": {"cpu": "200m", "memory": "128Mi"},
                              "limits": {"cpu": "400m"}}}]}}}
    }))
    .unwrap();
    let deployments: Api<Deployment> = Api::namespaced(env.admin.clone(), ns);
    deployments
        .create(&PostParams::default(), &d)
        .await
        .unwrap();
    deployments
}

/// Pods disrupted: going away or not Ready, plus replicas missing.
pub(crate) fn disrupted(pods: &[Pod], replicas: usize) -> usize {
    let live = pods
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .count();
    pods.iter()
        .filter(|p| p.metadata.deletion_timestamp.is_some() || !ready(p))
        .count()
        + replicas.saturating_sub(live)
}

pub(crate) fn ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Each pod's app container: (requests cpu, requests memory, running cpu).
pub(crate) fn resources(p: &Pod) -> (String, String, String) {
    let spec = p.spec.as_ref().unwrap().containers[0]
        .resources
        .clone()
        .unwrap_or_default();
    let req = spec.requests.unwrap_or_default();
    let running = p
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|cs| cs[0].resources.clone())
        .and_then(|r| r.requests)
        .and_then(|r| r.get("cpu").map(|q| q.0.clone()))
        .unwrap_or_default();
    let get = |k: &str| req.get(k).map(|q| q.0.clone()).unwrap_or_default();
    (get("cpu"), get("memory"), running)
}

pub(crate) fn able(t: &AIScaleTarget) -> (String, String) {
    t.status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == "AbleToScale"))
        .map(|c| (c.reason.clone(), c.message.clone()))
        .unwrap_or_default()
}

/// Two days of usage (cpu ~50m, memory ~100Mi) of Deployment `workload`'s container `app`,
/// as if backfilled: enough history for a suggestion that may scale.
pub(crate) fn backfill(store: &MemoryStore, ns: &str, workload: &str, now: i64) {
    let key = |metric| SeriesKey {
        namespace: ns.into(),
        kind: "Deployment".into(),
        workload: workload.into(),
        container: "app".into(),
        metric,
    };
    let mut batch = vec![];
    for i in 0..(2 * 1440) {
        let t = now - (2 * 86_400) + i * 60;
        let phase = (t % 86_400) as f64 / 86_400.0 * std::f64::consts::TAU;
        batch.push((key(Metric::Cpu), (t, 0.05 + 0.01 * phase.sin())));
        batch.push((key(Metric::Memory), (t, 100.0 * 1024.0 * 1024.0)));
    }
    store.append(&batch).unwrap();
}

pub async fn autonomous_in_place(env: &TestEnv) {
    let prod = env.ns("prod");
    let deployments = create_web(env, prod, REPLICAS).await;
    let pods: Api<Pod> = Api::namespaced(env.admin.clone(), prod);
    let mut uids = crate::common::env::eventually("5 pods are Ready", 120, || async {
        let all = pods
            .list(&ListParams::default().labels("app=web"))
            .await
            .map_err(|e| e.to_string())?
            .items;
        (all.iter().filter(|p| ready(p)).count() == REPLICAS)
            .then(|| {
                all.iter()
                    .filter_map(|p| p.metadata.uid.clone())
                    .collect::<Vec<_>>()
            })
            .ok_or_else(|| format!("{} pods", all.len()))
    })
    .await;
    uids.sort();
    let template =
        serde_json::to_value(&deployments.get("web").await.unwrap().spec.unwrap().template)
            .unwrap();
    let asts: Api<AIScaleTarget> = Api::namespaced(env.admin.clone(), prod);
    let inv = Invariants {
        asts: asts.clone(),
        pods: pods.clone(),
        deployments: deployments.clone(),
        template,
        uids,
    };

    let store = Arc::new(MemoryStore::new());
    let now = env.sim.as_ref().unwrap().sim.clock.now().as_second();
    backfill(&store, prod, "web", now);
    let ast: AIScaleTarget = serde_json::from_value(json!({
        "apiVersion": "thoras.ai/v1", "kind": "AIScaleTarget",
        "metadata": {"name": "web", "namespace": prod},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
            "model": {"forecast_blocks": "15m", "forecast_interval": "15m", "min_lookback_to_scale": "1h"},
            "vertical": {"mode": "autonomous",
                "update_policy": {"update_mode": "in_place_or_recreate", "recreate_resources": []},
                "containers": [{"name": "*", "cpu": {"lowerbound": "10m"}, "memory": {"lowerbound": "16Mi"}}]}}
    }))
    .unwrap();
    asts.create(&PostParams::default(), &ast).await.unwrap();
    let operator = env.start_operator(store.clone());

    // Every pod reaches the suggestion in place.
    let mut suggested = (String::new(), String::new());
    inv.until("the pods run the suggestion", |pods, t| {
        let s = t
            .status
            .as_ref()
            .and_then(|s| s.suggestion.clone())
            .ok_or("no suggestion yet")?;
        let c = &s.containers[0];
        suggested = (
            c.cpu.clone().unwrap_or_default(),
            c.memory.clone().unwrap_or_default(),
        );
        let at: Vec<_> = pods.iter().map(resources).collect();
        if able(t).0 != "Applied" {
            return Err(format!(
                "AbleToScale {:?}, pods {at:?}, suggestion {suggested:?}",
                able(t)
            ));
        }
        if t.status
            .as_ref()
            .and_then(|s| s.last_processed_suggestion_uid.clone())
            != Some(s.id.clone())
        {
            return Err("lastProcessedSuggestionUID not written".into());
        }
        Ok(())
    })
    .await;
    for p in inv.check().await {
        let (cpu, _, running) = resources(&p);
        assert_ne!(cpu, "200m", "{:?} was not resized", p.metadata.name);
        assert_eq!(cpu, running, "the resize is what the container runs");
    }
    let events: Api<Event> = Api::namespaced(env.admin.clone(), prod);
    let resized: Vec<String> = events
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("Resized"))
        .filter_map(|e| e.message)
        .collect();
    assert!(resized.len() >= REPLICAS, "{resized:?}");
    assert!(
        resized[0].contains("200m→"),
        "old and new values: {}",
        resized[0]
    );

    // The pause: the spec now asks for at least 300m of cpu, and nothing is applied.
    let cms: Api<ConfigMap> = Api::namespaced(env.admin.clone(), &env.system_ns);
    let pause = |on: bool| -> ConfigMap {
        serde_json::from_value(json!({"metadata": {"name": SYSTEM_CONFIG_MAP},
            "data": {SYSTEM_CONFIG_KEY: format!("scaling-paused: {on}\n")}}))
        .unwrap()
    };
    cms.create(&PostParams::default(), &pause(true))
        .await
        .unwrap();
    inv.until("the pause is reported", |_, t| {
        (able(t).0 == "ScalingPaused")
            .then_some(())
            .ok_or(format!("{:?}", able(t)))
    })
    .await;
    let before: BTreeMap<String, (String, String, String)> = inv
        .check()
        .await
        .iter()
        .map(|p| (p.metadata.name.clone().unwrap(), resources(p)))
        .collect();
    asts.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"vertical": {"containers": [
            {"name": "*", "cpu": {"lowerbound": "300m"}, "memory": {"lowerbound": "16Mi"}}]}}})),
    )
    .await
    .unwrap();
    // 20 s of real time: 40 minutes of the simulated clock, several forecasts.
    let until = Instant::now() + Duration::from_secs(20);
    while Instant::now() < until {
        let now: BTreeMap<_, _> = inv
            .check()
            .await
            .iter()
            .map(|p| (p.metadata.name.clone().unwrap(), resources(p)))
            .collect();
        assert_eq!(now, before, "nothing is applied while paused");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Resumed: what the pause held back is applied.
    cms.replace(SYSTEM_CONFIG_MAP, &PostParams::default(), &pause(false))
        .await
        .unwrap();
    inv.until(
        "the raised floor is applied after the pause",
        |pods, target| {
            let at: Vec<_> = pods.iter().map(resources).collect();
            // The suggestion is at least the new floor (the forecast may ask for more).
            let want = target
                .status
                .as_ref()
                .and_then(|s| s.suggestion.as_ref())
                .and_then(|s| s.containers.first())
                .and_then(|c| c.cpu.clone())
                .filter(|cpu| {
                    prescale_api::quantity::parse(cpu).is_ok_and(|q| q.as_f64() >= 0.3 - 1e-9)
                })
                .ok_or(format!(
                    "no suggestion at or above the 300m floor yet; pods {at:?}"
                ))?;
            at.iter()
                .all(|(cpu, _, running)| *cpu == want && *running == want)
                .then_some(())
                .ok_or(format!("suggestion {want}, pods {at:?}"))
        },
    )
    .await;
    operator.stop().await;
}

//! OOM remediation on the simulated cluster: a Deployment whose containers need 250Mi
//! (`WORKING_SET_ANNOTATION`) under a 160Mi limit is OOM-killed at every tick. With
//! remediation on, the memory floor is raised after the first kill the operator sees, the
//! pods are resized in place to it, the kills stop within two restarts and the floor holds
//! for the window (an Event says so); with it off the kills go on: the usage the forecast
//! sees stops at the limit (a container is killed there), so a forecast alone raises the
//! memory by the limit ratio per interval at best.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, ListParams, PostParams};
use prescale_api::AIScaleTarget;
use prescale_api::quantity::parse;
use prescale_sim::cluster::load::WORKING_SET_ANNOTATION;
use prescale_store::MemoryStore;
use serde_json::json;

use crate::autonomous::backfill;
use crate::common::env::{TestEnv, eventually};

/// Each pod's restart count.
async fn restarts(pods: &Api<Pod>) -> BTreeMap<String, i32> {
    pods.list(&ListParams::default().labels("app=web"))
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .map(|p| {
            let n = p
                .status
                .and_then(|s| s.container_statuses)
                .and_then(|cs| cs.first().map(|c| c.restart_count))
                .unwrap_or(0);
            (p.metadata.name.unwrap_or_default(), n)
        })
        .collect()
}

pub async fn oom_remediation(env: &TestEnv, enabled: bool) {
    let ns = env.ns("prod");
    let d: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"},
                    "annotations": {WORKING_SET_ANNOTATION: "250Mi"}},
                "spec": {"containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10",
                    "resources": {"requests": {"cpu": "200m", "memory": "128Mi"},
                                  "limits": {"memory": "160Mi"}}}]}}}
    }))
    .unwrap();
    Api::<Deployment>::namespaced(env.admin.clone(), ns)
        .create(&PostParams::default(), &d)
        .await
        .unwrap();
    let pods: Api<Pod> = Api::namespaced(env.admin.clone(), ns);
    eventually("the pods are OOM-killed", 60, || async {
        let r = restarts(&pods).await;
        (r.len() == 2 && r.values().all(|n| *n > 0))
            .then_some(())
            .ok_or(format!("restarts {r:?}"))
    })
    .await;
    let store = Arc::new(MemoryStore::new());
    let now = env.sim.as_ref().unwrap().sim.clock.now().as_second();
    backfill(&store, ns, "web", now);
    let asts: Api<AIScaleTarget> = Api::namespaced(env.admin.clone(), ns);
    let ast: AIScaleTarget = serde_json::from_value(json!({
        "apiVersion": "thoras.ai/v1", "kind": "AIScaleTarget", "metadata": {"name": "web"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
            // One forecast (at start) in the 20 s below: the kills' usage reaches no new one,
            // so only remediation can answer them.
            "model": {"forecast_blocks": "1h", "forecast_interval": "1h", "min_lookback_to_scale": "1h"},
            "vertical": {"mode": "autonomous",
                "update_policy": {"update_mode": "in_place_or_recreate", "recreate_resources": []},
                "oom_remediation": {"enabled": enabled, "stabilization_window": "3h"},
                "containers": [{"name": "app", "cpu": {"lowerbound": "10m"}, "memory": {"lowerbound": "16Mi"}}]}},
    }))
    .unwrap();
    asts.create(&PostParams::default(), &ast).await.unwrap();
    let operator = env.start_operator(store);
    let status = || async {
        asts.get("web")
            .await
            .map_err(|e| e.to_string())
            .map(|t| t.status.unwrap_or_default())
    };
    eventually("an OOM kill seen by the target", 90, || async {
        let s = status().await?;
        s.last_oom_time
            .map(|_| ())
            .ok_or("no lastOOMTime yet".to_string())
    })
    .await;
    // Restart counts when the operator has seen a kill (and, when on, raised the floor).
    let (seen, floor) = if enabled {
        let floor = eventually("the memory floor raised", 30, || async {
            let s = status().await?;
            s.oom_adjusted_memory
                .get("app")
                .cloned()
                .ok_or(format!("no oomAdjustedMemory: {s:?}"))
        })
        .await;
        (restarts(&pods).await, Some(floor))
    } else {
        (restarts(&pods).await, None)
    };
    // 20 s of real time: 40 minutes of the simulated clock, 160 ticks of the load model.
    // The floor never falls inside the window; it may rise once more when a kill of a pod
    // not yet resized is seen only after the resize (the collector reads pod status at its
    // own pace), so the restarts are counted from the last raise.
    let mut floors = floor.clone().into_iter().collect::<Vec<_>>();
    let mut since_last_raise = seen.clone();
    let until = Instant::now() + Duration::from_secs(20);
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if enabled {
            let s = status().await.unwrap();
            let now = s
                .oom_adjusted_memory
                .get("app")
                .cloned()
                .expect("the floor holds for the window");
            assert!(s.oom_stabilization_window_expiry.is_some());
            if floors.last() != Some(&now) {
                let (q, last) = (parse(&now).unwrap(), parse(floors.last().unwrap()).unwrap());
                assert!(
                    q > last,
                    "the floor only rises in the window: {floors:?} then {now}"
                );
                floors.push(now);
                since_last_raise = restarts(&pods).await;
            }
        }
    }
    assert!(floors.len() <= 2, "raised more than twice: {floors:?}");
    let after = restarts(&pods).await;
    let t = asts.get("web").await.unwrap();
    let able = t
        .status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == "AbleToScale"))
        .map(|c| format!("{}: {}", c.reason, c.message));
    let resources: Vec<_> = pods
        .list(&ListParams::default().labels("app=web"))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|p| p.spec.unwrap().containers[0].resources.clone())
        .collect();
    if enabled {
        for (pod, n) in &after {
            let before = since_last_raise.get(pod).copied().unwrap_or(0);
            assert!(
                *n <= before + 2,
                "{pod}: {before} restarts when the floor was raised, {n} now: the kills go on; AbleToScale {able:?}, pods {resources:?}"
            );
        }
        let events: Api<Event> = Api::namespaced(env.admin.clone(), ns);
        let raised: Vec<String> = events
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|e| e.reason.as_deref() == Some("OOMRemediated"))
            .filter_map(|e| e.message)
            .collect();
        assert!(
            !raised.is_empty() && raised[0].contains("app"),
            "{raised:?}"
        );
    } else {
        assert!(
            status().await.unwrap().oom_adjusted_memory.is_empty(),
            "off: no floor"
        );
        for (pod, n) in &after {
            let before = seen.get(pod).copied().unwrap_or(0);
            assert!(
                *n > before + 2,
                "{pod}: {before} restarts when the kill was seen, {n} now: without remediation the kills go on; AbleToScale {able:?}, pods {resources:?}, suggestion {:?}",
                t.status
                    .as_ref()
                    .and_then(|s| s.suggestion.as_ref())
                    .map(|s| &s.containers)
            );
        }
    }
    operator.stop().await;
}

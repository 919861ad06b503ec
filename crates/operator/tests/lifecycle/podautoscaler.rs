//! The PodAutoscaler controller (seed 004) on the simulated cluster: pods that serve vLLM's
//! gauges on their own loopback IP, the load model driving them, the operator scraping them
//! as it would in a cluster. KPA's panic and stable windows, APA's tolerance band, the HPA
//! strategy's owned HPA, the scalable kinds, conflicts and bad specs.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
use prescale_api::podautoscaler::PodAutoscaler;
use prescale_sim::cluster::{pod_metrics, trace::Trace};
use prescale_store::MemoryStore;
use serde_json::{Value, json};

use crate::common::env::{OperatorHandle, RUN_LABEL, TestEnv, eventually};

/// Each test's pods serve on their own port, so tests running at once never share one.
fn workload(env: &TestEnv, kind: &str, name: &str, replicas: i32, port: u16) -> Value {
    let mut w = json!({
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": name, "labels": {RUN_LABEL: env.run}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name},
                                           "annotations": {pod_metrics::PORT_ANNOTATION: port.to_string()}},
                              "spec": {"containers": [{"name": "vllm", "image": "vllm/vllm-openai:v0.10",
                                                       "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}]}}}
    });
    if kind == "StatefulSet" {
        w["spec"]["serviceName"] = json!(name);
    }
    w
}

/// The workload's total demand, constant: `total` pods' worth of requests (8 in flight each).
fn flat(total: f64) -> Trace {
    Trace::from_points(vec![(0, 1.0), (86_400, 1.0)], total).unwrap()
}

fn kpa(
    name: &str,
    target: &str,
    kind: &str,
    strategy: &str,
    max: i32,
    annotations: Value,
) -> Value {
    json!({
        "apiVersion": "autoscaling.aibrix.ai/v1alpha1",
        "kind": "PodAutoscaler",
        "metadata": {"name": name, "annotations": annotations},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": kind, "name": target},
            "minReplicas": 1,
            "maxReplicas": max,
            "scalingStrategy": strategy,
            "metricsSources": [{
                "metricSourceType": "pod", "protocolType": "http", "port": "PORT",
                "path": "metrics", "targetMetric": "requests_in_flight", "targetValue": "8"
            }]
        }
    })
}

fn with_port(mut pa: Value, port: u16) -> Value {
    pa["spec"]["metricsSources"][0]["port"] = json!(port.to_string());
    pa
}

async fn create(env: &TestEnv, ns: &str, object: &Value) {
    let kind = object["kind"].as_str().unwrap();
    let (group, version, plural) = match kind {
        "Deployment" => ("apps", "v1", "deployments"),
        "StatefulSet" => ("apps", "v1", "statefulsets"),
        "PodAutoscaler" => ("autoscaling.aibrix.ai", "v1alpha1", "podautoscalers"),
        "AIScaleTarget" => ("thoras.ai", "v1", "aiscaletargets"),
        other => panic!("{other}"),
    };
    let ar =
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural);
    let api = Api::<DynamicObject>::namespaced_with(env.admin.clone(), ns, &ar);
    let obj: DynamicObject = serde_json::from_value(object.clone()).unwrap();
    api.create(&PostParams::default(), &obj)
        .await
        .unwrap_or_else(|e| panic!("creating {kind}: {e}"));
}

async fn replicas(env: &TestEnv, ns: &str, kind: &str, name: &str) -> i32 {
    match kind {
        "StatefulSet" => Api::<StatefulSet>::namespaced(env.admin.clone(), ns)
            .get(name)
            .await
            .unwrap()
            .spec
            .and_then(|s| s.replicas)
            .unwrap_or(0),
        _ => Api::<Deployment>::namespaced(env.admin.clone(), ns)
            .get(name)
            .await
            .unwrap()
            .spec
            .and_then(|s| s.replicas)
            .unwrap_or(0),
    }
}

async fn pa_status(env: &TestEnv, ns: &str, name: &str) -> PodAutoscaler {
    Api::<PodAutoscaler>::namespaced(env.admin.clone(), ns)
        .get(name)
        .await
        .unwrap()
}

fn condition(pa: &PodAutoscaler, type_: &str) -> Option<(String, String)> {
    pa.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| (c.status.clone(), c.reason.clone()))
}

fn now(env: &TestEnv) -> jiff::Timestamp {
    env.sim.as_ref().unwrap().sim.clock.now()
}

/// Workload `llm` of `kind` with two replicas serving on `port`, driven at `demand` pods'
/// worth of load, the operator running, and PodAutoscaler `llm` with `strategy` on it.
async fn llm_with_autoscaler(
    env: &TestEnv,
    kind: &str,
    strategy: &str,
    port: u16,
    demand: f64,
) -> (String, Arc<prescale_sim::Sim>, OperatorHandle) {
    let ns = env.ns("prod").to_string();
    let sim = env.sim.as_ref().unwrap().sim.clone();
    create(env, &ns, &workload(env, kind, "llm", 2, port)).await;
    sim.drive_with_trace(&ns, "llm", flat(demand));
    let operator = env.start_operator(Arc::new(MemoryStore::new()));
    let pa = with_port(kpa("llm", "llm", kind, strategy, 10, json!({})), port);
    create(env, &ns, &pa).await;
    (ns, sim, operator)
}

/// Waits until PodAutoscaler `ns/name` has condition `type_` at `status` (and `reason`,
/// and a message containing `says`).
async fn wait_condition_saying(
    env: &TestEnv,
    (ns, name): (&str, &str),
    (type_, status, reason): (&str, &str, Option<&str>),
    says: &str,
) {
    let what = format!("{name}: {type_}={status} ({reason:?}) saying {says:?}");
    eventually(&what, 60, || async {
        let pa = pa_status(env, ns, name).await;
        let c = pa
            .status
            .as_ref()
            .and_then(|s| s.conditions.iter().find(|c| c.type_ == type_));
        match c {
            Some(c)
                if c.status == status
                    && reason.is_none_or(|want| want == c.reason)
                    && c.message.contains(says) =>
            {
                Ok(())
            }
            other => Err(format!("{other:?}")),
        }
    })
    .await;
}

/// Waits until PodAutoscaler `ns/name` has condition `type_` at `status` (and `reason`).
async fn wait_condition(
    env: &TestEnv,
    ns: &str,
    name: &str,
    type_: &str,
    status: &str,
    reason: Option<&str>,
) {
    wait_condition_saying(env, (ns, name), (type_, status, reason), "").await;
}

pub(crate) async fn kpa_burst_and_stable_window(env: &TestEnv) {
    let (ns, sim, _operator) = llm_with_autoscaler(env, "Deployment", "KPA", 18_101, 2.0).await;
    // Calm: two pods at their target stay two.
    wait_condition(env, &ns, "llm", "ScalingActive", "True", None).await;
    assert_eq!(replicas(env, &ns, "Deployment", "llm").await, 2);

    // A burst of four times the load: panic mode scales up within its 60 s window.
    let burst = now(env);
    sim.drive_with_trace(&ns, "llm", flat(8.0));
    let scaled = eventually("KPA scales up on the burst", 90, || async {
        let r = replicas(env, &ns, "Deployment", "llm").await;
        if r >= 6 {
            Ok(now(env))
        } else {
            Err(format!("{r} replicas"))
        }
    })
    .await;
    assert!(
        scaled.duration_since(burst).as_secs() <= 120,
        "scaled up {} s after the burst",
        scaled.duration_since(burst).as_secs()
    );
    let up = replicas(env, &ns, "Deployment", "llm").await;

    // The burst ends: no scale-down while panicking, nor before the stable window passed.
    let calm = now(env);
    sim.drive_with_trace(&ns, "llm", flat(2.0));
    let down_at = eventually("KPA scales back down", 120, || async {
        let pa = pa_status(env, &ns, "llm").await;
        let history = pa.status.map(|s| s.scaling_history).unwrap_or_default();
        match history.iter().find(|d| d.new_scale < d.previous_scale) {
            Some(d) => Ok(d.timestamp.0),
            None => Err(format!("{history:?}")),
        }
    })
    .await;
    let waited = down_at.duration_since(calm).as_secs();
    assert!(
        waited >= 150,
        "scaled down {waited} s after the load fell (stable window 180 s)"
    );
    eventually("back to two", 120, || async {
        let r = replicas(env, &ns, "Deployment", "llm").await;
        if r == 2 {
            Ok(())
        } else {
            Err(format!("{r} replicas (up to {up})"))
        }
    })
    .await;
    let pa = pa_status(env, &ns, "llm").await;
    let status = pa.status.unwrap();
    assert!(status.scaling_history.len() <= 5);
    assert!(status.scaling_history.iter().all(|d| d.success));
}

pub(crate) async fn apa_band_and_ratio(env: &TestEnv) {
    // 2.1 pods' worth on two pods: 8.4 in flight each, 5 % above the target of 8.
    let (ns, sim, _operator) = llm_with_autoscaler(env, "StatefulSet", "APA", 18_102, 2.1).await;
    wait_condition(env, &ns, "llm", "AbleToScale", "True", Some("Stable")).await;
    // A few minutes inside the band: nothing moves.
    env.sim.as_ref().unwrap().run_for(1).await;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(replicas(env, &ns, "StatefulSet", "llm").await, 2);
    // Twice the target: ⌈2 × 16 / 8⌉ = 4.
    sim.drive_with_trace(&ns, "llm", flat(4.0));
    eventually("APA scales by the ratio", 90, || async {
        let r = replicas(env, &ns, "StatefulSet", "llm").await;
        if r == 4 {
            Ok(())
        } else {
            Err(format!("{r} replicas"))
        }
    })
    .await;
}

/// The HPA strategy owns an HPA that follows it and goes with it (on both clusters: on the
/// real server as the install's ServiceAccount, its garbage collector running).
pub(crate) async fn hpa_strategy(env: &TestEnv) {
    let ns = env.ns("prod").to_string();
    create(env, &ns, &workload(env, "Deployment", "web", 2, 18_103)).await;
    let _operator = env.start_operator(Arc::new(MemoryStore::new()));
    let mut pa = kpa(
        "web",
        "web",
        "Deployment",
        "HPA",
        6,
        json!({"autoscaling.aibrix.ai/scale-down-cooldown-window": "2m"}),
    );
    pa["spec"]["metricsSources"] =
        json!([{"metricSourceType": "resource", "targetMetric": "cpu", "targetValue": "60"}]);
    pa["spec"]["minReplicas"] = json!(2);
    create(env, &ns, &pa).await;
    let hpas: Api<HorizontalPodAutoscaler> = Api::namespaced(env.admin.clone(), &ns);
    let hpa = eventually("the owned HPA exists", 60, || async {
        hpas.get_opt("web-hpa")
            .await
            .unwrap()
            .ok_or_else(|| "no HPA web-hpa".to_string())
    })
    .await;
    let spec = hpa.spec.clone().unwrap();
    assert_eq!((spec.min_replicas, spec.max_replicas), (Some(2), 6));
    assert_eq!(spec.scale_target_ref.name, "web");
    let owner = &hpa.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.controller),
        ("PodAutoscaler", Some(true))
    );
    let behavior = spec.behavior.unwrap();
    assert_eq!(
        behavior.scale_down.unwrap().stabilization_window_seconds,
        Some(120)
    );
    wait_condition(env, &ns, "web", "Ready", "True", None).await;

    // A change of the PodAutoscaler reaches its HPA.
    Api::<PodAutoscaler>::namespaced(env.admin.clone(), &ns)
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"maxReplicas": 9}})),
        )
        .await
        .unwrap();
    eventually("the HPA follows", 60, || async {
        let h = hpas.get("web-hpa").await.unwrap();
        let max = h.spec.unwrap().max_replicas;
        if max == 9 {
            Ok(())
        } else {
            Err(format!("maxReplicas {max}"))
        }
    })
    .await;

    // Another strategy: the HPA goes, and the PodAutoscaler decides itself.
    Api::<PodAutoscaler>::namespaced(env.admin.clone(), &ns)
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"scalingStrategy": "APA"}})),
        )
        .await
        .unwrap();
    eventually("the HPA goes with the HPA strategy", 60, || async {
        match hpas.get_opt("web-hpa").await.unwrap() {
            None => Ok(()),
            Some(_) => Err("web-hpa still exists".to_string()),
        }
    })
    .await;
    Api::<PodAutoscaler>::namespaced(env.admin.clone(), &ns)
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"scalingStrategy": "HPA"}})),
        )
        .await
        .unwrap();
    eventually("the HPA is back", 60, || async {
        hpas.get_opt("web-hpa")
            .await
            .unwrap()
            .map(drop)
            .ok_or_else(|| "no HPA web-hpa".to_string())
    })
    .await;

    Api::<PodAutoscaler>::namespaced(env.admin.clone(), &ns)
        .delete("web", &DeleteParams::default())
        .await
        .unwrap();
    eventually("the HPA goes with its PodAutoscaler", 60, || async {
        match hpas.get_opt("web-hpa").await.unwrap() {
            None => Ok(()),
            Some(_) => Err("web-hpa still exists".to_string()),
        }
    })
    .await;
}

pub(crate) async fn conflicts_and_bad_specs(env: &TestEnv) {
    let ns = env.ns("prod").to_string();
    let sim = env.sim.as_ref().unwrap().sim.clone();
    let port = 18_104;
    create(env, &ns, &workload(env, "Deployment", "llm", 2, port)).await;
    sim.drive_with_trace(&ns, "llm", flat(2.0));
    let _operator = env.start_operator(Arc::new(MemoryStore::new()));
    create(
        env,
        &ns,
        &with_port(
            kpa("first", "llm", "Deployment", "APA", 10, json!({})),
            port,
        ),
    )
    .await;
    wait_condition(env, &ns, "first", "Ready", "True", None).await;
    create(
        env,
        &ns,
        &with_port(
            kpa("second", "llm", "Deployment", "APA", 10, json!({})),
            port,
        ),
    )
    .await;
    let conflict = "MultiPodAutoscalerConflict";
    wait_condition(env, &ns, "second", conflict, "True", Some(conflict)).await;
    let first = pa_status(env, &ns, "first").await;
    assert_eq!(
        condition(&first, "MultiPodAutoscalerConflict")
            .map(|c| c.0)
            .as_deref(),
        Some("False"),
        "the oldest keeps the workload"
    );

    // An annotation the API cannot check: ValidSpec=False, with the reason and the field.
    create(
        env,
        &ns,
        &with_port(
            kpa(
                "bad",
                "other",
                "Deployment",
                "KPA",
                10,
                json!({"autoscaling.aibrix.ai/max-scale-up-rate": "fast"}),
            ),
            port,
        ),
    )
    .await;
    let bad = ("ValidSpec", "False", None);
    wait_condition_saying(env, (&ns, "bad"), bad, "max-scale-up-rate").await;

    // An AIScaleTarget scaling the workload horizontally and autonomously: the
    // PodAutoscaler stands aside.
    create(
        env,
        &ns,
        &json!({
            "apiVersion": "thoras.ai/v1", "kind": "AIScaleTarget",
            "metadata": {"name": "llm"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "llm"},
                     "model": {"forecast_blocks": "15m", "forecast_cron": "*/15 * * * *"},
                     "horizontal": {"mode": "autonomous"}}
        }),
    )
    .await;
    let aside = ("MultiPodAutoscalerConflict", "True", None);
    wait_condition_saying(env, (&ns, "first"), aside, "AIScaleTarget llm").await;
}

/// A custom resource with a scale subresource (an inference fleet, say) is a target too.
/// prescale's install grants the scale of Deployments and StatefulSets only: a custom
/// kind's `<plural>/scale` is granted by whoever installs the kind (docs/PODAUTOSCALER.md).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_resource_with_a_scale_subresource_is_scaled() {
    let env = TestEnv::sim("pa-custom", &["prod"]).await;
    let ns = env.ns("prod").to_string();
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "fleets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
                 "names": {"plural": "fleets", "singular": "fleet", "kind": "Fleet"},
                 "versions": [{"name": "v1", "served": true, "storage": true,
                               "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
                               "subresources": {"status": {}, "scale": {
                                   "specReplicasPath": ".spec.replicas",
                                   "statusReplicasPath": ".status.replicas",
                                   "labelSelectorPath": ".status.selector"}}}]}
    });
    Api::<DynamicObject>::all_with(
        env.admin.clone(),
        &ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
            "customresourcedefinitions",
        ),
    )
    .create(
        &PostParams::default(),
        &serde_json::from_value(crd).unwrap(),
    )
    .await
    .unwrap();
    let fleets = Api::<DynamicObject>::namespaced_with(
        env.admin.clone(),
        &ns,
        &ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("example.com", "v1", "Fleet"),
            "fleets",
        ),
    );
    let fleet = json!({"apiVersion": "example.com/v1", "kind": "Fleet",
                       "metadata": {"name": "llm"}, "spec": {"replicas": 1}});
    fleets
        .create(
            &PostParams::default(),
            &serde_json::from_value(fleet).unwrap(),
        )
        .await
        .unwrap();
    let _operator = env.start_operator(Arc::new(MemoryStore::new()));
    // Its floor is 3: the autoscaler brings it there through the scale subresource.
    let mut pa = with_port(kpa("llm", "llm", "Fleet", "APA", 5, json!({})), 18_105);
    pa["spec"]["scaleTargetRef"]["apiVersion"] = json!("example.com/v1");
    pa["spec"]["minReplicas"] = json!(3);
    create(&env, &ns, &pa).await;
    eventually("the Fleet is scaled to its floor", 60, || async {
        let f = fleets.get("llm").await.unwrap();
        match f.data["spec"]["replicas"].as_i64() {
            Some(3) => Ok(()),
            other => Err(format!(
                "{other:?}; {:?}",
                pa_status(&env, &ns, "llm").await.status
            )),
        }
    })
    .await;
    let ungranted = env.ungranted_requests();
    assert!(
        ungranted.iter().all(|r| r.contains("fleets/scale")),
        "only the custom kind's scale is outside the install's grants: {ungranted:?}"
    );
}

/// `spec.predictive` with prescale's forecaster behind it: a week of history with a daily
/// peak at noon, ten minutes before today's. The load is still calm, so the reactive
/// strategy (and AIBrix's linear trend) see nothing coming; `Auto` raises the replicas for
/// the peak before it arrives, `Preview` only says it would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn predictive_auto_raises_the_floor_before_a_daily_peak_and_preview_only_reports() {
    const DAY: i64 = 86_400;
    let today = jiff::Timestamp::now().as_second().div_euclid(DAY) * DAY;
    let start = jiff::Timestamp::from_second(today + 12 * 3600 - 600).unwrap();
    let env = TestEnv::sim_from("pa-predictive", &["prod"], start).await;
    let ns = env.ns("prod").to_string();
    let sim = env.sim.as_ref().unwrap().sim.clone();
    let store = Arc::new(MemoryStore::new());
    // Two pods at 8 in flight each now; 64 in flight over the daily peak, every day.
    for (name, port) in [("auto", 18_106), ("preview", 18_107)] {
        let history: Vec<_> = (1..=7 * 1440)
            .map(|i| {
                let t = start.as_second() - i * 60;
                let hour = t.rem_euclid(DAY) / 3600;
                let key = prescale_store::SeriesKey {
                    namespace: ns.clone(),
                    kind: "Deployment".into(),
                    workload: name.into(),
                    container: "requests_in_flight".into(),
                    metric: prescale_store::Metric::ScalingMetric,
                };
                (key, (t, if (12..14).contains(&hour) { 64.0 } else { 16.0 }))
            })
            .rev()
            .collect();
        prescale_store::HistoryStore::append(store.as_ref(), &history).unwrap();
        create(&env, &ns, &workload(&env, "Deployment", name, 2, port)).await;
        sim.drive_with_trace(&ns, name, flat(2.0));
    }
    let _operator = env.start_operator(store);
    for (name, port, mode) in [("auto", 18_106, "Auto"), ("preview", 18_107, "Preview")] {
        let mut pa = with_port(kpa(name, name, "Deployment", "APA", 10, json!({})), port);
        pa["spec"]["predictive"] = json!({"mode": mode, "horizonSeconds": 900});
        create(&env, &ns, &pa).await;
    }
    // Both decided before noon: Auto has raised the replicas, Preview says it would have.
    let preview = eventually(
        "Auto scales ahead of the peak, Preview reports it",
        60,
        || async {
            let r = replicas(&env, &ns, "Deployment", "auto").await;
            let preview = pa_status(&env, &ns, "preview")
                .await
                .status
                .and_then(|s| s.predictive);
            match preview {
                // Auto's next step from two pods (its scale-up rate doubles at most).
                Some(p) if r >= 6 && p.would_be_replicas.is_some_and(|w| w >= 4) => Ok(p),
                other => Err(format!("auto at {r} replicas; preview {other:?}")),
            }
        },
    )
    .await;
    let clock = now(&env);
    assert!(
        clock.as_second() < today + 12 * 3600,
        "raised before the peak: the clock is at {clock}"
    );
    assert!(preview.predicted_replicas.unwrap() >= 6, "{preview:?}");
    assert_eq!(preview.reactive_replicas, Some(2), "{preview:?}");
    assert_eq!(
        replicas(&env, &ns, "Deployment", "preview").await,
        2,
        "Preview changes nothing"
    );
}

/// A `resource` source: cpu from metrics.k8s.io as a percentage of the pods' requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resource_source_reads_cpu_utilisation_from_metrics_k8s_io() {
    let env = TestEnv::sim("pa-resource", &["prod"]).await;
    let ns = env.ns("prod").to_string();
    let sim = env.sim.as_ref().unwrap().sim.clone();
    create(&env, &ns, &workload(&env, "Deployment", "api", 2, 18_108)).await;
    // Two pods' worth of load on two pods: each at 100 % of its cpu request.
    sim.drive_with_trace(&ns, "api", flat(2.0));
    let _operator = env.start_operator(Arc::new(MemoryStore::new()));
    let mut pa = kpa("api", "api", "Deployment", "APA", 10, json!({}));
    pa["spec"]["metricsSources"] =
        json!([{"metricSourceType": "resource", "targetMetric": "cpu", "targetValue": "50"}]);
    create(&env, &ns, &pa).await;
    // Twice the 50 % target: ⌈2 × 100 / 50⌉ = 4, where each pod runs at 50 %.
    eventually("APA doubles the replicas on cpu", 60, || async {
        let r = replicas(&env, &ns, "Deployment", "api").await;
        if r == 4 {
            Ok(())
        } else {
            Err(format!("{r} replicas"))
        }
    })
    .await;
    wait_condition(&env, &ns, "api", "AbleToScale", "True", Some("Stable")).await;
    assert_eq!(env.ungranted_requests(), Vec::<String>::new());
}

//! Horizontal autonomous scaling through the running operator, on the simulated cluster
//! (its HPA controller runs the real algorithm and writes through `*/scale`, so the
//! operator's scale webhook sees its writes). Two Deployments take the same daily-cycle
//! load — 2 pods' worth of requests, rising at 12:00 to 8 pods' worth until 14:00 — each
//! with the same HPA (CPU at 70 %); only `web` has a horizontally autonomous target, with
//! a week of that cycle as history. Then, with the clock at 120× and fast-forwarded:
//! `web`'s replicas rise before the load while `control` (the HPA alone) waits for it; the
//! pause and recommendation mode let the HPA scale down at once (no floor, no clamping)
//! and autonomous mode raises it again; a surprise spike above the forecast is answered by
//! the HPA above the floor; after the peak the floor drops and the HPA scales down; and the
//! HPA's spec and generation are exactly as written at every step, deletion included.

use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use prescale_api::AIScaleTarget;
use prescale_operator::pause::{SYSTEM_CONFIG_KEY, SYSTEM_CONFIG_MAP};
use prescale_sim::cluster::trace::Trace;
use prescale_store::{HistoryStore, MemoryStore, Metric, SeriesKey};
use serde_json::json;

use crate::autonomous::ready;
use crate::common::env::{RUN_LABEL, TestEnv};

const DAY: i64 = 86_400;
/// Seconds of the day the load starts to rise (12:00 UTC), and how it goes.
const RISE: i64 = 12 * 3600;
const BASE: f64 = 2.0;
const PEAK: f64 = 8.0;
/// The sim starts at 09:00 of this day.
pub const START: &str = "2026-11-30T09:00:00Z";
const PATIENCE: Duration = Duration::from_secs(240);
/// Replicas `web` runs ahead of the rise: the peak's need. The floor is the HPA's
/// formula (70 %) on the peak of the 3-hour horizon's 15-minute stretches, each at its
/// expected load: once the plateau is within the horizon, the plateau's 8 pods' worth,
/// so ⌈8 / 0.7⌉ = 12 — not the horizon's average with the quiet hours before it (6 pods'
/// worth at 11:30, 9 replicas). The HPA alone runs 3 (2 / 0.7).
const AHEAD: i32 = 12;

/// Demand (pods' worth of requests) at second `s` of the day: a 30-minute ramp from
/// `BASE` to `PEAK` at 12:00, held until 14:00, down by 14:30.
fn demand(s: i64) -> f64 {
    let s = s.rem_euclid(DAY);
    let ramp = 1800;
    let up = ((s - RISE) as f64 / ramp as f64).clamp(0.0, 1.0);
    let down = ((s - (RISE + 2 * 3600)) as f64 / ramp as f64).clamp(0.0, 1.0);
    BASE + (PEAK - BASE) * (up - down).max(0.0)
}

/// The daily cycle as a trace replayed from second `from` of the day (one day, looped).
fn daily_from(from: i64) -> Trace {
    let points = (0..1440).map(|i| (i * 60, demand(from + i * 60))).collect();
    Trace::from_points(points, PEAK).unwrap()
}

async fn deploy(env: &TestEnv, ns: &str, name: &str) {
    let d: Deployment = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {RUN_LABEL: env.run}},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{
                "name": "app", "image": "registry.k8s.io/pause:3.10",
                "resources": {"requests": {"cpu": "200m", "memory": "128Mi"}}}]}}}
    }))
    .unwrap();
    Api::<Deployment>::namespaced(env.admin.clone(), ns)
        .create(&PostParams::default(), &d)
        .await
        .unwrap();
    let hpa: HorizontalPodAutoscaler = serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                 "minReplicas": 2, "maxReplicas": 20,
                 "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                     "target": {"type": "Utilization", "averageUtilization": 70}}}]}
    }))
    .unwrap();
    Api::<HorizontalPodAutoscaler>::namespaced(env.admin.clone(), ns)
        .create(&PostParams::default(), &hpa)
        .await
        .unwrap();
}

/// A week of the cycle as the collector would have recorded it under an HPA: the
/// pods that ran, and each one's share of the load.
fn backfill(store: &MemoryStore, ns: &str, now: i64) {
    let key = |container: &str, metric| SeriesKey {
        namespace: ns.into(),
        kind: "Deployment".into(),
        workload: "web".into(),
        container: container.into(),
        metric,
    };
    let mut batch = vec![];
    for t in (now - 7 * DAY..now).step_by(60) {
        let d = demand(t);
        let pods = (d / 0.7).ceil().max(2.0);
        batch.push((key("app", Metric::Cpu), (t, 0.2 * d / pods)));
        batch.push((key("app", Metric::Memory), (t, 100.0 * 1024.0 * 1024.0)));
        batch.push((key("", Metric::Replicas), (t, pods)));
    }
    store.append(&batch).unwrap();
}

struct Watch {
    env_now: Box<dyn Fn() -> i64 + Send + Sync>,
    pods: Api<Pod>,
    deployments: Api<Deployment>,
    hpas: Api<HorizontalPodAutoscaler>,
    asts: Api<AIScaleTarget>,
    /// The HPAs as the user wrote them: (spec, generation) of `web` and `control`.
    written: Vec<(String, serde_json::Value, Option<i64>)>,
}

impl Watch {
    async fn ready(&self, app: &str) -> usize {
        let pods = self
            .pods
            .list(&ListParams::default().labels(&format!("app={app}")))
            .await
            .unwrap()
            .items;
        pods.iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none() && ready(p))
            .count()
    }

    async fn replicas(&self, name: &str) -> i32 {
        let d = self.deployments.get(name).await.unwrap();
        d.spec.and_then(|s| s.replicas).unwrap_or_default()
    }

    async fn floor(&self) -> Option<i32> {
        let t = self.asts.get_opt("web").await.unwrap()?;
        t.status?.replica_floor.map(|f| f.replicas)
    }

    /// The HPAs' spec and generation never change.
    async fn check(&self) {
        for (name, spec, generation) in &self.written {
            let h = self.hpas.get(name).await.unwrap();
            assert_eq!(&serde_json::to_value(&h.spec).unwrap(), spec, "HPA {name}");
            assert_eq!(&h.metadata.generation, generation, "HPA {name}");
        }
    }

    /// Polls, checking the HPAs at every step, until `done` holds.
    async fn until<F, Fut>(&self, what: &str, mut done: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<(), String>>,
    {
        let deadline = Instant::now() + PATIENCE;
        loop {
            self.check().await;
            match done().await {
                Ok(()) => return,
                Err(e) if Instant::now() > deadline => {
                    let able = self
                        .asts
                        .get_opt("web")
                        .await
                        .unwrap()
                        .map(|t| crate::autonomous::able(&t));
                    panic!(
                        "{what}: {e}; AbleToScale {able:?} (sim minute {} of the day)",
                        (self.env_now)() % DAY / 60
                    )
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        }
    }

    async fn web_at_least(&self, what: &str, n: i32) {
        self.until(what, || async {
            let (r, f) = (self.replicas("web").await, self.floor().await);
            (r >= n)
                .then_some(())
                .ok_or(format!("web {r} replicas, floor {f:?}"))
        })
        .await;
    }

    async fn web_at_most(&self, what: &str, n: i32) {
        self.until(what, || async {
            let (r, f) = (self.replicas("web").await, self.floor().await);
            (r <= n)
                .then_some(())
                .ok_or(format!("web {r} replicas, floor {f:?}"))
        })
        .await;
    }
}

pub async fn horizontal_feeds_the_hpa(env: &TestEnv) {
    let ns = env.ns("prod");
    let sim = env.sim.as_ref().unwrap().sim.clone();
    sim.set_startup_delay(60);
    for name in ["web", "control"] {
        deploy(env, ns, name).await;
        let of_day = sim.clock.now().as_second().rem_euclid(DAY);
        sim.drive_with_trace(ns, name, daily_from(of_day));
    }
    let hpas: Api<HorizontalPodAutoscaler> = Api::namespaced(env.admin.clone(), ns);
    let mut written = vec![];
    for name in ["web", "control"] {
        let h = hpas.get(name).await.unwrap();
        written.push((
            name.to_string(),
            serde_json::to_value(&h.spec).unwrap(),
            h.metadata.generation,
        ));
    }
    let clock = sim.clock.clone();
    let w = Watch {
        env_now: Box::new(move || clock.now().as_second()),
        pods: Api::namespaced(env.admin.clone(), ns),
        deployments: Api::namespaced(env.admin.clone(), ns),
        hpas,
        asts: Api::namespaced(env.admin.clone(), ns),
        written,
    };
    let now = || sim.clock.now().as_second();
    let of_day = || now().rem_euclid(DAY);

    let store = Arc::new(MemoryStore::new());
    backfill(&store, ns, now());
    let ast: AIScaleTarget = serde_json::from_value(json!({
        "apiVersion": "thoras.ai/v1", "kind": "AIScaleTarget",
        "metadata": {"name": "web", "namespace": ns},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
            "model": {"forecast_blocks": "3h", "forecast_interval": "15m", "min_lookback_to_scale": "1h"},
            "horizontal": {"mode": "autonomous", "maxReplicas": 20}}
    }))
    .unwrap();
    w.asts.create(&PostParams::default(), &ast).await.unwrap();
    let operator = env.start_operator_with(store.clone(), |c| {
        c.webhook = Some(crate::webhook_scenarios::by_url(
            crate::webhook_scenarios::free_port(),
        ));
    });
    crate::webhook_scenarios::registered(env).await;

    // Before the rise: the floor is the peak's need, and web runs it.
    w.web_at_least("web scaled up ahead of the peak", AHEAD)
        .await;
    assert!(of_day() < RISE, "risen before the load does");
    let t = w.asts.get("web").await.unwrap();
    let floor = t.status.unwrap().replica_floor.unwrap();
    assert_eq!((floor.hpa.as_str(), floor.metric.as_str()), ("web", "cpu"));

    // The pause: no floor, no clamping, the HPA scales web down; resumed, back up.
    let cms: Api<ConfigMap> = Api::namespaced(env.admin.clone(), &env.system_ns);
    let pause = |on: bool| -> ConfigMap {
        serde_json::from_value(json!({"metadata": {"name": SYSTEM_CONFIG_MAP},
            "data": {SYSTEM_CONFIG_KEY: format!("scaling-paused: {on}\n")}}))
        .unwrap()
    };
    cms.create(&PostParams::default(), &pause(true))
        .await
        .unwrap();
    w.web_at_most("paused: the HPA alone scales web down", 4)
        .await;
    // (The status no longer carries the floor on a real server; the simulated one keeps
    // fields a server-side apply leaves out, so the condition is what is checked here.)
    let t = w.asts.get("web").await.unwrap();
    assert_eq!(crate::autonomous::able(&t).0, "ScalingPaused");
    cms.replace(SYSTEM_CONFIG_MAP, &PostParams::default(), &pause(false))
        .await
        .unwrap();
    w.web_at_least("resumed: web back at the floor", AHEAD)
        .await;

    // Recommendation mode: the same, through the target's own mode.
    let mode = |m: &str| Patch::Merge(json!({"spec": {"horizontal": {"mode": m}}}));
    let pp = PatchParams::default();
    w.asts
        .patch("web", &pp, &mode("recommendation"))
        .await
        .unwrap();
    w.web_at_most("recommendation: the HPA alone scales web down", 4)
        .await;
    w.asts.patch("web", &pp, &mode("autonomous")).await.unwrap();
    w.web_at_least("autonomous again: web back at the floor", AHEAD)
        .await;

    // Ready before the load; the HPA alone has not moved yet.
    w.until("web's pods ready before the load", || async {
        let (web, control) = (w.ready("web").await, w.ready("control").await);
        (web >= AHEAD as usize && control <= 4)
            .then_some(())
            .ok_or(format!("web {web} ready, control {control}"))
    })
    .await;
    assert!(of_day() < RISE, "ready only after the rise");

    // At the peak, a surprise spike above the forecast: the HPA asks for more than the
    // floor on its live metrics, and that is what runs.
    sim.clock
        .advance(Duration::from_secs((RISE + 3600 - of_day()).max(0) as u64));
    let floor = w.floor().await.unwrap_or_default();
    assert!(floor < 17, "the floor before the spike: {floor}");
    sim.drive_with_trace(
        ns,
        "web",
        Trace::from_points(vec![(0, 13.0), (3600, 13.0)], 13.0).unwrap(),
    );
    w.until("the HPA answers the spike above the floor", || async {
        let h = w.hpas.get("web").await.map_err(|e| e.to_string())?;
        let asks = h.status.map_or(0, |s| s.desired_replicas);
        let runs = w.replicas("web").await;
        (asks >= 17 && runs >= asks)
            .then_some(())
            .ok_or(format!("the HPA asks {asks}, {runs} run"))
    })
    .await;
    sim.drive_with_trace(ns, "web", daily_from(of_day()));

    // After the peak (14:30) the forecast peak leaves the window: the floor drops, and
    // the HPA's own scale-down goes through.
    sim.clock.advance(Duration::from_secs(
        (RISE + 3 * 3600 - of_day()).max(0) as u64
    ));
    w.until(
        "after the peak the floor drops and web comes down",
        || async {
            let (r, f) = (w.replicas("web").await, w.floor().await);
            (r <= 6 && f.is_some_and(|f| f <= 6) && of_day() > RISE + 2 * 3600)
                .then_some(())
                .ok_or(format!("web {r} replicas, floor {f:?}"))
        },
    )
    .await;

    // Deleted: the HPA as written, no floor.
    w.asts
        .delete("web", &DeleteParams::default())
        .await
        .unwrap();
    w.until("the target is gone", || async {
        match w.asts.get_opt("web").await.map_err(|e| e.to_string())? {
            None => Ok(()),
            Some(_) => Err("still there".into()),
        }
    })
    .await;
    w.check().await;
    drop(operator);
}

//! The vertical rollout on the simulated cluster through a real HTTP client: each step
//! lists the workload's pods, plans (`vertical::rollout`), and carries the actions out
//! with the real actuator (`pods/resize`, the Eviction API). The safety rules are checked
//! at every step, not only at the end: never more pods disrupted than the budget, never
//! two disruptive steps within the interval, never a pod evicted twice.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, ListParams, PostParams};
use prescale_api::target::status::{ContainerRecommendation, Suggestion};
use prescale_api::target::vertical::VerticalSpec;
use prescale_operator::actuate::{Action, Actuator, Applied, KubeActuator};
use prescale_operator::collector::owners::WorkloadRef;
use prescale_operator::vertical::pods::PodView;
use prescale_operator::vertical::policy::{VerticalPolicy, vertical_policy};
use prescale_operator::vertical::rollout::{WorkloadRollout, plan_workload};
use prescale_sim::testing::TestCluster;
use serde_json::json;

const REPLICAS: u32 = 10;

struct Rig {
    c: TestCluster,
    pods: Api<Pod>,
    actuator: KubeActuator,
}

async fn rig(node_cpu: &str) -> Rig {
    let c = TestCluster::start_with(jiff::Timestamp::now(), 1.0)
        .await
        .unwrap();
    let node: Node = serde_json::from_value(json!({"metadata": {"name": "n1"},
        "status": {"allocatable": {"cpu": node_cpu, "memory": "64Gi"}, "capacity": {"cpu": node_cpu, "memory": "64Gi"}}}))
    .unwrap();
    Api::<Node>::all(c.client.clone())
        .create(&PostParams::default(), &node)
        .await
        .unwrap();
    let ns: k8s_openapi::api::core::v1::Namespace =
        serde_json::from_value(json!({"metadata": {"name": "shop"}})).unwrap();
    Api::all(c.client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    let d: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"replicas": REPLICAS, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{
                "name": "app", "image": "web:1",
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "200m", "memory": "256Mi"}}}]}}}
    }))
    .unwrap();
    Api::<Deployment>::namespaced(c.client.clone(), "shop")
        .create(&PostParams::default(), &d)
        .await
        .unwrap();
    let rig = Rig {
        pods: Api::namespaced(c.client.clone(), "shop"),
        actuator: KubeActuator {
            client: c.client.clone(),
        },
        c,
    };
    for _ in 0..4 {
        rig.tick().await;
    }
    assert_eq!(
        rig.views().await.iter().filter(|p| p.ready).count(),
        REPLICAS as usize
    );
    rig
}

impl Rig {
    async fn tick(&self) {
        self.c.sim.clock.advance(Duration::from_secs(15));
        prescale_sim::cluster::tick(&self.c.sim).await;
    }

    async fn views(&self) -> Vec<PodView> {
        self.pods
            .list(&ListParams::default().labels("app=web"))
            .await
            .unwrap()
            .items
            .iter()
            .map(PodView::of)
            .collect()
    }
}

fn policy(v: serde_json::Value) -> VerticalPolicy {
    let mut spec = json!({"mode": "autonomous", "containers": [{"name": "*",
        "cpu": {"lowerbound": "10m"}, "memory": {"lowerbound": "16Mi"}}]});
    for (k, val) in v.as_object().unwrap() {
        spec[k] = val.clone();
    }
    let spec: VerticalSpec = serde_json::from_value(spec).unwrap();
    vertical_policy(Some(&spec)).unwrap().unwrap()
}

fn suggestion(at: i64, cpu: &str, memory: &str) -> Suggestion {
    Suggestion {
        id: "s1".into(),
        time: jiff::Timestamp::from_second(at).ok().map(Time),
        has_enough_data_to_scale: true,
        containers: vec![ContainerRecommendation {
            name: "app".into(),
            cpu: Some(cpu.into()),
            memory: Some(memory.into()),
            ..Default::default()
        }],
        ..Default::default()
    }
}

#[derive(Default, Debug)]
struct Tally {
    resized: usize,
    evicted: BTreeSet<String>,
    blocked: usize,
    refused: BTreeSet<String>,
    steps: usize,
    at_suggestion: usize,
}

/// Runs `steps` rollout steps (one per 15 s tick), checking the invariants at each.
async fn roll(rig: &Rig, p: &VerticalPolicy, s: &Suggestion, steps: usize) -> Tally {
    let workload = WorkloadRef {
        kind: "Deployment".into(),
        name: "web".into(),
    };
    let budget = p.max_disrupted.pods(REPLICAS) as usize;
    let mut tally = Tally::default();
    let mut last_eviction: Option<i64> = None;
    for _ in 0..steps {
        let pods = rig.views().await;
        let live = pods.iter().filter(|p| !p.deleting).count();
        let disrupted = pods.iter().filter(|p| !p.ready || p.deleting).count()
            + (REPLICAS as usize).saturating_sub(live);
        assert!(
            disrupted <= budget,
            "{disrupted} pods disrupted, budget {budget}"
        );
        let now = rig.c.sim.clock.now().as_second();
        let plan = plan_workload(&WorkloadRollout {
            policy: p,
            suggestion: s,
            oom_floors: &BTreeMap::new(),
            namespace: "shop",
            workload: &workload,
            replicas: REPLICAS,
            pods: &pods,
            refused: &tally.refused,
            // Listed fresh each step: the pods alone show every disruption.
            last_eviction: None,
            now,
        })
        .unwrap();
        tally.at_suggestion = plan.at_suggestion;
        let mut evicted_now = 0;
        for action in &plan.actions {
            let applied = rig.actuator.apply(action).await.unwrap();
            match (action, applied) {
                (Action::Resize { .. }, Applied::Done) => tally.resized += 1,
                (Action::Resize { pod, .. }, Applied::Refused(_)) => {
                    tally.refused.insert(pod.clone());
                }
                (Action::Evict { pod, .. }, Applied::Done) => {
                    assert!(tally.evicted.insert(pod.clone()), "{pod} evicted twice");
                    evicted_now += 1;
                }
                (Action::Evict { .. }, Applied::Blocked(_)) => tally.blocked += 1,
                (a, r) => panic!("unexpected {r:?} for {a:?}"),
            }
        }
        if evicted_now > 0 {
            if let Some(last) = last_eviction {
                assert!(
                    now - last >= p.interval.as_secs() as i64,
                    "evictions {}s apart",
                    now - last
                );
            }
            last_eviction = Some(now);
        }
        tally.steps += 1;
        rig.tick().await;
    }
    tally
}

#[tokio::test]
async fn in_place_or_recreate_resizes_cpu_in_place_and_recreates_for_memory() {
    let rig = rig("64").await;
    let p = policy(json!({"update_policy": {"update_mode": "in_place_or_recreate"}}));
    let s = suggestion(rig.c.sim.clock.now().as_second(), "300m", "128Mi");
    let t = roll(&rig, &p, &s, 4).await;
    assert_eq!(
        (t.resized, t.evicted.len()),
        (REPLICAS as usize, 0),
        "{t:?}"
    );
    assert_eq!(t.at_suggestion, REPLICAS as usize);
    for pod in rig.pods.list(&ListParams::default()).await.unwrap().items {
        let status = &pod.status.unwrap().container_statuses.unwrap()[0];
        assert_eq!(
            status
                .resources
                .as_ref()
                .unwrap()
                .requests
                .as_ref()
                .unwrap()["cpu"]
                .0,
            "300m"
        );
        assert_eq!(
            status.restart_count, 0,
            "an in-place resize restarts nothing"
        );
    }
    // Memory is in recreate_resources by default: evicted, gradually.
    let s = suggestion(rig.c.sim.clock.now().as_second(), "300m", "512Mi");
    let t = roll(&rig, &p, &s, 60).await;
    assert_eq!(t.evicted.len(), REPLICAS as usize, "{t:?}");
}

#[tokio::test]
async fn recreate_evicts_within_budget_and_interval_and_never_twice() {
    let rig = rig("64").await;
    let p = policy(
        json!({"update_policy": {"update_mode": "recreate"}, "disruption": {"max_disrupted": "20%", "interval": "60s"}}),
    );
    let s = suggestion(rig.c.sim.clock.now().as_second(), "300m", "256Mi");
    let t = roll(&rig, &p, &s, 40).await;
    // Without the pod webhook the replacements come back at the template: each original
    // pod is evicted once, and the rollout stops instead of looping.
    assert_eq!(t.evicted.len(), REPLICAS as usize, "{t:?}");
    assert_eq!(t.resized, 0);
}

#[tokio::test]
async fn in_place_only_resizes_and_reports_what_it_cannot_do() {
    // A node too small for the resize: Infeasible, and in_place never evicts.
    let rig = rig("1200m").await;
    let p = policy(json!({"update_policy": {"update_mode": "in_place"}}));
    let s = suggestion(rig.c.sim.clock.now().as_second(), "500m", "512Mi");
    let t = roll(&rig, &p, &s, 6).await;
    assert!(t.evicted.is_empty(), "{t:?}");
    assert!(t.at_suggestion < REPLICAS as usize);
}

#[tokio::test]
async fn infeasible_resize_falls_back_to_eviction() {
    let rig = rig("1200m").await;
    let p = policy(
        json!({"update_policy": {"update_mode": "in_place_or_recreate", "recreate_resources": []}}),
    );
    let s = suggestion(rig.c.sim.clock.now().as_second(), "500m", "128Mi");
    let t = roll(&rig, &p, &s, 12).await;
    assert!(t.resized > 0 && !t.evicted.is_empty(), "{t:?}");
}

#[tokio::test]
async fn a_pod_disruption_budget_that_forbids_eviction_is_honoured() {
    let rig = rig("64").await;
    let pdb: PodDisruptionBudget = serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"minAvailable": REPLICAS, "selector": {"matchLabels": {"app": "web"}}}}))
    .unwrap();
    Api::<PodDisruptionBudget>::namespaced(rig.c.client.clone(), "shop")
        .create(&PostParams::default(), &pdb)
        .await
        .unwrap();
    let p = policy(json!({"update_policy": {"update_mode": "recreate"}}));
    let t = roll(
        &rig,
        &p,
        &suggestion(rig.c.sim.clock.now().as_second(), "300m", "256Mi"),
        10,
    )
    .await;
    assert!(t.evicted.is_empty() && t.blocked > 0, "{t:?}");
    assert_eq!(rig.views().await.len(), REPLICAS as usize);
}

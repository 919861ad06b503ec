use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use prescale_api::target::status::ContainerRecommendation;
use prescale_api::target::vertical::VerticalSpec;

use super::*;
use crate::vertical::pods::ContainerView;
use crate::vertical::policy::vertical_policy;

fn policy(extra: serde_json::Value) -> VerticalPolicy {
    let mut v = serde_json::json!({"mode": "autonomous", "containers": [{"name": "*",
        "cpu": {"lowerbound": "10m"}, "memory": {"lowerbound": "16Mi"}}]});
    for (k, val) in extra.as_object().unwrap() {
        v[k] = val.clone();
    }
    let spec: VerticalSpec = serde_json::from_value(v).unwrap();
    vertical_policy(Some(&spec)).unwrap().unwrap()
}

fn res(cpu: &str, memory: &str) -> ResourceRequirements {
    ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".into(), K(cpu.into())),
            ("memory".into(), K(memory.into())),
        ])),
        ..Default::default()
    }
}

fn pod(name: &str, cpu: &str, memory: &str) -> PodView {
    PodView {
        name: name.into(),
        ready: true,
        deleting: false,
        created: 0,
        containers: vec![ContainerView {
            name: "app".into(),
            spec: res(cpu, memory),
            actual: res(cpu, memory),
        }],
        resize: None,
        restart_token: None,
    }
}

fn suggestion(cpu: &str, memory: &str) -> Suggestion {
    Suggestion {
        id: "s1".into(),
        time: jiff::Timestamp::from_second(100).ok().map(Time),
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

fn step(
    p: &VerticalPolicy,
    s: &Suggestion,
    pods: &[PodView],
    refused: &[&str],
    now: i64,
) -> RolloutPlan {
    let workload = WorkloadRef {
        kind: "Deployment".into(),
        name: "web".into(),
    };
    let refused = refused.iter().map(|s| s.to_string()).collect();
    plan_workload(&WorkloadRollout {
        policy: p,
        suggestion: s,
        oom_floors: &BTreeMap::new(),
        namespace: "ns",
        workload: &workload,
        replicas: pods.len() as u32,
        pods,
        refused: &refused,
        last_eviction: None,
        now,
    })
    .unwrap()
}

fn kinds(plan: &RolloutPlan) -> Vec<&'static str> {
    plan.actions.iter().map(Action::kind).collect()
}

#[test]
fn cpu_changes_resize_in_place_and_memory_changes_recreate_by_default() {
    let p = policy(serde_json::json!({}));
    let pods: Vec<PodView> = (0..5)
        .map(|i| pod(&format!("p{i}"), "100m", "128Mi"))
        .collect();
    let plan = step(&p, &suggestion("200m", "128Mi"), &pods, &[], 1000);
    assert_eq!(
        kinds(&plan),
        vec!["resize"; 5],
        "resizes are not disruptions"
    );
    let plan = step(&p, &suggestion("100m", "256Mi"), &pods, &[], 1000);
    assert_eq!(
        kinds(&plan),
        vec!["evict"],
        "20% of 5 pods is one pod at a time"
    );
}

#[test]
fn changes_inside_the_dead_band_are_not_applied() {
    let p = policy(serde_json::json!({}));
    let plan = step(
        &p,
        &suggestion("104m", "130Mi"),
        &[pod("a", "100m", "128Mi")],
        &[],
        1000,
    );
    assert!(plan.actions.is_empty());
    assert_eq!(plan.at_suggestion, 1);
}

#[test]
fn modes_initial_recreate_and_in_place() {
    let s = suggestion("200m", "256Mi");
    let pods = [pod("a", "100m", "128Mi")];
    let initial = policy(serde_json::json!({"update_policy": {"update_mode": "initial"}}));
    assert!(step(&initial, &s, &pods, &[], 1000).actions.is_empty());
    let recreate = policy(serde_json::json!({"update_policy": {"update_mode": "recreate"}}));
    assert_eq!(kinds(&step(&recreate, &s, &pods, &[], 1000)), vec!["evict"]);
    let in_place = policy(serde_json::json!({"update_policy": {"update_mode": "in_place"}}));
    assert_eq!(
        kinds(&step(&in_place, &s, &pods, &[], 1000)),
        vec!["resize"]
    );
    // A refusal: in_place reports it, in_place_or_recreate evicts.
    assert!(step(&in_place, &s, &pods, &["a"], 1000).actions.is_empty());
    let both = policy(
        serde_json::json!({"update_policy": {"update_mode": "in_place_or_recreate", "recreate_resources": []}}),
    );
    assert_eq!(kinds(&step(&both, &s, &pods, &[], 1000)), vec!["resize"]);
    assert_eq!(kinds(&step(&both, &s, &pods, &["a"], 1000)), vec!["evict"]);
}

#[test]
fn resize_outcomes_fall_back_after_their_grace() {
    let p = policy(serde_json::json!({"update_policy": {"recreate_resources": []}}));
    let s = suggestion("200m", "128Mi");
    let mut a = pod("a", "100m", "128Mi");
    a.containers[0].spec = res("200m", "128Mi");
    for (state, since, now, expect) in [
        (ResizeState::Infeasible, 0, 1000, vec!["evict"]),
        (ResizeState::Deferred, 900, 1000, vec![]),
        (ResizeState::Deferred, 600, 1000, vec!["evict"]),
        (ResizeState::InProgress, 0, 3000, vec![]),
        (ResizeState::InProgress, 0, 3700, vec!["evict"]),
    ] {
        a.resize = Some((state, Some(since)));
        assert_eq!(
            kinds(&step(&p, &s, std::slice::from_ref(&a), &[], now)),
            expect,
            "{state:?} since {since} at {now}"
        );
    }
    a.resize = None;
    assert!(
        step(&p, &s, &[a], &[], 1000).actions.is_empty(),
        "a resize asked is not asked again"
    );
}

#[test]
fn not_ready_pods_use_the_budget_and_the_interval_is_kept() {
    let p = policy(serde_json::json!({"update_policy": {"update_mode": "recreate"}}));
    let s = suggestion("200m", "256Mi");
    let mut pods: Vec<PodView> = (0..10)
        .map(|i| pod(&format!("p{i}"), "100m", "128Mi"))
        .collect();
    assert_eq!(
        kinds(&step(&p, &s, &pods, &[], 1000)),
        vec!["evict", "evict"]
    );
    pods[9].ready = false;
    assert_eq!(kinds(&step(&p, &s, &pods, &[], 1000)), vec!["evict"]);
    pods[8].deleting = true;
    assert!(step(&p, &s, &pods, &[], 1000).actions.is_empty());
    pods[8].deleting = false;
    pods[9].ready = true;
    pods[9].created = 990;
    assert!(
        step(&p, &s, &pods, &[], 1000).actions.is_empty(),
        "60 s after the last disruption"
    );
    assert_eq!(
        kinds(&step(&p, &s, &pods, &[], 1050)),
        vec!["evict", "evict"]
    );
}

#[test]
fn pods_created_after_the_suggestion_are_not_evicted_again() {
    let p = policy(serde_json::json!({"update_policy": {"update_mode": "recreate"}}));
    let mut a = pod("a", "100m", "128Mi");
    a.created = 200;
    let plan = step(&p, &suggestion("200m", "256Mi"), &[a], &[], 1000);
    assert!(plan.actions.is_empty());
    assert!(plan.held[0].contains("webhook"), "{:?}", plan.held);
}

#[test]
fn the_oldest_pod_is_evicted_first() {
    let p = policy(serde_json::json!({}));
    let mut pods: Vec<PodView> = ["a", "b", "c", "d", "e"]
        .iter()
        .map(|n| pod(n, "100m", "128Mi"))
        .collect();
    // `e` is the oldest (suggestion at 100: every pod predates it).
    for (i, p) in pods.iter_mut().enumerate() {
        p.created = 50 - i as i64;
    }
    let plan = step(&p, &suggestion("100m", "256Mi"), &pods, &[], 1000);
    let evicted: Vec<_> = plan
        .actions
        .iter()
        .map(|a| match a {
            Action::Evict { pod, .. } => pod.as_str(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(evicted, ["e"]);
}

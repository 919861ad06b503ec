use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K;

use super::*;
use crate::vertical::pods::{ContainerView, PodView};
use crate::workload::ContainerRequests;

fn pod(name: &str, cpu: &str) -> PodView {
    let res = ResourceRequirements {
        requests: Some(BTreeMap::from([("cpu".into(), K(cpu.into()))])),
        ..Default::default()
    };
    PodView {
        name: name.into(),
        ready: true,
        deleting: false,
        created: 1,
        containers: vec![ContainerView {
            name: "app".into(),
            spec: res.clone(),
            actual: res,
        }],
        resize: None,
        restart_token: None,
    }
}

fn workload(name: &str, pod_cpu: &[&str]) -> WorkloadInput {
    WorkloadInput {
        kind: "Deployment".into(),
        name: name.into(),
        replicas: pod_cpu.len() as u32,
        running: pod_cpu
            .iter()
            .enumerate()
            .map(|(i, cpu)| pod(&format!("{name}-{i}"), cpu))
            .collect(),
        template: vec![ContainerRequests {
            name: "app".into(),
            cpu: Some(0.2),
            memory: None,
        }],
        rolled_out: true,
        ..Default::default()
    }
}

struct Case {
    autonomous: bool,
    finalizer: bool,
    deleting_since: Option<i64>,
    paused: bool,
    workloads: Vec<WorkloadInput>,
    issued: BTreeMap<String, String>,
    now: i64,
}

impl Case {
    fn new(workloads: Vec<WorkloadInput>) -> Self {
        Case {
            autonomous: false,
            finalizer: true,
            deleting_since: None,
            paused: false,
            workloads,
            issued: BTreeMap::new(),
            now: 1000,
        }
    }

    fn run(&self) -> Revert {
        revert(&RevertInputs {
            namespace: "shop",
            vertical_autonomous: self.autonomous,
            has_finalizer: self.finalizer,
            deleting_since: self.deleting_since,
            paused: self.paused,
            workloads: &self.workloads,
            issued: &self.issued,
            now: self.now,
        })
    }
}

fn restarted(r: &Revert) -> Vec<String> {
    r.actions
        .iter()
        .map(|a| match a {
            Action::Restart { workload, .. } => workload.name.clone(),
            other => panic!("a revert only restarts: {other:?}"),
        })
        .collect()
}

#[test]
fn an_autonomous_target_gets_the_finalizer_and_reverts_nothing() {
    let mut case = Case::new(vec![workload("web", &["300m"])]);
    case.autonomous = true;
    case.finalizer = false;
    let r = case.run();
    assert_eq!((r.finalizer, r.actions.len()), (FinalizerChange::Add, 0));
    case.finalizer = true;
    assert_eq!(case.run().finalizer, FinalizerChange::Keep);
}

#[test]
fn leaving_autonomous_mode_restarts_only_changed_workloads_then_lets_go() {
    let case = Case::new(vec![
        workload("web", &["300m", "200m"]),
        workload("api", &["200m"]),
    ]);
    let r = case.run();
    assert_eq!(restarted(&r), ["web"]);
    assert_eq!(r.finalizer, FinalizerChange::Remove);
    let Action::Restart { token, why, .. } = &r.actions[0] else {
        unreachable!()
    };
    assert!(token.starts_with("revert-") && why.contains("left autonomous"));
    // Nothing changed: the finalizer goes at once, nothing restarts.
    let clean = Case::new(vec![workload("api", &["200m"])]).run();
    assert_eq!(
        (clean.finalizer, clean.actions.len()),
        (FinalizerChange::Remove, 0)
    );
}

#[test]
fn a_target_without_the_finalizer_never_restarts() {
    // It was never autonomous (or its revert is done): pods someone else resized stay.
    let mut case = Case::new(vec![workload("web", &["300m"])]);
    case.finalizer = false;
    let r = case.run();
    assert_eq!((r.finalizer, r.actions.len()), (FinalizerChange::Keep, 0));
    case.deleting_since = Some(900);
    assert!(case.run().actions.is_empty());
}

#[test]
fn a_revert_already_issued_is_not_issued_again() {
    let mut case = Case::new(vec![workload("web", &["300m"])]);
    let token = match &case.run().actions[0] {
        Action::Restart { token, .. } => token.clone(),
        _ => unreachable!(),
    };
    case.issued.insert("Deployment/web".into(), token.clone());
    let r = case.run();
    assert_eq!((r.actions.len(), r.finalizer), (0, FinalizerChange::Remove));
    // After an operator restart the template says it.
    case.issued.clear();
    case.workloads[0].restart_token = Some(token);
    assert!(case.run().actions.is_empty());
}

#[test]
fn a_rollout_in_progress_holds_the_revert_and_the_finalizer() {
    let mut case = Case::new(vec![workload("web", &["300m"])]);
    case.workloads[0].rolled_out = false;
    let r = case.run();
    assert_eq!((r.actions.len(), r.finalizer), (0, FinalizerChange::Keep));
    assert!(r.note.unwrap().contains("waiting"));
}

#[test]
fn the_pause_holds_the_revert() {
    let mut case = Case::new(vec![workload("web", &["300m"])]);
    case.paused = true;
    let r = case.run();
    assert_eq!((r.actions.len(), r.finalizer), (0, FinalizerChange::Keep));
    case.deleting_since = Some(case.now - 60);
    assert_eq!(case.run().finalizer, FinalizerChange::Keep);
}

#[test]
fn deletion_reverts_then_lets_go_and_never_blocks_past_the_timeout() {
    let mut case = Case::new(vec![workload("web", &["300m"])]);
    case.autonomous = true;
    case.deleting_since = Some(case.now - 5);
    let r = case.run();
    assert_eq!(restarted(&r), ["web"]);
    assert_eq!(r.finalizer, FinalizerChange::Remove);
    let Action::Restart { why, .. } = &r.actions[0] else {
        unreachable!()
    };
    assert!(why.contains("deleted"));
    // Paused, or a rollout that never finishes: held until the timeout, then let go.
    case.paused = true;
    assert_eq!(case.run().finalizer, FinalizerChange::Keep);
    case.now = case.deleting_since.unwrap() + REVERT_TIMEOUT.as_secs() as i64;
    let r = case.run();
    assert_eq!((r.finalizer, r.timed_out), (FinalizerChange::Remove, true));
    assert!(r.actions.is_empty());
}

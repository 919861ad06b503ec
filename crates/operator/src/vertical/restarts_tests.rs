use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K;
use proptest::prelude::*;

use super::*;
use crate::vertical::pods::ContainerView;

fn res(cpu: &str, memory: &str) -> ResourceRequirements {
    ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".into(), K(cpu.into())),
            ("memory".into(), K(memory.into())),
        ])),
        ..Default::default()
    }
}

fn pod(name: &str, created: i64, cpu: &str, memory: &str) -> PodView {
    PodView {
        name: name.into(),
        ready: true,
        deleting: false,
        created,
        containers: vec![ContainerView {
            name: "app".into(),
            spec: res(cpu, memory),
            actual: res(cpu, memory),
        }],
        resize: None,
        restart_token: None,
    }
}

fn template() -> Vec<ContainerRequests> {
    vec![ContainerRequests {
        name: "app".into(),
        cpu: Some(0.2),
        memory: Some(128.0 * 1024.0 * 1024.0),
    }]
}

fn workload(name: &str) -> WorkloadRef {
    WorkloadRef {
        kind: "Deployment".into(),
        name: name.into(),
    }
}

fn candidate(name: &str, token: Option<&str>, on_template: Option<&str>) -> RestartCandidate {
    RestartCandidate {
        workload: workload(name),
        token: token.map(str::to_string),
        template_token: on_template.map(str::to_string),
        rolled_out: true,
    }
}

#[test]
fn pods_differing_from_the_template_are_changed_whatever_the_spelling() {
    let pods = vec![
        pod("a", 1, "200m", "128Mi"),
        pod("b", 1, "0.2", "134217728"),
        pod("c", 1, "300m", "128Mi"),
        pod("d", 1, "200m", "256Mi"),
        PodView {
            deleting: true,
            ..pod("e", 1, "300m", "128Mi")
        },
    ];
    let changed: Vec<&str> = changed_pods(&template(), &pods)
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(changed, ["c", "d"], "a going pod is already being replaced");
    // A container the template does not name is not compared.
    let mut other = pod("f", 1, "900m", "1Gi");
    other.containers[0].name = "sidecar".into();
    assert!(changed_pods(&template(), &[other]).is_empty());
}

#[test]
fn a_revert_token_names_the_pods_it_replaces() {
    let (a, b) = (pod("a", 1, "300m", "1Gi"), pod("b", 2, "300m", "1Gi"));
    assert_eq!(revert_token(&[&a, &b]), revert_token(&[&b, &a]));
    assert!(revert_token(&[&a]).starts_with("revert-"));
    assert_ne!(revert_token(&[&a]), revert_token(&[&a, &b]));
    // The same name, a new pod (a StatefulSet's): another token.
    assert_ne!(
        revert_token(&[&a]),
        revert_token(&[&pod("a", 9, "300m", "1Gi")])
    );
}

#[test]
fn a_restart_on_the_template_or_issued_is_not_made_again() {
    let none = BTreeMap::new();
    let plan = plan_restarts(
        &[candidate("web", Some("revert-1"), Some("revert-1"))],
        &none,
        false,
    );
    assert_eq!((plan.restarts.len(), plan.issued), (0, 1));
    assert!(plan.all_issued());
    let issued = BTreeMap::from([("Deployment/web".to_string(), "revert-1".to_string())]);
    let plan = plan_restarts(&[candidate("web", Some("revert-1"), None)], &issued, false);
    assert_eq!((plan.restarts.len(), plan.issued), (0, 1));
    assert!(plan.rolling, "issued but not in the cache yet: rolling");
    // A new token is a new restart.
    let plan = plan_restarts(
        &[candidate("web", Some("revert-2"), Some("revert-1"))],
        &none,
        false,
    );
    assert_eq!(
        plan.restarts,
        vec![(workload("web"), "revert-2".to_string())]
    );
}

#[test]
fn a_workload_that_is_rolling_out_is_not_restarted() {
    let mut c = candidate("web", Some("revert-2"), None);
    c.rolled_out = false;
    let plan = plan_restarts(&[c], &BTreeMap::new(), false);
    assert!(plan.restarts.is_empty());
    assert_eq!(plan.waiting.len(), 1);
    assert!(!plan.all_issued());
}

#[test]
fn selector_restarts_go_one_at_a_time() {
    let cands = [
        candidate("c", Some("suggestion-s1"), None),
        candidate("a", Some("suggestion-s1"), None),
        candidate("b", None, None),
    ];
    let plan = plan_restarts(&cands, &BTreeMap::new(), true);
    assert_eq!(
        plan.restarts,
        vec![(workload("a"), "suggestion-s1".to_string())]
    );
    assert_eq!(plan.waiting.len(), 1);
    // `a` is restarted and still rolling out: `c` waits.
    let mut a = candidate("a", Some("suggestion-s1"), Some("suggestion-s1"));
    a.rolled_out = false;
    let plan = plan_restarts(&[a.clone(), cands[0].clone()], &BTreeMap::new(), true);
    assert!(plan.restarts.is_empty() && plan.rolling);
    // `a` has rolled out: `c`'s turn.
    a.rolled_out = true;
    let plan = plan_restarts(&[a, cands[0].clone()], &BTreeMap::new(), true);
    assert_eq!(
        plan.restarts,
        vec![(workload("c"), "suggestion-s1".to_string())]
    );
    // Not one at a time: all at once.
    let plan = plan_restarts(&cands, &BTreeMap::new(), false);
    assert_eq!(plan.restarts.len(), 2);
}

proptest! {
    /// Whatever the cluster shows, a token already on a workload's template or issued by
    /// this process is never issued again, one-at-a-time plans restart at most one
    /// workload, and nothing is restarted while one of prescale's restarts rolls out.
    #[test]
    fn tokens_are_never_reissued(
        states in proptest::collection::vec((0u8..3, 0u8..3, any::<bool>(), any::<bool>()), 1..6),
        one in any::<bool>(),
    ) {
        let token = |i: u8| format!("suggestion-s{i}");
        let mut issued = BTreeMap::new();
        let cands: Vec<RestartCandidate> = states
            .iter()
            .enumerate()
            .map(|(n, (want, on, rolled, remembered))| {
                let name = format!("w{n}");
                if *remembered {
                    issued.insert(format!("Deployment/{name}"), token(*on));
                }
                RestartCandidate {
                    workload: workload(&name),
                    token: (*want > 0).then(|| token(*want)),
                    template_token: (*on > 0).then(|| token(*on)),
                    rolled_out: *rolled,
                }
            })
            .collect();
        let plan = plan_restarts(&cands, &issued, one);
        for (w, t) in &plan.restarts {
            let c = cands.iter().find(|c| c.workload == *w).unwrap();
            prop_assert!(c.template_token.as_ref() != Some(t));
            let id = format!("Deployment/{}", w.name);
            prop_assert!(issued.get(&id) != Some(t));
            prop_assert!(c.rolled_out);
        }
        if one {
            prop_assert!(plan.restarts.len() <= 1);
            prop_assert!(!plan.rolling || plan.restarts.is_empty());
        }
    }
}

/// A status that already says "rolled out" while the old pods are still the ones running
/// (a stale or eager workload status) is not settled: every pod must carry the template's
/// restart token.
#[test]
fn a_restart_is_settled_only_once_every_pod_carries_its_token() {
    let old = [
        pod("web-1", 1, "200m", "128Mi"),
        pod("web-2", 1, "200m", "128Mi"),
    ];
    assert!(settled(true, 2, &old, None));
    assert!(!settled(true, 2, &old, Some("suggestion-s1")));
    let new: Vec<PodView> = old
        .iter()
        .map(|p| PodView {
            restart_token: Some("suggestion-s1".into()),
            ..p.clone()
        })
        .collect();
    assert!(settled(true, 2, &new, Some("suggestion-s1")));
    assert!(!settled(false, 2, &new, Some("suggestion-s1")));
    assert!(!settled(true, 3, &new, Some("suggestion-s1")));
}

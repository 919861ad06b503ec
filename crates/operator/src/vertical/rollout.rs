//! One step of bringing a workload's running pods to the suggestion: which pods to resize
//! in place, which to evict, and which to leave for now. Pure: the pods as the cluster
//! shows them in, actions out. Nothing is remembered between steps except what the
//! cluster shows (pod specs, resize conditions, readiness, creation times) and the set of
//! pods whose resize the API refused, so an operator restarted mid-rollout continues where
//! the cluster is, never doubling an eviction.
//!
//! Safety rules, in the order they apply:
//! - A pod is at the suggestion when every covered container runs within the dead band
//!   (`DEAD_BAND`, 5 %) of its desired values (`desired::desired_resources`).
//! - A pod that is not Ready, or is going away, is left alone and counts as disrupted.
//! - A resize in flight is waited for: `Deferred` up to `DEFERRED_GRACE` (5 min),
//!   `InProgress` up to `IN_PROGRESS_GRACE` (1 h); after that, or at once for
//!   `Infeasible`, `Error` and a resize the API refused, the pod falls back to eviction
//!   where the mode allows it (`in_place_or_recreate`, `recreate`) and is reported
//!   otherwise (`in_place`).
//! - Evictions: at most `max_disrupted` pods of the workload are disrupted at once,
//!   counting every pod that is not Ready and every missing replica, and none within
//!   `interval` of the last disruption (the newest pod's creation: an evicted pod's
//!   replacement). A pod created after the suggestion that still does not carry it is
//!   not evicted again: its replacement would come back the same (the pod webhook gives
//!   new pods the suggestion); that is reported instead of looping.
//! - Pods are taken oldest first, so none is starved by younger ones.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use prescale_api::mode::UpdateMode;
use prescale_api::quantity::Quantity;
use prescale_api::target::status::Suggestion;
use prescale_api::target::vertical::ResourceName;

use super::desired::{
    DesiredError, changed_resources, desired_resources, pod_qos, policy_for, recommendation_for,
};
use super::pods::{PodView, ResizeState};
use super::policy::VerticalPolicy;
use crate::actuate::{Action, ContainerChange};
use crate::collector::owners::WorkloadRef;

/// Changes smaller than this fraction of the running value are not applied.
pub const DEAD_BAND: f64 = 0.05;
pub const DEFERRED_GRACE: Duration = Duration::from_secs(5 * 60);
pub const IN_PROGRESS_GRACE: Duration = Duration::from_secs(3600);

pub struct WorkloadRollout<'a> {
    pub policy: &'a VerticalPolicy,
    pub suggestion: &'a Suggestion,
    /// Memory raised after OOM kills, per container.
    pub oom_floors: &'a BTreeMap<String, Quantity>,
    pub namespace: &'a str,
    pub workload: &'a WorkloadRef,
    pub replicas: u32,
    pub pods: &'a [PodView],
    /// Pods whose resize the API refused for this suggestion.
    pub refused: &'a BTreeSet<String>,
    /// When this process last evicted a pod of the workload (seconds): until the cache
    /// shows the eviction, the pods alone do not tell that a disruption just happened.
    pub last_eviction: Option<i64>,
    /// Seconds.
    pub now: i64,
}

/// The step decided for one workload.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RolloutPlan {
    pub actions: Vec<Action>,
    /// Pods (not going away) and how many of them run the suggestion.
    pub pods: usize,
    pub at_suggestion: usize,
    /// Why pods are not moving, for the status and logs (pod: reason).
    pub held: Vec<String>,
}

/// How one pod would reach its desired resources.
enum Way {
    Resize,
    Evict(String),
    Hold(String),
}

fn within_dead_band(
    actual: &k8s_openapi::api::core::v1::ResourceRequirements,
    desired: &k8s_openapi::api::core::v1::ResourceRequirements,
) -> bool {
    let value =
        |m: &Option<BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>>,
         k: &str| {
            m.as_ref()
                .and_then(|m| m.get(k))
                .and_then(|q| q.0.parse::<Quantity>().ok())
                .map(Quantity::as_f64)
        };
    ["cpu", "memory"].into_iter().all(|k| {
        [
            (&actual.requests, &desired.requests),
            (&actual.limits, &desired.limits),
        ]
        .into_iter()
        .all(|(a, d)| match (value(a, k), value(d, k)) {
            (Some(a), Some(d)) => (d - a).abs() <= DEAD_BAND * a.abs(),
            (a, d) => a == d,
        })
    })
}

fn memory_limit_decreases(c: &ContainerChange) -> bool {
    let limit = |r: &k8s_openapi::api::core::v1::ResourceRequirements| {
        r.limits
            .as_ref()
            .and_then(|l| l.get("memory"))
            .and_then(|q| q.0.parse::<Quantity>().ok())
    };
    matches!((limit(&c.old), limit(&c.new)), (Some(o), Some(n)) if n < o)
}

/// The desired change of each covered container of `pod` that is outside the dead band
/// of what it runs (empty: the pod is at the suggestion).
fn changes(r: &WorkloadRollout, pod: &PodView) -> Result<Vec<ContainerChange>, DesiredError> {
    let qos = pod_qos(pod.containers.iter().map(|c| &c.actual))?;
    let id = format!("{}/{}", r.workload.kind, r.workload.name);
    let mut out = vec![];
    for c in &pod.containers {
        let (Some(policy), Some(rec)) = (
            policy_for(&r.policy.containers, &c.name),
            recommendation_for(&r.suggestion.containers, &id, &c.name),
        ) else {
            continue;
        };
        let new = desired_resources(
            &c.actual,
            rec,
            policy,
            r.oom_floors.get(&c.name).copied(),
            qos,
        )?;
        if !within_dead_band(&c.actual, &new) {
            out.push(ContainerChange {
                name: c.name.clone(),
                old: c.actual.clone(),
                new,
            });
        }
    }
    Ok(out)
}

fn way(
    r: &WorkloadRollout,
    pod: &PodView,
    changes: &[ContainerChange],
) -> Result<Way, DesiredError> {
    let p = r.policy;
    let can_evict = matches!(
        p.update_mode,
        UpdateMode::Recreate | UpdateMode::InPlaceOrRecreate
    );
    let fallback = |why: String| {
        if can_evict {
            Way::Evict(why)
        } else {
            Way::Hold(format!(
                "{why}; in_place never evicts: retried when the suggestion changes"
            ))
        }
    };
    let waited = |since: Option<i64>| since.map_or(0, |s| (r.now - s).max(0)) as u64;
    match pod.resize {
        Some((ResizeState::Infeasible, _)) => {
            return Ok(fallback("the resize is Infeasible on its node".into()));
        }
        Some((ResizeState::Error, _)) => {
            return Ok(fallback("the kubelet failed to apply the resize".into()));
        }
        Some((ResizeState::Deferred, since)) if waited(since) >= DEFERRED_GRACE.as_secs() => {
            return Ok(fallback("the resize was Deferred for 5 minutes".into()));
        }
        Some((ResizeState::InProgress, since)) if waited(since) >= IN_PROGRESS_GRACE.as_secs() => {
            return Ok(fallback("the resize was in progress for an hour".into()));
        }
        Some((state, _)) => return Ok(Way::Hold(format!("waiting for a resize ({state:?})"))),
        None => {}
    }
    if r.refused.contains(&pod.name) {
        return Ok(fallback("the API server refused the resize".into()));
    }
    match p.update_mode {
        UpdateMode::Initial => Ok(Way::Hold(
            "update_mode initial: only new pods get the suggestion".into(),
        )),
        UpdateMode::Recreate => Ok(Way::Evict("update_mode recreate".into())),
        UpdateMode::InPlace | UpdateMode::InPlaceOrRecreate => {
            let mut changed = BTreeSet::new();
            for c in changes {
                for resource in changed_resources(&c.old, &c.new)? {
                    changed.insert(format!("{resource:?}"));
                }
            }
            let recreate: Vec<&ResourceName> = p
                .recreate_resources
                .iter()
                .filter(|r| changed.contains(&format!("{r:?}")))
                .collect();
            if p.update_mode == UpdateMode::InPlaceOrRecreate && !recreate.is_empty() {
                return Ok(Way::Evict(format!(
                    "{recreate:?} changes are applied by recreating (recreate_resources)"
                )));
            }
            if !p.allow_memory_limit_decrease && changes.iter().any(memory_limit_decreases) {
                return Ok(fallback(
                    "a memory limit decrease needs in_place_resizing.allow_restart_on_memory_limit_decrease".into(),
                ));
            }
            Ok(Way::Resize)
        }
    }
}

/// One step for one workload.
pub fn plan_workload(r: &WorkloadRollout) -> Result<RolloutPlan, DesiredError> {
    let mut plan = RolloutPlan::default();
    // Oldest first: a pod is never starved by younger ones when suggestions keep coming
    // (each new one makes the previous replacements due again).
    let mut pods: Vec<&PodView> = r.pods.iter().collect();
    pods.sort_by(|a, b| (a.created, &a.name).cmp(&(b.created, &b.name)));
    let live = pods.iter().filter(|p| !p.deleting).count();
    let not_ready = pods.iter().filter(|p| p.deleting || !p.ready).count();
    let missing = (r.replicas as usize).saturating_sub(live);
    let budget = r.policy.max_disrupted.pods(r.replicas.max(live as u32)) as usize;
    let mut evictions_left = budget.saturating_sub(not_ready + missing);
    let last_disruption = pods.iter().map(|p| p.created).chain(r.last_eviction).max();
    let quiet = last_disruption.is_none_or(|t| r.now - t >= r.policy.interval.as_secs() as i64);
    let suggested_at = r.suggestion.time.as_ref().map(|t| t.0.as_second());
    for pod in pods.iter().filter(|p| !p.deleting) {
        plan.pods += 1;
        let changes = changes(r, pod)?;
        if changes.is_empty() {
            plan.at_suggestion += 1;
            continue;
        }
        if !pod.ready {
            plan.held.push(format!("{}: not Ready", pod.name));
            continue;
        }
        let evict = |why: String, plan: &mut RolloutPlan, left: &mut usize| {
            if suggested_at.is_some_and(|s| pod.created > s) {
                plan.held.push(format!(
                    "{}: created after the suggestion without it; recreating it again would not help (is the pod webhook installed?)",
                    pod.name
                ));
            } else if !quiet {
                plan.held
                    .push(format!("{}: waiting for the disruption interval", pod.name));
            } else if *left == 0 {
                plan.held
                    .push(format!("{}: the disruption budget is used up", pod.name));
            } else {
                *left -= 1;
                plan.actions.push(Action::Evict {
                    namespace: r.namespace.into(),
                    pod: pod.name.clone(),
                    workload: r.workload.clone(),
                    containers: changes.clone(),
                    why,
                });
            }
        };
        match way(r, pod, &changes)? {
            Way::Hold(why) => plan.held.push(format!("{}: {why}", pod.name)),
            Way::Evict(why) => evict(why, &mut plan, &mut evictions_left),
            Way::Resize => {
                // The spec already asks for it: the kubelet is on it (or reports why not).
                let asked = pod.containers.iter().all(|c| {
                    changes
                        .iter()
                        .find(|ch| ch.name == c.name)
                        .is_none_or(|ch| within_dead_band(&c.spec, &ch.new))
                });
                if asked {
                    plan.held.push(format!(
                        "{}: resize asked, waiting for the kubelet",
                        pod.name
                    ));
                } else {
                    plan.actions.push(Action::Resize {
                        namespace: r.namespace.into(),
                        pod: pod.name.clone(),
                        workload: r.workload.clone(),
                        containers: changes,
                    });
                }
            }
        }
    }
    Ok(plan)
}

#[cfg(test)]
#[path = "rollout_tests.rs"]
mod tests;

//! What a target's plan asks of the cluster this round, and what `AbleToScale` says about
//! it. Pure: the target's inputs and its current suggestion in, actions and a condition
//! out. The vertical rollout runs only when the target's `vertical.mode` is autonomous,
//! the system-wide pause is off and the suggestion has enough data to scale
//! (`hasEnoughDataToScale`); then each workload takes one step of `vertical::rollout`.
//!
//! `AbleToScale` reasons:
//! - `RecommendationMode` (True): nothing is applied.
//! - `ScalingPaused` (False): the system-wide pause is on; nothing new is applied.
//! - Only `horizontal` autonomous: `horizontal::floor`'s reason — `Applied` / `Applying`
//!   (True: the floor is held, the workload is being scaled up to it), `WaitingForData`
//!   (True), `NoSingleWorkload` / `HpaNotFound` / `MultipleHpas` / `MissingRequests`
//!   (False: nothing is applied, the message says what to fix), `FloorNotHeld` (False:
//!   the HPA undid the last raise — the `*/scale` webhook is not answering — so the next
//!   waits `RAISE_INTERVAL_SECS`). With vertical autonomous
//!   too, horizontal's note is added to the vertical message and its action to the step.
//! - `InvalidVerticalPolicy` (False): `spec.vertical` or a container's resources cannot be
//!   read (the field is named).
//! - `WaitingForData` (True): autonomous, but the suggestion is missing or has not enough
//!   history yet; nothing is applied until it has.
//! - `Applying` (True): some pods do not run the suggestion yet; the message counts them
//!   and says why the ones held are held.
//! - `Applied` (True): every pod of every workload runs the suggestion (within the dead
//!   band).
//! - `AppliedAtCreation` (True): `update_mode: initial` and nothing left to do: new pods
//!   get the suggestion when they are created, running ones keep their requests (the
//!   message counts how many run it). Terminal: the target is not rechecked for it.
//! - `Deleting` (False): the target is deleted; the message says where its revert is.
//!
//! Beside the step, `super::revert` decides the revert of a target that is not (or no
//! longer) autonomous or is deleted, and what to do with its finalizer; its note is added
//! to the message. A selector target in `recreate` mode restarts its workloads one at a
//! time (`vertical::restarts`, token `suggestion-<id>`) instead of evicting their pods:
//! seed 001's "restarts each matching pod controller one by one when a suggestion comes
//! in".

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use prescale_api::mode::{Scaling, UpdateMode};
use prescale_api::quantity::Quantity;
use prescale_api::target::status::{ReplicaFloor, Suggestion};

use super::plan::TargetInputs;

/// `AbleToScale` of an `update_mode: initial` target with nothing left to apply.
pub const APPLIED_AT_CREATION: &str = "AppliedAtCreation";
use super::replicas::{floor_of, horizontal_autonomous};
use super::revert::{FinalizerChange, REVERT_RECHECK, RevertInputs, revert};
use crate::actuate::Action;
use crate::collector::owners::WorkloadRef;
use crate::horizontal::floor::FloorDecision;
use crate::vertical::policy::vertical_policy;
use crate::vertical::restarts::{RestartCandidate, plan_restarts, settled, suggestion_token};
use crate::vertical::rollout::{WorkloadRollout, plan_workload};

/// Held pods named in the condition's message (the rest are counted).
const HELD_SHOWN: usize = 3;

/// What the plan asks of the cluster this round.
#[derive(Debug, Clone, PartialEq)]
pub struct Actuation {
    pub actions: Vec<Action>,
    /// `AbleToScale`: status, reason, message.
    pub able: (&'static str, &'static str, String),
    /// The suggestion this round's rollout step processed.
    pub processed: Option<String>,
    /// How soon (cluster time) the target should be looked at again: a rollout that is not
    /// finished continues after the disruption interval at the latest.
    pub recheck: Option<Duration>,
    /// What to do with the target's finalizer, and whether a deleted target's revert
    /// timed out (`super::revert`).
    pub finalizer: FinalizerChange,
    pub revert_timed_out: bool,
    /// Per workload (`Kind/name`): its pods, and how many run the suggestion. Empty when
    /// no rollout step was planned.
    pub pods: BTreeMap<String, PodCounts>,
    /// The replica floor published this round (`horizontal::floor`).
    pub floor: Option<ReplicaFloor>,
    /// The horizontal part's `AbleToScale` reason.
    pub floor_reason: &'static str,
}

/// Pods of one workload (not going away), and how many of them run the suggestion.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PodCounts {
    pub pods: usize,
    pub at_suggestion: usize,
}

impl PodCounts {
    /// Over all workloads of a target.
    pub fn total(per_workload: &BTreeMap<String, PodCounts>) -> PodCounts {
        per_workload
            .values()
            .fold(PodCounts::default(), |t, c| PodCounts {
                pods: t.pods + c.pods,
                at_suggestion: t.at_suggestion + c.at_suggestion,
            })
    }
}

impl Actuation {
    fn only(able: (&'static str, &'static str, String)) -> Self {
        Actuation {
            actions: vec![],
            able,
            processed: None,
            recheck: None,
            pods: BTreeMap::new(),
            finalizer: FinalizerChange::Keep,
            revert_timed_out: false,
            floor: None,
            floor_reason: "",
        }
    }
}

/// The workload id a suggestion names containers by (`Kind/name`).
pub fn workload_id(kind: &str, name: &str) -> String {
    format!("{kind}/{name}")
}

/// Whether the target's `vertical.mode` is autonomous.
fn vertical_autonomous(i: &TargetInputs) -> bool {
    i.spec
        .vertical
        .as_ref()
        .and_then(|v| v.mode.as_ref())
        .and_then(|m| m.scaling())
        == Some(Scaling::Autonomous)
}

/// This round's actuation of target `i`, whose current suggestion is `suggestion`: the
/// revert (`super::revert`) and, for a target that is not deleted, the rollout step.
/// `oom_adjusted_memory` holds the memory floors OOM remediation decided this round.
pub fn actuation(
    i: &TargetInputs,
    suggestion: Option<&Suggestion>,
    oom_adjusted_memory: &BTreeMap<String, String>,
) -> Actuation {
    let revert = revert(&RevertInputs {
        namespace: &i.namespace,
        vertical_autonomous: vertical_autonomous(i),
        has_finalizer: i.has_finalizer,
        deleting_since: i.deleting_since,
        paused: i.pause.paused,
        workloads: &i.workloads,
        issued: &i.restarts_issued,
        now: i.now.as_second(),
    });
    let recheck = (revert.finalizer == FinalizerChange::Keep && revert.note.is_some())
        .then_some(REVERT_RECHECK);
    if i.deleting_since.is_some() {
        let message = revert.note.clone().unwrap_or_else(|| {
            "the target is deleted; none of its workloads needs reverting".into()
        });
        return Actuation {
            actions: revert.actions,
            able: ("False", "Deleting", message),
            processed: None,
            recheck,
            pods: BTreeMap::new(),
            finalizer: revert.finalizer,
            revert_timed_out: revert.timed_out,
            floor: None,
            floor_reason: "Deleting",
        };
    }
    let floor = floor_of(i, suggestion);
    let floor_reason = floor.reason;
    let published = floor.floor.clone();
    let mut step = rollout_step(i, suggestion, oom_adjusted_memory, floor);
    step.floor = published;
    step.floor_reason = floor_reason;
    step.actions.extend(revert.actions);
    if let Some(note) = revert.note {
        step.able.2.push_str(&format!("; {note}"));
    }
    step.recheck = match (step.recheck, recheck) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    step.finalizer = revert.finalizer;
    step
}

/// The rollout step of a target that is not deleted.
fn rollout_step(
    i: &TargetInputs,
    suggestion: Option<&Suggestion>,
    oom_adjusted_memory: &BTreeMap<String, String>,
    floor: FloorDecision,
) -> Actuation {
    let vertical = i.spec.vertical.as_ref();
    let vertical_auto = vertical_autonomous(i);
    let horizontal_auto = horizontal_autonomous(i);
    let pause_note = i
        .pause
        .problem
        .as_deref()
        .map(|p| format!(" ({p})"))
        .unwrap_or_default();
    if !vertical_auto && !horizontal_auto {
        return Actuation::only((
            "True",
            "RecommendationMode",
            "recommendation mode: suggestions are reported, nothing is applied".into(),
        ));
    }
    if i.pause.paused {
        return Actuation::only((
            "False",
            "ScalingPaused",
            "the system-wide pause is on: running pods keep what was applied, nothing new is applied".into(),
        ));
    }
    let horizontal_note = if horizontal_auto {
        format!("; {}", floor.note)
    } else {
        String::new()
    };
    if !vertical_auto {
        let ok = !crate::horizontal::floor::HPA_PROBLEMS.contains(&floor.reason);
        // A scale-up in steps continues within a minute (cluster time); a raise the HPA
        // undid is tried again once its interval has passed.
        let recheck = if floor.action.is_some() {
            Some(Duration::from_secs(60))
        } else if floor.reason == "FloorNotHeld" {
            Some(Duration::from_secs(
                crate::horizontal::floor::RAISE_INTERVAL_SECS as u64,
            ))
        } else {
            None
        };
        return Actuation {
            actions: floor.action.into_iter().collect(),
            recheck,
            ..Actuation::only((
                if ok { "True" } else { "False" },
                floor.reason,
                format!("{}{pause_note}", floor.note),
            ))
        };
    }
    let policy = match vertical_policy(vertical) {
        Ok(Some(p)) => p,
        // Without a `vertical` block the mode is not autonomous: not reached.
        Ok(None) => {
            return Actuation::only((
                "False",
                "InvalidVerticalPolicy",
                "spec.vertical: missing".into(),
            ));
        }
        Err(e) => {
            return Actuation::only(("False", "InvalidVerticalPolicy", e.to_string()));
        }
    };
    let Some(s) = suggestion.filter(|s| s.has_enough_data_to_scale) else {
        return Actuation::only((
            "True",
            "WaitingForData",
            format!(
                "autonomous ({:?}): nothing is applied until a suggestion has enough data to scale{horizontal_note}{pause_note}",
                policy.update_mode
            ),
        ));
    };
    let oom_floors: BTreeMap<String, Quantity> = oom_adjusted_memory
        .iter()
        .filter_map(|(c, q)| Some((c.clone(), q.parse::<Quantity>().ok()?)))
        .collect();
    let refused: BTreeSet<String> = i
        .refused
        .iter()
        .filter(|(id, _)| *id == s.id)
        .map(|(_, pod)| pod.clone())
        .collect();
    let now = i.now.as_second();
    let (mut actions, mut counts, mut held) = (vec![], BTreeMap::new(), vec![]);
    // A selector target in recreate mode restarts its workloads one by one.
    let restart_workloads =
        i.spec.scale_target_ref.is_none() && policy.update_mode == UpdateMode::Recreate;
    let mut candidates = vec![];
    for w in &i.workloads {
        let workload = WorkloadRef {
            kind: w.kind.clone(),
            name: w.name.clone(),
        };
        let step = plan_workload(&WorkloadRollout {
            policy: &policy,
            suggestion: s,
            oom_floors: &oom_floors,
            namespace: &i.namespace,
            workload: &workload,
            replicas: w.replicas,
            pods: &w.running,
            refused: &refused,
            last_eviction: i
                .last_evictions
                .get(&workload_id(&w.kind, &w.name))
                .copied(),
            now,
        });
        match step {
            Ok(step) if restart_workloads => {
                counts.insert(
                    workload_id(&w.kind, &w.name),
                    PodCounts {
                        pods: step.pods,
                        at_suggestion: step.at_suggestion,
                    },
                );
                candidates.push(RestartCandidate {
                    token: (step.at_suggestion < step.pods).then(|| suggestion_token(&s.id)),
                    workload,
                    template_token: w.restart_token.clone(),
                    rolled_out: settled(
                        w.rolled_out,
                        w.replicas,
                        &w.running,
                        w.restart_token.as_deref(),
                    ),
                });
            }
            Ok(step) => {
                actions.extend(step.actions);
                counts.insert(
                    workload_id(&w.kind, &w.name),
                    PodCounts {
                        pods: step.pods,
                        at_suggestion: step.at_suggestion,
                    },
                );
                held.extend(step.held);
            }
            Err(e) => {
                return Actuation::only(("False", "InvalidVerticalPolicy", e.to_string()));
            }
        }
    }
    if restart_workloads {
        let plan = plan_restarts(&candidates, &i.restarts_issued, true);
        held.extend(plan.waiting);
        actions.extend(
            plan.restarts
                .into_iter()
                .map(|(workload, token)| Action::Restart {
                    namespace: i.namespace.clone(),
                    workload,
                    token,
                    why: format!(
                        "suggestion {} (recreate, selector target: one workload at a time)",
                        s.id
                    ),
                }),
        );
    }
    let PodCounts {
        pods,
        at_suggestion: at,
    } = PodCounts::total(&counts);
    actions.extend(floor.action);
    let steps = action_counts(&actions);
    // `initial` applies at pod creation only (the pod webhook): with no action left, its
    // running pods keep their requests by design, so nothing is pending and nothing is
    // rechecked; new pods (a pod change wakes the target) are counted as they come.
    let (reason, recheck) = if at == pods && actions.is_empty() {
        ("Applied", None)
    } else if policy.update_mode == UpdateMode::Initial && actions.is_empty() {
        (APPLIED_AT_CREATION, None)
    } else {
        ("Applying", Some(policy.interval))
    };
    let mut message = format!(
        "{at} of {pods} pods run suggestion {} ({:?}){steps}",
        s.id, policy.update_mode
    );
    if !held.is_empty() {
        let shown = held.iter().take(HELD_SHOWN).cloned().collect::<Vec<_>>();
        message.push_str(&format!("; held: {}", shown.join("; ")));
        if held.len() > HELD_SHOWN {
            message.push_str(&format!(" and {} more", held.len() - HELD_SHOWN));
        }
    }
    message.push_str(&horizontal_note);
    message.push_str(&pause_note);
    Actuation {
        actions,
        able: ("True", reason, message),
        processed: Some(s.id.clone()),
        recheck,
        pods: counts,
        finalizer: FinalizerChange::Keep,
        revert_timed_out: false,
        floor: None,
        floor_reason: "",
    }
}

/// `; this step: 2 resize, 1 evict` (empty when the step takes no action).
fn action_counts(actions: &[Action]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for a in actions {
        *counts.entry(a.kind()).or_default() += 1;
    }
    if counts.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
    format!("; this step: {}", parts.join(", "))
}

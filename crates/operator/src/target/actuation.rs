//! What a target's plan asks of the cluster this round, and what `AbleToScale` says about
//! it. Pure: the target's inputs and its current suggestion in, actions and a condition
//! out. The vertical rollout runs only when the target's `vertical.mode` is autonomous,
//! the system-wide pause is off and the suggestion has enough data to scale
//! (`hasEnoughDataToScale`); then each workload takes one step of `vertical::rollout`.
//!
//! `AbleToScale` reasons:
//! - `RecommendationMode` (True): nothing is applied.
//! - `ScalingPaused` (False): the system-wide pause is on; nothing new is applied.
//! - `ActuationNotAvailable` (False): only `horizontal` is autonomous, and replica floors
//!   are not applied by this version.
//! - `InvalidVerticalPolicy` (False): `spec.vertical` or a container's resources cannot be
//!   read (the field is named).
//! - `WaitingForData` (True): autonomous, but the suggestion is missing or has not enough
//!   history yet; nothing is applied until it has.
//! - `Applying` (True): some pods do not run the suggestion yet; the message counts them
//!   and says why the ones held are held.
//! - `Applied` (True): every pod of every workload runs the suggestion (within the dead
//!   band).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use prescale_api::mode::Scaling;
use prescale_api::quantity::Quantity;
use prescale_api::target::status::Suggestion;

use super::plan::TargetInputs;
use crate::actuate::Action;
use crate::collector::owners::WorkloadRef;
use crate::vertical::policy::vertical_policy;
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
}

impl Actuation {
    fn only(able: (&'static str, &'static str, String)) -> Self {
        Actuation {
            actions: vec![],
            able,
            processed: None,
            recheck: None,
        }
    }
}

/// The workload id a suggestion names containers by (`Kind/name`).
pub fn workload_id(kind: &str, name: &str) -> String {
    format!("{kind}/{name}")
}

/// This round's actuation of target `i`, whose current suggestion is `suggestion`.
pub fn actuation(
    i: &TargetInputs,
    suggestion: Option<&Suggestion>,
    oom_adjusted_memory: &BTreeMap<String, String>,
) -> Actuation {
    let vertical = i.spec.vertical.as_ref();
    let scaling = |m: Option<&prescale_api::mode::DirectionMode>| m.and_then(|m| m.scaling());
    let vertical_auto =
        scaling(vertical.and_then(|v| v.mode.as_ref())) == Some(Scaling::Autonomous);
    let horizontal_auto = scaling(i.spec.horizontal.as_ref().and_then(|h| h.mode.as_ref()))
        == Some(Scaling::Autonomous);
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
        "; horizontal: replica floors are not applied by this version"
    } else {
        ""
    };
    if !vertical_auto {
        return Actuation::only((
            "False",
            "ActuationNotAvailable",
            format!(
                "horizontal autonomous actuation (replica floors) is not available in this version; suggestions are reported only{pause_note}"
            ),
        ));
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
    let (mut actions, mut pods, mut at, mut held) = (vec![], 0, 0, vec![]);
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
            Ok(step) => {
                actions.extend(step.actions);
                pods += step.pods;
                at += step.at_suggestion;
                held.extend(step.held);
            }
            Err(e) => {
                return Actuation::only(("False", "InvalidVerticalPolicy", e.to_string()));
            }
        }
    }
    let counts = action_counts(&actions);
    let (reason, recheck) = if at == pods && actions.is_empty() {
        ("Applied", None)
    } else {
        ("Applying", Some(policy.interval))
    };
    let mut message = format!(
        "{at} of {pods} pods run suggestion {} ({:?}){counts}",
        s.id, policy.update_mode
    );
    if !held.is_empty() {
        let shown = held.iter().take(HELD_SHOWN).cloned().collect::<Vec<_>>();
        message.push_str(&format!("; held: {}", shown.join("; ")));
        if held.len() > HELD_SHOWN {
            message.push_str(&format!(" and {} more", held.len() - HELD_SHOWN));
        }
    }
    message.push_str(horizontal_note);
    message.push_str(&pause_note);
    Actuation {
        actions,
        able: ("True", reason, message),
        processed: Some(s.id.clone()),
        recheck,
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

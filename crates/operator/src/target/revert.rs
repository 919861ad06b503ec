//! Seed 002's revert: a target switched to recommendation mode, or deleted, gives its
//! workloads back to their own controller spec through a rolling restart — only when
//! prescale had changed their pods (`vertical::restarts::changed_pods`). Pure: the
//! target's inputs in, restarts and what to do with the finalizer out.
//!
//! The finalizer (`TARGET_FINALIZER`, `thoras.ai/revert`) records that the target was
//! autonomous, so it may have changed pods:
//! - added to a target whose `vertical.mode` is autonomous;
//! - on a target that is not (any more) autonomous: its changed workloads are restarted
//!   (all at once, each at its own controller's pace), and the finalizer is removed once
//!   every restart is issued — at once when nothing needs reverting. A target without it
//!   never restarts anything, so a recommendation-mode target never restarts pods someone
//!   else resized;
//! - on a deleted target: the same, and the finalizer is removed after the restarts are
//!   issued, or after `REVERT_TIMEOUT` (10 minutes) whatever happened (the pause, a rollout
//!   that does not finish, a failing API), so deletion is never blocked for longer.
//!
//! The system-wide pause halts the revert as it halts every apply ("pausing does not
//! restart workload pods"): a mode switch is reverted when the pause lifts; a deletion
//! waits for it until the timeout.

use std::collections::BTreeMap;
use std::time::Duration;

use prescale_api::defaults::REVERT_TIMEOUT;

use super::plan::WorkloadInput;
use crate::actuate::Action;
use crate::collector::owners::WorkloadRef;
use crate::vertical::restarts::{
    RestartCandidate, changed_pods, plan_restarts, revert_token, settled,
};

/// What to do with the target's finalizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinalizerChange {
    Keep,
    Add,
    /// Remove it once this round's actions are carried out (every one of them done).
    Remove,
}

/// What the revert step decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Revert {
    pub actions: Vec<Action>,
    pub finalizer: FinalizerChange,
    /// What the revert is doing, for the `AbleToScale` message (`None`: nothing to say).
    pub note: Option<String>,
    /// The deleted target waited `REVERT_TIMEOUT`: the finalizer goes without the revert.
    pub timed_out: bool,
}

impl Revert {
    fn only(finalizer: FinalizerChange, note: Option<String>) -> Self {
        Revert {
            actions: vec![],
            finalizer,
            note,
            timed_out: false,
        }
    }
}

pub struct RevertInputs<'a> {
    pub namespace: &'a str,
    pub vertical_autonomous: bool,
    pub has_finalizer: bool,
    /// The target's deletionTimestamp (seconds), when it is being deleted.
    pub deleting_since: Option<i64>,
    pub paused: bool,
    pub workloads: &'a [WorkloadInput],
    /// The last restart token this process issued per workload (`Kind/name`).
    pub issued: &'a BTreeMap<String, String>,
    /// Seconds.
    pub now: i64,
}

/// The revert step of one target.
pub fn revert(i: &RevertInputs) -> Revert {
    let deleting = i.deleting_since.is_some();
    if !deleting && i.vertical_autonomous {
        let change = if i.has_finalizer {
            FinalizerChange::Keep
        } else {
            FinalizerChange::Add
        };
        return Revert::only(change, None);
    }
    if !i.has_finalizer {
        return Revert::only(FinalizerChange::Keep, None);
    }
    if let Some(since) = i.deleting_since
        && i.now - since >= REVERT_TIMEOUT.as_secs() as i64
    {
        return Revert {
            actions: vec![],
            finalizer: FinalizerChange::Remove,
            note: Some(format!(
                "the revert did not finish within {} minutes of the deletion; the finalizer is removed without it",
                REVERT_TIMEOUT.as_secs() / 60
            )),
            timed_out: true,
        };
    }
    if i.paused {
        return Revert::only(
            FinalizerChange::Keep,
            Some(
                "the revert to the workloads' own spec waits for the system-wide pause to lift"
                    .into(),
            ),
        );
    }
    let candidates: Vec<RestartCandidate> = i
        .workloads
        .iter()
        .map(|w| {
            let changed = changed_pods(&w.template, &w.running);
            RestartCandidate {
                workload: WorkloadRef {
                    kind: w.kind.clone(),
                    name: w.name.clone(),
                },
                token: (!changed.is_empty()).then(|| revert_token(&changed)),
                template_token: w.restart_token.clone(),
                rolled_out: settled(
                    w.rolled_out,
                    w.replicas,
                    &w.running,
                    w.restart_token.as_deref(),
                ),
            }
        })
        .collect();
    let plan = plan_restarts(&candidates, i.issued, false);
    let why = if deleting {
        "the target is deleted: back to the workload's own spec"
    } else {
        "the target left autonomous mode: back to the workload's own spec"
    };
    let actions: Vec<Action> = plan
        .restarts
        .iter()
        .map(|(workload, token)| Action::Restart {
            namespace: i.namespace.into(),
            workload: workload.clone(),
            token: token.clone(),
            why: why.into(),
        })
        .collect();
    let finalizer = if plan.waiting.is_empty() {
        FinalizerChange::Remove
    } else {
        FinalizerChange::Keep
    };
    let note = match (actions.len(), plan.waiting.as_slice()) {
        (0, []) => None,
        (n, []) => Some(format!(
            "reverting: {n} workload(s) restarted to their own spec"
        )),
        (n, waiting) => Some(format!(
            "reverting: {n} workload(s) restarted now; waiting: {}",
            waiting.join("; ")
        )),
    };
    Revert {
        actions,
        finalizer,
        note,
        timed_out: false,
    }
}

/// How soon to look again at a target whose revert waits (a rollout, the pause): the
/// changes of its workloads wake it sooner.
pub const REVERT_RECHECK: Duration = Duration::from_secs(30);

#[cfg(test)]
#[path = "revert_tests.rs"]
mod tests;

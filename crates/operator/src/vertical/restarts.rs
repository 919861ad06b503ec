//! Rolling restarts of a target's workloads, decided from what the cluster shows: the
//! revert of seed 002 (recommendation mode, deletion: pods go back to their controller's
//! own spec) and the restart of a selector target's workloads when a suggestion comes in
//! (`recreate`). Pure: the workloads as the cache shows them in, restarts out.
//!
//! A restart is the pod-template annotation `thoras.ai/restart` (`actuate::restart`) with
//! a token derived from what the restart is for, so the same restart is never made twice:
//! - a revert's token is a hash of the changed pods (name and creation time): the pods a
//!   restart replaces never come back, so a token once on the template is never needed
//!   again; pods changed later (the target autonomous again) give a new token;
//! - a suggestion's token is the suggestion's id.
//!
//! A token already on the workload's template, or issued by this process and not yet in
//! the cache, is not issued again: an operator restarted mid-rollout (or a new leader)
//! reads it back from the template. A workload whose controller is still rolling out
//! (`WorkloadView::rolled_out` false) is never restarted: its pods are moving, and what
//! they run is decided when they settle.
//!
//! Which pods prescale changed: those whose spec requests differ from their workload's
//! pod template (cpu or memory of a container the template names). Nothing has to be
//! written to find out, it survives an operator restart, and it sees both an in-place
//! resize and a pod created with the suggestion. Another actor that resizes pods (a VPA)
//! looks the same; the revert is only ever made for a target that was autonomous (it
//! carries the finalizer, see `target::revert`), and then the restart is what the seed asks.

use std::collections::BTreeMap;

use prescale_api::quantity::Quantity;

use super::pods::PodView;
use crate::collector::owners::WorkloadRef;
use crate::workload::ContainerRequests;

/// Relative difference below which a pod's request equals the template's (quantities
/// round-trip through different spellings: `0.5` and `500m`).
const SAME: f64 = 1e-6;

/// How the tokens of prescale's own restarts begin.
const REVERT_PREFIX: &str = "revert-";
const SUGGESTION_PREFIX: &str = "suggestion-";

/// The live pods whose requests differ from the pod template's.
pub fn changed_pods<'a>(template: &[ContainerRequests], pods: &'a [PodView]) -> Vec<&'a PodView> {
    let request = |r: &k8s_openapi::api::core::v1::ResourceRequirements, k: &str| {
        r.requests
            .as_ref()
            .and_then(|m| m.get(k))
            .and_then(|q| q.0.parse::<Quantity>().ok())
            .map(Quantity::as_f64)
    };
    let differs = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() > SAME * a.abs().max(b.abs()),
        (a, b) => a.is_some() != b.is_some(),
    };
    pods.iter()
        .filter(|p| !p.deleting)
        .filter(|p| {
            p.containers.iter().any(|c| {
                template.iter().find(|t| t.name == c.name).is_some_and(|t| {
                    differs(request(&c.spec, "cpu"), t.cpu)
                        || differs(request(&c.spec, "memory"), t.memory)
                })
            })
        })
        .collect()
}

/// The token of the revert of `changed` pods: `revert-` and a hash of their names and
/// creation times (the same pods, the same token).
pub fn revert_token(changed: &[&PodView]) -> String {
    let mut ids: Vec<String> = changed
        .iter()
        .map(|p| format!("{}@{}", p.name, p.created))
        .collect();
    ids.sort();
    let hash = ids
        .join(",")
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    format!("{REVERT_PREFIX}{hash:016x}")
}

/// The token of a restart that brings a workload to suggestion `id`.
pub fn suggestion_token(id: &str) -> String {
    format!("{SUGGESTION_PREFIX}{id}")
}

/// Whether a workload has settled: its controller says its rollout is complete
/// (`rolled_out`) and its pods agree — as many live pods as replicas, every one Ready, none
/// going away. Either alone can be a moment behind the other.
pub fn settled(
    rolled_out: bool,
    replicas: u32,
    pods: &[PodView],
    template_token: Option<&str>,
) -> bool {
    // A restart's pods carry its token: until every pod does, the old pods still count,
    // whatever a (possibly stale) workload status says.
    rolled_out
        && pods.len() == replicas as usize
        && pods.iter().all(|p| {
            p.ready
                && !p.deleting
                && (template_token.is_none() || p.restart_token.as_deref() == template_token)
        })
}

/// What a workload is, as far as a restart goes.
#[derive(Debug, Clone, PartialEq)]
pub struct RestartCandidate {
    pub workload: WorkloadRef,
    /// Whether its pods need the restart (`None`: they do not), with the token it carries.
    pub token: Option<String>,
    /// The token on its pod template now.
    pub template_token: Option<String>,
    /// Whether it has settled (`settled`).
    pub rolled_out: bool,
}

/// A restart decided, and what the others wait for.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RestartPlan {
    /// (workload, token) to restart now.
    pub restarts: Vec<(WorkloadRef, String)>,
    /// Workloads whose restart was issued (on the template, or by this process).
    pub issued: usize,
    /// Workloads that still need a restart that is not issued (waiting their turn, or for
    /// their own rollout to finish), `Kind/name: why`.
    pub waiting: Vec<String>,
    /// Whether a workload restarted by prescale is still rolling out.
    pub rolling: bool,
}

impl RestartPlan {
    /// Nothing left to issue: every workload is clean or its restart is issued.
    pub fn all_issued(&self) -> bool {
        self.waiting.is_empty() && self.restarts.is_empty()
    }
}

/// The restarts due among `candidates`. `issued` holds the token of the last restart this
/// process made of each workload (`Kind/name`). `one_at_a_time`: a restart waits until the previous one has rolled
/// out (a selector target's workloads, one by one); otherwise every workload that needs it
/// is restarted at once (each rolls at its own controller's pace).
pub fn plan_restarts(
    candidates: &[RestartCandidate],
    issued: &BTreeMap<String, String>,
    one_at_a_time: bool,
) -> RestartPlan {
    let mut plan = RestartPlan::default();
    let mut sorted: Vec<&RestartCandidate> = candidates.iter().collect();
    sorted.sort_by(|a, b| {
        (&a.workload.kind, &a.workload.name).cmp(&(&b.workload.kind, &b.workload.name))
    });
    let mut due = vec![];
    for c in sorted {
        let id = format!("{}/{}", c.workload.kind, c.workload.name);
        let last = issued.get(&id).map(String::as_str);
        let ours = |token: &str| c.template_token.as_deref() == Some(token) || last == Some(token);
        // A restart this process issued that the cache does not show yet is rolling.
        let issued_unseen = last.is_some_and(|t| c.template_token.as_deref() != Some(t));
        let prescale_token = c
            .template_token
            .as_deref()
            .is_some_and(|t| t.starts_with(REVERT_PREFIX) || t.starts_with(SUGGESTION_PREFIX));
        if issued_unseen || (prescale_token && !c.rolled_out) {
            plan.rolling = true;
        }
        match &c.token {
            None => {}
            Some(token) if ours(token) => plan.issued += 1,
            Some(_) if !c.rolled_out => plan
                .waiting
                .push(format!("{id}: waiting for its rollout to finish")),
            Some(token) => due.push((c.workload.clone(), token.clone(), id)),
        }
    }
    for (workload, token, id) in due {
        if one_at_a_time && (plan.rolling || !plan.restarts.is_empty()) {
            plan.waiting.push(format!(
                "{id}: restarted after the previous one has rolled out"
            ));
        } else {
            plan.restarts.push((workload, token));
        }
    }
    plan
}

#[cfg(test)]
#[path = "restarts_tests.rs"]
mod tests;

//! What the pod webhook does with one new pod, as a pure function of plain data: the pod,
//! the target covering its workload (found in the cache by `pod_inputs`), the pause and
//! the clock. It never calls the API server.
//!
//! A pod is mutated only when all hold: its workload is covered by an AIScaleTarget whose
//! `vertical.mode` is autonomous, the system-wide pause is off, the target's suggestion
//! has enough data (`hasEnoughDataToScale`), and a container the target covers (its name
//! or `*` in `spec.vertical.containers`) has a recommendation. Each such container's
//! requests and limits become `vertical::desired::desired_resources` — the function the
//! vertical actuator uses for running pods — with the memory floor OOM remediation holds
//! (`status.oomAdjustedMemory`, until `oomStabilizationWindowExpiry`). Every other pod is
//! admitted unchanged, and why is counted (`Skip::reason`).
//!
//! A mutated pod carries two annotations: `ADMITTED_SUGGESTION` (`<target>/<suggestion
//! id>`) and `ADMITTED_RESOURCES` (JSON: per container, the requests and limits it had in
//! its controller's template and what it got).

use std::collections::BTreeMap;

use jiff::Timestamp;
use json_patch::Patch;
use k8s_openapi::api::core::v1::{Pod, ResourceRequirements};
use prescale_api::AIScaleTarget;
use prescale_api::mode::Scaling;
use serde_json::{Value, json};

use crate::collector::owners::WorkloadRef;
use crate::vertical::desired::{
    changed_resources, desired_resources, pod_qos, policy_for, recommendation_for,
};

/// The annotation naming the suggestion a mutated pod got.
pub const ADMITTED_SUGGESTION: &str = "thoras.ai/admitted-suggestion";
/// The annotation recording what was changed (JSON: container → {from, to}).
pub const ADMITTED_RESOURCES: &str = "thoras.ai/admitted-resources";

/// Why a pod was admitted unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// No workload prescale knows owns it (bare pod, DaemonSet, Job, not in the cache).
    NoWorkload,
    /// Its workload is not covered by any AIScaleTarget.
    NoTarget,
    /// The system-wide pause is on.
    Paused,
    /// The target's vertical mode is recommendation.
    RecommendationMode,
    /// The target has no suggestion yet.
    NoSuggestion,
    /// The suggestion comes from too little history.
    NotEnoughData,
    /// No container of the pod is both covered and recommended, or all are already at
    /// their desired values.
    NothingToChange,
    /// The pod or target holds a value the desired-resources rule cannot read.
    Invalid(String),
}

impl Skip {
    /// A short, bounded label for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Skip::NoWorkload => "no_workload",
            Skip::NoTarget => "no_target",
            Skip::Paused => "paused",
            Skip::RecommendationMode => "recommendation_mode",
            Skip::NoSuggestion => "no_suggestion",
            Skip::NotEnoughData => "not_enough_data",
            Skip::NothingToChange => "nothing_to_change",
            Skip::Invalid(_) => "invalid",
        }
    }
}

/// The webhook's answer for one pod.
#[derive(Debug, Clone, PartialEq)]
pub enum PodDecision {
    Unchanged(Skip),
    /// Apply `patch` (JSON patch on the pod).
    Mutate {
        patch: Patch,
        containers: usize,
    },
}

/// What the cache knows about the pod's workload.
#[derive(Debug, Clone, Copy)]
pub struct Covering<'a> {
    pub workload: &'a WorkloadRef,
    /// The target covering it, if any.
    pub target: Option<&'a AIScaleTarget>,
}

/// The OOM floor of `container` that `target` holds at `now`.
fn oom_floor(
    target: &AIScaleTarget,
    container: &str,
    now: Timestamp,
) -> Result<Option<prescale_api::quantity::Quantity>, Skip> {
    let Some(status) = &target.status else {
        return Ok(None);
    };
    let held = status
        .oom_stabilization_window_expiry
        .as_ref()
        .is_some_and(|t| t.0 > now);
    match status.oom_adjusted_memory.get(container) {
        Some(q) if held => q.parse().map(Some).map_err(|e| {
            Skip::Invalid(format!("status.oomAdjustedMemory.{container}: {q:?}: {e}"))
        }),
        _ => Ok(None),
    }
}

/// Decides what to do with `pod` (see the module doc).
pub fn decide(
    pod: &Pod,
    covering: Option<Covering<'_>>,
    paused: bool,
    now: Timestamp,
) -> PodDecision {
    match plan(pod, covering, paused, now) {
        Ok(d) => d,
        Err(skip) => PodDecision::Unchanged(skip),
    }
}

fn plan(
    pod: &Pod,
    covering: Option<Covering<'_>>,
    paused: bool,
    now: Timestamp,
) -> Result<PodDecision, Skip> {
    let covering = covering.ok_or(Skip::NoWorkload)?;
    let target = covering.target.ok_or(Skip::NoTarget)?;
    let vertical = target.spec.vertical.as_ref();
    let autonomous = vertical
        .and_then(|v| v.mode.as_ref())
        .and_then(|m| m.scaling())
        == Some(Scaling::Autonomous);
    if !autonomous {
        return Err(Skip::RecommendationMode);
    }
    if paused {
        return Err(Skip::Paused);
    }
    let suggestion = target
        .status
        .as_ref()
        .and_then(|s| s.suggestion.as_ref())
        .ok_or(Skip::NoSuggestion)?;
    if !suggestion.has_enough_data_to_scale {
        return Err(Skip::NotEnoughData);
    }
    let policies = vertical
        .and_then(|v| v.containers.as_deref())
        .unwrap_or_default();
    let spec = pod.spec.as_ref().ok_or(Skip::NothingToChange)?;
    let workload = format!("{}/{}", covering.workload.kind, covering.workload.name);
    let all_resources: Vec<ResourceRequirements> = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .map(|c| c.resources.clone().unwrap_or_default())
        .collect();
    let invalid = |e: &dyn std::fmt::Display| Skip::Invalid(e.to_string());
    let qos = pod_qos(&all_resources).map_err(|e| invalid(&e))?;
    let mut ops = vec![];
    let mut record = BTreeMap::new();
    for (i, c) in spec.containers.iter().enumerate() {
        let (Some(policy), Some(rec)) = (
            policy_for(policies, &c.name),
            recommendation_for(&suggestion.containers, &workload, &c.name),
        ) else {
            continue;
        };
        let current = c.resources.clone().unwrap_or_default();
        let floor = oom_floor(target, &c.name, now)?;
        let desired =
            desired_resources(&current, rec, policy, floor, qos).map_err(|e| invalid(&e))?;
        if changed_resources(&current, &desired)
            .map_err(|e| invalid(&e))?
            .is_empty()
        {
            continue;
        }
        ops.push(add(
            &format!("/spec/containers/{i}/resources"),
            json!(desired),
        ));
        record.insert(c.name.clone(), json!({"from": current, "to": desired}));
    }
    if ops.is_empty() {
        return Err(Skip::NothingToChange);
    }
    let containers = ops.len();
    let has_annotations = pod.metadata.annotations.is_some();
    if !has_annotations {
        ops.push(add("/metadata/annotations", json!({})));
    }
    let target_name = target.metadata.name.clone().unwrap_or_default();
    ops.push(add(
        &annotation_path(ADMITTED_SUGGESTION),
        json!(format!("{target_name}/{}", suggestion.id)),
    ));
    ops.push(add(
        &annotation_path(ADMITTED_RESOURCES),
        json!(Value::Object(record.into_iter().collect()).to_string()),
    ));
    let patch = serde_json::from_value(Value::Array(ops))
        .map_err(|e| Skip::Invalid(format!("building the patch: {e}")))?;
    Ok(PodDecision::Mutate { patch, containers })
}

fn annotation_path(key: &str) -> String {
    format!(
        "/metadata/annotations/{}",
        key.replace('~', "~0").replace('/', "~1")
    )
}

fn add(path: &str, value: Value) -> Value {
    json!({"op": "add", "path": path, "value": value})
}

#[cfg(test)]
#[path = "pod_tests.rs"]
mod tests;

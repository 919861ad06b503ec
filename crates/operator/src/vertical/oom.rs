//! OOM remediation, pure: when a container of an autonomous target is OOM-killed, its
//! memory floor (`status.oomAdjustedMemory`) is raised at once by `step` — the larger of
//! +20 % and +100 MiB over what the container was asking — capped by the container's
//! memory `upperbound`, and held until `oomStabilizationWindowExpiry` (the window starts
//! again at every bump). `vertical::desired` raises the memory request to that floor, so
//! the actuator applies it to running pods and the pod webhook to new ones; the limit
//! follows the request by the usual rules. A repeated OOM once every pod runs at the floor
//! raises it again from there; kills of pods the floor has not reached yet do not (they
//! are answered by it already, and would otherwise raise it once per kill). When the window passes without a kill, the floor is dropped and the forecast
//! alone decides again.
//!
//! Settings: `spec.vertical.oom_remediation.enabled` (default
//! `defaults::OOM_REMEDIATION_ENABLED`, on; it only ever acts for autonomous targets) and
//! `stabilization_window` (default the larger of the forecast interval and
//! `defaults::OOM_STABILIZATION_WINDOW`, 1 h).

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use prescale_api::AIScaleTargetSpec;
use prescale_api::defaults;
use prescale_api::duration::parse_duration;
use prescale_api::quantity::{Format, Quantity};
use prescale_api::target::status::AIScaleTargetStatus;
use prescale_api::target::vertical::ContainerPolicy;
use prescale_api::validate::FieldError;

use super::desired::policy_for;
use super::rollout::DEAD_BAND;

/// The smallest raise after a kill.
pub const STEP_MIN_BYTES: i128 = 100 * 1024 * 1024;
/// The relative raise after a kill (the larger of this and `STEP_MIN_BYTES` applies).
pub const STEP_PERCENT: i128 = 20;

const BYTE: i128 = 1_000_000_000;

/// The resolved settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OomPolicy {
    pub enabled: bool,
    pub window: Duration,
}

/// The OOM settings of `spec`, every default filled in.
pub fn oom_policy(spec: &AIScaleTargetSpec) -> Result<OomPolicy, FieldError> {
    let set = spec
        .vertical
        .as_ref()
        .and_then(|v| v.oom_remediation.as_ref());
    let window = match set.and_then(|o| o.stabilization_window.as_deref()) {
        Some(w) => parse_duration(w).map_err(|e| FieldError {
            path: "spec.vertical.oom_remediation.stabilization_window".into(),
            message: e.to_string(),
        })?,
        None => {
            let interval = spec
                .model
                .forecast_interval
                .as_deref()
                .and_then(|i| parse_duration(i).ok())
                .unwrap_or(defaults::FORECAST_INTERVAL);
            interval.max(defaults::OOM_STABILIZATION_WINDOW)
        }
    };
    Ok(OomPolicy {
        enabled: set
            .and_then(|o| o.enabled)
            .unwrap_or(defaults::OOM_REMEDIATION_ENABLED),
        window,
    })
}

/// The memory after one more kill of a container asking `memory`.
pub fn step(memory: Quantity) -> Quantity {
    let bytes = memory.nanos().div_euclid(BYTE);
    let raised = (bytes + bytes * STEP_PERCENT / 100).max(bytes + STEP_MIN_BYTES);
    Quantity::from_nanos(raised.saturating_mul(BYTE))
}

/// Whether pods asking `asked` run at floor `held`, within the rollout's dead band (a
/// pod that close to its desired value is not resized).
fn applied(asked: Quantity, held: Quantity) -> bool {
    asked.as_f64() >= held.as_f64() * (1.0 - DEAD_BAND)
}

/// One raise of one container's floor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bump {
    pub container: String,
    /// What the container asked before (its request, or the floor held).
    pub from: Quantity,
    pub to: Quantity,
    /// Whether the upperbound stopped the raise short of the step.
    pub capped: bool,
}

/// What the remediation decides for one target.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OomDecision {
    /// The floors to hold (`status.oomAdjustedMemory`), and until when.
    pub adjusted: BTreeMap<String, String>,
    pub expiry: Option<Time>,
    pub bumps: Vec<Bump>,
}

/// What the remediation decides from.
#[derive(Debug, Clone, Copy)]
pub struct OomInputs<'a> {
    pub policy: OomPolicy,
    /// Whether the target's vertical mode is autonomous (only then is memory acted on).
    pub autonomous: bool,
    pub containers: &'a [ContainerPolicy],
    /// OOM kills seen: (container, time in seconds).
    pub kills: &'a [(String, i64)],
    /// The status as last written: the floors held and the last kill already answered.
    pub previous: &'a AIScaleTargetStatus,
    /// The smallest memory request of each container among the workloads' pods now.
    pub requests: &'a BTreeMap<String, Quantity>,
    pub now: Timestamp,
}

/// Raises the floor of every container killed since the last kill answered, keeps the
/// floors held inside their window, and drops them after it (see the module doc).
pub fn decide(i: OomInputs<'_>) -> OomDecision {
    if !i.policy.enabled || !i.autonomous {
        return OomDecision::default();
    }
    let held_until = i.previous.oom_stabilization_window_expiry.as_ref();
    let mut floors: BTreeMap<String, Quantity> = if held_until.is_some_and(|t| t.0 > i.now) {
        i.previous
            .oom_adjusted_memory
            .iter()
            .filter_map(|(c, q)| Some((c.clone(), q.parse().ok()?)))
            .collect()
    } else {
        BTreeMap::new()
    };
    let answered = i.previous.last_oom_time.as_ref().map(|t| t.0.as_second());
    let mut killed: Vec<&str> = i
        .kills
        .iter()
        .filter(|(_, at)| answered.is_none_or(|a| *at > a))
        .map(|(c, _)| c.as_str())
        .collect();
    killed.sort_unstable();
    killed.dedup();
    let mut bumps = vec![];
    for container in killed {
        let Some(policy) = policy_for(i.containers, container) else {
            continue;
        };
        let asked = i.requests.get(container).copied();
        let held = floors.get(container).copied();
        // A floor still rolling out answers the kills of the pods below it already: only a
        // kill while every pod runs at (about) the floor raises it again.
        if let (Some(held), Some(asked)) = (held, asked)
            && !applied(asked, held)
        {
            continue;
        }
        // A container without a memory request is left alone (`vertical::desired`).
        let Some(from) = asked.into_iter().chain(held).max() else {
            continue;
        };
        let raised = step(from);
        let upper = policy
            .memory
            .as_ref()
            .and_then(|m| m.upperbound.as_ref())
            .and_then(|u| u.quantity().ok());
        let to = upper.map_or(raised, |u| raised.min(u));
        if to <= from {
            continue;
        }
        floors.insert(container.to_string(), to);
        bumps.push(Bump {
            container: container.to_string(),
            from,
            to,
            capped: to < raised,
        });
    }
    if floors.is_empty() {
        return OomDecision::default();
    }
    let expiry = if bumps.is_empty() {
        held_until.cloned()
    } else {
        let window = SignedDuration::try_from(i.policy.window).unwrap_or(SignedDuration::MAX);
        i.now.checked_add(window).ok().map(Time)
    };
    OomDecision {
        adjusted: floors
            .into_iter()
            .map(|(c, q)| (c, q.format(Format::Binary)))
            .collect(),
        expiry,
        bumps,
    }
}

#[cfg(test)]
#[path = "oom_tests.rs"]
mod tests;

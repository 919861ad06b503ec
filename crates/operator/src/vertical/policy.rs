//! How a target's vertical suggestions reach running pods, resolved once from
//! `spec.vertical` with every default filled in: the update mode (the deprecated
//! `in_place_resizing.enabled: true` meaning `in_place_or_recreate`), the resources applied
//! by recreating, the disruption budget and interval.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use prescale_api::defaults;
use prescale_api::duration::parse_duration;
use prescale_api::mode::{Scaling, UpdateMode};
use prescale_api::percent::parse_percent;
use prescale_api::target::vertical::{ContainerPolicy, ResourceName, VerticalSpec};
use prescale_api::validate::FieldError;

/// The update mode of an autonomous target that sets none: resize in place, recreate
/// where in place is impossible (what `in_place_resizing.enabled: true` asks in seed 001).
pub const DEFAULT_UPDATE_MODE: UpdateMode = UpdateMode::InPlaceOrRecreate;
/// Resources whose change recreates the pod in `in_place_or_recreate` mode by default:
/// memory, because a running process rarely gives memory back when its request shrinks
/// and a raised memory request is safest on a freshly scheduled pod.
pub const DEFAULT_RECREATE_RESOURCES: [ResourceName; 1] = [ResourceName::Memory];

/// How many pods of a workload may be disrupted at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MaxDisrupted {
    Pods(u32),
    Percent(f64),
}

impl MaxDisrupted {
    /// The budget for a workload of `replicas` pods: a percentage rounds down, but the
    /// budget is at least one pod (otherwise a small workload could never be updated).
    pub fn pods(self, replicas: u32) -> u32 {
        match self {
            MaxDisrupted::Pods(n) => n.max(1),
            MaxDisrupted::Percent(p) => ((p / 100.0 * f64::from(replicas)).floor() as u32).max(1),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct VerticalPolicy {
    /// Whether suggestions are applied at all (`vertical.mode` autonomous).
    pub autonomous: bool,
    pub update_mode: UpdateMode,
    pub recreate_resources: Vec<ResourceName>,
    /// A resize that lowers a memory limit restarts the container; allowed only when set.
    pub allow_memory_limit_decrease: bool,
    pub max_disrupted: MaxDisrupted,
    pub interval: Duration,
    pub containers: Vec<ContainerPolicy>,
}

/// The vertical policy of a target (`None` when it has no `vertical` block).
pub fn vertical_policy(v: Option<&VerticalSpec>) -> Result<Option<VerticalPolicy>, FieldError> {
    let Some(v) = v else { return Ok(None) };
    let field = |path: &str, message: String| FieldError {
        path: format!("spec.vertical.{path}"),
        message,
    };
    let legacy = v.in_place_resizing.as_ref();
    let update_mode = v
        .update_policy
        .as_ref()
        .and_then(|u| u.update_mode)
        .or_else(|| {
            legacy.and_then(|l| l.enabled).map(|on| {
                if on {
                    UpdateMode::InPlaceOrRecreate
                } else {
                    UpdateMode::Recreate
                }
            })
        })
        .unwrap_or(DEFAULT_UPDATE_MODE);
    let max_disrupted = match v.disruption.as_ref().and_then(|d| d.max_disrupted.as_ref()) {
        None => MaxDisrupted::Percent(defaults::MAX_DISRUPTED_PERCENT),
        Some(IntOrString::Int(n)) => MaxDisrupted::Pods(
            u32::try_from(*n)
                .map_err(|_| field("disruption.max_disrupted", format!("{n} is negative")))?,
        ),
        Some(IntOrString::String(s)) => MaxDisrupted::Percent(
            parse_percent(s).map_err(|e| field("disruption.max_disrupted", e.to_string()))?,
        ),
    };
    let interval = match v.disruption.as_ref().and_then(|d| d.interval.as_deref()) {
        None => defaults::DISRUPTION_INTERVAL,
        Some(t) => parse_duration(t).map_err(|e| field("disruption.interval", e.to_string()))?,
    };
    Ok(Some(VerticalPolicy {
        autonomous: v.mode.as_ref().and_then(|m| m.scaling()) == Some(Scaling::Autonomous),
        update_mode,
        recreate_resources: v
            .update_policy
            .as_ref()
            .and_then(|u| u.recreate_resources.clone())
            .unwrap_or_else(|| DEFAULT_RECREATE_RESOURCES.to_vec()),
        allow_memory_limit_decrease: legacy
            .and_then(|l| l.allow_restart_on_memory_limit_decrease)
            .unwrap_or(false),
        max_disrupted,
        interval,
        containers: v.containers.clone().unwrap_or_default(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(v: serde_json::Value) -> VerticalSpec {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn defaults_and_the_deprecated_in_place_flag() {
        let p = vertical_policy(Some(&spec(serde_json::json!({"mode": "auto"}))))
            .unwrap()
            .unwrap();
        assert!(p.autonomous);
        assert_eq!(p.update_mode, UpdateMode::InPlaceOrRecreate);
        assert_eq!(p.recreate_resources, vec![ResourceName::Memory]);
        assert_eq!(p.max_disrupted, MaxDisrupted::Percent(20.0));
        assert_eq!(p.interval, Duration::from_secs(60));
        let legacy = spec(serde_json::json!({"in_place_resizing": {"enabled": false}}));
        let p = vertical_policy(Some(&legacy)).unwrap().unwrap();
        assert_eq!(p.update_mode, UpdateMode::Recreate);
        assert!(!p.autonomous);
        let both = spec(serde_json::json!({"in_place_resizing": {"enabled": true},
            "update_policy": {"update_mode": "in_place", "recreate_resources": []},
            "disruption": {"max_disrupted": 2, "interval": "5m"}}));
        let p = vertical_policy(Some(&both)).unwrap().unwrap();
        assert_eq!(p.update_mode, UpdateMode::InPlace);
        assert!(p.recreate_resources.is_empty());
        assert_eq!(
            (p.max_disrupted, p.interval),
            (MaxDisrupted::Pods(2), Duration::from_secs(300))
        );
    }

    #[test]
    fn budgets_round_down_but_allow_one_pod() {
        assert_eq!(MaxDisrupted::Percent(20.0).pods(3), 1);
        assert_eq!(MaxDisrupted::Percent(20.0).pods(10), 2);
        assert_eq!(MaxDisrupted::Percent(50.0).pods(5), 2);
        assert_eq!(MaxDisrupted::Pods(0).pods(5), 1);
    }

    #[test]
    fn bad_budget_names_the_field() {
        let bad = spec(serde_json::json!({"disruption": {"max_disrupted": "lots"}}));
        assert_eq!(
            vertical_policy(Some(&bad)).unwrap_err().path,
            "spec.vertical.disruption.max_disrupted"
        );
    }
}

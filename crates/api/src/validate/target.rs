//! Validation of an AIScaleTarget spec (and of the template's copy of it).

use super::fields::{direction_mode, label_selector, model, scaling_behavior};
use super::{Errors, FieldError};
use crate::rules;
use crate::target::horizontal::HorizontalSpec;
use crate::target::model::ModelSpec;
use crate::target::spec::{AIScaleTargetSpec, WORKLOAD_KINDS};
use crate::target::vertical::{ResourcePolicy, VerticalSpec};

/// Validates a target spec. `namespace` is the object's own namespace, when known.
pub fn validate_target_spec(spec: &AIScaleTargetSpec, namespace: Option<&str>) -> Vec<FieldError> {
    let mut errors = Errors::default();
    match (&spec.scale_target_ref, &spec.selector) {
        (Some(_), Some(_)) => errors.add(
            rules::TARGET_REF_NOT_WITH_SELECTOR.path("spec"),
            rules::TARGET_REF_NOT_WITH_SELECTOR.message,
        ),
        (None, None) => errors.add(
            rules::TARGET_REF_OR_SELECTOR.path("spec"),
            rules::TARGET_REF_OR_SELECTOR.message,
        ),
        _ => {}
    }
    if let Some(selector) = &spec.selector {
        label_selector(&mut errors, "spec.selector", selector);
    }
    if let Some(target) = &spec.scale_target_ref {
        if !WORKLOAD_KINDS.iter().any(|(kind, _)| *kind == target.kind) {
            errors.add(
                "spec.scaleTargetRef.kind",
                format!(
                    "unsupported kind {:?}: use Deployment, StatefulSet or Rollout",
                    target.kind
                ),
            );
        }
        if let (Some(own), Some(theirs)) = (namespace, target.namespace.as_deref())
            && own != theirs
        {
            errors.add(
                "spec.scaleTargetRef.namespace",
                format!(
                    "{} {own:?}, not {theirs:?}: prescale scales workloads of the target's namespace only",
                    rules::TARGET_IN_OWN_NAMESPACE.message
                ),
            );
        }
    }
    if spec.selector.is_some() && spec.horizontal.is_some() {
        errors.add(
            rules::SELECTOR_NO_HORIZONTAL.path("spec"),
            rules::SELECTOR_NO_HORIZONTAL.message,
        );
    }
    directions(
        &mut errors,
        "spec",
        &spec.model,
        spec.horizontal.as_ref(),
        spec.vertical.as_ref(),
    );
    errors.0
}

/// The model and both directions, shared by targets and templates.
pub(crate) fn directions(
    errors: &mut Errors,
    path: &str,
    top: &ModelSpec,
    horizontal: Option<&HorizontalSpec>,
    vertical: Option<&VerticalSpec>,
) {
    model(errors, &format!("{path}.model"), top, true);
    if let Some(h) = horizontal {
        validate_horizontal(errors, &format!("{path}.horizontal"), h);
    }
    if let Some(v) = vertical {
        validate_vertical(errors, &format!("{path}.vertical"), v);
    }
}

fn validate_horizontal(errors: &mut Errors, path: &str, h: &HorizontalSpec) {
    direction_mode(errors, format!("{path}.mode"), h.mode.as_ref());
    if let Some(m) = &h.model {
        model(errors, &format!("{path}.model"), m, false);
    }
    scaling_behavior(
        errors,
        &format!("{path}.scaling_behavior"),
        h.scaling_behavior.as_ref(),
    );
    if h.multiple_of.is_some() && h.allowed_replicas.is_some() {
        errors.add(
            rules::MULTIPLE_XOR_ALLOWED.path(path),
            rules::MULTIPLE_XOR_ALLOWED.message,
        );
    }
    if h.multiple_of.is_some_and(|m| m < 1) {
        errors.add(format!("{path}.multipleOf"), "must be at least 1");
    }
    if h.min_replicas.is_some_and(|m| m < 0) {
        errors.add(format!("{path}.minReplicas"), "must not be negative");
    }
    if h.max_replicas.is_some_and(|m| m < 1) {
        errors.add(format!("{path}.maxReplicas"), "must be at least 1");
    }
    if let (Some(min), Some(max)) = (h.min_replicas, h.max_replicas)
        && min > max
    {
        errors.add(
            rules::MIN_WITHIN_MAX.path(path),
            rules::MIN_WITHIN_MAX.message,
        );
    }
    if let Some(allowed) = &h.allowed_replicas {
        if allowed.is_empty() {
            errors.add(
                format!("{path}.allowedReplicas"),
                "must list at least one replica count",
            );
        }
        if allowed.len() > crate::limits::ALLOWED_REPLICAS as usize {
            errors.add(
                format!("{path}.allowedReplicas"),
                format!(
                    "at most {} entries, found {}",
                    crate::limits::ALLOWED_REPLICAS as usize,
                    allowed.len()
                ),
            );
        }
        for (i, n) in allowed.iter().enumerate() {
            if *n < 0 {
                errors.add(
                    format!("{path}.allowedReplicas[{i}]"),
                    "must not be negative",
                );
            }
        }
    }
    for (i, m) in h.exclude_metrics.iter().flatten().enumerate() {
        if m.name.is_none() && m.type_.is_none() {
            errors.add(
                rules::EXCLUDE_METRIC_NEEDS_NAME_OR_TYPE
                    .path(&format!("{path}.exclude_metrics[{i}]")),
                rules::EXCLUDE_METRIC_NEEDS_NAME_OR_TYPE.message,
            );
        }
    }
}

fn validate_vertical(errors: &mut Errors, path: &str, v: &VerticalSpec) {
    direction_mode(errors, format!("{path}.mode"), v.mode.as_ref());
    if let Some(m) = &v.model {
        model(errors, &format!("{path}.model"), m, false);
    }
    scaling_behavior(
        errors,
        &format!("{path}.scaling_behavior"),
        v.scaling_behavior.as_ref(),
    );
    let containers = v.containers.as_deref().unwrap_or_default();
    let mut seen = std::collections::BTreeSet::new();
    for (i, c) in containers.iter().enumerate() {
        let at = format!("{path}.containers[{i}]");
        if c.name.is_empty() {
            errors.add(
                format!("{at}.name"),
                "required (a container name, or \"*\" for every container)",
            );
        } else if !seen.insert(c.name.as_str()) {
            errors.add(
                format!("{at}.name"),
                format!("container {:?} is listed twice", c.name),
            );
        }
        match &c.cpu {
            None => errors.add(
                rules::CONTAINER_CPU_REQUIRED.path(&at),
                rules::CONTAINER_CPU_REQUIRED.message,
            ),
            Some(cpu) => resource(errors, &format!("{at}.cpu"), cpu),
        }
        match &c.memory {
            None => errors.add(
                rules::CONTAINER_MEMORY_REQUIRED.path(&at),
                rules::CONTAINER_MEMORY_REQUIRED.message,
            ),
            Some(memory) => resource(errors, &format!("{at}.memory"), memory),
        }
    }
    let in_place = v.in_place_resizing.as_ref();
    let in_place_enabled = in_place.and_then(|r| r.enabled);
    let has_memory_limit = containers
        .iter()
        .any(|c| c.memory.as_ref().is_some_and(|m| m.limit.is_some()));
    if in_place_enabled == Some(true)
        && has_memory_limit
        && in_place.and_then(|r| r.allow_restart_on_memory_limit_decrease) != Some(true)
    {
        errors.add(
            rules::MEMORY_LIMIT_NEEDS_RESTART.path(path),
            rules::MEMORY_LIMIT_NEEDS_RESTART.message,
        );
    }
    if let (Some(enabled), Some(mode)) = (
        in_place_enabled,
        v.update_policy.as_ref().and_then(|p| p.update_mode),
    ) && enabled != mode.resizes_in_place()
    {
        errors.add(
            rules::IN_PLACE_MATCHES_UPDATE_MODE.path(path),
            rules::IN_PLACE_MATCHES_UPDATE_MODE.message,
        );
    }
    if let Some(d) = &v.disruption {
        super::fields::duration(
            errors,
            format!("{path}.disruption.interval"),
            d.interval.as_ref(),
        );
        if let Some(max) = &d.max_disrupted {
            disruption_budget(errors, format!("{path}.disruption.max_disrupted"), max);
        }
    }
    if let Some(o) = &v.oom_remediation {
        super::fields::duration(
            errors,
            format!("{path}.oom_remediation.stabilization_window"),
            o.stabilization_window.as_ref(),
        );
    }
}

fn disruption_budget(
    errors: &mut Errors,
    path: String,
    value: &k8s_openapi::apimachinery::pkg::util::intstr::IntOrString,
) {
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    match value {
        IntOrString::Int(n) if *n < 1 => errors.add(path, "must be at least 1 pod"),
        IntOrString::Int(_) => {}
        IntOrString::String(s) => {
            if !s.trim_end().ends_with('%') {
                errors.add(
                    path,
                    format!("{s:?} must be a number of pods or a percentage such as 20%"),
                );
            } else if let Some(p) = errors.check(path.clone(), crate::percent::parse_percent(s))
                && !(p > 0.0 && p <= 100.0)
            {
                errors.add(path, "must be more than 0% and at most 100%");
            }
        }
    }
}

fn resource(errors: &mut Errors, path: &str, policy: &ResourcePolicy) {
    let lower = match &policy.lowerbound {
        None => {
            errors.add(
                rules::LOWERBOUND_REQUIRED.path(path),
                rules::LOWERBOUND_REQUIRED.message,
            );
            None
        }
        Some(v) => errors.check(format!("{path}.lowerbound"), v.quantity()),
    };
    let upper = policy
        .upperbound
        .as_ref()
        .and_then(|v| errors.check(format!("{path}.upperbound"), v.quantity()));
    for (name, q) in [("lowerbound", lower), ("upperbound", upper)] {
        if q.is_some_and(|q| q.nanos() < 0) {
            errors.add(format!("{path}.{name}"), "must not be negative");
        }
    }
    if let (Some(lower), Some(upper)) = (lower, upper)
        && lower > upper
    {
        errors.add(
            rules::LOWER_WITHIN_UPPER.path(path),
            rules::LOWER_WITHIN_UPPER.message,
        );
    }
    if let Some(ratio) = policy.limit.as_ref().and_then(|l| l.ratio)
        && !(ratio.is_finite() && ratio >= 1.0)
    {
        errors.add(
            format!("{path}.limit.ratio"),
            "must be at least 1 (the limit cannot be below the request)",
        );
    }
}

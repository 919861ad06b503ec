//! Validation of a PodAutoscaler: the CEL rules of its CRD (`podautoscaler::rules`) in
//! Rust, reported at the same paths, and what the API server cannot check (time zones,
//! annotation values, the target's namespace).

use std::collections::BTreeMap;

use super::{Errors, FieldError};
use crate::podautoscaler::annotations::scaling_parameters;
use crate::podautoscaler::defaults;
use crate::podautoscaler::rules as pa;
use crate::podautoscaler::schedule::{TimeOfDay, overlap, time_zone};
use crate::podautoscaler::spec::{
    MetricSource, MetricSourceType, PodAutoscalerSpec, ScalingStrategy,
};
use crate::rules::{self, RuleText};

/// Validates a PodAutoscaler spec. `namespace` is the object's own namespace, when known;
/// `annotations` its metadata.annotations.
pub fn validate_pod_autoscaler(
    spec: &PodAutoscalerSpec,
    namespace: Option<&str>,
    annotations: &BTreeMap<String, String>,
) -> Vec<FieldError> {
    let mut errors = Errors::default();
    let at = "spec";
    if spec.min_replicas.is_some_and(|min| min > spec.max_replicas) {
        report(&mut errors, at, rules::MIN_WITHIN_MAX);
    }
    let panic = spec
        .panic_window_seconds
        .unwrap_or(defaults::PANIC_WINDOW_SECONDS);
    let observe = spec
        .observe_window_seconds
        .unwrap_or(defaults::OBSERVE_WINDOW_SECONDS);
    if panic > observe {
        report(&mut errors, at, pa::PANIC_WITHIN_OBSERVE);
    }
    if spec.predictive.is_some() && spec.scaling_strategy == ScalingStrategy::HPA {
        report(&mut errors, at, pa::PREDICTIVE_NOT_WITH_HPA);
    }
    if let (Some(own), Some(theirs)) = (namespace, spec.scale_target_ref.namespace.as_deref())
        && own != theirs
    {
        errors.add(
            "spec.scaleTargetRef.namespace",
            format!(
                "{} {own:?}, not {theirs:?}: a PodAutoscaler scales a workload of its own namespace",
                pa::TARGET_IN_OWN_NAMESPACE.message
            ),
        );
    }
    schedules(&mut errors, spec);
    for (i, source) in spec.metrics_sources.iter().enumerate() {
        metric_source(&mut errors, &format!("spec.metricsSources[{i}]"), source);
    }
    errors
        .0
        .extend(scaling_parameters(annotations, spec).problems);
    errors.0
}

fn report(errors: &mut Errors, at: &str, rule: RuleText) {
    errors.add(rule.path(at), rule.message);
}

fn schedules(errors: &mut Errors, spec: &PodAutoscalerSpec) {
    let Some(list) = &spec.schedules else { return };
    let zone_of = |i: usize| {
        list[i]
            .timezone
            .clone()
            .filter(|z| !z.is_empty())
            .unwrap_or_else(|| defaults::SCHEDULE_TIME_ZONE.into())
    };
    for (i, s) in list.iter().enumerate() {
        let at = format!("spec.schedules[{i}]");
        if s.min_replicas.is_none() && s.max_replicas.is_none() {
            report(errors, &at, pa::SCHEDULE_SETS_A_BOUND);
        }
        if let (Some(start), Some(end)) = (
            TimeOfDay::parse(&s.start_time),
            TimeOfDay::parse(&s.end_time),
        ) && start >= end
        {
            report(errors, &at, pa::SCHEDULE_STARTS_BEFORE_END);
        }
        if let Err(message) = time_zone(s.timezone.as_deref()) {
            errors.add(format!("{at}.timezone"), message);
        }
    }
    if (1..list.len()).any(|i| zone_of(i) != zone_of(0)) {
        report(errors, "spec", pa::SCHEDULES_ONE_TIME_ZONE);
    }
    let pairs = (0..list.len()).flat_map(|i| (0..i).map(move |j| (j, i)));
    if let Some((a, b)) = pairs
        .into_iter()
        .find(|&(a, b)| overlap(&list[a], &list[b]))
    {
        errors.add(
            pa::SCHEDULES_DO_NOT_OVERLAP.path("spec"),
            format!(
                "{} ({} and {})",
                pa::SCHEDULES_DO_NOT_OVERLAP.message,
                list[a].name,
                list[b].name
            ),
        );
    }
    let base_min = spec.effective_min_replicas();
    if let Some(s) = list
        .iter()
        .find(|s| s.min_replicas.unwrap_or(base_min) > s.max_replicas.unwrap_or(spec.max_replicas))
    {
        errors.add(
            pa::SCHEDULE_BOUNDS_ORDERED.path("spec"),
            format!("{} ({})", pa::SCHEDULE_BOUNDS_ORDERED.message, s.name),
        );
    }
}

fn metric_source(errors: &mut Errors, at: &str, s: &MetricSource) {
    let kind = s.metric_source_type.normalized();
    if kind == MetricSourceType::Pod {
        if s.protocol_type.is_none() {
            report(errors, at, pa::POD_NEEDS_PROTOCOL);
        }
        if s.port.is_none() {
            report(errors, at, pa::POD_NEEDS_PORT);
        }
        if s.path.is_none() {
            report(errors, at, pa::POD_NEEDS_PATH);
        }
    }
    if kind == MetricSourceType::External && s.endpoint.is_some() {
        if s.protocol_type.is_none() {
            report(errors, at, pa::ENDPOINT_NEEDS_PROTOCOL);
        }
        if s.path.is_none() {
            report(errors, at, pa::ENDPOINT_NEEDS_PATH);
        }
    }
    if kind == MetricSourceType::Resource {
        if !["cpu", "memory"].contains(&s.target_metric.as_str()) {
            report(errors, at, pa::RESOURCE_IS_CPU_OR_MEMORY);
        }
        for (set, rule) in [
            (s.port.is_some(), pa::RESOURCE_HAS_NO_PORT),
            (s.endpoint.is_some(), pa::RESOURCE_HAS_NO_ENDPOINT),
            (s.path.is_some(), pa::RESOURCE_HAS_NO_PATH),
            (s.protocol_type.is_some(), pa::RESOURCE_HAS_NO_PROTOCOL),
        ] {
            if set {
                report(errors, at, rule);
            }
        }
    }
    if s.target().is_ok_and(|v| v <= 0.0) {
        report(errors, at, pa::TARGET_VALUE_POSITIVE);
    }
}

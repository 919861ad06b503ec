//! Checks shared by several parts of the spec: model blocks, scaling behaviour, durations,
//! label selectors.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::Errors;
use super::schema::matches;
use crate::cron::parse_cron;
use crate::duration::parse_duration;
use crate::mode::{DirectionMode, ModelMode, StepType};
use crate::rules;
use crate::target::model::ModelSpec;
use crate::target::scaling::{ScalingBehavior, ScalingStep};

/// A duration field: the syntax of `rules::DURATION_HAS_UNIT` (what the API server checks),
/// then its value.
pub(crate) fn duration(
    errors: &mut Errors,
    path: String,
    text: Option<&String>,
) -> Option<Duration> {
    let text = text?;
    if matches(rules::DURATION_PATTERN, text) == Some(false) {
        errors.add(
            path,
            format!("{text:?} {}", rules::DURATION_HAS_UNIT.message),
        );
        return None;
    }
    errors.check(path, parse_duration(text))
}

/// `top_level`: the spec's own model, which must say how often to forecast.
pub(crate) fn model(errors: &mut Errors, path: &str, model: &ModelSpec, top_level: bool) {
    let blocks = duration(
        errors,
        format!("{path}.forecast_blocks"),
        model.forecast_blocks.as_ref(),
    );
    let interval = duration(
        errors,
        format!("{path}.forecast_interval"),
        model.forecast_interval.as_ref(),
    );
    duration(
        errors,
        format!("{path}.min_lookback_to_scale"),
        model.min_lookback_to_scale.as_ref(),
    );
    if let Some(cron) = &model.forecast_cron {
        errors.check(format!("{path}.forecast_cron"), parse_cron(cron));
    }
    match (&model.forecast_cron, &model.forecast_interval) {
        (Some(_), Some(_)) => errors.add(
            rules::CRON_XOR_INTERVAL.path(path),
            rules::CRON_XOR_INTERVAL.message,
        ),
        (None, None) if top_level => errors.add(
            rules::MODEL_CADENCE_REQUIRED.path(path),
            rules::MODEL_CADENCE_REQUIRED.message,
        ),
        _ => {}
    }
    if let (Some(blocks), Some(interval)) = (blocks, interval)
        && interval > blocks
    {
        errors.add(
            rules::INTERVAL_WITHIN_BLOCKS.path(path),
            rules::INTERVAL_WITHIN_BLOCKS.message,
        );
    }
    if let Some(buffer) = &model.forecast_buffer_percentage {
        errors.check(
            format!("{path}.forecast_buffer_percentage"),
            buffer.percent(),
        );
    }
    percentile(errors, path, model.mode, model.percentile_value);
    for (metric, spec) in model.metrics.iter().flatten() {
        let at = format!("{path}.metrics[{metric}]");
        if let Some(buffer) = &spec.forecast_buffer_percentage {
            errors.check(format!("{at}.forecast_buffer_percentage"), buffer.percent());
        }
        percentile(errors, &at, spec.mode, spec.percentile_value);
    }
}

fn percentile(errors: &mut Errors, path: &str, mode: Option<ModelMode>, value: Option<f64>) {
    let in_range = value.is_some_and(|v| (0.0..=100.0).contains(&v));
    if mode == Some(ModelMode::Percentile) && value.is_none() {
        errors.add(
            rules::PERCENTILE_NEEDS_VALUE.path(path),
            rules::PERCENTILE_NEEDS_VALUE.message,
        );
    } else if value.is_some() && !in_range {
        errors.add(
            format!("{path}.percentile_value"),
            "must be between 0 and 100",
        );
    }
}

pub(crate) fn direction_mode(errors: &mut Errors, path: String, mode: Option<&DirectionMode>) {
    if let Some(mode) = mode
        && mode.scaling().is_none()
    {
        let spellings: Vec<&str> = DirectionMode::all_spellings().collect();
        errors.add(
            path,
            format!(
                "unknown mode {:?}: use one of {}",
                mode.0,
                spellings.join(", ")
            ),
        );
    }
}

pub(crate) fn scaling_behavior(
    errors: &mut Errors,
    path: &str,
    behavior: Option<&ScalingBehavior>,
) {
    let Some(behavior) = behavior else { return };
    for (name, step) in [
        ("scale_up", &behavior.scale_up),
        ("scale_down", &behavior.scale_down),
    ] {
        if let Some(step) = step {
            scaling_step(errors, &format!("{path}.{name}"), step);
        }
    }
}

fn scaling_step(errors: &mut Errors, path: &str, step: &ScalingStep) {
    match step.type_ {
        StepType::Percent => match step.percent {
            None => errors.add(
                rules::PERCENT_STEP_HAS_PERCENT.path(path),
                rules::PERCENT_STEP_HAS_PERCENT.message,
            ),
            Some(p) if !p.is_finite() || p < 0.0 => {
                errors.add(format!("{path}.percent"), "must be 0 or more")
            }
            Some(_) => {}
        },
        StepType::Absolute => match &step.absolute {
            None => errors.add(
                rules::ABSOLUTE_STEP_HAS_ABSOLUTE.path(path),
                rules::ABSOLUTE_STEP_HAS_ABSOLUTE.message,
            ),
            Some(abs) => {
                for (name, value) in [("cpu", &abs.cpu), ("memory", &abs.memory)] {
                    if let Some(value) = value
                        && let Some(q) =
                            errors.check(format!("{path}.absolute.{name}"), value.quantity())
                        && q.nanos() < 0
                    {
                        errors.add(format!("{path}.absolute.{name}"), "must not be negative");
                    }
                }
                if abs.pods.is_some_and(|p| p < 0) {
                    errors.add(format!("{path}.absolute.pods"), "must not be negative");
                }
            }
        },
    }
}

/// A label selector: operators Kubernetes knows, values only with In and NotIn.
pub(crate) fn label_selector(errors: &mut Errors, path: &str, selector: &LabelSelector) {
    for (i, req) in selector.match_expressions.iter().flatten().enumerate() {
        let at = format!("{path}.matchExpressions[{i}]");
        let has_values = req.values.as_ref().is_some_and(|v| !v.is_empty());
        match req.operator.as_str() {
            "In" | "NotIn" if !has_values => errors.add(
                rules::SELECTOR_VALUES_MATCH_OPERATOR.path(&at),
                rules::SELECTOR_VALUES_MATCH_OPERATOR.message,
            ),
            "Exists" | "DoesNotExist" if has_values => errors.add(
                rules::SELECTOR_VALUES_MATCH_OPERATOR.path(&at),
                rules::SELECTOR_VALUES_MATCH_OPERATOR.message,
            ),
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            other => errors.add(
                format!("{at}.operator"),
                format!("unknown operator {other:?}: use In, NotIn, Exists or DoesNotExist"),
            ),
        }
    }
}

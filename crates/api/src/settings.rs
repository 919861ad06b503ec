//! The effective model settings of one direction and metric: the direction's `model`
//! overrides `spec.model`, a `metrics.<name>` entry overrides both for that metric, and
//! defaults fill the rest. This is the one place that resolution happens.

use std::time::Duration;

use crate::cron::{Schedule, parse_cron};
use crate::defaults;
use crate::duration::parse_duration;
use crate::mode::ModelMode;
use crate::target::model::{MetricModelSpec, ModelSpec};
use crate::validate::FieldError;

/// When forecasts run.
#[derive(Debug, Clone)]
pub enum Cadence {
    Cron(Box<Schedule>),
    Interval(Duration),
}

/// Everything the forecaster needs to know about one metric of one direction.
#[derive(Debug, Clone)]
pub struct EffectiveModel {
    pub horizon: Duration,
    pub cadence: Cadence,
    pub mode: ModelMode,
    /// Set when mode is `percentile`: the percentile in [0, 100].
    pub percentile: Option<f64>,
    /// 10% → 0.1.
    pub buffer_fraction: f64,
    pub min_lookback: Duration,
}

/// Resolves the settings for `metric` (e.g. `cpu`) in a direction whose override block
/// is `direction` (`horizontal.model` or `vertical.model`), under the spec's `top` model.
pub fn effective_model(
    top: &ModelSpec,
    direction: Option<&ModelSpec>,
    metric: &str,
) -> Result<EffectiveModel, FieldError> {
    let pick = |f: fn(&ModelSpec) -> Option<&String>| direction.and_then(f).or_else(|| f(top));
    let per_metric: Option<&MetricModelSpec> = direction
        .and_then(|d| d.metrics.as_ref())
        .and_then(|m| m.get(metric))
        .or_else(|| top.metrics.as_ref().and_then(|m| m.get(metric)));
    let err = |path: &str, e: &dyn std::fmt::Display| FieldError {
        path: format!("spec.model.{path}"),
        message: e.to_string(),
    };

    let horizon = match pick(|m| m.forecast_blocks.as_ref()) {
        Some(t) => parse_duration(t).map_err(|e| err("forecast_blocks", &e))?,
        None => defaults::FORECAST_BLOCKS,
    };
    // A direction that names its own cadence uses it whole; otherwise the top level's.
    let cadence_source = match direction {
        Some(d) if d.forecast_cron.is_some() || d.forecast_interval.is_some() => d,
        _ => top,
    };
    let cadence = match (
        &cadence_source.forecast_cron,
        &cadence_source.forecast_interval,
    ) {
        (Some(cron), _) => Cadence::Cron(Box::new(
            parse_cron(cron).map_err(|e| err("forecast_cron", &e))?,
        )),
        (None, Some(i)) => {
            Cadence::Interval(parse_duration(i).map_err(|e| err("forecast_interval", &e))?)
        }
        (None, None) => Cadence::Interval(defaults::FORECAST_INTERVAL),
    };
    let mode = per_metric
        .and_then(|m| m.mode)
        .or_else(|| direction.and_then(|d| d.mode))
        .or(top.mode)
        .unwrap_or(defaults::MODEL_MODE);
    let percentile = per_metric
        .and_then(|m| m.percentile_value)
        .or_else(|| direction.and_then(|d| d.percentile_value))
        .or(top.percentile_value);
    let buffer = per_metric
        .and_then(|m| m.forecast_buffer_percentage.as_ref())
        .or_else(|| direction.and_then(|d| d.forecast_buffer_percentage.as_ref()))
        .or(top.forecast_buffer_percentage.as_ref());
    let buffer_fraction = match buffer {
        Some(b) => b
            .fraction()
            .map_err(|e| err("forecast_buffer_percentage", &e))?,
        None => defaults::FORECAST_BUFFER_PERCENT / 100.0,
    };
    let min_lookback = match pick(|m| m.min_lookback_to_scale.as_ref()) {
        Some(t) => parse_duration(t).map_err(|e| err("min_lookback_to_scale", &e))?,
        None => defaults::MIN_LOOKBACK_TO_SCALE,
    };
    let percentile = if mode == ModelMode::Percentile {
        Some(percentile.ok_or_else(|| FieldError {
            path: "spec.model.percentile_value".into(),
            message: crate::rules::PERCENTILE_NEEDS_VALUE.message.into(),
        })?)
    } else {
        None
    };
    Ok(EffectiveModel {
        horizon,
        cadence,
        mode,
        percentile,
        buffer_fraction,
        min_lookback,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::percent::Percentage;

    fn top() -> ModelSpec {
        ModelSpec {
            forecast_blocks: Some("4h".into()),
            forecast_interval: Some("1h".into()),
            forecast_buffer_percentage: Some(Percentage::Text("10%".into())),
            ..Default::default()
        }
    }

    #[test]
    fn top_level_and_defaults() {
        let m = effective_model(&top(), None, "cpu").unwrap();
        assert_eq!(m.horizon, Duration::from_secs(4 * 3600));
        assert!(matches!(m.cadence, Cadence::Interval(d) if d == Duration::from_secs(3600)));
        assert_eq!(m.mode, ModelMode::Balanced);
        assert!((m.buffer_fraction - 0.1).abs() < 1e-12);
        assert_eq!(m.min_lookback, defaults::MIN_LOOKBACK_TO_SCALE);
    }

    #[test]
    fn direction_then_metric_override() {
        let direction = ModelSpec {
            mode: Some(ModelMode::Overshoot),
            forecast_cron: Some("*/5 * * * *".into()),
            metrics: Some(
                [(
                    "memory".to_string(),
                    MetricModelSpec {
                        mode: Some(ModelMode::Percentile),
                        percentile_value: Some(99.0),
                        ..Default::default()
                    },
                )]
                .into(),
            ),
            ..Default::default()
        };
        let cpu = effective_model(&top(), Some(&direction), "cpu").unwrap();
        assert_eq!(cpu.mode, ModelMode::Overshoot);
        assert!(matches!(cpu.cadence, Cadence::Cron(_)));
        let memory = effective_model(&top(), Some(&direction), "memory").unwrap();
        assert_eq!(
            (memory.mode, memory.percentile),
            (ModelMode::Percentile, Some(99.0))
        );
    }

    #[test]
    fn percentile_without_value_names_the_field() {
        let m = ModelSpec {
            mode: Some(ModelMode::Percentile),
            ..top()
        };
        assert_eq!(
            effective_model(&m, None, "cpu").unwrap_err().path,
            "spec.model.percentile_value"
        );
    }
}

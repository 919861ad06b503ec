//! `spec.model` (and its per-direction overrides `horizontal.model`, `vertical.model`):
//! how far ahead to forecast, how often, how cautiously, and with how much buffer.

use std::collections::BTreeMap;

use kube::KubeSchema;
use serde::{Deserialize, Serialize};

use crate::mode::ModelMode;
use crate::percent::Percentage;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(deny_unknown_fields)]
#[x_kube(validation = Rule::new(crate::rules::CRON_XOR_INTERVAL.cel).message(crate::rules::CRON_XOR_INTERVAL.message))]
#[x_kube(validation = Rule::new(crate::rules::INTERVAL_WITHIN_BLOCKS.cel).message(crate::rules::INTERVAL_WITHIN_BLOCKS.message))]
#[x_kube(validation = Rule::new(crate::rules::PERCENTILE_NEEDS_VALUE.cel).message(crate::rules::PERCENTILE_NEEDS_VALUE.message))]
pub struct ModelSpec {
    /// How far ahead each forecast looks (e.g. `15m`, `4h`); the peak of this window is
    /// what gets provisioned. A unit is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32))]
    #[x_kube(validation = Rule::new(crate::rules::DURATION_HAS_UNIT.cel).message(crate::rules::DURATION_HAS_UNIT.message))]
    pub forecast_blocks: Option<String>,

    /// Extra headroom on top of the forecast, e.g. `10%`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new(crate::rules::PERCENT_WELL_FORMED.cel).message(crate::rules::PERCENT_WELL_FORMED.message))]
    pub forecast_buffer_percentage: Option<Percentage>,

    /// When to forecast, as a 5-field cron expression (e.g. `*/15 * * * *`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 128))]
    pub forecast_cron: Option<String>,

    /// How often to forecast, as a duration (e.g. `1h`); the alternative to forecast_cron.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32))]
    #[x_kube(validation = Rule::new(crate::rules::DURATION_HAS_UNIT.cel).message(crate::rules::DURATION_HAS_UNIT.message))]
    pub forecast_interval: Option<String>,

    /// How cautious the forecast is (default `balanced`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<ModelMode>,

    /// The percentile (0–100) to provision for when mode is `percentile`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentile_value: Option<f64>,

    /// How much history a target needs before its forecasts are used (e.g. `24h`); until
    /// then the cold-start model is used and hasEnoughDataToScale is false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32))]
    #[x_kube(validation = Rule::new(crate::rules::DURATION_HAS_UNIT.cel).message(crate::rules::DURATION_HAS_UNIT.message))]
    pub min_lookback_to_scale: Option<String>,

    /// Per-metric overrides, keyed by metric name (`cpu`, `memory`, or a horizontal metric).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<BTreeMap<String, MetricModelSpec>>,
}

/// Overrides of the model for one metric.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(deny_unknown_fields)]
#[x_kube(validation = Rule::new(crate::rules::PERCENTILE_NEEDS_VALUE.cel).message(crate::rules::PERCENTILE_NEEDS_VALUE.message))]
pub struct MetricModelSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<ModelMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new(crate::rules::PERCENT_WELL_FORMED.cel).message(crate::rules::PERCENT_WELL_FORMED.message))]
    pub forecast_buffer_percentage: Option<Percentage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentile_value: Option<f64>,
}

//! `spec.model` (and its per-direction overrides `horizontal.model`, `vertical.model`):
//! how far ahead to forecast, how often, how cautiously, and with how much buffer.

use std::collections::BTreeMap;

use kube::KubeSchema;
use serde::{Deserialize, Serialize};

use crate::mode::ModelMode;
use crate::percent::Percentage;

/// How to forecast: how far ahead, how often, how cautiously and with how much headroom.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(deny_unknown_fields)]
#[x_kube(validation = crate::rules::CRON_XOR_INTERVAL)]
#[x_kube(validation = crate::rules::INTERVAL_WITHIN_BLOCKS)]
#[x_kube(validation = crate::rules::PERCENTILE_NEEDS_VALUE)]
pub struct ModelSpec {
    /// How far into the future to prepare for: with 15m, prescale forecasts the peak load of
    /// the next 15 minutes and scales to it. A unit is required (m for minutes, h for hours).
    /// Should be at least as long as the forecast cadence, so forecasts leave no gaps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = crate::limits::DURATION))]
    #[x_kube(validation = crate::rules::DURATION_HAS_UNIT)]
    pub forecast_blocks: Option<String>,

    /// Extra headroom on top of the forecast to reduce the risk of under-provisioning: with
    /// a forecast of 500m CPU and 10%, the suggestion is 550m. 0% adds none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forecast_buffer_percentage: Option<Percentage>,

    /// How often forecasts are made (and so how often scaling may happen), as a 5-field cron
    /// expression in UTC, e.g. "*/15 * * * *". Mutually exclusive with forecast_interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = crate::limits::CRON))]
    pub forecast_cron: Option<String>,

    /// How often forecasts are made, as a duration (e.g. 1h): the alternative to
    /// forecast_cron. Must not be longer than forecast_blocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = crate::limits::DURATION))]
    #[x_kube(validation = crate::rules::DURATION_HAS_UNIT)]
    pub forecast_interval: Option<String>,

    /// How cautious the forecast is: undershoot, cost_optimized, balanced (default),
    /// assurance_optimized, overshoot, or percentile (with percentile_value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<ModelMode>,

    /// The percentile (0 to 100) of the forecast peak to provision for, with mode percentile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 100.0))]
    pub percentile_value: Option<f64>,

    /// How much history a workload needs before its forecasts are used (e.g. 24h); until
    /// then a cold-start model is used and status.suggestion.hasEnoughDataToScale is false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = crate::limits::DURATION))]
    #[x_kube(validation = crate::rules::DURATION_HAS_UNIT)]
    pub min_lookback_to_scale: Option<String>,

    /// Per-metric overrides of mode, buffer and percentile, keyed by metric name (cpu,
    /// memory, or a horizontal metric).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("maxProperties" = crate::limits::METRIC_OVERRIDES))]
    pub metrics: Option<BTreeMap<String, MetricModelSpec>>,
}

/// Overrides of the model for one metric.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(deny_unknown_fields)]
#[x_kube(validation = crate::rules::PERCENTILE_NEEDS_VALUE)]
pub struct MetricModelSpec {
    /// How cautious this metric's forecast is (see model.mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<ModelMode>,
    /// Extra headroom on top of this metric's forecast, e.g. 10%.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forecast_buffer_percentage: Option<Percentage>,
    /// The percentile (0 to 100) to provision for, with mode percentile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 100.0))]
    pub percentile_value: Option<f64>,
}

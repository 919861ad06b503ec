//! Defaults and well-known names of the API, defined once.

use std::time::Duration;

use crate::mode::ModelMode;

/// Label set on AIScaleTargets created by a ClusterAIScaleTemplate.
pub const MANAGED_BY_TEMPLATE_LABEL: &str = "thoras.ai/managed-by-template";
/// Finalizer the operator puts on templates so their targets are cleaned up.
pub const TEMPLATE_FINALIZER: &str = "thoras.ai/template-cleanup";
/// Finalizer the operator puts on targets whose vertical mode is autonomous, so deleting
/// one first reverts its workloads to their own spec (seed 002).
pub const TARGET_FINALIZER: &str = "thoras.ai/revert";
/// How long a deleted target waits for its revert before its finalizer is removed anyway
/// (cluster time since its deletionTimestamp): deletion is never blocked for longer.
pub const REVERT_TIMEOUT: Duration = Duration::from_secs(10 * 60);

pub const MODEL_MODE: ModelMode = ModelMode::Balanced;
/// Forecast horizon when `forecast_blocks` is not set (seed 001's example value).
pub const FORECAST_BLOCKS: Duration = Duration::from_secs(15 * 60);
/// Cadence when neither forecast_cron nor forecast_interval is set on an override.
pub const FORECAST_INTERVAL: Duration = Duration::from_secs(15 * 60);
pub const FORECAST_BUFFER_PERCENT: f64 = 0.0;
/// History needed before forecasts are trusted (seed 001: "at least a day").
pub const MIN_LOOKBACK_TO_SCALE: Duration = Duration::from_secs(24 * 3600);
/// Pods of one workload disrupted at once.
pub const MAX_DISRUPTED_PERCENT: f64 = 20.0;
pub const DISRUPTION_INTERVAL: Duration = Duration::from_secs(60);
/// Whether OOM remediation runs when `vertical.oom_remediation.enabled` is not set: on.
/// Answering OOM kills fast is what autonomous mode is for; the raise is bounded by the
/// memory `upperbound` and expires after the stabilisation window, and targets in
/// recommendation mode never act on it.
pub const OOM_REMEDIATION_ENABLED: bool = true;
/// How long an OOM floor is held (at least; the forecast interval when longer).
pub const OOM_STABILIZATION_WINDOW: Duration = Duration::from_secs(3600);

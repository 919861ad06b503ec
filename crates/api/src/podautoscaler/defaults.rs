//! Defaults of the PodAutoscaler API, once: AIBrix's published values (its
//! metric-based-autoscaling and predictive-autoscaling documents). The window defaults are
//! macros as well as constants because the CEL rule comparing the two windows embeds them.

use std::time::Duration;

/// The stable (observe) window when `observeWindowSeconds` is not set.
macro_rules! default_observe_window {
    () => {
        180
    };
}
/// The KPA panic window when `panicWindowSeconds` is not set.
macro_rules! default_panic_window {
    () => {
        60
    };
}
/// The floor when `minReplicas` is not set.
macro_rules! default_min_replicas {
    () => {
        1
    };
}
pub(crate) use {default_min_replicas, default_observe_window, default_panic_window};

pub const OBSERVE_WINDOW_SECONDS: i64 = default_observe_window!();
pub const PANIC_WINDOW_SECONDS: i64 = default_panic_window!();
pub const MIN_REPLICAS: i32 = default_min_replicas!();
/// `observeWindowSeconds`, `panicWindowSeconds` and `predictive.horizonSeconds` lie in
/// 1..=3600.
pub const MAX_WINDOW_SECONDS: i64 = 3600;

/// `autoscaling.aibrix.ai/max-scale-up-rate`: at most this many times the ready pods.
pub const MAX_SCALE_UP_RATE: f64 = 2.0;
/// `autoscaling.aibrix.ai/max-scale-down-rate`: at least the ready pods divided by this.
pub const MAX_SCALE_DOWN_RATE: f64 = 2.0;
/// `autoscaling.aibrix.ai/scale-up-tolerance` and `scale-down-tolerance`.
pub const SCALE_UP_TOLERANCE: f64 = 0.1;
pub const SCALE_DOWN_TOLERANCE: f64 = 0.1;
/// `autoscaling.aibrix.ai/panic-threshold` (KPA).
pub const PANIC_THRESHOLD: f64 = 2.0;
/// `autoscaling.aibrix.ai/scale-up-cooldown-window` and `scale-down-cooldown-window`.
pub const SCALE_UP_COOLDOWN: Duration = Duration::ZERO;
pub const SCALE_DOWN_COOLDOWN: Duration = Duration::from_secs(300);
/// `autoscaling.aibrix.ai/scale-to-zero`.
pub const SCALE_TO_ZERO: bool = false;
/// The shortest `apa.autoscaling.aibrix.ai/window`.
pub const MIN_APA_WINDOW: Duration = Duration::from_secs(1);
/// `spec.predictive.horizonSeconds` when not set.
pub const PREDICTIVE_HORIZON_SECONDS: i64 = 120;
/// Time zone of a schedule without `timezone`.
pub const SCHEDULE_TIME_ZONE: &str = "UTC";

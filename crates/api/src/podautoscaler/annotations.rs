//! The algorithm parameters of a PodAutoscaler: AIBrix's defaults, overridden by the
//! `autoscaling.aibrix.ai/*` annotations it documents and by the spec's windows, parsed
//! once into `ScalingParameters`.
//!
//! As in AIBrix, a key of the autoscaling prefixes that no parser knows (a typo, or a key
//! AIBrix no longer reads such as `kpa.autoscaling.aibrix.ai/scale-down-delay`) is ignored
//! and the default applies; `ignored` lists them so the controller can say so. Unlike
//! AIBrix, a value that does not parse is a problem with the annotation's path (which
//! `prescale validate` reports) and that parameter keeps its default, instead of the whole
//! configuration failing.

use std::collections::BTreeMap;
use std::time::Duration;

use super::defaults;
use super::spec::{PodAutoscalerSpec, ScalingStrategy};
use crate::duration::parse_duration;
use crate::validate::FieldError;

pub const MAX_SCALE_UP_RATE: &str = "autoscaling.aibrix.ai/max-scale-up-rate";
pub const MAX_SCALE_DOWN_RATE: &str = "autoscaling.aibrix.ai/max-scale-down-rate";
pub const SCALE_UP_TOLERANCE: &str = "autoscaling.aibrix.ai/scale-up-tolerance";
pub const SCALE_DOWN_TOLERANCE: &str = "autoscaling.aibrix.ai/scale-down-tolerance";
pub const PANIC_THRESHOLD: &str = "autoscaling.aibrix.ai/panic-threshold";
pub const SCALE_UP_COOLDOWN_WINDOW: &str = "autoscaling.aibrix.ai/scale-up-cooldown-window";
pub const SCALE_DOWN_COOLDOWN_WINDOW: &str = "autoscaling.aibrix.ai/scale-down-cooldown-window";
pub const SCALE_TO_ZERO: &str = "autoscaling.aibrix.ai/scale-to-zero";
/// APA only: the length of the window the metric is averaged over.
pub const APA_WINDOW: &str = "apa.autoscaling.aibrix.ai/window";

/// Prefixes of the keys the autoscaler reads; any other key under them is reported as
/// ignored.
pub const PREFIXES: [&str; 3] = [
    "autoscaling.aibrix.ai/",
    "kpa.autoscaling.aibrix.ai/",
    "apa.autoscaling.aibrix.ai/",
];
/// Keys under those prefixes that configure something else (AIBrix's StormService mode).
const NOT_SCALING_PARAMETERS: [&str; 1] = ["autoscaling.aibrix.ai/storm-service-mode"];

/// Keys AIBrix once read and no longer does, with the key that replaced them.
const RENAMED: [(&str, &str); 6] = [
    (
        "kpa.autoscaling.aibrix.ai/scale-down-delay",
        SCALE_DOWN_COOLDOWN_WINDOW,
    ),
    ("kpa.autoscaling.aibrix.ai/panic-threshold", PANIC_THRESHOLD),
    (
        "autoscaling.aibrix.ai/up-fluctuation-tolerance",
        SCALE_UP_TOLERANCE,
    ),
    (
        "autoscaling.aibrix.ai/down-fluctuation-tolerance",
        SCALE_DOWN_TOLERANCE,
    ),
    (
        "apa.autoscaling.aibrix.ai/up-fluctuation-tolerance",
        SCALE_UP_TOLERANCE,
    ),
    (
        "apa.autoscaling.aibrix.ai/down-fluctuation-tolerance",
        SCALE_DOWN_TOLERANCE,
    ),
];

/// Everything the strategies need to know about one PodAutoscaler beyond its metrics.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ScalingParameters {
    /// At most this many times the ready pods after one decision (≥ 1).
    pub max_scale_up_rate: f64,
    /// At least the ready pods divided by this after one decision (≥ 1).
    pub max_scale_down_rate: f64,
    /// No scale-up while the metric is within this fraction above its target.
    pub scale_up_tolerance: f64,
    /// No scale-down while the metric is within this fraction below its target.
    pub scale_down_tolerance: f64,
    /// KPA enters panic mode when the panic window asks for this many times the ready pods.
    pub panic_threshold: f64,
    /// A scale-up is applied once every recommendation of this window asked for it.
    pub scale_up_cooldown: Duration,
    /// A scale-down is applied once every recommendation of this window asked for it.
    pub scale_down_cooldown: Duration,
    /// Whether the replicas may reach 0 (still never below minReplicas).
    pub scale_to_zero: bool,
    /// The stable window: KPA's stable average, APA's average, the projection's fit.
    pub stable_window: Duration,
    /// KPA's panic window.
    pub panic_window: Duration,
}

impl Default for ScalingParameters {
    fn default() -> Self {
        ScalingParameters {
            max_scale_up_rate: defaults::MAX_SCALE_UP_RATE,
            max_scale_down_rate: defaults::MAX_SCALE_DOWN_RATE,
            scale_up_tolerance: defaults::SCALE_UP_TOLERANCE,
            scale_down_tolerance: defaults::SCALE_DOWN_TOLERANCE,
            panic_threshold: defaults::PANIC_THRESHOLD,
            scale_up_cooldown: defaults::SCALE_UP_COOLDOWN,
            scale_down_cooldown: defaults::SCALE_DOWN_COOLDOWN,
            scale_to_zero: defaults::SCALE_TO_ZERO,
            stable_window: seconds(defaults::OBSERVE_WINDOW_SECONDS),
            panic_window: seconds(defaults::PANIC_WINDOW_SECONDS),
        }
    }
}

/// An annotation the autoscaler does not read, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoredAnnotation {
    pub key: String,
    pub why: String,
}

/// The parameters, and what was wrong or ignored on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedParameters {
    pub parameters: ScalingParameters,
    /// Values that do not parse, at `metadata.annotations[<key>]`; those parameters keep
    /// their defaults.
    pub problems: Vec<FieldError>,
    pub ignored: Vec<IgnoredAnnotation>,
}

fn seconds(s: i64) -> Duration {
    Duration::from_secs(s.max(0) as u64)
}

/// The parameters of a PodAutoscaler with these annotations and this spec.
pub fn scaling_parameters(
    annotations: &BTreeMap<String, String>,
    spec: &PodAutoscalerSpec,
) -> ParsedParameters {
    let mut p = ScalingParameters::default();
    if let Some(s) = spec.observe_window_seconds {
        p.stable_window = seconds(s);
    }
    if let Some(s) = spec.panic_window_seconds {
        p.panic_window = seconds(s);
    }
    let mut problems = vec![];
    let mut ignored = vec![];
    for (key, value) in annotations {
        let parsed = match key.as_str() {
            MAX_SCALE_UP_RATE => rate(value).map(|v| p.max_scale_up_rate = v),
            MAX_SCALE_DOWN_RATE => rate(value).map(|v| p.max_scale_down_rate = v),
            SCALE_UP_TOLERANCE => tolerance(value).map(|v| p.scale_up_tolerance = v),
            SCALE_DOWN_TOLERANCE => tolerance(value).map(|v| p.scale_down_tolerance = v),
            PANIC_THRESHOLD => rate(value).map(|v| p.panic_threshold = v),
            SCALE_UP_COOLDOWN_WINDOW => cooldown(value).map(|v| p.scale_up_cooldown = v),
            SCALE_DOWN_COOLDOWN_WINDOW => cooldown(value).map(|v| p.scale_down_cooldown = v),
            SCALE_TO_ZERO => boolean(value).map(|v| p.scale_to_zero = v),
            APA_WINDOW if spec.scaling_strategy == ScalingStrategy::APA => {
                apa_window(value).map(|v| p.stable_window = v)
            }
            APA_WINDOW => {
                ignored.push(IgnoredAnnotation {
                    key: key.clone(),
                    why: "an APA setting, and this PodAutoscaler's scalingStrategy is not APA"
                        .into(),
                });
                Ok(())
            }
            other if is_autoscaling_key(other) => {
                ignored.push(IgnoredAnnotation {
                    key: key.clone(),
                    why: match RENAMED.iter().find(|(old, _)| *old == other) {
                        Some((_, new)) => format!("no longer read by AIBrix: use {new}"),
                        None => "not an annotation the autoscaler reads".into(),
                    },
                });
                Ok(())
            }
            _ => Ok(()),
        };
        if let Err(expected) = parsed {
            problems.push(FieldError {
                path: format!("metadata.annotations[{key}]"),
                message: format!(
                    "{value:?} {} {key}: {expected}",
                    super::rules::ANNOTATION_VALUE.message
                ),
            });
        }
    }
    ParsedParameters {
        parameters: p,
        problems,
        ignored,
    }
}

fn is_autoscaling_key(key: &str) -> bool {
    PREFIXES.iter().any(|p| key.starts_with(p)) && !NOT_SCALING_PARAMETERS.contains(&key)
}

fn number(value: &str) -> Option<f64> {
    value.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Rates and the panic threshold: a number of at least 1 (1 forbids change that way).
fn rate(value: &str) -> Result<f64, &'static str> {
    number(value)
        .filter(|v| *v >= 1.0)
        .ok_or("a number of at least 1, e.g. \"2.0\"")
}

/// Tolerances: a fraction from 0 to 1.
fn tolerance(value: &str) -> Result<f64, &'static str> {
    number(value)
        .filter(|v| (0.0..=1.0).contains(v))
        .ok_or("a fraction from 0 to 1, e.g. \"0.1\"")
}

fn cooldown(value: &str) -> Result<Duration, &'static str> {
    parse_duration(value.trim()).map_err(|_| "a duration such as \"30s\", \"5m\" or \"0s\"")
}

fn apa_window(value: &str) -> Result<Duration, &'static str> {
    parse_duration(value.trim())
        .ok()
        .filter(|d| *d >= defaults::MIN_APA_WINDOW)
        .ok_or("a duration of at least 1s, e.g. \"30s\"")
}

/// As Go's strconv.ParseBool, which AIBrix uses.
fn boolean(value: &str) -> Result<bool, &'static str> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err("true or false"),
    }
}

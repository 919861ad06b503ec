//! Every rule of the PodAutoscaler API, once, in the form of `crate::rules`: CEL emitted
//! into the CRD (with its field path) and checked again in Rust by
//! `validate::podautoscaler` with the same message at the same path; value formats as
//! OpenAPI patterns; and the checks the API server cannot make.
//!
//! The rules follow AIBrix's validating webhook and its documentation (metric-based and
//! predictive autoscaling), written as CEL so the API server itself refuses what AIBrix's
//! webhook would.

use super::defaults::{default_min_replicas, default_observe_window, default_panic_window};
use crate::rules::{OfflineCheck, PatternText, RuleText, rule};

// On PodAutoscaler.spec (minReplicas ≤ maxReplicas is `crate::rules::MIN_WITHIN_MAX`).
rule!(
    PANIC_WITHIN_OBSERVE,
    concat!(
        "(has(self.panicWindowSeconds) ? self.panicWindowSeconds : ",
        default_panic_window!(),
        ") <= (has(self.observeWindowSeconds) ? self.observeWindowSeconds : ",
        default_observe_window!(),
        ")"
    ),
    concat!(
        "panicWindowSeconds must not exceed observeWindowSeconds (unset, they are ",
        default_panic_window!(),
        " and ",
        default_observe_window!(),
        ")"
    ),
    at ".panicWindowSeconds"
);
rule!(
    PREDICTIVE_NOT_WITH_HPA,
    "!has(self.predictive) || self.scalingStrategy != 'HPA'",
    "predictive scaling is not supported with scalingStrategy HPA: the native HorizontalPodAutoscaler has no way to receive the projection; use KPA or APA, or remove spec.predictive",
    at ".predictive"
);
rule!(
    SCHEDULES_ONE_TIME_ZONE,
    "!has(self.schedules) || self.schedules.all(s, ((has(s.timezone) && s.timezone != '') ? s.timezone : 'UTC') == ((has(self.schedules[0].timezone) && self.schedules[0].timezone != '') ? self.schedules[0].timezone : 'UTC'))",
    "every schedule must use the same timezone: mixed timezones are not supported",
    at ".schedules"
);
rule!(
    SCHEDULES_DO_NOT_OVERLAP,
    "!has(self.schedules) || self.schedules.all(a, self.schedules.all(b, a.name == b.name || a.endTime <= b.startTime || b.endTime <= a.startTime || (has(a.daysOfWeek) && has(b.daysOfWeek) && !a.daysOfWeek.exists(d, b.daysOfWeek.exists(e, d.lowerAscii() == e.lowerAscii())))))",
    "schedules must not overlap: two schedules share a weekday and a time of day (there is no priority between them)",
    at ".schedules"
);
rule!(
    SCHEDULE_BOUNDS_ORDERED,
    concat!(
        "!has(self.schedules) || self.schedules.all(s, (has(s.minReplicas) ? s.minReplicas : (has(self.minReplicas) ? self.minReplicas : ",
        default_min_replicas!(),
        ")) <= (has(s.maxReplicas) ? s.maxReplicas : self.maxReplicas))"
    ),
    concat!(
        "a schedule's effective minReplicas (its own, else spec.minReplicas, else ",
        default_min_replicas!(),
        ") must not exceed its effective maxReplicas (its own, else spec.maxReplicas)"
    ),
    at ".schedules"
);

// On a schedule
rule!(
    SCHEDULE_SETS_A_BOUND,
    "has(self.minReplicas) || has(self.maxReplicas)",
    "a schedule must set minReplicas, maxReplicas or both"
);
rule!(
    SCHEDULE_STARTS_BEFORE_END,
    "self.startTime < self.endTime",
    "endTime must be later than startTime: a window may not span midnight (split it in two, e.g. 22:00-23:59 and 00:00-06:00)",
    at ".endTime"
);

// On a metric source
rule!(
    POD_NEEDS_PROTOCOL,
    "self.metricSourceType != 'pod' || has(self.protocolType)",
    "protocolType (http or https) is required for metricSourceType pod",
    at ".protocolType"
);
rule!(
    POD_NEEDS_PORT,
    "self.metricSourceType != 'pod' || has(self.port)",
    "port is required for metricSourceType pod: the port of the pods' metrics endpoint, e.g. \"8000\"",
    at ".port"
);
rule!(
    POD_NEEDS_PATH,
    "self.metricSourceType != 'pod' || has(self.path)",
    "path is required for metricSourceType pod: the path of the pods' metrics endpoint, e.g. /metrics",
    at ".path"
);
rule!(
    ENDPOINT_NEEDS_PROTOCOL,
    "!(self.metricSourceType in ['external', 'domain']) || !has(self.endpoint) || has(self.protocolType)",
    "protocolType (http or https) is required with an endpoint; without endpoint an external source reads the Kubernetes external metrics API",
    at ".protocolType"
);
rule!(
    ENDPOINT_NEEDS_PATH,
    "!(self.metricSourceType in ['external', 'domain']) || !has(self.endpoint) || has(self.path)",
    "path is required with an endpoint; without endpoint an external source reads the Kubernetes external metrics API",
    at ".path"
);
rule!(
    RESOURCE_IS_CPU_OR_MEMORY,
    "self.metricSourceType != 'resource' || self.targetMetric in ['cpu', 'memory']",
    "a resource metric is cpu or memory",
    at ".targetMetric"
);
rule!(
    RESOURCE_HAS_NO_PORT,
    "self.metricSourceType != 'resource' || !has(self.port)",
    "not allowed for metricSourceType resource (read from metrics.k8s.io)",
    at ".port"
);
rule!(
    RESOURCE_HAS_NO_ENDPOINT,
    "self.metricSourceType != 'resource' || !has(self.endpoint)",
    "not allowed for metricSourceType resource (read from metrics.k8s.io)",
    at ".endpoint"
);
rule!(
    RESOURCE_HAS_NO_PATH,
    "self.metricSourceType != 'resource' || !has(self.path)",
    "not allowed for metricSourceType resource (read from metrics.k8s.io)",
    at ".path"
);
rule!(
    RESOURCE_HAS_NO_PROTOCOL,
    "self.metricSourceType != 'resource' || !has(self.protocolType)",
    "not allowed for metricSourceType resource (read from metrics.k8s.io)",
    at ".protocolType"
);
// targetValue is a plain string bounded by `limits::QUANTITY`, so `quantity()` is cheap here
// (unlike on int-or-string fields); its format is the QUANTITY pattern, checked first.
rule!(
    TARGET_VALUE_POSITIVE,
    "!isQuantity(self.targetValue) || quantity(self.targetValue).isGreaterThan(quantity('0'))",
    "targetValue must be greater than 0",
    at ".targetValue"
);

/// Every rule of the PodAutoscaler CRD, so tests can check each one reaches it.
pub const RULES: [RuleText; 18] = [
    crate::rules::MIN_WITHIN_MAX,
    PANIC_WITHIN_OBSERVE,
    PREDICTIVE_NOT_WITH_HPA,
    SCHEDULES_ONE_TIME_ZONE,
    SCHEDULES_DO_NOT_OVERLAP,
    SCHEDULE_BOUNDS_ORDERED,
    SCHEDULE_SETS_A_BOUND,
    SCHEDULE_STARTS_BEFORE_END,
    POD_NEEDS_PROTOCOL,
    POD_NEEDS_PORT,
    POD_NEEDS_PATH,
    ENDPOINT_NEEDS_PROTOCOL,
    ENDPOINT_NEEDS_PATH,
    RESOURCE_IS_CPU_OR_MEMORY,
    RESOURCE_HAS_NO_PORT,
    RESOURCE_HAS_NO_ENDPOINT,
    RESOURCE_HAS_NO_PATH,
    RESOURCE_HAS_NO_PROTOCOL,
];

/// A wall-clock time of day, strictly `HH:MM` (AIBrix's format).
pub const TIME_OF_DAY: PatternText = PatternText {
    pattern: r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
    message: "must be a time of day written HH:MM, from 00:00 to 23:59 (e.g. 09:00)",
};
/// A weekday's three-letter English name, in any case.
pub const WEEKDAY: PatternText = PatternText {
    pattern: r"^(?i:mon|tue|wed|thu|fri|sat|sun)$",
    message: "must be a weekday: Mon, Tue, Wed, Thu, Fri, Sat or Sun",
};
/// A port number written as a string, as AIBrix's `port` is.
pub const PORT: PatternText = PatternText {
    pattern: r"^([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$",
    message: "must be a port number from 1 to 65535 written as a string (e.g. \"8000\")",
};

pub const TIME_ZONE_KNOWN: OfflineCheck = OfflineCheck {
    field: "timezone",
    message: "is not a time zone of the IANA database",
    why: "CEL has no time zone database",
};
pub const ANNOTATION_VALUE: OfflineCheck = OfflineCheck {
    field: "annotations",
    message: "is not a valid value of",
    why: "CRD rules cannot see metadata.annotations, and the API server validates no annotation values",
};
pub const TARGET_IN_OWN_NAMESPACE: OfflineCheck = OfflineCheck {
    field: "namespace",
    message: "must be the PodAutoscaler's own namespace",
    why: "CEL rules of a CRD can read metadata.name but not metadata.namespace",
};

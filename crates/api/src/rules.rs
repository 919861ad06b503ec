//! Every rule of the API, once.
//!
//! - Cross-field rules: a CEL expression (emitted into the CRD as `x-kubernetes-validations`,
//!   enforced by the API server), its message, and the field it is reported at (the rule's
//!   `fieldPath`). The Rust validator in `validate` checks the same rule and reports the same
//!   message at the same path.
//! - Value formats: a regular expression emitted as the OpenAPI `pattern` of the fields that
//!   take it, and the message `prescale validate` gives when a value does not match. Formats
//!   of int-or-string fields (quantities, percentages) must be patterns: the API server
//!   estimates an int-or-string as a 3 MiB string whatever its `maxLength`, so a CEL regex or
//!   `quantity()` on one blows the CRD's cost budget.
//! - Checks the API server cannot make (`OFFLINE_ONLY`): `prescale validate` and the operator
//!   make them; the validating webhook (issue 12) will make them at admission.

/// A cross-field rule: CEL evaluated on the object it is attached to, the message, and the
/// field (relative to that object, e.g. `.forecast_interval`) the error is reported at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleText {
    pub cel: &'static str,
    pub message: &'static str,
    /// `None`: reported at the object the rule is attached to.
    pub field: Option<&'static str>,
}

impl RuleText {
    /// The path of the error for a rule attached at `at` (e.g. `spec.model`).
    pub fn path(&self, at: &str) -> String {
        format!("{at}{}", self.field.unwrap_or_default())
    }
}

impl From<RuleText> for kube::core::Rule {
    fn from(rule: RuleText) -> Self {
        let cel = kube::core::Rule::new(rule.cel).message(rule.message);
        match rule.field {
            Some(field) => cel.field_path(field),
            None => cel,
        }
    }
}

macro_rules! rule {
    ($(#[$doc:meta])* $name:ident, $cel:expr, $message:expr $(, at $field:literal)?) => {
        $(#[$doc])*
        pub const $name: RuleText = RuleText {
            cel: $cel,
            message: $message,
            field: rule!(@field $($field)?),
        };
    };
    (@field) => { None };
    (@field $field:literal) => { Some($field) };
}
pub(crate) use rule;

// On AIScaleTarget.spec
rule!(
    TARGET_REF_OR_SELECTOR,
    "has(self.scaleTargetRef) || has(self.selector)",
    "one of scaleTargetRef (one workload) and selector (workloads by label) is required",
    at ".scaleTargetRef"
);
rule!(
    TARGET_REF_NOT_WITH_SELECTOR,
    "!has(self.scaleTargetRef) || !has(self.selector)",
    "scaleTargetRef and selector are mutually exclusive: set one",
    at ".selector"
);
rule!(
    SELECTOR_NO_HORIZONTAL,
    "!has(self.selector) || !has(self.horizontal)",
    "horizontal scaling is not supported with selector: remove spec.horizontal or use scaleTargetRef",
    at ".horizontal"
);

// On the top-level model (spec.model, spec.template.model)
rule!(
    MODEL_CADENCE_REQUIRED,
    "has(self.forecast_cron) || has(self.forecast_interval)",
    "one of forecast_cron and forecast_interval is required",
    at ".forecast_cron"
);

// On every model block
rule!(
    CRON_XOR_INTERVAL,
    "!(has(self.forecast_cron) && has(self.forecast_interval))",
    "forecast_cron and forecast_interval are mutually exclusive: set one",
    at ".forecast_interval"
);

/// The duration syntax, written once for the Rust side and the CEL rules.
macro_rules! duration_regex {
    () => {
        r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"
    };
}
/// Durations: Go-style unit sequences with a unit on every term (`15m`, `1h30m`, `90s`).
pub const DURATION_PATTERN: &str = duration_regex!();

// Compared only when both are well-formed: a malformed one is reported by DURATION_HAS_UNIT,
// not as a CEL conversion error.
rule!(
    INTERVAL_WITHIN_BLOCKS,
    concat!(
        "!has(self.forecast_interval) || !has(self.forecast_blocks)",
        " || !self.forecast_interval.matches(r'",
        duration_regex!(),
        "')",
        " || !self.forecast_blocks.matches(r'",
        duration_regex!(),
        "')",
        " || duration(self.forecast_interval) <= duration(self.forecast_blocks)"
    ),
    "forecast_interval must not be longer than forecast_blocks, or forecasts leave gaps",
    at ".forecast_interval"
);
rule!(
    PERCENTILE_NEEDS_VALUE,
    "!has(self.mode) || self.mode != 'percentile' || has(self.percentile_value)",
    "mode percentile requires percentile_value (0 to 100)",
    at ".percentile_value"
);

// On duration fields (strings bounded by `limits::DURATION`, so the regex is cheap)
rule!(
    DURATION_HAS_UNIT,
    concat!("self.matches(r'", duration_regex!(), "')"),
    "must be a duration with a unit, e.g. 15m, 4h or 1h30m (units: ms, s, m, h)"
);

// On a container's cpu / memory block
rule!(
    LOWERBOUND_REQUIRED,
    "has(self.lowerbound)",
    "lowerbound is required",
    at ".lowerbound"
);
// Quantities are int-or-string: an int becomes a quantity by adding it to zero (no string
// conversion), a string is parsed by `quantity()`. Each `quantity()` on an int-or-string is
// estimated at ~315k cost units (3 MiB / 10), which is why `limits::CONTAINERS` is small.
rule!(
    LOWER_WITHIN_UPPER,
    "!has(self.lowerbound) || !has(self.upperbound) || (type(self.lowerbound) == int ? quantity('0').add(int(self.lowerbound)) : quantity(self.lowerbound)).compareTo(type(self.upperbound) == int ? quantity('0').add(int(self.upperbound)) : quantity(self.upperbound)) <= 0",
    "lowerbound must not exceed upperbound",
    at ".lowerbound"
);
// On a container
rule!(
    CONTAINER_CPU_REQUIRED,
    "has(self.cpu)",
    "cpu.lowerbound is required",
    at ".cpu.lowerbound"
);
rule!(
    CONTAINER_MEMORY_REQUIRED,
    "has(self.memory)",
    "memory.lowerbound is required",
    at ".memory.lowerbound"
);

// On vertical
rule!(
    MEMORY_LIMIT_NEEDS_RESTART,
    "!has(self.in_place_resizing) || !has(self.in_place_resizing.enabled) || !self.in_place_resizing.enabled || !has(self.containers) || !self.containers.exists(c, has(c.memory) && has(c.memory.limit)) || (has(self.in_place_resizing.allow_restart_on_memory_limit_decrease) && self.in_place_resizing.allow_restart_on_memory_limit_decrease)",
    "a memory limit with in-place resizing requires in_place_resizing.allow_restart_on_memory_limit_decrease: true",
    at ".in_place_resizing.allow_restart_on_memory_limit_decrease"
);
rule!(
    IN_PLACE_MATCHES_UPDATE_MODE,
    "!has(self.in_place_resizing) || !has(self.in_place_resizing.enabled) || !has(self.update_policy) || !has(self.update_policy.update_mode) || (self.in_place_resizing.enabled == (self.update_policy.update_mode in ['in_place', 'in_place_or_recreate']))",
    "in_place_resizing.enabled contradicts update_policy.update_mode: in-place resizing needs update_mode in_place or in_place_or_recreate",
    at ".update_policy.update_mode"
);

// On horizontal
rule!(
    MULTIPLE_XOR_ALLOWED,
    "!(has(self.multipleOf) && has(self.allowedReplicas))",
    "multipleOf and allowedReplicas are mutually exclusive: set one",
    at ".allowedReplicas"
);
rule!(
    MIN_WITHIN_MAX,
    "!has(self.minReplicas) || !has(self.maxReplicas) || self.minReplicas <= self.maxReplicas",
    "minReplicas must not exceed maxReplicas",
    at ".minReplicas"
);
rule!(
    EXCLUDE_METRIC_NEEDS_NAME_OR_TYPE,
    "has(self.name) || has(self.type)",
    "needs a name, a type, or both"
);

// On a scaling step
rule!(
    PERCENT_STEP_HAS_PERCENT,
    "self.type != 'percent' || has(self.percent)",
    "type percent needs percent",
    at ".percent"
);
rule!(
    ABSOLUTE_STEP_HAS_ABSOLUTE,
    "self.type != 'absolute' || has(self.absolute)",
    "type absolute needs absolute",
    at ".absolute"
);

// On the template policy
rule!(
    INCLUDED_XOR_EXCLUDED,
    "!(has(self.includedNamespaces) && has(self.excludedNamespaces))",
    "includedNamespaces and excludedNamespaces are mutually exclusive: set one",
    at ".excludedNamespaces"
);

// On a label selector requirement (spec.selector, spec.selector of a template)
rule!(
    SELECTOR_VALUES_MATCH_OPERATOR,
    "self.operator in ['In', 'NotIn'] ? (has(self.values) && size(self.values) > 0) : (!has(self.values) || size(self.values) == 0)",
    "values must be non-empty for In and NotIn, and empty for Exists and DoesNotExist",
    at ".values"
);

/// Every cross-field rule, so tests can check each one reaches the CRDs.
pub const RULES: [RuleText; 21] = [
    TARGET_REF_OR_SELECTOR,
    TARGET_REF_NOT_WITH_SELECTOR,
    SELECTOR_NO_HORIZONTAL,
    MODEL_CADENCE_REQUIRED,
    CRON_XOR_INTERVAL,
    INTERVAL_WITHIN_BLOCKS,
    PERCENTILE_NEEDS_VALUE,
    DURATION_HAS_UNIT,
    LOWERBOUND_REQUIRED,
    LOWER_WITHIN_UPPER,
    CONTAINER_CPU_REQUIRED,
    CONTAINER_MEMORY_REQUIRED,
    MEMORY_LIMIT_NEEDS_RESTART,
    IN_PLACE_MATCHES_UPDATE_MODE,
    MULTIPLE_XOR_ALLOWED,
    MIN_WITHIN_MAX,
    EXCLUDE_METRIC_NEEDS_NAME_OR_TYPE,
    PERCENT_STEP_HAS_PERCENT,
    ABSOLUTE_STEP_HAS_ABSOLUTE,
    INCLUDED_XOR_EXCLUDED,
    SELECTOR_VALUES_MATCH_OPERATOR,
];

/// A value format: the `pattern` of the fields that take it, and what `validate` says when a
/// value does not match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatternText {
    pub pattern: &'static str,
    pub message: &'static str,
}

/// A non-negative Kubernetes quantity (`20m`, `1`, `0`, `50Mi`, `2G`, `1.5`, `1e3`).
pub const QUANTITY: PatternText = PatternText {
    pattern: r"^\+?([0-9]+(\.[0-9]*)?|\.[0-9]+)([numkMGTPE]|[KMGTPE]i|[eE][-+]?[0-9]+)?$",
    message: "must be a quantity of 0 or more such as 20m, 1, 50Mi or 2G",
};
/// A percentage of 0 or more (`10%`, `12.5%`, or `10`).
pub const PERCENT: PatternText = PatternText {
    pattern: r"^[0-9]+(\.[0-9]+)?%?$",
    message: "must be a percentage of 0 or more such as 10% or 12.5%",
};
/// More than 0% and at most 100% (`20%`, `0.5%`, `100%`).
pub const DISRUPTION_PERCENT: PatternText = PatternText {
    pattern: r"^(100(\.0+)?|[1-9][0-9]?(\.[0-9]+)?|0\.[0-9]*[1-9][0-9]*)%$",
    message: "must be a number of pods such as 2, or a percentage above 0% and at most 100% such as 20%",
};
/// A DNS-1123 label: namespaces and container names.
pub const DNS_LABEL: PatternText = PatternText {
    pattern: r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
    message: "must be a lowercase RFC 1123 label: letters, digits and '-', starting and ending with a letter or digit (e.g. shop)",
};
/// A DNS-1123 subdomain: names of objects (workloads, AIScaleTargets, templates).
pub const DNS_SUBDOMAIN: PatternText = PatternText {
    pattern: r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
    message: "must be a lowercase RFC 1123 subdomain: letters, digits, '-' and '.', starting and ending with a letter or digit (e.g. checkout)",
};
/// A container name, or `*` for every container.
pub const CONTAINER_NAME: PatternText = PatternText {
    pattern: r"^(\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?)$",
    message: "must be a container name (a lowercase RFC 1123 label such as app) or * for every container",
};

/// Every pattern, so a pattern found in the schema maps back to its message.
pub const PATTERNS: [PatternText; 9] = [
    QUANTITY,
    PERCENT,
    DISRUPTION_PERCENT,
    DNS_LABEL,
    DNS_SUBDOMAIN,
    CONTAINER_NAME,
    crate::podautoscaler::rules::TIME_OF_DAY,
    crate::podautoscaler::rules::WEEKDAY,
    crate::podautoscaler::rules::PORT,
];

/// A check the API server cannot make: `prescale validate` and the operator make it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OfflineCheck {
    /// The field, as the last segment of its path.
    pub field: &'static str,
    /// What every message of this check says.
    pub message: &'static str,
    /// Why CEL cannot express it.
    pub why: &'static str,
}

pub const CRON_SYNTAX: OfflineCheck = OfflineCheck {
    field: "forecast_cron",
    message: "is not a 5-field cron expression",
    why: "CEL has no cron parser, and a regular expression for every cron form is not worth its upkeep",
};
pub const TARGET_IN_OWN_NAMESPACE: OfflineCheck = OfflineCheck {
    field: "namespace",
    message: "must be the AIScaleTarget's own namespace",
    why: "CEL rules of a CRD can read metadata.name but not metadata.namespace",
};

/// Every check the API server cannot make, in one place; the validating webhook (issue 12)
/// will make them at admission.
pub const OFFLINE_ONLY: [OfflineCheck; 5] = [
    CRON_SYNTAX,
    TARGET_IN_OWN_NAMESPACE,
    crate::podautoscaler::rules::TIME_ZONE_KNOWN,
    crate::podautoscaler::rules::ANNOTATION_VALUE,
    crate::podautoscaler::rules::TARGET_IN_OWN_NAMESPACE,
];

impl OfflineCheck {
    /// Whether a problem `message` at `path` is this check: the path's last field is
    /// `field` (a map key in brackets, such as an annotation's, is not a field), and the
    /// message says what every message of this check says.
    pub fn made(&self, path: &str, message: &str) -> bool {
        let fields = match path.find('[') {
            Some(bracket) if path.ends_with(']') => &path[..bracket],
            _ => path,
        };
        fields.rsplit('.').next() == Some(self.field) && message.contains(self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_duration_rules_embed_the_duration_pattern() {
        assert!(DURATION_HAS_UNIT.cel.contains(DURATION_PATTERN));
        assert!(INTERVAL_WITHIN_BLOCKS.cel.contains(DURATION_PATTERN));
    }

    #[test]
    fn rules_report_at_their_field() {
        assert_eq!(
            CRON_XOR_INTERVAL.path("spec.model"),
            "spec.model.forecast_interval"
        );
        assert_eq!(
            EXCLUDE_METRIC_NEEDS_NAME_OR_TYPE.path("spec.horizontal.exclude_metrics[0]"),
            "spec.horizontal.exclude_metrics[0]"
        );
        let rule: kube::core::Rule = MIN_WITHIN_MAX.into();
        assert_eq!(rule.field_path.as_deref(), Some(".minReplicas"));
    }

    #[test]
    fn every_pattern_compiles() {
        for p in PATTERNS {
            regex::Regex::new(p.pattern).unwrap();
        }
        regex::Regex::new(DURATION_PATTERN).unwrap();
    }

    #[test]
    fn offline_checks_match_their_messages() {
        let cron = crate::cron::parse_cron("every 15 minutes").unwrap_err();
        assert!(cron.to_string().contains(CRON_SYNTAX.message), "{cron}");
    }
}

//! Every cross-field rule of the API, once: its CEL expression (emitted into the CRD as
//! `x-kubernetes-validations`, enforced by the API server) and its message (also used by
//! the Rust validator in `validate`, which checks the same rule and names the field path).

/// A rule: a CEL expression evaluated on the object it is attached to, and the message.
pub struct RuleText {
    pub cel: &'static str,
    pub message: &'static str,
}

macro_rules! rule {
    ($name:ident, $cel:expr, $message:expr) => {
        pub const $name: RuleText = RuleText {
            cel: $cel,
            message: $message,
        };
    };
}

// On AIScaleTarget.spec
rule!(
    TARGET_REF_XOR_SELECTOR,
    "has(self.scaleTargetRef) != has(self.selector)",
    "exactly one of scaleTargetRef and selector must be set"
);
rule!(
    SELECTOR_NO_HORIZONTAL,
    "!has(self.selector) || !has(self.horizontal)",
    "horizontal scaling is not supported with selector: remove spec.horizontal or use scaleTargetRef"
);
rule!(
    MODEL_CADENCE_REQUIRED,
    "has(self.forecast_cron) || has(self.forecast_interval)",
    "one of forecast_cron and forecast_interval is required"
);

// On every model block
rule!(
    CRON_XOR_INTERVAL,
    "!(has(self.forecast_cron) && has(self.forecast_interval))",
    "forecast_cron and forecast_interval are mutually exclusive: set one"
);
rule!(
    INTERVAL_WITHIN_BLOCKS,
    "!has(self.forecast_interval) || !has(self.forecast_blocks) || duration(self.forecast_interval) <= duration(self.forecast_blocks)",
    "forecast_interval must not be longer than forecast_blocks, or forecasts leave gaps"
);
rule!(
    PERCENTILE_NEEDS_VALUE,
    "!has(self.mode) || self.mode != 'percentile' || (has(self.percentile_value) && self.percentile_value >= 0.0 && self.percentile_value <= 100.0)",
    "mode percentile requires percentile_value between 0 and 100"
);

// On duration fields
pub const DURATION_PATTERN: &str = "^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$";
rule!(
    DURATION_HAS_UNIT,
    "self.matches('^([0-9]+(\\\\.[0-9]+)?(ms|s|m|h))+$')",
    "must be a duration with a unit, e.g. 15m, 4h or 1h30m"
);
// On percentage fields (int-or-string)
rule!(
    PERCENT_WELL_FORMED,
    "type(self) == int ? int(self) >= 0 : string(self).matches('^[0-9]+(\\\\.[0-9]+)?%?$')",
    "must be a percentage such as 10% or 12.5%"
);
// On quantity fields (int-or-string)
rule!(
    QUANTITY_WELL_FORMED,
    "type(self) == int ? int(self) >= 0 : isQuantity(string(self))",
    "must be a quantity such as 20m, 1, 50Mi or 2G"
);

// On a container's cpu / memory block
rule!(
    LOWERBOUND_REQUIRED,
    "has(self.lowerbound)",
    "lowerbound is required"
);
rule!(
    LOWER_WITHIN_UPPER,
    "!has(self.lowerbound) || !has(self.upperbound) || quantity(string(self.lowerbound)).compareTo(quantity(string(self.upperbound))) <= 0",
    "lowerbound must not exceed upperbound"
);
// On a container
rule!(
    CONTAINER_CPU_REQUIRED,
    "has(self.cpu)",
    "cpu.lowerbound is required"
);
rule!(
    CONTAINER_MEMORY_REQUIRED,
    "has(self.memory)",
    "memory.lowerbound is required"
);

// On vertical
rule!(
    MEMORY_LIMIT_NEEDS_RESTART,
    "!has(self.in_place_resizing) || !has(self.in_place_resizing.enabled) || !self.in_place_resizing.enabled || !has(self.containers) || !self.containers.exists(c, has(c.memory) && has(c.memory.limit)) || (has(self.in_place_resizing.allow_restart_on_memory_limit_decrease) && self.in_place_resizing.allow_restart_on_memory_limit_decrease)",
    "a memory limit with in-place resizing requires in_place_resizing.allow_restart_on_memory_limit_decrease: true"
);
rule!(
    IN_PLACE_MATCHES_UPDATE_MODE,
    "!has(self.in_place_resizing) || !has(self.in_place_resizing.enabled) || !has(self.update_policy) || !has(self.update_policy.update_mode) || (self.in_place_resizing.enabled == (self.update_policy.update_mode in ['in_place', 'in_place_or_recreate']))",
    "in_place_resizing.enabled contradicts update_policy.update_mode: in-place resizing needs update_mode in_place or in_place_or_recreate"
);

// On horizontal
rule!(
    MULTIPLE_XOR_ALLOWED,
    "!(has(self.multipleOf) && has(self.allowedReplicas))",
    "multipleOf and allowedReplicas are mutually exclusive: set one"
);
rule!(
    MIN_WITHIN_MAX,
    "!has(self.minReplicas) || !has(self.maxReplicas) || self.minReplicas <= self.maxReplicas",
    "minReplicas must not exceed maxReplicas"
);

// On a scaling step
rule!(
    STEP_HAS_AMOUNT,
    "self.type == 'percent' ? has(self.percent) : has(self.absolute)",
    "type percent needs percent, type absolute needs absolute"
);

// On the template policy
rule!(
    INCLUDED_XOR_EXCLUDED,
    "!(has(self.includedNamespaces) && has(self.excludedNamespaces))",
    "includedNamespaces and excludedNamespaces are mutually exclusive: set one"
);

/// Maximum number of entries in `horizontal.allowedReplicas`.
pub const MAX_ALLOWED_REPLICAS: usize = 64;

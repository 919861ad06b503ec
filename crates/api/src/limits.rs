//! Size limits of the API, once. They go into the CRD schemas as `maxLength`, `maxItems` and
//! `maxProperties` (the API server refuses a CRD whose CEL rules could cost too much, and
//! estimates that cost from these bounds), and `prescale validate` enforces them from the same
//! schemas. crates/api/README.md documents them for users.

/// Container policies of one target (`vertical.containers`). Small on purpose: comparing
/// lowerbound with upperbound parses two int-or-string quantities, which the API server
/// estimates at ~630k cost units per container against a 10M budget per rule. Name the
/// containers that need their own bounds and use `name: "*"` for the rest.
pub const CONTAINERS: u64 = 15;
/// Replica counts in `horizontal.allowedReplicas`.
pub const ALLOWED_REPLICAS: u64 = 64;
/// `horizontal.additional_metrics` and `horizontal.exclude_metrics`.
pub const METRICS: u64 = 16;
/// Per-metric overrides in a `model.metrics` map.
pub const METRIC_OVERRIDES: u64 = 16;
/// Resources in `update_policy.recreate_resources` (cpu, memory).
pub const RECREATE_RESOURCES: u64 = 2;
/// Namespaces in a template's `includedNamespaces` / `excludedNamespaces`.
pub const NAMESPACES: u64 = 256;

/// Durations (`15m`, `1h30m`).
pub const DURATION: u64 = 32;
/// Cron expressions.
pub const CRON: u64 = 128;
/// Quantities and percentages written as strings.
pub const QUANTITY: u64 = 64;
/// Names that are DNS-1123 labels: namespaces, container names.
pub const DNS_LABEL: u64 = 63;
/// Names that are DNS-1123 subdomains: workloads, AIScaleTargets, templates.
pub const DNS_SUBDOMAIN: u64 = 253;
/// `apiVersion` of a workload (`group/version`).
pub const API_VERSION: u64 = 317;
/// Kinds and metric types.
pub const KIND: u64 = 63;
/// Metric names.
pub const METRIC_NAME: u64 = 253;

/// Label selectors (`spec.selector`, a template's `spec.selector`): as Kubernetes limits
/// labels, plus a bound on how many terms one selector has.
pub const LABEL_KEY: u64 = 317;
pub const LABEL_VALUE: u64 = 63;
pub const MATCH_LABELS: u64 = 64;
pub const MATCH_EXPRESSIONS: u64 = 32;
pub const MATCH_VALUES: u64 = 64;

/// Status, written by the operator: conditions as Kubernetes bounds them.
pub const CONDITIONS: u64 = 16;
pub const CONDITION_MESSAGE: u64 = 32768;
pub const CONDITION_REASON: u64 = 1024;
pub const CONDITION_TYPE: u64 = 316;
/// Status: workloads a selector resolved to, and per-container suggestions over them.
pub const STATUS_WORKLOADS: u64 = 1024;
pub const STATUS_CONTAINERS: u64 = 4096;
/// Status: models chosen, and decision states kept, per workload, container and metric (two
/// per container).
pub const STATUS_MODELS: u64 = 2 * STATUS_CONTAINERS;
/// Status: forecast totals per metric.
pub const STATUS_TOTALS: u64 = 64;

/// PodAutoscaler (autoscaling.aibrix.ai): metric sources of one autoscaler. AIBrix takes the
/// replica count that the most demanding source asks for; a handful is what anyone uses.
pub const METRIC_SOURCES: u64 = 16;
/// PodAutoscaler: scheduled replica bounds. The no-overlap rule compares every pair and
/// their weekdays, so the CEL cost grows with the square of this.
pub const SCHEDULES: u64 = 16;
/// PodAutoscaler: weekdays of a schedule (Mon..Sun).
pub const DAYS_OF_WEEK: u64 = 7;
/// IANA time zone names (the longest in the database has 32 characters).
pub const TIME_ZONE: u64 = 64;
/// A metrics endpoint: `host[:port]`.
pub const ENDPOINT: u64 = 261;
/// An HTTP path of a metrics endpoint.
pub const URL_PATH: u64 = 1024;
/// A port number written as a string (`"8000"`).
pub const PORT: u64 = 5;
/// PodAutoscaler status: the scaling decisions kept (AIBrix keeps the last 5).
pub const SCALING_HISTORY: u64 = 5;

/// Every string, list and map the above does not bound (fields of embedded Kubernetes types
/// such as the HPA `MetricSpec`, identifiers in status).
pub const DEFAULT_MAX_LENGTH: u64 = 1024;
pub const DEFAULT_MAX_ITEMS: u64 = 256;
pub const DEFAULT_MAX_PROPERTIES: u64 = 64;

//! The PodAutoscaler custom resource (`autoscaling.aibrix.ai/v1alpha1`, seed 004), with the
//! spec AIBrix publishes: what to scale, between which bounds, on which metrics, with which
//! strategy (HPA, KPA or APA), over which windows, on which schedules, and whether to
//! project the metric ahead.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::schedule::PodAutoscalerSchedule;
use super::status::PodAutoscalerStatus;

#[derive(CustomResource, KubeSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "autoscaling.aibrix.ai",
    version = "v1alpha1",
    kind = "PodAutoscaler",
    plural = "podautoscalers",
    singular = "podautoscaler",
    namespaced,
    status = "PodAutoscalerStatus",
    printcolumn = r#"{"name":"MINPODS","type":"integer","jsonPath":".spec.minReplicas"}"#,
    printcolumn = r#"{"name":"MAXPODS","type":"integer","jsonPath":".spec.maxReplicas"}"#,
    printcolumn = r#"{"name":"REPLICAS","type":"integer","jsonPath":".status.actualScale"}"#,
    printcolumn = r#"{"name":"STRATEGY","type":"string","jsonPath":".spec.scalingStrategy"}"#,
    printcolumn = r#"{"name":"AGE","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    derive = "PartialEq",
    doc = "PodAutoscaler scales one workload (any kind with a scale subresource) on observed metrics, with the strategy AIBrix defines: HPA (a native HorizontalPodAutoscaler built and kept in sync), KPA (Knative-style stable and panic windows) or APA (scaling by the ratio of metric to target outside a tolerance band). The manifests of AIBrix apply unchanged."
)]
#[serde(deny_unknown_fields)]
#[x_kube(validation = crate::rules::MIN_WITHIN_MAX)]
#[x_kube(validation = super::rules::PANIC_WITHIN_OBSERVE)]
#[x_kube(validation = super::rules::PREDICTIVE_NOT_WITH_HPA)]
#[x_kube(validation = super::rules::SCHEDULES_ONE_TIME_ZONE)]
#[x_kube(validation = super::rules::SCHEDULES_DO_NOT_OVERLAP)]
#[x_kube(validation = super::rules::SCHEDULE_BOUNDS_ORDERED)]
/// What to scale, between which bounds, on which metrics and how.
pub struct PodAutoscalerSpec {
    /// The workload to scale, in the PodAutoscaler's own namespace: a Deployment,
    /// StatefulSet or any custom resource with a scale subresource. The workload's name is
    /// usually also the PodAutoscaler's.
    #[serde(rename = "scaleTargetRef")]
    pub scale_target_ref: ScaleTargetRef,
    /// A part of the target to scale instead of all of it: a role of an AIBrix StormService
    /// or RoleSet, by roleName. Not set: the whole target is scaled.
    #[serde(
        rename = "subTargetSelector",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub sub_target_selector: Option<SubTargetSelector>,
    /// The fewest replicas the target is scaled to (0 allows scaling to zero together with
    /// the autoscaling.aibrix.ai/scale-to-zero annotation). Default 1.
    #[serde(
        rename = "minReplicas",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(range(min = 0))]
    pub min_replicas: Option<i32>,
    /// The most replicas the target is scaled to; not less than minReplicas.
    #[serde(rename = "maxReplicas")]
    #[schemars(range(min = 1))]
    pub max_replicas: i32,
    /// Recurring daily windows (in one time zone) during which other replica bounds apply,
    /// e.g. a higher minReplicas during business hours. Windows may not overlap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = crate::limits::SCHEDULES))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub schedules: Option<Vec<PodAutoscalerSchedule>>,
    /// Where the metrics the decision is made on come from, each with its target value.
    /// With several sources, the one asking for the most replicas wins.
    #[serde(rename = "metricsSources")]
    #[schemars(length(min = 1, max = crate::limits::METRIC_SOURCES))]
    pub metrics_sources: Vec<MetricSource>,
    /// Seconds of metric history behind the stable decision (KPA's stable window, APA's
    /// window, the predictive projection's fit). Default 180.
    #[serde(
        rename = "observeWindowSeconds",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(range(min = 1, max = super::defaults::MAX_WINDOW_SECONDS))]
    pub observe_window_seconds: Option<i64>,
    /// Seconds of metric history behind KPA's panic decisions; at most observeWindowSeconds.
    /// Default 60.
    #[serde(
        rename = "panicWindowSeconds",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(range(min = 1, max = super::defaults::MAX_WINDOW_SECONDS))]
    pub panic_window_seconds: Option<i64>,
    /// Forward-looking recommendations from the metric's trend: Preview records them in
    /// status only, Auto lets them raise the replica floor (never lower it). Not set:
    /// predictive scaling is off. Not supported with scalingStrategy HPA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predictive: Option<PredictiveSpec>,
    /// How replicas are decided: HPA (a native HorizontalPodAutoscaler is created, owned and
    /// kept in sync), KPA (Knative-style stable and panic windows) or APA (the ratio of
    /// metric to target, outside a tolerance band).
    #[serde(rename = "scalingStrategy")]
    pub scaling_strategy: ScalingStrategy,
}

/// The workload a PodAutoscaler scales (a Kubernetes ObjectReference, as AIBrix has it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("x-kubernetes-map-type" = "atomic"))]
pub struct ScaleTargetRef {
    /// The API group and version of the workload's kind, e.g. apps/v1.
    #[serde(
        rename = "apiVersion",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(length(min = 1, max = crate::limits::API_VERSION))]
    pub api_version: Option<String>,
    /// The workload's kind, e.g. Deployment or StatefulSet: any kind with a scale
    /// subresource.
    #[schemars(length(min = 1, max = crate::limits::KIND))]
    pub kind: String,
    /// The workload's name.
    #[schemars(
        length(min = 1, max = crate::limits::DNS_SUBDOMAIN),
        regex(pattern = crate::rules::DNS_SUBDOMAIN.pattern)
    )]
    pub name: String,
    /// The workload's namespace: when given, it must be the PodAutoscaler's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = crate::limits::DNS_LABEL),
        regex(pattern = crate::rules::DNS_LABEL.pattern)
    )]
    pub namespace: Option<String>,
    /// Accepted because an ObjectReference has it; not used.
    #[serde(rename = "fieldPath", default, skip_serializing_if = "Option::is_none")]
    pub field_path: Option<String>,
    /// Accepted because an ObjectReference has it; not used.
    #[serde(
        rename = "resourceVersion",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub resource_version: Option<String>,
    /// Accepted because an ObjectReference has it; not used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
}

/// A part of the scale target to scale.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(deny_unknown_fields)]
pub struct SubTargetSelector {
    /// The role of an AIBrix StormService or RoleSet to scale.
    #[serde(rename = "roleName", default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = crate::limits::DNS_SUBDOMAIN))]
    pub role_name: Option<String>,
}

/// How replicas are decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ScalingStrategy {
    // A native HorizontalPodAutoscaler, created, owned and kept in sync.
    HPA,
    // Knative-style: stable and panic windows.
    KPA,
    // AIBrix's: the ratio of metric to target outside a tolerance band.
    APA,
}

/// Where one metric comes from, and the value to hold it at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(deny_unknown_fields)]
#[x_kube(validation = super::rules::POD_NEEDS_PROTOCOL)]
#[x_kube(validation = super::rules::POD_NEEDS_PORT)]
#[x_kube(validation = super::rules::POD_NEEDS_PATH)]
#[x_kube(validation = super::rules::ENDPOINT_NEEDS_PROTOCOL)]
#[x_kube(validation = super::rules::ENDPOINT_NEEDS_PATH)]
#[x_kube(validation = super::rules::RESOURCE_IS_CPU_OR_MEMORY)]
#[x_kube(validation = super::rules::RESOURCE_HAS_NO_PORT)]
#[x_kube(validation = super::rules::RESOURCE_HAS_NO_ENDPOINT)]
#[x_kube(validation = super::rules::RESOURCE_HAS_NO_PATH)]
#[x_kube(validation = super::rules::RESOURCE_HAS_NO_PROTOCOL)]
#[x_kube(validation = super::rules::TARGET_VALUE_POSITIVE)]
pub struct MetricSource {
    /// pod (scraped from every ready pod at protocolType://podIP:port/path), resource (cpu
    /// or memory from metrics.k8s.io), custom (the Kubernetes custom metrics API), external
    /// (an HTTP endpoint, or without endpoint the Kubernetes external metrics API) or
    /// domain (the deprecated name of external).
    #[serde(rename = "metricSourceType")]
    pub metric_source_type: MetricSourceType,
    /// http or https; required for pod sources and for endpoints.
    #[serde(
        rename = "protocolType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub protocol_type: Option<ProtocolType>,
    /// The host (and port) of an external metrics service, e.g.
    /// gpu-optimizer.aibrix-system.svc.cluster.local:8080.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = crate::limits::ENDPOINT))]
    pub endpoint: Option<String>,
    /// The HTTP path of the metrics, e.g. /metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = crate::limits::URL_PATH))]
    pub path: Option<String>,
    /// The port of the pods' metrics endpoint, as a string (e.g. "8000"); pod sources only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = crate::limits::PORT),
        regex(pattern = super::rules::PORT.pattern)
    )]
    pub port: Option<String>,
    /// The metric, e.g. gpu_cache_usage_perc, vllm:num_requests_running, or cpu / memory
    /// for resource sources.
    #[serde(rename = "targetMetric")]
    #[schemars(length(min = 1, max = crate::limits::METRIC_NAME))]
    pub target_metric: String,
    /// The value to hold the metric at, per pod, as a number in a string (e.g. "0.5", "50";
    /// quantity suffixes are accepted). For cpu, a utilisation in percent; for memory, MiB.
    #[serde(rename = "targetValue")]
    #[schemars(
        length(min = 1, max = crate::limits::QUANTITY),
        regex(pattern = crate::rules::QUANTITY.pattern)
    )]
    pub target_value: String,
}

/// Where a metric comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MetricSourceType {
    Pod,
    Resource,
    Custom,
    External,
    // Deprecated by AIBrix in favour of external; means the same.
    Domain,
}

/// How a metrics endpoint is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProtocolType {
    Http,
    Https,
}

/// Predictive scaling: a projection of the metric over a horizon.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(deny_unknown_fields)]
pub struct PredictiveSpec {
    /// Preview (the default: the projection is recorded in status only) or Auto (the
    /// projection raises the replica floor; the reactive strategy keeps control of
    /// scale-down).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<PredictiveMode>,
    /// How far ahead the metric is projected, in seconds (1 to 3600). Default 120.
    #[serde(
        rename = "horizonSeconds",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(range(min = 1, max = super::defaults::MAX_WINDOW_SECONDS))]
    pub horizon_seconds: Option<i64>,
}

/// What a projection may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
pub enum PredictiveMode {
    // Recorded in status only.
    #[default]
    Preview,
    // Raises the replica floor.
    Auto,
}

impl MetricSourceType {
    /// `domain` is the deprecated spelling of `external`.
    pub fn normalized(self) -> Self {
        match self {
            MetricSourceType::Domain => MetricSourceType::External,
            other => other,
        }
    }
}

impl PodAutoscalerSpec {
    /// `minReplicas`, or its default.
    pub fn effective_min_replicas(&self) -> i32 {
        self.min_replicas.unwrap_or(super::defaults::MIN_REPLICAS)
    }
}

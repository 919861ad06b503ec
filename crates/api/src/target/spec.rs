//! The AIScaleTarget custom resource (seed 001): which workload(s), which model, and what
//! to do horizontally and vertically.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::horizontal::HorizontalSpec;
use super::model::ModelSpec;
use super::status::AIScaleTargetStatus;
use super::vertical::VerticalSpec;

#[derive(CustomResource, KubeSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "thoras.ai",
    version = "v1",
    kind = "AIScaleTarget",
    plural = "aiscaletargets",
    singular = "aiscaletarget",
    namespaced,
    status = "AIScaleTargetStatus",
    shortname = "ast",
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Scaling","type":"string","description":"AbleToScale's reason: RecommendationMode, WaitingForData, Applying, Applied, ScalingPaused, ...","jsonPath":".status.conditions[?(@.type==\"AbleToScale\")].reason"}"#,
    printcolumn = r#"{"name":"CPU","type":"string","description":"the suggestion's cpu request for the first container","jsonPath":".status.suggestion.containers[0].cpu"}"#,
    printcolumn = r#"{"name":"Memory","type":"string","description":"the suggestion's memory request for the first container","jsonPath":".status.suggestion.containers[0].memory"}"#,
    printcolumn = r#"{"name":"Replicas","type":"integer","description":"the suggested replica floor","jsonPath":".status.suggestion.suggestedReplicas"}"#,
    printcolumn = r#"{"name":"Applied","type":"string","description":"pods running the suggestion / all pods (autonomous vertical scaling)","jsonPath":".status.appliedPods"}"#,
    printcolumn = r#"{"name":"Model","type":"string","jsonPath":".spec.model.mode"}"#,
    printcolumn = r#"{"name":"Horizontal","type":"string","priority":1,"jsonPath":".spec.horizontal.mode"}"#,
    printcolumn = r#"{"name":"Vertical","type":"string","priority":1,"jsonPath":".spec.vertical.mode"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    derive = "PartialEq",
    doc = "AIScaleTarget defines how prescale scales one workload (scaleTargetRef) or the workloads whose pods match a label selector: how far ahead to forecast, and what to do horizontally (replica floors fed to the HPA) and vertically (container requests)."
)]
#[serde(deny_unknown_fields)]
#[x_kube(validation = crate::rules::TARGET_REF_OR_SELECTOR)]
#[x_kube(validation = crate::rules::TARGET_REF_NOT_WITH_SELECTOR)]
#[x_kube(validation = crate::rules::SELECTOR_NO_HORIZONTAL)]
/// What to scale, how to forecast, and what to do with the forecast.
pub struct AIScaleTargetSpec {
    /// The one workload to scale up or down: a Deployment, StatefulSet or Argo Rollout in the
    /// AIScaleTarget's own namespace. Mutually exclusive with selector.
    #[serde(
        rename = "scaleTargetRef",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub scale_target_ref: Option<ScaleTargetRef>,
    /// Targets every Deployment, StatefulSet and Argo Rollout in the namespace whose pods
    /// match these labels, instead of one workload by name. Mutually exclusive with
    /// scaleTargetRef; horizontal scaling is not supported with a selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = crate::schema::label_selector)]
    pub selector: Option<LabelSelector>,
    /// How to forecast: how far ahead (forecast_blocks), how often (forecast_cron or
    /// forecast_interval), how cautiously (mode) and with how much headroom
    /// (forecast_buffer_percentage).
    #[x_kube(validation = crate::rules::MODEL_CADENCE_REQUIRED)]
    pub model: ModelSpec,
    /// Horizontal scaling: replica counts forecast from the workload's HPA metrics and fed
    /// into its existing HPA. Not supported with selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub horizontal: Option<HorizontalSpec>,
    /// Vertical scaling: container CPU and memory requests from forecast utilisation, within
    /// per-container bounds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vertical: Option<VerticalSpec>,
}

/// A reference to the one workload an AIScaleTarget scales.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(deny_unknown_fields)]
pub struct ScaleTargetRef {
    /// The API group and version of the workload's kind (apps/v1, argoproj.io/v1alpha1);
    /// inferred from kind when omitted.
    #[serde(
        rename = "apiVersion",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(length(min = 1, max = crate::limits::API_VERSION))]
    pub api_version: Option<String>,
    /// The kind of the workload: Deployment, StatefulSet or Rollout.
    #[schemars(transform = crate::schema::workload_kind)]
    pub kind: String,
    /// The name of the workload. It is recommended that the AIScaleTarget has the same name.
    #[schemars(
        length(min = 1, max = crate::limits::DNS_SUBDOMAIN),
        regex(pattern = crate::rules::DNS_SUBDOMAIN.pattern)
    )]
    pub name: String,
    /// The namespace of the workload: when given, it must be the AIScaleTarget's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = crate::limits::DNS_LABEL),
        regex(pattern = crate::rules::DNS_LABEL.pattern)
    )]
    pub namespace: Option<String>,
}

/// Kinds a target may reference, with their default apiVersion.
pub const WORKLOAD_KINDS: [(&str, &str); 3] = [
    ("Deployment", "apps/v1"),
    ("StatefulSet", "apps/v1"),
    ("Rollout", "argoproj.io/v1alpha1"),
];

impl ScaleTargetRef {
    /// The apiVersion, defaulted from the kind.
    pub fn effective_api_version(&self) -> Option<&str> {
        self.api_version.as_deref().or_else(|| {
            WORKLOAD_KINDS
                .iter()
                .find(|(kind, _)| *kind == self.kind)
                .map(|(_, version)| *version)
        })
    }
}

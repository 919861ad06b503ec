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
    printcolumn = r#"{"name":"Model","type":"string","jsonPath":".spec.model.mode"}"#,
    printcolumn = r#"{"name":"Horizontal","type":"string","jsonPath":".spec.horizontal.mode"}"#,
    printcolumn = r#"{"name":"Vertical","type":"string","jsonPath":".spec.vertical.mode"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    derive = "PartialEq"
)]
#[serde(deny_unknown_fields)]
#[x_kube(validation = Rule::new(crate::rules::TARGET_REF_XOR_SELECTOR.cel).message(crate::rules::TARGET_REF_XOR_SELECTOR.message))]
#[x_kube(validation = Rule::new(crate::rules::SELECTOR_NO_HORIZONTAL.cel).message(crate::rules::SELECTOR_NO_HORIZONTAL.message))]
pub struct AIScaleTargetSpec {
    /// The one workload to scale (same namespace). Exclusive with `selector`.
    #[serde(
        rename = "scaleTargetRef",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub scale_target_ref: Option<ScaleTargetRef>,
    /// Every Deployment, StatefulSet and Rollout in the namespace whose pods match.
    /// Exclusive with `scaleTargetRef`; vertical scaling only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// How to forecast.
    #[x_kube(validation = Rule::new(crate::rules::MODEL_CADENCE_REQUIRED.cel).message(crate::rules::MODEL_CADENCE_REQUIRED.message))]
    pub model: ModelSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub horizontal: Option<HorizontalSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vertical: Option<VerticalSpec>,
}

/// A reference to one workload.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(deny_unknown_fields)]
pub struct ScaleTargetRef {
    /// e.g. `apps/v1` or `argoproj.io/v1alpha1`; inferred from kind when omitted.
    #[serde(
        rename = "apiVersion",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub api_version: Option<String>,
    /// Deployment, StatefulSet or Rollout.
    #[schemars(length(min = 1))]
    pub kind: String,
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Must be the AIScaleTarget's own namespace when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
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

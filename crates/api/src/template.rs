//! The ClusterAIScaleTemplate custom resource (seed 000): AIScaleTargets created for every
//! Deployment, StatefulSet and Rollout whose labels match.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::mode::ConflictResolution;
use crate::target::horizontal::HorizontalSpec;
use crate::target::model::ModelSpec;
use crate::target::vertical::VerticalSpec;

#[derive(CustomResource, KubeSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "thoras.ai",
    version = "v1",
    kind = "ClusterAIScaleTemplate",
    plural = "clusteraiscaletemplates",
    singular = "clusteraiscaletemplate",
    status = "ClusterAIScaleTemplateStatus",
    shortname = "clusterast",
    shortname = "astt",
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Targets","type":"integer","jsonPath":".status.managedTargets"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    derive = "PartialEq"
)]
#[serde(deny_unknown_fields)]
pub struct ClusterAIScaleTemplateSpec {
    /// Workloads (Deployments, StatefulSets, Rollouts) whose labels match get a target.
    pub selector: LabelSelector,
    /// The AIScaleTarget spec to apply, minus scaleTargetRef and selector.
    pub template: AIScaleTemplateSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<TemplatePolicy>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(deny_unknown_fields)]
pub struct AIScaleTemplateSpec {
    #[x_kube(validation = Rule::new(crate::rules::MODEL_CADENCE_REQUIRED.cel).message(crate::rules::MODEL_CADENCE_REQUIRED.message))]
    pub model: ModelSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub horizontal: Option<HorizontalSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vertical: Option<VerticalSpec>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(deny_unknown_fields)]
#[x_kube(validation = Rule::new(crate::rules::INCLUDED_XOR_EXCLUDED.cel).message(crate::rules::INCLUDED_XOR_EXCLUDED.message))]
pub struct TemplatePolicy {
    /// `skip` (default) leaves AIScaleTargets the template did not create alone;
    /// `override` takes them over.
    #[serde(
        rename = "conflictResolution",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub conflict_resolution: Option<ConflictResolution>,
    /// Only these namespaces.
    #[serde(
        rename = "includedNamespaces",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub included_namespaces: Option<Vec<String>>,
    /// Every namespace but these.
    #[serde(
        rename = "excludedNamespaces",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub excluded_namespaces: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterAIScaleTemplateStatus {
    /// `Ready` with reason ReconciliationSucceeded, ReconciliationFailed or NamespaceListFailed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// AIScaleTargets this template manages.
    #[serde(default)]
    pub managed_targets: i64,
    /// Workloads left alone because of a conflict (`skip`).
    #[serde(default)]
    pub skipped_conflicts: i64,
    /// Workloads this template matches that an older template manages.
    #[serde(default)]
    pub overlapped: i64,
}

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
    derive = "PartialEq",
    doc = "ClusterAIScaleTemplate watches for Deployments, StatefulSets and Argo Rollouts that match a label selector, in any namespace, and creates an AIScaleTarget named <workload>-ast for each with the template's configuration; it updates and deletes them as workloads and the template change."
)]
#[serde(deny_unknown_fields)]
/// Which workloads get an AIScaleTarget, and with what configuration.
pub struct ClusterAIScaleTemplateSpec {
    /// Matches the workloads (Deployments, StatefulSets, Argo Rollouts) to apply this
    /// template to, by their labels: matchLabels and/or matchExpressions.
    #[schemars(transform = crate::schema::label_selector)]
    pub selector: LabelSelector,
    /// The AIScaleTarget configuration to apply: the fields of an AIScaleTarget spec minus
    /// scaleTargetRef, which is filled in from each matched workload.
    pub template: AIScaleTemplateSpec,
    /// How the template is applied: conflicts with existing AIScaleTargets and which
    /// namespaces are in scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<TemplatePolicy>,
}

/// An AIScaleTarget spec without scaleTargetRef and selector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(deny_unknown_fields)]
pub struct AIScaleTemplateSpec {
    /// How to forecast (mode, forecast settings, buffer percentage); required.
    #[x_kube(validation = crate::rules::MODEL_CADENCE_REQUIRED)]
    pub model: ModelSpec,
    /// Horizontal scaling configuration of the created AIScaleTargets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub horizontal: Option<HorizontalSpec>,
    /// Vertical scaling configuration of the created AIScaleTargets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vertical: Option<VerticalSpec>,
}

/// How a template is applied.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(deny_unknown_fields)]
#[x_kube(validation = crate::rules::INCLUDED_XOR_EXCLUDED)]
pub struct TemplatePolicy {
    /// What to do when an AIScaleTarget not created by this template already targets a
    /// matched workload: skip (the default) leaves it unchanged; override takes it over and
    /// applies the template to it.
    #[serde(
        rename = "conflictResolution",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub conflict_resolution: Option<ConflictResolution>,
    /// Allowlist: only these namespaces are in scope. Mutually exclusive with
    /// excludedNamespaces.
    #[serde(
        rename = "includedNamespaces",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(
        length(max = crate::limits::NAMESPACES),
        inner(
            length(min = 1, max = crate::limits::DNS_LABEL),
            regex(pattern = crate::rules::DNS_LABEL.pattern)
        )
    )]
    pub included_namespaces: Option<Vec<String>>,
    /// Denylist: every namespace is in scope except these (e.g. kube-system, kube-public,
    /// kube-node-lease). No namespace is excluded by default. Mutually exclusive with
    /// includedNamespaces.
    #[serde(
        rename = "excludedNamespaces",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(
        length(max = crate::limits::NAMESPACES),
        inner(
            length(min = 1, max = crate::limits::DNS_LABEL),
            regex(pattern = crate::rules::DNS_LABEL.pattern)
        )
    )]
    pub excluded_namespaces: Option<Vec<String>>,
}

/// What the operator reports on a template.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterAIScaleTemplateStatus {
    /// `Ready` with reason ReconciliationSucceeded, ReconciliationFailed or NamespaceListFailed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = crate::limits::CONDITIONS), transform = crate::schema::conditions)]
    pub conditions: Vec<Condition>,
    /// The metadata.generation of the spec this status describes.
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

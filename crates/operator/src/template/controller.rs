//! Applies what `plan` decides: reads templates, workloads and targets, creates, updates
//! and deletes AIScaleTargets, keeps the template finalizer and the `Ready` condition.
//! Level-based: every pass recomputes from the cluster's state; unchanged objects get no
//! write.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, OwnerReference, Time};
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::{Client, Resource, ResourceExt};
use prescale_api::AIScaleTarget;
use prescale_api::defaults::TEMPLATE_FINALIZER;
use prescale_api::mode::ConflictResolution as ApiConflict;
use prescale_api::template::{ClusterAIScaleTemplate, ClusterAIScaleTemplateStatus};
use serde_json::json;

use crate::client::FIELD_MANAGER;
use crate::scope::Scope;

use super::plan::{
    Action, ConflictResolution, MANAGED_BY_TEMPLATE_LABEL, NamespacePolicy, TargetView,
    TemplateView, WorkloadView, plan_template,
};

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("listing {what}: {source}")]
    List {
        what: &'static str,
        source: kube::Error,
    },
    #[error("{action} AIScaleTarget {namespace}/{name}: {source}")]
    Write {
        action: &'static str,
        namespace: String,
        name: String,
        source: kube::Error,
    },
}

impl TemplateError {
    /// A short label for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            TemplateError::List { .. } => "list_failed",
            TemplateError::Write { .. } => "write_failed",
        }
    }
}

fn view(t: &ClusterAIScaleTemplate) -> TemplateView {
    let policy = t.spec.policy.clone().unwrap_or_default();
    let namespaces = match (policy.included_namespaces, policy.excluded_namespaces) {
        (Some(i), _) => NamespacePolicy::Included(i.into_iter().collect()),
        (None, Some(e)) => NamespacePolicy::Excluded(e.into_iter().collect()),
        _ => NamespacePolicy::All,
    };
    TemplateView {
        name: t.name_any(),
        created: t
            .metadata
            .creation_timestamp
            .as_ref()
            .map(|t| t.0.to_string())
            .unwrap_or_default(),
        selector: t.spec.selector.clone(),
        namespaces,
        conflict_resolution: match policy.conflict_resolution.unwrap_or_default() {
            ApiConflict::Skip => ConflictResolution::Skip,
            ApiConflict::Override => ConflictResolution::Override,
        },
        spec: serde_json::to_value(&t.spec.template).unwrap_or_default(),
        deleting: t.metadata.deletion_timestamp.is_some(),
    }
}

fn workload_view<K: Resource<DynamicType = ()>>(
    kind: &str,
    api_version: &str,
    obj: &K,
) -> WorkloadView {
    let meta = obj.meta();
    WorkloadView {
        api_version: api_version.into(),
        kind: kind.into(),
        namespace: meta.namespace.clone().unwrap_or_default(),
        name: meta.name.clone().unwrap_or_default(),
        uid: meta.uid.clone().unwrap_or_default(),
        labels: meta.labels.clone().unwrap_or_default(),
    }
}

/// Every Deployment, StatefulSet and (when its CRD is installed) Argo Rollout in scope.
pub async fn list_workloads(
    client: &Client,
    scope: &Scope,
) -> Result<Vec<WorkloadView>, TemplateError> {
    let lp = ListParams::default();
    let mut out: Vec<WorkloadView> = vec![];
    for api in scope.apis::<Deployment>(client) {
        out.extend(
            api.list(&lp)
                .await
                .map_err(|source| TemplateError::List {
                    what: "deployments",
                    source,
                })?
                .items
                .iter()
                .map(|d| workload_view("Deployment", "apps/v1", d)),
        );
    }
    for api in scope.apis::<StatefulSet>(client) {
        out.extend(
            api.list(&lp)
                .await
                .map_err(|source| TemplateError::List {
                    what: "statefulsets",
                    source,
                })?
                .items
                .iter()
                .map(|s| workload_view("StatefulSet", "apps/v1", s)),
        );
    }
    let gvk = GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Rollout");
    let rollouts = ApiResource::from_gvk_with_plural(&gvk, "rollouts");
    for api in scope.dynamic_apis(client, &rollouts) {
        // The Rollout kind is optional: a 404 means its CRD is not installed (yet).
        if let Ok(list) = api.list(&lp).await {
            out.extend(list.items.iter().map(|r| WorkloadView {
                api_version: "argoproj.io/v1alpha1".into(),
                kind: "Rollout".into(),
                namespace: r.namespace().unwrap_or_default(),
                name: r.name_any(),
                uid: r.uid().unwrap_or_default(),
                labels: r.labels().clone(),
            }));
        }
    }
    Ok(out)
}

fn target_view(t: &AIScaleTarget) -> TargetView {
    TargetView {
        namespace: t.namespace().unwrap_or_default(),
        name: t.name_any(),
        labels: t.labels().clone(),
        target: t
            .spec
            .scale_target_ref
            .as_ref()
            .map(|r| (r.kind.clone(), r.name.clone())),
        spec: serde_json::to_value(&t.spec).unwrap_or_default(),
    }
}

/// Counts of one pass, per template.
#[derive(Debug, Default, Clone)]
pub struct PassSummary {
    pub writes: usize,
    pub managed: BTreeMap<String, usize>,
}

/// One reconciliation of every template in scope.
pub async fn reconcile_templates(
    client: &Client,
    scope: &Scope,
) -> Result<PassSummary, TemplateError> {
    let templates_api: Api<ClusterAIScaleTemplate> = Api::all(client.clone());
    let templates = templates_api
        .list(&scope.template_list_params())
        .await
        .map_err(|source| TemplateError::List {
            what: "clusteraiscaletemplates",
            source,
        })?
        .items;
    let mut summary = PassSummary::default();
    if templates.is_empty() {
        return Ok(summary);
    }
    let workloads = list_workloads(client, scope).await?;
    let mut targets: Vec<TargetView> = vec![];
    for api in scope.apis::<AIScaleTarget>(client) {
        targets.extend(
            api.list(&ListParams::default())
                .await
                .map_err(|source| TemplateError::List {
                    what: "aiscaletargets",
                    source,
                })?
                .items
                .iter()
                .map(target_view),
        );
    }
    let views: Vec<TemplateView> = templates.iter().map(view).collect();
    for template in &templates {
        let name = template.name_any();
        let has_finalizer = template
            .finalizers()
            .iter()
            .any(|f| f == TEMPLATE_FINALIZER);
        let deleting = template.metadata.deletion_timestamp.is_some();
        if !has_finalizer && !deleting {
            templates_api
                .patch(&name, &apply_params(), &finalizer_apply(&name, true))
                .await
                .map_err(|source| TemplateError::Write {
                    action: "adding the finalizer to",
                    namespace: String::new(),
                    name: name.clone(),
                    source,
                })?;
            summary.writes += 1;
        }
        let plan = plan_template(&name, &views, &workloads, &targets);
        let mut failures = vec![];
        for action in &plan.actions {
            match apply(client, action).await {
                Ok(()) => summary.writes += 1,
                Err(e) => failures.push(e.to_string()),
            }
        }
        if deleting {
            if failures.is_empty() && has_finalizer {
                remove_finalizer(&templates_api, template)
                    .await
                    .map_err(|source| TemplateError::Write {
                        action: "removing the finalizer from",
                        namespace: String::new(),
                        name: name.clone(),
                        source,
                    })?;
                summary.writes += 1;
            }
            continue;
        }
        summary.managed.insert(name.clone(), plan.managed);
        let namespaces: BTreeSet<&str> = workloads.iter().map(|w| w.namespace.as_str()).collect();
        let (status, reason, message) = if failures.is_empty() {
            let mut m = format!(
                "Successfully reconciled {} namespaces: {} managed AIScaleTargets",
                namespaces.len(),
                plan.managed
            );
            if !plan.skipped_conflicts.is_empty() {
                m.push_str(&format!(
                    ", {} skipped (conflict: {})",
                    plan.skipped_conflicts.len(),
                    plan.skipped_conflicts.join(", ")
                ));
            }
            if let Some((w, winner)) = plan.lost_to.first() {
                m.push_str(&format!(
                    ", {} overlapped by older templates (e.g. {w} is managed by {winner})",
                    plan.lost_to.len()
                ));
            }
            ("True", "ReconciliationSucceeded", m)
        } else {
            (
                "False",
                "ReconciliationFailed",
                format!(
                    "{} of {} actions failed: {}",
                    failures.len(),
                    plan.actions.len(),
                    failures.join("; ")
                ),
            )
        };
        let generation = template.metadata.generation;
        let new_status = ClusterAIScaleTemplateStatus {
            conditions: vec![condition(
                "Ready",
                status,
                reason,
                &message,
                generation,
                template.status.as_ref().map(|s| &s.conditions),
            )],
            observed_generation: generation,
            managed_targets: plan.managed as i64,
            skipped_conflicts: plan.skipped_conflicts.len() as i64,
            overlapped: plan.lost_to.len() as i64,
        };
        if template.status.as_ref() != Some(&new_status) {
            let patch = Patch::Apply(json!({
                "apiVersion": "thoras.ai/v1", "kind": "ClusterAIScaleTemplate",
                "metadata": {"name": name}, "status": new_status,
            }));
            templates_api
                .patch_status(&name, &apply_params(), &patch)
                .await
                .map_err(|source| TemplateError::Write {
                    action: "writing the status of",
                    namespace: String::new(),
                    name: name.clone(),
                    source,
                })?;
            summary.writes += 1;
        }
    }
    Ok(summary)
}

/// A condition that keeps its lastTransitionTime while its status does not change.
pub fn condition(
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    previous: Option<&Vec<Condition>>,
) -> Condition {
    let since = previous
        .and_then(|c| c.iter().find(|c| c.type_ == type_ && c.status == status))
        .map(|c| c.last_transition_time.clone())
        .unwrap_or_else(|| {
            Time(
                jiff::Timestamp::from_second(jiff::Timestamp::now().as_second())
                    .unwrap_or_else(|_| jiff::Timestamp::now()),
            )
        });
    Condition {
        type_: type_.into(),
        status: status.into(),
        reason: reason.into(),
        message: message.into(),
        observed_generation: generation,
        last_transition_time: since,
    }
}

/// Server-side apply as the operator, forcing: it owns what it applies.
fn apply_params() -> PatchParams {
    PatchParams::apply(FIELD_MANAGER).force()
}

fn post_params() -> PostParams {
    PostParams {
        dry_run: false,
        field_manager: Some(FIELD_MANAGER.into()),
    }
}

/// The apply configuration holding (or, with `present` false, giving up) the finalizer.
fn finalizer_apply(name: &str, present: bool) -> Patch<serde_json::Value> {
    let finalizers: &[&str] = if present { &[TEMPLATE_FINALIZER] } else { &[] };
    Patch::Apply(json!({
        "apiVersion": "thoras.ai/v1", "kind": "ClusterAIScaleTemplate",
        "metadata": {"name": name, "finalizers": finalizers},
    }))
}

/// Removes the template finalizer by position, with a `test` so a concurrent change to
/// the list makes the patch fail (422) instead of removing someone else's finalizer; the
/// next pass re-reads and tries again.
async fn remove_finalizer(
    api: &Api<ClusterAIScaleTemplate>,
    template: &ClusterAIScaleTemplate,
) -> Result<(), kube::Error> {
    let Some(i) = template
        .finalizers()
        .iter()
        .position(|f| f == TEMPLATE_FINALIZER)
    else {
        return Ok(());
    };
    let path = format!("/metadata/finalizers/{i}");
    let patch: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": path, "value": TEMPLATE_FINALIZER},
        {"op": "remove", "path": path},
    ]))
    .map_err(kube::Error::SerdeError)?;
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..PatchParams::default()
    };
    api.patch(&template.name_any(), &params, &Patch::Json::<()>(patch))
        .await
        .map(drop)
}

/// How many times an update is retried after a conflict (409) before the pass gives up
/// on it (the next pass starts again from a fresh read).
const CONFLICT_RETRIES: usize = 3;

/// Replaces `name` with `change` applied to `current` (the copy the caller read). On a
/// conflict (409: someone wrote in between) it re-reads the object and applies `change`
/// again, so a concurrent edit of other fields is kept rather than overwritten.
pub async fn update_with_retry<K>(
    api: &Api<K>,
    name: &str,
    mut current: K,
    change: impl Fn(&mut K) -> Result<(), kube::Error>,
) -> Result<K, kube::Error>
where
    K: Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let mut attempt = 0;
    loop {
        change(&mut current)?;
        match api.replace(name, &post_params(), &current).await {
            Err(kube::Error::Api(s)) if s.code == 409 && attempt < CONFLICT_RETRIES => {
                attempt += 1;
                current = api.get(name).await?;
            }
            result => return result,
        }
    }
}

async fn apply(client: &Client, action: &Action) -> Result<(), TemplateError> {
    match action {
        Action::Create(d) | Action::Update(d) => {
            let api: Api<AIScaleTarget> = Api::namespaced(client.clone(), &d.namespace);
            let mut labels = BTreeMap::new();
            labels.insert(MANAGED_BY_TEMPLATE_LABEL.to_string(), d.template.clone());
            // Not blockOwnerDeletion: on clusters enforcing owner-reference permissions
            // that would need update on the workload's finalizers, which nothing else needs.
            let owner = OwnerReference {
                api_version: d.owner.api_version.clone(),
                kind: d.owner.kind.clone(),
                name: d.owner.name.clone(),
                uid: d.owner.uid.clone(),
                controller: Some(false),
                block_owner_deletion: None,
            };
            let write_err = |action, source| TemplateError::Write {
                action,
                namespace: d.namespace.clone(),
                name: d.name.clone(),
                source,
            };
            let spec: prescale_api::AIScaleTargetSpec = serde_json::from_value(d.spec.clone())
                .map_err(|e| write_err("building", kube::Error::SerdeError(e)))?;
            if matches!(action, Action::Create(_)) {
                let mut ast = AIScaleTarget::new(&d.name, spec);
                ast.metadata = ObjectMeta {
                    name: Some(d.name.clone()),
                    namespace: Some(d.namespace.clone()),
                    labels: Some(labels),
                    owner_references: Some(vec![owner]),
                    ..Default::default()
                };
                match api.create(&post_params(), &ast).await {
                    // Created meanwhile (a pass running on a stale read): the next pass
                    // sees it and plans from there.
                    Err(kube::Error::Api(s)) if s.code == 409 => {}
                    other => {
                        other.map_err(|e| write_err("creating", e))?;
                    }
                }
            } else {
                // Replace rather than merge, so fields the template dropped are dropped too.
                let current = api
                    .get(&d.name)
                    .await
                    .map_err(|e| write_err("reading", e))?;
                update_with_retry(&api, &d.name, current, |t| {
                    t.spec = spec.clone();
                    t.metadata
                        .labels
                        .get_or_insert_with(Default::default)
                        .extend(labels.clone());
                    Ok(())
                })
                .await
                .map_err(|e| write_err("updating", e))?;
            }
        }
        Action::Delete { namespace, name } => {
            let api: Api<AIScaleTarget> = Api::namespaced(client.clone(), namespace);
            match api.delete(name, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(source) => {
                    return Err(TemplateError::Write {
                        action: "deleting",
                        namespace: namespace.clone(),
                        name: name.clone(),
                        source,
                    });
                }
            }
        }
    }
    Ok(())
}

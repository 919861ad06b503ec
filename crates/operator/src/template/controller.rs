//! Applies what `plan` decides, one template at a time, on the cache's view of templates,
//! workloads and targets (no reads from the API server): creates, updates and deletes
//! AIScaleTargets, keeps the template finalizer and the `Ready` condition. Level-based:
//! every reconcile recomputes from the cache; unchanged objects get no write.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kube::api::{Api, Patch};
use kube::runtime::controller::Action as Requeue;
use kube::runtime::reflector::ObjectRef;
use kube::{Client, ResourceExt};
use prescale_api::defaults::TEMPLATE_FINALIZER;
use prescale_api::mode::ConflictResolution as ApiConflict;
use prescale_api::template::{ClusterAIScaleTemplate, ClusterAIScaleTemplateStatus};
use serde_json::json;

use super::memo::{PlanMemo, TargetViews};
use super::plan::{ConflictResolution, NamespacePolicy, TemplateView};
use super::write::{Expectations, add_finalizer, apply, apply_params, remove_finalizer};
pub use super::write::{TemplateError, update_with_retry};
use crate::cache::Cache;
use crate::clock::Clock;
use crate::conditions::condition;
use crate::http::Shared;
use crate::target::controller::Gate;

pub fn view(t: &ClusterAIScaleTemplate) -> TemplateView {
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

pub struct TemplateContext {
    pub client: Client,
    pub cache: Arc<Cache>,
    pub clock: Arc<dyn Clock>,
    pub gate: Arc<dyn Gate>,
    pub resync: Duration,
    pub shared: Arc<Shared>,
    expectations: Mutex<Expectations>,
    /// The status last written per template and the resourceVersion it was written over:
    /// until the cache shows the write, the cached template is older than the server's.
    written: Mutex<HashMap<String, (ClusterAIScaleTemplateStatus, Option<String>)>>,
    /// What a pass keeps for the next (`memo`): the targets' views, each template's plan.
    target_views: Mutex<TargetViews>,
    memos: Mutex<HashMap<String, PlanMemo>>,
}

impl TemplateContext {
    pub fn new(
        client: Client,
        cache: Arc<Cache>,
        clock: Arc<dyn Clock>,
        gate: Arc<dyn Gate>,
        shared: Arc<Shared>,
    ) -> Self {
        TemplateContext {
            client,
            cache,
            clock,
            gate,
            resync: Duration::from_secs(300),
            shared,
            expectations: Mutex::default(),
            written: Mutex::default(),
            target_views: Mutex::default(),
            memos: Mutex::default(),
        }
    }
}

/// Reconciles one template (the `kube_runtime::applier` reconciler).
pub async fn reconcile(
    template: Arc<ClusterAIScaleTemplate>,
    ctx: Arc<TemplateContext>,
) -> Result<Requeue, TemplateError> {
    if !ctx.gate.admits("", &template.name_any()) {
        return Ok(Requeue::await_change());
    }
    let started = Instant::now();
    let result = reconcile_template(&template, &ctx).await;
    let failure = result.as_ref().err().map(TemplateError::reason);
    ctx.shared.metrics.reconciled("template", started, failure);
    if let Err(e) = &result {
        tracing::warn!(template = %template.name_any(), error = %e, "template reconcile failed; retrying");
    }
    result.map(|()| Requeue::requeue(ctx.resync))
}

pub fn error_policy(
    _: Arc<ClusterAIScaleTemplate>,
    _: &TemplateError,
    _: Arc<TemplateContext>,
) -> Requeue {
    Requeue::requeue(Duration::from_secs(5))
}

async fn reconcile_template(
    template: &ClusterAIScaleTemplate,
    ctx: &TemplateContext,
) -> Result<(), TemplateError> {
    let api: Api<ClusterAIScaleTemplate> = Api::all(ctx.client.clone());
    let name = template.name_any();
    let has_finalizer = template
        .finalizers()
        .iter()
        .any(|f| f == TEMPLATE_FINALIZER);
    let deleting = template.metadata.deletion_timestamp.is_some();
    if !has_finalizer && !deleting {
        add_finalizer(&api, &name).await?;
    }
    let views: Vec<TemplateView> = ctx
        .cache
        .templates
        .state()
        .iter()
        .map(|t| view(t))
        .collect();
    let workloads = ctx.cache.workloads();
    let cached_targets = ctx.cache.targets.state();
    let target_views = ctx
        .target_views
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .of_all(&cached_targets);
    let targets = ctx
        .expectations
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .targets(&cached_targets, target_views, Instant::now());
    let plan = {
        let mut memos = ctx.memos.lock().unwrap_or_else(|e| e.into_inner());
        memos.retain(|n, _| views.iter().any(|t| t.name == *n));
        let memo = memos.entry(name.clone()).or_default();
        let plan = memo.plan(&name, &views, &workloads, &targets, ctx.cache.relists());
        tracing::debug!(template = %name, planned = memo.last_planned, workloads = workloads.len(), "template planned");
        plan
    };
    let mut failures = vec![];
    for action in &plan.actions {
        let (ns, target) = match action {
            super::plan::Action::Create(d) | super::plan::Action::Update(d) => {
                (&d.namespace, &d.name)
            }
            super::plan::Action::Delete { namespace, name } => (namespace, name),
        };
        let cached = ctx.cache.targets.get(&ObjectRef::new(target).within(ns));
        if let Err(e) = apply(&ctx.client, action, cached, &ctx.expectations).await {
            failures.push(e.to_string());
        }
    }
    if deleting {
        if failures.is_empty() && has_finalizer {
            remove_finalizer(&api, template).await?;
        }
        return Ok(());
    }
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
    let previous = template.status.clone().unwrap_or_default();
    let new_status = ClusterAIScaleTemplateStatus {
        conditions: vec![condition(
            "Ready",
            status,
            reason,
            &message,
            generation,
            &previous.conditions,
            ctx.clock.now(),
        )],
        observed_generation: generation,
        managed_targets: plan.managed as i64,
        skipped_conflicts: plan.skipped_conflicts.len() as i64,
        overlapped: plan.lost_to.len() as i64,
    };
    let already = ctx
        .written
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&name)
        .is_some_and(|(w, rv)| *w == new_status && *rv == template.resource_version());
    if previous != new_status && !already {
        let patch = Patch::Apply(json!({
            "apiVersion": "thoras.ai/v1", "kind": "ClusterAIScaleTemplate",
            "metadata": {"name": name}, "status": new_status,
        }));
        api.patch_status(&name, &apply_params(), &patch)
            .await
            .map_err(|source| TemplateError::Template {
                action: "writing the status of",
                name: name.clone(),
                source,
            })?;
        ctx.written
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.clone(), (new_status, template.resource_version()));
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(TemplateError::Actions {
            name,
            failures: failures.len(),
        })
    }
}

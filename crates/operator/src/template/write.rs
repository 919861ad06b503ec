//! How the template controller writes: AIScaleTargets created (a 409 means a stale read,
//! left to the next reconcile), replaced with the resourceVersion they were read at (a 409
//! is re-read and retried, so a concurrent edit of other fields is kept) or deleted; the
//! finalizer (`crate::finalizer`) and the status by server-side apply under the
//! operator's field manager.
//!
//! `Expectations` remembers each write until the cache shows it, so a reconcile that runs
//! on a cache a few events behind does not create, update or delete the same target twice.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, DeleteParams, ObjectMeta, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use prescale_api::AIScaleTarget;
use prescale_api::defaults::TEMPLATE_FINALIZER;
use prescale_api::template::ClusterAIScaleTemplate;

use super::plan::{Action, MANAGED_BY_TEMPLATE_LABEL, TargetView};
use crate::client::FIELD_MANAGER;

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("{action} AIScaleTarget {namespace}/{name}: {source}")]
    Write {
        action: &'static str,
        namespace: String,
        name: String,
        source: kube::Error,
    },
    #[error("{action} ClusterAIScaleTemplate {name}: {source}")]
    Template {
        action: &'static str,
        name: String,
        source: kube::Error,
    },
    #[error(
        "{failures} action(s) of ClusterAIScaleTemplate {name} failed (its Ready condition says which)"
    )]
    Actions { name: String, failures: usize },
}

impl TemplateError {
    /// A short label for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            TemplateError::Write { .. } => "TargetWriteFailed",
            TemplateError::Template { .. } => "TemplateWriteFailed",
            TemplateError::Actions { .. } => "ActionsFailed",
        }
    }
}

/// Server-side apply as the operator, forcing: it owns what it applies.
pub fn apply_params() -> PatchParams {
    PatchParams::apply(FIELD_MANAGER).force()
}

fn post_params() -> PostParams {
    PostParams {
        dry_run: false,
        field_manager: Some(FIELD_MANAGER.into()),
    }
}

/// Applies the operator's finalizer to a template (`crate::finalizer`).
pub async fn add_finalizer(
    api: &Api<ClusterAIScaleTemplate>,
    name: &str,
) -> Result<(), TemplateError> {
    crate::finalizer::add(
        api,
        "thoras.ai/v1",
        "ClusterAIScaleTemplate",
        name,
        TEMPLATE_FINALIZER,
    )
    .await
    .map_err(|source| TemplateError::Template {
        action: "adding the finalizer to",
        name: name.into(),
        source,
    })
}

/// Removes the template finalizer (`crate::finalizer`: by position, with a `test`).
pub async fn remove_finalizer(
    api: &Api<ClusterAIScaleTemplate>,
    template: &ClusterAIScaleTemplate,
) -> Result<(), TemplateError> {
    crate::finalizer::remove(api, template, TEMPLATE_FINALIZER)
        .await
        .map_err(|source| TemplateError::Template {
            action: "removing the finalizer from",
            name: template.name_any(),
            source,
        })
}

/// How many times an update is retried after a conflict (409) before giving up on it (the
/// next reconcile starts again from the cache).
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

/// What `plan_template` sees of a target.
pub fn target_view(t: &AIScaleTarget) -> TargetView {
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

/// A write not yet seen in the cache: the target as written (`None`: deleted) and the
/// resourceVersion it replaced (`None`: created).
#[derive(Debug, Clone)]
struct Expected {
    view: Option<Arc<TargetView>>,
    replaced: Option<String>,
    at: Instant,
}

/// Writes not yet seen in the cache (see the module comment).
#[derive(Debug, Default)]
pub struct Expectations {
    entries: HashMap<(String, String), Expected>,
}

/// After this long an expectation is dropped, whatever the cache says.
const EXPECTATION_TTL: Duration = Duration::from_secs(60);

impl Expectations {
    /// The targets as the plan should see them: the cache's (`cached`, whose views are
    /// `views`, in the same order), with the writes it does not show yet laid over them.
    pub fn targets(
        &mut self,
        cached: &[Arc<AIScaleTarget>],
        views: Vec<Arc<TargetView>>,
        now: Instant,
    ) -> Vec<Arc<TargetView>> {
        self.entries
            .retain(|_, e| now.duration_since(e.at) < EXPECTATION_TTL);
        let mut out = Vec::with_capacity(views.len());
        let mut seen = std::collections::HashSet::new();
        for (t, view) in cached.iter().zip(views) {
            if self.entries.is_empty() {
                out.push(view);
                continue;
            }
            let key = (t.namespace().unwrap_or_default(), t.name_any());
            match self.entries.get(&key) {
                // The cache still holds the version the write replaced.
                Some(e) if e.replaced.is_some() && e.replaced == t.resource_version() => {
                    out.extend(e.view.clone());
                }
                Some(_) => {
                    self.entries.remove(&key);
                    out.push(view);
                }
                None => out.push(view),
            }
            seen.insert(key);
        }
        self.entries.retain(|key, e| {
            let created_unseen = e.replaced.is_none() && !seen.contains(key);
            if created_unseen {
                out.extend(e.view.clone());
            }
            created_unseen || seen.contains(key)
        });
        out
    }

    fn expect(&mut self, t: &AIScaleTarget, view: Option<TargetView>, replaced: Option<String>) {
        self.entries.insert(
            (t.namespace().unwrap_or_default(), t.name_any()),
            Expected {
                view: view.map(Arc::new),
                replaced,
                at: Instant::now(),
            },
        );
    }
}

/// Carries out one action of a template's plan. `cached` is the target as the cache holds
/// it (the base of an update).
pub async fn apply(
    client: &Client,
    action: &Action,
    cached: Option<Arc<AIScaleTarget>>,
    expectations: &std::sync::Mutex<Expectations>,
) -> Result<(), TemplateError> {
    let remember = |t: &AIScaleTarget, view, replaced| {
        expectations
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .expect(t, view, replaced)
    };
    match action {
        Action::Create(d) | Action::Update(d) => {
            let api: Api<AIScaleTarget> = Api::namespaced(client.clone(), &d.namespace);
            let labels =
                BTreeMap::from([(MANAGED_BY_TEMPLATE_LABEL.to_string(), d.template.clone())]);
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
                    Ok(created) => remember(&created, Some(target_view(&created)), None),
                    // Created meanwhile (a reconcile on a stale cache): the next one sees it.
                    Err(kube::Error::Api(s)) if s.code == 409 => {}
                    Err(e) => return Err(write_err("creating", e)),
                }
            } else {
                // Replace rather than merge, so fields the template dropped are dropped too.
                let current = match cached {
                    Some(t) => (*t).clone(),
                    None => api
                        .get(&d.name)
                        .await
                        .map_err(|e| write_err("reading", e))?,
                };
                let replaced = current.resource_version();
                let updated = update_with_retry(&api, &d.name, current, |t| {
                    t.spec = spec.clone();
                    t.metadata
                        .labels
                        .get_or_insert_with(Default::default)
                        .extend(labels.clone());
                    Ok(())
                })
                .await
                .map_err(|e| write_err("updating", e))?;
                remember(&updated, Some(target_view(&updated)), replaced);
            }
        }
        Action::Delete { namespace, name } => {
            let api: Api<AIScaleTarget> = Api::namespaced(client.clone(), namespace);
            match api.delete(name, &DeleteParams::default()).await {
                Ok(_) => {
                    if let Some(t) = cached {
                        remember(&t, None, t.resource_version());
                    }
                }
                Err(kube::Error::Api(s)) if s.code == 404 => {
                    if let Some(t) = cached {
                        remember(&t, None, t.resource_version());
                    }
                }
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn target(name: &str, rv: &str, buffer: &str) -> Arc<AIScaleTarget> {
        Arc::new(
            serde_json::from_value(json!({
                "apiVersion": "thoras.ai/v1", "kind": "AIScaleTarget",
                "metadata": {"name": name, "namespace": "shop", "resourceVersion": rv},
                "spec": {"scaleTargetRef": {"kind": "Deployment", "name": name},
                         "model": {"forecast_interval": "15m", "forecast_buffer_percentage": buffer}}
            }))
            .unwrap(),
        )
    }

    fn buffers(views: &[Arc<TargetView>]) -> Vec<(String, String)> {
        let mut out: Vec<_> = views
            .iter()
            .map(|v| {
                (
                    v.name.clone(),
                    v.spec["model"]["forecast_buffer_percentage"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                )
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn writes_stand_in_for_the_cache_until_it_shows_them() {
        let now = Instant::now();
        let mut e = Expectations::default();
        let views =
            |ts: &[Arc<AIScaleTarget>]| ts.iter().map(|t| Arc::new(target_view(t))).collect();
        let old = target("web", "1", "10%");
        // Updated (rv 1 → 2), created, deleted; the cache has seen none of it.
        let updated = target("web", "2", "25%");
        e.expect(&updated, Some(target_view(&updated)), Some("1".into()));
        let created = target("api", "3", "10%");
        e.expect(&created, Some(target_view(&created)), None);
        let gone = target("old", "4", "10%");
        e.expect(&gone, None, Some("4".into()));
        let stale = vec![old.clone(), gone.clone()];
        assert_eq!(
            buffers(&e.targets(&stale, views(&stale), now)),
            [("api".into(), "10%".into()), ("web".into(), "25%".into())]
        );
        // The cache catches up: its own objects are used and the expectations go.
        let fresh = vec![updated.clone(), created.clone()];
        assert_eq!(
            buffers(&e.targets(&fresh, views(&fresh), now)),
            [("api".into(), "10%".into()), ("web".into(), "25%".into())]
        );
        assert!(e.entries.is_empty());
        // Someone else changed it after our write: theirs wins.
        e.expect(&updated, Some(target_view(&updated)), Some("1".into()));
        let theirs = [target("web", "7", "50%")];
        assert_eq!(
            buffers(&e.targets(&theirs, views(&theirs), now)),
            [("web".into(), "50%".into())]
        );
        // An expectation the cache never confirms expires.
        e.expect(&created, Some(target_view(&created)), None);
        assert!(
            e.targets(&[], vec![], Instant::now() + EXPECTATION_TTL)
                .is_empty()
        );
    }
}

//! The AIScaleTarget controller: validates each target (an invalid one gets `ValidSpec`
//! False and waits for a change), resolves its workloads, collects their usage into the
//! history store, forecasts when the target's cadence says so, and writes the suggestion,
//! conditions and an Event into the cluster. In recommendation mode it changes nothing
//! else; autonomous actuation is reported as not available yet.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Event, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use prescale_api::AIScaleTarget;
use prescale_api::mode::Scaling;
use prescale_api::settings::effective_model;
use prescale_api::target::status::{AIScaleTargetStatus, HistoryStatus, WorkloadStatus};
use prescale_api::validate::validate_target_spec;
use prescale_store::HistoryStore;
use serde_json::{Value, json};

use super::inputs::{backfilled_days, histories, pod_template_labels, workloads_requests};
use super::schedule::forecast_due;
use super::suggest::{ContainerHistory, suggest};
use crate::client::FIELD_MANAGER;
use crate::collector::backoff::CollectorHealth;
use crate::collector::collect;
use crate::collector::oom::OomTracker;
use crate::collector::owners::WorkloadRef;
use crate::pause::PauseState;
use crate::selector::selector_matches;
use crate::template::controller::{condition, list_workloads};
use crate::template::plan::WorkloadView;

#[derive(Default)]
pub struct TargetMemory {
    /// Data time of the last forecast, per target.
    last_forecast: HashMap<(String, String), i64>,
    /// Collection failures and their backoff, per namespace.
    collector: CollectorHealth,
    oom: OomTracker,
}

pub struct TargetContext {
    pub client: Client,
    pub store: Arc<dyn HistoryStore>,
    /// Backfill from Prometheus, when `--prometheus-url` is given.
    pub backfill: Option<Arc<crate::backfill::Backfill>>,
    /// Time between collections from metrics.k8s.io (per namespace).
    pub collect_interval: std::time::Duration,
    /// With a shared PostgreSQL store: process only the targets this worker claims.
    pub claims: Option<Arc<Claims>>,
    /// Forecasts computed at once (the bounded pool), by default one per core.
    pub forecast_workers: usize,
    /// The namespaces this operator manages.
    pub scope: crate::scope::Scope,
}

/// A worker's identity among those sharing one PostgreSQL store.
pub struct Claims {
    pub store: Arc<prescale_store::PgStore>,
    pub worker: String,
    /// Claims and the heartbeat expire this long after the last pass.
    pub ttl: std::time::Duration,
}

impl Claims {
    /// `targets`, reduced to those this worker holds claims on now.
    async fn mine(&self, targets: Vec<AIScaleTarget>) -> Result<Vec<AIScaleTarget>, kube::Error> {
        let key =
            |t: &AIScaleTarget| format!("{}/{}", t.namespace().unwrap_or_default(), t.name_any());
        let candidates: Vec<String> = targets.iter().map(key).collect();
        let (store, worker, ttl) = (self.store.clone(), self.worker.clone(), self.ttl);
        let mine = tokio::task::spawn_blocking(move || store.claim(&worker, &candidates, ttl))
            .await
            .map_err(|e| kube::Error::Service(Box::new(e)))?
            .map_err(|e| kube::Error::Service(Box::new(e)))?;
        let mine: std::collections::HashSet<String> = mine.into_iter().collect();
        Ok(targets
            .into_iter()
            .filter(|t| mine.contains(&key(t)))
            .collect())
    }
}

impl TargetContext {
    /// A context collecting every 15 s, without backfill.
    pub fn new(client: Client, store: Arc<dyn HistoryStore>) -> Self {
        TargetContext {
            client,
            store,
            backfill: None,
            collect_interval: std::time::Duration::from_secs(15),
            claims: None,
            forecast_workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            scope: crate::scope::Scope::all(),
        }
    }
}

pub(super) fn parse_cpu(s: &str) -> Option<f64> {
    prescale_api::quantity::parse(s).ok().map(|q| q.as_f64())
}

/// Resolves the workloads of a target: its scaleTargetRef, or every workload of its
/// namespace whose pod template matches its selector.
fn resolve<'a>(
    ast: &AIScaleTarget,
    workloads: &'a [WorkloadView],
    templates: &HashMap<String, BTreeMap<String, String>>,
) -> Vec<&'a WorkloadView> {
    let ns = ast.namespace().unwrap_or_default();
    workloads
        .iter()
        .filter(|w| w.namespace == ns)
        .filter(|w| match (&ast.spec.scale_target_ref, &ast.spec.selector) {
            (Some(r), _) => r.kind == w.kind && r.name == w.name,
            (None, Some(sel)) => templates
                .get(&format!("{}/{}/{}", w.namespace, w.kind, w.name))
                .is_some_and(|l| selector_matches(sel, l)),
            _ => false,
        })
        .collect()
}

/// What one pass over the targets did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TargetPass {
    pub targets: usize,
    /// Status writes (unchanged targets are not written).
    pub written: usize,
    /// Σ recommended and Σ currently requested over suggestions, per resource
    /// (`cpu` in cores, `memory` in bytes), replicas included.
    pub recommended: BTreeMap<&'static str, f64>,
    pub requested: BTreeMap<&'static str, f64>,
    /// OOM kills seen for the first time in this pass.
    pub oom_kills: usize,
}

/// One pass over every target.
pub async fn reconcile_targets(
    ctx: &TargetContext,
    memory: &mut TargetMemory,
    pause: &PauseState,
) -> Result<TargetPass, kube::Error> {
    let mut targets = vec![];
    for api in ctx.scope.apis::<AIScaleTarget>(&ctx.client) {
        targets.extend(api.list(&ListParams::default()).await?.items);
    }
    let workloads = list_workloads(&ctx.client, &ctx.scope)
        .await
        .map_err(|e| kube::Error::Service(Box::new(e)))?;
    let templates = pod_template_labels(&ctx.client, &ctx.scope).await?;
    // Seed 002: deleting a target (unenrolling) discards its workloads' history. Judged on
    // every target, before claims split them, so each worker reaches the same verdict.
    let enrolled: HashSet<(String, String, String)> = targets
        .iter()
        .flat_map(|t| resolve(t, &workloads, &templates))
        .map(|w| (w.namespace.clone(), w.kind.clone(), w.name.clone()))
        .collect();
    discard_unenrolled(ctx, enrolled).await?;
    if let Some(claims) = &ctx.claims {
        targets = claims.mine(targets).await?;
    }
    let mut pass = TargetPass {
        targets: targets.len(),
        ..Default::default()
    };
    if targets.is_empty() {
        return Ok(pass);
    }
    let mut written = 0;
    let mut data_times: HashMap<String, Option<i64>> = HashMap::new();
    let mut oom_kills = 0;
    // Forecasts run on a bounded pool of blocking threads while the pass goes on reading
    // and collecting for the next targets; their results are applied in target order.
    let pool = Arc::new(tokio::sync::Semaphore::new(ctx.forecast_workers.max(1)));
    let mut pending: Vec<Pending> = vec![];
    for ast in &targets {
        let ns = ast.namespace().unwrap_or_default();
        let name = ast.name_any();
        let ns_api: Api<AIScaleTarget> = Api::namespaced(ctx.client.clone(), &ns);
        let generation = ast.metadata.generation;
        let previous = ast.status.clone().unwrap_or_default();
        let mut status = previous.clone();
        status.observed_generation = generation;
        let errors = validate_target_spec(&ast.spec, Some(&ns));
        if !errors.is_empty() {
            let message = errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            status.conditions = vec![
                condition(
                    "ValidSpec",
                    "False",
                    "InvalidSpec",
                    &message,
                    generation,
                    Some(&previous.conditions),
                ),
                condition(
                    "Ready",
                    "False",
                    "InvalidSpec",
                    "fix the spec; the target waits for a change",
                    generation,
                    Some(&previous.conditions),
                ),
            ];
            written += write_status(&ns_api, &name, &previous, &status).await?;
            continue;
        }
        let resolved = resolve(ast, &workloads, &templates);
        status.workloads = resolved
            .iter()
            .map(|w| WorkloadStatus {
                kind: w.kind.clone(),
                name: w.name.clone(),
            })
            .collect();
        let data_time = match data_times.get(&ns) {
            Some(t) => *t,
            None => {
                let all_enrolled: Vec<&WorkloadView> =
                    workloads.iter().filter(|w| w.namespace == ns).collect();
                let now = std::time::Instant::now();
                if memory.collector.due(&ns, now, ctx.collect_interval) {
                    match collect(&ctx.client, &ctx.store, &ns, &all_enrolled).await {
                        Ok(found) => {
                            memory.collector.succeeded(&ns, now, found.data_time);
                            let at = memory.collector.last_data_time(&ns).unwrap_or(0);
                            oom_kills += memory.oom.observe(&ns, found.oom_kills, at);
                        }
                        Err(e) => {
                            let retry =
                                memory.collector.failed(&ns, e.reason(), e.to_string(), now);
                            // Once per namespace and kind of failure, not at every retry.
                            if retry.first {
                                tracing::warn!(namespace = %ns, error = %e, retry_in_s = retry.wait.as_secs(), "collection failed; backing off");
                            } else {
                                tracing::debug!(namespace = %ns, error = %e, retry_in_s = retry.wait.as_secs(), "collection failed again");
                            }
                        }
                    }
                }
                let t = memory.collector.last_data_time(&ns);
                data_times.insert(ns.clone(), t);
                t
            }
        };
        if let Some(t) = data_time {
            status.last_collection_time = jiff::Timestamp::from_second(t).ok().map(Time);
        }
        let key = (ns.clone(), name.clone());
        let model = effective_model(&ast.spec.model, None, "cpu").ok();
        let due = forecast_due(
            data_time,
            memory.last_forecast.get(&key).copied(),
            model.as_ref().map(|m| &m.cadence),
            &format!("{ns}/{name}"),
        );
        let histories = histories(
            ctx,
            &resolved,
            &workloads_requests(&ctx.client, &resolved).await,
            data_time.unwrap_or(0),
        )
        .map_err(|e| kube::Error::Service(Box::new(e)))?;
        let span = histories
            .iter()
            .flat_map(|h| h.cpu.first().zip(h.cpu.last()))
            .map(|(f, l)| l.0 - f.0)
            .max()
            .unwrap_or(0);
        let since = histories
            .iter()
            .filter_map(|h| h.cpu.first().map(|f| f.0))
            .min();
        status.history = Some(HistoryStatus {
            since: since
                .and_then(|s| jiff::Timestamp::from_second(s).ok())
                .map(Time),
            hours: span as f64 / 3600.0,
            backfilled_days: backfilled_days(ctx, &resolved),
        });
        let forecast = if due {
            memory
                .last_forecast
                .insert(key.clone(), data_time.unwrap_or(0));
            let permit = pool
                .clone()
                .acquire_owned()
                .await
                .map_err(|e| kube::Error::Service(Box::new(e)))?;
            let (spec, inputs, t) = (ast.spec.clone(), histories.clone(), data_time.unwrap_or(0));
            let prior = previous.suggestion.clone();
            Some(tokio::task::spawn_blocking(move || {
                let _permit = permit;
                suggest(&spec, &inputs, prior.as_ref(), t)
            }))
        } else {
            None
        };
        let refs: Vec<WorkloadRef> = resolved
            .iter()
            .map(|w| WorkloadRef {
                kind: w.kind.clone(),
                name: w.name.clone(),
            })
            .collect();
        pending.push(Pending {
            ast,
            ns,
            name,
            ns_api,
            generation,
            previous,
            status,
            histories,
            refs,
            forecast,
        });
    }
    for p in pending {
        written += finish(ctx, memory, pause, &mut pass, p).await?;
    }
    pass.written = written;
    pass.oom_kills = oom_kills;
    Ok(pass)
}

/// Deletes the history of every workload no target resolves any more.
async fn discard_unenrolled(
    ctx: &TargetContext,
    enrolled: HashSet<(String, String, String)>,
) -> Result<(), kube::Error> {
    let store = ctx.store.clone();
    let discarded = tokio::task::spawn_blocking(move || {
        let held: HashSet<(String, String, String)> = store
            .series()?
            .into_iter()
            .map(|k| (k.namespace, k.kind, k.workload))
            .collect();
        let mut discarded = vec![];
        for w in held.difference(&enrolled) {
            store.delete_workload(&w.0, &w.1, &w.2)?;
            discarded.push(w.clone());
        }
        Ok::<_, prescale_store::StoreError>(discarded)
    })
    .await
    .map_err(|e| kube::Error::Service(Box::new(e)))?
    .map_err(|e| kube::Error::Service(Box::new(e)))?;
    for (ns, kind, name) in discarded {
        tracing::info!(namespace = %ns, kind = %kind, name = %name, "workload unenrolled: its history is discarded");
    }
    Ok(())
}

/// One target's pass, read and collected, waiting for its forecast.
struct Pending<'a> {
    ast: &'a AIScaleTarget,
    ns: String,
    name: String,
    ns_api: Api<AIScaleTarget>,
    generation: Option<i64>,
    previous: AIScaleTargetStatus,
    status: AIScaleTargetStatus,
    histories: Vec<ContainerHistory>,
    refs: Vec<WorkloadRef>,
    forecast:
        Option<tokio::task::JoinHandle<Result<prescale_api::target::status::Suggestion, String>>>,
}

/// Applies a target's forecast, conditions and OOM report; writes its status (when it
/// changed) and an Event (when the suggestion did). Returns the writes made.
async fn finish(
    ctx: &TargetContext,
    memory: &TargetMemory,
    pause: &PauseState,
    pass: &mut TargetPass,
    p: Pending<'_>,
) -> Result<usize, kube::Error> {
    let Pending {
        ast,
        ns,
        name,
        ns_api,
        generation,
        previous,
        mut status,
        histories,
        refs,
        forecast,
    } = p;
    let mut suggestion_changed = false;
    if let Some(job) = forecast {
        match job.await.map_err(|e| kube::Error::Service(Box::new(e)))? {
            Ok(s) => {
                suggestion_changed = previous.suggestion.as_ref().map(|p| &p.id) != Some(&s.id);
                status.suggestion = Some(s);
            }
            Err(reason) => {
                tracing::debug!(target = %format!("{ns}/{name}"), %reason, "no suggestion yet")
            }
        }
    }
    let suggested_at = status
        .suggestion
        .as_ref()
        .and_then(|s| s.time.as_ref())
        .map(|t| t.0.as_second());
    status.oom_killed_containers = memory.oom.killed(&ns, &refs, suggested_at).0;
    if let Some(last) = memory.oom.killed(&ns, &refs, None).1 {
        status.last_oom_time = jiff::Timestamp::from_second(last).ok().map(Time);
    }
    let autonomous = [
        ast.spec.horizontal.as_ref().and_then(|h| h.mode.as_ref()),
        ast.spec.vertical.as_ref().and_then(|v| v.mode.as_ref()),
    ]
    .into_iter()
    .flatten()
    .any(|m| m.scaling() == Some(Scaling::Autonomous));
    let has_suggestion = status.suggestion.is_some();
    let (able, able_reason, able_message) = match (autonomous, pause.paused) {
        (false, _) => (
            "True",
            "RecommendationMode",
            "recommendation mode: suggestions are reported, nothing is applied".to_string(),
        ),
        (true, true) => (
            "False",
            "ScalingPaused",
            "the system-wide pause is on: apply steps are skipped and recorded".to_string(),
        ),
        (true, false) => (
            "False",
            "ActuationNotAvailable",
            "autonomous actuation is not available in this version; suggestions are reported only"
                .to_string(),
        ),
    };
    let enough = status
        .suggestion
        .as_ref()
        .is_some_and(|s| s.has_enough_data_to_scale);
    status.conditions = vec![
        condition(
            "ValidSpec",
            "True",
            "Valid",
            "the spec is valid",
            generation,
            Some(&previous.conditions),
        ),
        condition(
            "Ready",
            if has_suggestion { "True" } else { "False" },
            if has_suggestion {
                "SuggestionAvailable"
            } else {
                "CollectingUsage"
            },
            if has_suggestion {
                "a suggestion is available"
            } else {
                "collecting usage for a first suggestion"
            },
            generation,
            Some(&previous.conditions),
        ),
        match memory.collector.failing(&ns) {
            Some(f) => condition(
                "MetricsAvailable",
                "False",
                f.reason,
                &format!(
                    "{}; retried with backoff (up to 5 minutes), no samples are recorded meanwhile",
                    f.error
                ),
                generation,
                Some(&previous.conditions),
            ),
            None => condition(
                "MetricsAvailable",
                "True",
                "Collecting",
                "usage is collected from metrics.k8s.io",
                generation,
                Some(&previous.conditions),
            ),
        },
        condition(
            "AbleToScale",
            able,
            able_reason,
            &able_message,
            generation,
            Some(&previous.conditions),
        ),
        condition(
            "ScalingActive",
            if enough { "True" } else { "False" },
            if enough {
                "EnoughData"
            } else {
                "NotEnoughData"
            },
            if enough {
                "the forecast has enough history"
            } else {
                "waiting for min_lookback_to_scale of history; the cold-start model is used"
            },
            generation,
            Some(&previous.conditions),
        ),
    ];
    if let Some(s) = &status.suggestion {
        for (c, h) in s.containers.iter().zip(&histories) {
            let replicas = f64::from(h.replicas.max(1));
            for (resource, rec, req) in [
                ("cpu", &c.cpu, h.cpu_request),
                ("memory", &c.memory, h.memory_request),
            ] {
                if let (Some(rec), Some(req)) = (rec.as_deref().and_then(parse_cpu), req) {
                    *pass.recommended.entry(resource).or_default() += rec * replicas;
                    *pass.requested.entry(resource).or_default() += req * replicas;
                }
            }
        }
    }
    let written = write_status(&ns_api, &name, &previous, &status).await?;
    if suggestion_changed {
        let _ = record_event(&ctx.client, ast, &status).await;
    }
    Ok(written)
}

async fn write_status(
    api: &Api<AIScaleTarget>,
    name: &str,
    previous: &AIScaleTargetStatus,
    status: &AIScaleTargetStatus,
) -> Result<usize, kube::Error> {
    if previous == status {
        return Ok(0);
    }
    // Server-side apply, forced: the operator owns the whole status.
    api.patch_status(
        name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(json!({
            "apiVersion": "thoras.ai/v1", "kind": "AIScaleTarget",
            "metadata": {"name": name}, "status": status,
        })),
    )
    .await?;
    Ok(1)
}

async fn record_event(
    client: &Client,
    ast: &AIScaleTarget,
    status: &AIScaleTargetStatus,
) -> Result<(), kube::Error> {
    let ns = ast.namespace().unwrap_or_default();
    let summary: Vec<String> = status
        .suggestion
        .iter()
        .flat_map(|s| &s.containers)
        .map(|c| {
            format!(
                "{} cpu={} memory={}",
                c.name,
                c.cpu.as_deref().unwrap_or("-"),
                c.memory.as_deref().unwrap_or("-")
            )
        })
        .collect();
    let now = Time(jiff::Timestamp::now());
    let event = Event {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}.", ast.name_any())),
            namespace: Some(ns.clone()),
            ..Default::default()
        },
        involved_object: ObjectReference {
            api_version: Some("thoras.ai/v1".into()),
            kind: Some("AIScaleTarget".into()),
            name: Some(ast.name_any()),
            namespace: Some(ns.clone()),
            uid: ast.uid(),
            ..Default::default()
        },
        reason: Some("SuggestionChanged".into()),
        message: Some(format!("new suggestion: {}", summary.join(", "))),
        type_: Some("Normal".into()),
        first_timestamp: Some(now.clone()),
        last_timestamp: Some(now),
        count: Some(1),
        ..Default::default()
    };
    let params = PostParams {
        dry_run: false,
        field_manager: Some(FIELD_MANAGER.into()),
    };
    Api::<Event>::namespaced(client.clone(), &ns)
        .create(&params, &event)
        .await
        .map(|_| ())
}

/// The status value as JSON, for tests and the CLI.
pub fn status_json(ast: &AIScaleTarget) -> Value {
    serde_json::to_value(&ast.status).unwrap_or(Value::Null)
}

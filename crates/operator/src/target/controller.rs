//! The AIScaleTarget controller, one target at a time: gather the target's inputs (cache,
//! history store, collector), run its due forecasts on the bounded pool, `plan`, and apply
//! the outcome — status by server-side apply, Events, actions. A failure stays with its
//! target: it is retried with backoff for that target alone, and a decided status that
//! could not be written is kept and written on the retry, so no forecast is lost.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kube::api::{Api, Patch, PatchParams};
use kube::{Client, ResourceExt};
use prescale_api::AIScaleTarget;
use prescale_api::defaults::TARGET_FINALIZER;
use prescale_api::target::status::AIScaleTargetStatus;
use prescale_api::validate::validate_target_spec;
use prescale_store::{HistoryStore, StoreError};
use serde_json::json;

use super::actuation::workload_id;
use super::events::{action_event, record_event};
use super::forecast::{self, Direction};
use super::inputs::{backfilled_days, histories, history_summary, single_hpa, workload_inputs};
use super::plan::{
    CollectionFailure, CollectionState, EventSpec, ForecastOutcome, TargetInputs, TargetOutcome,
    plan,
};
use super::provisioning::provisioning;
use super::revert::FinalizerChange;
use super::suggest::suggest;
use crate::actuate::{Action as ClusterAction, ActuateError, Actuator, Applied};
use crate::cache::Cache;
use crate::client::FIELD_MANAGER;
use crate::clock::Clock;
use crate::collector::backoff::{CollectorHealth, delay};
use crate::collector::oom::OomTracker;
use crate::collector::owners::WorkloadRef;
use crate::http::Shared;
use crate::workload::WorkloadView;

/// What can go wrong with one target. `reason` is the metric label and, where the
/// failure reaches the status, the condition reason.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("reading the usage history of {target}: {source}")]
    HistoryRead { target: String, source: StoreError },
    #[error("the forecast of {target} did not finish: {message}")]
    Forecast { target: String, message: String },
    #[error("writing the status of {target}: {source}")]
    StatusWrite { target: String, source: kube::Error },
    #[error("{action} AIScaleTarget {target}: {source}")]
    Finalizer {
        target: String,
        action: &'static str,
        source: kube::Error,
    },
    #[error("{target}: {source}")]
    Actuation {
        target: String,
        source: ActuateError,
    },
}

impl TargetError {
    pub fn reason(&self) -> &'static str {
        match self {
            TargetError::HistoryRead { .. } => "HistoryReadFailed",
            TargetError::Forecast { .. } => "ForecastFailed",
            TargetError::StatusWrite { .. } => "StatusWriteFailed",
            TargetError::Actuation { .. } => "ActuationFailed",
            TargetError::Finalizer { .. } => "FinalizerWriteFailed",
        }
    }
}

/// Which targets this process works on now: all of them while it leads (or, as a
/// worker, those it claims in the shared store).
pub trait Gate: Send + Sync {
    fn admits(&self, namespace: &str, name: &str) -> bool;
}

/// What the controller remembers of one target between reconciles.
#[derive(Debug, Clone, Default)]
struct Memory {
    /// Data time of each direction's last forecast.
    last_forecast: BTreeMap<Direction, i64>,
    /// A decided status (and its Events) that could not be written yet.
    pending: Option<(AIScaleTargetStatus, Vec<EventSpec>)>,
    /// The status last written, and the resourceVersion it was written over: until the
    /// cache shows the write, the cached target is older than what the server holds.
    written: Option<(AIScaleTargetStatus, Option<String>)>,
    /// Consecutive failures, and when the next attempt is due (the backoff): changes that
    /// arrive meanwhile do not hammer a failing target.
    failures: u32,
    retry_at: Option<Instant>,
    /// This target's share of the provisioning-ratio sums: (resource, recommended, requested).
    provisioning: Vec<(&'static str, f64, f64)>,
    /// Resizes the API server refused: (suggestion id, pod). Kept for the current
    /// suggestion only; a restarted operator tries each once more and learns again.
    refused: BTreeSet<(String, String)>,
    /// When this process last evicted a pod of each workload (`Kind/name`), cluster seconds.
    last_evictions: BTreeMap<String, i64>,
    /// When this process last raised each workload's replicas (`Kind/name`), cluster
    /// seconds, and to how many: a raise the HPA undoes is not repeated at once.
    last_raises: BTreeMap<String, (i64, u32)>,
    /// The last restart token this process issued per workload (`Kind/name`), until the
    /// cache shows it on the workload's template (after that the template says it).
    restarts_issued: BTreeMap<String, String>,
}

type Key = (String, String);

pub struct TargetContext {
    pub client: Client,
    pub cache: Arc<Cache>,
    pub store: Arc<dyn HistoryStore>,
    pub clock: Arc<dyn Clock>,
    pub backfill: Option<Arc<crate::backfill::Backfill>>,
    pub actuator: Arc<dyn Actuator>,
    pub collector: Arc<Mutex<CollectorHealth>>,
    pub oom: Arc<Mutex<OomTracker>>,
    /// Forecasts computed at once (the bounded pool of blocking threads).
    pub pool: Arc<tokio::sync::Semaphore>,
    /// The safety net: every target is reconciled at least this often.
    pub resync: Duration,
    pub gate: Arc<dyn Gate>,
    pub shared: Arc<Shared>,
    memory: Mutex<HashMap<Key, Memory>>,
    /// Σ recommended and Σ requested over targets, per resource.
    provisioning: Mutex<BTreeMap<&'static str, (f64, f64)>>,
}

impl TargetContext {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        client: Client,
        cache: Arc<Cache>,
        store: Arc<dyn HistoryStore>,
        clock: Arc<dyn Clock>,
        collector: Arc<Mutex<CollectorHealth>>,
        oom: Arc<Mutex<OomTracker>>,
        gate: Arc<dyn Gate>,
        shared: Arc<Shared>,
    ) -> Self {
        TargetContext {
            client,
            cache,
            store,
            clock,
            backfill: None,
            actuator: Arc::new(crate::actuate::Unavailable),
            collector,
            oom,
            pool: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            )),
            resync: Duration::from_secs(300),
            gate,
            shared,
            memory: Mutex::default(),
            provisioning: Mutex::default(),
        }
    }

    fn memory_of(&self, key: &Key) -> Memory {
        self.memory
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
            .unwrap_or_default()
    }

    fn remember(&self, key: Key, memory: Memory) {
        self.memory
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, memory);
    }

    /// Forgets a deleted target.
    pub fn forget(&self, namespace: &str, name: &str) {
        let gone = self
            .memory
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(namespace.to_string(), name.to_string()));
        if let Some(m) = gone {
            self.set_provisioning(&m.provisioning, &[]);
        }
    }

    fn set_provisioning(&self, old: &[(&'static str, f64, f64)], new: &[(&'static str, f64, f64)]) {
        let mut sums = self.provisioning.lock().unwrap_or_else(|e| e.into_inner());
        for (resource, rec, req) in old {
            let e = sums.entry(resource).or_default();
            e.0 -= rec;
            e.1 -= req;
        }
        for (resource, rec, req) in new {
            let e = sums.entry(resource).or_default();
            e.0 += rec;
            e.1 += req;
        }
        for (resource, (rec, req)) in sums.iter() {
            if *req > 0.0 {
                self.shared
                    .metrics
                    .provisioning_ratio
                    .get_or_create(&crate::metrics::ResourceLabels {
                        resource: resource.to_string(),
                    })
                    .set(rec / req);
            }
        }
    }
}

/// Reconciles one target; returns when to look at it again unless a change comes first
/// (`None`: only on a change). A failure is retried with backoff for this target alone.
pub async fn reconcile(ast: Arc<AIScaleTarget>, ctx: &TargetContext) -> Option<Duration> {
    let (ns, name) = (ast.namespace().unwrap_or_default(), ast.name_any());
    if !ctx.gate.admits(&ns, &name) {
        return None;
    }
    if let Some(at) = ctx.memory_of(&(ns.clone(), name.clone())).retry_at {
        let now = Instant::now();
        if at > now {
            return Some(at - now);
        }
    }
    let started = Instant::now();
    let result = reconcile_target(&ast, ctx, (ns.clone(), name.clone())).await;
    let failure = result.as_ref().err().map(TargetError::reason);
    ctx.shared.metrics.reconciled("target", started, failure);
    let mut memory = ctx.memory_of(&(ns.clone(), name.clone()));
    let wake = match &result {
        Ok(wake) => {
            memory.failures = 0;
            memory.retry_at = None;
            *wake
        }
        Err(e) => {
            // 5 s, doubling up to 5 minutes, for this target only.
            memory.failures += 1;
            let wait = delay(memory.failures);
            memory.retry_at = Some(Instant::now() + wait);
            tracing::warn!(target = %format!("{ns}/{name}"), error = %e, failures = memory.failures, "reconcile failed; retrying this target with backoff");
            wait
        }
    };
    ctx.remember((ns, name), memory);
    Some(wake)
}

impl TargetContext {
    /// Whether new samples (or a new collection failure) in its namespace concern `ast`:
    /// a forecast of it is due at the new data time, or what its status says about the
    /// collection is no longer true. Any other target of the namespace keeps its own
    /// schedule: waking all of them at every collection (each namespace every 15 s) was
    /// a reconcile storm that told nothing new.
    pub fn collection_concerns(&self, ast: &AIScaleTarget) -> bool {
        let ns = ast.namespace().unwrap_or_default();
        let (data_time, failing) = {
            let health = self.collector.lock().unwrap_or_else(|e| e.into_inner());
            (health.last_data_time(&ns), health.failing(&ns).is_some())
        };
        let reported_collecting = ast
            .status
            .as_ref()
            .and_then(|s| s.conditions.iter().find(|c| c.type_ == "MetricsAvailable"))
            .map(|c| c.status == "True");
        if reported_collecting != Some(!failing) {
            return true;
        }
        if ast.metadata.deletion_timestamp.is_some()
            || !validate_target_spec(&ast.spec, Some(&ns)).is_empty()
            || self.cache.resolve(ast).is_empty()
        {
            return false;
        }
        let key = (ns, ast.name_any());
        let memory = self.memory.lock().unwrap_or_else(|e| e.into_inner());
        let empty = BTreeMap::new();
        let last = memory.get(&key).map_or(&empty, |m| &m.last_forecast);
        !forecast::due(&ast.spec, data_time, last, &format!("{}/{}", key.0, key.1)).is_empty()
    }
}

async fn reconcile_target(
    ast: &AIScaleTarget,
    ctx: &TargetContext,
    key: Key,
) -> Result<Duration, TargetError> {
    let (ns, name) = key.clone();
    let id = format!("{ns}/{name}");
    let workloads = ctx.cache.resolve(ast);
    let (data_time, failing) = {
        let health = ctx.collector.lock().unwrap_or_else(|e| e.into_inner());
        let failing = health.failing(&ns).map(|f| CollectionFailure {
            reason: f.reason,
            message: f.error.clone(),
        });
        (health.last_data_time(&ns), failing)
    };
    let mut memory = ctx.memory_of(&key);
    let (previous, mut events) = memory
        .pending
        .clone()
        .unwrap_or_else(|| (ast.status.clone().unwrap_or_default(), vec![]));
    let valid = validate_target_spec(&ast.spec, Some(&ns)).is_empty();
    let deleting_since = ast
        .metadata
        .deletion_timestamp
        .as_ref()
        .map(|t| t.0.as_second());
    let mut failure = None;
    let forecast = match data_time {
        // A deleted target forecasts no more.
        Some(t) if valid && !workloads.is_empty() && deleting_since.is_none() => {
            let due = forecast::due(&ast.spec, Some(t), &memory.last_forecast, &id);
            if due.is_empty() {
                ForecastOutcome::NotDue
            } else {
                match run_forecast(ctx, ast, &workloads, previous.suggestion.clone(), &due, t).await
                {
                    Ok(outcome) => {
                        // Done, whatever happens to the write: the result is kept until written.
                        memory.last_forecast.extend(due.iter().map(|d| (*d, t)));
                        outcome
                    }
                    Err(e) => {
                        let outcome = ForecastOutcome::Failed {
                            reason: e.reason(),
                            message: e.to_string(),
                        };
                        failure = Some(e);
                        outcome
                    }
                }
            }
        }
        _ => ForecastOutcome::NotDue,
    };
    let refs: Vec<WorkloadRef> = workloads
        .iter()
        .map(|w| WorkloadRef {
            kind: w.kind.clone(),
            name: w.name.clone(),
        })
        .collect();
    let oom_kills = ctx
        .oom
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .kills_of(&ns, &refs);
    let inputs = TargetInputs {
        namespace: ns.clone(),
        name: name.clone(),
        generation: ast.metadata.generation,
        spec: ast.spec.clone(),
        previous,
        workloads: workload_inputs(&ctx.cache, &workloads),
        served_kinds: ctx.cache.served_kinds(),
        pause: ctx.cache.pause(),
        collection: CollectionState { data_time, failing },
        forecast,
        oom_kills,
        refused: memory.refused.clone(),
        last_evictions: memory.last_evictions.clone(),
        last_raises: memory.last_raises.clone(),
        restarts_issued: memory.restarts_issued.clone(),
        has_finalizer: ast.finalizers().iter().any(|f| f == TARGET_FINALIZER),
        deleting_since,
        now: ctx.clock.now(),
    };
    let mut outcome = plan(&inputs);
    events.append(&mut outcome.events);
    outcome.events = events;
    let recheck = outcome.recheck;
    let provisioning = provisioning(&outcome.status, &workloads);
    ctx.set_provisioning(&memory.provisioning, &provisioning);
    memory.provisioning = provisioning;
    let applied = apply(ctx, ast, &workloads, &mut memory, outcome).await;
    let next_forecast = forecast::next(&ast.spec, &memory.last_forecast, &id);
    ctx.remember(key, memory);
    applied?;
    if let Some(e) = failure {
        return Err(e);
    }
    // Each target's own schedule: its next forecast, at the latest the resync.
    let mut wake = ctx.resync;
    if let (Some(next), Some(t)) = (next_forecast, data_time) {
        let until = Duration::from_secs(u64::try_from(next - t).unwrap_or(0).max(1));
        wake = wake.min(ctx.clock.real_duration(until).max(Duration::from_secs(1)));
    }
    // A rollout in progress continues after the disruption interval at the latest (pod
    // changes wake the target sooner).
    if let Some(recheck) = recheck {
        wake = wake.min(
            ctx.clock
                .real_duration(recheck)
                .max(Duration::from_millis(200)),
        );
    }
    Ok(wake)
}

/// Reads the history of `workloads` and runs the `due` directions' forecasts on the pool.
async fn run_forecast(
    ctx: &TargetContext,
    ast: &AIScaleTarget,
    workloads: &[WorkloadView],
    previous: Option<prescale_api::target::status::Suggestion>,
    due: &[Direction],
    t: i64,
) -> Result<ForecastOutcome, TargetError> {
    let target = format!("{}/{}", ast.namespace().unwrap_or_default(), ast.name_any());
    let hpa = single_hpa(&ctx.cache, workloads);
    let backfilled = backfilled_days(
        ctx.backfill.as_ref(),
        workloads,
        &crate::horizontal::sampler::backfill_queries(&ast.spec, workloads, hpa.as_ref()),
        ctx.clock.now().as_second(),
    );
    let permit = ctx
        .pool
        .clone()
        .acquire_owned()
        .await
        .map_err(|e| TargetError::Forecast {
            target: target.clone(),
            message: e.to_string(),
        })?;
    let (store, spec, workloads, due, prior) = (
        ctx.store.clone(),
        ast.spec.clone(),
        workloads.to_vec(),
        due.to_vec(),
        previous.clone(),
    );
    let job = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let histories = histories(&*store, &workloads, t)?;
        let custom =
            crate::horizontal::sampler::histories(&*store, &spec, &workloads, hpa.as_ref(), t)?;
        let results: BTreeMap<Direction, _> = due
            .iter()
            .map(|d| {
                let s = suggest(
                    &d.spec(&spec),
                    &histories,
                    &custom,
                    hpa.as_ref(),
                    prior.as_ref(),
                    t,
                );
                (*d, s)
            })
            .collect();
        Ok::<_, StoreError>((history_summary(&histories, backfilled), results))
    });
    let (history, mut results) = match job.await {
        Err(e) => {
            return Err(TargetError::Forecast {
                target,
                message: e.to_string(),
            });
        }
        Ok(Err(source)) => return Err(TargetError::HistoryRead { target, source }),
        Ok(Ok(done)) => done,
    };
    let vertical = results.remove(&Direction::Vertical);
    let horizontal = results.remove(&Direction::Horizontal);
    let why = [&vertical, &horizontal]
        .into_iter()
        .flatten()
        .find_map(|r| r.as_ref().err().cloned())
        .unwrap_or_default();
    let combined = forecast::combine(
        previous.as_ref(),
        vertical.and_then(Result::ok),
        horizontal.and_then(Result::ok),
        ast.spec.horizontal.is_some(),
    );
    Ok(ForecastOutcome::Ran {
        data_time: t,
        history,
        suggestion: combined.ok_or(why),
    })
}

/// Writes the status (when it differs from what the server holds), records the Events and
/// hands the actions to the actuator.
async fn apply(
    ctx: &TargetContext,
    ast: &AIScaleTarget,
    workloads: &[WorkloadView],
    memory: &mut Memory,
    outcome: TargetOutcome,
) -> Result<(), TargetError> {
    let target = format!("{}/{}", ast.namespace().unwrap_or_default(), ast.name_any());
    let current = ast.status.clone().unwrap_or_default();
    let already_written = memory
        .written
        .as_ref()
        .is_some_and(|(s, rv)| *s == outcome.status && *rv == ast.resource_version());
    if outcome.status != current && !already_written {
        memory.pending = Some((outcome.status.clone(), outcome.events.clone()));
        write_status(ctx, ast, &outcome.status)
            .await
            .map_err(|source| TargetError::StatusWrite {
                target: target.clone(),
                source,
            })?;
        memory.written = Some((outcome.status.clone(), ast.resource_version()));
    }
    memory.pending = None;
    for event in &outcome.events {
        if event.reason == "SuggestionChanged" {
            ctx.shared.metrics.recommendations.inc();
        }
        if event.reason == super::plan::OOM_REMEDIATED {
            ctx.shared.metrics.oom_floor_raises.inc();
        }
        if let Err(e) = record_event(ctx, ast, event).await {
            ctx.shared.metrics.failed("target", "EventWriteFailed");
            tracing::warn!(target = %target, error = %e, reason = event.reason, "recording an Event failed");
        }
    }
    let api: Api<AIScaleTarget> =
        Api::namespaced(ctx.client.clone(), &ast.namespace().unwrap_or_default());
    let finalizer_err = |action: &'static str| {
        let target = target.clone();
        move |source| TargetError::Finalizer {
            target,
            action,
            source,
        }
    };
    // Before any action: a target that may change pods is not deleted without its revert.
    if outcome.finalizer == FinalizerChange::Add {
        crate::finalizer::add(
            &api,
            "thoras.ai/v1",
            "AIScaleTarget",
            &ast.name_any(),
            TARGET_FINALIZER,
        )
        .await
        .map_err(finalizer_err("adding the finalizer to"))?;
    }
    // Forget issued restarts the cache now shows on the template.
    let cached_tokens: BTreeMap<String, Option<String>> = workloads
        .iter()
        .map(|w| (w.id(), w.restart_token.clone()))
        .collect();
    memory
        .restarts_issued
        .retain(|id, token| cached_tokens.get(id) != Some(&Some(token.clone())));
    let suggestion = outcome.status.suggestion.as_ref().map(|s| s.id.clone());
    let mut all_done = true;
    // Refusals of earlier suggestions no longer matter.
    memory
        .refused
        .retain(|(id, _)| Some(id) == suggestion.as_ref());
    for action in &outcome.actions {
        // The plan saw the pause as it was when this reconcile began; a pause written
        // since then halts the remaining actions now rather than after this target's
        // turn in a queue of thousands (they are planned again when the pause lifts).
        if ctx.cache.pause().paused {
            all_done = false;
            ctx.shared.metrics.scale_action(action.kind(), "halted");
            tracing::info!(target = %target, action = action.kind(), "halted by the system-wide pause: {}", action.describe());
            continue;
        }
        let applied = ctx.actuator.apply(action).await;
        let result = applied.as_ref().map_or("failed", Applied::label);
        ctx.shared.metrics.scale_action(action.kind(), result);
        let applied = applied.map_err(|source| TargetError::Actuation {
            target: target.clone(),
            source,
        })?;
        all_done &= matches!(applied, Applied::Done | Applied::Gone);
        if let (
            ClusterAction::Restart {
                workload, token, ..
            },
            Applied::Done,
        ) = (action, &applied)
        {
            memory
                .restarts_issued
                .insert(workload_id(&workload.kind, &workload.name), token.clone());
        }
        if let (ClusterAction::Resize { pod, .. }, Applied::Refused(_), Some(id)) =
            (action, &applied, &suggestion)
        {
            memory.refused.insert((id.clone(), pod.clone()));
        }
        if let (ClusterAction::ScaleUp { workload, to, .. }, Applied::Done) = (action, &applied) {
            memory.last_raises.insert(
                workload_id(&workload.kind, &workload.name),
                (ctx.clock.now().as_second(), *to),
            );
        }
        if let (ClusterAction::Evict { workload, .. }, Applied::Done) = (action, &applied) {
            memory.last_evictions.insert(
                workload_id(&workload.kind, &workload.name),
                ctx.clock.now().as_second(),
            );
        }
        if let Some(event) = action_event(action, &applied, ctx.clock.now())
            && let Err(e) = record_event(ctx, ast, &event).await
        {
            ctx.shared.metrics.failed("target", "EventWriteFailed");
            tracing::warn!(target = %target, error = %e, reason = event.reason, "recording an Event failed");
        }
        tracing::info!(target = %target, action = action.kind(), result, "{}", action.describe());
    }
    // After the actions: the revert is issued (or timed out), or nothing needed it.
    if outcome.finalizer == FinalizerChange::Remove && all_done {
        crate::finalizer::remove(&api, ast, TARGET_FINALIZER)
            .await
            .map_err(finalizer_err("removing the finalizer from"))?;
        tracing::info!(target = %target, timed_out = outcome.revert_timed_out, "finalizer {TARGET_FINALIZER} removed");
    }
    Ok(())
}

/// Server-side apply of the whole status, forced: the operator owns every status field.
async fn write_status(
    ctx: &TargetContext,
    ast: &AIScaleTarget,
    status: &AIScaleTargetStatus,
) -> Result<(), kube::Error> {
    use kube::Resource;
    let ns = ast.namespace().unwrap_or_default();
    let request = kube::core::Request::new(AIScaleTarget::url_path(&(), Some(&ns)))
        .patch_subresource(
            "status",
            &ast.name_any(),
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(json!({
                "apiVersion": "thoras.ai/v1", "kind": "AIScaleTarget",
                "metadata": {"name": ast.name_any()}, "status": status,
            })),
        )
        .map_err(kube::Error::BuildRequest)?;
    // The answer (the whole object) is not read: the watch brings it to the cache, and
    // parsing it here too costs as much as the write itself when a pause or a resync
    // makes thousands at once.
    ctx.client.request_text(request).await.map(drop)
}

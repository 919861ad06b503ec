//! The history janitor (seed 002: unenrolling discards history): deletes the history of
//! every workload no target resolves and no template owns, when a target goes, when kinds
//! change, and at every resync. Judged on every target, before claims split them, so each
//! process reaches the same verdict.
//!
//! A resync whose inputs are what the last pass judged on — the targets' specs, the
//! templates, what of each workload enrolment depends on (its name, labels and pod
//! template labels), the PodAutoscalers' workloads — changes no verdict, so it is skipped
//! (`Enrolment::fingerprint`); a status write, or a workload's replicas changing, is not
//! such a change. History written after a pass for a workload then unenrolled (a
//! collection racing the unenrolment) is caught by the full pass run at least every
//! `FULL_PASS_EVERY` resyncs.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::channel::mpsc;
use prescale_store::HistoryStore;

use crate::cache::Cache;
use crate::podautoscaler::controller::PodAutoscalers;
use crate::template::plan::{TemplateView, owner_of};

/// A resync runs the whole pass at least once in this many, changed or not.
pub const FULL_PASS_EVERY: u32 = 10;

type WorkloadKey = (String, String, String);

/// What enrolment is decided from, as read from the cache.
struct Enrolment {
    templates: Vec<TemplateView>,
    scaled: Vec<WorkloadKey>,
}

impl Enrolment {
    /// A hash of every input of `enrolled`: equal fingerprints, equal verdicts. The
    /// stores' order means nothing, so each object's hash is summed, not chained.
    fn fingerprint(&self, cache: &Cache) -> u64 {
        fn one(item: impl Hash) -> u64 {
            let mut h = DefaultHasher::new();
            item.hash(&mut h);
            h.finish()
        }
        let mut sum = one(cache.served_kinds());
        let mut add = |h: u64| sum = sum.wrapping_add(h);
        for t in cache.targets.state() {
            let m = &t.metadata;
            add(one(("target", &m.namespace, &m.name, m.generation)));
        }
        // A template's spec and deletion are in its resourceVersion.
        for t in cache.templates.state() {
            add(one((
                "template",
                &t.metadata.name,
                &t.metadata.resource_version,
            )));
        }
        for w in cache.workloads() {
            add(one((
                &w.namespace,
                &w.kind,
                &w.name,
                &w.labels,
                &w.pod_labels,
            )));
        }
        for w in &self.scaled {
            add(one(("scaled", w)));
        }
        sum
    }

    /// The workloads (namespace, kind, name) enrolled: resolved by a target, owned by a
    /// live template (whose target may not be created yet — at start-up, or after the
    /// template appears) or scaled by a PodAutoscaler.
    fn enrolled(self, cache: &Cache) -> HashSet<WorkloadKey> {
        let key = |w: &crate::workload::WorkloadView| {
            (w.namespace.clone(), w.kind.clone(), w.name.clone())
        };
        cache
            .targets
            .state()
            .iter()
            .flat_map(|t| cache.resolve(t))
            .map(|w| key(&w))
            .chain(
                cache
                    .workloads()
                    .iter()
                    .filter(|w| owner_of(&self.templates, w).is_some())
                    .map(|w| key(w)),
            )
            .chain(self.scaled)
            .collect()
    }
}

/// Runs the janitor until aborted: a pass when `wake` says so (a target deleted, kinds
/// changed) and at every `resync` (skipped when nothing it judges on changed).
pub async fn discard_unenrolled(
    cache: Arc<Cache>,
    pod_autoscalers: PodAutoscalers,
    store: Arc<dyn HistoryStore>,
    mut wake: mpsc::UnboundedReceiver<()>,
    resync: Duration,
) {
    let mut judged: Option<u64> = None;
    let mut skipped = 0;
    loop {
        let woken = tokio::select! {
            _ = wake.next() => true,
            _ = tokio::time::sleep(resync) => false,
        };
        // Fold a burst of deletions into one pass.
        while let Ok(()) = wake.try_recv() {}
        // PodAutoscalers' targets are enrolled too; until they are listed, judge nothing.
        let Some(scaled) = pod_autoscalers.targets() else {
            continue;
        };
        let inputs = Enrolment {
            templates: cache
                .templates
                .state()
                .iter()
                .map(|t| crate::template::controller::view(t))
                .filter(|t| !t.deleting)
                .collect(),
            scaled,
        };
        let fingerprint = inputs.fingerprint(&cache);
        if !woken && judged == Some(fingerprint) && skipped + 1 < FULL_PASS_EVERY {
            skipped += 1;
            continue;
        }
        skipped = 0;
        let enrolled = inputs.enrolled(&cache);
        let store = store.clone();
        let discarded = tokio::task::spawn_blocking(move || {
            let held: HashSet<WorkloadKey> = store
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
        .await;
        judged = None;
        match discarded {
            Ok(Ok(gone)) => {
                judged = Some(fingerprint);
                for (ns, kind, name) in gone {
                    tracing::info!(namespace = %ns, kind = %kind, name = %name, "workload unenrolled: its history is discarded");
                }
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "discarding unenrolled history failed; retried at the next change")
            }
            Err(e) => tracing::warn!(error = %e, "discarding unenrolled history did not finish"),
        }
    }
}

//! The history of the Pods, Object and External metrics the horizontal forecast reads
//! (`metrics::CustomMetric`): at each collection of a namespace, every such metric of its
//! targets' single HPA (and `additional_metrics`) is read from the custom or external
//! metrics API and recorded, at most once a `RECORD_EVERY_SECS`, as the workload's
//! `scaling_metric` series under the metric's id (`Pods/rps`) — the workload's *load* in
//! the target's unit (see `CustomMetric`), forecast like CPU and memory (`need`).
//!
//! A metric that cannot be read is logged once per reason and left to the HPA alone: the
//! forecast lists it as not forecast until it has history.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use kube::core::{ApiResource, GroupVersionKind};
use kube::{Client, ResourceExt};
use prescale_api::AIScaleTarget;
use prescale_api::AIScaleTargetSpec;
use prescale_store::{HistoryStore, Metric, Sample, SeriesKey, StoreError};

use super::metrics::{CustomMetric, CustomSource, HorizontalMetrics, HpaView, horizontal_metrics};
use crate::cache::Cache;
use crate::metrics_api::{api_get, encode, values_of};
use crate::target::inputs::single_hpa;
use crate::workload::WorkloadView;

/// Seconds between two recorded samples of one metric: the store's resolution.
pub const RECORD_EVERY_SECS: i64 = 60;

/// The history key of `metric` of workload `w`.
pub fn series_key(w: &WorkloadView, metric: &CustomMetric) -> SeriesKey {
    SeriesKey {
        namespace: w.namespace.clone(),
        kind: w.kind.clone(),
        workload: w.name.clone(),
        container: metric.id(),
        metric: Metric::ScalingMetric,
    }
}

/// The custom metrics a target's horizontal forecast reads, with its single workload;
/// `None` when it has none (no horizontal block, several workloads, only Resource
/// metrics).
pub fn custom_metrics_of(
    cache: &Cache,
    target: &AIScaleTarget,
) -> Option<(WorkloadView, HorizontalMetrics)> {
    let h = target.spec.horizontal.as_ref()?;
    let workloads = cache.resolve(target);
    let hpa = single_hpa(cache, &workloads);
    let [w] = <[WorkloadView; 1]>::try_from(workloads).ok()?;
    let metrics = horizontal_metrics(hpa.as_ref(), h);
    (!metrics.custom.is_empty()).then_some((w, metrics))
}

/// The recorded history, by id, of every custom metric the horizontal forecast of a
/// target with `spec`, `workloads` and their single `hpa` reads, up to `now` (empty when it
/// reads none).
pub fn histories(
    store: &dyn HistoryStore,
    spec: &AIScaleTargetSpec,
    workloads: &[WorkloadView],
    hpa: Option<&HpaView>,
    now: i64,
) -> Result<BTreeMap<String, Vec<(i64, f64)>>, StoreError> {
    let (Some(h), [w]) = (spec.horizontal.as_ref(), workloads) else {
        return Ok(BTreeMap::new());
    };
    let from = now - crate::target::inputs::HISTORY_WINDOW_SECS;
    horizontal_metrics(hpa, h)
        .custom
        .iter()
        .map(|m| Ok((m.id(), store.read(&series_key(w, m), from, now + 1)?)))
        .collect()
}

/// The Prometheus backfill of the custom metrics a target's horizontal forecast reads:
/// (history id, query) of those Prometheus can give back (`promql::custom_query`).
pub fn backfill_queries(
    spec: &AIScaleTargetSpec,
    workloads: &[WorkloadView],
    hpa: Option<&HpaView>,
) -> Vec<(String, String)> {
    let (Some(h), [w]) = (spec.horizontal.as_ref(), workloads) else {
        return vec![];
    };
    horizontal_metrics(hpa, h)
        .custom
        .iter()
        .filter_map(|m| {
            let query = crate::backfill::promql::custom_query(&w.namespace, &w.kind, &w.name, m)?;
            Some((m.id(), query))
        })
        .collect()
}

/// Records the custom metrics of a namespace's targets; remembers when each was last
/// recorded and the last failure of each (logged once).
#[derive(Default)]
pub struct Sampler {
    recorded: Mutex<BTreeMap<SeriesKey, i64>>,
    failures: Mutex<BTreeMap<SeriesKey, String>>,
}

impl Sampler {
    /// Reads and records what is due of `targets`' custom metrics at `now`.
    pub async fn sample(
        &self,
        client: &Client,
        store: &Arc<dyn HistoryStore>,
        cache: &Cache,
        targets: &[Arc<AIScaleTarget>],
        now: i64,
    ) {
        let mut batch: Vec<(SeriesKey, Sample)> = vec![];
        for target in targets {
            let Some((w, metrics)) = custom_metrics_of(cache, target) else {
                continue;
            };
            for m in &metrics.custom {
                let key = series_key(&w, m);
                let due = self
                    .recorded
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(&key)
                    .is_none_or(|last| now - last >= RECORD_EVERY_SECS);
                if !due {
                    continue;
                }
                match read_load(client, &w, m).await {
                    Ok(load) => {
                        self.recorded
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(key.clone(), now);
                        self.failures
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .remove(&key);
                        batch.push((key, (now, load)));
                    }
                    Err(e) => {
                        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
                        if failures.get(&key) != Some(&e) {
                            tracing::warn!(target = %format!("{}/{}", target.namespace().unwrap_or_default(), target.name_any()),
                                metric = %m.id(), error = %e, "reading a metric of the HPA failed; the HPA alone answers it until it can be read");
                            failures.insert(key, e);
                        }
                    }
                }
            }
        }
        if batch.is_empty() {
            return;
        }
        let store = store.clone();
        match tokio::task::spawn_blocking(move || store.append(&batch)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "recording HPA metrics failed"),
            Err(e) => tracing::warn!(error = %e, "recording HPA metrics did not finish"),
        }
    }
}

/// The workload's load of `m` now, in the target's unit (see `CustomMetric`).
async fn read_load(client: &Client, w: &WorkloadView, m: &CustomMetric) -> Result<f64, String> {
    let metric_selector = m
        .selector
        .as_deref()
        .map(|s| format!("metricLabelSelector={}", encode(s)));
    let (path, api) = match &m.source {
        CustomSource::Pods => {
            let pods: Vec<String> = w
                .pod_labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            let query = std::iter::once(format!("labelSelector={}", encode(&pods.join(","))))
                .chain(metric_selector)
                .collect::<Vec<_>>()
                .join("&");
            (
                format!(
                    "/apis/custom.metrics.k8s.io/v1beta2/namespaces/{}/pods/*/{}?{query}",
                    w.namespace,
                    encode(&m.name)
                ),
                "custom.metrics.k8s.io",
            )
        }
        CustomSource::Object {
            api_version,
            kind,
            name,
        } => {
            let (group, version) = match api_version.split_once('/') {
                Some((g, v)) => (g, v),
                None => ("", api_version.as_str()),
            };
            let plural = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind)).plural;
            let resource = if group.is_empty() {
                plural
            } else {
                format!("{plural}.{group}")
            };
            let query = metric_selector.map(|q| format!("?{q}")).unwrap_or_default();
            (
                format!(
                    "/apis/custom.metrics.k8s.io/v1beta2/namespaces/{}/{}/{}/{}{query}",
                    w.namespace,
                    encode(&resource),
                    encode(name),
                    encode(&m.name)
                ),
                "custom.metrics.k8s.io",
            )
        }
        CustomSource::External => {
            let query = m
                .selector
                .as_deref()
                .map(|s| format!("?labelSelector={}", encode(s)))
                .unwrap_or_default();
            (
                format!(
                    "/apis/external.metrics.k8s.io/v1beta1/namespaces/{}/{}{query}",
                    w.namespace,
                    encode(&m.name)
                ),
                "external.metrics.k8s.io",
            )
        }
    };
    let answer = api_get(client, &path, api).await?;
    // An Object metric is one MetricValue; the others a list.
    let values = match answer.get("value") {
        Some(v) => crate::workload::quantity(v).into_iter().collect(),
        None => values_of(&answer),
    };
    if values.is_empty() {
        return Err(format!(
            "{api} has no value of {} for {}/{}",
            m.name, w.kind, w.name
        ));
    }
    let value: f64 = values.iter().sum();
    Ok(load_of(m, value, w.ready_pods))
}

/// The load recorded for a reading `value` of `m` with `ready` pods: per replica for a
/// `Value` target (the HPA scales by value / target × pods), as read otherwise.
pub fn load_of(m: &CustomMetric, value: f64, ready: u32) -> f64 {
    if m.per_replica {
        value * f64::from(ready.max(1))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_target_is_per_replica_an_average_value_is_not() {
        let m = |per_replica| CustomMetric {
            source: CustomSource::External,
            name: "queue".into(),
            selector: None,
            target: 10.0,
            per_replica,
        };
        // The HPA: ⌈3 pods × 20 / 10⌉ = 6 for a Value target; ⌈20 / 10⌉ = 2 for AverageValue.
        assert_eq!(load_of(&m(true), 20.0, 3), 60.0);
        assert_eq!(load_of(&m(false), 20.0, 3), 20.0);
        // No ready pod: the value counts once, never as zero load.
        assert_eq!(load_of(&m(true), 20.0, 0), 20.0);
    }
}

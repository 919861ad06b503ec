//! What a PodAutoscaler's readings leave behind: each source's history (recorded once a
//! `RECORD_EVERY_SECS` in the operator's store), and with `spec.predictive` the seasonal
//! projection made from it (`seasonal`), recomputed once a `RECORD_EVERY_SECS`.

use kube::ResourceExt;
use prescale_api::podautoscaler::PodAutoscaler;
use prescale_autoscale::{MetricReading, Projection};
use prescale_store::{Metric, Sample, SeriesKey};

use super::controller::PaContext;
use super::seasonal::{RECORD_EVERY_SECS, seasonal_projection};

/// The history key of one metric source.
pub fn series_key(pa: &PodAutoscaler, metric: &str) -> SeriesKey {
    let r = &pa.spec.scale_target_ref;
    SeriesKey {
        namespace: pa.namespace().unwrap_or_default(),
        kind: r.kind.clone(),
        workload: r.name.clone(),
        container: metric.to_string(),
        metric: Metric::ScalingMetric,
    }
}

/// Records each source read now (once a `RECORD_EVERY_SECS`), and with `spec.predictive`
/// returns prescale's seasonal projection of each source that has one (recomputed once a
/// `RECORD_EVERY_SECS`).
pub async fn learn(
    ctx: &PaContext,
    pa: &PodAutoscaler,
    readings: &[Result<MetricReading, String>],
    now: jiff::Timestamp,
) -> Vec<Projection> {
    let t = now.as_second();
    let read: Vec<(SeriesKey, f64)> = pa
        .spec
        .metrics_sources
        .iter()
        .zip(readings)
        .filter_map(|(s, r)| Some((series_key(pa, &s.target_metric), r.as_ref().ok()?.total)))
        .collect();
    let due: Vec<(SeriesKey, Sample)> = {
        let mut recorded = ctx.recorded.lock().unwrap_or_else(|e| e.into_inner());
        let mut due = vec![];
        for (k, v) in &read {
            if recorded
                .get(k)
                .is_none_or(|&last| t - last >= RECORD_EVERY_SECS)
            {
                recorded.insert(k.clone(), t);
                due.push((k.clone(), (t, *v)));
            }
        }
        due
    };
    if !due.is_empty() {
        let store = ctx.store.clone();
        match tokio::task::spawn_blocking(move || store.append(&due)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "recording PodAutoscaler metrics failed"),
            Err(e) => tracing::warn!(error = %e, "recording PodAutoscaler metrics did not finish"),
        }
    }
    let Some(predictive) = &pa.spec.predictive else {
        return vec![];
    };
    let horizon = predictive
        .horizon_seconds
        .unwrap_or(prescale_api::podautoscaler::defaults::PREDICTIVE_HORIZON_SECONDS);
    let mut out = vec![];
    for (key, observed) in read {
        let cached = ctx
            .forecasts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .filter(|(at, _)| t - at < RECORD_EVERY_SECS)
            .map(|(_, p)| p.clone());
        let projection = match cached {
            Some(p) => p,
            None => {
                let (store, k) = (ctx.store.clone(), key.clone());
                let from = t - 14 * prescale_forecast::seasons::DAY;
                let history = tokio::task::spawn_blocking(move || store.read(&k, from, t))
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .unwrap_or_default();
                let p = seasonal_projection(&history, t, horizon, &key.container, observed);
                ctx.forecasts
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(key.clone(), (t, p.clone()));
                p
            }
        };
        out.extend(projection.map(|p| Projection { observed, ..p }));
    }
    out
}

//! `spec.predictive` in the plan: the projection of each source (prescale's seasonal one
//! when the controller has it, else AIBrix's linear trend) and what status reports of it.
//! Pure.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use prescale_api::podautoscaler::status::PredictiveStatus;
use prescale_autoscale::state::Sample;
use prescale_autoscale::{
    AutoscalerState, Projection, ReplicaComputeResult, linear_trend, predictive_horizon,
};

use super::plan::PaInputs;
use crate::clock::whole_seconds;

/// The projection of every source read now: prescale's seasonal forecast when the
/// controller has one, else AIBrix's (a least-squares line over the stable window, from
/// the memory's samples and this reading).
pub fn projections(
    inputs: &PaInputs<'_>,
    state: &AutoscalerState,
    window: std::time::Duration,
) -> Vec<Projection> {
    let spec = &inputs.pa.spec;
    if spec.predictive.is_none() {
        return vec![];
    }
    let horizon = predictive_horizon(spec);
    spec.metrics_sources
        .iter()
        .zip(inputs.readings)
        .filter_map(|(source, reading)| {
            let reading = reading.as_ref().ok()?;
            if let Some(p) = inputs
                .forecasts
                .iter()
                .find(|p| p.metric == source.target_metric)
            {
                return Some(p.clone());
            }
            let mut samples: Vec<Sample> = state
                .metrics
                .get(&source.target_metric)
                .map(|m| m.samples.clone())
                .unwrap_or_default();
            samples.push(Sample {
                at: inputs.now,
                total: reading.total,
                pods: reading.pods,
            });
            let (observed, predicted) = linear_trend(&samples, inputs.now, window, horizon)?;
            Some(Projection {
                metric: source.target_metric.clone(),
                observed,
                predicted,
            })
        })
        .collect()
}

fn number(v: f64) -> String {
    let rounded = (v * 1000.0).round() / 1000.0;
    format!("{rounded}")
}

pub fn predictive_status(
    result: &ReplicaComputeResult,
    previous: Option<&PredictiveStatus>,
    now: Timestamp,
) -> Option<PredictiveStatus> {
    let p = result.predictive.as_ref()?;
    let mut status = PredictiveStatus {
        mode: Some(p.mode),
        metric: Some(p.metric.clone()),
        observed_value: Some(number(p.observed)),
        predicted_value: Some(number(p.predicted)),
        predicted_replicas: Some(p.predicted_replicas as i32),
        reactive_replicas: Some(p.reactive_replicas as i32),
        would_be_replicas: Some(p.would_be_replicas as i32),
        last_updated: None,
    };
    let unchanged = previous.is_some_and(|old| {
        old.predicted_value == status.predicted_value && old.metric == status.metric
    });
    status.last_updated = match (unchanged, previous) {
        (true, Some(old)) => old.last_updated.clone(),
        _ => Some(Time(whole_seconds(now))),
    };
    Some(status)
}

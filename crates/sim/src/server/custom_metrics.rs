//! The custom and external metrics APIs, as an adapter (prometheus-adapter, KEDA) serves
//! them, so that an HPA's Pods and External metrics can be read the way a cluster offers
//! them:
//!
//! - `GET /apis/custom.metrics.k8s.io/v1beta2/namespaces/{ns}/pods/*/{metric}?labelSelector=…`:
//!   every ready pod matching the selector with its value of a pod gauge of the load
//!   model (`cluster::pod_metrics`: `requests_in_flight`, `vllm:num_requests_running`, …;
//!   any pod, whether or not it serves an endpoint);
//! - `GET /apis/external.metrics.k8s.io/v1beta1/namespaces/{ns}/{metric}`: the value a
//!   test set with `Sim::set_external_metric`.
//!
//! Anything else under these groups is a 404, as on a cluster whose adapter does not
//! serve it.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::request::Query;
use super::{ApiError, Sim, json_response};
use crate::cluster::pod_metrics::{capacity_of, gauges};
use crate::selector::LabelSelector;
use crate::store::name_of;

const CUSTOM: &str = "/apis/custom.metrics.k8s.io/v1beta2/namespaces/";
const EXTERNAL: &str = "/apis/external.metrics.k8s.io/v1beta1/namespaces/";

/// The answer to `path` when it is one of the metrics APIs; `None` otherwise.
pub fn serve(sim: &Arc<Sim>, path: &str, query: &Query) -> Option<Response> {
    if let Some(rest) = path.strip_prefix(CUSTOM) {
        return Some(pods_metric(sim, rest, query).unwrap_or_else(|e| e.into_response()));
    }
    let rest = path.strip_prefix(EXTERNAL)?;
    Some(external_metric(sim, rest).unwrap_or_else(|e| e.into_response()))
}

fn value_list(api_version: &str, items: Vec<Value>) -> Response {
    json_response(
        StatusCode::OK,
        &json!({"kind": "MetricValueList", "apiVersion": api_version, "metadata": {}, "items": items}),
    )
}

/// A pod gauge of the load model, by its metric name.
fn gauge(metric: &str, d: f64, capacity: f64) -> Option<f64> {
    let g = gauges(d, capacity);
    match metric {
        "requests_in_flight" => Some(g.in_flight),
        "vllm:num_requests_running" => Some(g.running),
        "vllm:num_requests_waiting" => Some(g.waiting),
        "vllm:gpu_cache_usage_perc" | "vllm:kv_cache_usage_perc" => Some(g.cache_usage),
        _ => None,
    }
}

fn pods_metric(sim: &Arc<Sim>, rest: &str, query: &Query) -> Result<Response, ApiError> {
    let parts: Vec<&str> = rest.split('/').collect();
    let [ns, "pods", "*", metric] = parts.as_slice() else {
        return Err(ApiError::not_found("custom.metrics.k8s.io", rest));
    };
    if gauge(metric, 0.0, 1.0).is_none() {
        return Err(ApiError::not_found("custom.metrics.k8s.io", metric));
    }
    let labels =
        LabelSelector::parse(&query.label_selector).map_err(|e| ApiError::bad_request(&e))?;
    let demand = sim.usage().demand.clone();
    let now = sim.clock.rfc3339();
    let pods = sim
        .store()
        .list(&("".to_string(), "pods".to_string()), Some(ns));
    let items = pods
        .iter()
        .filter(|p| labels.matches(p))
        .filter_map(|p| {
            let name = name_of(p)?;
            let d = demand.get(&(ns.to_string(), name.clone()))?;
            let v = gauge(metric, *d, capacity_of(p))?;
            Some(json!({
                "describedObject": {"kind": "Pod", "namespace": ns, "name": name, "apiVersion": "/v1"},
                "metric": {"name": metric},
                "timestamp": now, "windowSeconds": 15,
                "value": format!("{}m", (v * 1000.0).round() as i64),
            }))
        })
        .collect();
    Ok(value_list("custom.metrics.k8s.io/v1beta2", items))
}

fn external_metric(sim: &Arc<Sim>, rest: &str) -> Result<Response, ApiError> {
    let parts: Vec<&str> = rest.split('/').collect();
    let [ns, metric] = parts.as_slice() else {
        return Err(ApiError::not_found("external.metrics.k8s.io", rest));
    };
    let value = sim
        .external_metric(ns, metric)
        .ok_or_else(|| ApiError::not_found("external.metrics.k8s.io", metric))?;
    let now = sim.clock.rfc3339();
    Ok(value_list(
        "external.metrics.k8s.io/v1beta1",
        vec![json!({
            "metricName": metric, "metricLabels": {}, "timestamp": now,
            "value": format!("{}m", (value * 1000.0).round() as i64),
        })],
    ))
}

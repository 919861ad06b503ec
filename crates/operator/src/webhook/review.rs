//! The webhook endpoints: AdmissionReview v1 in, AdmissionReview out. Each answer is
//! decided from the cache alone (no request to the API server on this path) and counted in
//! `prescale_webhook_requests_total{webhook, outcome}` and timed in
//! `prescale_webhook_duration_seconds{webhook}`; a review that cannot be read is answered
//! 400 and counted in `prescale_webhook_errors_total`.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use k8s_openapi::api::core::v1::Pod;
use kube::core::DynamicObject;
use kube::core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview};

use super::pod::{Covering, PodDecision, decide};
use super::pod_inputs::{target_of, workload_of_new_pod};
use super::scale::{ScaleDecision, decide_scale};
use super::{MUTATE_PODS_PATH, MUTATE_SCALE_PATH, VALIDATE_PATH};
use crate::cache::Cache;
use crate::clock::Clock;
use crate::http::Shared;
use crate::metrics::{WebhookLabels, WebhookName};

/// What the endpoints read.
pub struct WebhookState {
    pub cache: Arc<Cache>,
    pub shared: Arc<Shared>,
    pub clock: Arc<dyn Clock>,
}

pub fn router(state: Arc<WebhookState>) -> Router {
    Router::new()
        .route(MUTATE_PODS_PATH, post(mutate_pods))
        .route(MUTATE_SCALE_PATH, post(mutate_scale))
        .route(VALIDATE_PATH, post(validate))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(state)
}

/// Reads a review; a body that is not one is answered 400 and counted.
fn read<K: kube::Resource + serde::de::DeserializeOwned>(
    state: &WebhookState,
    webhook: &str,
    body: &[u8],
) -> Result<AdmissionRequest<K>, Box<Response>> {
    serde_json::from_slice::<AdmissionReview<K>>(body)
        .map_err(|e| e.to_string())
        .and_then(|r| {
            r.try_into()
                .map_err(|e: kube::core::admission::ConvertAdmissionReviewError| e.to_string())
        })
        .map_err(|e| {
            state
                .shared
                .metrics
                .webhook_errors
                .get_or_create(&WebhookName {
                    webhook: webhook.into(),
                })
                .inc();
            Box::new(
                (
                    StatusCode::BAD_REQUEST,
                    format!("not an AdmissionReview v1 request: {e}"),
                )
                    .into_response(),
            )
        })
}

fn answer(
    state: &WebhookState,
    webhook: &str,
    outcome: &str,
    started: Instant,
    response: AdmissionResponse,
) -> Response {
    let m = &state.shared.metrics;
    m.webhook_requests
        .get_or_create(&WebhookLabels {
            webhook: webhook.into(),
            outcome: outcome.into(),
        })
        .inc();
    m.webhook_duration
        .get_or_create(&WebhookName {
            webhook: webhook.into(),
        })
        .observe(started.elapsed().as_secs_f64());
    axum::Json(response.into_review()).into_response()
}

async fn mutate_pods(State(state): State<Arc<WebhookState>>, body: Bytes) -> Response {
    let started = Instant::now();
    let req = match read::<Pod>(&state, "pods", &body) {
        Ok(r) => r,
        Err(response) => return *response,
    };
    let response = AdmissionResponse::from(&req);
    let Some(pod) = &req.object else {
        return answer(&state, "pods", "allowed", started, response);
    };
    let namespace = req.namespace.clone().unwrap_or_default();
    let workload = workload_of_new_pod(&state.cache, &namespace, pod);
    let target = workload
        .as_ref()
        .and_then(|w| target_of(&state.cache, &namespace, w));
    let covering = workload.as_ref().map(|w| Covering {
        workload: w,
        target: target.as_deref(),
    });
    let decision = decide(pod, covering, state.cache.pause().paused, state.clock.now());
    match decision {
        PodDecision::Mutate { patch, containers } => match response.clone().with_patch(patch) {
            Ok(patched) => {
                state
                    .shared
                    .metrics
                    .webhook_mutations
                    .inc_by(containers as u64);
                answer(&state, "pods", "mutated", started, patched)
            }
            Err(e) => {
                tracing::warn!(error = %e, "the pod patch could not be serialised; admitted unchanged");
                answer(&state, "pods", "invalid", started, response)
            }
        },
        PodDecision::Unchanged(skip) => {
            if let super::pod::Skip::Invalid(why) = &skip {
                tracing::warn!(namespace = %namespace, why = %why, "pod admitted unchanged");
            }
            answer(&state, "pods", skip.reason(), started, response)
        }
    }
}

/// `spec.replicas` of a Scale object as the review carries it.
fn scale_replicas(o: &Option<DynamicObject>) -> Option<i32> {
    let r = o.as_ref()?.data["spec"]["replicas"].as_i64()?;
    i32::try_from(r).ok()
}

async fn mutate_scale(State(state): State<Arc<WebhookState>>, body: Bytes) -> Response {
    let started = Instant::now();
    let req = match read::<DynamicObject>(&state, "scale", &body) {
        Ok(r) => r,
        Err(response) => return *response,
    };
    let response = AdmissionResponse::from(&req);
    let kind = crate::workload::Kind::by_resource(&req.resource.group, &req.resource.resource);
    let (Some(kind), Some(replicas)) = (kind, scale_replicas(&req.object)) else {
        return answer(&state, "scale", "no_workload", started, response);
    };
    let namespace = req.namespace.clone().unwrap_or_default();
    let workload = crate::collector::owners::WorkloadRef {
        kind: kind.kind.clone(),
        name: req.name.clone(),
    };
    let target = target_of(&state.cache, &namespace, &workload);
    let decision = decide_scale(
        replicas,
        scale_replicas(&req.old_object),
        (&workload.kind, &workload.name),
        target.as_deref(),
        state.cache.pause().paused,
        state.clock.now(),
    );
    match decision {
        ScaleDecision::Raise { from, to } => {
            let patch = serde_json::from_value::<json_patch::Patch>(serde_json::json!([
                {"op": "replace", "path": "/spec/replicas", "value": to}
            ]));
            match patch
                .map_err(|e| e.to_string())
                .and_then(|p| response.clone().with_patch(p).map_err(|e| e.to_string()))
            {
                Ok(patched) => {
                    tracing::info!(namespace = %namespace, workload = %format!("{}/{}", workload.kind, workload.name),
                        from, to, "scale write below the replica floor raised");
                    answer(&state, "scale", "raised", started, patched)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the scale patch could not be built; admitted unchanged");
                    answer(&state, "scale", "invalid", started, response)
                }
            }
        }
        ScaleDecision::Unchanged(skip) => answer(&state, "scale", skip.reason(), started, response),
    }
}

async fn validate(State(state): State<Arc<WebhookState>>, body: Bytes) -> Response {
    let started = Instant::now();
    let req = match read::<DynamicObject>(&state, "validate", &body) {
        Ok(r) => r,
        Err(response) => return *response,
    };
    let response = AdmissionResponse::from(&req);
    let as_value =
        |o: &Option<DynamicObject>| o.as_ref().and_then(|o| serde_json::to_value(o).ok());
    let Some(object) = as_value(&req.object) else {
        return answer(&state, "validate", "allowed", started, response);
    };
    match super::validate::check(&object, as_value(&req.old_object).as_ref()) {
        Ok(()) => answer(&state, "validate", "allowed", started, response),
        Err(problems) => answer(
            &state,
            "validate",
            "denied",
            started,
            response.deny(problems),
        ),
    }
}

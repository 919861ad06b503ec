//! The JSON API behind the pages (docs/DASHBOARD.md). Reads are open like the pages;
//! `POST /api/v1/pause` needs `Authorization: Bearer <token>` (cookies are ignored here,
//! so no CSRF check is needed: a browser cannot attach that header cross-site without a
//! CORS preflight, which this server never grants).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;

use super::Dashboard;
use super::auth::{self, Refusal};
use super::model::{self, TableQuery};

pub fn router() -> Router<Arc<Dashboard>> {
    Router::new()
        .route("/api/v1/overview", get(overview))
        .route("/api/v1/targets", get(targets))
        .route("/api/v1/targets/{namespace}/{name}", get(target))
        .route("/api/v1/pause", get(pause_state).post(set_pause))
}

fn error(code: StatusCode, reason: &str, message: &str) -> Response {
    (code, Json(json!({"error": reason, "message": message}))).into_response()
}

async fn overview(State(d): State<Arc<Dashboard>>) -> Response {
    let o = tokio::task::spawn_blocking(move || d.overview(&d.rows())).await;
    match o {
        Ok(o) => Json(o).into_response(),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal",
            &e.to_string(),
        ),
    }
}

async fn targets(State(d): State<Arc<Dashboard>>, Query(q): Query<TableQuery>) -> Response {
    let body = tokio::task::spawn_blocking(move || {
        let rows = d.rows();
        serde_json::to_value(model::page(&rows, &q)).unwrap_or_default()
    })
    .await;
    match body {
        Ok(v) => Json(v).into_response(),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal",
            &e.to_string(),
        ),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Hours {
    hours: Option<i64>,
}

async fn target(
    State(d): State<Arc<Dashboard>>,
    Path((namespace, name)): Path<(String, String)>,
    Query(h): Query<Hours>,
) -> Response {
    let (ns, n) = (namespace.clone(), name.clone());
    let found = tokio::task::spawn_blocking(move || d.detail(&ns, &n, h.hours.unwrap_or(24)))
        .await
        .ok()
        .flatten();
    match found {
        Some(detail) => Json(detail).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("there is no AIScaleTarget {namespace}/{name} in the operator's scope"),
        ),
    }
}

async fn pause_state(State(d): State<Arc<Dashboard>>) -> Response {
    let p = d.cache.pause();
    Json(json!({"paused": p.paused, "problem": p.problem, "affectedTargets": d.affected()}))
        .into_response()
}

#[derive(Debug, Deserialize)]
struct SetPause {
    paused: bool,
}

async fn set_pause(
    State(d): State<Arc<Dashboard>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let Some(token) = auth::bearer(&headers) else {
        let r = Refusal::Unauthenticated(
            "POST /api/v1/pause needs `Authorization: Bearer <token>` (a Kubernetes token, e.g. from `kubectl create token`)".into(),
        );
        return error(r.status(), "Unauthorized", r.message());
    };
    let want: SetPause = match serde_json::from_slice(&body) {
        Ok(w) => w,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                &format!("the body must be {{\"paused\": true|false}}: {e}"),
            );
        }
    };
    match d.set_paused(&token, want.paused).await {
        Ok(user) => {
            Json(json!({"paused": want.paused, "affectedTargets": d.affected(), "by": user}))
                .into_response()
        }
        Err(r) => {
            let reason = match r {
                Refusal::Unauthenticated(_) => "Unauthorized",
                Refusal::Forbidden(_) => "Forbidden",
                Refusal::Unavailable(_) => "Unavailable",
            };
            error(r.status(), reason, r.message())
        }
    }
}

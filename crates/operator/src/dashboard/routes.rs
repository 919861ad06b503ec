//! The HTTP surface: the pages (`GET /`, `/targets`, `/targets/{ns}/{name}`), the
//! browser's writes (`POST /manage/pause|resume`, CSRF-checked) and the JSON API (`api`).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::Dashboard;
use super::auth::{self, CSRF_COOKIE, Refusal, SESSION_COOKIE};
use super::html::{self, Flyout, Frame, Nav};
use super::model::{self, TableQuery};

pub fn router(d: Arc<Dashboard>) -> Router {
    Router::new()
        .route("/", get(overview))
        .route("/targets", get(targets))
        .route("/targets/{namespace}/{name}", get(target))
        .route("/manage/pause", post(pause))
        .route("/manage/resume", post(resume))
        .merge(super::api::router())
        .with_state(d)
}

/// The `?manage=pause|resume` and `?hours=` parameters any page takes.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PageParams {
    manage: String,
    hours: Option<i64>,
}

/// Renders a page in the frame, setting the CSRF cookie when the browser has none.
fn respond(
    d: &Dashboard,
    headers: &HeaderMap,
    uri: &Uri,
    title: &str,
    nav: Nav,
    manage: &str,
    body: &str,
) -> Response {
    let existing = auth::cookie(headers, CSRF_COOKIE).filter(|c| c.len() == 64);
    let csrf = existing.clone().unwrap_or_else(auth::random_token);
    let pause = d.cache.pause();
    let flyout = match manage {
        "pause" | "resume" => Some(Flyout {
            pause: manage == "pause",
            affected: d.affected(),
        }),
        _ => None,
    };
    let signed_in =
        auth::cookie(headers, SESSION_COOKIE).is_some_and(|s| d.sessions.token(&s).is_some());
    let here = uri.path_and_query().map_or("/", |p| p.as_str());
    let frame = Frame {
        title,
        nav,
        paused: pause.paused,
        pause_problem: pause.problem.as_deref(),
        here,
        flyout,
        csrf: &csrf,
        signed_in,
    };
    let mut resp = (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html::page(&frame, body),
    )
        .into_response();
    if existing.is_none()
        && let Ok(v) = HeaderValue::from_str(&format!(
            "{CSRF_COOKIE}={csrf}; Path=/; SameSite=Strict; HttpOnly"
        ))
    {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

async fn overview(
    State(d): State<Arc<Dashboard>>,
    headers: HeaderMap,
    uri: Uri,
    Query(p): Query<PageParams>,
) -> Response {
    let d2 = d.clone();
    let body =
        tokio::task::spawn_blocking(move || super::pages::overview(&d2.overview(&d2.rows())))
            .await
            .unwrap_or_default();
    respond(
        &d,
        &headers,
        &uri,
        "Overview",
        Nav::Overview,
        &p.manage,
        &body,
    )
}

async fn targets(
    State(d): State<Arc<Dashboard>>,
    headers: HeaderMap,
    uri: Uri,
    // Two extractions of one query string: `serde(flatten)` would read `desc` and `page`
    // as strings and refuse them.
    Query(p): Query<PageParams>,
    Query(q): Query<TableQuery>,
) -> Response {
    let d2 = d.clone();
    let body = tokio::task::spawn_blocking(move || {
        let rows = d2.rows();
        super::pages::targets(&model::page(&rows, &q), &q)
    })
    .await
    .unwrap_or_default();
    respond(
        &d,
        &headers,
        &uri,
        "Targets",
        Nav::Targets,
        &p.manage,
        &body,
    )
}

async fn target(
    State(d): State<Arc<Dashboard>>,
    headers: HeaderMap,
    uri: Uri,
    Path((namespace, name)): Path<(String, String)>,
    Query(p): Query<PageParams>,
) -> Response {
    let d2 = d.clone();
    let (ns, n) = (namespace.clone(), name.clone());
    let detail = tokio::task::spawn_blocking(move || d2.detail(&ns, &n, p.hours.unwrap_or(24)))
        .await
        .ok()
        .flatten();
    match detail {
        Some(detail) => {
            let title = format!("{namespace}/{name}");
            respond(
                &d,
                &headers,
                &uri,
                &title,
                Nav::Targets,
                &p.manage,
                &super::detail::page(&detail),
            )
        }
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html::error_page(
                "404 — no such AIScaleTarget",
                &format!("there is no AIScaleTarget {namespace}/{name} in the operator's scope"),
            ),
        )
            .into_response(),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WriteForm {
    csrf: String,
    token: String,
    back: String,
}

async fn pause(
    State(d): State<Arc<Dashboard>>,
    headers: HeaderMap,
    Form(f): Form<WriteForm>,
) -> Response {
    write(&d, &headers, f, true).await
}

async fn resume(
    State(d): State<Arc<Dashboard>>,
    headers: HeaderMap,
    Form(f): Form<WriteForm>,
) -> Response {
    write(&d, &headers, f, false).await
}

/// A browser's pause or resume: CSRF first, then the token typed into the flyout or the
/// session's, reviewed by Kubernetes; success opens (or keeps) the session and returns to
/// the page the flyout was opened on.
async fn write(d: &Dashboard, headers: &HeaderMap, f: WriteForm, paused: bool) -> Response {
    if !auth::csrf_ok(headers, &f.csrf) {
        return refused(&Refusal::Forbidden(
            "the form's CSRF token does not match this browser's cookie; reload the page and try again".into(),
        ));
    }
    let session = auth::cookie(headers, SESSION_COOKIE);
    let token = if f.token.trim().is_empty() {
        session
            .as_deref()
            .and_then(|s| d.sessions.token(s))
            .unwrap_or_default()
    } else {
        f.token.trim().to_string()
    };
    match d.set_paused(&token, paused).await {
        Ok(_) => {
            let back = if f.back.starts_with('/') && !f.back.starts_with("//") {
                f.back
            } else {
                "/".into()
            };
            let mut resp = (StatusCode::SEE_OTHER, [(header::LOCATION, back)]).into_response();
            if !f.token.trim().is_empty() {
                if let Some(old) = &session {
                    d.sessions.close(old);
                }
                let id = d.sessions.open(token);
                if let Ok(v) = HeaderValue::from_str(&format!(
                    "{SESSION_COOKIE}={id}; Path=/; SameSite=Strict; HttpOnly"
                )) {
                    resp.headers_mut().append(header::SET_COOKIE, v);
                }
            }
            resp
        }
        Err(r) => refused(&r),
    }
}

fn refused(r: &Refusal) -> Response {
    (
        r.status(),
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html::error_page(r.title(), r.message()),
    )
        .into_response()
}

//! The HTTP face of the simulated API server: Kubernetes REST paths mapped onto the store.

mod admission;
mod custom_metrics;
mod discovery;
mod paging;
pub mod protobuf;
mod request;
pub mod request_log;
pub mod review;
mod state;
mod subresource;
mod table;
mod watch;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::patch::{PatchType, apply_patch};
use crate::selector::{FieldSelector, LabelSelector};
use crate::store::{Part, Propagation};
use request::{Query, Target, decode_body, parse_path};
pub use state::{ContainerUsage, Sim, Usage};

pub fn router(sim: Arc<Sim>) -> Router {
    Router::new().fallback(handle).with_state(sim)
}

pub(crate) fn json_response(code: StatusCode, body: &Value) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_response(
            StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            &self.status(),
        )
    }
}

async fn handle(State(sim): State<Arc<Sim>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, 64 * 1024 * 1024).await {
        Ok(b) => b,
        Err(e) => return ApiError::bad_request(&format!("reading the body: {e}")).into_response(),
    };
    let query = Query::parse(parts.uri.query().unwrap_or_default());
    let path = parts.uri.path().trim_end_matches('/').to_string();
    if let Some(log) = sim
        .request_log
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_mut()
    {
        let agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        log.extend(request_log::record(
            &parts.method,
            &path,
            query.watch,
            agent,
        ));
    }
    if let Some(resp) = discovery::serve(&sim, &path) {
        return resp;
    }
    if let Some(resp) = custom_metrics::serve(&sim, &path, &query) {
        return resp;
    }
    let target = match parse_path(&sim.store(), &path) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let verb = match (&parts.method, &target.name) {
        (&Method::GET, None) if query.watch => "watch",
        (&Method::GET, None) => "list",
        (&Method::GET, Some(_)) => "get",
        (&Method::POST, _) => "create",
        (&Method::PUT, _) => "update",
        (&Method::PATCH, _) => "patch",
        (&Method::DELETE, _) => "delete",
        _ => "other",
    };
    {
        let resource = match &target.sub {
            Some(sub) => format!("{}/{sub}", target.rt.plural),
            None => target.rt.plural.clone(),
        };
        *sim.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((resource, verb.to_string()))
            .or_default() += 1;
    }
    let injection = {
        let faults = sim.faults.lock().unwrap_or_else(|e| e.into_inner());
        crate::faults::decide(
            &faults,
            &target.rt.plural,
            verb,
            target.name.as_deref(),
            rand::random::<f64>,
        )
    };
    if !injection.latency.is_zero() {
        tokio::time::sleep(injection.latency).await;
    }
    if let Some(code) = injection.fail_with {
        let reason = match code {
            429 => "TooManyRequests",
            409 => "Conflict",
            _ => "InternalError",
        };
        return ApiError {
            code,
            reason,
            message: format!("injected fault on {verb} {}", target.rt.plural),
            name: String::new(),
            kind: String::new(),
        }
        .into_response();
    }
    let mut query = query;
    if let Some(cut) = injection.watch_cut_after {
        query.timeout_seconds = Some(
            query
                .timeout_seconds
                .unwrap_or(u64::MAX)
                .min(cut.as_secs().max(1)),
        );
    }
    let accept = parts
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    // A watch streams one type; other responses are re-encoded object by object below.
    let protobuf_ok =
        verb != "watch" || protobuf::supports(&target.rt.api_version(), &target.rt.kind);
    let Some(format) = protobuf::negotiate(accept, protobuf_ok) else {
        return protobuf::not_acceptable(accept.unwrap_or_default());
    };
    let resp = match dispatch(
        &sim,
        &parts.method,
        &parts.headers,
        &query,
        &target,
        &bytes,
        format,
    )
    .await
    {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    };
    if format == protobuf::Format::Protobuf && verb != "watch" {
        return protobuf::respond(resp, accept.unwrap_or_default()).await;
    }
    resp
}

/// Sets the replicas of `group/plural` `namespace/name` through the `scale` subresource's
/// path — admission webhooks on `*/scale` included — as an in-cluster controller (the HPA)
/// writing through the API would.
pub async fn write_scale(
    sim: &Arc<Sim>,
    group: &str,
    plural: &str,
    namespace: &str,
    name: &str,
    replicas: i64,
) -> Result<(), ApiError> {
    let key = (group.to_string(), plural.to_string());
    let t = Target {
        rt: sim.store().rt(&key)?.clone(),
        namespace: Some(namespace.to_string()),
        name: Some(name.to_string()),
        sub: Some("scale".to_string()),
    };
    let current = subresource::scale_of(&sim.store(), &t, namespace, name)?;
    let mut wanted = current.clone();
    wanted["spec"]["replicas"] = json!(replicas);
    let mut r = review(&t, "UPDATE", namespace, name, Some(wanted), Some(current));
    r.kind = Some(("autoscaling", "v1", "Scale"));
    let admitted = admission::admit(sim, r).await?.unwrap_or_default();
    subresource::serve(sim, &Method::PUT, &t, Ok(admitted)).map(drop)
}

/// Creates `obj` in `namespace` as a client's POST would: through admission (mutating,
/// then validating webhooks), then into the store. The cluster's controllers create pods
/// this way.
pub async fn create_object(
    sim: &Arc<Sim>,
    group: &str,
    plural: &str,
    namespace: &str,
    obj: Value,
) -> Result<Value, ApiError> {
    let key = (group.to_string(), plural.to_string());
    let t = Target {
        rt: sim.store().rt(&key)?.clone(),
        namespace: Some(namespace.to_string()),
        name: None,
        sub: None,
    };
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let admitted = admission::admit(sim, review(&t, "CREATE", namespace, &name, Some(obj), None))
        .await?
        .unwrap_or_default();
    sim.store().create(&key, namespace, admitted)
}

fn review<'a>(
    t: &'a Target,
    operation: &'static str,
    namespace: &'a str,
    name: &'a str,
    object: Option<Value>,
    old: Option<Value>,
) -> admission::Review<'a> {
    admission::Review {
        operation,
        rt: &t.rt,
        sub: t.sub.as_deref(),
        namespace,
        name,
        object,
        old,
        kind: None,
    }
}

/// Admission webhooks, then the checks the API server makes of the admitted object
/// (`crd_cost` for CRDs). In-process writes to the store skip both, as they skip HTTP.
async fn admit(sim: &Arc<Sim>, r: admission::Review<'_>) -> Result<Option<Value>, ApiError> {
    let crd = r.rt.kind == "CustomResourceDefinition" && r.sub.is_none();
    let name = r.name.to_string();
    let admitted = admission::admit(sim, r).await?;
    if let Some(obj) = admitted.as_ref().filter(|_| crd) {
        crate::crd_cost::refuse(obj, &name)?;
    }
    Ok(admitted)
}

/// Admits and stores a new object, answering 201 with it. A dry run (`dryRun=All`) stores
/// nothing and answers with the admitted object, checked for a clash of names, its
/// namespace and creation time filled in.
async fn create(
    sim: &Arc<Sim>,
    t: &Target,
    ns: &str,
    name: &str,
    obj: Value,
    dry_run: bool,
) -> Result<Response, ApiError> {
    let mut obj = admit(sim, review(t, "CREATE", ns, name, Some(obj), None))
        .await?
        .unwrap_or_default();
    let created = if dry_run {
        if sim.store().get(&t.rt.key(), ns, name).is_ok() {
            return Err(ApiError::already_exists(&t.rt.plural, name));
        }
        if t.rt.namespaced {
            obj["metadata"]["namespace"] = json!(ns);
        }
        obj["metadata"]["creationTimestamp"] = json!(sim.clock.rfc3339());
        obj
    } else {
        sim.store().create(&t.rt.key(), ns, obj)?
    };
    Ok(json_response(StatusCode::CREATED, &created))
}

fn wants_table(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("as=Table"))
}

async fn dispatch(
    sim: &Arc<Sim>,
    method: &Method,
    headers: &HeaderMap,
    query: &Query,
    t: &Target,
    bytes: &Bytes,
    format: protobuf::Format,
) -> Result<Response, ApiError> {
    let key = t.rt.key();
    let ns = t.namespace.clone().unwrap_or_default();
    if t.rt.group == "metrics.k8s.io" {
        return subresource::metrics(sim, t, query);
    }
    if let Some(answer) = review::serve(sim, method, t, headers, bytes) {
        return answer;
    }
    match (method, &t.name, t.sub.as_deref()) {
        (&Method::GET, None, None) if query.watch => {
            watch::serve(sim.clone(), t, query, wants_table(headers), format)
        }
        (&Method::GET, None, None) => {
            let labels = LabelSelector::parse(&query.label_selector)
                .map_err(|e| ApiError::bad_request(&e))?;
            let fields = FieldSelector::parse(&query.field_selector)
                .map_err(|e| ApiError::bad_request(&e))?;
            let store = sim.store();
            let items: Vec<Value> = store
                .list(&key, t.namespace.as_deref())
                .into_iter()
                .filter(|o| labels.matches(o) && fields.matches(o))
                .collect();
            let rv = store.resource_version().to_string();
            drop(store);
            let page = paging::page(items, &rv, query.limit, query.continue_token.as_deref())
                .map_err(|e| ApiError::bad_request(&e))?;
            let mut list = if wants_table(headers) {
                table::table(&t.rt, &page.items, &sim.clock, &page.resource_version)
            } else {
                json!({
                    "kind": format!("{}List", t.rt.kind),
                    "apiVersion": t.rt.api_version(),
                    "metadata": {"resourceVersion": page.resource_version},
                    "items": page.items,
                })
            };
            if let Some(next) = page.next {
                list["metadata"]["continue"] = json!(next);
                list["metadata"]["remainingItemCount"] = json!(page.remaining);
            }
            Ok(json_response(StatusCode::OK, &list))
        }
        (&Method::GET, Some(name), None | Some("status")) => {
            let obj = sim.store().get(&key, &ns, name)?;
            if wants_table(headers) {
                let rv = sim.store().resource_version().to_string();
                return Ok(json_response(
                    StatusCode::OK,
                    &table::table(&t.rt, &[obj], &sim.clock, &rv),
                ));
            }
            Ok(json_response(StatusCode::OK, &obj))
        }
        (&Method::POST, None, None) => {
            let obj = decode_body(bytes, headers)?;
            let ns = if ns.is_empty() {
                obj.pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    .unwrap_or("default")
                    .to_string()
            } else {
                ns
            };
            let name = obj
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            create(sim, t, &ns, &name, obj, query.dry_run).await
        }
        (&Method::PUT | &Method::PATCH, Some(name), Some("scale")) => {
            // The new Scale goes through admission (`*/scale` webhooks) before it is applied.
            let body = decode_body(bytes, headers)?;
            let current = subresource::scale_of(&sim.store(), t, &ns, name)?;
            let wanted = if method == Method::PATCH {
                // A JSON patch's failed `test` is a 422, as the real server answers it.
                let ct = headers
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                let kind = PatchType::from_content_type(ct).unwrap_or(PatchType::Merge);
                apply_patch(&current, &body, kind).map_err(|m| match kind {
                    PatchType::Json => ApiError::invalid("Scale", name, &m),
                    _ => ApiError::bad_request(&m),
                })?
            } else {
                body
            };
            let mut r = review(t, "UPDATE", &ns, name, Some(wanted), Some(current));
            r.kind = Some(("autoscaling", "v1", "Scale"));
            let admitted = admission::admit(sim, r).await?.unwrap_or_default();
            subresource::serve(sim, &Method::PUT, t, Ok(admitted))
        }
        (_, Some(_), Some("scale" | "eviction" | "resize")) => {
            subresource::serve(sim, method, t, decode_body(bytes, headers))
        }
        (&Method::PUT, Some(name), sub) => {
            let part = if sub == Some("status") {
                Part::Status
            } else {
                Part::Main
            };
            let obj = decode_body(bytes, headers)?;
            let old = sim.store().get(&key, &ns, name).ok();
            let obj = admit(sim, review(t, "UPDATE", &ns, name, Some(obj), old))
                .await?
                .unwrap_or_default();
            let updated = if query.dry_run {
                obj
            } else {
                sim.store().update(&key, &ns, name, obj, part)?
            };
            Ok(json_response(StatusCode::OK, &updated))
        }
        (&Method::PATCH, Some(name), sub) => {
            let ct = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let kind = PatchType::from_content_type(ct).ok_or_else(|| ApiError {
                code: 415,
                ..ApiError::bad_request(&format!("unsupported patch type {ct:?}"))
            })?;
            let patch = decode_body(bytes, headers)?;
            let part = if sub == Some("status") {
                Part::Status
            } else {
                Part::Main
            };
            let found = sim.store().get(&key, &ns, name);
            let current = match found {
                Ok(obj) => obj,
                // Apply creates a missing object — but not through a subresource: a real
                // API server answers 404 there.
                Err(e) if e.code == 404 && kind == PatchType::Apply && sub.is_none() => {
                    // The real API server authorises such an apply as a create as well.
                    sim.log_also(request_log::RequestRecord {
                        user_agent: headers
                            .get(header::USER_AGENT)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_string(),
                        verb: "create".into(),
                        group: t.rt.group.clone(),
                        resource: t.rt.plural.clone(),
                        name: Some(name.to_string()),
                        subresource: None,
                        namespace: (!ns.is_empty()).then(|| ns.clone()),
                    });
                    return create(sim, t, &ns, name, patch, query.dry_run).await;
                }
                Err(e) => return Err(e),
            };
            let mut patched = apply_patch(&current, &patch, kind)
                .map_err(|m| ApiError::invalid(&t.rt.kind, name, &m))?;
            // A patch without a resourceVersion applies to whatever is current.
            if patch.pointer("/metadata/resourceVersion").is_none() {
                patched["metadata"]["resourceVersion"] =
                    current["metadata"]["resourceVersion"].clone();
            }
            let patched = admit(
                sim,
                review(t, "UPDATE", &ns, name, Some(patched), Some(current)),
            )
            .await?
            .unwrap_or_default();
            let updated = if query.dry_run {
                patched
            } else {
                sim.store().update(&key, &ns, name, patched, part)?
            };
            Ok(json_response(StatusCode::OK, &updated))
        }
        (&Method::DELETE, Some(name), None) => {
            // DeleteOptions, in JSON or (from kubectl) protobuf; an empty body is none.
            let options = if bytes.is_empty() {
                Value::Null
            } else {
                decode_body(bytes, headers)?
            };
            let policy = options
                .get("propagationPolicy")
                .and_then(Value::as_str)
                .map(String::from)
                .or_else(|| query.propagation_policy.clone());
            let propagation = match policy.as_deref() {
                Some("Foreground") => Propagation::Foreground,
                Some("Orphan") => Propagation::Orphan,
                _ => Propagation::Background,
            };
            let old = sim.store().get(&key, &ns, name)?;
            admit(sim, review(t, "DELETE", &ns, name, None, Some(old))).await?;
            let deleted = if query.dry_run {
                sim.store().get(&key, &ns, name)?
            } else {
                sim.store().delete(&key, &ns, name, propagation)?
            };
            Ok(json_response(StatusCode::OK, &deleted))
        }
        (&Method::DELETE, None, None) => {
            let labels = LabelSelector::parse(&query.label_selector)
                .map_err(|e| ApiError::bad_request(&e))?;
            let mut store = sim.store();
            let names: Vec<(String, String)> = store
                .list(&key, t.namespace.as_deref())
                .iter()
                .filter(|o| labels.matches(o))
                .map(|o| {
                    let get = |f: &str| {
                        o.pointer(&format!("/metadata/{f}"))
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string()
                    };
                    (get("namespace"), get("name"))
                })
                .collect();
            let mut items = vec![];
            for (ns, name) in names {
                items.push(if query.dry_run {
                    store.get(&key, &ns, &name)?
                } else {
                    store.delete(&key, &ns, &name, Propagation::Background)?
                });
            }
            Ok(json_response(
                StatusCode::OK,
                &json!({"kind": format!("{}List", t.rt.kind), "apiVersion": t.rt.api_version(), "metadata": {}, "items": items}),
            ))
        }
        _ => Err(ApiError::method_not_allowed(&format!(
            "{method} is not supported on this path"
        ))),
    }
}

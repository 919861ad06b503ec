//! Kubernetes' protobuf encoding of the built-in types (`application/vnd.kubernetes.protobuf`),
//! which kubectl's imperative commands send and some clients ask for.
//!
//! A body is the magic `k8s\0` then a `runtime.Unknown` message: `typeMeta` (apiVersion,
//! kind), `raw` (the object's own message), `contentEncoding`, `contentType`. The object's
//! message is transcoded to and from the JSON the store keeps through a schema table
//! generated from the k8s-pb crate's prost types (field numbers and types) and
//! k8s-openapi's JSON names (`schema.txt`). Custom resources have no protobuf form, as on a
//! real API server.

mod schema;
mod special;
mod wire;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::error::ApiError;

use schema::Schema;
use wire::{Reader, Wire, put_bytes};

pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";
pub const WATCH_MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf;stream=watch";
const MAGIC: &[u8] = b"k8s\0";

/// How a response body is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Protobuf,
}

/// The format an `Accept` header asks for, in its order of preference, as the API server
/// picks it: JSON for `application/json`, YAML or wildcards; protobuf when `protobuf` (the
/// type has a protobuf form); `None` when nothing acceptable is offered (406). Entries
/// asking for a Table (`as=Table`) are left to the table printer.
pub fn negotiate(accept: Option<&str>, protobuf: bool) -> Option<Format> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Some(Format::Json);
    };
    let mut offered = false;
    for entry in accept.split(',') {
        let mut parts = entry.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        if parts.any(|p| p.starts_with("as=")) {
            offered = true;
            continue;
        }
        match media.as_str() {
            "application/json" | "application/yaml" | "application/*" | "*/*" => {
                return Some(Format::Json);
            }
            MEDIA_TYPE if protobuf => return Some(Format::Protobuf),
            _ => {}
        }
    }
    // Only Table requests: the printer answers them in JSON.
    offered.then_some(Format::Json)
}

/// Whether objects of `apiVersion`/`kind` have a protobuf form.
pub fn supports(api_version: &str, kind: &str) -> bool {
    Schema::builtin().message_for(api_version, kind).is_some()
}

/// The JSON object (with `apiVersion` and `kind`) of a protobuf body.
pub fn decode_envelope(body: &[u8]) -> Result<Value, String> {
    let rest = body.strip_prefix(MAGIC).ok_or(
        "a protobuf body must begin with the 4-byte prefix \"k8s\\0\" (a runtime.Unknown envelope)",
    )?;
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
    for item in Reader::new(rest) {
        match item? {
            (1, Wire::Bytes(type_meta)) => {
                for item in Reader::new(type_meta) {
                    match item? {
                        (1, Wire::Bytes(v)) => api_version = String::from_utf8_lossy(v).into(),
                        (2, Wire::Bytes(k)) => kind = String::from_utf8_lossy(k).into(),
                        _ => {}
                    }
                }
            }
            (2, Wire::Bytes(r)) => raw = r,
            (3, Wire::Bytes(enc)) if !enc.is_empty() => {
                return Err(format!(
                    "contentEncoding {:?} is not supported",
                    String::from_utf8_lossy(enc)
                ));
            }
            _ => {}
        }
    }
    let schema = Schema::builtin();
    let message = schema.message_for(&api_version, &kind).ok_or_else(|| {
        format!("{kind} in {api_version} has no protobuf form here; send it as JSON")
    })?;
    let mut obj = wire::decode(schema, message, raw)?;
    obj["apiVersion"] = json!(api_version);
    obj["kind"] = json!(kind);
    Ok(obj)
}

/// `obj` (a JSON object with `apiVersion` and `kind`) as a protobuf body.
pub fn encode_envelope(obj: &Value) -> Result<Vec<u8>, String> {
    let api_version = obj["apiVersion"].as_str().unwrap_or_default();
    let kind = obj["kind"].as_str().unwrap_or_default();
    let schema = Schema::builtin();
    let message = schema
        .message_for(api_version, kind)
        .ok_or_else(|| format!("{kind} in {api_version} has no protobuf form"))?;
    let raw = wire::encode(schema, message, obj)?;
    let mut type_meta = vec![];
    put_bytes(&mut type_meta, 1, api_version.as_bytes());
    put_bytes(&mut type_meta, 2, kind.as_bytes());
    let mut out = MAGIC.to_vec();
    put_bytes(&mut out, 1, &type_meta);
    put_bytes(&mut out, 2, &raw);
    put_bytes(&mut out, 3, b"");
    put_bytes(&mut out, 4, b"");
    Ok(out)
}

/// One frame of a protobuf watch: a 4-byte big-endian length, then a `meta.v1.WatchEvent`
/// (without envelope) whose object is an enveloped protobuf body.
pub fn watch_frame(event_type: &str, obj: &Value) -> Result<Vec<u8>, String> {
    let mut raw_ext = vec![];
    put_bytes(&mut raw_ext, 1, &encode_envelope(obj)?);
    let mut event = vec![];
    put_bytes(&mut event, 1, event_type.as_bytes());
    put_bytes(&mut event, 2, &raw_ext);
    let len = u32::try_from(event.len()).map_err(|_| "watch event over 4 GiB")?;
    let mut out = len.to_be_bytes().to_vec();
    out.extend_from_slice(&event);
    Ok(out)
}

pub fn not_acceptable(accept: &str) -> Response {
    ApiError {
        code: 406,
        reason: "NotAcceptable",
        message: format!(
            "the server was unable to respond with a content type that the client supports (accepted: {accept}); this type is served as application/json"
        ),
        name: String::new(),
        kind: String::new(),
    }
    .into_response()
}

/// A JSON response re-encoded for a client that prefers protobuf: every built-in type has
/// a protobuf form; a custom resource gets 406 unless the client also accepts JSON.
pub async fn respond(resp: Response, accept: &str) -> Response {
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return ApiError::internal("re-reading a response body").into_response();
    };
    let Ok(obj) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, axum::body::Body::from(bytes));
    };
    let kind = |f: &str| obj[f].as_str().unwrap_or_default().to_string();
    if !supports(&kind("apiVersion"), &kind("kind")) {
        if negotiate(Some(accept), false).is_some() {
            return Response::from_parts(parts, axum::body::Body::from(bytes));
        }
        return not_acceptable(accept);
    }
    match encode_envelope(&obj) {
        Ok(b) => {
            parts.headers.insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static(MEDIA_TYPE),
            );
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, axum::body::Body::from(b))
        }
        Err(e) => {
            ApiError::internal(&format!("encoding the response as protobuf: {e}")).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_order_is_honoured() {
        let pb = "application/vnd.kubernetes.protobuf";
        assert_eq!(negotiate(None, true), Some(Format::Json));
        assert_eq!(negotiate(Some(pb), true), Some(Format::Protobuf));
        assert_eq!(negotiate(Some(pb), false), None);
        assert_eq!(
            negotiate(Some(&format!("{pb},application/json")), true),
            Some(Format::Protobuf)
        );
        assert_eq!(
            negotiate(Some(&format!("{pb},application/json")), false),
            Some(Format::Json)
        );
        assert_eq!(
            negotiate(Some(&format!("application/json, {pb}")), true),
            Some(Format::Json)
        );
        assert_eq!(
            negotiate(
                Some("application/json;as=Table;v=v1;g=meta.k8s.io,application/json"),
                true
            ),
            Some(Format::Json)
        );
        assert_eq!(negotiate(Some("text/html"), true), None);
    }

    #[test]
    fn envelope_round_trip_of_a_deployment() {
        let d = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"},
                "creationTimestamp": "2026-11-29T10:00:00Z", "generation": 2},
            "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "web"}},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                    "containers": [{"name": "web", "image": "nginx",
                        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
                        "readinessProbe": {"httpGet": {"path": "/", "port": 8080}}}],
                    "volumes": [{"name": "cfg", "configMap": {"name": "web"}}]}}},
        });
        let b = encode_envelope(&d).unwrap();
        assert!(b.starts_with(MAGIC));
        assert_eq!(decode_envelope(&b).unwrap(), d);
    }

    #[test]
    fn bad_bodies_are_errors_not_panics() {
        assert!(decode_envelope(b"{}").unwrap_err().contains("k8s"));
        assert!(decode_envelope(b"k8s\0\x0a\xff").is_err());
        let mut b = b"k8s\0".to_vec();
        let mut tm = vec![];
        put_bytes(&mut tm, 1, b"thoras.ai/v1");
        put_bytes(&mut tm, 2, b"AIScaleTarget");
        put_bytes(&mut b, 1, &tm);
        assert!(decode_envelope(&b).unwrap_err().contains("JSON"));
    }
}

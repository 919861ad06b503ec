//! Parsing a Kubernetes REST path and its query.

use axum::body::Bytes;
use axum::http::{HeaderMap, header};
use serde_json::Value;

use super::protobuf;
use crate::error::ApiError;
use crate::registry::ResourceType;
use crate::store::Store;

/// What a request path names.
#[derive(Debug, Clone)]
pub struct Target {
    pub rt: ResourceType,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub sub: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Query {
    pub watch: bool,
    pub resource_version: Option<String>,
    pub label_selector: String,
    pub field_selector: String,
    pub timeout_seconds: Option<u64>,
    pub allow_bookmarks: bool,
    pub propagation_policy: Option<String>,
    /// `dryRun=All`: every check, no write.
    pub dry_run: bool,
    /// `limit`: at most this many items per list page (0 or absent: all).
    pub limit: Option<usize>,
    /// `continue`: where the previous page ended (`paging`).
    pub continue_token: Option<String>,
}

impl Query {
    pub fn parse(q: &str) -> Self {
        let mut out = Query::default();
        for (k, v) in form_pairs(q) {
            match k.as_str() {
                "watch" => out.watch = v == "true" || v == "1",
                "resourceVersion" => out.resource_version = Some(v),
                "labelSelector" => out.label_selector = v,
                "fieldSelector" => out.field_selector = v,
                "timeoutSeconds" => out.timeout_seconds = v.parse().ok(),
                "allowWatchBookmarks" => out.allow_bookmarks = v == "true",
                "propagationPolicy" => out.propagation_policy = Some(v),
                "dryRun" => out.dry_run = v == "All",
                "limit" => out.limit = v.parse().ok().filter(|l| *l > 0),
                "continue" => out.continue_token = Some(v).filter(|v| !v.is_empty()),
                _ => {}
            }
        }
        out
    }
}

fn form_pairs(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(
                    std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"),
                    16,
                ) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A request body as JSON: from JSON, YAML or (built-in kinds) protobuf.
pub fn decode_body(bytes: &Bytes, headers: &HeaderMap) -> Result<Value, ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let unsupported = |why: String| ApiError {
        code: 415,
        reason: "UnsupportedMediaType",
        message: format!(
            "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got {ct}: {why})"
        ),
        name: String::new(),
        kind: String::new(),
    };
    if ct.contains("protobuf") {
        // Built-in kinds only: custom resources have no protobuf form (415, as a real
        // server answers; clients then send JSON).
        return protobuf::decode_envelope(bytes).map_err(unsupported);
    }
    if ct.contains("cbor") {
        return Err(unsupported("CBOR is not spoken here".into()));
    }
    if ct.contains("yaml") {
        // JSON is YAML, and what clients send as `apply-patch+yaml` is JSON: read it as
        // such first (a YAML parser takes several times as long over the same bytes).
        if let Ok(value) = serde_json::from_slice(bytes) {
            return Ok(value);
        }
        return serde_saphyr::from_slice(bytes)
            .map_err(|e| ApiError::bad_request(&format!("invalid YAML body: {e}")));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(&format!("invalid JSON body: {e}")))
}

/// `/api/v1/...` or `/apis/<group>/<version>/...` → the resource it names.
pub fn parse_path(store: &Store, path: &str) -> Result<Target, ApiError> {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (group, version, rest) = match segs.as_slice() {
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return Err(ApiError::not_found("", path)),
    };
    let known = |plural: &str| store.find_type(group, version, plural).cloned();
    let (namespace, rest) = match rest {
        ["namespaces", ns, plural, more @ ..] if known(plural).is_some() => {
            (Some(ns.to_string()), {
                let mut v = vec![*plural];
                v.extend_from_slice(more);
                v
            })
        }
        other => (None, other.to_vec()),
    };
    let plural = rest.first().ok_or_else(|| ApiError::not_found("", path))?;
    let rt = known(plural).ok_or_else(|| ApiError::not_found(plural, ""))?;
    Ok(Target {
        rt,
        namespace,
        name: rest.get(1).map(|s| s.to_string()),
        sub: rest.get(2).map(|s| s.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding() {
        let q = Query::parse("labelSelector=app%3Dweb%2Ctier+in+(a)&watch=true&timeoutSeconds=5");
        assert_eq!(q.label_selector, "app=web,tier in (a)");
        assert!(q.watch);
        assert_eq!(q.timeout_seconds, Some(5));
        assert_eq!(decode("100%"), "100%");
    }
}

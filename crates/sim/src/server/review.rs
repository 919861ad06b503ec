//! TokenReview and SubjectAccessReview, as far as a client that checks its callers needs
//! (the operator's dashboard): tokens are registered by the test or `prescale demo`
//! (`Sim::add_token`), never issued by the sim; a SubjectAccessReview is decided by the
//! RBAC objects the sim holds (Roles, ClusterRoles and their bindings: users, groups,
//! ServiceAccounts; verbs, apiGroups, resources, resourceNames, `*`), and the group
//! `system:masters` may do anything, as on a real server. Not modelled: aggregated
//! ClusterRoles, nonResourceURLs, audiences, token expiry.

use std::collections::BTreeMap;

use std::sync::MutexGuard;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::request::{Target, decode_body as decode};
use super::{Sim, json_response};
use crate::error::ApiError;
use crate::store::Store;

impl Sim {
    /// Registers a bearer token for TokenReview: it authenticates as `username` in
    /// `groups` (`system:masters` may do anything; others get what RBAC objects grant).
    pub fn add_token(&self, token: &str, username: &str, groups: &[&str]) {
        self.tokens().insert(
            token.to_string(),
            TokenUser {
                username: username.to_string(),
                groups: groups.iter().map(|g| g.to_string()).collect(),
            },
        );
    }

    fn tokens(&self) -> MutexGuard<'_, Tokens> {
        self.tokens.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Answers a create of a TokenReview or SubjectAccessReview; `None` for other requests.
pub(super) fn serve(
    sim: &Sim,
    method: &Method,
    t: &Target,
    headers: &HeaderMap,
    bytes: &Bytes,
) -> Option<Result<Response, ApiError>> {
    type Answer = fn(&Sim, Value) -> Result<Value, ApiError>;
    if *method != Method::POST || t.sub.is_some() {
        return None;
    }
    let answer: Answer = match (t.rt.group.as_str(), t.rt.plural.as_str()) {
        ("authentication.k8s.io", "tokenreviews") => token_review,
        ("authorization.k8s.io", "subjectaccessreviews") => subject_access_review,
        _ => return None,
    };
    Some(decode(bytes, headers).and_then(|mut body| {
        body["apiVersion"] = json!(format!("{}/{}", t.rt.group, t.rt.version));
        body["kind"] = json!(t.rt.kind);
        Ok(json_response(StatusCode::CREATED, &answer(sim, body)?))
    }))
}

/// The identity behind a registered token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenUser {
    pub username: String,
    pub groups: Vec<String>,
}

/// Answers a TokenReview `body`.
pub fn token_review(sim: &Sim, body: Value) -> Result<Value, ApiError> {
    let token = body["spec"]["token"].as_str().unwrap_or_default();
    let user = sim.tokens().get(token).cloned();
    let status = match user {
        Some(u) => {
            json!({"authenticated": true, "user": {"username": u.username, "groups": u.groups, "uid": ""}})
        }
        None => json!({"authenticated": false, "error": "invalid bearer token"}),
    };
    let mut out = body;
    out["status"] = status;
    Ok(out)
}

fn matches(list: &Value, wanted: &str) -> bool {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .any(|v| v == "*" || v == wanted)
}

fn subject_matches(subject: &Value, user: &str, groups: &[String]) -> bool {
    let name = subject["name"].as_str().unwrap_or_default();
    match subject["kind"].as_str().unwrap_or_default() {
        "User" => name == user,
        "Group" => groups.iter().any(|g| g == name),
        "ServiceAccount" => {
            let ns = subject["namespace"].as_str().unwrap_or_default();
            user == format!("system:serviceaccount:{ns}:{name}")
        }
        _ => false,
    }
}

/// What a SubjectAccessReview asks.
struct Ask<'a> {
    user: &'a str,
    groups: Vec<String>,
    namespace: &'a str,
    verb: &'a str,
    group: &'a str,
    resource: String,
    name: &'a str,
}

fn rule_allows(rule: &Value, a: &Ask<'_>) -> bool {
    matches(&rule["verbs"], a.verb)
        && matches(&rule["apiGroups"], a.group)
        && matches(&rule["resources"], &a.resource)
        && (rule["resourceNames"]
            .as_array()
            .is_none_or(|n| n.is_empty())
            || (!a.name.is_empty() && matches(&rule["resourceNames"], a.name)))
}

/// The rules of the role a binding refers to (a RoleBinding may name a ClusterRole).
fn role_rules(store: &Store, binding: &Value, namespace: &str) -> Vec<Value> {
    let role_name = binding["roleRef"]["name"].as_str().unwrap_or_default();
    let role = match binding["roleRef"]["kind"].as_str() {
        Some("ClusterRole") => store.get(&rbac("clusterroles"), "", role_name),
        _ => store.get(&rbac("roles"), namespace, role_name),
    };
    role.ok()
        .and_then(|r| r["rules"].as_array().cloned())
        .unwrap_or_default()
}

fn rbac(plural: &str) -> (String, String) {
    ("rbac.authorization.k8s.io".into(), plural.into())
}

fn allowed(store: &Store, a: &Ask<'_>) -> Option<String> {
    if a.groups.iter().any(|g| g == "system:masters") {
        return Some("the group system:masters may do anything".into());
    }
    let bound = |b: &Value| {
        b["subjects"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|s| subject_matches(s, a.user, &a.groups))
    };
    for b in store.list(&rbac("clusterrolebindings"), None) {
        if bound(&b) && role_rules(store, &b, "").iter().any(|r| rule_allows(r, a)) {
            return Some(format!(
                "ClusterRoleBinding {}",
                b["metadata"]["name"].as_str().unwrap_or_default()
            ));
        }
    }
    if !a.namespace.is_empty() {
        for b in store.list(&rbac("rolebindings"), Some(a.namespace)) {
            if bound(&b)
                && role_rules(store, &b, a.namespace)
                    .iter()
                    .any(|r| rule_allows(r, a))
            {
                return Some(format!(
                    "RoleBinding {}/{}",
                    a.namespace,
                    b["metadata"]["name"].as_str().unwrap_or_default()
                ));
            }
        }
    }
    None
}

/// Answers a SubjectAccessReview `body` from the RBAC objects in the store.
pub fn subject_access_review(sim: &Sim, body: Value) -> Result<Value, ApiError> {
    let spec = &body["spec"];
    let attrs = &spec["resourceAttributes"];
    if !attrs.is_object() {
        return Err(ApiError::bad_request(
            "spec.resourceAttributes: required (nonResourceAttributes are not supported by the simulated cluster)",
        ));
    }
    let resource = match attrs["subresource"].as_str().filter(|s| !s.is_empty()) {
        Some(sub) => format!("{}/{sub}", attrs["resource"].as_str().unwrap_or_default()),
        None => attrs["resource"].as_str().unwrap_or_default().to_string(),
    };
    let ask = Ask {
        user: spec["user"].as_str().unwrap_or_default(),
        groups: serde_json::from_value(spec["groups"].clone()).unwrap_or_default(),
        namespace: attrs["namespace"].as_str().unwrap_or_default(),
        verb: attrs["verb"].as_str().unwrap_or_default(),
        group: attrs["group"].as_str().unwrap_or_default(),
        resource,
        name: attrs["name"].as_str().unwrap_or_default(),
    };
    let decision = allowed(&sim.store(), &ask);
    let mut out = body.clone();
    out["status"] = match decision {
        Some(reason) => json!({"allowed": true, "reason": format!("RBAC: allowed by {reason}")}),
        None => json!({"allowed": false, "reason": ""}),
    };
    Ok(out)
}

/// Registered tokens.
pub type Tokens = BTreeMap<String, TokenUser>;

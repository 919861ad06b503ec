//! Who may write. Reading is open (the dashboard listens on loopback by default); every
//! write — the browser's forms and the JSON API alike — needs a Kubernetes bearer token:
//! a TokenReview says whose it is, a SubjectAccessReview whether RBAC lets that user
//! `update` the pause ConfigMap. Kubernetes decides; the dashboard keeps no user list.
//!
//! Browsers: the token is typed once into the confirmation flyout and kept server-side
//! behind an HttpOnly, SameSite=Strict session cookie (re-reviewed on every write, so a
//! revoked token or binding stops working at once). Forms carry a CSRF token that must
//! equal the `prescale_csrf` cookie (double submit). The JSON API takes only
//! `Authorization: Bearer`, never cookies, so another site cannot ride a session.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode, header};
use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use kube::Client;
use kube::api::{Api, PostParams};

use crate::pause::SYSTEM_CONFIG_MAP;

pub const SESSION_COOKIE: &str = "prescale_session";
pub const CSRF_COOKIE: &str = "prescale_csrf";
/// How long a browser session lasts without being used.
pub const SESSION_TTL: Duration = Duration::from_secs(3600);

/// Why a write was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No token, or one the API server does not recognise (401).
    Unauthenticated(String),
    /// A valid token whose user RBAC does not allow the write (403), or a failed CSRF check.
    Forbidden(String),
    /// The API server could not be asked (503).
    Unavailable(String),
}

impl Refusal {
    pub fn status(&self) -> StatusCode {
        match self {
            Refusal::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Refusal::Forbidden(_) => StatusCode::FORBIDDEN,
            Refusal::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub fn title(&self) -> &'static str {
        match self {
            Refusal::Unauthenticated(_) => "401 — sign-in required",
            Refusal::Forbidden(_) => "403 — not allowed",
            Refusal::Unavailable(_) => "503 — cannot check authorisation",
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Refusal::Unauthenticated(m) | Refusal::Forbidden(m) | Refusal::Unavailable(m) => m,
        }
    }
}

/// Checks that `token` belongs to a user RBAC allows to update the pause ConfigMap of
/// `namespace`; returns the user's name.
pub async fn authorise(client: &Client, namespace: &str, token: &str) -> Result<String, Refusal> {
    if token.trim().is_empty() {
        return Err(Refusal::Unauthenticated(
            "this write needs a Kubernetes bearer token (e.g. `kubectl create token NAME -n NS`); \
             send it as `Authorization: Bearer <token>` or type it into the confirmation flyout"
                .into(),
        ));
    }
    let review = TokenReview {
        spec: TokenReviewSpec {
            token: Some(token.trim().to_string()),
            audiences: None,
        },
        ..Default::default()
    };
    let reviewed = Api::<TokenReview>::all(client.clone())
        .create(&PostParams::default(), &review)
        .await
        .map_err(|e| Refusal::Unavailable(format!("TokenReview failed: {e}")))?;
    let status = reviewed.status.unwrap_or_default();
    let user = status.user.unwrap_or_default();
    if status.authenticated != Some(true) || user.username.is_none() {
        let why = status
            .error
            .unwrap_or_else(|| "the token is not valid".into());
        return Err(Refusal::Unauthenticated(format!(
            "the API server did not accept the token ({why}); get a fresh one with `kubectl create token`"
        )));
    }
    let username = user.username.clone().unwrap_or_default();
    let sar = SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: user.username,
            groups: user.groups,
            uid: user.uid,
            extra: user.extra,
            resource_attributes: Some(ResourceAttributes {
                namespace: Some(namespace.into()),
                verb: Some("update".into()),
                group: Some(String::new()),
                resource: Some("configmaps".into()),
                name: Some(SYSTEM_CONFIG_MAP.into()),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let decided = Api::<SubjectAccessReview>::all(client.clone())
        .create(&PostParams::default(), &sar)
        .await
        .map_err(|e| Refusal::Unavailable(format!("SubjectAccessReview failed: {e}")))?;
    let status = decided.status.unwrap_or_default();
    if !status.allowed {
        let reason = status
            .reason
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| "no RBAC rule allows it".into());
        return Err(Refusal::Forbidden(format!(
            "user {username} may not update ConfigMap {namespace}/{SYSTEM_CONFIG_MAP} ({reason}); \
             grant `update` on it with a Role and RoleBinding"
        )));
    }
    Ok(username)
}

/// A random 256-bit value, hex (sessions, CSRF tokens).
pub fn random_token() -> String {
    format!(
        "{:032x}{:032x}",
        rand::random::<u128>(),
        rand::random::<u128>()
    )
}

/// The value of cookie `name`.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The bearer token of the `Authorization` header.
pub fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

/// The double-submit check: the form's token equals the cookie's, both present.
pub fn csrf_ok(headers: &HeaderMap, form_value: &str) -> bool {
    cookie(headers, CSRF_COOKIE)
        .is_some_and(|c| !c.is_empty() && c.len() == form_value.len() && c == form_value)
}

/// Browser sessions: id → (token, last use).
#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, (String, Instant)>>,
}

impl Sessions {
    pub fn open(&self, token: String) -> String {
        let id = random_token();
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, (_, used)| used.elapsed() < SESSION_TTL);
        map.insert(id.clone(), (token, Instant::now()));
        id
    }

    /// The token of a live session, which is kept alive.
    pub fn token(&self, id: &str) -> Option<String> {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let (token, used) = map.get_mut(id)?;
        if used.elapsed() >= SESSION_TTL {
            map.remove(id);
            return None;
        }
        *used = Instant::now();
        Some(token.clone())
    }

    pub fn close(&self, id: &str) {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_bearer_and_csrf() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=1; prescale_csrf=abc; b=2".parse().unwrap(),
        );
        h.insert(header::AUTHORIZATION, "Bearer  tok ".parse().unwrap());
        assert_eq!(cookie(&h, CSRF_COOKIE).as_deref(), Some("abc"));
        assert_eq!(bearer(&h).as_deref(), Some("tok"));
        assert!(csrf_ok(&h, "abc"));
        assert!(!csrf_ok(&h, "abd") && !csrf_ok(&h, "") && !csrf_ok(&HeaderMap::new(), ""));
    }

    #[test]
    fn sessions_hold_tokens_until_closed() {
        let s = Sessions::default();
        let id = s.open("t".into());
        assert_eq!(s.token(&id).as_deref(), Some("t"));
        s.close(&id);
        assert_eq!(s.token(&id), None);
        assert_ne!(random_token(), random_token());
    }
}

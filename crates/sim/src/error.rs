//! API errors as the API server returns them: a metav1.Status with reason and code.

use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code} {reason}: {message}")]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub name: String,
    pub kind: String,
}

impl ApiError {
    fn new(code: u16, reason: &'static str, kind: &str, name: &str, message: String) -> Self {
        ApiError {
            code,
            reason,
            message,
            name: name.into(),
            kind: kind.into(),
        }
    }

    pub fn not_found(plural: &str, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            plural,
            name,
            format!("{plural} \"{name}\" not found"),
        )
    }

    pub fn already_exists(plural: &str, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            plural,
            name,
            format!("{plural} \"{name}\" already exists"),
        )
    }

    pub fn conflict(plural: &str, name: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            plural,
            name,
            format!(
                "Operation cannot be fulfilled on {plural} \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
            ),
        )
    }

    pub fn invalid(kind: &str, name: &str, message: &str) -> Self {
        Self::new(
            422,
            "Invalid",
            kind,
            name,
            format!("{kind} \"{name}\" is invalid: {message}"),
        )
    }

    pub fn bad_request(message: &str) -> Self {
        Self::new(400, "BadRequest", "", "", message.into())
    }

    pub fn method_not_allowed(message: &str) -> Self {
        Self::new(405, "MethodNotAllowed", "", "", message.into())
    }

    pub fn too_many_requests(message: &str) -> Self {
        Self::new(429, "TooManyRequests", "", "", message.into())
    }

    pub fn gone(message: &str) -> Self {
        Self::new(410, "Expired", "", "", message.into())
    }

    pub fn internal(message: &str) -> Self {
        Self::new(500, "InternalError", "", "", message.into())
    }

    pub fn status(&self) -> Value {
        json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "details": {"name": self.name, "kind": self.kind},
            "code": self.code,
        })
    }
}

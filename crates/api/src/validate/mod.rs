//! Validation in Rust of what the API server checks: the CRD's OpenAPI schema (`schema`),
//! object names (`names`) and the rules the CRD carries as CEL (see `rules`; `target`,
//! `template`, `fields`), returning every problem with its field path, e.g.
//! `spec.vertical.containers[0].memory.lowerbound: lowerbound is required`.

mod fields;
mod names;
mod podautoscaler;
mod schema;
mod target;
mod template;

use std::fmt;

pub(crate) use names::check_metadata;
pub use names::{NameKind, name_problem};
pub use podautoscaler::validate_pod_autoscaler;
pub(crate) use schema::{UNKNOWN_FIELD, check as check_schema};
pub use target::validate_target_spec;
pub use template::validate_template_spec;

/// One problem, at one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub path: String,
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Collects errors while walking a spec.
#[derive(Debug, Default)]
pub(crate) struct Errors(pub Vec<FieldError>);

impl Errors {
    pub fn add(&mut self, path: impl Into<String>, message: impl fmt::Display) {
        self.0.push(FieldError {
            path: path.into(),
            message: message.to_string(),
        });
    }

    /// Records `result`'s error, if any, at `path`.
    pub fn check<T, E: fmt::Display>(
        &mut self,
        path: impl Into<String>,
        result: Result<T, E>,
    ) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.add(path, e);
                None
            }
        }
    }
}

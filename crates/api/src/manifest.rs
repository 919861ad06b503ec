//! Reading manifests offline: multi-document YAML, each thoras.ai/v1 object decoded with
//! the path of any type error, then validated. Used by `prescale validate` and the tests.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::template::ClusterAIScaleTemplate;
use crate::validate::{FieldError, validate_target_spec, validate_template_spec};
use crate::{AIScaleTarget, GROUP, VERSION};

#[derive(Debug, thiserror::Error)]
#[error("not valid YAML: {0}")]
pub struct YamlError(String);

/// Splits a YAML stream into its documents; empty documents are dropped.
pub fn parse_documents(text: &str) -> Result<Vec<Value>, YamlError> {
    let docs: Vec<Value> =
        serde_saphyr::from_multiple(text).map_err(|e| YamlError(e.to_string()))?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

/// What checking one document found.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// A thoras.ai/v1 object with no problems: `kind/name`.
    Valid(String),
    /// Not a thoras.ai object; `kind` is reported so the user sees what was skipped.
    Skipped(String),
    /// Every problem found, each with its field path.
    Invalid(Vec<FieldError>),
}

/// A short name for a document in messages: `AIScaleTarget/shop/api` or `document 3`.
pub fn describe(doc: &Value) -> Option<String> {
    let kind = doc.get("kind")?.as_str()?;
    let meta = doc.get("metadata");
    let name = meta
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("<unnamed>");
    Some(
        match meta
            .and_then(|m| m.get("namespace"))
            .and_then(Value::as_str)
        {
            Some(ns) => format!("{kind}/{ns}/{name}"),
            None => format!("{kind}/{name}"),
        },
    )
}

pub fn check_document(doc: &Value) -> Verdict {
    let api_version = doc
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default();
    let group = api_version
        .split_once('/')
        .map(|(g, _)| g)
        .unwrap_or_default();
    if group != GROUP {
        return Verdict::Skipped(if kind.is_empty() {
            "a document without kind".into()
        } else {
            kind.into()
        });
    }
    let mut errors = Vec::new();
    if api_version != format!("{GROUP}/{VERSION}") {
        errors.push(error(
            "apiVersion",
            format!("unsupported version {api_version:?}: use {GROUP}/{VERSION}"),
        ));
        return Verdict::Invalid(errors);
    }
    let name_ok = doc
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty());
    if !name_ok {
        errors.push(error("metadata.name", "required"));
    }
    let namespace = doc.pointer("/metadata/namespace").and_then(Value::as_str);
    match kind {
        "AIScaleTarget" => {
            if doc.get("spec").is_none() {
                errors.push(error("spec", "required"));
            } else if let Some(ast) = decode::<AIScaleTarget>(doc, &mut errors) {
                errors.extend(validate_target_spec(&ast.spec, namespace));
            }
        }
        "ClusterAIScaleTemplate" => {
            if doc.get("spec").is_none() {
                errors.push(error("spec", "required"));
            } else if let Some(t) = decode::<ClusterAIScaleTemplate>(doc, &mut errors) {
                errors.extend(validate_template_spec(&t.spec));
            }
        }
        other => errors.push(error(
            "kind",
            format!(
                "unknown kind {other:?} in {GROUP}: use AIScaleTarget or ClusterAIScaleTemplate"
            ),
        )),
    }
    if errors.is_empty() {
        Verdict::Valid(describe(doc).unwrap_or_else(|| kind.to_string()))
    } else {
        Verdict::Invalid(errors)
    }
}

fn error(path: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        path: path.into(),
        message: message.into(),
    }
}

/// Decodes with serde, turning a type error into a field error at its path.
fn decode<T: DeserializeOwned>(doc: &Value, errors: &mut Vec<FieldError>) -> Option<T> {
    match serde_path_to_error::deserialize::<_, T>(doc) {
        Ok(v) => Some(v),
        Err(e) => {
            let mut path = e.path().to_string();
            let mut message = e.into_inner().to_string();
            // "missing field `model`" at `spec` reads better as "spec.model: required".
            if let Some(field) = message
                .strip_prefix("missing field `")
                .and_then(|m| m.strip_suffix('`'))
            {
                path = if path == "." {
                    field.to_string()
                } else {
                    format!("{path}.{field}")
                };
                message = "required".into();
            }
            errors.push(error(if path == "." { "<root>" } else { &path }, message));
            None
        }
    }
}

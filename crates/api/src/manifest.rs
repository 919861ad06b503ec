//! Reading manifests offline: multi-document YAML, each object of the API (thoras.ai/v1 and
//! AIBrix's autoscaling.aibrix.ai/v1alpha1 PodAutoscaler) checked in two phases so that
//! every problem of a document is reported, not only the first:
//!
//! 1. the document against the CRD's OpenAPI schema and the server's name rules
//!    (`validate::schema`, `validate::names`): unknown fields, types, enumerations, bounds,
//!    patterns, required fields, names;
//! 2. what is left (the wrong parts removed) decoded into the Rust types and checked against
//!    the cross-field rules of `rules` (`validate::validate_target_spec` and friends).
//!
//! A problem phase two finds inside a field phase one already refused is a consequence, not a
//! second problem, and is dropped. Used by `prescale validate` and the tests.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::podautoscaler::{self, PodAutoscalerSpec};
use crate::target::spec::AIScaleTargetSpec;
use crate::template::ClusterAIScaleTemplateSpec;
use crate::validate::{
    Errors, FieldError, UNKNOWN_FIELD, check_metadata, check_schema, validate_pod_autoscaler,
    validate_target_spec, validate_template_spec,
};
use crate::{GROUP, VERSION, crd};

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
    /// Not an object of the API; `kind` is reported so the user sees what was skipped.
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

/// A kind `validate` knows.
struct Kind {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    namespaced: bool,
}

/// The kinds of the API.
const KINDS: [Kind; 3] = [
    Kind {
        group: GROUP,
        version: VERSION,
        kind: "AIScaleTarget",
        namespaced: true,
    },
    Kind {
        group: GROUP,
        version: VERSION,
        kind: "ClusterAIScaleTemplate",
        namespaced: false,
    },
    Kind {
        group: podautoscaler::GROUP,
        version: podautoscaler::VERSION,
        kind: "PodAutoscaler",
        namespaced: true,
    },
];

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
    let in_group: Vec<&Kind> = KINDS.iter().filter(|k| k.group == group).collect();
    let Some(first) = in_group.first() else {
        return Verdict::Skipped(if kind.is_empty() {
            "a document without kind".into()
        } else {
            kind.into()
        });
    };
    let mut errors = Errors::default();
    if api_version != format!("{group}/{}", first.version) {
        errors.add(
            "apiVersion",
            format!(
                "unsupported version {api_version:?}: use {group}/{}",
                first.version
            ),
        );
        return Verdict::Invalid(errors.0);
    }
    let Some(known) = in_group.iter().find(|k| k.kind == kind) else {
        let names: Vec<&str> = in_group.iter().map(|k| k.kind).collect();
        errors.add(
            "kind",
            format!(
                "unknown kind {kind:?} in {group}: use {}",
                names.join(" or ")
            ),
        );
        return Verdict::Invalid(errors.0);
    };
    let (kind, namespaced) = (known.kind, known.namespaced);
    check_metadata(&mut errors, doc, namespaced);
    let body = body_to_check(doc);
    let schema = crd::schema_of(kind);
    let kept = match schema {
        Some(schema) => check_schema(&mut errors, "", &body, schema),
        None => Some(body),
    };
    if let (Some(status), Some(status_schema)) = (
        doc.get("status"),
        schema.and_then(|s| s.properties.as_ref()?.get("status")),
    ) {
        // The server decodes status strictly, then ignores it: only unknown fields count.
        let mut in_status = Errors::default();
        check_schema(&mut in_status, "status", status, status_schema);
        errors.0.extend(
            in_status
                .0
                .into_iter()
                .filter(|e| e.message.starts_with(UNKNOWN_FIELD)),
        );
    }
    let structural = errors.0.len();
    let namespace = doc.pointer("/metadata/namespace").and_then(Value::as_str);
    let spec = kept.as_ref().and_then(|k| k.get("spec"));
    let typed = match (kind, spec) {
        (_, None) => vec![],
        ("AIScaleTarget", Some(spec)) => decode::<AIScaleTargetSpec>(spec, structural, &mut errors)
            .map(|spec| validate_target_spec(&spec, namespace))
            .unwrap_or_default(),
        ("PodAutoscaler", Some(spec)) => decode::<PodAutoscalerSpec>(spec, structural, &mut errors)
            .map(|spec| validate_pod_autoscaler(&spec, namespace, &annotations(doc)))
            .unwrap_or_default(),
        (_, Some(spec)) => decode::<ClusterAIScaleTemplateSpec>(spec, structural, &mut errors)
            .map(|spec| validate_template_spec(&spec))
            .unwrap_or_default(),
    };
    for e in typed {
        let consequence = errors.0[..structural]
            .iter()
            .any(|s| within(&e.path, &s.path));
        if !consequence && !errors.0.contains(&e) {
            errors.0.push(e);
        }
    }
    if errors.0.is_empty() {
        Verdict::Valid(describe(doc).unwrap_or_else(|| kind.to_string()))
    } else {
        Verdict::Invalid(errors.0)
    }
}

/// The string-valued annotations of a document (the server refuses any other).
fn annotations(doc: &Value) -> BTreeMap<String, String> {
    doc.pointer("/metadata/annotations")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect()
}

/// Whether `path` is `parent` or a field or item inside it.
fn within(path: &str, parent: &str) -> bool {
    path.strip_prefix(parent)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
}

/// The object without the fields every Kubernetes object has (checked on their own) and
/// without `status`, which the API server ignores on create and update once decoded (both
/// kinds have a status subresource): a manifest saved with `kubectl get -o yaml` validates.
fn body_to_check(doc: &Value) -> Value {
    let mut body: Map<String, Value> = doc.as_object().cloned().unwrap_or_default();
    for implicit in ["apiVersion", "kind", "metadata", "status"] {
        body.remove(implicit);
    }
    Value::Object(body)
}

/// Decodes the spec into its Rust type. A decoding error is reported only when phase one
/// found nothing: otherwise it is a consequence of what phase one removed.
fn decode<T: DeserializeOwned>(spec: &Value, structural: usize, errors: &mut Errors) -> Option<T> {
    match serde_path_to_error::deserialize::<_, T>(spec) {
        Ok(v) => Some(v),
        Err(_) if structural > 0 => None,
        Err(e) => {
            let path = e.path().to_string();
            let message = e.into_inner().to_string();
            let path = if path == "." {
                "spec".to_string()
            } else {
                format!("spec.{path}")
            };
            errors.add(path, message);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(yaml: &str) -> Vec<FieldError> {
        let docs = parse_documents(yaml).unwrap();
        match check_document(&docs[0]) {
            Verdict::Invalid(errors) => errors,
            other => panic!("expected problems, got {other:?}"),
        }
    }

    const TARGET: &str = "apiVersion: thoras.ai/v1\nkind: AIScaleTarget\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  scaleTargetRef:\n    kind: Deployment\n    name: web\n  model:\n    forecast_blocks: 15m\n    forecast_cron: '*/15 * * * *'\n";

    #[test]
    fn two_typos_are_two_problems() {
        let yaml = TARGET
            .replace("forecast_blocks", "forecast_block")
            .replace("scaleTargetRef", "scaleTargetref");
        let errors = problems(&yaml);
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert!(paths.contains(&"spec.model.forecast_block"), "{errors:?}");
        assert!(paths.contains(&"spec.scaleTargetref"), "{errors:?}");
        let typo = errors
            .iter()
            .find(|e| e.path == "spec.model.forecast_block")
            .unwrap();
        assert!(
            typo.message.contains("did you mean forecast_blocks"),
            "{typo}"
        );
    }

    #[test]
    fn type_errors_and_rule_violations_are_all_reported() {
        let yaml = format!(
            "{TARGET}  horizontal:\n    minReplicas: many\n    multipleOf: 2\n    allowedReplicas: [2]\n  vertical:\n    containers:\n    - name: app\n      cpu: {{lowerbound: 2, upperbound: 1}}\n      memory: {{lowerbound: lots}}\n"
        );
        let errors = problems(&yaml);
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        for expected in [
            "spec.horizontal.minReplicas",
            "spec.horizontal.allowedReplicas",
            "spec.vertical.containers[0].cpu.lowerbound",
            "spec.vertical.containers[0].memory.lowerbound",
        ] {
            assert!(
                paths.contains(&expected),
                "{expected} missing from {errors:?}"
            );
        }
        // The refused memory.lowerbound is not reported a second time as missing.
        assert_eq!(
            paths
                .iter()
                .filter(|p| **p == "spec.vertical.containers[0].memory.lowerbound")
                .count(),
            1,
            "{errors:?}"
        );
    }

    #[test]
    fn a_seed_example_with_placeholders_is_refused_at_its_name() {
        let yaml = TARGET.replace(
            "name: web\n  namespace: shop",
            "name: \"{{ YOUR_AST_NAME }}\"\n  namespace: \"{{ YOUR_NAMESPACE }}\"",
        );
        let errors = problems(&yaml);
        let name = errors.iter().find(|e| e.path == "metadata.name").unwrap();
        assert!(name.message.contains("placeholder"), "{name}");
        assert!(
            errors.iter().any(|e| e.path == "metadata.namespace"),
            "{errors:?}"
        );
    }

    #[test]
    fn limits_are_enforced_with_paths() {
        let containers: String = (0..=crate::limits::CONTAINERS)
            .map(|i| format!("    - name: c{i}\n      cpu: {{lowerbound: 1m}}\n      memory: {{lowerbound: 1Mi}}\n"))
            .collect();
        let yaml = format!("{TARGET}  vertical:\n    containers:\n{containers}").replace(
            "forecast_blocks: 15m",
            &format!("forecast_blocks: {}", "1h".repeat(17)),
        );
        let errors = problems(&yaml);
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert!(paths.contains(&"spec.vertical.containers"), "{errors:?}");
        assert!(paths.contains(&"spec.model.forecast_blocks"), "{errors:?}");
    }

    #[test]
    fn a_number_where_a_duration_belongs_is_told_the_unit_not_just_to_quote_it() {
        let yaml = TARGET.replace("forecast_blocks: 15m", "forecast_blocks: 15");
        assert_ne!(yaml, TARGET, "the fixture sets forecast_blocks: 15m");
        let errors = problems(&yaml);
        let e = errors
            .iter()
            .find(|e| e.path == "spec.model.forecast_blocks")
            .unwrap();
        assert!(
            e.message
                .contains("must be a duration with a unit, e.g. 15m"),
            "{e}"
        );
        assert!(!e.message.contains("quote it: \"15\""), "{e}");
    }

    #[test]
    fn a_fractional_quantity_must_be_quoted() {
        let yaml = format!(
            "{TARGET}  vertical:\n    containers:\n    - name: app\n      cpu: {{lowerbound: 0.5}}\n      memory: {{lowerbound: 1Mi}}\n"
        );
        let errors = problems(&yaml);
        let e = errors
            .iter()
            .find(|e| e.path == "spec.vertical.containers[0].cpu.lowerbound")
            .unwrap();
        assert!(e.message.contains("quote it"), "{e}");
    }

    #[test]
    fn status_is_ignored_but_for_unknown_fields_as_the_server_does() {
        let with_status = format!("{TARGET}status:\n  workloads: [{{kind: 5}}]\n");
        let docs = parse_documents(&with_status).unwrap();
        assert!(matches!(check_document(&docs[0]), Verdict::Valid(_)));
        let errors = problems(&format!("{TARGET}status:\n  bogus: 1\n"));
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].path, "status.bogus");
    }

    #[test]
    fn within_means_the_field_or_inside_it() {
        assert!(within("spec.a", "spec.a"));
        assert!(within("spec.a.b", "spec.a"));
        assert!(within("spec.a[0]", "spec.a"));
        assert!(!within("spec.ab", "spec.a"));
    }
}

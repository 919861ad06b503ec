//! Schema pieces the derive cannot express: bounds, enums, patterns and rules on embedded
//! Kubernetes types (label selectors, conditions), and the int-or-string fields. Used from
//! `#[schemars(transform = ...)]` / `#[schemars(schema_with = ...)]` on the fields that need
//! them; `crd::bound_everything` bounds whatever is left.

use schemars::{Schema, SchemaGenerator, json_schema};
use serde_json::{Value, json};

use crate::limits;
use crate::rules::{self, PatternText};
use crate::target::spec::WORKLOAD_KINDS;

/// The object schemas of `s`: itself, or the non-null branches of an `Option`'s `anyOf`.
fn objects_mut(s: &mut Schema) -> Vec<&mut serde_json::Map<String, Value>> {
    let Some(map) = s.as_object_mut() else {
        return vec![];
    };
    if map.contains_key("properties") {
        return vec![map];
    }
    map.iter_mut()
        .filter(|(key, _)| *key == "anyOf" || *key == "oneOf")
        .filter_map(|(_, branches)| branches.as_array_mut())
        .flatten()
        .filter_map(Value::as_object_mut)
        .filter(|m| m.contains_key("properties"))
        .collect()
}

fn set(map: &mut serde_json::Map<String, Value>, pointer: &str, key: &str, value: Value) {
    if let Some(target) = map_pointer(map, pointer) {
        target.insert(key.to_string(), value);
    }
}

fn map_pointer<'a>(
    map: &'a mut serde_json::Map<String, Value>,
    pointer: &str,
) -> Option<&'a mut serde_json::Map<String, Value>> {
    let mut here = map;
    for key in pointer.split('/').filter(|k| !k.is_empty()) {
        here = here.get_mut(key)?.as_object_mut()?;
    }
    Some(here)
}

/// A label selector as Kubernetes bounds labels, with the operators it knows and the rule
/// that values go with In/NotIn only.
pub fn label_selector(s: &mut Schema) {
    for map in objects_mut(s) {
        set(
            map,
            "properties/matchLabels",
            "maxProperties",
            json!(limits::MATCH_LABELS),
        );
        set(
            map,
            "properties/matchLabels/additionalProperties",
            "maxLength",
            json!(limits::LABEL_VALUE),
        );
        set(
            map,
            "properties/matchExpressions",
            "maxItems",
            json!(limits::MATCH_EXPRESSIONS),
        );
        let requirement = "properties/matchExpressions/items";
        set(
            map,
            &format!("{requirement}/properties/key"),
            "maxLength",
            json!(limits::LABEL_KEY),
        );
        set(
            map,
            &format!("{requirement}/properties/operator"),
            "enum",
            json!(["In", "NotIn", "Exists", "DoesNotExist"]),
        );
        set(
            map,
            &format!("{requirement}/properties/values"),
            "maxItems",
            json!(limits::MATCH_VALUES),
        );
        set(
            map,
            &format!("{requirement}/properties/values/items"),
            "maxLength",
            json!(limits::LABEL_VALUE),
        );
        let rule = serde_json::to_value(kube::core::Rule::from(
            rules::SELECTOR_VALUES_MATCH_OPERATOR,
        ))
        .unwrap_or(Value::Null);
        set(map, requirement, "x-kubernetes-validations", json!([rule]));
    }
}

/// Status conditions, bounded as Kubernetes bounds `metav1.Condition`.
pub fn conditions(s: &mut Schema) {
    let Some(map) = s.as_object_mut() else { return };
    for (field, max) in [
        ("message", limits::CONDITION_MESSAGE),
        ("reason", limits::CONDITION_REASON),
        ("type", limits::CONDITION_TYPE),
    ] {
        set(
            map,
            &format!("items/properties/{field}"),
            "maxLength",
            json!(max),
        );
    }
}

/// `scaleTargetRef.kind`: the workload kinds prescale scales.
pub fn workload_kind(s: &mut Schema) {
    let kinds: Vec<&str> = WORKLOAD_KINDS.iter().map(|(kind, _)| *kind).collect();
    s.insert("enum".into(), json!(kinds));
}

/// An int-or-string field: an integer of at least `minimum`, or a string matching `format`.
pub fn int_or_string(format: PatternText, minimum: i64, description: &str) -> Schema {
    json_schema!({
        "x-kubernetes-int-or-string": true,
        "anyOf": [{"type": "integer"}, {"type": "string"}],
        "minimum": minimum,
        "maxLength": limits::QUANTITY,
        "pattern": format.pattern,
        "description": description,
    })
}

/// `disruption.max_disrupted`: at least one pod, or a percentage above 0% and at most 100%.
pub fn max_disrupted(_: &mut SchemaGenerator) -> Schema {
    let mut s = int_or_string(
        rules::DISRUPTION_PERCENT,
        1,
        "How many pods of one workload may be disrupted at once: a number of pods (2) or a percentage of them (20%). Default 20%.",
    );
    s.insert("nullable".into(), json!(true));
    s
}

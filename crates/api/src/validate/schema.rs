//! Phase one of checking a manifest: the document against the CRD's OpenAPI schema, the way
//! the API server checks it (types, required and unknown fields, enumerations, bounds,
//! patterns, list keys), reporting every problem with its path. It hands back the document
//! with every wrong part removed, so phase two (the typed rules) still runs on the rest.
//!
//! Paths are written as the API server writes them: `spec.vertical.containers[0].name`,
//! map entries as `spec.model.metrics[cpu]`.

use std::collections::{BTreeSet, HashMap};
use std::sync::{LazyLock, Mutex};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};
use regex::Regex;
use serde_json::{Map, Value};

use super::Errors;
use super::names::mismatch;
use crate::rules::PATTERNS;

/// Checks `value` at `path` against `schema`. Returns the value without its wrong parts, or
/// `None` when the value itself is wrong (its parent drops it).
pub(crate) fn check(
    errors: &mut Errors,
    path: &str,
    value: &Value,
    schema: &JSONSchemaProps,
) -> Option<Value> {
    if value.is_null() {
        if schema.nullable == Some(true) {
            return Some(Value::Null);
        }
        errors.add(path, format!("must be {}, found null", expected(schema)));
        return None;
    }
    if schema.x_kubernetes_int_or_string == Some(true) {
        return int_or_string(errors, path, value, schema);
    }
    match schema.type_.as_deref() {
        Some("object") => object(errors, path, value, schema),
        Some("array") => array(errors, path, value, schema),
        Some("string") => match value {
            Value::String(s) => string(errors, path, s, schema).then(|| value.clone()),
            other => wrong_type(errors, path, other, schema),
        },
        Some("integer") => match integer(value) {
            Some(n) => number(errors, path, n as f64, schema).then(|| Value::from(n)),
            None => wrong_type(errors, path, value, schema),
        },
        Some("number") => match value.as_f64() {
            Some(n) => number(errors, path, n, schema).then(|| value.clone()),
            None => wrong_type(errors, path, value, schema),
        },
        Some("boolean") => match value {
            Value::Bool(_) => Some(value.clone()),
            other => wrong_type(errors, path, other, schema),
        },
        _ => Some(value.clone()),
    }
}

/// An integral JSON number. A float with no fraction counts: kubectl sends YAML `2.0` as `2`.
fn integer(value: &Value) -> Option<i64> {
    let n = value.as_number()?;
    n.as_i64().or_else(|| {
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
            .map(|f| f as i64)
    })
}

fn expected(schema: &JSONSchemaProps) -> &'static str {
    if schema.x_kubernetes_int_or_string == Some(true) {
        return "an integer or a string";
    }
    match schema.type_.as_deref() {
        Some("object") => "an object",
        Some("array") => "a list",
        Some("string") => "a string",
        Some("integer") => "an integer",
        Some("number") => "a number",
        Some("boolean") => "true or false",
        _ => "a value",
    }
}

fn found(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {s:?}"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
    }
}

fn wrong_type(
    errors: &mut Errors,
    path: &str,
    value: &Value,
    schema: &JSONSchemaProps,
) -> Option<Value> {
    let hint = match (schema.type_.as_deref(), value) {
        (Some("string"), Value::Number(_) | Value::Bool(_)) => quoting_hint(value, schema),
        _ => String::new(),
    };
    errors.add(
        path,
        format!("must be {}, found {}{hint}", expected(schema), found(value)),
    );
    None
}

/// How to write a number or boolean found where a string belongs. Quoting is the fix only
/// when the quoted text is a valid string: `forecast_blocks: 15` needs a unit too, and
/// "quote it" alone would trade this error for another. The field's CEL rules cannot be
/// checked here, so their message is said beside the advice.
fn quoting_hint(value: &Value, schema: &JSONSchemaProps) -> String {
    let quoted = value.to_string();
    let mut probe = Errors::default();
    if !string(&mut probe, "", &quoted, schema)
        && let Some(problem) = probe.0.first()
    {
        return format!(" (as a string, {})", problem.message);
    }
    let rule = schema
        .x_kubernetes_validations
        .iter()
        .flatten()
        .find_map(|r| r.message.as_deref());
    match rule {
        Some(rule) => format!(" (quote it, and it {rule})"),
        None => format!(" (quote it: \"{quoted}\")"),
    }
}

fn int_or_string(
    errors: &mut Errors,
    path: &str,
    value: &Value,
    schema: &JSONSchemaProps,
) -> Option<Value> {
    if let Value::String(s) = value {
        return string(errors, path, s, schema).then(|| value.clone());
    }
    match integer(value) {
        Some(n) => number(errors, path, n as f64, schema).then(|| Value::from(n)),
        None => {
            let hint = match value {
                Value::Number(n) => format!(" (quote it: \"{n}\")"),
                _ => String::new(),
            };
            errors.add(
                path,
                format!(
                    "must be an integer or a string, found {}{hint}",
                    found(value)
                ),
            );
            None
        }
    }
}

fn string(errors: &mut Errors, path: &str, s: &str, schema: &JSONSchemaProps) -> bool {
    let before = errors.0.len();
    if let Some(allowed) = &schema.enum_ {
        if !allowed.iter().any(|a| a.0.as_str() == Some(s)) {
            let names: Vec<String> = allowed
                .iter()
                .map(|a| a.0.as_str().map_or_else(|| a.0.to_string(), str::to_string))
                .collect();
            errors.add(
                path,
                format!("unknown value {s:?}: use one of {}", names.join(", ")),
            );
        }
        return errors.0.len() == before;
    }
    let length = s.chars().count() as i64;
    if let Some(max) = schema.max_length
        && length > max
    {
        errors.add(path, format!("at most {max} characters, found {length}"));
    } else if let Some(min) = schema.min_length
        && length < min
    {
        errors.add(
            path,
            if min == 1 {
                "must not be empty".to_string()
            } else {
                format!("at least {min} characters, found {length}")
            },
        );
    } else if let Some(pattern) = &schema.pattern
        && matches(pattern, s) == Some(false)
    {
        let message = match PATTERNS.iter().find(|p| p.pattern == pattern) {
            Some(format) => mismatch(s, *format),
            None => format!("{s:?} must match {pattern}"),
        };
        errors.add(path, message);
    }
    errors.0.len() == before
}

fn number(errors: &mut Errors, path: &str, n: f64, schema: &JSONSchemaProps) -> bool {
    let before = errors.0.len();
    if let Some(allowed) = &schema.enum_
        && !allowed.iter().any(|a| a.0.as_f64() == Some(n))
    {
        errors.add(path, format!("{n} is not one of the allowed values"));
    }
    if let Some(min) = schema.minimum {
        let exclusive = schema.exclusive_minimum == Some(true);
        if n < min || (exclusive && n == min) {
            let bound = if exclusive { "more than" } else { "at least" };
            errors.add(path, format!("must be {bound} {min}, found {n}"));
        }
    }
    if let Some(max) = schema.maximum {
        let exclusive = schema.exclusive_maximum == Some(true);
        if n > max || (exclusive && n == max) {
            let bound = if exclusive { "less than" } else { "at most" };
            errors.add(path, format!("must be {bound} {max}, found {n}"));
        }
    }
    errors.0.len() == before
}

fn array(
    errors: &mut Errors,
    path: &str,
    value: &Value,
    schema: &JSONSchemaProps,
) -> Option<Value> {
    let Value::Array(items) = value else {
        return wrong_type(errors, path, value, schema);
    };
    if let Some(max) = schema.max_items
        && items.len() as i64 > max
    {
        errors.add(
            path,
            format!("at most {max} entries, found {}", items.len()),
        );
    }
    if let Some(min) = schema.min_items
        && (items.len() as i64) < min
    {
        errors.add(
            path,
            format!("at least {min} entries, found {}", items.len()),
        );
    }
    let item_schema = match &schema.items {
        Some(JSONSchemaPropsOrArray::Schema(s)) => Some(s.as_ref()),
        _ => None,
    };
    let mut kept = Vec::with_capacity(items.len());
    let mut whole_list_ok = true;
    for (i, item) in items.iter().enumerate() {
        let at = format!("{path}[{i}]");
        match item_schema {
            Some(s) => match check(errors, &at, item, s) {
                Some(v) => kept.push(v),
                // Dropping one item would shift the others' paths: drop the list instead.
                None => whole_list_ok = false,
            },
            None => kept.push(item.clone()),
        }
    }
    duplicates(errors, path, items, schema);
    whole_list_ok.then_some(Value::Array(kept))
}

/// Lists the server merges by key (`x-kubernetes-list-type: map`) or by value (`set`) must
/// not repeat a key or value.
fn duplicates(errors: &mut Errors, path: &str, items: &[Value], schema: &JSONSchemaProps) {
    let keys: Vec<String> = match schema.x_kubernetes_list_type.as_deref() {
        Some("map") => schema
            .x_kubernetes_list_map_keys
            .clone()
            .unwrap_or_default(),
        Some("set") => vec![],
        _ => return,
    };
    let mut seen = BTreeSet::new();
    for (i, item) in items.iter().enumerate() {
        let key: Value = if keys.is_empty() {
            item.clone()
        } else {
            Value::Object(
                keys.iter()
                    .map(|k| (k.clone(), item.get(k).cloned().unwrap_or(Value::Null)))
                    .collect(),
            )
        };
        if !seen.insert(key.to_string()) {
            let what = match keys.as_slice() {
                [] => format!("{item}"),
                [one] => format!("{one} {}", key[one.as_str()]),
                _ => key.to_string(),
            };
            errors.add(
                format!("{path}[{i}]"),
                format!("duplicate entry: {what} is listed twice"),
            );
        }
    }
}

fn object(
    errors: &mut Errors,
    path: &str,
    value: &Value,
    schema: &JSONSchemaProps,
) -> Option<Value> {
    let Value::Object(fields) = value else {
        return wrong_type(errors, path, value, schema);
    };
    let join = |name: &str| {
        if path.is_empty() {
            name.to_string()
        } else {
            format!("{path}.{name}")
        }
    };
    let mut kept = Map::new();
    if let Some(JSONSchemaPropsOrBool::Schema(values)) = &schema.additional_properties {
        if let Some(max) = schema.max_properties
            && fields.len() as i64 > max
        {
            errors.add(
                path,
                format!("at most {max} entries, found {}", fields.len()),
            );
        }
        for (key, v) in fields {
            if let Some(v) = check(errors, &format!("{path}[{key}]"), v, values) {
                kept.insert(key.clone(), v);
            }
        }
        return Some(Value::Object(kept));
    }
    let properties = schema.properties.clone().unwrap_or_default();
    let open = schema.x_kubernetes_preserve_unknown_fields == Some(true);
    for (key, v) in fields {
        match properties.get(key) {
            Some(s) => {
                if let Some(v) = check(errors, &join(key), v, s) {
                    kept.insert(key.clone(), v);
                }
            }
            None if open => {
                kept.insert(key.clone(), v.clone());
            }
            None => errors.add(join(key), unknown_field(key, properties.keys())),
        }
    }
    for name in schema.required.iter().flatten() {
        if !fields.contains_key(name) {
            errors.add(join(name), "required");
        }
    }
    Some(Value::Object(kept))
}

/// How every unknown-field message starts.
pub(crate) const UNKNOWN_FIELD: &str = "unknown field";

/// "unknown field", with the nearest known name when the field looks like a typo of it.
pub(crate) fn unknown_field<'a>(key: &str, known: impl Iterator<Item = &'a String>) -> String {
    let known: Vec<&String> = known.collect();
    let nearest = known
        .iter()
        .map(|k| (edit_distance(key, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min();
    match nearest {
        Some((_, k)) => format!("{UNKNOWN_FIELD}: did you mean {k}?"),
        None if known.is_empty() => format!("{UNKNOWN_FIELD}: nothing may be set here"),
        None => format!(
            "{UNKNOWN_FIELD}: the fields here are {}",
            known
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

/// Whether `text` matches `pattern`; `None` if the pattern does not compile (then the
/// check is skipped: the patterns come from our own schema, and a test compiles them all).
pub(crate) fn matches(pattern: &str, text: &str) -> Option<bool> {
    static COMPILED: LazyLock<Mutex<HashMap<String, Option<Regex>>>> =
        LazyLock::new(Default::default);
    let mut cache = COMPILED.lock().unwrap_or_else(|e| e.into_inner());
    let regex = cache
        .entry(pattern.to_string())
        .or_insert_with(|| Regex::new(pattern).ok());
    regex.as_ref().map(|r| r.is_match(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_name_the_nearest_field() {
        let known = ["forecast_blocks".to_string(), "forecast_cron".to_string()];
        assert_eq!(
            unknown_field("forecast_block", known.iter()),
            "unknown field: did you mean forecast_blocks?"
        );
        assert!(unknown_field("zzz", known.iter()).contains("forecast_blocks, forecast_cron"));
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}

//! A cheap, conservative share of the API server's CEL cost check on CRD schemas: the
//! regular expressions (`matches`) of `x-kubernetes-validations` rules, priced as cel-go
//! prices them, times how often the rule runs (once per item of every list or map above
//! it) and how often a macro (`all`, `exists`, ...) runs its body.
//!
//! Every figure is a lower bound of the real estimate: string sizes are `maxLength` (the
//! server counts 4 bytes a character) or 1,000,000 when unbounded (the server: about
//! 3 MiB); unbounded lists and maps hold what a 3 MiB request can carry of their smallest
//! item, as the server estimates; other functions, field selections and operators cost
//! nothing here. So a CRD refused here is refused by a real server, with the same message
//! shape (its factor a lower bound too); many a CRD a real server refuses passes here.

use serde_json::Value;

/// cel-go's cost factors.
const STRING_TRAVERSAL: f64 = 0.1;
const REGEX_LENGTH: f64 = 0.25;
/// The API server's budgets: per rule, and for the whole schema.
const RULE_LIMIT: f64 = 10_000_000.0;
const SCHEMA_LIMIT: f64 = 100_000_000.0;
/// The largest request the API server takes, which bounds unbounded lists and maps.
const MAX_REQUEST_BYTES: f64 = 3.0 * 1024.0 * 1024.0;
/// A lower bound of the size the server assumes for a string without `maxLength`.
const UNBOUNDED_STRING: f64 = 1_000_000.0;

/// The refusals (field path and message) of a CRD's schemas; empty when none.
pub fn check(crd: &Value) -> Vec<String> {
    let versions = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let schemas: Vec<&Value> = versions
        .iter()
        .filter_map(|v| v.pointer("/schema/openAPIV3Schema"))
        .collect();
    // One schema shared by every version is reported where the server hoists it.
    let shared = !schemas.is_empty()
        && schemas.len() == versions.len()
        && schemas.iter().all(|s| *s == schemas[0]);
    let mut errors = vec![];
    for (i, schema) in schemas.iter().enumerate() {
        let root = if shared {
            "spec.validation.openAPIV3Schema".to_string()
        } else {
            format!("spec.versions[{i}].schema.openAPIV3Schema")
        };
        let mut total = 0.0;
        walk(schema, &root, 1.0, &mut total, &mut errors);
        if total > SCHEMA_LIMIT {
            errors.push(format!(
                "{root}: Forbidden: x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema {}",
                exceeds(total, SCHEMA_LIMIT)
            ));
        }
        if shared {
            break;
        }
    }
    errors
}

/// A CRD whose CEL rules a real API server would refuse for their estimated cost
///  is refused here too, with the server's message.
pub fn refuse(crd: &Value, name: &str) -> Result<(), crate::error::ApiError> {
    let errors = check(crd);
    if errors.is_empty() {
        return Ok(());
    }
    let message = if errors.len() == 1 {
        errors[0].clone()
    } else {
        format!("[{}]", errors.join(", "))
    };
    Err(crate::error::ApiError::invalid(
        "CustomResourceDefinition.apiextensions.k8s.io",
        name,
        &message,
    ))
}

fn exceeds(cost: f64, limit: f64) -> String {
    let factor = cost / limit;
    let factor = if factor > 100.0 {
        "more than 100x".to_string()
    } else if factor < 1.5 {
        format!("{factor:.6}x")
    } else {
        format!("{factor:.1}x")
    };
    format!(
        "exceeds budget by factor of {factor} (try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)"
    )
}

/// Checks the rules of `node` (evaluated `runs` times per object) and of everything under it.
fn walk(node: &Value, path: &str, runs: f64, total: &mut f64, errors: &mut Vec<String>) {
    for (i, rule) in node
        .get("x-kubernetes-validations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let Some(text) = rule.get("rule").and_then(Value::as_str) else {
            continue;
        };
        let cost = runs * rule_cost(text, node);
        *total += cost;
        if cost > RULE_LIMIT {
            errors.push(format!(
                "{path}.x-kubernetes-validations[{i}].rule: Forbidden: estimated rule cost {}",
                exceeds(cost, RULE_LIMIT)
            ));
        }
    }
    if let Some(props) = node.get("properties").and_then(Value::as_object) {
        for (name, prop) in props {
            walk(
                prop,
                &format!("{path}.properties[{name}]"),
                runs,
                total,
                errors,
            );
        }
    }
    if let Some(items) = node.get("items").filter(|i| i.is_object()) {
        let runs = runs.max(count(node, "maxItems", items, 1.0));
        walk(items, &format!("{path}.items"), runs, total, errors);
    }
    if let Some(values) = node.get("additionalProperties").filter(|v| v.is_object()) {
        // A map entry also carries its key: `"":` and a comma.
        let runs = runs.max(count(node, "maxProperties", values, 4.0));
        walk(
            values,
            &format!("{path}.additionalProperties"),
            runs,
            total,
            errors,
        );
    }
}

/// How many items a list or map may hold: its bound, or what fits in a request. (Nested
/// collections are not multiplied: the server caps them by the same request size.)
fn count(node: &Value, bound: &str, item: &Value, overhead: f64) -> f64 {
    node.get(bound)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| ((MAX_REQUEST_BYTES - 2.0) / (min_size(item) + overhead)).floor())
}

/// The fewest JSON bytes a value of `schema` takes, counting required properties.
fn min_size(schema: &Value) -> f64 {
    if schema
        .get("x-kubernetes-int-or-string")
        .and_then(Value::as_bool)
        == Some(true)
    {
        return 1.0;
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("string") => 2.0,
        Some("boolean") => 4.0,
        Some("integer" | "number") => 1.0,
        Some("object") => {
            let required = schema.get("required").and_then(Value::as_array);
            2.0 + required
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(|name| {
                    let prop = schema.pointer(&format!("/properties/{name}"));
                    name.len() as f64 + 4.0 + prop.map_or(1.0, min_size)
                })
                .sum::<f64>()
        }
        _ => 2.0,
    }
}

/// A token of a CEL expression, as far as this check reads it.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Punct(char),
}

fn tokens(rule: &str) -> Vec<Token> {
    let chars: Vec<char> = rule.chars().collect();
    let mut out = vec![];
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            // r'...' / b"...": a prefixed literal.
            if matches!(word.as_str(), "r" | "R" | "b" | "B")
                && i < chars.len()
                && matches!(chars[i], '\'' | '"')
            {
                continue;
            }
            out.push(Token::Ident(word));
            continue;
        }
        if c == '\'' || c == '"' {
            let mut text = String::new();
            i += 1;
            while i < chars.len() && chars[i] != c {
                if chars[i] == '\\' && i + 1 < chars.len() {
                    i += 1;
                }
                text.push(chars[i]);
                i += 1;
            }
            i += 1;
            out.push(Token::Str(text));
            continue;
        }
        if !c.is_whitespace() {
            out.push(Token::Punct(c));
        }
        i += 1;
    }
    out
}

const MACROS: [&str; 5] = ["all", "exists", "exists_one", "map", "filter"];

/// The cost of one evaluation of `rule` on `node`: its `matches` calls, each run as often
/// as the macros around it run their bodies.
fn rule_cost(rule: &str, node: &Value) -> f64 {
    let t = tokens(rule);
    // Open parentheses: for a macro's, how often its body runs and its variable's schema.
    let mut open: Vec<Option<(f64, String, Option<Value>)>> = vec![];
    let mut cost = 0.0;
    let mut i = 0;
    while i < t.len() {
        match &t[i] {
            Token::Punct('(') => {
                let mut scope = None;
                if let (Some(Token::Ident(f)), Some(Token::Punct('.'))) = (
                    i.checked_sub(1).map(|j| &t[j]),
                    i.checked_sub(2).map(|j| &t[j]),
                ) && MACROS.contains(&f.as_str())
                    && let (Some(Token::Ident(var)), Some(Token::Punct(','))) =
                        (t.get(i + 1), t.get(i + 2))
                {
                    let receiver = resolve(&t[..i - 2], node, &open);
                    let (runs, element) = match receiver {
                        Some(r) if r.get("items").is_some() => (
                            count(&r, "maxItems", &r["items"], 1.0),
                            Some(r["items"].clone()),
                        ),
                        Some(r) if r.get("additionalProperties").is_some() => {
                            let values = &r["additionalProperties"];
                            (count(&r, "maxProperties", values, 4.0), None)
                        }
                        _ => (1.0, None),
                    };
                    scope = Some((runs, var.clone(), element));
                }
                open.push(scope);
            }
            Token::Punct(')') => {
                open.pop();
            }
            Token::Ident(f)
                if f == "matches"
                    && i >= 1
                    && t[i - 1] == Token::Punct('.')
                    && t.get(i + 1) == Some(&Token::Punct('(')) =>
            {
                if let (Some(Token::Str(regex)), Some(subject)) =
                    (t.get(i + 2), resolve(&t[..i - 1], node, &open))
                {
                    let runs: f64 = open.iter().flatten().map(|(n, _, _)| n).product();
                    let size = subject
                        .get("maxLength")
                        .and_then(Value::as_f64)
                        .unwrap_or(UNBOUNDED_STRING);
                    let traversal = (size * STRING_TRAVERSAL).ceil();
                    let regex = (regex.chars().count() as f64 * REGEX_LENGTH).ceil();
                    cost += runs * traversal * regex;
                }
            }
            _ => {}
        }
        i += 1;
    }
    cost
}

/// The schema of the expression that ends `before`: `self`, a macro variable, either
/// followed by `.field`s, optionally wrapped in `string(...)`. `None` for anything else.
fn resolve(
    before: &[Token],
    node: &Value,
    open: &[Option<(f64, String, Option<Value>)>],
) -> Option<Value> {
    let end = before.len();
    if before.last() == Some(&Token::Punct(')')) {
        // `string(path)`: the path inside.
        let start = before.iter().rposition(|t| *t == Token::Punct('('))?;
        if start < 1 || before[start - 1] != Token::Ident("string".into()) {
            return None;
        }
        return resolve_path(&before[start + 1..end - 1], node, open);
    }
    let mut start = end;
    while start > 0 {
        match (&before[start - 1], start.checked_sub(2).map(|j| &before[j])) {
            (Token::Ident(_), Some(Token::Punct('.'))) => start -= 2,
            (Token::Ident(_), _) => {
                start -= 1;
                break;
            }
            _ => return None,
        }
    }
    resolve_path(&before[start..end], node, open)
}

fn resolve_path(
    path: &[Token],
    node: &Value,
    open: &[Option<(f64, String, Option<Value>)>],
) -> Option<Value> {
    let mut names = path.iter().filter_map(|t| match t {
        Token::Ident(n) => Some(n.as_str()),
        _ => None,
    });
    let root = names.next()?;
    let mut at = if root == "self" {
        node.clone()
    } else {
        open.iter()
            .rev()
            .flatten()
            .find(|(_, var, _)| var == root)?
            .2
            .clone()?
    };
    for name in names {
        at = at.pointer(&format!("/properties/{name}"))?.clone();
    }
    Some(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn crd(field: Value) -> Value {
        json!({"spec": {"versions": [{"name": "v1", "schema": {"openAPIV3Schema":
            {"type": "object", "properties": {"spec": {"type": "object", "properties": {"f": field}}}}}}]}})
    }

    fn rule(text: &str, mut schema: Value) -> Value {
        schema["x-kubernetes-validations"] = json!([{"rule": text}]);
        schema
    }

    #[test]
    fn regexes_run_per_item_of_unbounded_collections_are_refused() {
        let string = json!({"type": "string"});
        let refused = [
            json!({"type": "array", "items": rule("self.matches('^[a-z]+$')", string.clone())}),
            json!({"type": "array", "items": rule("self.name.matches('^[a-z]+$')",
                json!({"type": "object", "properties": {"name": {"type": "string", "maxLength": 63}}}))}),
            rule(
                "self.all(x, x.matches('^a'))",
                json!({"type": "array", "items": string}),
            ),
            json!({"type": "object", "additionalProperties": {"type": "object", "properties": {
                "p": rule("type(self) == int ? int(self) >= 0 : string(self).matches('^[0-9]+(\\\\.[0-9]+)?%?$')",
                    json!({"x-kubernetes-int-or-string": true}))}}}),
        ];
        for f in refused {
            let errors = check(&crd(f.clone()));
            assert!(!errors.is_empty(), "{f}");
            assert!(
                errors[0].starts_with("spec.validation.openAPIV3Schema.properties[spec].properties[f]")
                    && errors[0].contains("x-kubernetes-validations[0].rule: Forbidden: estimated rule cost exceeds budget by factor of"),
                "{errors:?}"
            );
        }
    }

    #[test]
    fn what_a_real_server_accepts_passes() {
        let accepted = [
            rule("self.matches('^[a-z]+$')", json!({"type": "string"})),
            rule(
                "self.s.matches('^[a-z]+$')",
                json!({"type": "object", "properties": {"s": {"type": "string"}}}),
            ),
            json!({"type": "array", "items": rule("self.a > 0",
                json!({"type": "object", "properties": {"a": {"type": "integer"}}}))}),
            json!({"type": "array", "items": {"type": "array", "items": rule("self > 0", json!({"type": "integer"}))}}),
            rule(
                "self.all(x, x.matches('^a'))",
                json!({"type": "array", "maxItems": 10, "items": {"type": "string", "maxLength": 10}}),
            ),
            json!({"type": "object", "additionalProperties": rule("self.s.size() < 5",
                json!({"type": "object", "properties": {"s": {"type": "string"}}}))}),
        ];
        for f in accepted {
            assert_eq!(check(&crd(f.clone())), Vec::<String>::new(), "{f}");
        }
    }

    #[test]
    fn factors_are_worded_as_the_server_words_them() {
        assert!(exceeds(2e9, RULE_LIMIT).contains("more than 100x"));
        assert!(exceeds(57e6, RULE_LIMIT).contains("factor of 5.7x"));
        assert!(exceeds(12_582_910.0, RULE_LIMIT).contains("factor of 1.258291x"));
    }
}

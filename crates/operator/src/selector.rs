//! Label selector matching (metav1.LabelSelector): `matchLabels` and `matchExpressions`
//! with In, NotIn, Exists and DoesNotExist, as the API server evaluates them.
//!
//! An unknown operator never matches anything: a selector we cannot understand must not
//! enrol a workload by accident. `validate_selector` names the offending field so the
//! caller can put it into a status condition.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

/// True when `labels` satisfy every requirement of `selector`. An empty selector matches
/// everything, as in Kubernetes.
pub fn selector_matches(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    let labels_ok = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(key, value)| labels.get(key) == Some(value));
    labels_ok
        && selector.match_expressions.iter().flatten().all(|req| {
            let values = req.values.as_deref().unwrap_or_default();
            match req.operator.as_str() {
                "In" => labels.get(&req.key).is_some_and(|v| values.contains(v)),
                "NotIn" => labels.get(&req.key).is_none_or(|v| !values.contains(v)),
                "Exists" => labels.contains_key(&req.key),
                "DoesNotExist" => !labels.contains_key(&req.key),
                _ => false,
            }
        })
}

/// Checks a selector's expressions; `path` is its field path (e.g. `spec.selector`).
pub fn validate_selector(selector: &LabelSelector, path: &str) -> Result<(), String> {
    for (i, req) in selector.match_expressions.iter().flatten().enumerate() {
        let at = format!("{path}.matchExpressions[{i}]");
        let has_values = req.values.as_ref().is_some_and(|v| !v.is_empty());
        match req.operator.as_str() {
            "In" | "NotIn" if !has_values => {
                return Err(format!(
                    "{at}.values: required when operator is {}",
                    req.operator
                ));
            }
            "Exists" | "DoesNotExist" if has_values => {
                return Err(format!(
                    "{at}.values: must be empty when operator is {}",
                    req.operator
                ));
            }
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            other => {
                return Err(format!(
                    "{at}.operator: unknown operator {other:?} (use In, NotIn, Exists or DoesNotExist)"
                ));
            }
        }
    }
    Ok(())
}

/// Parses a selector in its text form, as a `scale` subresource's `status.selector` has it
/// (`a=b,c!=d,e in (x,y),f notin (z),g,!h`), into a LabelSelector (`!=` is `NotIn` with one
/// value, as the API server treats it).
pub fn parse_selector_text(text: &str) -> Result<LabelSelector, String> {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;
    // Split on commas outside parentheses.
    let mut parts = vec![];
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    let requirement =
        |key: &str, operator: &str, values: Option<Vec<String>>| LabelSelectorRequirement {
            key: key.trim().to_string(),
            operator: operator.into(),
            values,
        };
    let set = |rest: &str| -> Result<Vec<String>, String> {
        let inner = rest
            .trim()
            .strip_prefix('(')
            .and_then(|r| r.strip_suffix(')'))
            .ok_or_else(|| format!("{text:?}: expected a parenthesised set of values"))?;
        Ok(inner.split(',').map(|v| v.trim().to_string()).collect())
    };
    let mut expressions = vec![];
    for part in parts.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        let req = if let Some((k, rest)) = part.split_once(" notin ") {
            requirement(k, "NotIn", Some(set(rest)?))
        } else if let Some((k, rest)) = part.split_once(" in ") {
            requirement(k, "In", Some(set(rest)?))
        } else if let Some((k, v)) = part.split_once("!=") {
            requirement(k, "NotIn", Some(vec![v.trim().to_string()]))
        } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
            requirement(k, "In", Some(vec![v.trim().to_string()]))
        } else if let Some(k) = part.strip_prefix('!') {
            requirement(k, "DoesNotExist", None)
        } else {
            requirement(part, "Exists", None)
        };
        if req.key.is_empty() || req.key.contains(char::is_whitespace) {
            return Err(format!("{text:?}: {part:?} is not a label requirement"));
        }
        expressions.push(req);
    }
    Ok(LabelSelector {
        match_expressions: Some(expressions),
        match_labels: None,
    })
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn expr(key: &str, op: &str, values: &[&str]) -> LabelSelectorRequirement {
        LabelSelectorRequirement {
            key: key.into(),
            operator: op.into(),
            values: (!values.is_empty()).then(|| values.iter().map(|v| v.to_string()).collect()),
        }
    }

    #[test]
    fn match_labels_require_every_pair() {
        let sel = LabelSelector {
            match_labels: Some(labels(&[
                ("env", "production"),
                ("thoras.ai/enabled", "true"),
            ])),
            ..Default::default()
        };
        assert!(selector_matches(
            &sel,
            &labels(&[
                ("env", "production"),
                ("thoras.ai/enabled", "true"),
                ("x", "y")
            ])
        ));
        assert!(!selector_matches(&sel, &labels(&[("env", "production")])));
        assert!(!selector_matches(
            &sel,
            &labels(&[("env", "staging"), ("thoras.ai/enabled", "true")])
        ));
    }

    #[test]
    fn match_expressions_follow_kubernetes_semantics() {
        let sel = |e| LabelSelector {
            match_expressions: Some(vec![e]),
            ..Default::default()
        };
        let tier = labels(&[("tier", "frontend")]);
        let none = labels(&[]);
        assert!(selector_matches(
            &sel(expr("tier", "In", &["frontend", "backend"])),
            &tier
        ));
        assert!(!selector_matches(
            &sel(expr("tier", "In", &["backend"])),
            &tier
        ));
        assert!(!selector_matches(
            &sel(expr("tier", "In", &["frontend"])),
            &none
        ));
        assert!(selector_matches(
            &sel(expr("priority", "NotIn", &["critical"])),
            &none
        ));
        assert!(!selector_matches(
            &sel(expr("tier", "NotIn", &["frontend"])),
            &tier
        ));
        assert!(selector_matches(&sel(expr("tier", "Exists", &[])), &tier));
        assert!(!selector_matches(
            &sel(expr("tier", "DoesNotExist", &[])),
            &tier
        ));
        assert!(selector_matches(
            &sel(expr("tier", "DoesNotExist", &[])),
            &none
        ));
        assert!(!selector_matches(
            &sel(expr("tier", "Matches", &["x"])),
            &tier
        ));
    }

    #[test]
    fn empty_selector_matches_everything() {
        assert!(selector_matches(
            &LabelSelector::default(),
            &labels(&[("a", "b")])
        ));
    }

    #[test]
    fn validation_names_the_field() {
        let sel = LabelSelector {
            match_expressions: Some(vec![expr("a", "Exists", &[]), expr("b", "In", &[])]),
            ..Default::default()
        };
        let err = validate_selector(&sel, "spec.selector").unwrap_err();
        assert!(
            err.starts_with("spec.selector.matchExpressions[1].values"),
            "{err}"
        );
        let sel = LabelSelector {
            match_expressions: Some(vec![expr("a", "Eq", &["x"])]),
            ..Default::default()
        };
        assert!(
            validate_selector(&sel, "spec.selector")
                .unwrap_err()
                .contains("operator")
        );
    }

    #[test]
    fn selector_text_parses_as_the_api_server_reads_it() {
        let sel = parse_selector_text("app=web,tier in (a, b),env!=dev,canary,!legacy").unwrap();
        let labels = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert!(selector_matches(
            &sel,
            &labels(&[("app", "web"), ("tier", "b"), ("canary", "")])
        ));
        assert!(!selector_matches(
            &sel,
            &labels(&[("app", "web"), ("tier", "c"), ("canary", "")])
        ));
        assert!(!selector_matches(
            &sel,
            &labels(&[
                ("app", "web"),
                ("tier", "a"),
                ("canary", ""),
                ("env", "dev")
            ])
        ));
        assert!(!selector_matches(
            &sel,
            &labels(&[
                ("app", "web"),
                ("tier", "a"),
                ("canary", ""),
                ("legacy", "1")
            ])
        ));
        assert!(parse_selector_text("a in x").is_err());
        assert!(selector_matches(
            &parse_selector_text("").unwrap(),
            &labels(&[])
        ));
    }
}

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
}

//! deploy/crds.yaml is generated from the Rust types; this fails when the two drift.

use std::path::Path;

#[test]
fn deploy_crds_match_the_types() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/crds.yaml");
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = prescale_api::crd::crds_yaml();
    assert!(
        checked_in == generated,
        "{} is out of date with the Rust types; regenerate it with:\n  cargo run -p prescale -- crds > deploy/crds.yaml",
        path.display()
    );
}

#[test]
fn crds_carry_names_columns_and_rules() {
    let crds = prescale_api::crd::crds();
    let ast = &crds[0];
    assert_eq!(ast.spec.names.short_names, Some(vec!["ast".to_string()]));
    assert!(
        ast.spec.versions[0]
            .subresources
            .as_ref()
            .unwrap()
            .status
            .is_some()
    );
    let columns: Vec<_> = ast.spec.versions[0]
        .additional_printer_columns
        .iter()
        .flatten()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        columns,
        [
            "Ready",
            "Scaling",
            "CPU",
            "Memory",
            "Replicas",
            "Applied",
            "Model",
            "Horizontal",
            "Vertical",
            "Age"
        ]
    );
    let template = &crds[1];
    assert_eq!(template.spec.scope, "Cluster");
    assert_eq!(
        template.spec.names.short_names,
        Some(vec!["clusterast".to_string(), "astt".to_string()])
    );
    // AIBrix's PodAutoscaler: its columns, no short name (AIBrix has none, and Knative's
    // PodAutoscaler already claims `pa` and `kpa`).
    let pa = &crds[2];
    assert_eq!(pa.spec.names.kind, "PodAutoscaler");
    assert_eq!(pa.spec.group, "autoscaling.aibrix.ai");
    assert_eq!(pa.spec.scope, "Namespaced");
    assert_eq!(pa.spec.names.short_names, None);
    let version = &pa.spec.versions[0];
    assert_eq!(version.name, "v1alpha1");
    assert!(version.subresources.as_ref().unwrap().status.is_some());
    let columns: Vec<_> = version
        .additional_printer_columns
        .iter()
        .flatten()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        columns,
        ["MINPODS", "MAXPODS", "REPLICAS", "STRATEGY", "AGE"]
    );
    let json = serde_json::to_value(&crds).unwrap();
    let rules = all_strings_at(&json, "rule");
    let patterns = all_strings_at(&json, "pattern");
    for rule in prescale_api::podautoscaler::rules::RULES {
        assert!(
            rules.contains(rule.cel),
            "the PodAutoscaler CRD lacks the rule {:?}",
            rule.cel
        );
    }
    for rule in prescale_api::rules::RULES {
        assert!(
            rules.contains(rule.cel),
            "the CRDs lack the rule {:?}",
            rule.cel
        );
    }
    for format in prescale_api::rules::PATTERNS {
        assert!(
            patterns.contains(format.pattern),
            "the CRDs lack the pattern {:?}",
            format.pattern
        );
    }
}

/// Every string value of a key named `key`, anywhere in `value`.
fn all_strings_at(value: &serde_json::Value, key: &str) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            serde_json::Value::Object(map) => {
                for (k, child) in map {
                    if k == key
                        && let Some(s) = child.as_str()
                    {
                        out.insert(s.to_string());
                    }
                    stack.push(child);
                }
            }
            serde_json::Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    out
}

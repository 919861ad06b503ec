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
    assert_eq!(columns, ["Model", "Horizontal", "Vertical", "Age"]);
    let template = &crds[1];
    assert_eq!(template.spec.scope, "Cluster");
    assert_eq!(
        template.spec.names.short_names,
        Some(vec!["clusterast".to_string(), "astt".to_string()])
    );
    let json = serde_json::to_string(&crds).unwrap();
    for rule in [
        prescale_api::rules::TARGET_REF_XOR_SELECTOR,
        prescale_api::rules::SELECTOR_NO_HORIZONTAL,
        prescale_api::rules::CRON_XOR_INTERVAL,
        prescale_api::rules::INTERVAL_WITHIN_BLOCKS,
        prescale_api::rules::PERCENTILE_NEEDS_VALUE,
        prescale_api::rules::LOWERBOUND_REQUIRED,
        prescale_api::rules::LOWER_WITHIN_UPPER,
        prescale_api::rules::INCLUDED_XOR_EXCLUDED,
        prescale_api::rules::MEMORY_LIMIT_NEEDS_RESTART,
        prescale_api::rules::MULTIPLE_XOR_ALLOWED,
        prescale_api::rules::IN_PLACE_MATCHES_UPDATE_MODE,
        prescale_api::rules::PERCENT_WELL_FORMED,
        prescale_api::rules::DURATION_HAS_UNIT,
    ] {
        assert!(
            json.contains(rule.message),
            "CRDs lack the rule {:?}",
            rule.cel
        );
    }
}

//! The chart's files that come from the Rust code: `crds/crds.yaml` is `prescale crds`,
//! `files/rbac-rules.yaml` is the RBAC table (`prescale_operator::rbac`), and Chart.yaml's
//! versions are the crate's. These tests need no helm. `PRESCALE_UPDATE_CHART=1` rewrites
//! the generated files instead of failing.

use prescale_operator::rbac::{GRANTS, Scope, rules};

use crate::support::chart;

const UPDATE_ENV: &str = "PRESCALE_UPDATE_CHART";

/// The chart's RBAC rules, one per grant of the table, with the reason as a comment.
fn rbac_rules_yaml() -> String {
    let mut out = String::from(
        "# Generated from crates/operator/src/rbac.rs (GRANTS): do not edit. Regenerate with\n\
         #   PRESCALE_UPDATE_CHART=1 cargo test -p prescale --test helm files::\n",
    );
    for (key, scope) in [
        ("cluster", Scope::Cluster),
        ("operatorNamespace", Scope::OperatorNamespace),
    ] {
        out.push_str(&format!("{key}:\n"));
        let grants = GRANTS.iter().filter(|g| g.scope == scope);
        for (grant, rule) in grants.zip(rules(scope)) {
            out.push_str(&format!("  # {}\n  - {rule}\n", grant.needed_by));
        }
    }
    out
}

/// Fails (or, with PRESCALE_UPDATE_CHART=1, rewrites the file) when `path` in the chart is
/// not `generated`.
fn check_generated(path: &str, generated: &str) {
    let file = chart().join(path);
    if std::env::var(UPDATE_ENV).as_deref() == Ok("1") {
        std::fs::write(&file, generated).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        return;
    }
    let checked_in = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(
        checked_in == generated,
        "{} is out of date with the Rust code; regenerate it with:\n  \
         {UPDATE_ENV}=1 cargo test -p prescale --test helm files::",
        file.display()
    );
}

#[test]
fn chart_crds_are_prescale_crds() {
    check_generated("crds/crds.yaml", &prescale_api::crd::crds_yaml());
}

#[test]
fn chart_rbac_rules_are_the_rbac_table() {
    check_generated("files/rbac-rules.yaml", &rbac_rules_yaml());
}

#[test]
fn chart_versions_are_the_crate_version() {
    let text = std::fs::read_to_string(chart().join("Chart.yaml")).expect("Chart.yaml");
    let chart: serde_json::Value = serde_saphyr::from_str(&text).expect("Chart.yaml is YAML");
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(chart["version"], version, "Chart.yaml version");
    assert_eq!(
        chart["appVersion"], version,
        "Chart.yaml appVersion: the image tag the chart deploys"
    );
}

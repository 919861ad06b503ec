//! The chart's files that come from the Rust code: `crds/<name>.yaml` is each CRD of
//! `prescale crds` (one file per CRD, so a cluster that keeps AIBrix's own PodAutoscaler CRD
//! can apply prescale's other two alone),
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
    let mut expected = vec![];
    for crd in prescale_api::crd::crds() {
        let name = crd.metadata.name.clone().expect("every CRD is named");
        let yaml = serde_saphyr::to_string(&crd).expect("a CRD serialises");
        let file = format!("{name}.yaml");
        check_generated(&format!("crds/{file}"), &format!("---\n{yaml}"));
        expected.push(file);
    }
    // No file of a CRD that no longer exists (Helm would still install it).
    let dir = chart().join("crds");
    for entry in std::fs::read_dir(&dir).expect("the chart's crds/") {
        let entry = entry.expect("a crds/ entry");
        let file = entry.file_name().to_string_lossy().into_owned();
        if expected.contains(&file) {
            continue;
        }
        if std::env::var(UPDATE_ENV).as_deref() == Ok("1") {
            std::fs::remove_file(entry.path()).expect("removing a stale CRD file");
        } else {
            panic!(
                "{} is not a CRD of `prescale crds`; remove it, or run:\n  \
                 {UPDATE_ENV}=1 cargo test -p prescale --test helm files::",
                entry.path().display()
            );
        }
    }
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

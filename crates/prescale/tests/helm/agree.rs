//! One source of truth: `helm template prescale` and `prescale install` render the same
//! objects, compared object by object after normalising what only Helm adds (its labels) or
//! leaves to `--create-namespace` (the Namespace). A change to one that is not made to the
//! other fails here, naming the object and the field.

use std::process::Command;

use serde_json::Value;

use crate::support::{documents, helm, key, render, run};

/// Labels Helm's objects carry and `prescale install`'s do not.
const HELM_LABELS: &[&str] = &[
    "app.kubernetes.io/instance",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/version",
    "helm.sh/chart",
];

/// Pairs of (`prescale install` flags, the same installation as Helm values), each
/// covering flags of the other pairs' defaults.
const SAME_INSTALLATION: &[(&str, &[&str], &[&str])] = &[
    ("defaults", &[], &[]),
    (
        "seed 003 registry, pull secret and volume",
        &[
            "--image-registry",
            "registry.example.com/mirror",
            "--image-pull-secret",
            "license",
            "--persistence-size",
            "100Gi",
            "--storage-class-name",
            "efs",
            "--volume-name",
            "pv-prescale",
        ],
        &[
            "--set",
            "imageCredentials.registry=registry.example.com/mirror",
            "--set",
            "imageCredentials.secretRef=license",
            "--set",
            "metricsCollector.persistence.pvcStorageRequestSize=100Gi",
            "--set",
            "metricsCollector.persistence.storageClassName=efs",
            "--set",
            "metricsCollector.persistence.volumeName=pv-prescale",
        ],
    ),
    (
        "PostgreSQL from a Secret, two operators, three forecasting processes",
        &[
            "--postgres-secret",
            "history-db",
            "--operator-replicas",
            "2",
            "--worker-replicas",
            "2",
        ],
        &[
            "--set",
            "historyStore.type=external",
            "--set",
            "historyStore.external.secretRef=history-db",
            "--set",
            "operator.replicas=2",
            "--set",
            "thorasForecast.worker.replicas=3",
        ],
    ),
    (
        "no persistence",
        &["--persistence-enabled", "false"],
        &["--set", "metricsCollector.persistence.enabled=false"],
    ),
];

/// `prescale install --namespace <namespace> <flags>`, without its Namespace.
fn install(namespace: &str, flags: &[&str]) -> Vec<Value> {
    let out = run(
        Command::new(env!("CARGO_BIN_EXE_prescale"))
            .args(["install", "--namespace", namespace])
            .args(flags),
        None,
    );
    assert!(out.ok, "prescale install {flags:?}: {}", out.stderr);
    documents(&out.stdout)
        .into_iter()
        .filter(|o| o["kind"] != "Namespace")
        .collect()
}

/// Drops Helm's labels, and the nulls, empty lists and empty maps that mean "unset" to
/// the API server, everywhere in `value`.
fn normalise(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for label in HELM_LABELS {
                map.remove(*label);
            }
            map.values_mut().for_each(normalise);
            map.retain(|_, v| !is_unset(v));
        }
        Value::Array(items) => {
            items.iter_mut().for_each(normalise);
        }
        _ => {}
    }
}

fn is_unset(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

/// Every difference between `a` (install) and `b` (chart), as `path: install X, chart Y`.
fn differences(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let (va, vb) = (
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                );
                differences(&format!("{path}.{k}"), va, vb, out);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                differences(&format!("{path}[{i}]"), va, vb, out);
            }
        }
        _ if a == b => {}
        _ => out.push(format!("{path}: install {a}, chart {b}")),
    }
}

/// Compares the two renderings object by object; the message lists every object only one
/// of them has and every field that differs.
fn assert_same_objects(what: &str, mut install: Vec<Value>, mut chart: Vec<Value>) {
    install.iter_mut().for_each(normalise);
    chart.iter_mut().for_each(normalise);
    let mut problems = vec![];
    for object in &install {
        match chart.iter().find(|c| key(c) == key(object)) {
            None => problems.push(format!("only in prescale install: {}", key(object))),
            Some(rendered) => {
                let mut diffs = vec![];
                differences("", object, rendered, &mut diffs);
                problems.extend(diffs.into_iter().map(|d| format!("{}{d}", key(object))));
            }
        }
    }
    for rendered in &chart {
        if !install.iter().any(|o| key(o) == key(rendered)) {
            problems.push(format!("only in the chart: {}", key(rendered)));
        }
    }
    assert!(
        problems.is_empty(),
        "{what}: `prescale install` and the chart differ (change both: \
         crates/operator/src/install.rs and deploy/helm/prescale):\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn chart_renders_what_prescale_install_prints() {
    let Some(helm) = helm("chart_renders_what_prescale_install_prints") else {
        return;
    };
    let namespace = "prescale-system";
    for (what, flags, values) in SAME_INSTALLATION {
        assert_same_objects(
            what,
            install(namespace, flags),
            render(helm, namespace, values),
        );
    }
}

#[test]
fn comparison_catches_a_difference() {
    // The comparison itself must fail on a changed field and on a missing object.
    let install = vec![
        serde_json::json!({"kind": "Service", "metadata": {"name": "a", "namespace": "n"}, "spec": {"ports": [{"port": 8080}]}}),
    ];
    let changed = vec![
        serde_json::json!({"kind": "Service", "metadata": {"name": "a", "namespace": "n", "labels": {"helm.sh/chart": "x"}}, "spec": {"ports": [{"port": 9090}]}}),
    ];
    let message =
        std::panic::catch_unwind(|| assert_same_objects("test", install.clone(), changed.clone()))
            .expect_err("a changed port must fail")
            .downcast::<String>()
            .unwrap();
    assert!(
        message.contains("Service n/a.spec.ports[0].port: install 8080, chart 9090"),
        "{message}"
    );
    assert!(
        std::panic::catch_unwind(|| assert_same_objects("test", install.clone(), vec![])).is_err()
    );
    // Helm's labels alone are no difference.
    let mut labelled = install.clone();
    labelled[0]["metadata"]["labels"] = serde_json::json!({"app.kubernetes.io/managed-by": "Helm"});
    assert_same_objects("test", install, labelled);
}

//! `helm lint` and `helm template`: the chart is clean, every example values file of seed 003
//! renders what it says, and values.schema.json refuses a wrong value with its path.

use std::process::Command;

use serde_json::Value;

use crate::support::{chart, example, find, helm, render, run, template};

const NS: &str = "prescale-system";

/// The examples/ files written after seed 003, one per value set the seed shows.
pub const SEED_EXAMPLES: &[&str] = &[
    "seed-003-license-password.yaml",
    "seed-003-license-secret-ref.yaml",
    "seed-003-worker-capacity.yaml",
    "seed-003-pvc-size.yaml",
    "seed-003-storage-class.yaml",
    "seed-003-volume-name.yaml",
    "seed-003-private-registry.yaml",
];

fn values(name: &str) -> [String; 2] {
    ["-f".into(), example(name).display().to_string()]
}

fn render_example(helm: &std::path::Path, name: &str) -> Vec<Value> {
    let args = values(name);
    render(helm, NS, &[&args[0], &args[1]])
}

fn pod_spec(deployment: &Value) -> &Value {
    &deployment["spec"]["template"]["spec"]
}

#[test]
fn helm_lint_passes() {
    let Some(helm) = helm("helm_lint_passes") else {
        return;
    };
    let mut files: Vec<String> = vec![];
    for name in SEED_EXAMPLES.iter().chain(&["postgresql-workers.yaml"]) {
        files.extend(values(name));
    }
    // Defaults, then each example on its own.
    let out = run(
        Command::new(helm).args(["lint", "--strict"]).arg(chart()),
        None,
    );
    assert!(out.ok, "helm lint --strict:\n{}", out.text());
    for pair in files.chunks(2) {
        let out = run(
            Command::new(helm)
                .args(["lint", "--strict"])
                .arg(chart())
                .args(pair),
            None,
        );
        assert!(out.ok, "helm lint --strict {pair:?}:\n{}", out.text());
    }
}

#[test]
fn every_seed_example_renders_what_it_says() {
    let Some(helm) = helm("every_seed_example_renders_what_it_says") else {
        return;
    };
    // Option 1: the license becomes the pull Secret of every pod, for the registry's host.
    let objects = render_example(helm, "seed-003-license-password.yaml");
    let secret = find(&objects, "Secret", "prescale-image-credentials");
    assert_eq!(secret["type"], "kubernetes.io/dockerconfigjson");
    let config = base64_decode(secret["data"][".dockerconfigjson"].as_str().unwrap());
    let config: Value = serde_json::from_slice(&config).unwrap();
    assert!(
        config["auths"]["ghcr.io"]["password"]
            .as_str()
            .unwrap()
            .contains("not-a-real-key"),
        "{config}"
    );
    let operator = find(&objects, "Deployment", "prescale-operator");
    assert_eq!(
        pod_spec(operator)["imagePullSecrets"],
        serde_json::json!([{"name": "prescale-image-credentials"}])
    );

    // Option 2: an existing Secret, and no Secret of the chart's.
    let objects = render_example(helm, "seed-003-license-secret-ref.yaml");
    assert!(!objects.iter().any(|o| o["kind"] == "Secret"));
    let operator = find(&objects, "Deployment", "prescale-operator");
    assert_eq!(
        pod_spec(operator)["imagePullSecrets"],
        serde_json::json!([{"name": "thoras-license"}])
    );

    // Worker capacity 3: the operator and two workers, on the in-chart PostgreSQL.
    let objects = render_example(helm, "seed-003-worker-capacity.yaml");
    let worker = find(&objects, "Deployment", "prescale-worker");
    assert_eq!(worker["spec"]["replicas"], 2);
    assert_eq!(pod_spec(worker)["containers"][0]["args"][0], "worker");
    find(&objects, "StatefulSet", "prescale-postgresql");
    for name in ["prescale-operator", "prescale-worker"] {
        let env = &pod_spec(find(&objects, "Deployment", name))["containers"][0]["env"];
        assert!(
            env.as_array()
                .unwrap()
                .iter()
                .any(|e| e["name"] == "PRESCALE_STORE"
                    && e["valueFrom"]["secretKeyRef"]
                        == serde_json::json!({"name": "prescale-postgresql", "key": "url"})),
            "{name} reads the store URL from the chart's Secret: {env}"
        );
    }
    assert!(
        !objects.iter().any(|o| o["kind"] == "PersistentVolumeClaim"),
        "the history lives in PostgreSQL's volume"
    );

    // The volume: size, StorageClass, existing PersistentVolume.
    let claim = |name: &str| {
        let objects = render_example(helm, name);
        find(&objects, "PersistentVolumeClaim", "prescale-history")["spec"].clone()
    };
    assert_eq!(
        claim("seed-003-pvc-size.yaml")["resources"]["requests"]["storage"],
        "100Gi"
    );
    assert_eq!(
        claim("seed-003-storage-class.yaml")["storageClassName"],
        "efs-sc"
    );
    assert_eq!(
        claim("seed-003-volume-name.yaml")["volumeName"],
        "prescale-history-pv"
    );

    // A private registry: every prescale image comes from it.
    let objects = render_example(helm, "seed-003-private-registry.yaml");
    let operator = find(&objects, "Deployment", "prescale-operator");
    assert_eq!(
        pod_spec(operator)["containers"][0]["image"],
        format!(
            "your-private-registry.example.com/thoras/prescale:{}",
            env!("CARGO_PKG_VERSION")
        )
    );
}

#[test]
fn postgresql_workers_render_a_shared_store() {
    let Some(helm) = helm("postgresql_workers_render_a_shared_store") else {
        return;
    };
    let objects = render_example(helm, "postgresql-workers.yaml");
    let statefulset = find(&objects, "StatefulSet", "prescale-postgresql");
    assert_eq!(
        statefulset["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"],
        "20Gi",
        "metricsCollector.persistence sizes PostgreSQL's volume"
    );
    let secret = find(&objects, "Secret", "prescale-postgresql");
    let url = String::from_utf8(base64_decode(secret["data"]["url"].as_str().unwrap())).unwrap();
    let password =
        String::from_utf8(base64_decode(secret["data"]["password"].as_str().unwrap())).unwrap();
    assert_eq!(
        url,
        format!("postgres://prescale:{password}@prescale-postgresql.{NS}.svc:5432/prescale")
    );
    assert_eq!(password.len(), 32, "a generated password");
    let operator = find(&objects, "Deployment", "prescale-operator");
    assert_eq!(operator["spec"]["replicas"], 2);
    assert_eq!(operator["spec"]["strategy"]["type"], "RollingUpdate");
    let args = &pod_spec(operator)["containers"][0]["args"];
    assert!(
        args.as_array()
            .unwrap()
            .contains(&"--prometheus-url=http://prometheus-server.monitoring:9090".into()),
        "{args}"
    );
    for name in ["prescale-operator", "prescale-worker"] {
        let pdb = find(&objects, "PodDisruptionBudget", name);
        assert_eq!(pdb["spec"]["maxUnavailable"], 1);
        assert_eq!(
            pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"],
            name
        );
    }
}

#[test]
fn release_names_prefix_every_object() {
    let Some(helm) = helm("release_names_prefix_every_object") else {
        return;
    };
    // Two releases in one cluster never share a name; in one namespace neither a selector.
    let out = run(
        Command::new(helm)
            .args(["template", "tenant-a"])
            .arg(chart())
            .args(["-n", "shared", "--set", "thorasForecast.worker.replicas=2"]),
        None,
    );
    assert!(out.ok, "{}", out.stderr);
    let objects = crate::support::documents(&out.stdout);
    for object in &objects {
        let name = object["metadata"]["name"].as_str().unwrap();
        assert!(name.starts_with("tenant-a-prescale-"), "{name}");
    }
    let role = find(&objects, "ClusterRole", "tenant-a-prescale-operator-shared");
    assert!(role["rules"].as_array().is_some_and(|r| !r.is_empty()));
    let worker = find(&objects, "Deployment", "tenant-a-prescale-worker");
    assert_eq!(
        worker["spec"]["selector"]["matchLabels"]["app.kubernetes.io/instance"],
        "tenant-a"
    );
}

/// (values, the path and words helm's refusal must name).
const WRONG_VALUES: &[(&str, &[&str])] = &[
    (
        "thorasForecast:\n  worker:\n    replicas: \"three\"\n",
        &["/thorasForecast/worker/replicas", "string"],
    ),
    (
        "thorasForecast:\n  worker:\n    replica: 3\n",
        &["/thorasForecast/worker", "replica"],
    ),
    (
        "metricsCollector:\n  persistence:\n    pvcStorageRequestSize: 100GB\n",
        &["/metricsCollector/persistence/pvcStorageRequestSize"],
    ),
    ("historyStore:\n  type: sqlite\n", &["/historyStore/type"]),
    ("imageCredential:\n  password: x\n", &["imageCredential"]),
];

/// (values, words of the chart's own refusal) for what the schema cannot express.
const CONFLICTING_VALUES: &[(&str, &[&str])] = &[
    (
        "historyStore:\n  type: embedded\nthorasForecast:\n  worker:\n    replicas: 2\n",
        &["thorasForecast.worker.replicas 2", "historyStore.type"],
    ),
    (
        "historyStore:\n  type: embedded\noperator:\n  replicas: 2\n",
        &["operator.replicas 2", "historyStore.type"],
    ),
    (
        "imageCredentials:\n  password: x\n  secretRef: pull\n",
        &["imageCredentials.password", "imageCredentials.secretRef"],
    ),
    (
        "historyStore:\n  type: external\n",
        &["historyStore.external.secretRef"],
    ),
];

#[test]
fn wrong_values_are_refused_with_their_path() {
    let Some(helm) = helm("wrong_values_are_refused_with_their_path") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for (i, (values, words)) in WRONG_VALUES.iter().chain(CONFLICTING_VALUES).enumerate() {
        let by_schema = i < WRONG_VALUES.len();
        let file = dir.path().join(format!("values-{i}.yaml"));
        std::fs::write(&file, values).unwrap();
        let file = file.display().to_string();
        let out = template(helm, NS, &["-f", &file]);
        assert!(!out.ok, "helm template accepted:\n{values}");
        for word in *words {
            assert!(
                out.stderr.contains(word),
                "helm template's refusal of\n{values}\ndoes not name {word:?}:\n{}",
                out.stderr
            );
        }
        // helm lint runs the schema too; the chart's own checks (`fail`) it only logs.
        if !by_schema {
            continue;
        }
        let lint = run(
            Command::new(helm)
                .arg("lint")
                .arg(chart())
                .args(["-f", &file]),
            None,
        );
        assert!(!lint.ok, "helm lint accepted:\n{values}");
        assert!(
            lint.text().contains(words[0]),
            "helm lint's refusal does not name {:?}:\n{}",
            words[0],
            lint.text()
        );
    }
}

/// Standard base64 (what Helm's b64enc writes), decoded.
fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap_or_else(|e| panic!("not base64 ({e}): {text}"))
}

#[test]
fn service_monitor_scheduling_and_flags_render_where_asked() {
    let Some(helm) = helm("service_monitor_scheduling_and_flags_render_where_asked") else {
        return;
    };
    let objects = render(
        helm,
        NS,
        &[
            "--set",
            "metrics.serviceMonitor.enabled=true",
            "--set",
            "metrics.serviceMonitor.labels.release=kube-prometheus-stack",
            "--set",
            "nodeSelector.pool=system",
            "--set",
            "thorasForecast.worker.replicas=2",
            "--set",
            "thorasForecast.worker.nodeSelector.pool=batch",
            "--set",
            "operator.priorityClassName=system-cluster-critical",
            "--set",
            "extraArgs={--watch-namespaces=shop}",
            "--set",
            "logJson=true",
            "--set",
            "image.pullPolicy=Always",
        ],
    );
    // The ServiceMonitor selects the operator's Service, in the release namespace.
    let monitor = find(&objects, "ServiceMonitor", "prescale-operator");
    assert_eq!(
        monitor["metadata"]["labels"]["release"],
        "kube-prometheus-stack"
    );
    let service = find(&objects, "Service", "prescale-operator");
    for (label, value) in monitor["spec"]["selector"]["matchLabels"]
        .as_object()
        .unwrap()
    {
        assert_eq!(&service["metadata"]["labels"][label], value, "{label}");
    }
    assert_eq!(monitor["spec"]["endpoints"][0]["port"], "http");

    // Release-wide scheduling where a component sets none; its own where it does.
    let operator = pod_spec(find(&objects, "Deployment", "prescale-operator"));
    let worker = pod_spec(find(&objects, "Deployment", "prescale-worker"));
    let postgresql =
        &find(&objects, "StatefulSet", "prescale-postgresql")["spec"]["template"]["spec"];
    assert_eq!(operator["nodeSelector"]["pool"], "system");
    assert_eq!(postgresql["nodeSelector"]["pool"], "system");
    assert_eq!(worker["nodeSelector"]["pool"], "batch");
    assert_eq!(operator["priorityClassName"], "system-cluster-critical");
    assert!(worker.get("priorityClassName").is_none());

    for spec in [operator, worker] {
        let container = &spec["containers"][0];
        assert!(
            container["args"]
                .as_array()
                .unwrap()
                .contains(&"--watch-namespaces=shop".into()),
            "{container}"
        );
        assert!(
            container["env"]
                .as_array()
                .unwrap()
                .contains(&serde_json::json!({"name": "PRESCALE_LOG_JSON", "value": "true"}))
        );
        assert_eq!(container["imagePullPolicy"], "Always");
    }

    // Off by default: no ServiceMonitor, no PodDisruptionBudget, no PostgreSQL.
    let defaults = render(helm, NS, &[]);
    for kind in [
        "ServiceMonitor",
        "PodDisruptionBudget",
        "StatefulSet",
        "Secret",
    ] {
        assert!(!defaults.iter().any(|o| o["kind"] == kind), "{kind}");
    }
    // Without persistence, PostgreSQL keeps its data in an emptyDir and claims nothing.
    let objects = render(
        helm,
        NS,
        &[
            "--set",
            "historyStore.type=postgresql",
            "--set",
            "metricsCollector.persistence.enabled=false",
        ],
    );
    let statefulset = find(&objects, "StatefulSet", "prescale-postgresql");
    assert!(statefulset["spec"].get("volumeClaimTemplates").is_none());
    assert!(
        statefulset["spec"]["template"]["spec"]["volumes"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!({"name": "data", "emptyDir": {}}))
    );
}

//! `prescale crds`, `prescale install` and the seed manifests through the real kubectl,
//! against the simulated cluster.

use std::path::Path;
use std::process::{Command, Stdio};

use prescale_sim::testing::TestCluster;

fn prescale(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_prescale"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "prescale {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs kubectl with `input` on stdin; returns (success, stdout + stderr).
fn kubectl(kubeconfig: &Path, args: &[&str], input: Option<&str>) -> (bool, String) {
    let mut child = Command::new("kubectl")
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl must be installed (scripts/test checks for it)");
    if let Some(input) = input {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crds_install_and_seed_manifests_apply_with_kubectl() {
    let cluster = TestCluster::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    cluster.write_kubeconfig(&kc).unwrap();
    let kc2 = kc.clone();
    let run = move |args: &[&str], input: Option<&str>| kubectl(&kc2, args, input);

    let crds = prescale(&["crds"]);
    let (ok, out) = tokio::task::spawn_blocking({
        let run = run.clone();
        let crds = crds.clone();
        move || {
            run(
                &["apply", "--dry-run=client", "--validate=false", "-f", "-"],
                Some(&crds),
            )
        }
    })
    .await
    .unwrap();
    assert!(ok, "{out}");
    assert!(
        out.contains("aiscaletargets.thoras.ai created (dry run)"),
        "{out}"
    );

    let install = prescale(&["install"]);
    let (ok, out) = tokio::task::spawn_blocking({
        let run = run.clone();
        move || {
            run(
                &["apply", "--dry-run=client", "--validate=false", "-f", "-"],
                Some(&install),
            )
        }
    })
    .await
    .unwrap();
    assert!(ok, "{out}");
    for kind in [
        "namespace/prescale-system",
        "clusterrole.rbac.authorization.k8s.io/prescale-operator-prescale-system",
        "deployment.apps/prescale-operator",
    ] {
        assert!(
            out.contains(&format!("{kind} created (dry run)")),
            "{kind} missing in {out}"
        );
    }

    // Install the CRDs for real, then every seed example.
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../api/tests/fixtures/valid");
    let out = tokio::task::spawn_blocking(move || {
        let (ok, out) = run(&["apply", "--validate=false", "-f", "-"], Some(&crds));
        assert!(ok, "{out}");
        for ns in ["shop", "production", "jobs"] {
            let doc = format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n");
            let (ok, out) = run(&["apply", "--validate=false", "-f", "-"], Some(&doc));
            assert!(ok, "{out}");
        }
        let (ok, out) = run(
            &[
                "apply",
                "--validate=false",
                "-f",
                fixtures.to_str().unwrap(),
            ],
            None,
        );
        assert!(ok, "{out}");
        let (ok, listed) = run(&["get", "ast", "-A"], None);
        assert!(ok, "{listed}");
        let (ok, wide) = run(&["get", "ast", "-A", "-o", "wide"], None);
        assert!(ok, "{wide}");
        assert!(
            wide.contains("HORIZONTAL") && wide.contains("VERTICAL"),
            "-o wide adds the modes: {wide}"
        );
        let (ok, templates) = run(&["get", "clusterast"], None);
        assert!(ok, "{templates}");
        let (ok, deleted) = run(&["delete", "ast", "checkout", "-n", "shop"], None);
        assert!(ok, "{deleted}");
        let (ok, autoscalers) = run(&["get", "podautoscalers", "-A"], None);
        assert!(ok, "{autoscalers}");
        format!("{out}\n{listed}\n{templates}\n{autoscalers}")
    })
    .await
    .unwrap();
    assert!(
        out.contains("aiscaletarget.thoras.ai/checkout created"),
        "{out}"
    );
    assert!(
        [
            "READY", "SCALING", "CPU", "MEMORY", "REPLICAS", "APPLIED", "MODEL"
        ]
        .iter()
        .all(|c| out.contains(c)),
        "printer columns: {out}"
    );
    assert!(out.contains("production-workloads"), "{out}");
    // AIBrix's examples apply unchanged, with AIBrix's columns.
    assert!(
        out.contains(
            "podautoscaler.autoscaling.aibrix.ai/deepseek-r1-distill-llama-8b-kpa created"
        ),
        "{out}"
    );
    assert!(
        out.contains("MINPODS") && out.contains("MAXPODS") && out.contains("STRATEGY"),
        "printer columns: {out}"
    );
}

/// A simulated cluster whose clock only moves when a test calls `advance`, and a
/// kubeconfig for kubectl (in the returned directory).
async fn stepped_cluster() -> (TestCluster, tempfile::TempDir, std::path::PathBuf) {
    let cluster = TestCluster::start_with(jiff::Timestamp::now(), 0.0)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    cluster.write_kubeconfig(&kc).unwrap();
    (cluster, dir, kc)
}

/// Runs `ticks` ticks of the cluster loop, moving the clock along.
async fn advance(cluster: &TestCluster, ticks: usize) {
    for _ in 0..ticks {
        cluster.sim.clock.advance(std::time::Duration::from_secs(
            prescale_sim::cluster::TICK_SECS,
        ));
        prescale_sim::cluster::tick(&cluster.sim).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_scale_rollout_restart_metrics_watch_and_cascading_delete() {
    let (cluster, _dir, kc) = stepped_cluster().await;
    let tick = |n: usize| advance(&cluster, n);
    let manifest = r#"
apiVersion: v1
kind: Node
metadata: {name: n1}
status: {allocatable: {cpu: "8", memory: 16Gi}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx
        resources: {requests: {cpu: 100m, memory: 64Mi}}
"#;
    let run = |args: &[&str], input: Option<&str>| kubectl(&kc, args, input);
    let (ok, out) = tokio::task::block_in_place(|| {
        run(&["apply", "--validate=false", "-f", "-"], Some(manifest))
    });
    assert!(ok, "{out}");
    let (ok, out) =
        tokio::task::block_in_place(|| run(&["scale", "deployment/web", "--replicas=3"], None));
    assert!(ok, "{out}");
    tick(4).await;
    let pods = |out: &str| {
        out.lines()
            .filter(|l| l.starts_with("web-"))
            .map(|l| l.split_whitespace().next().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let (ok, out) = tokio::task::block_in_place(|| run(&["get", "pods"], None));
    assert!(ok, "{out}");
    let before = pods(&out);
    assert_eq!(before.len(), 3, "{out}");

    let (ok, out) =
        tokio::task::block_in_place(|| run(&["rollout", "restart", "deployment/web"], None));
    assert!(ok, "{out}");
    tick(4).await;
    let (_, out) = tokio::task::block_in_place(|| run(&["get", "pods"], None));
    let after = pods(&out);
    assert_eq!(after.len(), 3, "{out}");
    assert!(
        after.iter().all(|p| !before.contains(p)),
        "rollout restart replaces every pod: {before:?} → {after:?}"
    );

    let (ok, raw) = tokio::task::block_in_place(|| {
        run(
            &[
                "get",
                "--raw",
                "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods",
            ],
            None,
        )
    });
    assert!(ok, "{raw}");
    let metrics: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(metrics["items"].as_array().unwrap().len(), 3, "{raw}");

    // `get -w` prints the current objects and keeps streaming until stopped.
    let watch = tokio::task::block_in_place(|| {
        let mut child = Command::new("kubectl")
            .args(["get", "deployments", "-w"])
            .env("KUBECONFIG", &kc)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_secs(2));
        child.kill().unwrap();
        String::from_utf8_lossy(&child.wait_with_output().unwrap().stdout).into_owned()
    });
    assert!(watch.contains("web"), "{watch}");

    let (ok, out) = tokio::task::block_in_place(|| run(&["delete", "deployment", "web"], None));
    assert!(ok, "{out}");
    let (_, out) = tokio::task::block_in_place(|| run(&["get", "pods,replicasets"], None));
    assert!(
        pods(&out).is_empty() && !out.contains("web-"),
        "cascading delete: {out}"
    );
}

/// `prescale sim` takes kubectl's imperative commands and runs the cluster loop: a
/// Deployment applied with kubectl gets running pods, and a workload named by `--trace`
/// reports usage from its trace.
#[test]
fn prescale_sim_runs_workloads_driven_by_a_trace() {
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    let trace = dir.path().join("trace.csv");
    std::fs::write(&trace, "timestamp,value\n0,1\n60,1\n120,1\n").unwrap();
    struct KillOnDrop(std::process::Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _sim = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_prescale"))
            .args([
                "sim",
                "--speed",
                "60",
                "--startup-delay",
                "1s",
                "--kubeconfig-out",
            ])
            .arg(&kc)
            .arg("--trace")
            .arg(format!("default/web={},2", trace.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let waited = |what: &str, ok: &dyn Fn() -> bool| {
        let began = std::time::Instant::now();
        while !ok() {
            assert!(began.elapsed().as_secs() < 30, "{what} within 30 s");
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    };
    waited("the kubeconfig", &|| kc.exists());
    // The issue's first steps as a new user: imperative commands against `prescale sim`.
    for args in [
        &["create", "namespace", "bar"][..],
        &["-n", "bar", "create", "deployment", "web", "--image=nginx"],
    ] {
        let (ok, out) = kubectl(&kc, args, None);
        assert!(ok, "kubectl {args:?}: {out}");
    }
    let manifest = r#"
apiVersion: v1
kind: Node
metadata: {name: n1}
status: {allocatable: {cpu: "8", memory: 16Gi}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: app, image: x, resources: {requests: {cpu: 500m, memory: 256Mi}}}]}
"#;
    let (ok, out) = kubectl(
        &kc,
        &["apply", "--validate=false", "-f", "-"],
        Some(manifest),
    );
    assert!(ok, "{out}");
    // Peak 2 = two pods' worth of requests over two pods: each at its 500m request.
    waited("both pods using their trace's share", &|| {
        let (_, raw) = kubectl(
            &kc,
            &[
                "get",
                "--raw",
                "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods",
            ],
            None,
        );
        serde_json::from_str::<serde_json::Value>(&raw).is_ok_and(|v| {
            v["items"].as_array().is_some_and(|items| {
                items.len() == 2
                    && items
                        .iter()
                        .all(|i| i["containers"][0]["usage"]["cpu"] == "500000000n")
            })
        })
    });
}

/// kubectl's imperative commands (protobuf bodies for built-in kinds) and the server-side
/// table columns kubectl prints, against the simulated cluster.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_imperative_commands_and_table_columns() {
    let (cluster, _dir, kc) = stepped_cluster().await;
    let tick = |n: usize| advance(&cluster, n);
    // Every command must succeed; its output is returned.
    let ok = |args: &[&str], input: Option<&str>| {
        let (ok, out) = tokio::task::block_in_place(|| kubectl(&kc, args, input));
        assert!(ok, "kubectl {args:?}: {out}");
        out
    };
    let header = |out: &str| {
        out.lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let row = |out: &str, name: &str| {
        out.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|| panic!("no row {name} in {out}"))
    };

    ok(&["create", "namespace", "bar"], None);
    let out = ok(&["get", "namespaces"], None);
    assert_eq!(header(&out), "NAME STATUS AGE");
    assert!(row(&out, "bar").starts_with("bar Active"), "{out}");

    ok(
        &["apply", "--validate=false", "-f", "-"],
        Some(
            "{\"apiVersion\": \"v1\", \"kind\": \"Node\", \"metadata\": {\"name\": \"n1\"}, \"status\": {\"allocatable\": {\"cpu\": \"8\", \"memory\": \"16Gi\"}, \"conditions\": [{\"type\": \"Ready\", \"status\": \"True\"}], \"nodeInfo\": {\"kubeletVersion\": \"v1.36.2\"}}}",
        ),
    );
    let out = ok(&["get", "nodes"], None);
    assert_eq!(header(&out), "NAME STATUS ROLES AGE VERSION");
    assert!(row(&out, "n1").contains("Ready <none>"), "{out}");
    assert!(row(&out, "n1").ends_with("v1.36.2"), "{out}");

    ok(
        &[
            "-n",
            "bar",
            "create",
            "deployment",
            "web",
            "--image=nginx",
            "--replicas=2",
        ],
        None,
    );
    ok(
        &["-n", "bar", "scale", "deployment", "web", "--replicas=3"],
        None,
    );
    tick(4).await;
    let out = ok(&["-n", "bar", "get", "deployments"], None);
    assert_eq!(header(&out), "NAME READY UP-TO-DATE AVAILABLE AGE");
    assert!(row(&out, "web").starts_with("web 3/3 3 3"), "{out}");
    let out = ok(&["-n", "bar", "get", "deployments", "-o", "wide"], None);
    assert!(
        header(&out).ends_with("CONTAINERS IMAGES SELECTOR"),
        "{out}"
    );
    assert!(row(&out, "web").ends_with("nginx nginx app=web"), "{out}");
    let out = ok(&["-n", "bar", "get", "replicasets"], None);
    assert_eq!(header(&out), "NAME DESIRED CURRENT READY AGE");
    let pods = |out: &str| {
        out.lines()
            .skip(1)
            .filter(|l| l.starts_with("web-"))
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .map(|cells| (cells[0].to_string(), cells[1..4].join(" ")))
            .collect::<Vec<_>>()
    };
    let out = ok(&["-n", "bar", "get", "pods"], None);
    assert_eq!(header(&out), "NAME READY STATUS RESTARTS AGE");
    let before = pods(&out);
    assert_eq!(before.len(), 3, "{out}");
    assert!(before.iter().all(|(_, c)| c == "1/1 Running 0"), "{out}");
    let out = ok(&["-n", "bar", "get", "pods", "-o", "wide"], None);
    assert!(
        header(&out).starts_with("NAME READY STATUS RESTARTS AGE IP NODE"),
        "{out}"
    );

    ok(&["-n", "bar", "rollout", "restart", "deployment/web"], None);
    tick(4).await;
    let after = pods(&ok(&["-n", "bar", "get", "pods"], None));
    assert_eq!(after.len(), 3);
    assert!(
        after.iter().all(|p| !before.contains(p)),
        "{before:?} → {after:?}"
    );

    ok(
        &[
            "-n",
            "bar",
            "create",
            "configmap",
            "cfg",
            "--from-literal=a=1",
            "--from-literal=b=2",
        ],
        None,
    );
    // A server-side dry run checks and answers but stores nothing.
    let out = ok(
        &[
            "-n",
            "bar",
            "create",
            "configmap",
            "dry",
            "--from-literal=a=1",
            "--dry-run=server",
        ],
        None,
    );
    assert!(
        out.contains("configmap/dry created (server dry run)"),
        "{out}"
    );
    let (found, out) = tokio::task::block_in_place(|| {
        kubectl(&kc, &["-n", "bar", "get", "configmap", "dry"], None)
    });
    assert!(!found && out.contains("NotFound"), "{out}");
    let out = ok(&["-n", "bar", "get", "configmaps"], None);
    assert_eq!(header(&out), "NAME DATA AGE");
    assert!(row(&out, "cfg").starts_with("cfg 2"), "{out}");
    ok(
        &["-n", "bar", "label", "deployment", "web", "tier=front"],
        None,
    );
    let out = ok(
        &["-n", "bar", "get", "deployments", "-l", "tier=front"],
        None,
    );
    row(&out, "web");
    ok(
        &[
            "-n",
            "bar",
            "patch",
            "deployment",
            "web",
            "-p",
            "{\"spec\":{\"replicas\":2}}",
        ],
        None,
    );
    tick(2).await;
    let out = ok(&["-n", "bar", "get", "deployments"], None);
    assert!(row(&out, "web").starts_with("web 2/2"), "{out}");

    ok(
        &[
            "-n",
            "bar",
            "autoscale",
            "deployment",
            "web",
            "--min=2",
            "--max=5",
            "--cpu-percent=80",
        ],
        None,
    );
    let out = ok(&["-n", "bar", "get", "hpa"], None);
    assert_eq!(
        header(&out),
        "NAME REFERENCE TARGETS MINPODS MAXPODS REPLICAS AGE"
    );
    let hpa = row(&out, "web");
    assert!(
        hpa.starts_with("web Deployment/web cpu: ") && hpa.contains("/80% 2 5"),
        "{out}"
    );
    ok(
        &[
            "-n",
            "bar",
            "create",
            "poddisruptionbudget",
            "web",
            "--selector=app=web",
            "--min-available=1",
        ],
        None,
    );
    // The `all` category of discovery.
    let out = ok(&["-n", "bar", "get", "all"], None);
    for kind in [
        "pod/web-",
        "deployment.apps/web",
        "replicaset.apps/web-",
        "horizontalpodautoscaler.autoscaling/web",
    ] {
        assert!(out.contains(kind), "{kind} in {out}");
    }
    let out = ok(&["-n", "bar", "get", "pdb"], None);
    assert_eq!(
        header(&out),
        "NAME MIN AVAILABLE MAX UNAVAILABLE ALLOWED DISRUPTIONS AGE"
    );
    assert!(row(&out, "web").starts_with("web 1 N/A"), "{out}");

    let pod = &after[0].0;
    let now = jiff::Timestamp::now();
    let event = format!(
        "{{\"apiVersion\": \"v1\", \"kind\": \"Event\", \"metadata\": {{\"name\": \"oom\", \"namespace\": \"bar\"}}, \
         \"involvedObject\": {{\"kind\": \"Pod\", \"name\": \"{pod}\", \"namespace\": \"bar\"}}, \"type\": \"Warning\", \
         \"reason\": \"OOMKilled\", \"message\": \"Container web was OOM-killed\", \"firstTimestamp\": \"{now}\", \"lastTimestamp\": \"{now}\", \"count\": 1}}"
    );
    ok(&["create", "--validate=false", "-f", "-"], Some(&event));
    let out = ok(&["-n", "bar", "get", "events"], None);
    assert_eq!(header(&out), "LAST SEEN TYPE REASON OBJECT MESSAGE");
    let line = out
        .lines()
        .find(|l| l.contains("OOMKilled"))
        .unwrap_or_default();
    assert!(
        line.contains("Warning")
            && line.contains(&format!("pod/{pod}"))
            && line.contains("Container web was OOM-killed"),
        "{out}"
    );

    ok(
        &["apply", "--validate=false", "-f", "-"],
        Some(
            "{\"apiVersion\": \"coordination.k8s.io/v1\", \"kind\": \"Lease\", \"metadata\": {\"name\": \"leader\", \"namespace\": \"bar\"}, \"spec\": {\"holderIdentity\": \"op-1\"}}",
        ),
    );
    let out = ok(&["-n", "bar", "get", "leases"], None);
    assert_eq!(header(&out), "NAME HOLDER AGE");
    assert!(row(&out, "leader").starts_with("leader op-1"), "{out}");

    // A custom resource: its CRD's printer columns, a date shown as an age, priority 1
    // only with -o wide.
    let crd = r#"{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
      "metadata": {"name": "widgets.cols.prescale.test"},
      "spec": {"group": "cols.prescale.test", "scope": "Namespaced", "names": {"plural": "widgets", "kind": "Widget"},
        "versions": [{"name": "v1", "served": true, "storage": true,
          "additionalPrinterColumns": [
            {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
            {"name": "Color", "type": "string", "jsonPath": ".spec.color", "priority": 1},
            {"name": "Since", "type": "date", "jsonPath": ".metadata.creationTimestamp"}],
          "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}}"#;
    ok(&["create", "--validate=false", "-f", "-"], Some(crd));
    ok(
        &["create", "--validate=false", "-f", "-"],
        Some(
            r#"{"apiVersion": "cols.prescale.test/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "bar"}, "spec": {"size": 3, "color": "red"}}"#,
        ),
    );
    let out = ok(&["-n", "bar", "get", "widgets"], None);
    assert_eq!(header(&out), "NAME SIZE SINCE");
    let w = row(&out, "w");
    assert!(w.starts_with("w 3 ") && w.ends_with('s'), "an age: {out}");
    let out = ok(&["-n", "bar", "get", "widgets", "-o", "wide"], None);
    assert_eq!(header(&out), "NAME SIZE COLOR SINCE");

    ok(&["-n", "bar", "delete", "deployment", "web"], None);
    let out = ok(&["-n", "bar", "get", "pods,replicasets"], None);
    assert!(!out.contains("web-"), "cascading delete: {out}");
    ok(&["delete", "namespace", "bar"], None);
    let out = ok(&["get", "namespaces"], None);
    assert!(!out.lines().any(|l| l.starts_with("bar ")), "{out}");
}

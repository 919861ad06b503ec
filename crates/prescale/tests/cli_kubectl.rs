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
        let (ok, templates) = run(&["get", "clusterast"], None);
        assert!(ok, "{templates}");
        let (ok, deleted) = run(&["delete", "ast", "checkout", "-n", "shop"], None);
        assert!(ok, "{deleted}");
        format!("{out}\n{listed}\n{templates}")
    })
    .await
    .unwrap();
    assert!(
        out.contains("aiscaletarget.thoras.ai/checkout created"),
        "{out}"
    );
    assert!(
        out.contains("MODEL") && out.contains("HORIZONTAL") && out.contains("VERTICAL"),
        "printer columns: {out}"
    );
    assert!(out.contains("production-workloads"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_scale_rollout_restart_metrics_watch_and_cascading_delete() {
    let cluster = TestCluster::start_with(jiff::Timestamp::now(), 0.0)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    cluster.write_kubeconfig(&kc).unwrap();
    let sim = cluster.sim.clone();
    let tick = move |n: usize| {
        let sim = sim.clone();
        async move {
            for _ in 0..n {
                sim.clock.advance(std::time::Duration::from_secs(
                    prescale_sim::cluster::TICK_SECS,
                ));
                prescale_sim::cluster::tick(&sim).await;
            }
        }
    };
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

/// `prescale sim` runs the cluster loop: a Deployment applied with kubectl gets running
/// pods, and a workload named by `--trace` reports usage from its trace.
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

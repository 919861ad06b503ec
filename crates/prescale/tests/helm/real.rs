//! The real API server's verdict (../shared/realk8s): each rendering is accepted by
//! `kubectl apply --dry-run=server`, and `helm install` then `helm uninstall` leave nothing
//! but the CRDs. Every test works in a namespace of its own; the chart names its
//! cluster-scoped objects after the namespace, so tests running at once never clash.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use prescale_testkit::{TestNamespace, real_client, real_kubeconfig};
use serde_json::Value;

use crate::render::SEED_EXAMPLES;
use crate::support::{Output, chart, documents, example, helm, kubectl, run, template};

/// Renders the chart into `namespace` with `args` and has the server check every object.
fn dry_run(helm: &Path, kubeconfig: &Path, namespace: &str, what: &str, args: &[&str]) {
    let out = template(helm, namespace, args);
    assert!(out.ok, "{what}: helm template failed:\n{}", out.stderr);
    let applied = kubectl(
        kubeconfig,
        &["apply", "--dry-run=server", "-f", "-"],
        Some(&out.stdout),
    );
    assert!(
        applied.ok,
        "{what}: the API server refused the rendering:\n{}",
        applied.text()
    );
    // Every object was checked: kubectl names each one.
    let objects = documents(&out.stdout);
    let checked = applied
        .stdout
        .lines()
        .filter(|l| l.ends_with("(server dry run)"))
        .count();
    assert_eq!(checked, objects.len(), "{what}: {}", applied.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renderings_are_accepted_by_the_real_api_server() {
    let test = "renderings_are_accepted_by_the_real_api_server";
    let (Some(helm), Some(kubeconfig)) = (helm(test), real_kubeconfig(test)) else {
        return;
    };
    let client = real_client(test).await.expect("the real API server");
    let ns = TestNamespace::create(&client, kubeconfig, "helm-dry-run").await;
    dry_run(helm, kubeconfig, &ns.name, "defaults", &[]);
    for name in SEED_EXAMPLES.iter().chain(&["postgresql-workers.yaml"]) {
        let file = example(name).display().to_string();
        dry_run(helm, kubeconfig, &ns.name, name, &["-f", &file]);
    }
    ns.delete(&client).await;
}

/// `kind/name` of every object of a release's manifest, with its namespace (`None`:
/// cluster-scoped).
fn release_objects(manifest: &str) -> Vec<(String, Option<String>)> {
    documents(manifest)
        .iter()
        .map(|o: &Value| {
            let kind = o["kind"].as_str().unwrap().to_ascii_lowercase();
            let name = o["metadata"]["name"].as_str().unwrap();
            (
                format!("{kind}/{name}"),
                o["metadata"]["namespace"].as_str().map(String::from),
            )
        })
        .collect()
}

fn get(kubeconfig: &Path, object: &str, namespace: Option<&str>) -> Output {
    let mut args = vec!["get", object, "-o", "name"];
    if let Some(ns) = namespace {
        args.extend(["-n", ns]);
    }
    kubectl(kubeconfig, &args, None)
}

/// Polls `check` until it holds or `deadline` passes (the machine is shared and loaded).
fn eventually(what: &str, deadline: Duration, mut check: impl FnMut() -> Result<(), String>) {
    let start = Instant::now();
    loop {
        match check() {
            Ok(()) => return,
            Err(e) if start.elapsed() > deadline => panic!("{what}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    }
}

/// helm install, everything exists (pods Pending: no kubelet), helm uninstall, nothing but
/// the CRDs is left.
fn install_and_uninstall(helm: &Path, kubeconfig: &Path, namespace: &str, values: &[&str]) {
    let helm_cmd = |args: &[&str]| {
        run(
            Command::new(helm)
                .args(args)
                .args(["--namespace", namespace, "--kubeconfig"])
                .arg(kubeconfig),
            None,
        )
    };
    let chart = chart().display().to_string();
    // The CRDs are shared by every test on this server, applied by other branches' tests
    // too: helm 4 applies crds/ server-side and would conflict with (or, forced, overwrite)
    // theirs. The dry-run test has the server check the chart's CRDs instead.
    let mut install = vec!["install", "prescale", &chart, "--skip-crds"];
    install.extend(values);
    let out = helm_cmd(&install);
    assert!(out.ok, "helm install {values:?}:\n{}", out.text());
    let manifest = helm_cmd(&["get", "manifest", "prescale"]);
    assert!(manifest.ok, "{}", manifest.text());
    let objects = release_objects(&manifest.stdout);
    assert!(objects.len() >= 8, "{objects:?}");
    for (object, ns) in &objects {
        let found = get(kubeconfig, object, ns.as_deref());
        assert!(found.ok, "{object} was not created: {}", found.text());
    }
    // The Deployment is real: the controller-manager made its pod, which stays Pending.
    eventually("the operator's pod", Duration::from_secs(90), || {
        let pods = kubectl(
            kubeconfig,
            &[
                "get",
                "pods",
                "-n",
                namespace,
                "-l",
                "app.kubernetes.io/name=prescale-operator,app.kubernetes.io/instance=prescale",
                "-o",
                "jsonpath={.items[*].status.phase}",
            ],
            None,
        );
        (pods.stdout.split_whitespace().next() == Some("Pending"))
            .then_some(())
            .ok_or(pods.text())
    });

    let out = helm_cmd(&["uninstall", "prescale"]);
    assert!(out.ok, "helm uninstall:\n{}", out.text());
    for (object, ns) in &objects {
        eventually(
            &format!("{object} after helm uninstall"),
            Duration::from_secs(120),
            || {
                let found = get(kubeconfig, object, ns.as_deref());
                (!found.ok && found.stderr.contains("NotFound"))
                    .then_some(())
                    .ok_or(found.text())
            },
        );
    }
    // What the StatefulSet's claim template made goes with it (its retention policy).
    eventually(
        "claims after helm uninstall",
        Duration::from_secs(120),
        || {
            let claims = kubectl(
                kubeconfig,
                &["get", "pvc", "-n", namespace, "-o", "name"],
                None,
            );
            (claims.ok && claims.stdout.trim().is_empty())
                .then_some(())
                .ok_or(claims.text())
        },
    );
    // Helm keeps the CRDs by design (other releases' custom resources depend on them).
    for crd in [
        "aiscaletargets.thoras.ai",
        "clusteraiscaletemplates.thoras.ai",
        "podautoscalers.autoscaling.aibrix.ai",
    ] {
        let found = get(kubeconfig, &format!("crd/{crd}"), None);
        assert!(found.ok, "{crd} went with the release: {}", found.text());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_install_and_uninstall_on_the_real_api_server() {
    let test = "helm_install_and_uninstall_on_the_real_api_server";
    let (Some(helm), Some(kubeconfig)) = (helm(test), real_kubeconfig(test)) else {
        return;
    };
    let client = real_client(test).await.expect("the real API server");
    let defaults = TestNamespace::create(&client, kubeconfig, "helm-install").await;
    install_and_uninstall(helm, kubeconfig, &defaults.name, &[]);
    defaults.delete(&client).await;
    let workers = TestNamespace::create(&client, kubeconfig, "helm-install-pg").await;
    let file = example("postgresql-workers.yaml").display().to_string();
    install_and_uninstall(helm, kubeconfig, &workers.name, &["-f", &file]);
    workers.delete(&client).await;
}

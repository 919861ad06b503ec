//! What a new user types, against the real API server of ../shared/realk8s:
//! `prescale crds | kubectl apply --server-side -f -` and `prescale install | kubectl apply
//! -f -`, applied for real (not dry-run).

use std::path::Path;
use std::process::{Command, Stdio};

use prescale_testkit::{TestNamespace, real_client, real_kubeconfig};

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

/// Runs kubectl against `kubeconfig` with `input` on stdin; returns (success, output).
fn kubectl(kubeconfig: &Path, args: &[&str], input: &str) -> (bool, String) {
    use std::io::Write;
    let mut child = Command::new("kubectl")
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl must be installed (scripts/test installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test]
async fn crds_apply_server_side_for_real_and_become_established() {
    let Some(kubeconfig) = real_kubeconfig("crds_apply_server_side") else {
        return;
    };
    let crds = prescale(&["crds"]);
    // The server is shared: other test runs may have applied the CRDs under other field
    // managers, which server-side apply reports as conflicts. On a fresh cluster the plain
    // command needs no --force-conflicts.
    let (ok, out) = kubectl(
        kubeconfig,
        &["apply", "--server-side", "--force-conflicts", "-f", "-"],
        &crds,
    );
    assert!(ok, "the API server refused `prescale crds`:\n{out}");
    assert!(
        out.contains("aiscaletargets.thoras.ai serverside-applied")
            && out.contains("clusteraiscaletemplates.thoras.ai serverside-applied"),
        "{out}"
    );
    let (ok, out) = kubectl(
        kubeconfig,
        &[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd/aiscaletargets.thoras.ai",
            "crd/clusteraiscaletemplates.thoras.ai",
        ],
        "",
    );
    assert!(ok, "{out}");
    // And kubectl explain shows the descriptions of the seeds, not generator text.
    let (ok, out) = kubectl(kubeconfig, &["explain", "aiscaletarget.spec"], "");
    assert!(ok, "{out}");
    assert!(out.contains("What to scale, how to forecast"), "{out}");
    assert!(!out.contains("Auto-generated"), "{out}");
}

#[tokio::test]
async fn install_applies_for_real() {
    let test = "install_applies_for_real";
    let Some(client) = real_client(test).await else {
        return;
    };
    let kubeconfig = real_kubeconfig(test).unwrap();
    let ns = TestNamespace::create(&client, kubeconfig, "install").await;
    // The install names its cluster-scoped objects after its namespace, so they are this
    // test's own.
    let cluster_rbac = prescale_operator::install::cluster_rbac_name(&ns.name);
    let manifest = prescale(&["install", "--namespace", &ns.name]);
    let (ok, out) = kubectl(kubeconfig, &["apply", "-f", "-"], &manifest);
    // Applying again changes nothing and still succeeds (idempotent).
    let (again_ok, again) = kubectl(kubeconfig, &["apply", "-f", "-"], &manifest);
    let (listed_ok, listed) = kubectl(
        kubeconfig,
        &[
            "get",
            "deployment,serviceaccount,role,rolebinding,service,persistentvolumeclaim",
            "-n",
            &ns.name,
            "-o",
            "name",
        ],
        "",
    );
    let (cluster_ok, cluster) = kubectl(
        kubeconfig,
        &[
            "get",
            &format!("clusterrole/{cluster_rbac}"),
            &format!("clusterrolebinding/{cluster_rbac}"),
            "crd/aiscaletargets.thoras.ai",
            "crd/clusteraiscaletemplates.thoras.ai",
            // The webhook configurations (Service form), named like the cluster RBAC.
            &format!("mutatingwebhookconfiguration/{cluster_rbac}"),
            &format!("validatingwebhookconfiguration/{cluster_rbac}"),
            "-o",
            "name",
        ],
        "",
    );
    for kind in [
        "clusterrolebinding",
        "clusterrole",
        "mutatingwebhookconfiguration",
        "validatingwebhookconfiguration",
    ] {
        let _ = kubectl(
            kubeconfig,
            &["delete", kind, &cluster_rbac, "--ignore-not-found"],
            "",
        );
    }
    ns.delete(&client).await;
    assert!(ok, "the API server refused `prescale install`:\n{out}");
    assert!(again_ok, "a second apply failed:\n{again}");
    assert!(listed_ok, "{listed}");
    for object in [
        "deployment.apps/prescale-operator",
        "serviceaccount/prescale-operator",
        "role.rbac.authorization.k8s.io/prescale-operator",
        "rolebinding.rbac.authorization.k8s.io/prescale-operator",
        "service/prescale-operator",
        "persistentvolumeclaim/prescale-history",
    ] {
        assert!(
            listed.contains(object),
            "{object} missing after install:\n{listed}"
        );
    }
    assert!(
        cluster_ok,
        "the install's cluster-scoped objects: {cluster}"
    );
}

//! What a new user types, against the real API server of ../shared/realk8s:
//! `prescale crds | kubectl apply --server-side -f -` and `prescale install | kubectl apply
//! -f -`, applied for real (not dry-run).

use std::path::Path;
use std::process::{Command, Stdio};

use prescale_testkit::{TestNamespace, real_client, real_kubeconfig};
use serde_json::Value;

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

/// The names of cluster-scoped objects, made unique for this test so it cannot overwrite the
/// ClusterRoleBinding another test (or a real install) relies on.
fn own_cluster_names(manifest: &str, suffix: &str) -> String {
    let mut docs: Vec<Value> = serde_saphyr::from_multiple(manifest).unwrap();
    for doc in &mut docs {
        let kind = doc["kind"].as_str().unwrap_or_default().to_string();
        if kind == "ClusterRole" || kind == "ClusterRoleBinding" {
            let name = format!("{}-{suffix}", doc["metadata"]["name"].as_str().unwrap());
            doc["metadata"]["name"] = name.into();
        }
        if kind == "ClusterRoleBinding" {
            let role = format!("{}-{suffix}", doc["roleRef"]["name"].as_str().unwrap());
            doc["roleRef"]["name"] = role.into();
        }
    }
    docs.iter()
        .map(|d| format!("---\n{}", serde_saphyr::to_string(d).unwrap()))
        .collect()
}

#[tokio::test]
async fn install_applies_for_real() {
    let test = "install_applies_for_real";
    let Some(client) = real_client(test).await else {
        return;
    };
    let kubeconfig = real_kubeconfig(test).unwrap();
    let ns = TestNamespace::create(&client, kubeconfig, "install").await;
    let manifest = own_cluster_names(&prescale(&["install", "--namespace", &ns.name]), &ns.name);
    let (ok, out) = kubectl(kubeconfig, &["apply", "-f", "-"], &manifest);
    let cleanup = |kubeconfig: &Path| {
        for kind in ["clusterrolebinding", "clusterrole"] {
            let _ = kubectl(
                kubeconfig,
                &[
                    "delete",
                    kind,
                    &format!("prescale-operator-{}", ns.name),
                    "--ignore-not-found",
                ],
                "",
            );
        }
    };
    cleanup(kubeconfig);
    let (listed_ok, listed) = kubectl(
        kubeconfig,
        &[
            "get",
            "deployment,serviceaccount,role,rolebinding,service",
            "-n",
            &ns.name,
            "-o",
            "name",
        ],
        "",
    );
    ns.delete(&client).await;
    assert!(ok, "the API server refused `prescale install`:\n{out}");
    assert!(listed_ok, "{listed}");
    for object in [
        "deployment.apps/prescale-operator",
        "serviceaccount/prescale-operator",
        "role.rbac.authorization.k8s.io/prescale-operator",
        "rolebinding.rbac.authorization.k8s.io/prescale-operator",
        "service/prescale-operator",
    ] {
        assert!(
            listed.contains(object),
            "{object} missing after install:\n{listed}"
        );
    }
}

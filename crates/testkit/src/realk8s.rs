//! The real control plane, started once per test process. `scripts/test` starts it first
//! and exports `PRESCALE_TEST_KUBECONFIG`; without it, the first test to ask runs
//! `../shared/realk8s/start` (idempotent and serialised by the script itself).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::api::{Api, DeleteParams, PostParams};

/// The opt-out a developer may set; CI never does.
pub const SKIP_ENV: &str = "PRESCALE_SKIP_REALK8S";
/// Set by `scripts/deps/realk8s.sh` to the admin kubeconfig of the running control plane.
pub const KUBECONFIG_ENV: &str = "PRESCALE_TEST_KUBECONFIG";

/// The `start` script: `$REALK8S_START`, else `../shared/realk8s/start` from the workspace.
fn start_script() -> PathBuf {
    std::env::var_os("REALK8S_START")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/realk8s/start")
        })
}

/// The admin kubeconfig of the real control plane, or `None` when the developer opted out
/// (a loud line says the test did not run). Panics with the control plane's own output
/// when it cannot start: a real-server test never passes by not running.
pub fn real_kubeconfig(test: &str) -> Option<&'static Path> {
    if std::env::var(SKIP_ENV).as_deref() == Ok("1") {
        eprintln!(
            "\n!!! {test}: SKIPPED — {SKIP_ENV}=1, not run against the real API server !!!\n"
        );
        return None;
    }
    static KUBECONFIG: OnceLock<PathBuf> = OnceLock::new();
    Some(KUBECONFIG.get_or_init(|| {
        if let Some(path) = std::env::var_os(KUBECONFIG_ENV) {
            return PathBuf::from(path);
        }
        let start = start_script();
        let out = Command::new(&start).output().unwrap_or_else(|e| {
            panic!(
                "cannot run {}: {e} (the real API server is part of every test run; \
                 {SKIP_ENV}=1 opts out)",
                start.display()
            )
        });
        assert!(
            out.status.success(),
            "{} failed ({SKIP_ENV}=1 opts out):\n{}",
            start.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).expect("start printed non-UTF-8");
        let path = stdout
            .lines()
            .last()
            .and_then(|l| l.strip_prefix("export KUBECONFIG="))
            .unwrap_or_else(|| panic!("unexpected output from {}: {stdout:?}", start.display()));
        PathBuf::from(path)
    }))
}

/// A client for the real control plane as its admin, or `None` when opted out.
pub async fn real_client(test: &str) -> Option<kube::Client> {
    let path = real_kubeconfig(test)?;
    Some(client_from(path).await)
}

/// A client from a kubeconfig file, without touching the process environment.
pub async fn client_from(path: &Path) -> kube::Client {
    let kubeconfig = kube::config::Kubeconfig::read_from(path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    kube::Client::try_from(config).expect("a client from the kubeconfig")
}

/// Writes, beside the test's temporary files, a copy of `admin` that acts as ServiceAccount
/// `namespace/name` (with the groups the API server gives every ServiceAccount), and
/// returns its path.
pub fn impersonating(admin: &Path, namespace: &str, name: &str, dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(admin)
        .unwrap_or_else(|e| panic!("reading {}: {e}", admin.display()));
    let mut doc: serde_json::Value = serde_saphyr::from_str(&text)
        .unwrap_or_else(|e| panic!("parsing {}: {e}", admin.display()));
    for user in doc["users"].as_array_mut().into_iter().flatten() {
        user["user"]["as"] = format!("system:serviceaccount:{namespace}:{name}").into();
        user["user"]["as-groups"] = serde_json::json!([
            "system:serviceaccounts",
            format!("system:serviceaccounts:{namespace}"),
            "system:authenticated"
        ]);
    }
    let path = dir.join(format!("kubeconfig-as-{namespace}-{name}"));
    // JSON is YAML: kubectl and kube-rs read it as a kubeconfig.
    std::fs::write(&path, doc.to_string())
        .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    path
}

/// A namespace of a test's own on the real server, deleted (in the background) on drop.
pub struct TestNamespace {
    pub name: String,
    kubeconfig: PathBuf,
}

impl TestNamespace {
    /// Creates `t-<test>-<pid>-<n>` and waits for its `default` ServiceAccount (pods are
    /// refused until the controller-manager has made it).
    pub async fn create(client: &kube::Client, kubeconfig: &Path, test: &str) -> TestNamespace {
        static N: AtomicUsize = AtomicUsize::new(0);
        let slug: String = test
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let suffix = format!(
            "-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let keep = 63 - 2 - suffix.len();
        let name = format!(
            "t-{}{suffix}",
            slug[..slug.len().min(keep)].trim_end_matches('-')
        );
        let ns: Namespace = serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "labels": {"prescale.test/namespace": "true"}}
        }))
        .expect("namespace literal");
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &ns)
            .await
            .unwrap_or_else(|e| panic!("creating namespace {name}: {e}"));
        let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), &name);
        for _ in 0..300 {
            if sas.get_opt("default").await.ok().flatten().is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        TestNamespace {
            name,
            kubeconfig: kubeconfig.to_path_buf(),
        }
    }

    /// Deletes the namespace now and waits until it is gone (or 60 s pass).
    pub async fn delete(self, client: &kube::Client) {
        let api = Api::<Namespace>::all(client.clone());
        let _ = api.delete(&self.name, &DeleteParams::default()).await;
        for _ in 0..600 {
            if api.get_opt(&self.name).await.ok().flatten().is_none() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        // Drop cannot await: kubectl deletes it without waiting, so a failing test leaves
        // nothing behind either.
        let kubectl = |args: &[&str]| {
            Command::new("kubectl")
                .arg("--kubeconfig")
                .arg(&self.kubeconfig)
                .args(args)
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        };
        kubectl(&[
            "delete",
            "namespace",
            &self.name,
            "--wait=false",
            "--ignore-not-found",
        ]);
        // A target keeps prescale's revert finalizer until an operator reverts it; the
        // test's operator may be gone already, and then the namespace would stay
        // Terminating for good, its controller retrying it (and loading the shared server)
        // for the rest of the run. The namespace is being deleted, so no operator can add
        // the finalizer back.
        let targets = kubectl(&[
            "get",
            "aiscaletargets.thoras.ai",
            "-n",
            &self.name,
            "-o",
            "name",
            "--ignore-not-found",
        ]);
        for target in targets.iter().flat_map(|t| t.lines()) {
            kubectl(&[
                "patch",
                target,
                "-n",
                &self.name,
                "--type=merge",
                "-p",
                r#"{"metadata":{"finalizers":null}}"#,
            ]);
        }
    }
}

//! What the chart's tests share: the chart's path, helm (installed by scripts/deps/helm.sh),
//! running helm and kubectl, and parsing what they print.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

/// The opt-out a developer may set; CI never does.
pub const SKIP_ENV: &str = "PRESCALE_SKIP_HELM";

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// deploy/helm/prescale.
pub fn chart() -> PathBuf {
    repo().join("deploy/helm/prescale")
}

/// A values file of the chart's examples/.
pub fn example(name: &str) -> PathBuf {
    chart().join("examples").join(name)
}

/// The helm binary, or `None` when the developer opted out (a loud line says the test did
/// not run). `$PRESCALE_HELM` when scripts/test exported it, else scripts/deps/helm.sh
/// installs it (idempotent) and prints its path.
pub fn helm(test: &str) -> Option<&'static Path> {
    if std::env::var(SKIP_ENV).as_deref() == Ok("1") {
        eprintln!("\n!!! {test}: SKIPPED — {SKIP_ENV}=1, the Helm chart was not checked !!!\n");
        return None;
    }
    static HELM: OnceLock<PathBuf> = OnceLock::new();
    Some(HELM.get_or_init(|| {
        if let Some(path) = std::env::var_os("PRESCALE_HELM") {
            return PathBuf::from(path);
        }
        let script = repo().join("scripts/deps/helm.sh");
        let out = run(Command::new("bash").arg(&script), None);
        assert!(
            out.ok,
            "{} failed ({SKIP_ENV}=1 opts out):\n{}",
            script.display(),
            out.stderr
        );
        PathBuf::from(out.stdout.trim())
    }))
}

/// What a command did.
pub struct Output {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// stdout and stderr, for a failure message.
    pub fn text(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Runs `command` with `input` on its stdin.
pub fn run(command: &mut Command, input: Option<&str>) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin
        .write_all(input.unwrap_or_default().as_bytes())
        .expect("writing stdin");
    drop(stdin);
    let out = child.wait_with_output().expect("waiting for the command");
    Output {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `helm template prescale <chart> -n <namespace> --include-crds <args>`.
pub fn template(helm: &Path, namespace: &str, args: &[&str]) -> Output {
    run(
        Command::new(helm)
            .args(["template", "prescale"])
            .arg(chart())
            .args(["--namespace", namespace, "--include-crds"])
            .args(args),
        None,
    )
}

/// `helm template` that must succeed: its objects.
pub fn render(helm: &Path, namespace: &str, args: &[&str]) -> Vec<Value> {
    let out = template(helm, namespace, args);
    assert!(out.ok, "helm template {args:?} failed:\n{}", out.stderr);
    documents(&out.stdout)
}

/// The objects of a multi-document YAML stream (empty documents dropped).
pub fn documents(yaml: &str) -> Vec<Value> {
    let docs: Vec<Value> =
        serde_saphyr::from_str_multiple(yaml).unwrap_or_else(|e| panic!("not YAML: {e}\n{yaml}"));
    docs.into_iter().filter(|d| !d.is_null()).collect()
}

/// `kind namespace/name` of an object, to name it in messages and match it.
pub fn key(object: &Value) -> String {
    let meta = &object["metadata"];
    format!(
        "{} {}/{}",
        object["kind"].as_str().unwrap_or("?"),
        meta["namespace"].as_str().unwrap_or(""),
        meta["name"].as_str().unwrap_or("?")
    )
}

/// The object of `kind` and `name` among `objects`.
pub fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| {
            let keys: Vec<String> = objects.iter().map(key).collect();
            panic!("no {kind} {name} among {keys:#?}")
        })
}

/// kubectl against `kubeconfig`.
pub fn kubectl(kubeconfig: &Path, args: &[&str], input: Option<&str>) -> Output {
    run(
        Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(args),
        input,
    )
}

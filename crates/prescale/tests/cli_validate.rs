//! `prescale validate` reports every problem of a document, each with its field path, and
//! refuses what a real API server refuses (names included).

use std::process::{Command, Output, Stdio};

fn validate(manifest: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_prescale"))
        .args(["validate", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(manifest.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

const TARGET: &str = "apiVersion: thoras.ai/v1
kind: AIScaleTarget
metadata:
  name: web
  namespace: shop
spec:
  scaleTargetRef:
    kind: Deployment
    name: web
  model:
    forecast_blocks: 15m
    forecast_cron: '*/15 * * * *'
";

#[test]
fn two_typos_are_two_problems() {
    let manifest = TARGET
        .replace("forecast_blocks", "forecast_block")
        .replace("kind: Deployment", "knd: Deployment");
    let out = validate(&manifest);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("spec.model.forecast_block: unknown field: did you mean forecast_blocks?"),
        "{stderr}"
    );
    assert!(
        stderr.contains("spec.scaleTargetRef.knd: unknown field: did you mean kind?"),
        "{stderr}"
    );
    assert!(
        stderr.contains("spec.scaleTargetRef.kind: required"),
        "{stderr}"
    );
    assert!(stderr.contains("3 problem(s) found"), "{stderr}");
}

#[test]
fn placeholders_of_the_seed_are_refused_at_metadata_name() {
    let manifest = TARGET.replace(
        "name: web\n  namespace",
        "name: \"{{ YOUR_AST_NAME }}\"\n  namespace",
    );
    let out = validate(&manifest);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("metadata.name: \"{{ YOUR_AST_NAME }}\" is a placeholder: replace it"),
        "{stderr}"
    );
}

#[test]
fn a_valid_manifest_passes() {
    let out = validate(TARGET);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 object(s) valid"));
}

#[test]
fn aibrix_pod_autoscalers_are_checked_too() {
    let pa = "apiVersion: autoscaling.aibrix.ai/v1alpha1\nkind: PodAutoscaler\nmetadata:\n  name: vllm\n  namespace: default\n  annotations:\n    autoscaling.aibrix.ai/panic-threshold: two\nspec:\n  scalingStrategy: KPA\n  maxReplicas: 8\n  panicWindowSeconds: 600\n  metricsSources:\n  - {metricSourceType: pod, protocolType: http, path: /metrics, targetMetric: gpu_cache_usage_perc, targetValue: '0.5'}\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: vllm}\n";
    let out = validate(pa);
    assert_eq!(out.status.code(), Some(1));
    let report = String::from_utf8_lossy(&out.stderr);
    for path in [
        "spec.metricsSources[0].port",
        "spec.panicWindowSeconds",
        "metadata.annotations[autoscaling.aibrix.ai/panic-threshold]",
    ] {
        assert!(report.contains(path), "{path} missing from:\n{report}");
    }
    let fixed = pa
        .replace("two", "'2.5'")
        .replace("  panicWindowSeconds: 600\n", "")
        .replace("protocolType: http,", "protocolType: http, port: '8000',");
    let out = validate(&fixed);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn malformed_yaml_is_named_by_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.yaml");
    std::fs::write(
        &file,
        "apiVersion: thoras.ai/v1\nkind: AIScaleTarget\n spec: [\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_prescale"))
        .arg("validate")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let shown = file.display().to_string();
    assert!(
        err.starts_with(&format!("{shown}: not valid YAML")),
        "{err}"
    );
    assert!(
        err.contains(&format!("{shown}:3:")),
        "the snippet names the file: {err}"
    );
    assert!(!err.contains("<input>"), "{err}");
}

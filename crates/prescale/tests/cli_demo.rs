//! `prescale demo` — the README's main job — brings every demo workload a recommendation.

use std::process::Command;

#[test]
fn demo_gives_every_workload_a_recommendation() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_prescale"))
        .args([
            "demo",
            "--duration",
            "12",
            "--speed",
            "1440",
            "--kubeconfig-out",
        ])
        .arg(dir.path().join("kubeconfig"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("5/5 targets have a recommendation"),
        "{stdout}"
    );
    assert!(stdout.contains("storefront-ast"), "{stdout}");
    assert!(dir.path().join("kubeconfig").exists());
}

//! `prescale sim` refuses a bad `--trace` before serving, naming the flag and the file.

use std::process::Command;

#[test]
fn a_missing_trace_file_is_named_with_its_flag() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.csv");
    let spec = format!("shop/web={}", missing.display());
    let out = Command::new(env!("CARGO_BIN_EXE_prescale"))
        .args(["sim", "--trace", &spec, "--kubeconfig-out"])
        .arg(dir.path().join("kubeconfig"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("--trace {spec}")) && err.contains("No such file"),
        "{err}"
    );
}

#[test]
fn a_trace_value_that_is_not_a_number_is_named_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("load.csv");
    std::fs::write(&file, "timestamp,value\n0,1\n60,abc\n").unwrap();
    let spec = format!("shop/web={}", file.display());
    let out = Command::new(env!("CARGO_BIN_EXE_prescale"))
        .args(["sim", "--trace", &spec, "--kubeconfig-out"])
        .arg(dir.path().join("kubeconfig"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("line 3"), "{err}");
}

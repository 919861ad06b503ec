//! Every command ends quietly when the reader of its output goes away (`prescale crds |
//! head`): no panic ("failed printing to stdout: Broken pipe", status 101), no noise.
//!
//! The pipe's read end is closed before the command starts, so every write fails: the test
//! does not depend on how much fits in the pipe's buffer.

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs prescale with a standard output (and, with `close_stderr`, error) nobody reads.
fn with_closed_output(args: &[&str], close_stderr: bool) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut command = Command::new(env!("CARGO_BIN_EXE_prescale"));
    command.args(args).stdin(Stdio::null()).stdout(writer);
    if close_stderr {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        command.stderr(writer);
    } else {
        command.stderr(Stdio::piped());
    }
    command.output().unwrap()
}

fn assert_quiet(args: &[&str], out: &Output, status: i32) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(status),
        "prescale {args:?} ended with {:?}: {stderr}",
        out.status
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "prescale {args:?}: {stderr}"
    );
}

fn fixture(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../api/tests/fixtures")
        .join(path)
        .display()
        .to_string()
}

#[test]
fn crds_and_install_end_quietly() {
    for args in [
        &["crds"][..],
        &["install"],
        &["install", "--namespace", "x"],
        &["--help"],
    ] {
        assert_quiet(args, &with_closed_output(args, false), 0);
        assert_quiet(args, &with_closed_output(args, true), 0);
    }
}

#[test]
fn validate_ends_quietly_and_keeps_its_verdict() {
    let valid = fixture("valid/001-sample.yaml");
    let invalid = fixture("invalid/seed-001-placeholders.yaml");
    for close_stderr in [false, true] {
        let args = ["validate", valid.as_str()];
        assert_quiet(&args, &with_closed_output(&args, close_stderr), 0);
        let args = ["validate", invalid.as_str()];
        assert_quiet(&args, &with_closed_output(&args, close_stderr), 1);
    }
    // With only standard output closed, the problems still reach standard error.
    let args = ["validate", invalid.as_str()];
    let out = with_closed_output(&args, false);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("metadata.name"), "{stderr}");
}

#[test]
fn backtest_json_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("timestamp,value\n");
    for i in 0..4 * 288 {
        let daily = (i as f64 * std::f64::consts::TAU / 288.0).sin();
        csv.push_str(&format!("{},{}\n", i * 300, 10.0 + 4.0 * daily));
    }
    std::fs::write(dir.path().join("a_cpu.csv"), csv).unwrap();
    let path = dir.path().display().to_string();
    let args = ["backtest", "--json", path.as_str()];
    assert_quiet(&args, &with_closed_output(&args, false), 0);
    assert_quiet(&args, &with_closed_output(&args, true), 0);
}

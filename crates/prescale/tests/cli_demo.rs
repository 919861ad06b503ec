//! `prescale demo` — the README's main job — brings every demo workload a recommendation,
//! from a backfilled week of history, and scales one workload autonomously.

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
        stdout.contains("6/6 targets have a recommendation"),
        "{stdout}"
    );
    assert!(stdout.contains("storefront-ast"), "{stdout}");
    assert!(dir.path().join("kubeconfig").exists());
    // The last table: with a week of history backfilled, every target has enough data at
    // once, and the autonomous one has changed its pods (resized or recreated) to the
    // suggestion.
    let last_table = stdout.rsplit("NAMESPACE").next().unwrap_or_default();
    for line in last_table.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        if line.contains("targets have a recommendation") {
            continue;
        }
        assert!(line.contains("true /"), "not enough data: {line}\n{stdout}");
    }
    let checkout = last_table
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some("checkout"))
        .unwrap_or_else(|| panic!("no checkout row: {stdout}"));
    let cells: Vec<&str> = checkout.split_whitespace().collect();
    assert_eq!(cells[2], "autonomous", "{checkout}");
    let (resized, evicted) = cells[9].split_once('/').unwrap();
    let changed: u32 = resized.parse::<u32>().unwrap() + evicted.parse::<u32>().unwrap();
    assert!(
        changed > 0,
        "the autonomous workload's pods were not changed: {checkout}"
    );
    assert_ne!(cells[8], "-", "APPLIED is reported: {checkout}");
    // The horizontal one: its replicas and what its HPA alone asks for are shown, and
    // prescale never holds fewer than the HPA asks.
    let catalog = last_table
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some("catalog"))
        .unwrap_or_else(|| panic!("no catalog row: {stdout}"));
    let cells: Vec<&str> = catalog.split_whitespace().collect();
    let (run, hpa) = cells[6]
        .split_once('/')
        .unwrap_or_else(|| panic!("RUN/HPA: {catalog}"));
    let run: i32 = run.parse().unwrap_or_else(|_| panic!("RUN: {catalog}"));
    if let Ok(hpa) = hpa.parse::<i32>() {
        assert!(
            run >= hpa.min(12),
            "fewer replicas than the HPA asks: {catalog}"
        );
    }
}

#[test]
fn a_dashboard_port_in_use_is_named_by_the_demos_own_flag() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_prescale"))
        .args(["demo", "--duration", "1", "--dashboard-port", &port])
        .arg("--kubeconfig-out")
        .arg(dir.path().join("kubeconfig"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("--dashboard-port {port}: cannot listen"))
            && err.contains("--dashboard-port 0"),
        "{err}"
    );
    assert!(
        !err.contains("--dashboard-addr"),
        "not the operator's flag: {err}"
    );
}

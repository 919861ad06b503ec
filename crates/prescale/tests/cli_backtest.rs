//! `prescale backtest` end to end on small generated traces: the JSON has the documented
//! shape, every policy is there, and bad input is refused with the file and line.

use std::process::Command;

fn write_trace(path: &std::path::Path, days: usize, seed: f64) {
    let mut csv = String::from("timestamp,value\n");
    for i in 0..days * 288 {
        let daily = (i as f64 * std::f64::consts::TAU / 288.0).sin();
        let noise = ((i as f64 * 12.9898 + seed).sin() * 43758.5453)
            .fract()
            .abs();
        csv.push_str(&format!("{},{}\n", i * 300, 10.0 + 4.0 * daily + noise));
    }
    std::fs::write(path, csv).unwrap();
}

#[test]
fn backtest_json_has_every_policy_and_series() {
    let dir = tempfile::tempdir().unwrap();
    write_trace(&dir.path().join("a_cpu.csv"), 6, 1.0);
    write_trace(&dir.path().join("b_memory.csv"), 6, 2.0);
    let report = dir.path().join("report");
    let out = Command::new(env!("CARGO_BIN_EXE_prescale"))
        .args(["backtest", "--json", "--report"])
        .arg(&report)
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for policy in ["prescale", "vpa", "reactive", "static_peak", "oracle"] {
        for metric in [
            "slack",
            "under_provisioned",
            "shortfall",
            "cost_vs_oracle",
            "changes_per_day",
        ] {
            assert!(
                json["summary"][policy][metric].is_number(),
                "summary.{policy}.{metric} missing: {json}"
            );
        }
    }
    let series = json["series"].as_array().unwrap();
    assert_eq!(series.len(), 2);
    assert_eq!(series[0]["name"], "a_cpu.csv");
    assert!(series[1]["policies"]["prescale"]["slack"].is_number());
    assert_eq!(json["summary"]["oracle"]["under_provisioned"], 0.0);
    assert!(report.join("README.md").exists() && report.join("a_cpu.svg").exists());
}

#[test]
fn bad_csv_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.csv");
    std::fs::write(&file, "timestamp,value\n0,1\nnot-a-time,2\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_prescale"))
        .args(["backtest"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.csv:3"), "{err}");
}

#[test]
fn a_value_that_is_not_a_number_is_named_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.csv");
    std::fs::write(&file, "timestamp,value\n0,1\n60,\n120,abc\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_prescale"))
        .args(["backtest"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    // Line 3's empty value is a gap; line 4's is a mistake, not "no valid sample".
    assert!(
        err.contains("bad.csv:4: value \"abc\" is not a number"),
        "{err}"
    );
}

//! `prescale backtest --direction horizontal` end to end on a tiny generated request trace:
//! the JSON has every policy per series and overall, the oracle is never short, the report
//! has its plot, and bad flags are refused with what was wrong.

use std::process::Command;

/// Three days of a request count per 300 s with a daily step up from 08:00 to 12:00.
fn write_trace(path: &std::path::Path) {
    let mut csv = String::from("timestamp,value\n");
    for i in 0..3 * 288 {
        let minute = (i % 288) * 5;
        let count = if (480..720).contains(&minute) {
            9000
        } else {
            1500
        };
        csv.push_str(&format!("{},{}\n", i * 300, count));
    }
    std::fs::write(path, csv).unwrap();
}

#[test]
fn horizontal_json_has_every_policy_per_series_and_overall() {
    let dir = tempfile::tempdir().unwrap();
    write_trace(&dir.path().join("tiny_requests.csv"));
    let report = dir.path().join("report");
    let out = Command::new(env!("CARGO_BIN_EXE_prescale"))
        .args([
            "backtest",
            "--direction",
            "horizontal",
            "--json",
            "--warmup-days",
            "1",
            "--min-lookback",
            "24h",
            "--report",
        ])
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
    assert_eq!(json["direction"], "horizontal");
    for policy in [
        "hpa",
        "prescale+hpa",
        "kpa",
        "apa",
        "kpa+trend",
        "kpa+prescale",
        "oracle",
    ] {
        for metric in [
            "under_capacity",
            "replica_hours",
            "replica_hours_vs_oracle",
            "scale_events_per_day",
        ] {
            assert!(
                json["summary"]["policies"][policy][metric].is_number(),
                "summary.policies.{policy}.{metric} missing: {json}"
            );
            assert!(
                json["series"][0]["policies"][policy][metric].is_number(),
                "series[0].policies.{policy}.{metric} missing"
            );
        }
    }
    assert_eq!(json["summary"]["policies"]["oracle"]["under_capacity"], 0.0);
    assert!(json["summary"]["target"]["met"].is_boolean());
    // p95 = 9000 per 300 s = 30 requests/s over 10 pods: 3 requests/s per pod.
    assert_eq!(json["series"][0]["capacity"], 900.0);
    assert_eq!(json["series"][0]["capacity_shown"], "3.0000 requests/s");
    assert!(report.join("README.md").exists());
    assert!(report.join("tiny_requests.horizontal.svg").exists());
}

#[test]
fn bad_horizontal_flags_say_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    write_trace(&dir.path().join("tiny_requests.csv"));
    for (flag, value, says) in [
        ("--target-utilization", "150%", "--target-utilization"),
        ("--capacity", "0", "--capacity"),
        ("--sync-period", "0s", "--sync-period"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_prescale"))
            .args(["backtest", "--direction", "horizontal", flag, value])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{flag} {value} accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{flag} {value}: {err}");
    }
}

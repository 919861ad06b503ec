//! `prescale bench webhook` at a tiny scale: it runs end to end against a real operator
//! process and prints the JSON the benchmark records, every review answered as expected.
//! No figure is checked here: the figures are measured, not asserted (docs/BENCHMARKS.md).

use std::process::Command;

#[test]
fn bench_webhook_prints_its_figures_without_errors() {
    let out = Command::new(env!("CARGO_BIN_EXE_prescale"))
        .args(["bench", "webhook", "--targets", "20", "--namespaces", "2"])
        .args([
            "--rate",
            "50",
            "--duration-secs",
            "2",
            "--timeout-secs",
            "240",
            "--json",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "bench webhook failed:\n{stderr}");
    let figures: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    assert_eq!(figures["targets"], 20);
    assert_eq!(figures["requests"], 100);
    assert_eq!(figures["errors"], 0, "{figures}");
    assert_eq!(figures["unexpected"], 0, "{figures}");
    // 20 % of the reviews are for pods admitted unchanged, the rest are mutated.
    assert_eq!(figures["unchanged"], 20, "{figures}");
    assert_eq!(figures["mutated"], 80, "{figures}");
    for key in [
        "p50_ms",
        "p99_ms",
        "max_ms",
        "achieved_rate",
        "cache_kb_per_target",
    ] {
        assert!(figures[key].is_number(), "{key} missing: {figures}");
    }
    assert!(figures["p50_ms"].as_f64() <= figures["p99_ms"].as_f64());
    assert!(figures["p99_ms"].as_f64() <= figures["max_ms"].as_f64());
    // Progress went to stderr, not into the JSON.
    assert!(stderr.contains("AIScaleTargets"), "{stderr}");
}

#[test]
fn a_count_of_zero_is_refused_with_its_flag() {
    for args in [
        ["bench", "sim", "--pods", "0"],
        ["bench", "forecast", "--runs", "0"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_prescale"))
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("invalid value '0' for '{}", args[2])),
            "{args:?}: {stderr}"
        );
    }
}

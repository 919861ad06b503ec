//! A child process appending to the embedded store is SIGKILLed at 50 random moments;
//! after every kill the store opens, every sample acknowledged before the kill is there
//! with its value, and nothing corrupt is read.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use prescale_store::{FileStore, HistoryStore, Metric, SeriesKey};

fn key(c: usize) -> SeriesKey {
    SeriesKey {
        namespace: "ns".into(),
        kind: "Deployment".into(),
        workload: "w".into(),
        container: format!("c{c}"),
        metric: Metric::Cpu,
    }
}

#[test]
fn fifty_sigkills_lose_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.log");
    let mut next = 0i64;
    let mut acknowledged = -1i64;
    let mut seed = 0x2545F4914F6CDD1Du64;
    for round in 0..50 {
        let program = env!("CARGO_BIN_EXE_crash_child");
        let mut child = Command::new(program)
            .arg(&path)
            .arg(next.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "round {round}: starting {program} failed: {e} (the file exists: {}; cwd {:?})",
                    std::path::Path::new(program).exists(),
                    std::env::current_dir()
                )
            });
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut last = None;
            for line in BufReader::new(stdout).lines() {
                match line.ok().and_then(|l| l.parse::<i64>().ok()) {
                    Some(t) => last = Some(t),
                    None => break,
                }
            }
            last
        });
        // A pseudo-random moment between 5 and 80 ms.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let wait = Duration::from_millis(5 + seed % 75);
        let started = Instant::now();
        while started.elapsed() < wait {
            std::thread::sleep(Duration::from_millis(1));
        }
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        if let Some(last) = reader.join().unwrap() {
            acknowledged = acknowledged.max(last);
        }
        let store = FileStore::open(&path)
            .unwrap_or_else(|e| panic!("round {round}: the store does not open: {e}"));
        for c in 0..4 {
            let samples = store.read(&key(c), 0, i64::MAX).unwrap();
            assert!(
                samples.len() as i64 > acknowledged,
                "round {round}: container c{c} has {} samples, {} were acknowledged",
                samples.len(),
                acknowledged + 1
            );
            for (i, (t, v)) in samples.iter().enumerate() {
                assert_eq!(
                    *t, i as i64,
                    "round {round}: timestamps must be 0, 1, 2, ... without holes"
                );
                assert_eq!(
                    *v,
                    *t as f64 * 0.5 + c as f64,
                    "round {round}: value at {t} is corrupt"
                );
            }
        }
        next = store.read(&key(0), 0, i64::MAX).unwrap().len() as i64;
    }
    assert!(acknowledged > 0, "the child never got a batch acknowledged");
}

//! Test helper for the crash test (`tests/crash.rs`): appends batches to a FileStore
//! forever and prints the timestamp of every batch once `append` has returned, i.e. once it
//! is durable. The test SIGKILLs it at random moments and checks what survived.
//!
//! Usage: crash_child PATH FIRST_TIMESTAMP

use prescale_store::{FileStore, HistoryStore, Metric, SeriesKey};
use std::io::Write;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(path), Some(first)) = (args.next(), args.next().and_then(|s| s.parse::<i64>().ok()))
    else {
        eprintln!("usage: crash_child PATH FIRST_TIMESTAMP");
        std::process::exit(2);
    };
    let store = match FileStore::open(&path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let mut stdout = std::io::stdout().lock();
    for t in first.. {
        let batch: Vec<_> = (0..4)
            .map(|c| {
                let key = SeriesKey {
                    namespace: "ns".into(),
                    kind: "Deployment".into(),
                    workload: "w".into(),
                    container: format!("c{c}"),
                    metric: Metric::Cpu,
                };
                (key, (t, t as f64 * 0.5 + c as f64))
            })
            .collect();
        if let Err(e) = store.append(&batch) {
            eprintln!("{e}");
            std::process::exit(1);
        }
        if writeln!(stdout, "{t}")
            .and_then(|_| stdout.flush())
            .is_err()
        {
            return;
        }
    }
}

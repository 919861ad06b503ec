//! Test support shared by every crate's tests: a fresh PostgreSQL database on the server
//! `scripts/test` starts (scripts/deps/postgres.sh).

use std::sync::atomic::{AtomicUsize, Ordering};

/// The URL of a new, empty database on the test server, or `None` when the developer opted
/// out with `PRESCALE_SKIP_POSTGRES=1`. Without a server and without the opt-out the test
/// fails: `scripts/test` starts one (scripts/deps/postgres.sh).
pub fn fresh_database(test: &str) -> Option<String> {
    let Ok(admin) = std::env::var("PRESCALE_TEST_POSTGRES_URL") else {
        if std::env::var("PRESCALE_SKIP_POSTGRES").as_deref() == Ok("1") {
            eprintln!(
                "\n!!! {test}: SKIPPED — PRESCALE_SKIP_POSTGRES=1, no PostgreSQL tests ran !!!\n"
            );
            return None;
        }
        panic!(
            "{test} needs PostgreSQL: run scripts/test (it installs and starts one on \
             loopback), or set PRESCALE_TEST_POSTGRES_URL; PRESCALE_SKIP_POSTGRES=1 skips it"
        );
    };
    static N: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "prescale_test_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        test.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
    );
    let name = &name[..name.len().min(63)];
    let status = std::process::Command::new("psql")
        .args([admin.as_str(), "-q", "-v", "ON_ERROR_STOP=1", "-c"])
        .arg(format!("CREATE DATABASE \"{name}\""))
        .status()
        .expect("running psql to create the test database");
    assert!(status.success(), "creating database {name} failed");
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    Some(format!("{base}/{name}"))
}

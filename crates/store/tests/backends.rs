//! Every backend behaves the same: one conformance check run against the in-memory store,
//! the embedded file store and PostgreSQL (a real server, started by scripts/test), plus
//! what only a shared database has to get right: several workers at once.

mod common;

use common::{fresh_database, key};
use prescale_store::retention::{Bucket, Retention};
use prescale_store::{FileStore, HistoryStore, MemoryStore, Metric, PgStore};

const DAY: i64 = 86_400;

/// Ten days of one-minute samples for two containers, upserts, deletion and retention,
/// checked against the definition in `retention::buckets`.
fn conformance(store: &dyn HistoryStore) {
    let a = key("web", "app", Metric::Cpu);
    let b = key("web", "app", Metric::Memory);
    let other = key("db", "pg", Metric::Cpu);
    let value = |i: i64| ((i * 37) % 101) as f64 / 10.0;
    for day in 0..10 {
        let batch: Vec<_> = (day * DAY / 60..(day + 1) * DAY / 60)
            .flat_map(|i| {
                [
                    (a.clone(), (i * 60, value(i))),
                    (b.clone(), (i * 60, 1e9 + value(i))),
                ]
            })
            .collect();
        store.append(&batch).unwrap();
    }
    store.append(&[(other.clone(), (5, 1.0))]).unwrap();
    assert_eq!(store.series().unwrap(), {
        let mut keys = vec![a.clone(), b.clone(), other.clone()];
        keys.sort();
        keys
    });

    // Ranges are half-open; a sample at a time already held is replaced, last one wins.
    assert_eq!(
        store.read(&a, 60, 240).unwrap(),
        vec![(60, value(1)), (120, value(2)), (180, value(3))]
    );
    store
        .append(&[(a.clone(), (120, 42.0)), (a.clone(), (120, 43.0))])
        .unwrap();
    assert_eq!(store.read(&a, 120, 121).unwrap(), vec![(120, 43.0)]);
    assert!(
        store
            .read(&key("nope", "x", Metric::Cpu), 0, i64::MAX)
            .unwrap()
            .is_empty()
    );

    // Downsampled reads of raw data follow `retention::buckets` exactly.
    let raw_day = store.read(&a, 0, DAY).unwrap();
    assert_close(
        &store.read_downsampled(&a, 0, DAY, 3600).unwrap(),
        &prescale_store::retention::buckets(&raw_day, 3600),
    );

    // Retention at day 10: 8 days stay raw, the first 2 become 5-minute buckets.
    let expected_old =
        prescale_store::retention::buckets(&store.read(&a, 0, 2 * DAY).unwrap(), 300);
    let recent = store.read(&a, 2 * DAY, i64::MAX).unwrap();
    store
        .apply_retention(10 * DAY, Retention::default())
        .unwrap();
    assert_eq!(
        store.read(&a, 0, i64::MAX).unwrap(),
        recent,
        "the last 8 days stay raw, sample for sample (sealed or not)"
    );
    let downsampled = store.read_downsampled(&a, 0, 10 * DAY, 300).unwrap();
    assert_eq!(downsampled.len() as i64, 10 * DAY / 300);
    assert_close(&downsampled[..expected_old.len()], &expected_old);
    assert!(store.read(&other, 0, i64::MAX).unwrap().is_empty());
    assert_eq!(
        store.read_downsampled(&other, 0, DAY, 300).unwrap().len(),
        1
    );

    // A late sample in a folded bucket merges into it when retention runs again.
    store.append(&[(a.clone(), (30, 100.0))]).unwrap();
    store
        .apply_retention(10 * DAY, Retention::default())
        .unwrap();
    let first = store.read_downsampled(&a, 0, 300, 300).unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!((first[0].max, first[0].count), (100.0, 6));

    // Unenrolling discards every series of the workload, and only those.
    assert_eq!(
        store.delete_workload("shop", "Deployment", "web").unwrap(),
        2
    );
    assert_eq!(store.series().unwrap(), vec![other.clone()]);
    assert!(
        store
            .read_downsampled(&a, 0, 10 * DAY, 300)
            .unwrap()
            .is_empty()
    );

    // Buckets past 90 days go, and with them the series.
    store
        .apply_retention(200 * DAY, Retention::default())
        .unwrap();
    assert!(store.series().unwrap().is_empty());
}

fn assert_close(got: &[Bucket], want: &[Bucket]) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert_eq!((g.t, g.count, g.max, g.p95), (w.t, w.count, w.max, w.p95));
        // Sums in another order (SQL's avg) differ in the last bits.
        assert!((g.mean - w.mean).abs() < 1e-9, "{g:?} vs {w:?}");
    }
}

#[test]
fn memory_store_conforms() {
    conformance(&MemoryStore::new());
}

#[test]
fn file_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    conformance(&FileStore::open(dir.path().join("history.log")).unwrap());
}

#[test]
fn postgres_store_conforms() {
    let Some(url) = fresh_database("postgres_store_conforms") else {
        return;
    };
    conformance(&PgStore::connect(&url, 4).unwrap());
}

#[test]
fn postgres_history_survives_reconnecting_and_migrates_once() {
    let Some(url) = fresh_database("postgres_reconnect") else {
        return;
    };
    let k = key("web", "app", Metric::Cpu);
    {
        let store = PgStore::connect(&url, 2).unwrap();
        store.append(&[(k.clone(), (100, 1.5))]).unwrap();
    }
    let store = PgStore::connect(&url, 2).unwrap();
    assert_eq!(store.read(&k, 0, 1000).unwrap(), vec![(100, 1.5)]);
    let migrations = std::process::Command::new("psql")
        .args([
            url.as_str(),
            "-tAc",
            "SELECT count(*) FROM prescale_migrations",
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&migrations.stdout).trim(), "2");
    assert!(store.disk_bytes().unwrap() > 0);
}

/// Two workers share the database: one deletes a workload the other has cached, both
/// append and both run retention at once — nothing is lost and nothing is counted twice.
#[test]
fn postgres_workers_share_one_history() {
    let Some(url) = fresh_database("postgres_workers") else {
        return;
    };
    let (w1, w2) = (
        PgStore::connect(&url, 2).unwrap(),
        PgStore::connect(&url, 2).unwrap(),
    );
    let k = key("web", "app", Metric::Cpu);
    w1.append(&[(k.clone(), (0, 1.0))]).unwrap();
    assert_eq!(w2.delete_workload("shop", "Deployment", "web").unwrap(), 1);
    // w1 still caches the deleted series' id: its append must re-create the series.
    w1.append(&[(k.clone(), (60, 2.0))]).unwrap();
    assert_eq!(w2.read(&k, 0, i64::MAX).unwrap(), vec![(60, 2.0)]);

    std::thread::scope(|s| {
        for (w, offset) in [(&w1, 0), (&w2, 1)] {
            let k = k.clone();
            s.spawn(move || {
                for day in 0..4 {
                    let batch: Vec<_> = (0..DAY / 120)
                        .map(|i| (k.clone(), (day * DAY + i * 120 + offset * 60, 1.0)))
                        .collect();
                    w.append(&batch).unwrap();
                }
            });
        }
    });
    let all = w1.read(&k, 0, i64::MAX).unwrap();
    assert_eq!(all.len() as i64, 4 * DAY / 60);
    let retention = Retention {
        raw_secs: DAY,
        ..Retention::default()
    };
    std::thread::scope(|s| {
        s.spawn(|| w1.apply_retention(4 * DAY, retention).unwrap());
        s.spawn(|| w2.apply_retention(4 * DAY, retention).unwrap());
    });
    let buckets = w2.read_downsampled(&k, 0, 3 * DAY, 300).unwrap();
    assert_eq!(buckets.len() as i64, 3 * DAY / 300);
    assert!(
        buckets.iter().all(|b| b.count == 5),
        "each 5-minute bucket holds five one-minute samples, folded once"
    );
    assert_eq!(w1.read(&k, 0, i64::MAX).unwrap().len() as i64, DAY / 60);
}

/// Workers split the targets through claims: a newcomer gets its share within two rounds,
/// a worker that stops renewing is taken over after the TTL, and no target is ever held
/// by two workers.
#[test]
fn postgres_claims_split_targets_among_live_workers() {
    let Some(url) = fresh_database("postgres_claims") else {
        return;
    };
    let store = PgStore::connect(&url, 2).unwrap();
    let targets: Vec<String> = (0..6).map(|i| format!("shop/t{i}")).collect();
    let ttl = std::time::Duration::from_secs(2);
    let claim = |w: &str| store.claim(w, &targets, ttl).unwrap();
    assert_eq!(claim("w1").len(), 6, "alone, a worker takes everything");
    assert!(claim("w2").is_empty(), "nothing is free yet");
    assert_eq!(
        claim("w1").len(),
        3,
        "two workers alive: w1 gives back its excess"
    );
    let w2 = claim("w2");
    let w1 = claim("w1");
    assert_eq!((w1.len(), w2.len()), (3, 3));
    assert!(w1.iter().all(|t| !w2.contains(t)), "{w1:?} / {w2:?}");
    // A target that disappears is let go; w1 stops renewing and is taken over.
    let fewer = &targets[..5];
    assert!(store.claim("w2", fewer, ttl).unwrap().len() <= 3);
    std::thread::sleep(ttl + std::time::Duration::from_millis(500));
    assert_eq!(store.claim("w2", fewer, ttl).unwrap().len(), 5);
    store.release_claims("w2").unwrap();
    assert_eq!(claim("w3").len(), 6, "released claims are free at once");
}

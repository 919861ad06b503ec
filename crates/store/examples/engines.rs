//! The measurement behind the embedded store's design: the same collector-shaped ingest
//! (one durable batch per 15 s tick, all series interleaved) into `FileStore`, redb and
//! fjall, then bytes per sample on disk and the latency of reading one series back.
//!
//! `cargo run --release -p prescale-store --example engines -- [workloads] [days]`
//! (defaults 20 and 7). Raw samples only: no retention, so all three hold the same data.

use std::path::Path;
use std::time::Instant;

use prescale_store::{FileStore, HistoryStore, Metric, Sample, SeriesKey};
use redb::ReadableDatabase;

const STEP: i64 = 15;
const START: i64 = 1_760_000_000;

/// Series are numbered; values are shaped like metrics-server's (integer nanocores, whole
/// KiB) with a daily cycle and noise, as `prescale bench storage` makes them.
fn tick(t: i64, series: usize, rng: &mut u64) -> Vec<(usize, Sample)> {
    let daily = (t as f64 / 86_400.0 * std::f64::consts::TAU).sin();
    (0..series)
        .map(|i| {
            *rng ^= *rng << 13;
            *rng ^= *rng >> 7;
            *rng ^= *rng << 17;
            let noise = (*rng >> 11) as f64 / (1u64 << 53) as f64;
            let level = 1.0 + 0.5 * daily + 0.1 * noise + (i % 7) as f64 * 0.05;
            let v = if i.is_multiple_of(2) {
                (level * 0.25 * 1e9).round() / 1e9
            } else {
                (level * 300.0 * 1024.0).round() * 1024.0
            };
            (i, (t, v))
        })
        .collect()
}

fn dir_bytes(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_bytes(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

fn key_bytes(series: usize, t: i64) -> [u8; 12] {
    let mut k = [0u8; 12];
    k[..4].copy_from_slice(&(series as u32).to_be_bytes());
    // Flipping the sign bit makes big-endian bytes sort like the signed number.
    k[4..].copy_from_slice(&((t as u64) ^ (1 << 63)).to_be_bytes());
    k
}

trait Engine {
    fn name(&self) -> &'static str;
    fn write(&mut self, batch: &[(usize, Sample)]);
    fn read(&self, series: usize, from: i64, to: i64) -> Vec<Sample>;
    /// What the engine does in the background or on schedule after ingest (compaction).
    fn settle(&mut self, _now: i64) {}
}

struct File(FileStore);

fn series_key(i: usize) -> SeriesKey {
    SeriesKey {
        namespace: "bench".into(),
        kind: "Deployment".into(),
        workload: format!("w{}", i / 4),
        container: format!("c{}", (i / 2) % 2),
        metric: if i.is_multiple_of(2) {
            Metric::Cpu
        } else {
            Metric::Memory
        },
    }
}

impl Engine for File {
    fn name(&self) -> &'static str {
        "FileStore (log, then compact)"
    }
    fn write(&mut self, batch: &[(usize, Sample)]) {
        let batch: Vec<_> = batch.iter().map(|(i, s)| (series_key(*i), *s)).collect();
        self.0.append(&batch).unwrap();
    }
    fn read(&self, series: usize, from: i64, to: i64) -> Vec<Sample> {
        self.0.read(&series_key(series), from, to).unwrap()
    }
    /// The hourly compaction, with a retention that keeps every sample raw.
    fn settle(&mut self, now: i64) {
        let keep_all = prescale_store::retention::Retention {
            raw_secs: 3650 * 86_400,
            aggregate_secs: 3650 * 86_400,
            bucket_secs: 300,
        };
        self.0.compact(now, keep_all).unwrap();
    }
}

const TABLE: redb::TableDefinition<&[u8; 12], f64> = redb::TableDefinition::new("samples");

struct Redb(redb::Database);

impl Engine for Redb {
    fn name(&self) -> &'static str {
        "redb 4 (one durable commit per tick)"
    }
    fn write(&mut self, batch: &[(usize, Sample)]) {
        let tx = self.0.begin_write().unwrap();
        {
            let mut table = tx.open_table(TABLE).unwrap();
            for (i, (t, v)) in batch {
                table.insert(&key_bytes(*i, *t), *v).unwrap();
            }
        }
        tx.commit().unwrap();
    }
    fn read(&self, series: usize, from: i64, to: i64) -> Vec<Sample> {
        let tx = self.0.begin_read().unwrap();
        let table = tx.open_table(TABLE).unwrap();
        let (lo, hi) = (key_bytes(series, from), key_bytes(series, to));
        table
            .range::<&[u8; 12]>(&lo..&hi)
            .unwrap()
            .map(|e| {
                let (k, v) = e.unwrap();
                let t = u64::from_be_bytes(k.value()[4..].try_into().unwrap()) ^ (1 << 63);
                (t as i64, v.value())
            })
            .collect()
    }
}

struct Fjall(fjall::Database, fjall::Keyspace);

impl Engine for Fjall {
    fn name(&self) -> &'static str {
        "fjall 3 (one batch + fsync per tick)"
    }
    fn write(&mut self, batch: &[(usize, Sample)]) {
        let mut b = self.0.batch();
        for (i, (t, v)) in batch {
            b.insert(&self.1, key_bytes(*i, *t), v.to_le_bytes());
        }
        b.commit().unwrap();
        self.0.persist(fjall::PersistMode::SyncAll).unwrap();
    }
    fn read(&self, series: usize, from: i64, to: i64) -> Vec<Sample> {
        self.1
            .range(key_bytes(series, from)..key_bytes(series, to))
            .map(|g| {
                let (k, v) = g.into_inner().unwrap();
                let t = u64::from_be_bytes(k[4..].try_into().unwrap()) ^ (1 << 63);
                (t as i64, f64::from_le_bytes(v[..].try_into().unwrap()))
            })
            .collect()
    }
}

fn measure(engine: &mut dyn Engine, dir: &Path, series: usize, days: i64) {
    let ticks = days * 86_400 / STEP;
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let began = Instant::now();
    for i in 0..ticks {
        engine.write(&tick(START + i * STEP, series, &mut rng));
    }
    let secs = began.elapsed().as_secs_f64();
    let samples = (ticks as usize * series) as f64;
    let end = START + ticks * STEP;
    let bytes_as_written = dir_bytes(dir) as f64 / samples;
    engine.settle(end);
    let mut read_ms = vec![];
    for i in 0..20 {
        let t0 = Instant::now();
        let got = engine.read((i * 7919) % series, START, end);
        read_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(got.len() as i64, ticks, "{} lost samples", engine.name());
    }
    read_ms.sort_by(f64::total_cmp);
    println!(
        "| {} | {bytes_as_written:.1} | {:.1} | {:.0} | {:.2} |",
        engine.name(),
        dir_bytes(dir) as f64 / samples,
        samples / secs,
        read_ms[read_ms.len() / 2],
    );
}

fn main() {
    let args: Vec<i64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let workloads = *args.first().unwrap_or(&20) as usize;
    let days = *args.get(1).unwrap_or(&7);
    let series = workloads * 4;
    println!(
        "{workloads} workloads × 2 containers × CPU+memory = {series} series, {days} days at {STEP} s\n"
    );
    println!(
        "| engine | bytes/sample as written | bytes/sample after compaction | ingest samples/s | read of one series, p50 ms |"
    );
    println!("|---|---|---|---|---|");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("file");
    std::fs::create_dir_all(&path).unwrap();
    let mut file = File(FileStore::open(path.join("history.log")).unwrap());
    measure(&mut file, &path, series, days);

    let path = dir.path().join("redb");
    std::fs::create_dir_all(&path).unwrap();
    let mut redb = Redb(redb::Database::create(path.join("db.redb")).unwrap());
    measure(&mut redb, &path, series, days);

    let path = dir.path().join("fjall");
    let db = fjall::Database::builder(&path).open().unwrap();
    let ks = db
        .keyspace("samples", fjall::KeyspaceCreateOptions::default)
        .unwrap();
    let mut fjall = Fjall(db, ks);
    measure(&mut fjall, &path, series, days);
}

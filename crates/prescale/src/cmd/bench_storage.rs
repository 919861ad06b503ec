//! `prescale bench storage`: realistic metrics-server samples (integer nanocores, memory in
//! KiB, daily cycles and noise) for N workloads, ingested tick by tick as the collector
//! does, then compacted with the default retention.
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use prescale_store::retention::Retention;
use prescale_store::{FileStore, HistoryStore, Metric, PgStore, SeriesKey};
use std::sync::Arc;

use crate::cmd::output;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    Embedded,
    Postgres,
}

#[derive(Debug, clap::Args)]
pub struct StorageArgs {
    #[arg(long, default_value_t = 200)]
    workloads: usize,
    #[arg(long, default_value_t = 2)]
    containers: usize,
    #[arg(long, default_value_t = 30)]
    days: i64,
    /// Scrape interval.
    #[arg(long, default_value = "15s")]
    interval: String,
    #[arg(long, value_enum, default_value = "embedded")]
    backend: Backend,
    /// Directory for the embedded store (a temporary one by default).
    #[arg(long)]
    dir: Option<std::path::PathBuf>,
    /// Database for the postgres backend; its prescale tables must be empty (use a
    /// database of its own).
    #[arg(long, env = "PRESCALE_BENCH_POSTGRES_URL")]
    postgres_url: Option<String>,
    #[arg(long)]
    json: bool,
}

/// The store under test, and how to measure its size on disk.
type Opened = (Arc<dyn HistoryStore>, Box<dyn Fn() -> anyhow::Result<u64>>);

fn open(args: &StorageArgs, dir: &std::path::Path) -> anyhow::Result<Opened> {
    match args.backend {
        Backend::Embedded => {
            let store = Arc::new(FileStore::open(dir.join("history.log"))?);
            let measured = store.clone();
            Ok((store, Box::new(move || Ok(measured.disk_bytes()))))
        }
        Backend::Postgres => {
            let url = args.postgres_url.as_deref().context(
                "--backend postgres needs --postgres-url (or PRESCALE_BENCH_POSTGRES_URL)",
            )?;
            let store = Arc::new(PgStore::connect(url, 4)?);
            anyhow::ensure!(
                store.series()?.is_empty(),
                "--postgres-url: the database already holds prescale history; use an empty one"
            );
            let measured = store.clone();
            // Live data, as in a store whose dead rows autovacuum has long reused.
            let live_bytes = move || {
                measured.vacuum_full()?;
                Ok(measured.disk_bytes()?)
            };
            Ok((store, Box::new(live_bytes)))
        }
    }
}

pub fn run(args: StorageArgs) -> anyhow::Result<ExitCode> {
    let StorageArgs {
        workloads,
        containers,
        days,
        json,
        ..
    } = args;
    let step = prescale_api::duration::parse_duration(&args.interval)
        .context("--interval")?
        .as_secs()
        .max(1) as i64;
    anyhow::ensure!(
        workloads > 0 && containers > 0 && days > 0,
        "--workloads, --containers and --days must be positive"
    );
    let tmp = tempfile::tempdir().context("creating a temporary directory")?;
    let dir = args.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    let (store, disk_bytes) = open(&args, &dir)?;
    let keys: Vec<SeriesKey> = (0..workloads)
        .flat_map(|w| {
            (0..containers)
                .flat_map(move |c| [Metric::Cpu, Metric::Memory].map(move |metric| (w, c, metric)))
        })
        .map(|(w, c, metric)| SeriesKey {
            namespace: format!("ns-{}", w % 10),
            kind: "Deployment".into(),
            workload: format!("workload-{w}"),
            container: format!("container-{c}"),
            metric,
        })
        .collect();
    let start = 1_760_000_000i64;
    let ticks = days * 86_400 / step;
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut noise = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng >> 11) as f64 / (1u64 << 53) as f64
    };
    let progress = indicatif::ProgressBar::new(ticks as u64);
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        progress.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let began = Instant::now();
    let mut batch = Vec::with_capacity(keys.len());
    for tick in 0..ticks {
        let t = start + tick * step;
        let daily = (t as f64 / 86_400.0 * std::f64::consts::TAU).sin();
        batch.clear();
        for (i, key) in keys.iter().enumerate() {
            let level = 1.0 + 0.5 * daily + 0.1 * noise() + (i % 7) as f64 * 0.05;
            let value = match key.metric {
                Metric::Cpu => (level * 0.25 * 1e9).round() / 1e9, // integer nanocores
                _ => ((level * 300.0 * 1024.0).round()) * 1024.0,  // whole KiB
            };
            batch.push((key.clone(), (t, value)));
        }
        store.append(&batch)?;
        progress.inc(1);
    }
    progress.finish_and_clear();
    let ingest_secs = began.elapsed().as_secs_f64();
    let samples = (ticks as usize * keys.len()) as f64;
    let end = start + ticks * step;
    store.apply_retention(end, Retention::default())?;
    let bytes = disk_bytes()?;
    let per_workload_month = bytes as f64 / workloads as f64 * (30.0 / days as f64);
    let mut read_ms = vec![];
    for i in 0..50 {
        let key = &keys[(i * 7919) % keys.len()];
        let t0 = Instant::now();
        let buckets = store.read_downsampled(key, end - 30 * 86_400, end, 300)?;
        read_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(!buckets.is_empty(), "a downsampled read returned nothing");
    }
    read_ms.sort_by(f64::total_cmp);
    let (p50, p99) = (read_ms[read_ms.len() / 2], read_ms[read_ms.len() - 1]);
    let rate = samples / ingest_secs;
    let backend = match args.backend {
        Backend::Embedded => "embedded",
        Backend::Postgres => "postgres",
    };
    if json {
        output::outln!(
            "{}",
            serde_json::json!({"backend": backend, "workloads": workloads, "containers": containers, "days": days, "interval_s": step,
                "samples": samples, "bytes_per_workload_month": per_workload_month, "ingest_samples_per_s": rate,
                "read_30d_downsampled_p50_ms": p50, "read_30d_downsampled_max_ms": p99})
        )?;
    } else {
        output::outln!(
            "{backend}: {:.2} MB per workload-month, ingest {rate:.0} samples/s, 30-day downsampled read p50 {p50:.2} ms (max {p99:.2} ms)",
            per_workload_month / 1e6
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

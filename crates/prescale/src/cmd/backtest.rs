//! `prescale backtest PATH...`: replay usage traces causally and compare prescale with the
//! VPA recommender, a reactive HPA, a static peak and the oracle.
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

use anyhow::{Context, bail};
use prescale_forecast::backtest::{BacktestConfig, SeriesResult, backtest_series, summarize};
use prescale_forecast::mode::Mode;
use prescale_forecast::series::Series;

use crate::cmd::output;

#[path = "backtest_report.rs"]
mod report;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// CSV files (`timestamp,value`, unix seconds) or directories of them.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Write a Markdown report with one SVG plot per series into this directory.
    #[arg(long)]
    report: Option<PathBuf>,
    /// How far each forecast looks ahead (forecast_blocks).
    #[arg(long, default_value = "15m")]
    horizon: String,
    /// Time between forecasts.
    #[arg(long, default_value = "15m")]
    cadence: String,
    /// undershoot, cost_optimized, balanced, assurance_optimized, overshoot or percentile:<0-100>.
    #[arg(long, default_value = "balanced")]
    mode: String,
    /// Buffer added to prescale's forecast, e.g. 10%.
    #[arg(long, default_value = "0%")]
    buffer: String,
    /// Days at the start of each series excluded from the metrics (for every policy).
    #[arg(long, default_value_t = 2.0)]
    warmup_days: f64,
}

fn collect_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = vec![];
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("reading directory {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "csv"))
                .collect();
            found.sort();
            files.extend(found);
        } else if p.exists() {
            files.push(p.clone());
        } else {
            bail!("{}: no such file or directory", p.display());
        }
    }
    if files.is_empty() {
        bail!("no .csv file found in {:?}", paths);
    }
    Ok(files)
}

/// Reads a `timestamp,value` CSV; every bad line is named.
pub fn read_series(path: &Path) -> anyhow::Result<Series> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let mut samples = vec![];
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.with_context(|| format!("{}:{line}: not valid CSV", path.display()))?;
        let field = |n: usize, what: &str| {
            record
                .get(n)
                .map(str::trim)
                .with_context(|| format!("{}:{line}: missing {what} column", path.display()))
        };
        let ts: f64 = field(0, "timestamp")?
            .parse()
            .with_context(|| format!("{}:{line}: timestamp is not a number", path.display()))?;
        let value: f64 = field(1, "value")?.parse().unwrap_or(f64::NAN);
        samples.push((ts as i64, value));
    }
    Series::from_samples(&samples).with_context(|| format!("{}", path.display()))
}

fn duration_secs(flag: &str, text: &str) -> anyhow::Result<i64> {
    let d = prescale_api::duration::parse_duration(text).with_context(|| format!("--{flag}"))?;
    if d.as_secs() == 0 {
        bail!("--{flag} must be longer than zero");
    }
    Ok(d.as_secs() as i64)
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mode: Mode = args.mode.parse().context("--mode")?;
    let buffer = prescale_api::percent::parse_percent(&args.buffer).context("--buffer")? / 100.0;
    let config = BacktestConfig {
        horizon: duration_secs("horizon", &args.horizon)?,
        cadence: duration_secs("cadence", &args.cadence)?,
        mode,
        buffer,
        warmup_days: args.warmup_days.max(0.0),
    };
    let files = collect_files(&args.paths)?;
    let progress = if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new(files.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let queue = Mutex::new(files.iter().enumerate());
    let results: Mutex<Vec<(usize, anyhow::Result<SeriesResult>)>> = Mutex::new(vec![]);
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(files.len());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                    let Some((i, file)) = next else { break };
                    let name = file
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    let result =
                        read_series(file).and_then(|s| Ok(backtest_series(&name, &s, &config)?));
                    progress.inc(1);
                    results
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((i, result));
                }
            });
        }
    });
    progress.finish_and_clear();
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by_key(|(i, _)| *i);
    let mut ok = vec![];
    for (_, r) in results {
        match r {
            Ok(r) => ok.push(r),
            Err(e) => output::errln!("skipped: {e:#}")?,
        }
    }
    if ok.is_empty() {
        bail!("no series could be backtested");
    }
    let summary = summarize(&ok);
    if args.json {
        let series: Vec<serde_json::Value> = ok
            .iter()
            .map(
                |r| serde_json::json!({"name": r.name, "policies": r.policies, "models": r.models}),
            )
            .collect();
        output::outln!(
            "{}",
            serde_json::json!({"summary": summary, "series": series})
        )?;
    } else {
        output::out!("{}", report::summary_table(&summary))?;
    }
    if let Some(dir) = &args.report {
        report::write(dir, &config, &summary, &ok)?;
        output::errln!("report written to {}", dir.join("README.md").display())?;
    }
    Ok(ExitCode::SUCCESS)
}

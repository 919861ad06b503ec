//! `prescale backtest PATH...`: replay usage traces causally through the operator's own
//! decision function and compare prescale (every mode) with the VPA recommender, a reactive
//! HPA, a static peak and the oracle — or, with `--direction horizontal`, replay load traces
//! through a simulated workload under the HPA, prescale feeding it, KPA, APA and the oracle
//! (`backtest_horizontal.rs`).
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

use anyhow::{Context, bail};
use prescale_api::defaults;
use prescale_api::duration::format_duration;
use prescale_forecast::backtest::{
    BacktestConfig, SeriesResult, backtest_series, summarize, summarize_by_resource,
};
use prescale_forecast::mode::Mode;
use prescale_forecast::recommend::{Bounds, Step};
use prescale_forecast::resource::Resource;
use prescale_forecast::series::Series;

#[path = "backtest_horizontal.rs"]
mod horizontal;
#[path = "backtest_horizontal_plot.rs"]
mod horizontal_plot;
#[path = "backtest_plot.rs"]
mod plot;
use crate::cmd::output;
#[path = "backtest_report.rs"]
mod report;
#[path = "backtest_units.rs"]
mod units;

/// Which of prescale's decisions is replayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Direction {
    /// Container requests: each series is a resource's usage.
    Vertical,
    /// Replicas: each series is a workload's load, served by pods of a fixed capacity.
    Horizontal,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// CSV files (`timestamp,value`, unix seconds) or directories of them.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// vertical: container requests against usage; horizontal: replicas against load
    /// (the HPA, prescale feeding it, KPA, APA, AIBrix's trend, the oracle).
    #[arg(long, value_enum, default_value_t = Direction::Vertical)]
    direction: Direction,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    json: bool,
    /// Write a Markdown report with plots (SVG) into this directory.
    #[arg(long)]
    report: Option<PathBuf>,
    /// How far each forecast looks ahead (forecast_blocks).
    #[arg(long, default_value_t = format_duration(defaults::FORECAST_BLOCKS))]
    horizon: String,
    /// Time between forecasts (forecast_interval).
    #[arg(long, default_value_t = format_duration(defaults::FORECAST_INTERVAL))]
    cadence: String,
    /// The mode reported as `prescale`: undershoot, cost_optimized, balanced,
    /// assurance_optimized, overshoot or percentile:<0-100>. Every mode is replayed.
    #[arg(long, default_value_t = defaults::MODEL_MODE.to_string())]
    mode: String,
    /// forecast_buffer_percentage, e.g. 10%.
    #[arg(long, default_value_t = format!("{}%", defaults::FORECAST_BUFFER_PERCENT))]
    buffer: String,
    /// lowerbound, in the series' unit (a number, or a quantity such as 100m or 512Mi).
    #[arg(long)]
    lowerbound: Option<String>,
    /// upperbound, in the series' unit.
    #[arg(long)]
    upperbound: Option<String>,
    /// scaling_behavior.scale_up: a percent (50%) or an absolute step in the series' unit.
    /// Unset, as in the API, means no limit.
    #[arg(long)]
    scale_up: Option<String>,
    /// scaling_behavior.scale_down: a percent (50%) or an absolute step.
    #[arg(long)]
    scale_down: Option<String>,
    /// min_lookback_to_scale: history needed before a value is applied.
    #[arg(long, default_value_t = format_duration(defaults::MIN_LOOKBACK_TO_SCALE))]
    min_lookback: String,
    /// What every series measures, `cpu` or `memory`; by default each file's name says
    /// (`memory` in the name: memory; anything else is treated like CPU).
    #[arg(long)]
    resource: Option<String>,
    /// Days at the start of each series excluded from the metrics (for every policy).
    #[arg(long, default_value_t = 2.0)]
    warmup_days: f64,
    #[command(flatten)]
    horizontal: horizontal::Flags,
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
        // An empty value (or NaN) is a gap in the trace; anything else must be a number.
        let value = match field(1, "value")? {
            "" => f64::NAN,
            text => text.parse::<f64>().with_context(|| {
                format!(
                    "{}:{line}: value {text:?} is not a number (write a number such as 0.25, or \
                     leave it empty for a gap)",
                    path.display()
                )
            })?,
        };
        samples.push((ts as i64, value));
    }
    Series::from_samples(&samples).with_context(|| format!("{}", path.display()))
}

fn duration_secs(flag: &str, text: &str, allow_zero: bool) -> anyhow::Result<i64> {
    let d = prescale_api::duration::parse_duration(text).with_context(|| format!("--{flag}"))?;
    if d.as_secs() == 0 && !allow_zero {
        bail!("--{flag} must be longer than zero");
    }
    Ok(d.as_secs() as i64)
}

/// A number or a Kubernetes quantity (`100m`, `512Mi`), in the series' unit.
fn amount(flag: &str, text: &str) -> anyhow::Result<f64> {
    let q = prescale_api::quantity::parse(text)
        .with_context(|| format!("--{flag} {text:?}: expected a number or a quantity"))?;
    Ok(q.as_f64())
}

/// `50%` is a percent step; anything else an absolute step in the series' unit.
fn step(flag: &str, text: &str) -> anyhow::Result<Step> {
    if text.trim_end().ends_with('%') {
        let p = prescale_api::percent::parse_percent(text).with_context(|| format!("--{flag}"))?;
        Ok(Step::Percent(p))
    } else {
        Ok(Step::Absolute(amount(flag, text)?))
    }
}

fn config(args: &Args) -> anyhow::Result<BacktestConfig> {
    let mode: Mode = args.mode.parse().context("--mode")?;
    let buffer = prescale_api::percent::parse_percent(&args.buffer).context("--buffer")? / 100.0;
    let bounds = Bounds {
        lower: args
            .lowerbound
            .as_deref()
            .map(|t| amount("lowerbound", t))
            .transpose()?,
        upper: args
            .upperbound
            .as_deref()
            .map(|t| amount("upperbound", t))
            .transpose()?,
    };
    if let (Some(l), Some(u)) = (bounds.lower, bounds.upper)
        && l > u
    {
        bail!("--lowerbound ({l}) is above --upperbound ({u})");
    }
    let resource = args
        .resource
        .as_deref()
        .map(|r| r.parse::<Resource>())
        .transpose()
        .context("--resource")?;
    Ok(BacktestConfig {
        horizon: duration_secs("horizon", &args.horizon, false)?,
        cadence: duration_secs("cadence", &args.cadence, false)?,
        mode,
        buffer,
        bounds,
        scale_up: args
            .scale_up
            .as_deref()
            .map(|t| step("scale-up", t))
            .transpose()?,
        scale_down: args
            .scale_down
            .as_deref()
            .map(|t| step("scale-down", t))
            .transpose()?,
        min_lookback: duration_secs("min-lookback", &args.min_lookback, true)?,
        warmup_days: args.warmup_days.max(0.0),
        resource,
    })
}

/// One series read from a file: its name, unit and values.
pub struct Input {
    pub name: String,
    pub unit: units::Unit,
    pub series: Series,
}

/// Reads every CSV file of `paths`; a file that cannot be read is reported and skipped.
fn inputs(paths: &[PathBuf]) -> anyhow::Result<Vec<Input>> {
    let files = collect_files(paths)?;
    let mut units = units::Units::default();
    let mut inputs = vec![];
    for file in &files {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match read_series(file) {
            Ok(series) => inputs.push(Input {
                name,
                unit: units.of(file),
                series,
            }),
            Err(e) => output::errln!("skipped: {e:#}")?,
        }
    }
    Ok(inputs)
}

/// Runs `job` on every input on all cores, with a progress bar counting `total` decisions
/// (`job` reports them through its callback). Results come back in input order; a series
/// that fails is reported and skipped.
fn replay<T: Send>(
    inputs: &[Input],
    total: u64,
    job: impl Fn(&Input, &(dyn Fn(u64) + Sync)) -> anyhow::Result<T> + Sync,
) -> anyhow::Result<Vec<(T, usize)>> {
    let progress = indicatif::ProgressBar::new(total).with_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} backtest [{bar:30}] {percent:>3}% {pos}/{len} decisions, {elapsed} (eta {eta}) {msg}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    let queue = Mutex::new(inputs.iter().enumerate());
    let results: Mutex<Vec<(usize, anyhow::Result<T>)>> = Mutex::new(vec![]);
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(inputs.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                    let Some((i, input)) = next else {
                        break;
                    };
                    progress.set_message(input.name.clone());
                    let result = job(input, &|n| progress.inc(n));
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
    for (i, r) in results {
        match r {
            Ok(r) => ok.push((r, i)),
            Err(e) => output::errln!("skipped: {e:#}")?,
        }
    }
    if ok.is_empty() {
        bail!("no series could be backtested");
    }
    Ok(ok)
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = config(&args)?;
    let inputs = inputs(&args.paths)?;
    if args.direction == Direction::Horizontal {
        return horizontal::run(&args, config, &inputs);
    }
    let total: u64 = inputs
        .iter()
        .map(|i| config.decisions(i.series.len(), i.series.step))
        .sum();
    let ok = replay(&inputs, total, |input, progress| {
        backtest_series(&input.name, &input.series, &config, progress).map_err(anyhow::Error::from)
    })?;
    let (ok, unit_of): (Vec<SeriesResult>, Vec<units::Unit>) =
        ok.into_iter().map(|(r, i)| (r, inputs[i].unit)).unzip();
    let summary = summarize(&ok.iter().collect::<Vec<_>>());
    let by_resource = summarize_by_resource(&ok);
    if args.json {
        let series: Vec<serde_json::Value> = ok.iter().map(|r| serde_json::json!(r)).collect();
        output::outln!(
            "{}",
            serde_json::json!({
                "config": report::config_json(&config),
                "summary": summary.policies,
                "summary_by_resource": by_resource,
                "series": series,
            })
        )?;
    } else {
        output::out!("{}", report::text(&config, &summary, &by_resource, &ok))?;
    }
    if let Some(dir) = &args.report {
        report::write(dir, &config, &summary, &by_resource, &ok, &unit_of)?;
        output::errln!("report written to {}", dir.join("README.md").display())?;
    }
    Ok(ExitCode::SUCCESS)
}

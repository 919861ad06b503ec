//! `prescale backtest --direction horizontal`: each series is a workload's load, replayed
//! through a simulated workload (a per-pod capacity, a start-up delay) under the HPA alone,
//! prescale feeding that HPA, AIBrix's KPA and APA (alone, with AIBrix's linear trend, with
//! prescale's forecast) and the oracle (`prescale_autoscale::backtest`). Prints tables or
//! JSON, and with `--report DIR` a Markdown page with replicas against load per series.
use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::{Context, bail};
use prescale_api::duration::format_duration;
use prescale_autoscale::backtest::{
    EXPLAINED, HorizontalConfig, HorizontalMetrics, HorizontalResult, HorizontalSummary,
    PODS_AT_P95, POLICIES, STARTUP_SECONDS, Target, run_series, summarize,
};
use prescale_forecast::backtest::BacktestConfig;

use super::horizontal_plot as plot;
use super::units::Unit;
use super::{Args, Input, amount, duration_secs, replay};
use crate::cmd::output;

/// The flags only the horizontal backtest reads.
#[derive(Debug, clap::Args)]
pub struct Flags {
    /// Horizontal: what one pod serves, in the series' unit (a number or a quantity).
    /// Unset: the series' 95th percentile divided by --pods-at-p95.
    #[arg(long)]
    capacity: Option<String>,
    /// Horizontal: without --capacity, each series' pods are sized so that its 95th
    /// percentile load needs this many of them.
    #[arg(long, default_value_t = PODS_AT_P95)]
    pods_at_p95: u32,
    /// Horizontal: how long a new pod takes before it serves.
    #[arg(long, default_value_t = format_duration(std::time::Duration::from_secs(STARTUP_SECONDS as u64)))]
    startup: String,
    /// Horizontal: the autoscalers' sync period; the trace is interpolated linearly
    /// between its samples at this step.
    #[arg(long, default_value_t = format_duration(prescale_autoscale::native_hpa::SYNC_PERIOD))]
    sync_period: String,
    /// Horizontal: the target utilisation of a pod's capacity (the HPA's target, the
    /// PodAutoscalers' per-pod target, and prescale's floor).
    #[arg(long, default_value_t = format!("{}%", prescale_forecast::replicas::DEFAULT_UTILIZATION * 100.0))]
    target_utilization: String,
    /// Horizontal: the utilisation prescale's floor sizes the forecast load at. Unset: the
    /// target utilisation, as the operator does; 100% provisions the forecast load at full
    /// capacity, with no headroom of its own.
    #[arg(long)]
    floor_utilization: Option<String>,
    /// Horizontal: minReplicas of every autoscaler.
    #[arg(long, default_value_t = 1)]
    min_replicas: u32,
    /// Horizontal: maxReplicas of every autoscaler.
    #[arg(long, default_value_t = 10_000)]
    max_replicas: u32,
}

/// A utilisation flag: above 0 % and at most 100 %.
fn utilization(flag: &str, text: &str) -> anyhow::Result<f64> {
    let value =
        prescale_api::percent::parse_percent(text).with_context(|| format!("--{flag}"))? / 100.0;
    if !(0.0..=1.0).contains(&value) || value == 0.0 {
        bail!("--{flag} {text}: must be above 0 % and at most 100 %");
    }
    Ok(value)
}

fn config(flags: &Flags, forecast: BacktestConfig) -> anyhow::Result<HorizontalConfig> {
    let target = utilization("target-utilization", &flags.target_utilization)?;
    let floor_utilization = flags
        .floor_utilization
        .as_deref()
        .map(|t| utilization("floor-utilization", t))
        .transpose()?;
    let capacity = flags
        .capacity
        .as_deref()
        .map(|t| amount("capacity", t))
        .transpose()?;
    if let Some(c) = capacity
        && (c.is_nan() || c <= 0.0)
    {
        bail!("--capacity must be above 0");
    }
    if flags.pods_at_p95 == 0 {
        bail!("--pods-at-p95 must be at least 1");
    }
    if flags.min_replicas > flags.max_replicas || flags.max_replicas == 0 {
        bail!(
            "--min-replicas ({}) must be at most --max-replicas ({}), which must be at least 1",
            flags.min_replicas,
            flags.max_replicas
        );
    }
    Ok(HorizontalConfig {
        forecast,
        capacity,
        pods_at_p95: flags.pods_at_p95,
        startup: duration_secs("startup", &flags.startup, true)?,
        sync: duration_secs("sync-period", &flags.sync_period, false)?,
        target_utilization: target,
        floor_utilization,
        min_replicas: flags.min_replicas,
        max_replicas: flags.max_replicas,
    })
}

pub fn run(args: &Args, forecast: BacktestConfig, inputs: &[Input]) -> anyhow::Result<ExitCode> {
    let config = config(&args.horizontal, forecast)?;
    let total: u64 = inputs
        .iter()
        .map(|i| config.forecast.decisions(i.series.len(), i.series.step))
        .sum();
    let ok = replay(inputs, total, |input, progress| {
        run_series(&input.name, &input.series, &config, progress).map_err(anyhow::Error::from)
    })?;
    let (results, units): (Vec<HorizontalResult>, Vec<(Unit, i64)>) = ok
        .into_iter()
        .map(|(r, i)| (r, (inputs[i].unit, inputs[i].series.step)))
        .unzip();
    let summary = summarize(&results);
    if args.json {
        let series: Vec<serde_json::Value> = results
            .iter()
            .zip(&units)
            .map(|(r, (unit, step))| {
                let mut v = serde_json::json!(r);
                v["capacity_shown"] = serde_json::json!(shown(r.capacity, *unit, *step));
                v
            })
            .collect();
        output::outln!(
            "{}",
            serde_json::json!({
                "direction": "horizontal",
                "config": config_json(&config),
                "summary": summary,
                "series": series,
            })
        )?;
    } else {
        output::out!("{}", text(&config, &summary, &results, &units))?;
    }
    if let Some(dir) = &args.report {
        write(dir, &config, &summary, &results, &units)?;
        output::errln!("report written to {}", dir.join("README.md").display())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// A per-pod capacity in the unit a person reads (requests/s for request counts).
fn shown(capacity: f64, unit: Unit, step: i64) -> String {
    let scale = unit.scale(capacity, step);
    format!("{:.4} {}", capacity / scale.divisor, scale.name)
}

fn settings(c: &HorizontalConfig, step: i64) -> String {
    format!(
        "per-pod capacity {}, start-up delay {} s, sync period {} s (trace interpolated linearly), target utilisation {:.0} % (prescale's floor at {:.0} %), replicas in [{}, {}]; prescale: mode {}, cadence {} s, horizon {} s (at least a cadence plus the start-up delay), buffer {:.0} %, min lookback {} s; warm-up {} days excluded",
        c.capacity.map_or(
            format!(
                "the series' p95 / {} (its p95 load needs {} pods)",
                c.pods_at_p95, c.pods_at_p95
            ),
            |v| format!("{v} (series' unit)")
        ),
        c.startup,
        c.sync,
        c.target_utilization * 100.0,
        c.floor_utilization.unwrap_or(c.target_utilization) * 100.0,
        c.min_replicas,
        c.max_replicas,
        c.forecast.mode,
        c.forecast.cadence,
        c.horizon(step),
        c.forecast.buffer * 100.0,
        c.forecast.min_lookback,
        c.forecast.warmup_days,
    )
}

fn config_json(c: &HorizontalConfig) -> serde_json::Value {
    let mut v = super::report::config_json(&c.forecast);
    v["capacity"] = serde_json::json!(c.capacity);
    v["pods_at_p95"] = serde_json::json!(c.pods_at_p95);
    v["startup_s"] = serde_json::json!(c.startup);
    v["sync_period_s"] = serde_json::json!(c.sync);
    v["target_utilization"] = serde_json::json!(c.target_utilization);
    v["floor_utilization"] = serde_json::json!(c.floor_utilization.unwrap_or(c.target_utilization));
    v["min_replicas"] = serde_json::json!(c.min_replicas);
    v["max_replicas"] = serde_json::json!(c.max_replicas);
    v
}

fn percent(v: f64) -> String {
    if v > 0.0 && v < 0.001 {
        format!("{:.3} %", v * 100.0)
    } else {
        format!("{:.2} %", v * 100.0)
    }
}

fn policy_table(policies: &std::collections::BTreeMap<String, HorizontalMetrics>) -> String {
    let mut out = String::from(
        "| policy | under_capacity | replica_hours_vs_oracle | scale_events_per_day |\n|---|---|---|---|\n",
    );
    for p in POLICIES {
        if let Some(m) = policies.get(p) {
            let _ = writeln!(
                out,
                "| {p} | {} | {:.3} | {:.1} |",
                percent(m.under_capacity),
                m.replica_hours_vs_oracle,
                m.scale_events_per_day
            );
        }
    }
    out
}

fn target_text(t: Option<Target>) -> String {
    t.map_or("no HPA figures".into(), |t| {
        format!(
            "prescale+hpa's under_capacity is {:.2} × the HPA's (target ≤ 0.5) at {:.3} × its replica-hours (target ≤ 1.1): {}",
            t.under_capacity_ratio,
            t.replica_hours_ratio,
            if t.met { "met" } else { "missed" }
        )
    })
}

fn series_table(results: &[HorizontalResult], units: &[(Unit, i64)]) -> String {
    let mut out = String::from(
        "| series | capacity per pod | hpa under_capacity | prescale+hpa under_capacity | replica-hours prescale+hpa / hpa | oracle replica-hours |\n|---|---|---|---|---|---|\n",
    );
    for (r, (unit, step)) in results.iter().zip(units) {
        let (hpa, fed) = (&r.policies["hpa"], &r.policies["prescale+hpa"]);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.3} | {:.0} |",
            r.name,
            shown(r.capacity, *unit, *step),
            percent(hpa.under_capacity),
            percent(fed.under_capacity),
            r.target.map_or(f64::NAN, |t| t.replica_hours_ratio),
            r.policies["oracle"].replica_hours
        );
    }
    out
}

fn explained() -> String {
    EXPLAINED
        .iter()
        .map(|(name, what)| format!("- `{name}`: {what}.\n"))
        .collect()
}

fn step_of(units: &[(Unit, i64)]) -> i64 {
    units.first().map_or(300, |u| u.1)
}

fn text(
    config: &HorizontalConfig,
    summary: &HorizontalSummary,
    results: &[HorizontalResult],
    units: &[(Unit, i64)],
) -> String {
    format!(
        "Horizontal backtest: {}.\n\n## All {} series (unweighted mean over series)\n\n{}\n{}.\n\n## Per series\n\n{}\n## What the metrics mean\n\n{}",
        settings(config, step_of(units)),
        summary.series,
        policy_table(&summary.policies),
        target_text(summary.target),
        series_table(results, units),
        explained()
    )
}

fn write(
    dir: &std::path::Path,
    config: &HorizontalConfig,
    summary: &HorizontalSummary,
    results: &[HorizontalResult],
    units: &[(Unit, i64)],
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut md = format!(
        "# Horizontal backtest\n\n{}.\n\n## What the metrics mean\n\n{}\n## All {} series (unweighted mean over series)\n\n{}\n{}.\n\n## Per series\n\n{}\n",
        settings(config, step_of(units)),
        explained(),
        summary.series,
        policy_table(&summary.policies),
        target_text(summary.target),
        series_table(results, units),
    );
    md.push_str("The last three days of each series: the load and what the ready pods of the HPA, prescale feeding it and the oracle could serve (top), and their replicas (bottom).\n\n");
    for (r, (unit, step)) in results.iter().zip(units) {
        let file = format!("{}.horizontal.svg", r.name.trim_end_matches(".csv"));
        plot::series(&dir.join(&file), r, *unit, *step)
            .with_context(|| format!("plotting {}", r.name))?;
        let _ = write!(
            md,
            "### {}\n\nOne pod serves {}. {}.\n\n{}\n![{}]({})\n\n",
            r.name,
            shown(r.capacity, *unit, *step),
            target_text(r.target),
            policy_table(&r.policies),
            r.name,
            file
        );
    }
    std::fs::write(dir.join("README.md"), md)
        .with_context(|| format!("writing {}", dir.join("README.md").display()))?;
    Ok(())
}

//! What `prescale backtest` prints and writes: summary tables (overall, per resource, per
//! mode with its target against what it achieved), peak-onset coverage per series, one
//! sentence per metric, and with `--report DIR` a Markdown page with the plots.
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use prescale_forecast::backtest::{
    BacktestConfig, EXPLAINED, Metrics, ModeOutcome, POLICIES, SeriesResult, Summary,
};
use prescale_forecast::recommend::Step;

use super::plot;
use super::units::Unit;

fn percent(v: f64) -> String {
    if v > 0.0 && v < 0.001 {
        format!("{:.3} %", v * 100.0)
    } else {
        format!("{:.2} %", v * 100.0)
    }
}

fn coverage(m: &Metrics) -> String {
    m.peak_onset_coverage.map_or("–".into(), |c| {
        format!("{:.0} % of {}", c * 100.0, m.peak_onsets)
    })
}

/// One row per policy.
pub fn policy_table(policies: &BTreeMap<String, Metrics>) -> String {
    let mut out = String::from(
        "| policy | slack | under_provisioned | shortfall | cost_vs_oracle | changes_per_day | peak_onset_coverage |\n|---|---|---|---|---|---|---|\n",
    );
    for policy in POLICIES {
        if let Some(m) = policies.get(policy) {
            let _ = writeln!(
                out,
                "| {policy} | {:.3} | {} | {} | {:.3} | {:.1} | {} |",
                m.slack,
                percent(m.under_provisioned),
                percent(m.shortfall),
                m.cost_vs_oracle,
                m.changes_per_day,
                coverage(m)
            );
        }
    }
    out
}

/// One row per mode: its promise against what it did.
pub fn mode_table(modes: &[ModeOutcome]) -> String {
    let mut out = String::from(
        "| mode | target under_provisioned | achieved | slack | changes_per_day | peak_onset_coverage |\n|---|---|---|---|---|---|\n",
    );
    for m in modes {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.3} | {:.1} | {} |",
            m.mode,
            percent(m.target),
            percent(m.achieved),
            m.metrics.slack,
            m.metrics.changes_per_day,
            coverage(&m.metrics)
        );
    }
    out
}

/// Peak-onset coverage of prescale against the reactive policy, per series.
fn onset_table(results: &[SeriesResult]) -> String {
    let mut out = String::from(
        "| series | daily season | prescale | reactive | vpa |\n|---|---|---|---|---|\n",
    );
    for r in results {
        let of = |p: &str| r.policies.get(p).map_or("–".into(), coverage);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            r.name,
            if r.daily_season { "yes" } else { "no" },
            of("prescale"),
            of("reactive"),
            of("vpa")
        );
    }
    out
}

fn explained() -> String {
    EXPLAINED
        .iter()
        .map(|(name, sentence)| format!("- **{name}**: {sentence}.\n"))
        .collect()
}

fn step_text(s: Option<Step>) -> String {
    match s {
        None => "none".into(),
        Some(Step::Percent(p)) => format!("{p} %"),
        Some(Step::Absolute(a)) => format!("{a}"),
    }
}

fn settings(config: &BacktestConfig) -> String {
    let bound = |b: Option<f64>| b.map_or("none".to_string(), |v| v.to_string());
    format!(
        "mode {} (every mode is replayed), horizon {} s, cadence {} s, buffer {:.0} %, bounds [{}, {}], scale_up {}, scale_down {}, min lookback {} s, warm-up {} days excluded",
        config.mode,
        config.horizon,
        config.cadence,
        config.buffer * 100.0,
        bound(config.bounds.lower),
        bound(config.bounds.upper),
        step_text(config.scale_up),
        step_text(config.scale_down),
        config.min_lookback,
        config.warmup_days
    )
}

pub fn config_json(config: &BacktestConfig) -> serde_json::Value {
    serde_json::json!({
        "mode": config.mode.to_string(),
        "horizon_s": config.horizon,
        "cadence_s": config.cadence,
        "buffer": config.buffer,
        "lowerbound": config.bounds.lower,
        "upperbound": config.bounds.upper,
        "scale_up": step_text(config.scale_up),
        "scale_down": step_text(config.scale_down),
        "min_lookback_s": config.min_lookback,
        "warmup_days": config.warmup_days,
        "resource": config.resource.map(|r| r.name()),
    })
}

/// The summary part shared by the terminal output and the report.
fn summary_sections(
    summary: &Summary,
    by_resource: &BTreeMap<String, Summary>,
    heading: &str,
) -> String {
    let mut out = format!(
        "{heading} All {} series (unweighted mean over series)\n\n{}\n",
        summary.series,
        policy_table(&summary.policies)
    );
    for (resource, s) in by_resource {
        let _ = write!(
            out,
            "{heading} {resource} ({} series)\n\n{}\nEvery mode on the {resource} series — its target share of under-provisioned samples and what it achieved:\n\n{}\n",
            s.series,
            policy_table(&s.policies),
            mode_table(&s.modes)
        );
    }
    out
}

/// What the terminal shows without `--json`.
pub fn text(
    config: &BacktestConfig,
    summary: &Summary,
    by_resource: &BTreeMap<String, Summary>,
    results: &[SeriesResult],
) -> String {
    format!(
        "Backtest: {}.\n\n{}## Peak-onset coverage per series\n\n{}\n## What the metrics mean\n\n{}",
        settings(config),
        summary_sections(summary, by_resource, "##"),
        onset_table(results),
        explained()
    )
}

pub fn write(
    dir: &Path,
    config: &BacktestConfig,
    summary: &Summary,
    by_resource: &BTreeMap<String, Summary>,
    results: &[SeriesResult],
    units: &[Unit],
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    plot::tradeoff(&dir.join("tradeoff.svg"), by_resource).context("plotting the trade-off")?;
    let mut md = format!(
        "# Backtest\n\n{}.\n\n## What the metrics mean\n\n{}\n## Trade-off: slack against under-provisioning\n\nEvery policy, and prescale in every mode (the line joins the modes, cheapest first), per resource. Lower left is better; the modes should sit where their targets say.\n\n![trade-off](tradeoff.svg)\n\n{}## Peak-onset coverage per series\n\n{}\n## Series\n\nThe last three days of each series: usage, the value prescale applied (dots mark applied changes), and the VPA and reactive baselines.\n\n",
        settings(config),
        explained(),
        summary_sections(summary, by_resource, "##"),
        onset_table(results)
    );
    for (r, unit) in results.iter().zip(units) {
        let file = format!("{}.svg", r.name.trim_end_matches(".csv"));
        plot::series(&dir.join(&file), r, *unit).with_context(|| format!("plotting {}", r.name))?;
        let _ = write!(
            md,
            "### {}\n\n{} series{}.\n\n{}\n![{}]({})\n\n",
            r.name,
            r.resource,
            if r.daily_season {
                ", daily season detected"
            } else {
                ""
            },
            policy_table(&r.policies),
            r.name,
            file
        );
    }
    std::fs::write(dir.join("README.md"), md)
        .with_context(|| format!("writing {}", dir.join("README.md").display()))?;
    Ok(())
}

//! The Markdown report of `prescale backtest --report DIR`: the summary table and one SVG
//! plot per series (usage and each policy's provisioned value over time).
use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use plotters::prelude::*;
use prescale_forecast::backtest::{BacktestConfig, Metrics, POLICIES, SeriesResult};

pub fn summary_table(summary: &BTreeMap<String, Metrics>) -> String {
    let mut out = String::from(
        "| policy | slack | under_provisioned | shortfall | cost_vs_oracle | changes_per_day |\n|---|---|---|---|---|---|\n",
    );
    for policy in POLICIES {
        if let Some(m) = summary.get(policy) {
            out.push_str(&format!(
                "| {policy} | {:.3} | {:.4} | {:.4} | {:.3} | {:.1} |\n",
                m.slack, m.under_provisioned, m.shortfall, m.cost_vs_oracle, m.changes_per_day
            ));
        }
    }
    out
}

pub fn write(
    dir: &Path,
    config: &BacktestConfig,
    summary: &BTreeMap<String, Metrics>,
    results: &[SeriesResult],
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut md = format!(
        "# Backtest\n\nHorizon {} s, cadence {} s, mode {}, buffer {:.0} %, warm-up {} days excluded.\n\n## Summary (unweighted mean over series)\n\n{}\n## Series\n\n",
        config.horizon,
        config.cadence,
        config.mode,
        config.buffer * 100.0,
        config.warmup_days,
        summary_table(summary)
    );
    for r in results {
        let file = format!("{}.svg", r.name.trim_end_matches(".csv"));
        plot(&dir.join(&file), r).with_context(|| format!("plotting {}", r.name))?;
        md.push_str(&format!(
            "### {}\n\n{}\n![{}]({})\n\n",
            r.name,
            summary_table(&r.policies),
            r.name,
            file
        ));
    }
    std::fs::write(dir.join("README.md"), md)
        .with_context(|| format!("writing {}", dir.display()))?;
    Ok(())
}

fn plot(path: &Path, r: &SeriesResult) -> anyhow::Result<()> {
    let t = &r.trace;
    // The last three days keep the plot readable.
    let from = t
        .usage
        .len()
        .saturating_sub((3 * 86_400 / t.step.max(1)) as usize);
    let hours = |i: usize| (i - from) as f64 * t.step as f64 / 3600.0;
    let max = t.usage[from..]
        .iter()
        .chain(t.provisioned.values().flat_map(|p| p[from..].iter()))
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max)
        .max(1e-9);
    let root = SVGBackend::new(path, (1000, 400)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(&r.name, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d(
            0.0..hours(t.usage.len().max(from + 1) - 1).max(1.0),
            0.0..max * 1.05,
        )?;
    chart.configure_mesh().x_desc("hours").draw()?;
    let colors = [&BLACK, &BLUE, &RED, &GREEN, &MAGENTA, &CYAN];
    let mut lines: Vec<(&str, &Vec<f64>)> = vec![("usage", &t.usage)];
    lines.extend(
        POLICIES
            .iter()
            .filter_map(|p| t.provisioned.get(*p).map(|v| (*p, v))),
    );
    for (i, (name, values)) in lines.into_iter().enumerate() {
        let color = colors[i % colors.len()];
        let points = values[from..]
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(j, v)| (hours(from + j), *v));
        chart
            .draw_series(LineSeries::new(points, color))?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 15, y)], color));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

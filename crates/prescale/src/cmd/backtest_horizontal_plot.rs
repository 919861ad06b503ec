//! The per-series plot of `prescale backtest --direction horizontal --report DIR` (SVG):
//! over the last three days, the load against what the ready pods of the HPA, prescale
//! feeding it and the oracle could serve (top, in human units such as requests/s), and
//! their replicas (bottom). Each 5-minute window shows the highest load, the lowest ready
//! capacity and the most replicas in it, so a shortfall is never smoothed away.
use std::path::Path;

use plotters::prelude::*;
use prescale_autoscale::backtest::HorizontalResult;

use super::plot::{FONT, Mark, ORACLE, PRESCALE, REACTIVE, USAGE, legend, tick};
use super::units::Unit;

/// Seconds per plotted point.
const BUCKET: i64 = 300;
const SHOWN: [(&str, &str, RGBColor); 3] = [
    ("hpa", "HPA alone", REACTIVE),
    ("prescale+hpa", "prescale + HPA", PRESCALE),
    ("oracle", "oracle", ORACLE),
];

fn buckets<T: Copy>(values: &[T], per: usize, pick: impl Fn(&[T]) -> T) -> Vec<T> {
    values.chunks(per.max(1)).map(pick).collect()
}

pub fn series(path: &Path, r: &HorizontalResult, unit: Unit, step: i64) -> anyhow::Result<()> {
    let t = &r.trace;
    let sync = t.sync.max(1);
    let per_day = (86_400 / sync) as usize;
    let from = t.load.len().saturating_sub(3 * per_day).max(t.from);
    let per = (BUCKET / sync).max(1) as usize;
    let load = buckets(&t.load[from..], per, |c| {
        c.iter().copied().fold(0.0, f64::max)
    });
    let max_load = load.iter().copied().fold(0.0, f64::max);
    let scale = unit.scale(max_load.max(r.capacity), step);
    let day_of = |i: usize| (t.start + (from + i * per) as i64 * sync) as f64 / 86_400.0;
    let n = load.len().max(2);
    let mut capacity = vec![];
    let mut replicas = vec![];
    let mut top_replicas = 1u32;
    for (policy, label, color) in SHOWN {
        let ready = buckets(&t.ready[policy][from..], per, |c| {
            c.iter().copied().min().unwrap_or(0)
        });
        let pods = buckets(&t.replicas[policy][from..], per, |c| {
            c.iter().copied().max().unwrap_or(0)
        });
        top_replicas = top_replicas.max(pods.iter().copied().max().unwrap_or(0));
        capacity.push((label, color, ready));
        replicas.push((label, color, pods));
    }
    let top = capacity
        .iter()
        .flat_map(|(_, _, v)| v.iter().map(|p| f64::from(*p) * r.capacity))
        .fold(max_load, f64::max)
        / scale.divisor
        * 1.08;
    let root = SVGBackend::new(path, (1200, 720)).into_drawing_area();
    root.fill(&WHITE)?;
    let (charts, legend_area) = root.split_horizontally(1000);
    let (upper, lower) = charts.split_vertically(430);
    let time_label = |d: &f64| {
        jiff::Timestamp::from_second((d * 86_400.0).round() as i64)
            .map(|ts| ts.strftime("%b %d %H:%M").to_string())
            .unwrap_or_default()
    };
    let x = day_of(0)..day_of(n - 1);
    let mut chart = ChartBuilder::on(&upper)
        .caption(
            format!(
                "{} — one pod serves {:.3} {}",
                r.name.trim_end_matches(".csv"),
                r.capacity / scale.divisor,
                scale.name
            ),
            (FONT, 18),
        )
        .margin(12)
        .margin_right(24)
        .x_label_area_size(30)
        .y_label_area_size(70)
        .build_cartesian_2d(x.clone(), 0.0..top.max(1e-9))?;
    chart
        .configure_mesh()
        .x_labels(7)
        .y_labels(6)
        .x_label_formatter(&time_label)
        .y_label_formatter(&tick(top))
        .y_desc(format!("load / ready capacity ({})", scale.name))
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(BLACK.mix(0.08))
        .draw()?;
    for (_, color, ready) in &capacity {
        chart.draw_series(LineSeries::new(
            ready
                .iter()
                .enumerate()
                .map(|(i, p)| (day_of(i), f64::from(*p) * r.capacity / scale.divisor)),
            color.stroke_width(2),
        ))?;
    }
    chart.draw_series(LineSeries::new(
        load.iter()
            .enumerate()
            .map(|(i, l)| (day_of(i), l / scale.divisor)),
        USAGE.stroke_width(1),
    ))?;
    let top_pods = f64::from(top_replicas) * 1.08;
    let mut chart = ChartBuilder::on(&lower)
        .margin(12)
        .margin_right(24)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(x, 0.0..top_pods)?;
    chart
        .configure_mesh()
        .x_labels(7)
        .y_labels(6)
        .x_label_formatter(&time_label)
        .y_label_formatter(&tick(top_pods))
        .y_desc("replicas")
        .x_desc("time (UTC)")
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(BLACK.mix(0.08))
        .draw()?;
    for (_, color, pods) in &replicas {
        chart.draw_series(LineSeries::new(
            pods.iter()
                .enumerate()
                .map(|(i, p)| (day_of(i), f64::from(*p))),
            color.stroke_width(2),
        ))?;
    }
    let mut entries = vec![("load (5-min peak)", Mark::Line(USAGE, 1))];
    entries.extend(
        SHOWN
            .iter()
            .map(|(_, label, color)| (*label, Mark::Line(*color, 2))),
    );
    legend(&legend_area, &entries)?;
    root.present()?;
    Ok(())
}

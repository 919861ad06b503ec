//! The plots of `prescale backtest --report DIR` (SVG): per series, usage against the value
//! prescale applied with its changes marked (and the VPA and reactive baselines); per
//! resource, the trade-off of slack against under-provisioning for every policy and mode.
//! Values are shown in human units, the legend sits outside the curves.
use std::collections::BTreeMap;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use prescale_forecast::backtest::{SeriesResult, Summary};

use super::units::Unit;

pub(super) const FONT: &str = "sans-serif";
pub(super) const USAGE: RGBColor = RGBColor(40, 40, 40);
pub(super) const PRESCALE: RGBColor = RGBColor(31, 100, 200);
const VPA: RGBColor = RGBColor(230, 120, 20);
pub(super) const REACTIVE: RGBColor = RGBColor(40, 160, 70);
const STATIC: RGBColor = RGBColor(170, 60, 170);
pub(super) const ORACLE: RGBColor = RGBColor(20, 170, 190);
const ORACLE_HOURLY: RGBColor = RGBColor(120, 200, 220);
const TARGET: RGBColor = RGBColor(150, 150, 150);

/// How a legend entry is drawn.
#[derive(Clone, Copy)]
pub(super) enum Mark {
    Line(RGBColor, u32),
    Dot(RGBColor),
}

/// A legend in its own area, beside the chart (never over the data).
pub(super) fn legend(
    area: &DrawingArea<SVGBackend, Shift>,
    entries: &[(&str, Mark)],
) -> anyhow::Result<()> {
    for (i, (label, mark)) in entries.iter().enumerate() {
        let y = 60 + i as i32 * 24;
        match *mark {
            Mark::Line(color, width) => {
                area.draw(&PathElement::new(
                    vec![(10, y), (40, y)],
                    color.stroke_width(width),
                ))?;
            }
            Mark::Dot(color) => {
                area.draw(&Circle::new((25, y), 5, color.filled()))?;
            }
        }
        area.draw(&Text::new(
            label.to_string(),
            (48, y - 7),
            (FONT, 14).into_font(),
        ))?;
    }
    Ok(())
}

/// Tick labels with as many decimals as the axis span needs.
pub(super) fn tick(span: f64) -> impl Fn(&f64) -> String {
    let decimals = if span >= 20.0 {
        0
    } else if span >= 2.0 {
        1
    } else if span >= 0.2 {
        2
    } else {
        3
    };
    move |v: &f64| format!("{v:.decimals$}")
}

/// Usage and the applied values over the last three days of one series.
pub fn series(path: &Path, r: &SeriesResult, unit: Unit) -> anyhow::Result<()> {
    let t = &r.trace;
    let per_day = (86_400 / t.step.max(1)) as usize;
    let from = t.usage.len().saturating_sub(3 * per_day).max(t.from);
    let lines: Vec<(&str, &[f64], Mark)> = [
        ("usage", &t.usage, Mark::Line(USAGE, 1)),
        ("VPA", &t.provisioned["vpa"], Mark::Line(VPA, 1)),
        (
            "reactive HPA",
            &t.provisioned["reactive"],
            Mark::Line(REACTIVE, 1),
        ),
        (
            "prescale",
            &t.provisioned["prescale"],
            Mark::Line(PRESCALE, 2),
        ),
    ]
    .into_iter()
    .map(|(n, v, m)| (n, &v[from..], m))
    .collect();
    let max = lines
        .iter()
        .flat_map(|(_, v, _)| v.iter())
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    let scale = unit.scale(max, t.step);
    let top = (max / scale.divisor * 1.08).max(1e-9);
    // x in days since the epoch: ticks fall on round times of day (UTC).
    let day_of = |i: usize| (t.start + (from + i) as i64 * t.step) as f64 / 86_400.0;
    let n = t.usage.len() - from;
    let root = SVGBackend::new(path, (1200, 460)).into_drawing_area();
    root.fill(&WHITE)?;
    let (chart_area, legend_area) = root.split_horizontally(1000);
    let mut chart = ChartBuilder::on(&chart_area)
        .caption(
            format!("{} ({})", r.name.trim_end_matches(".csv"), r.resource),
            (FONT, 18),
        )
        .margin(12)
        .margin_right(24)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(day_of(0)..day_of(n.max(2) - 1), 0.0..top)?;
    chart
        .configure_mesh()
        .x_labels(7)
        .y_labels(6)
        .x_label_formatter(&|d| {
            jiff::Timestamp::from_second((d * 86_400.0).round() as i64)
                .map(|ts| ts.strftime("%b %d %H:%M").to_string())
                .unwrap_or_default()
        })
        .y_label_formatter(&tick(top))
        .y_desc(scale.name.as_str())
        .x_desc("time (UTC)")
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(BLACK.mix(0.08))
        .draw()?;
    for (_, values, mark) in &lines {
        let Mark::Line(color, width) = *mark else {
            continue;
        };
        // A gap (NaN) ends a line segment instead of joining across it.
        let mut segment = vec![];
        for (i, v) in values.iter().enumerate() {
            if v.is_finite() {
                segment.push((day_of(i), v / scale.divisor));
            } else if !segment.is_empty() {
                chart.draw_series(LineSeries::new(
                    std::mem::take(&mut segment),
                    color.stroke_width(width),
                ))?;
            }
        }
        chart.draw_series(LineSeries::new(segment, color.stroke_width(width)))?;
    }
    let applied = &t.provisioned["prescale"][from..];
    let changes = (1..applied.len())
        .filter(|i| applied[*i].is_finite() && applied[*i - 1].is_finite())
        .filter(|i| applied[*i] != applied[*i - 1])
        .map(|i| {
            Circle::new(
                (day_of(i), applied[i] / scale.divisor),
                3,
                PRESCALE.filled(),
            )
        });
    chart.draw_series(changes)?;
    legend(
        &legend_area,
        &[
            ("usage", Mark::Line(USAGE, 1)),
            ("prescale (applied)", Mark::Line(PRESCALE, 2)),
            ("applied change", Mark::Dot(PRESCALE)),
            ("VPA", Mark::Line(VPA, 1)),
            ("reactive HPA", Mark::Line(REACTIVE, 1)),
        ],
    )?;
    root.present()?;
    Ok(())
}

/// Slack against under-provisioning, one panel per resource: the baselines as dots, the
/// modes of prescale joined by a line, and a grey line from each mode's target rate to the
/// rate it achieved.
pub fn tradeoff(path: &Path, by_resource: &BTreeMap<String, Summary>) -> anyhow::Result<()> {
    let panels = by_resource.len().max(1) as u32;
    let root = SVGBackend::new(path, (560 * panels + 220, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let (charts, legend_area) = root.split_horizontally(560 * panels);
    let areas = charts.split_evenly((1, panels as usize));
    // Under-provisioning on a log axis (0.005 % … 100 %); zero sits on the left edge.
    const FLOOR: f64 = 5e-5;
    let x_of = |v: f64| v.max(FLOOR);
    let baselines = [
        ("vpa", VPA),
        ("reactive", REACTIVE),
        ("static_peak", STATIC),
        ("oracle", ORACLE),
        ("oracle_hourly", ORACLE_HOURLY),
    ];
    for (area, (resource, s)) in areas.iter().zip(by_resource) {
        let right = s
            .policies
            .values()
            .map(|m| m.under_provisioned)
            .chain(s.modes.iter().flat_map(|m| [m.achieved, m.target]))
            .fold(0.01f64, f64::max)
            * 2.0;
        let top = s
            .policies
            .values()
            .map(|m| m.slack)
            .chain(s.modes.iter().map(|m| m.metrics.slack))
            .fold(0.1f64, f64::max)
            * 1.1;
        let mut chart = ChartBuilder::on(area)
            .caption(format!("{resource} ({} series)", s.series), (FONT, 18))
            .margin(12)
            .margin_right(24)
            .x_label_area_size(44)
            .y_label_area_size(56)
            .build_cartesian_2d((FLOOR..right.min(1.0)).log_scale(), 0.0..top.min(1.0))?;
        chart
            .configure_mesh()
            .y_labels(6)
            .x_label_formatter(&|v| {
                let p = v * 100.0;
                if p >= 1.0 {
                    format!("{p:.0} %")
                } else if p >= 0.1 {
                    format!("{p:.1} %")
                } else {
                    format!("{p:.2} %")
                }
            })
            .y_label_formatter(&tick(1.0))
            .x_desc("under-provisioned samples (log scale)")
            .y_desc("slack (idle share of provisioned)")
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(BLACK.mix(0.08))
            .draw()?;
        for m in &s.modes {
            chart.draw_series(LineSeries::new(
                [
                    (x_of(m.target), m.metrics.slack),
                    (x_of(m.achieved), m.metrics.slack),
                ],
                TARGET.stroke_width(2),
            ))?;
            chart.draw_series([Cross::new(
                (x_of(m.target), m.metrics.slack),
                4,
                TARGET.stroke_width(2),
            )])?;
        }
        chart.draw_series(LineSeries::new(
            s.modes.iter().map(|m| (x_of(m.achieved), m.metrics.slack)),
            PRESCALE.stroke_width(2),
        ))?;
        for m in &s.modes {
            let at = (x_of(m.achieved), m.metrics.slack);
            chart.draw_series([Circle::new(at, 5, PRESCALE.filled())])?;
            // The label sits above and to the right of its point, clear of the line.
            chart.draw_series([EmptyElement::at(at)
                + Text::new(
                    m.mode.clone(),
                    (7, -18),
                    (FONT, 12).into_font().color(&PRESCALE),
                )])?;
        }
        for (policy, color) in baselines {
            if let Some(m) = s.policies.get(policy) {
                chart.draw_series([Circle::new(
                    (x_of(m.under_provisioned), m.slack),
                    6,
                    color.filled(),
                )])?;
            }
        }
    }
    legend(
        &legend_area,
        &[
            ("prescale, each mode", Mark::Line(PRESCALE, 2)),
            ("mode's target (×) to achieved", Mark::Line(TARGET, 2)),
            ("VPA", Mark::Dot(VPA)),
            ("reactive HPA", Mark::Dot(REACTIVE)),
            ("static peak", Mark::Dot(STATIC)),
            ("oracle", Mark::Dot(ORACLE)),
            ("oracle, hourly at the target", Mark::Dot(ORACLE_HOURLY)),
        ],
    )?;
    root.present()?;
    Ok(())
}

//! Server-rendered SVG line charts: no JavaScript, nothing to vendor, the same markup in
//! every browser and in `curl`. Pure: series in, markup out.

use std::fmt::Write;

use super::html::escape;

/// One line. `step`: the value holds until the next point (recommendations, requests);
/// otherwise points are joined (usage).
pub struct Series {
    pub name: &'static str,
    /// CSS class giving its colour (`s-usage`, `s-forecast`, ...).
    pub class: &'static str,
    pub points: Vec<(i64, f64)>,
    pub step: bool,
}

/// A moment marked with a vertical line: an Event, an OOM kill, a restart.
pub struct Marker {
    pub t: i64,
    pub label: String,
    pub class: &'static str,
}

/// A shaded period (scaling paused).
pub struct Band {
    pub from: i64,
    pub to: i64,
    pub label: String,
}

pub struct Chart<'a> {
    pub title: String,
    pub from: i64,
    pub to: i64,
    pub series: Vec<Series>,
    pub markers: Vec<Marker>,
    pub bands: Vec<Band>,
    /// Formats a value for the axis (cores, bytes, replicas).
    pub format: &'a dyn Fn(f64) -> String,
}

const W: f64 = 860.0;
const H: f64 = 240.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 10.0;
const TOP: f64 = 24.0;
const BOTTOM: f64 = 46.0;

impl Chart<'_> {
    pub fn svg(&self) -> String {
        let span = (self.to - self.from).max(1) as f64;
        let max = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .filter(|v| v.is_finite())
            .fold(0.0_f64, f64::max);
        let top = if max > 0.0 { max * 1.15 } else { 1.0 };
        let x =
            |t: i64| LEFT + ((t - self.from) as f64 / span).clamp(0.0, 1.0) * (W - LEFT - RIGHT);
        let y = |v: f64| TOP + (1.0 - (v / top).clamp(0.0, 1.0)) * (H - TOP - BOTTOM);
        let mut out = String::with_capacity(4096);
        let _ = write!(
            out,
            r#"<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{t}"><title>{t}</title>"#,
            t = escape(&self.title)
        );
        let _ = write!(
            out,
            r#"<text class="ctitle" x="{LEFT}" y="16">{}</text>"#,
            escape(&self.title)
        );
        for b in &self.bands {
            let (x0, x1) = (x(b.from), x(b.to));
            let _ = write!(
                out,
                r#"<rect class="band" x="{x0:.1}" y="{TOP}" width="{:.1}" height="{:.1}"><title>{}</title></rect>"#,
                (x1 - x0).max(1.0),
                H - TOP - BOTTOM,
                escape(&b.label)
            );
        }
        for i in 0..=4 {
            let v = top * f64::from(i) / 4.0;
            let yy = y(v);
            let _ = write!(
                out,
                r#"<line class="grid" x1="{LEFT}" x2="{:.1}" y1="{yy:.1}" y2="{yy:.1}"/><text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
                W - RIGHT,
                LEFT - 6.0,
                yy + 4.0,
                escape(&(self.format)(v))
            );
        }
        for i in 0..=4 {
            let t = self.from + ((self.to - self.from) as f64 * f64::from(i) / 4.0) as i64;
            let label = jiff::Timestamp::from_second(t)
                .map(|ts| ts.strftime("%m-%d %H:%M").to_string())
                .unwrap_or_default();
            let _ = write!(
                out,
                r#"<text class="tick" x="{:.1}" y="{:.1}" text-anchor="middle">{label}</text>"#,
                x(t),
                H - BOTTOM + 16.0
            );
        }
        for s in &self.series {
            let mut pts: Vec<(f64, f64)> = Vec::with_capacity(s.points.len() * 2 + 1);
            for (i, &(t, v)) in s.points.iter().enumerate() {
                if !v.is_finite() {
                    continue;
                }
                if s.step
                    && i > 0
                    && let Some(&(_, prev)) = s.points.get(i - 1)
                {
                    pts.push((x(t), y(prev)));
                }
                pts.push((x(t), y(v)));
            }
            if s.step
                && let Some(&(_, v)) = s.points.last()
            {
                pts.push((x(self.to), y(v)));
            }
            if pts.is_empty() {
                continue;
            }
            out.push_str(r#"<polyline class=""#);
            out.push_str(s.class);
            out.push_str(r#"" points=""#);
            for (px, py) in &pts {
                let _ = write!(out, "{px:.1},{py:.1} ");
            }
            let _ = write!(out, r#""><title>{}</title></polyline>"#, escape(s.name));
        }
        for m in &self.markers {
            let xx = x(m.t);
            let _ = write!(
                out,
                r#"<line class="marker {}" x1="{xx:.1}" x2="{xx:.1}" y1="{TOP}" y2="{:.1}"><title>{}</title></line>"#,
                m.class,
                H - BOTTOM,
                escape(&m.label)
            );
        }
        let mut lx = LEFT;
        for s in &self.series {
            let _ = write!(
                out,
                r#"<rect class="key {}" x="{lx:.0}" y="{:.0}" width="12" height="4"/><text class="tick" x="{:.0}" y="{:.0}">{}</text>"#,
                s.class,
                H - 14.0,
                lx + 16.0,
                H - 9.0,
                escape(s.name)
            );
            lx += 24.0 + 7.0 * s.name.len() as f64;
        }
        out.push_str("</svg>");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_each_series_marker_and_band_within_the_frame() {
        let fmt = |v: f64| format!("{v:.1}");
        let chart = Chart {
            title: "cpu <of> web".into(),
            from: 0,
            to: 100,
            series: vec![
                Series {
                    name: "usage",
                    class: "s-usage",
                    points: vec![(0, 1.0), (50, 2.0), (200, 9.0)],
                    step: false,
                },
                Series {
                    name: "recommendation",
                    class: "s-rec",
                    points: vec![(10, 1.5)],
                    step: true,
                },
            ],
            markers: vec![Marker {
                t: 40,
                label: "OOMKilled".into(),
                class: "m-oom",
            }],
            bands: vec![Band {
                from: 60,
                to: 80,
                label: "paused".into(),
            }],
            format: &fmt,
        };
        let svg = chart.svg();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("cpu &lt;of&gt; web"), "titles are escaped");
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains(r#"class="marker m-oom""#) && svg.contains(r#"class="band""#));
        // A point past `to` is clamped to the right edge, never drawn outside.
        for n in svg
            .split(['"', ' ', ','])
            .filter_map(|s| s.parse::<f64>().ok())
        {
            assert!((0.0..=W).contains(&n), "{n} outside the chart");
        }
    }
}

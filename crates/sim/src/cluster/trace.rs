//! Replayed load: a `timestamp,value` CSV (as in the project's traces) scaled so its peak is
//! a chosen demand, replayed from the moment it is attached and looped when it ends.

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error("{path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{path}, line {line}: {reason}")]
    Line {
        path: String,
        line: u64,
        reason: String,
    },
}

/// Samples at a regular step, in demand units (1.0 = one pod's requests).
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    step: i64,
    values: Vec<f64>,
}

impl Trace {
    /// Reads a trace and scales it so its largest value becomes `peak`. Gaps between
    /// timestamps are filled with the previous value; the step is the smallest spacing.
    pub fn from_csv(path: &Path, peak: f64) -> Result<Trace, TraceError> {
        let shown = path.display().to_string();
        let mut reader = csv::Reader::from_path(path).map_err(|e| TraceError::Read {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        let mut points: Vec<(i64, f64)> = vec![];
        for record in reader.records() {
            let record = record.map_err(|e| TraceError::Read {
                path: shown.clone(),
                reason: e.to_string(),
            })?;
            let line = record.position().map_or(0, |p| p.line());
            let bad = |reason: &str| TraceError::Line {
                path: shown.clone(),
                line,
                reason: reason.to_string(),
            };
            let t: i64 = record
                .get(0)
                .and_then(|v| v.trim().parse().ok())
                .ok_or_else(|| bad("the timestamp is not whole unix seconds"))?;
            let v: f64 = record
                .get(1)
                .and_then(|v| v.trim().parse().ok())
                .filter(|v: &f64| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| bad("the value is not a non-negative number"))?;
            points.push((t, v));
        }
        Self::from_points(points, peak).map_err(|reason| TraceError::Read {
            path: shown,
            reason,
        })
    }

    /// The same from points in memory.
    pub fn from_points(mut points: Vec<(i64, f64)>, peak: f64) -> Result<Trace, String> {
        points.sort_by_key(|p| p.0);
        points.dedup_by_key(|p| p.0);
        if points.len() < 2 {
            return Err("a trace needs at least two samples".into());
        }
        let step = points
            .windows(2)
            .map(|w| w[1].0 - w[0].0)
            .min()
            .unwrap_or(1)
            .max(1);
        let max = points.iter().map(|p| p.1).fold(0.0, f64::max);
        let scale = if max > 0.0 { peak / max } else { 0.0 };
        let (start, end) = (points[0].0, points[points.len() - 1].0);
        let mut values = Vec::with_capacity(((end - start) / step + 1) as usize);
        let mut i = 0;
        for t in (start..=end).step_by(step as usize) {
            while i + 1 < points.len() && points[i + 1].0 <= t {
                i += 1;
            }
            values.push(points[i].1 * scale);
        }
        Ok(Trace { step, values })
    }

    /// Demand `elapsed` seconds after the replay began (looping), interpolated linearly.
    pub fn at(&self, elapsed: i64) -> f64 {
        let span = self.step * self.values.len() as i64;
        let pos = elapsed.rem_euclid(span.max(1));
        let i = (pos / self.step) as usize;
        let frac = (pos % self.step) as f64 / self.step as f64;
        let next = self.values[(i + 1) % self.values.len()];
        self.values[i] * (1.0 - frac) + next * frac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traces_scale_to_their_peak_fill_gaps_and_loop() {
        let t = Trace::from_points(vec![(0, 1.0), (300, 2.0), (900, 4.0)], 2.0).unwrap();
        assert_eq!(t.at(0), 0.5);
        assert_eq!(t.at(150), 0.75, "halfway between two samples");
        assert_eq!(t.at(600), 1.0, "a gap keeps the previous value");
        assert_eq!(t.at(900), 2.0, "the peak");
        assert_eq!(t.at(1200), 0.5, "and round again");
        assert!(Trace::from_points(vec![(0, 1.0)], 1.0).is_err());
    }

    #[test]
    fn bad_lines_name_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, "timestamp,value\n0,1\n300,x\n").unwrap();
        let e = Trace::from_csv(&path, 1.0).unwrap_err().to_string();
        assert!(e.contains("t.csv, line 3"), "{e}");
    }
}

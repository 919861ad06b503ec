//! Usage series on a regular grid. Input samples may come at any regular interval, with
//! gaps, resets and junk; what the models see is a grid of `step` seconds where a missing
//! or invalid sample is NaN (a gap stays a gap: nothing is invented).

/// A regular series: `values[i]` is the sample at `start + i × step`; NaN = no sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub start: i64,
    pub step: i64,
    pub values: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeriesError {
    #[error("the series is empty")]
    Empty,
    #[error("the series has no valid sample (every value is NaN, infinite or negative)")]
    NoValidSample,
    #[error("timestamps must increase: {previous} is followed by {next}")]
    NotIncreasing { previous: i64, next: i64 },
    #[error("the series spans {points} grid points, more than the {max} allowed")]
    TooLong { points: i64, max: i64 },
}

/// Longest grid accepted (about 2 years at 1-minute resolution).
const MAX_POINTS: i64 = 1_100_000;

impl Series {
    /// Builds the grid from `(unix seconds, value)` samples. The step is the median
    /// spacing; samples are placed on the nearest grid point. Negative, NaN and infinite
    /// values are treated as missing: usage cannot be negative, so such a value is a
    /// counter reset or a collection error, not a measurement.
    pub fn from_samples(samples: &[(i64, f64)]) -> Result<Series, SeriesError> {
        if samples.is_empty() {
            return Err(SeriesError::Empty);
        }
        for w in samples.windows(2) {
            if w[1].0 <= w[0].0 {
                return Err(SeriesError::NotIncreasing {
                    previous: w[0].0,
                    next: w[1].0,
                });
            }
        }
        if !samples.iter().any(|(_, v)| v.is_finite() && *v >= 0.0) {
            return Err(SeriesError::NoValidSample);
        }
        let mut gaps: Vec<i64> = samples.windows(2).map(|w| w[1].0 - w[0].0).collect();
        gaps.sort_unstable();
        let step = gaps.get(gaps.len() / 2).copied().unwrap_or(60).max(1);
        let start = samples[0].0;
        let points = (samples[samples.len() - 1].0 - start) / step + 1;
        if points > MAX_POINTS {
            return Err(SeriesError::TooLong {
                points,
                max: MAX_POINTS,
            });
        }
        let mut values = vec![f64::NAN; points as usize];
        for &(t, v) in samples {
            let i = ((t - start) as f64 / step as f64).round() as usize;
            if i < values.len() && v.is_finite() && v >= 0.0 {
                values[i] = v;
            }
        }
        Ok(Series {
            start,
            step,
            values,
        })
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Number of valid (non-NaN) samples.
    pub fn valid(&self) -> usize {
        self.values.iter().filter(|v| !v.is_nan()).count()
    }

    pub fn time_of(&self, index: usize) -> i64 {
        self.start + index as i64 * self.step
    }
}

/// Maximum of the valid values in a slice; NaN when there are none.
pub fn block_max(values: &[f64]) -> f64 {
    values
        .iter()
        .copied()
        .filter(|v| !v.is_nan())
        .fold(f64::NAN, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_stay_gaps_and_junk_is_missing() {
        let s = Series::from_samples(&[
            (0, 1.0),
            (60, -5.0),
            (180, 3.0),
            (240, f64::NAN),
            (300, 2.0),
        ])
        .unwrap();
        assert_eq!(s.step, 60);
        assert_eq!(s.len(), 6);
        assert!(s.values[1].is_nan() && s.values[2].is_nan() && s.values[4].is_nan());
        assert_eq!(s.values[3], 3.0);
        assert_eq!(block_max(&s.values), 3.0);
    }

    #[test]
    fn bad_inputs_are_errors_not_panics() {
        assert_eq!(Series::from_samples(&[]), Err(SeriesError::Empty));
        assert_eq!(
            Series::from_samples(&[(0, f64::NAN), (60, -1.0)]),
            Err(SeriesError::NoValidSample)
        );
        assert!(matches!(
            Series::from_samples(&[(60, 1.0), (0, 1.0)]),
            Err(SeriesError::NotIncreasing { .. })
        ));
        assert!(matches!(
            Series::from_samples(&[(0, 1.0), (1, 1.0), (2, 1.0), (10_000_000, 1.0)]),
            Err(SeriesError::TooLong { .. })
        ));
    }
}

//! Weighted quantiles and the pinball loss.

/// The `q`-quantile of `(value, weight)` pairs (NaN values and non-positive weights are
/// ignored); `None` when nothing remains. `q` is clamped to [0, 1].
pub fn weighted_quantile(pairs: &mut [(f64, f64)], q: f64) -> Option<f64> {
    Distribution::new(pairs.to_vec()).quantile(q)
}

/// Weighted values sorted once, so that any number of quantiles cost a binary search each.
#[derive(Debug, Clone, Default)]
pub struct Distribution {
    values: Vec<f64>,
    /// Cumulative weights, in the order of `values`.
    cumulative: Vec<f64>,
}

impl Distribution {
    /// From `(value, weight)` pairs; NaN values and non-positive weights are ignored.
    pub fn new(mut pairs: Vec<(f64, f64)>) -> Distribution {
        pairs.retain(|(v, w)| !v.is_nan() && *w > 0.0);
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut acc = 0.0;
        let (values, cumulative) = pairs
            .into_iter()
            .map(|(v, w)| {
                acc += w;
                (v, acc)
            })
            .unzip();
        Distribution { values, cumulative }
    }

    /// The smallest value whose cumulative weight reaches `q` (clamped to [0, 1]) of the
    /// total; `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let q = if q.is_nan() { 0.5 } else { q.clamp(0.0, 1.0) };
        let total = *self.cumulative.last()?;
        let target = q * total - 1e-12;
        let i = self.cumulative.partition_point(|c| *c < target);
        self.values.get(i.min(self.values.len() - 1)).copied()
    }
}

impl Distribution {
    /// The weighted mean; `None` when empty.
    pub fn mean(&self) -> Option<f64> {
        let total = *self.cumulative.last()?;
        let mut previous = 0.0;
        let mut sum = 0.0;
        for (v, c) in self.values.iter().zip(&self.cumulative) {
            sum += v * (c - previous);
            previous = *c;
        }
        (total > 0.0).then(|| sum / total)
    }
}

/// Unweighted quantile.
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    let mut pairs: Vec<(f64, f64)> = values.iter().map(|v| (*v, 1.0)).collect();
    weighted_quantile(&mut pairs, q)
}

/// Pinball (quantile) loss of predicting `forecast` for `actual` at quantile `q`.
pub fn pinball(actual: f64, forecast: f64, q: f64) -> f64 {
    let d = actual - forecast;
    if d >= 0.0 { q * d } else { (q - 1.0) * d }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_mean_is_weighted() {
        let d = Distribution::new(vec![(1.0, 1.0), (4.0, 2.0), (f64::NAN, 5.0), (9.0, 0.0)]);
        assert_eq!(d.mean(), Some(3.0));
        assert_eq!(Distribution::new(vec![]).mean(), None);
    }

    #[test]
    fn quantiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.9), Some(90.0));
        assert_eq!(quantile(&v, 0.0), Some(1.0));
        assert_eq!(quantile(&v, 1.0), Some(100.0));
        assert_eq!(quantile(&[f64::NAN], 0.5), None);
        assert_eq!(pinball(10.0, 8.0, 0.9), 0.9 * 2.0);
        assert!((pinball(8.0, 10.0, 0.9) - 0.2).abs() < 1e-12);
    }

    proptest! {
        #[test]
        fn quantile_lies_within_the_data(v in proptest::collection::vec(-1e6f64..1e6, 1..50), q in 0.0f64..1.0) {
            let got = quantile(&v, q).unwrap();
            let min = v.iter().copied().fold(f64::INFINITY, f64::min);
            let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            prop_assert!(got >= min && got <= max);
        }
    }
}

//! Weighted quantiles and the pinball loss.

/// The `q`-quantile of `(value, weight)` pairs (NaN values and non-positive weights are
/// ignored); `None` when nothing remains. `q` is clamped to [0, 1].
pub fn weighted_quantile(pairs: &mut [(f64, f64)], q: f64) -> Option<f64> {
    let q = if q.is_nan() { 0.5 } else { q.clamp(0.0, 1.0) };
    let mut valid: Vec<(f64, f64)> = pairs
        .iter()
        .copied()
        .filter(|(v, w)| !v.is_nan() && *w > 0.0)
        .collect();
    if valid.is_empty() {
        return None;
    }
    valid.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = valid.iter().map(|(_, w)| w).sum();
    let target = q * total;
    let mut acc = 0.0;
    for (v, w) in &valid {
        acc += w;
        if acc >= target - 1e-12 {
            return Some(*v);
        }
    }
    valid.last().map(|(v, _)| *v)
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

//! The policies prescale is measured against, faithful to their published defaults.

use crate::models::decaying_quantile;
use crate::quantile::weighted_quantile;
use crate::resource::Resource;
use crate::series::block_max;

/// Kubernetes VPA recommender defaults (vertical-pod-autoscaler/pkg/recommender).
pub mod vpa {
    /// Target percentile of the usage histogram.
    pub const TARGET_PERCENTILE: f64 = 0.9;
    /// Safety margin added to the target (`--recommendation-margin-fraction`).
    pub const SAFETY_MARGIN: f64 = 0.15;
    /// Half-life of histogram weights (`--cpu-histogram-decay-half-life` and memory's).
    pub const HALF_LIFE_SECS: i64 = 24 * 3600;
    /// Memory is recorded as the peak of each aggregation interval, eight of them kept.
    pub const MEMORY_AGGREGATION_SECS: i64 = 24 * 3600;
    pub const MEMORY_AGGREGATION_COUNT: usize = 8;
    /// After an OOM kill memory is raised by at least this fraction (`OOMBumpUpRatio`).
    pub const OOM_BUMP_RATIO: f64 = 1.2;
}

/// The VPA target recommendation from the history before now: P90 of a decaying
/// histogram plus the 15 % margin. `ooms` is how many OOM kills were seen (memory only).
pub fn vpa_recommendation(
    history: &[f64],
    step: i64,
    resource: Resource,
    ooms: usize,
) -> Option<f64> {
    let target = match resource {
        Resource::Cpu => decaying_quantile(history, step, vpa::TARGET_PERCENTILE)?,
        Resource::Memory => {
            let per_interval = (vpa::MEMORY_AGGREGATION_SECS / step.max(1)).max(1) as usize;
            let n = history.len();
            let mut peaks = vec![];
            // Intervals end at now, newest first; the current partial interval counts too.
            for i in 0..vpa::MEMORY_AGGREGATION_COUNT {
                let end = n.saturating_sub(i * per_interval);
                if end == 0 {
                    break;
                }
                let start = end.saturating_sub(per_interval);
                let peak = block_max(&history[start..end]);
                let weight = 0.5f64
                    .powf((i * per_interval) as f64 * step as f64 / vpa::HALF_LIFE_SECS as f64);
                peaks.push((peak, weight));
            }
            weighted_quantile(&mut peaks, vpa::TARGET_PERCENTILE)?
        }
    };
    let bump = if ooms > 0 { vpa::OOM_BUMP_RATIO } else { 1.0 };
    Some(target * (1.0 + vpa::SAFETY_MARGIN) * bump)
}

/// Reactive HPA defaults (kube-controller-manager).
pub mod hpa {
    pub const TARGET_UTILIZATION: f64 = crate::replicas::DEFAULT_UTILIZATION;
    pub const TOLERANCE: f64 = 0.1;
    pub const DOWNSCALE_STABILIZATION_SECS: i64 = 300;
}

/// Capacity a reactive HPA provides at every sample. It sees usage one sampling interval
/// late, targets 80 % utilisation, ignores changes within the 10 % tolerance, scales up at
/// once and down only to the highest recommendation of the last 300 s. Capacity is
/// continuous (no pod rounding), which flatters the HPA slightly.
pub fn reactive_capacity(usage: &[f64], step: i64) -> Vec<f64> {
    let window = ((hpa::DOWNSCALE_STABILIZATION_SECS / step.max(1)) as usize).max(1);
    let mut capacity = Vec::with_capacity(usage.len());
    let mut current = f64::NAN;
    let mut recent: Vec<f64> = vec![];
    let mut last_seen = f64::NAN;
    for &u in usage {
        if !last_seen.is_nan() {
            let desired = if current.is_nan() {
                last_seen / hpa::TARGET_UTILIZATION
            } else {
                let ratio = last_seen / (hpa::TARGET_UTILIZATION * current.max(f64::MIN_POSITIVE));
                if (ratio - 1.0).abs() <= hpa::TOLERANCE {
                    current
                } else {
                    last_seen / hpa::TARGET_UTILIZATION
                }
            };
            recent.push(desired);
            if recent.len() > window {
                recent.remove(0);
            }
            let stabilised = recent.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            current = if current.is_nan() || desired > current {
                desired
            } else {
                stabilised.min(current)
            };
        }
        capacity.push(current);
        if !u.is_nan() {
            last_seen = u;
        }
    }
    capacity
}

/// A clairvoyant reference, not a policy: one value per hour, chosen knowing the whole
/// series, as low as possible while missing at most `rate` of the samples. It starts from
/// each hour's peak and spends the allowed misses where they save the most (greedy: each
/// step lowers the hour whose next lower sample saves the most). It changes at most 24
/// times a day — the floor a causal policy with such a budget cannot reach.
pub fn hourly_oracle(usage: &[f64], step: i64, rate: f64) -> Vec<f64> {
    let per_hour = (3600 / step.max(1)).max(1) as usize;
    // Each hour's valid samples, highest first, and how many of them are given up.
    let mut hours: Vec<(Vec<f64>, usize)> = usage
        .chunks(per_hour)
        .map(|hour| {
            let mut sorted: Vec<f64> = hour.iter().copied().filter(|u| !u.is_nan()).collect();
            sorted.sort_by(|a, b| b.total_cmp(a));
            (sorted, 0)
        })
        .collect();
    let valid: usize = hours.iter().map(|(s, _)| s.len()).sum();
    let mut budget = (valid as f64 * rate.clamp(0.0, 1.0)).floor() as usize;
    while budget > 0 {
        let best = hours
            .iter()
            .enumerate()
            .filter(|(_, (s, k))| k + 1 < s.len())
            .map(|(i, (s, k))| (i, (s[*k] - s[k + 1]) * s.len() as f64))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        let Some((i, _)) = best else { break };
        hours[i].1 += 1;
        budget -= 1;
    }
    usage
        .chunks(per_hour)
        .zip(&hours)
        .flat_map(|(hour, (sorted, k))| {
            std::iter::repeat_n(sorted.get(*k).copied().unwrap_or(f64::NAN), hour.len())
        })
        .collect()
}

/// The maximum seen so far: what a cautious human sets.
pub fn static_peak(history: &[f64]) -> Option<f64> {
    let m = block_max(history);
    (!m.is_nan()).then_some(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vpa_is_p90_plus_margin() {
        let history: Vec<f64> = (1..=100).map(f64::from).collect();
        let r = vpa_recommendation(&history, 86_400 * 30, Resource::Cpu, 0).unwrap();
        // With month-long steps only the newest sample weighs: P90 of one sample is itself.
        assert!((r - 100.0 * 1.15).abs() < 1e-9, "{r}");
        let flat = vec![2.0; 1000];
        assert!((vpa_recommendation(&flat, 60, Resource::Memory, 0).unwrap() - 2.3).abs() < 1e-9);
        assert!(
            (vpa_recommendation(&flat, 60, Resource::Memory, 1).unwrap() - 2.3 * 1.2).abs() < 1e-9
        );
    }

    #[test]
    fn the_hourly_oracle_spends_its_misses_where_they_save_most() {
        // Two hours: the second has one spike far above its other samples.
        let mut usage: Vec<f64> = vec![1.0; 24];
        usage[20] = 9.0;
        usage[3] = 1.5;
        let p = hourly_oracle(&usage, 300, 0.05);
        // One miss allowed (5 % of 24): the spike, not the small bump, is given up.
        assert_eq!(&p[..12], &[1.5; 12]);
        assert_eq!(&p[12..], &[1.0; 12]);
        let missed = usage.iter().zip(&p).filter(|(u, p)| u > p).count();
        assert_eq!(missed, 1);
    }

    #[test]
    fn reactive_hpa_lags_one_sample_and_stabilises_down() {
        let usage = [8.0, 8.0, 16.0, 16.0, 4.0, 4.0];
        let c = reactive_capacity(&usage, 300);
        assert!(c[0].is_nan());
        assert_eq!(c[1], 10.0);
        assert_eq!(c[2], 10.0, "a rise is seen one sample late");
        assert_eq!(c[3], 20.0);
        assert_eq!(c[5], 20.0f64.min(c[5]));
        assert!(c[5] <= 20.0 && c[5] >= 5.0);
    }
}

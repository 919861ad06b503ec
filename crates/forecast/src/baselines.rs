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
    pub const TARGET_UTILIZATION: f64 = 0.8;
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

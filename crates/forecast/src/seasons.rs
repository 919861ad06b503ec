//! Seasonality detection: a periodogram (augurs-seasons, Welch's method) over hourly means
//! finds which of the daily and weekly cycles a series really has; seasonal models are
//! only offered for the cycles found.

use augurs::seasons::{Detector as _, PeriodogramDetector};

pub const DAY: i64 = 86_400;
pub const WEEK: i64 = 7 * DAY;

/// Which cycles (in seconds) the last weeks of `values` (spaced `step` seconds) show.
pub fn detect_cycles(values: &[f64], step: i64) -> Vec<i64> {
    let per_hour = (3600 / step.max(1)).max(1) as usize;
    let hourly: Vec<f64> = values
        .chunks(per_hour)
        .map(|c| {
            let (s, n) = c
                .iter()
                .filter(|v| !v.is_nan())
                .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
            if n == 0 { f64::NAN } else { s / n as f64 }
        })
        .collect();
    // Use at most the last four weeks, with holes filled by the mean so the FFT sees no NaN.
    let tail = &hourly[hourly.len().saturating_sub(24 * 28)..];
    let valid: Vec<f64> = tail.iter().copied().filter(|v| !v.is_nan()).collect();
    if valid.len() < 48 {
        return vec![];
    }
    let mean = valid.iter().sum::<f64>() / valid.len() as f64;
    let var = valid.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / valid.len() as f64;
    if var <= f64::EPSILON * mean.abs().max(1.0) {
        return vec![]; // a constant series has no cycle
    }
    let filled: Vec<f64> = tail
        .iter()
        .map(|v| if v.is_nan() { mean } else { *v })
        .collect();
    let mut cycles = vec![];
    for (cycle_hours, seconds) in [(24u32, DAY), (168u32, WEEK)] {
        if filled.len() < (cycle_hours as usize) * 2 {
            continue;
        }
        let detector = PeriodogramDetector::builder()
            .min_period(4)
            .max_period((cycle_hours * 2).min(filled.len() as u32 / 2))
            .build();
        // Welch's segments are powers of two, so a 24 h cycle shows as a peak near 21 or 25:
        // the periodogram proposes, the autocorrelation at the exact lag confirms.
        let found = detector.detect(&filled);
        let near = found
            .iter()
            .any(|p| (*p as f64 - cycle_hours as f64).abs() <= cycle_hours as f64 * 0.3);
        let lag = cycle_hours as usize;
        let acf = |l: usize| autocorrelation(&filled, l, mean, var);
        let at_cycle = acf(lag);
        // A cycle correlates more with itself one period later than half a period later;
        // a trend or a random walk, whose autocorrelation only decays, does not.
        let returns = at_cycle >= acf(lag / 2);
        // A short burst at the same time every day (a nightly job) spreads its power over
        // many harmonics, and the periodogram may propose only those: then the
        // autocorrelation must peak at the day itself, clearly above half and three
        // quarters of it. Not for the week: a daily cycle peaks at seven days too.
        let peaks_at_day = seconds == DAY
            && [lag / 2, lag * 3 / 4]
                .iter()
                .all(|l| at_cycle >= acf(*l) + 0.1);
        if at_cycle >= 0.3 && returns && (near || peaks_at_day) {
            cycles.push(seconds);
        }
    }
    cycles
}

/// The cycles of the history before the start of the current UTC day (`now`, unix
/// seconds; `values[i]` is at `start + i × step`). Every forecast of one day sees the same
/// cycles, whoever asks: the backtest detects them once a simulated day, the operator at
/// every forecast, and both get the same answer.
pub fn detect_cycles_today(values: &[f64], start: i64, step: i64, now: i64) -> Vec<i64> {
    let today = now.div_euclid(DAY) * DAY;
    let end = ((today - start).max(0) / step.max(1)) as usize;
    detect_cycles(&values[..end.min(values.len())], step)
}

fn autocorrelation(values: &[f64], lag: usize, mean: f64, var: f64) -> f64 {
    if lag >= values.len() || var <= 0.0 {
        return 0.0;
    }
    let n = values.len() - lag;
    let cov = (0..n)
        .map(|i| (values[i] - mean) * (values[i + lag] - mean))
        .sum::<f64>()
        / n as f64;
    cov / var
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_daily_cycle_and_none_in_noise() {
        let step = 300;
        let daily: Vec<f64> = (0..(14 * 288))
            .map(|i| 10.0 + 5.0 * ((i as f64) * 2.0 * std::f64::consts::PI / 288.0).sin())
            .collect();
        assert!(detect_cycles(&daily, step).contains(&DAY));
        assert!(detect_cycles(&vec![3.0; 14 * 288], step).is_empty());
        assert!(detect_cycles(&[1.0, 2.0], step).is_empty());
        // A nightly job: one hour a day, flat otherwise.
        let nightly: Vec<f64> = (0..10 * 288)
            .map(|i| {
                if (36..48).contains(&(i % 288)) {
                    8.0
                } else {
                    1.0
                }
            })
            .collect();
        assert_eq!(detect_cycles(&nightly, step), vec![DAY]);
        // A random walk has a high autocorrelation at every lag, and no cycle.
        let (mut level, mut state) = (100.0, 0x9E37_79B9_7F4A_7C15u64);
        let walk: Vec<f64> = (0..14 * 288)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                level += (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                level
            })
            .collect();
        assert!(!detect_cycles(&walk, step).contains(&DAY));
    }
}

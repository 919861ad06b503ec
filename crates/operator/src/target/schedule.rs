//! When a target forecasts next: its cadence (`forecast_interval` or `forecast_cron`)
//! measured in data time (the metrics' timestamps, so a simulated clock running fast is
//! followed without knowing its speed), plus a fixed jitter per target so targets with the
//! same cadence spread over passes instead of all forecasting in one.

use prescale_api::settings::Cadence;

/// Whether a target whose last forecast used data up to `last` is due at data time `t`.
/// `id` (namespace/name) fixes the target's jitter.
pub fn forecast_due(
    t: Option<i64>,
    last: Option<i64>,
    cadence: Option<&Cadence>,
    id: &str,
) -> bool {
    match (t, last, cadence) {
        (None, _, _) => false,
        (Some(_), None, _) => true,
        (Some(t), Some(last), Some(Cadence::Interval(d))) => {
            let d = d.as_secs() as i64;
            t - last >= d + jitter(id, d)
        }
        (Some(t), Some(last), Some(Cadence::Cron(s))) => jiff::Timestamp::from_second(last)
            .ok()
            .and_then(|l| s.next_after(l))
            .is_some_and(|next| {
                let next = next.as_second();
                next + jitter(id, next - last) <= t
            }),
        (Some(_), Some(_), None) => false,
    }
}

/// The data time at which a target whose last forecast used data up to `last` is next
/// due (what `forecast_due` checks), or `None` when it never will be.
pub fn next_due(last: i64, cadence: &Cadence, id: &str) -> Option<i64> {
    match cadence {
        Cadence::Interval(d) => {
            let d = d.as_secs() as i64;
            Some(last + d + jitter(id, d))
        }
        Cadence::Cron(s) => {
            let next = s
                .next_after(jiff::Timestamp::from_second(last).ok()?)?
                .as_second();
            Some(next + jitter(id, next - last))
        }
    }
}

/// A fixed delay per target, up to a tenth of its period and at most a minute.
pub fn jitter(id: &str, period_secs: i64) -> i64 {
    let spread = (period_secs / 10).clamp(0, 60);
    if spread == 0 {
        return 0;
    }
    (fnv1a(id.as_bytes()) % spread as u64) as i64
}

/// FNV-1a: a hash stable across runs and processes, unlike the std hasher.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn jitter_is_bounded_stable_and_spreads_targets() {
        let all: std::collections::BTreeSet<i64> =
            (0..50).map(|i| jitter(&format!("ns/t{i}"), 900)).collect();
        assert!(all.iter().all(|j| (0..60).contains(j)));
        assert!(all.len() > 10, "targets spread: {all:?}");
        assert_eq!(jitter("ns/a", 900), jitter("ns/a", 900));
        assert_eq!(jitter("ns/a", 5), 0, "short cadences get none");
    }

    #[test]
    fn next_due_is_when_forecast_due_turns_true() {
        let every = Cadence::Interval(Duration::from_secs(900));
        let next = next_due(1000, &every, "ns/a").unwrap();
        assert!(!forecast_due(
            Some(next - 1),
            Some(1000),
            Some(&every),
            "ns/a"
        ));
        assert!(forecast_due(Some(next), Some(1000), Some(&every), "ns/a"));
        let cron = Cadence::Cron(Box::new(
            prescale_api::cron::parse_cron("0 * * * *").unwrap(),
        ));
        let last = jiff::Timestamp::from_second(3600 * 500 + 10)
            .unwrap()
            .as_second();
        let next = next_due(last, &cron, "ns/a").unwrap();
        assert!((3600 * 501..3600 * 501 + 61).contains(&next), "{next}");
        assert!(forecast_due(Some(next), Some(last), Some(&cron), "ns/a"));
        assert!(!forecast_due(
            Some(next - 1),
            Some(last),
            Some(&cron),
            "ns/a"
        ));
    }

    #[test]
    fn an_interval_is_due_after_its_period_and_jitter() {
        let every = Cadence::Interval(Duration::from_secs(900));
        let j = jitter("ns/a", 900);
        assert!(
            forecast_due(Some(100), None, Some(&every), "ns/a"),
            "first forecast at once"
        );
        assert!(!forecast_due(
            Some(1000 + 900 + j - 1),
            Some(1000),
            Some(&every),
            "ns/a"
        ));
        assert!(forecast_due(
            Some(1000 + 900 + j),
            Some(1000),
            Some(&every),
            "ns/a"
        ));
        assert!(
            !forecast_due(None, Some(1000), Some(&every), "ns/a"),
            "no data, no forecast"
        );
    }
}

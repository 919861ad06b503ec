//! The cooldown windows (`autoscaling.aibrix.ai/scale-up-cooldown-window` and
//! `scale-down-cooldown-window`), as the Kubernetes HPA's stabilisation windows they map to:
//! a scale-up goes no higher than the lowest recommendation of the scale-up window, a
//! scale-down no lower than the highest of the scale-down window. So with the defaults (0 s
//! up, 300 s down) a scale-up is immediate and a scale-down happens once every
//! recommendation of the last five minutes asked for it — Knative's scale-down delay too.
//!
//! AIBrix's controller picks the other extreme of each window (the highest recommendation
//! for a scale-up, the lowest for a scale-down), which lets a single low recommendation
//! scale down at once; prescale follows the HPA semantics its documentation refers to, the
//! same the HPA strategy gets from the native HPA.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use crate::state::Recommendation;

/// The replicas to apply now, given every remembered recommendation (the latest included)
/// and the target's current replicas.
pub fn stabilize(
    recommendations: &[Recommendation],
    now: Timestamp,
    current: u32,
    up_window: Duration,
    down_window: Duration,
) -> u32 {
    let within = |window: Duration| {
        let window = SignedDuration::try_from(window).unwrap_or(SignedDuration::MAX);
        let from = now.checked_sub(window).unwrap_or(Timestamp::MIN);
        recommendations
            .iter()
            .filter(move |r| r.at >= from && r.at <= now)
            .map(|r| r.replicas)
    };
    let mut replicas = current;
    if let Some(up) = within(up_window).min()
        && replicas < up
    {
        replicas = up;
    }
    if let Some(down) = within(down_window).max()
        && replicas > down
    {
        replicas = down;
    }
    replicas
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn recs(from: Timestamp, every: i64, replicas: &[u32]) -> Vec<Recommendation> {
        replicas
            .iter()
            .enumerate()
            .map(|(i, r)| Recommendation {
                at: from
                    .checked_add(SignedDuration::from_secs(i as i64 * every))
                    .unwrap(),
                replicas: *r,
            })
            .collect()
    }

    const UP: Duration = Duration::ZERO;
    const DOWN: Duration = Duration::from_secs(300);

    #[test]
    fn scale_up_is_immediate_with_no_up_window() {
        let t0: Timestamp = "2026-11-29T00:00:00Z".parse().unwrap();
        let r = recs(t0, 15, &[4, 4, 9]);
        assert_eq!(stabilize(&r, r[2].at, 4, UP, DOWN), 9);
    }

    #[test]
    fn scale_down_waits_for_the_whole_down_window() {
        let t0: Timestamp = "2026-11-29T00:00:00Z".parse().unwrap();
        // 10 at t0, then 3 every 15 s: still 10 until t0 leaves the 300 s window.
        let mut replicas = vec![10];
        replicas.extend([3; 21]);
        let r = recs(t0, 15, &replicas);
        for (i, rec) in r.iter().enumerate() {
            let applied = stabilize(&r[..=i], rec.at, 10, UP, DOWN);
            let expected = if i * 15 <= 300 { 10 } else { 3 };
            assert_eq!(applied, expected, "after {} s", i * 15);
        }
    }

    #[test]
    fn an_up_window_takes_the_lowest_recent_recommendation() {
        let t0: Timestamp = "2026-11-29T00:00:00Z".parse().unwrap();
        let r = recs(t0, 15, &[6, 9, 8]);
        assert_eq!(stabilize(&r, r[2].at, 4, Duration::from_secs(60), DOWN), 6);
    }

    proptest! {
        /// The result lies between the current replicas and the latest recommendation, and
        /// equals the latest when both windows are empty of others.
        #[test]
        fn never_overshoots(history in prop::collection::vec(0u32..50, 1..40), current in 0u32..50, up in 0u64..200, down in 0u64..400) {
            let t0: Timestamp = "2026-11-29T00:00:00Z".parse().unwrap();
            let r = recs(t0, 15, &history);
            let now = r.last().unwrap().at;
            let latest = *history.last().unwrap();
            let s = stabilize(&r, now, current, Duration::from_secs(up), Duration::from_secs(down));
            prop_assert!(s >= current.min(latest) && s <= current.max(latest), "{s} outside {current}..{latest}");
            let alone = stabilize(&r[r.len() - 1..], now, current, Duration::from_secs(up), Duration::from_secs(down));
            prop_assert_eq!(alone, latest);
        }
    }
}

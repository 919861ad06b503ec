//! When to collect, per namespace: every `interval` while collections succeed; after a
//! failure (a metrics-server outage) at 5 s, 10 s, 20 s … up to 5 minutes, keeping the last
//! error so each target's status can say why it has no new samples. Between collections
//! the last data time stands, so targets keep reading the history they have.

use std::collections::HashMap;
use std::time::{Duration, Instant};

pub const FIRST_DELAY: Duration = Duration::from_secs(5);
pub const MAX_DELAY: Duration = Duration::from_secs(300);

/// The delay after `failures` consecutive failures (≥ 1).
pub fn delay(failures: u32) -> Duration {
    FIRST_DELAY
        .saturating_mul(1 << failures.saturating_sub(1).min(16))
        .min(MAX_DELAY)
}

#[derive(Debug, Clone, PartialEq)]
pub struct Failing {
    pub failures: u32,
    pub retry_at: Instant,
    /// The condition reason (`CollectError::reason`).
    pub reason: &'static str,
    pub error: String,
}

/// What to do after recording a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    pub wait: Duration,
    /// True when this failure is new for the namespace (first, or a different reason): it
    /// is logged once, not at every retry.
    pub first: bool,
}

#[derive(Debug, Default)]
pub struct CollectorHealth {
    failing: HashMap<String, Failing>,
    /// When the last collection succeeded, and the data time it returned.
    last: HashMap<String, (Instant, Option<i64>)>,
}

impl CollectorHealth {
    /// Whether a collection in `namespace` should be tried at `now`.
    pub fn due(&self, namespace: &str, now: Instant, interval: Duration) -> bool {
        match self.failing.get(namespace) {
            Some(f) => now >= f.retry_at,
            None => self
                .last
                .get(namespace)
                .is_none_or(|(at, _)| now.duration_since(*at) >= interval),
        }
    }

    /// The data time of the last successful collection.
    pub fn last_data_time(&self, namespace: &str) -> Option<i64> {
        self.last.get(namespace).and_then(|(_, t)| *t)
    }

    /// Records a failure; returns the delay before the next attempt and whether it is new.
    pub fn failed(
        &mut self,
        namespace: &str,
        reason: &'static str,
        error: String,
        now: Instant,
    ) -> Retry {
        let previous = self.failing.get(namespace);
        let first = previous.is_none_or(|f| f.reason != reason);
        let failures = previous.map_or(0, |f| f.failures) + 1;
        let wait = delay(failures);
        self.failing.insert(
            namespace.to_string(),
            Failing {
                failures,
                retry_at: now + wait,
                reason,
                error,
            },
        );
        Retry { wait, first }
    }

    pub fn succeeded(&mut self, namespace: &str, now: Instant, data_time: Option<i64>) {
        self.failing.remove(namespace);
        let previous = self.last_data_time(namespace);
        self.last
            .insert(namespace.to_string(), (now, data_time.or(previous)));
    }

    pub fn failing(&self, namespace: &str) -> Option<&Failing> {
        self.failing.get(namespace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_and_success_resets() {
        assert_eq!(delay(1), Duration::from_secs(5));
        assert_eq!(delay(3), Duration::from_secs(20));
        assert_eq!(delay(40), MAX_DELAY);
        let mut h = CollectorHealth::default();
        let t0 = Instant::now();
        let every = Duration::from_secs(15);
        let at = |s| t0 + Duration::from_secs(s);
        assert!(h.due("a", t0, every));
        let r = h.failed("a", "X", "down".into(), t0);
        assert_eq!((r.wait, r.first), (Duration::from_secs(5), true));
        assert!(!h.due("a", at(4), every));
        assert!(h.due("a", at(5), every));
        assert!(h.due("b", t0, every), "namespaces back off separately");
        let r = h.failed("a", "X", "down".into(), t0);
        assert_eq!(
            (r.wait, r.first),
            (Duration::from_secs(10), false),
            "the same failure again is not logged again"
        );
        assert!(
            h.failed("a", "Y", "other".into(), t0).first,
            "a new kind is"
        );
        assert!(
            h.failed("b", "X", "down".into(), t0).first,
            "so is another namespace"
        );
        h.succeeded("a", at(10), Some(1000));
        assert!(h.failing("a").is_none());
        assert!(!h.due("a", at(20), every), "a success waits one interval");
        assert!(h.due("a", at(25), every));
        h.succeeded("a", at(25), None);
        assert_eq!(
            h.last_data_time("a"),
            Some(1000),
            "no new data keeps the last time"
        );
    }
}

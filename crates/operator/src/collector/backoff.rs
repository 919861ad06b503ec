//! Backoff after failed collections, per namespace: a metrics-server outage is retried at
//! 5 s, 10 s, 20 s … up to 5 minutes instead of on every pass, and the last error is kept
//! so each target's status can say why it has no new samples.

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
    pub error: String,
}

#[derive(Debug, Default)]
pub struct CollectorHealth {
    failing: HashMap<String, Failing>,
}

impl CollectorHealth {
    /// Whether a collection in `namespace` should be tried at `now`.
    pub fn due(&self, namespace: &str, now: Instant) -> bool {
        self.failing
            .get(namespace)
            .is_none_or(|f| now >= f.retry_at)
    }

    /// Records a failure; returns the delay before the next attempt.
    pub fn failed(&mut self, namespace: &str, error: String, now: Instant) -> Duration {
        let failures = self.failing.get(namespace).map_or(0, |f| f.failures) + 1;
        let wait = delay(failures);
        self.failing.insert(
            namespace.to_string(),
            Failing {
                failures,
                retry_at: now + wait,
                error,
            },
        );
        wait
    }

    pub fn succeeded(&mut self, namespace: &str) {
        self.failing.remove(namespace);
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
        assert!(h.due("a", t0));
        assert_eq!(h.failed("a", "down".into(), t0), Duration::from_secs(5));
        assert!(!h.due("a", t0 + Duration::from_secs(4)));
        assert!(h.due("a", t0 + Duration::from_secs(5)));
        assert!(h.due("b", t0), "namespaces back off separately");
        assert_eq!(h.failed("a", "down".into(), t0), Duration::from_secs(10));
        h.succeeded("a");
        assert!(h.failing("a").is_none() && h.due("a", t0));
    }
}

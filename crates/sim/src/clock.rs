//! The simulated cluster's clock. Every timestamp, metric and controller follows it. It
//! runs `speed` times faster than real time (1 = real time) and tests can step it.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};

#[derive(Debug)]
pub struct Clock {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Simulated time at `anchor`.
    base: Timestamp,
    anchor: Instant,
    speed: f64,
}

impl Clock {
    /// A clock starting at `start`, running `speed` times real time (0 = frozen until stepped).
    pub fn new(start: Timestamp, speed: f64) -> Self {
        Clock {
            inner: Mutex::new(Inner {
                base: start,
                anchor: Instant::now(),
                speed: speed.max(0.0),
            }),
        }
    }

    pub fn now(&self) -> Timestamp {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let elapsed = inner.anchor.elapsed().as_secs_f64() * inner.speed;
        inner
            .base
            .checked_add(SignedDuration::from_secs_f64(elapsed))
            .unwrap_or(inner.base)
    }

    /// Moves simulated time forward by `by`.
    pub fn advance(&self, by: Duration) {
        let now = self.now();
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.base = now
            .checked_add(SignedDuration::try_from(by).unwrap_or(SignedDuration::ZERO))
            .unwrap_or(now);
        inner.anchor = Instant::now();
    }

    pub fn speed(&self) -> f64 {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).speed
    }

    /// How long to wait in real time for `simulated` to pass.
    pub fn real_duration(&self, simulated: Duration) -> Duration {
        let speed = self.speed();
        if speed <= 0.0 {
            Duration::from_millis(50)
        } else {
            simulated.div_f64(speed)
        }
    }

    /// RFC 3339 in whole seconds, as Kubernetes writes `metadata.creationTimestamp`.
    pub fn rfc3339(&self) -> String {
        let now = self.now();
        Timestamp::from_second(now.as_second())
            .unwrap_or(now)
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stepping_and_speed() {
        let start: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let c = Clock::new(start, 0.0);
        assert_eq!(c.now(), start);
        c.advance(Duration::from_secs(3600));
        assert_eq!(c.rfc3339(), "2026-01-01T01:00:00Z");
        let fast = Clock::new(start, 3600.0);
        std::thread::sleep(Duration::from_millis(20));
        assert!(fast.now() > start.checked_add(SignedDuration::from_secs(30)).unwrap());
    }
}

//! The one clock the operator reads. Every time it writes — condition
//! `lastTransitionTime`, Event `firstTimestamp`/`lastTimestamp`, the Lease — comes from the
//! clock it is given, and every wait it schedules (collection, a target's next forecast,
//! the resync) is measured on it. In production that is the system clock; in
//! `prescale demo` it is the simulated cluster's, so the operator's timestamps agree with
//! the cluster's own objects however fast simulated time runs.

use std::time::Duration;

use jiff::Timestamp;

pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;

    /// How long to wait in real time for `d` to pass on this clock.
    fn real_duration(&self, d: Duration) -> Duration;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }

    fn real_duration(&self, d: Duration) -> Duration {
        d
    }
}

/// A clock read through two functions — how another crate's clock (the simulated
/// cluster's, in `prescale demo` and the tests) becomes the operator's.
pub struct FnClock<N, R> {
    pub now: N,
    pub real_duration: R,
}

impl<N, R> Clock for FnClock<N, R>
where
    N: Fn() -> Timestamp + Send + Sync,
    R: Fn(Duration) -> Duration + Send + Sync,
{
    fn now(&self) -> Timestamp {
        (self.now)()
    }

    fn real_duration(&self, d: Duration) -> Duration {
        (self.real_duration)(d)
    }
}

/// `now` in whole seconds, as Kubernetes serialises `metav1.Time`.
pub fn whole_seconds(now: Timestamp) -> Timestamp {
    Timestamp::from_second(now.as_second()).unwrap_or(now)
}

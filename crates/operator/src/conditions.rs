//! Status conditions, built the same way by every controller: a condition keeps its
//! `lastTransitionTime` while its status stays the same, and takes the clock's time (in
//! whole seconds, as the API stores it) when the status changes.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use crate::clock::whole_seconds;

/// One condition; `previous` are the object's conditions before this decision.
pub fn condition(
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    previous: &[Condition],
    now: Timestamp,
) -> Condition {
    let since = previous
        .iter()
        .find(|c| c.type_ == type_ && c.status == status)
        .map(|c| c.last_transition_time.clone())
        .unwrap_or_else(|| Time(whole_seconds(now)));
    Condition {
        type_: type_.into(),
        status: status.into(),
        reason: reason.into(),
        message: message.into(),
        observed_generation: generation,
        last_transition_time: since,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_transition_time_moves_only_when_the_status_does() {
        let t0: Timestamp = "2026-01-01T00:00:00.700Z".parse().unwrap();
        let t1: Timestamp = "2026-01-01T01:00:00Z".parse().unwrap();
        let first = condition("Ready", "False", "A", "m", Some(1), &[], t0);
        assert_eq!(
            first.last_transition_time.0.to_string(),
            "2026-01-01T00:00:00Z"
        );
        let same = condition(
            "Ready",
            "False",
            "B",
            "other",
            Some(2),
            std::slice::from_ref(&first),
            t1,
        );
        assert_eq!(same.last_transition_time, first.last_transition_time);
        let flipped = condition("Ready", "True", "C", "m", Some(2), &[first], t1);
        assert_eq!(flipped.last_transition_time.0, t1);
    }
}

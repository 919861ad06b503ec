//! Cron schedules (`forecast_cron`): the standard 5-field syntax, evaluated in UTC.

use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{text:?} is not a 5-field cron expression (minute hour day-of-month month day-of-week, e.g. \"*/15 * * * *\"): {reason}"
)]
pub struct CronError {
    pub text: String,
    pub reason: String,
}

/// A parsed schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    cron: Cron,
}

pub fn parse_cron(text: &str) -> Result<Schedule, CronError> {
    let error = |reason: String| CronError {
        text: text.to_string(),
        reason,
    };
    if text.len() > 128 {
        return Err(error("longer than 128 characters".into()));
    }
    let parser = CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build();
    // croner can panic on some malformed inputs in older versions; guard so that a bad
    // manifest never takes the process down.
    let parsed = std::panic::catch_unwind(|| parser.parse(text))
        .map_err(|_| error("the expression could not be parsed".into()))?;
    parsed
        .map(|cron| Schedule { cron })
        .map_err(|e| error(e.to_string()))
}

impl Schedule {
    /// The first tick strictly after `after` (UTC), if any within the representable range.
    pub fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        let civil: DateTime = after.to_zoned(TimeZone::UTC).datetime();
        let next = self.cron.find_next_occurrence(&civil, false).ok()?;
        next.to_zoned(TimeZone::UTC).ok().map(|z| z.timestamp())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn every_fifteen_minutes() {
        let s = parse_cron("*/15 * * * *").unwrap();
        let t: Timestamp = "2026-01-01T10:07:00Z".parse().unwrap();
        assert_eq!(s.next_after(t).unwrap().to_string(), "2026-01-01T10:15:00Z");
        let t: Timestamp = "2026-01-01T10:15:00Z".parse().unwrap();
        assert_eq!(s.next_after(t).unwrap().to_string(), "2026-01-01T10:30:00Z");
    }

    #[test]
    fn refuses_six_fields_and_junk() {
        for bad in ["", "* * * *", "0 */15 * * * *", "61 * * * *", "hello"] {
            assert!(parse_cron(bad).is_err(), "{bad:?} parsed");
        }
    }

    proptest! {
        #[test]
        fn arbitrary_strings_never_panic(s in "[0-9*/, -]{0,30}") {
            let _ = parse_cron(&s);
        }
    }
}

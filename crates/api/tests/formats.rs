//! The value formats the API server checks (the `pattern`s of `rules`) and the parsers the
//! operator uses agree: whatever the server lets through, the parsers read (bar absurd
//! magnitudes, which they refuse as too large), and what the parsers read in the API's
//! spelling, the server lets through. So `prescale validate`, which applies both, refuses
//! nothing the server takes except those magnitudes.

use prescale_api::duration::{DurationError, parse_duration};
use prescale_api::percent::parse_percent;
use prescale_api::quantity::{QuantityError, parse};
use prescale_api::rules::{DISRUPTION_PERCENT, DURATION_PATTERN, PERCENT, QUANTITY};
use proptest::prelude::*;
use regex::Regex;

fn matches(pattern: &str, text: &str) -> bool {
    Regex::new(pattern).unwrap().is_match(text)
}

/// Strings a pattern accepts, generated from the pattern itself (anchors dropped: the
/// generator produces whole matches).
fn accepted_by(pattern: &str) -> impl Strategy<Value = String> + use<> {
    let body = pattern
        .trim_start_matches('^')
        .trim_end_matches('$')
        .to_string();
    proptest::string::string_regex(&body).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_quantity_the_server_takes_parses(s in accepted_by(QUANTITY.pattern)) {
        prop_assume!(s.len() <= 64);
        match parse(&s) {
            Ok(q) => prop_assert!(q.nanos() >= 0, "{s} is negative"),
            Err(QuantityError::Overflow(_)) => {}
            Err(e) => prop_assert!(false, "{s:?}: {e}"),
        }
    }

    #[test]
    fn every_quantity_that_parses_is_taken(
        s in "\\+?[0-9]{0,5}(\\.[0-9]{0,3})?([numkMGTPE]|[KMGTPE]i|[eE][-+]?[0-9]{1,2}|[a-zA-Z]{0,2})?"
    ) {
        if parse(&s).is_ok() {
            prop_assert!(matches(QUANTITY.pattern, &s), "{s:?} parses but the server refuses it");
        }
    }

    #[test]
    fn every_percentage_the_server_takes_parses(s in accepted_by(PERCENT.pattern)) {
        prop_assume!(s.len() <= 64);
        prop_assert!(parse_percent(&s).is_ok(), "{s:?}");
    }

    #[test]
    fn every_percentage_that_parses_is_taken(s in "[0-9]{1,4}(\\.[0-9]{1,3})?%?") {
        prop_assert!(parse_percent(&s).is_ok());
        prop_assert!(matches(PERCENT.pattern, &s), "{s:?}");
    }

    #[test]
    fn every_disruption_percentage_the_server_takes_is_in_range(s in accepted_by(DISRUPTION_PERCENT.pattern)) {
        prop_assume!(s.len() <= 64);
        let p = parse_percent(&s).unwrap();
        prop_assert!(p > 0.0 && p <= 100.0, "{s:?} is {p}");
    }

    #[test]
    fn disruption_percentages_in_range_are_taken(whole in 0u32..=100, tenths in 0u32..10) {
        let s = if tenths == 0 { format!("{whole}%") } else { format!("{whole}.{tenths}%") };
        let p = parse_percent(&s).unwrap();
        prop_assert_eq!(matches(DISRUPTION_PERCENT.pattern, &s), p > 0.0 && p <= 100.0, "{}", s);
    }

    #[test]
    fn every_duration_the_server_takes_parses(s in "([0-9]{1,6}(\\.[0-9]{1,12})?(ms|s|m|h)){1,3}") {
        prop_assert!(matches(DURATION_PATTERN, &s));
        match parse_duration(&s) {
            Ok(_) | Err(DurationError::Overflow(_)) => {}
            Err(e) => prop_assert!(false, "{s:?}: {e}"),
        }
    }

    #[test]
    fn every_duration_that_parses_is_taken(s in "([0-9]{1,3}(\\.[0-9]{1,2})?(ms|s|m|h|d|us)?){1,3}") {
        if parse_duration(&s).is_ok() {
            prop_assert!(matches(DURATION_PATTERN, &s), "{s:?} parses but the server refuses it");
        }
    }
}

//! Durations as the API writes them: Go-style unit sequences (`15m`, `4h`, `1h30m`,
//! `15m0s`, `90s`), as Go's `time.ParseDuration` and the CRD's CEL `duration()` read them. Every term carries a unit: `15` alone is refused,
//! because seed 001 asks for an explicit `m` or `h` on `forecast_blocks`.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("empty duration")]
    Empty,
    #[error("{0:?} has a number without a unit: write e.g. \"15m\" or \"4h\" (units: ms, s, m, h)")]
    MissingUnit(String),
    #[error(
        "{0:?} is not a duration: expected e.g. \"15m\", \"4h\" or \"1h30m\" (units: ms, s, m, h)"
    )]
    Syntax(String),
    #[error("{0:?} is too long")]
    Overflow(String),
}

/// Parses a duration; the result is whole seconds or finer.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let s = text.trim();
    if s.is_empty() {
        return Err(DurationError::Empty);
    }
    let syntax = || DurationError::Syntax(text.to_string());
    let mut total_ms: u128 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_end == 0 {
            return Err(syntax());
        }
        let number = &rest[..num_end];
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_end];
        rest = &rest[unit_end..];
        let unit_ms: u128 = match unit {
            "" => return Err(DurationError::MissingUnit(text.to_string())),
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            _ => return Err(syntax()),
        };
        let (int, frac) = number.split_once('.').unwrap_or((number, ""));
        if (int.is_empty() && frac.is_empty()) || frac.contains('.') {
            return Err(syntax());
        }
        if int.len() > 12 {
            return Err(DurationError::Overflow(text.to_string()));
        }
        // Digits beyond the nanosecond are below any precision kept.
        let frac = &frac[..frac.len().min(9)];
        let int: u128 = if int.is_empty() {
            0
        } else {
            int.parse().map_err(|_| syntax())?
        };
        let frac_value: u128 = if frac.is_empty() {
            0
        } else {
            frac.parse().map_err(|_| syntax())?
        };
        let frac_ms = frac_value * unit_ms / 10u128.pow(frac.len() as u32);
        total_ms = int
            .checked_mul(unit_ms)
            .and_then(|v| v.checked_add(frac_ms))
            .and_then(|v| v.checked_add(total_ms))
            .ok_or_else(|| DurationError::Overflow(text.to_string()))?;
    }
    let ms = u64::try_from(total_ms).map_err(|_| DurationError::Overflow(text.to_string()))?;
    Ok(Duration::from_millis(ms))
}

/// Formats a duration the shortest way (`1h30m`, `15m`, `90s` → `1m30s`).
pub fn format_duration(d: Duration) -> String {
    let mut ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in [("h", 3_600_000u128), ("m", 60_000), ("s", 1_000), ("ms", 1)] {
        if ms >= size {
            out.push_str(&format!("{}{unit}", ms / size));
            ms %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn parses_the_forms_the_api_uses() {
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("4h"), Ok(Duration::from_secs(4 * 3600)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("15m0s"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("1d").is_err(), "CEL duration() has no days");
    }

    #[test]
    fn refuses_bare_numbers_and_junk() {
        assert_eq!(
            parse_duration("15"),
            Err(DurationError::MissingUnit("15".into()))
        );
        for bad in ["", "m", "15x", "1h-5m", "h1", "1..5m", "99999999999999999h"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn formats_shortest() {
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_duration(Duration::from_secs(900)), "15m");
        assert_eq!(format_duration(Duration::from_secs(0)), "0s");
    }

    proptest! {
        #[test]
        fn arbitrary_strings_never_panic(s in "\\PC{0,20}") {
            let _ = parse_duration(&s);
        }

        #[test]
        fn parse_format_round_trips(ms in 0u64..10_000_000_000) {
            let d = Duration::from_millis(ms);
            prop_assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }
    }
}

//! Percentages as the API writes them: `10%`, `0%`, `12.5%`, or a bare number (`10`).

use std::borrow::Cow;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PercentError {
    #[error("{0:?} is not a percentage: expected e.g. \"10%\" or \"12.5%\"")]
    Syntax(String),
    #[error("{0:?} is negative: percentages here must be 0% or more")]
    Negative(String),
}

/// Parses `10%`, `12.5%` or `10` into the number of percent (10.0, 12.5).
pub fn parse_percent(text: &str) -> Result<f64, PercentError> {
    let s = text.trim();
    let number = s.strip_suffix('%').unwrap_or(s).trim_end();
    let valid = !number.is_empty()
        && number
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '-' || c == '+')
        && number.len() <= crate::limits::QUANTITY as usize;
    let value: f64 = if valid {
        number
            .parse()
            .map_err(|_| PercentError::Syntax(text.into()))?
    } else {
        f64::NAN
    };
    if !value.is_finite() {
        return Err(PercentError::Syntax(text.into()));
    }
    if value < 0.0 {
        return Err(PercentError::Negative(text.into()));
    }
    Ok(value)
}

/// A percentage field that accepts a string (`"10%"`) or a number (`10`) and writes back
/// exactly what the user wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Percentage {
    Number(f64),
    Text(String),
}

impl Percentage {
    /// The number of percent.
    pub fn percent(&self) -> Result<f64, PercentError> {
        match self {
            Percentage::Number(n) if !n.is_finite() => Err(PercentError::Syntax(n.to_string())),
            Percentage::Number(n) if *n < 0.0 => Err(PercentError::Negative(n.to_string())),
            Percentage::Number(n) => Ok(*n),
            Percentage::Text(s) => parse_percent(s),
        }
    }

    /// The value as a fraction (10% → 0.1).
    pub fn fraction(&self) -> Result<f64, PercentError> {
        self.percent().map(|p| p / 100.0)
    }
}

impl JsonSchema for Percentage {
    fn schema_name() -> Cow<'static, str> {
        "Percentage".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        crate::schema::int_or_string(
            crate::rules::PERCENT,
            0,
            "A percentage of 0 or more: 10%, 12.5%, or a number of percent (10).",
        )
    }

    fn inline_schema() -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn parses_percentages() {
        assert_eq!(parse_percent("10%"), Ok(10.0));
        assert_eq!(parse_percent("0%"), Ok(0.0));
        assert_eq!(parse_percent("12.5%"), Ok(12.5));
        assert_eq!(parse_percent("50"), Ok(50.0));
        assert!(matches!(
            parse_percent("-5%"),
            Err(PercentError::Negative(_))
        ));
        for bad in [
            "",
            "%",
            "ten%",
            "10%%",
            "1e999",
            "NaN",
            "inf%",
            "10 percent",
        ] {
            assert!(parse_percent(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn keeps_the_users_spelling() {
        let p: Percentage = serde_json::from_str("\"10%\"").unwrap();
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"10%\"");
        assert_eq!(p.fraction(), Ok(0.1));
        let n: Percentage = serde_json::from_str("20").unwrap();
        assert_eq!(n.percent(), Ok(20.0));
    }

    proptest! {
        #[test]
        fn arbitrary_strings_never_panic(s in "\\PC{0,16}") {
            let _ = parse_percent(&s);
        }

        #[test]
        fn format_parse_round_trips(tenths in 0u32..100_000) {
            let value = f64::from(tenths) / 10.0;
            prop_assert_eq!(parse_percent(&format!("{value}%")), Ok(value));
        }
    }
}

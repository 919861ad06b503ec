//! Kubernetes resource quantities (`20m`, `1`, `0`, `50Mi`, `2G`, `1.5`, `1e3`) with exact
//! arithmetic.
//!
//! A quantity is held as an integer number of nano-units (10⁻⁹), the finest precision the
//! API server keeps; finer fractions round up, as the API server does. `i128` holds every
//! quantity up to ~1.7 × 10²⁹, far beyond any CPU or memory figure, and anything larger is
//! refused with an error rather than wrapped.

use std::fmt;
use std::str::FromStr;

const NANO: i128 = 1_000_000_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error("empty quantity")]
    Empty,
    #[error(
        "{0:?} is not a quantity: expected a number with an optional suffix (m, k, M, G, Ki, Mi, Gi, e3, ...)"
    )]
    Syntax(String),
    #[error("{0:?} is too large")]
    Overflow(String),
}

/// An exact, non-negative or negative Kubernetes quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Quantity {
    nanos: i128,
}

/// The suffix family a quantity was written in, used to format results the way a person
/// who writes `Mi` expects to read them back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Binary,
    Decimal,
}

impl Quantity {
    pub const ZERO: Quantity = Quantity { nanos: 0 };

    pub fn from_nanos(nanos: i128) -> Self {
        Quantity { nanos }
    }

    pub fn nanos(self) -> i128 {
        self.nanos
    }

    /// Milli-units, rounded up (how Kubernetes reports CPU).
    pub fn millis_ceil(self) -> i128 {
        self.nanos.div_euclid(1_000_000) + i128::from(self.nanos.rem_euclid(1_000_000) != 0)
    }

    /// The value as a float (cores for CPU, bytes for memory). Lossy only beyond 2⁵³.
    pub fn as_f64(self) -> f64 {
        self.nanos as f64 / NANO as f64
    }

    /// The nearest quantity to a float, rounded up to the nano-unit; `None` for NaN,
    /// infinities and values out of range.
    pub fn from_f64(value: f64) -> Option<Self> {
        let nanos = (value * NANO as f64).ceil();
        (nanos.is_finite() && nanos.abs() < 1e37).then_some(Quantity {
            nanos: nanos as i128,
        })
    }

    pub fn checked_add(self, other: Self) -> Option<Self> {
        self.nanos.checked_add(other.nanos).map(Self::from_nanos)
    }

    pub fn checked_sub(self, other: Self) -> Option<Self> {
        self.nanos.checked_sub(other.nanos).map(Self::from_nanos)
    }

    pub fn is_zero(self) -> bool {
        self.nanos == 0
    }

    /// Formats in the canonical form of the given family (`1500m`, `2Gi`, `512M`).
    pub fn format(self, family: Format) -> String {
        let sign = if self.nanos < 0 { "-" } else { "" };
        let n = self.nanos.unsigned_abs();
        if n == 0 {
            return "0".into();
        }
        let nano = NANO as u128;
        if !n.is_multiple_of(nano) {
            // Fractions are always written with decimal suffixes, as the API server does.
            return if n.is_multiple_of(1_000_000) {
                format!("{sign}{}m", n / 1_000_000)
            } else if n.is_multiple_of(1_000) {
                format!("{sign}{}u", n / 1_000)
            } else {
                format!("{sign}{n}n")
            };
        }
        let units = n / nano;
        let (suffixes, base): (&[&str], u128) = match family {
            Format::Binary => (&["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"], 1024),
            Format::Decimal => (&["", "k", "M", "G", "T", "P", "E"], 1000),
        };
        let mut value = units;
        let mut i = 0;
        while i + 1 < suffixes.len() && value.is_multiple_of(base) {
            value /= base;
            i += 1;
        }
        format!("{sign}{value}{}", suffixes[i])
    }

    /// The family a quantity string uses (binary when it has a binary suffix).
    pub fn family_of(text: &str) -> Format {
        if text.trim_end().ends_with('i') {
            Format::Binary
        } else {
            Format::Decimal
        }
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format(Format::Decimal))
    }
}

impl FromStr for Quantity {
    type Err = QuantityError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse(text)
    }
}

/// Parses a quantity string.
pub fn parse(text: &str) -> Result<Quantity, QuantityError> {
    let s = text.trim();
    if s.is_empty() {
        return Err(QuantityError::Empty);
    }
    let syntax = || QuantityError::Syntax(text.to_string());
    let overflow = || QuantityError::Overflow(text.to_string());
    let (negative, body) = match s.as_bytes()[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let number_end = body
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(body.len());
    let (number, suffix) = body.split_at(number_end);
    let (int_part, frac_part) = match number.split_once('.') {
        Some((i, f)) => (i, f),
        None => (number, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(syntax());
    }
    if frac_part.contains('.') {
        return Err(syntax());
    }
    // The value is digits × 10^(exp10) × 2^(exp2).
    let mut digits: i128 = 0;
    let mut exp10: i32 = 0;
    for c in int_part.chars().chain(frac_part.chars()) {
        let d = i128::from(c.to_digit(10).ok_or_else(syntax)?);
        if digits > i128::MAX / 100 {
            // Further digits are below any precision we keep; count their magnitude only.
            exp10 += 1;
            continue;
        }
        digits = digits * 10 + d;
    }
    exp10 -= i32::try_from(frac_part.len()).map_err(|_| syntax())?;
    let (suffix_exp10, exp2) = match suffix {
        "" => (0, 0),
        "n" => (-9, 0),
        "u" => (-6, 0),
        "m" => (-3, 0),
        "k" => (3, 0),
        "M" => (6, 0),
        "G" => (9, 0),
        "T" => (12, 0),
        "P" => (15, 0),
        "E" => (18, 0),
        "Ki" => (0, 10),
        "Mi" => (0, 20),
        "Gi" => (0, 30),
        "Ti" => (0, 40),
        "Pi" => (0, 50),
        "Ei" => (0, 60),
        s if s.starts_with(['e', 'E']) && s.len() > 1 => {
            let exp = exponent(&s[1..]).ok_or_else(syntax)?;
            if exp > 100 {
                return Err(overflow());
            }
            // Below 10^-100 every value rounds up to one nano-unit (or is zero) anyway.
            (exp.max(-100), 0)
        }
        _ => return Err(syntax()),
    };
    exp10 += suffix_exp10 + 9; // to nano-units
    let mut nanos = digits;
    if exp2 > 0 {
        nanos = nanos.checked_mul(1i128 << exp2).ok_or_else(overflow)?;
    }
    if exp10 >= 0 {
        for _ in 0..exp10 {
            nanos = nanos.checked_mul(10).ok_or_else(overflow)?;
        }
    } else {
        let mut remainder = false;
        for _ in 0..(-exp10) {
            remainder |= nanos % 10 != 0;
            nanos /= 10;
            if nanos == 0 {
                break;
            }
        }
        if remainder || (nanos == 0 && digits != 0) {
            nanos += 1; // round up to the next nano-unit, as the API server does
        }
    }
    Ok(Quantity {
        nanos: if negative { -nanos } else { nanos },
    })
}

/// A decimal exponent (`5`, `+5`, `-12`), saturated far beyond any quantity's range so that
/// a long run of digits is "huge", not a syntax error.
fn exponent(text: &str) -> Option<i32> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let magnitude = digits.parse::<i32>().unwrap_or(i32::MAX).min(1_000_000);
    Some(if negative { -magnitude } else { magnitude })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn q(s: &str) -> Quantity {
        parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn parses_the_forms_the_api_uses() {
        assert_eq!(q("20m").nanos(), 20_000_000);
        assert_eq!(q("1").as_f64(), 1.0);
        assert_eq!(q("0"), Quantity::ZERO);
        assert_eq!(q("50Mi").as_f64(), 50.0 * 1024.0 * 1024.0);
        assert_eq!(q("2G").as_f64(), 2e9);
        assert_eq!(q("1.5").nanos(), 1_500_000_000);
        assert_eq!(q("1e3").as_f64(), 1000.0);
        assert_eq!(q("1E-3"), q("1m"));
        assert_eq!(q(".5"), q("500m"));
        assert_eq!(q("-2"), Quantity::from_nanos(-2 * NANO));
    }

    #[test]
    fn sub_nano_fractions_round_up() {
        assert_eq!(q("1e-10").nanos(), 1);
        assert_eq!(q("0.0000000011").nanos(), 2);
    }

    #[test]
    fn refuses_what_is_not_a_quantity() {
        for bad in [
            "", " ", "m", "1.2.3", "5 Mi", "12Q", "1e", "e3", "abc", "1Mii", "--1", "1e999",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn formats_canonically() {
        assert_eq!(q("1500m").format(Format::Decimal), "1500m");
        assert_eq!(q("2048Mi").format(Format::Binary), "2Gi");
        assert_eq!(q("2G").format(Format::Decimal), "2G");
        assert_eq!(q("1.5Gi").format(Format::Binary), "1536Mi");
    }

    #[test]
    fn arithmetic_is_exact() {
        assert_eq!(q("100m").checked_add(q("200m")), Some(q("300m")));
        assert_eq!(q("1Gi").checked_sub(q("512Mi")), Some(q("512Mi")));
        assert_eq!(q("999m").millis_ceil(), 999);
        assert_eq!(q("1n").millis_ceil(), 1);
    }

    proptest! {
        #[test]
        fn arbitrary_strings_never_panic(s in "\\PC{0,24}") {
            let _ = parse(&s);
        }

        #[test]
        fn quantity_like_strings_never_panic(s in "[-+]?[0-9]{0,30}(\\.[0-9]{0,30})?([numkMGTPE]|[KMGTPE]i|[eE][-+]?[0-9]{1,4})?") {
            let _ = parse(&s);
        }

        #[test]
        fn parse_format_round_trips(nanos in -(1i128 << 80)..(1i128 << 80), binary in any::<bool>()) {
            let value = Quantity::from_nanos(nanos);
            let family = if binary { Format::Binary } else { Format::Decimal };
            let text = value.format(family);
            prop_assert_eq!(parse(&text), Ok(value), "{}", text);
        }
    }
}

/// A quantity field as written: a string (`"50Mi"`) or a bare YAML number (`1`, `0`).
/// The user's spelling is kept on round trip; `quantity()` parses it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum QuantityValue {
    Number(serde_json::Number),
    Text(String),
}

impl QuantityValue {
    pub fn quantity(&self) -> Result<Quantity, QuantityError> {
        match self {
            QuantityValue::Number(n) => parse(&n.to_string()),
            QuantityValue::Text(s) => parse(s),
        }
    }
}

impl From<&str> for QuantityValue {
    fn from(s: &str) -> Self {
        QuantityValue::Text(s.to_string())
    }
}

impl schemars::JsonSchema for QuantityValue {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "QuantityValue".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        crate::schema::int_or_string(
            crate::rules::QUANTITY,
            0,
            "A Kubernetes quantity of 0 or more: 20m, 1, 50Mi, 2G.",
        )
    }

    fn inline_schema() -> bool {
        true
    }
}

//! The types whose JSON form is not their protobuf message's fields: Quantity and
//! IntOrString (a string or number), Time and MicroTime (RFC 3339), Duration (Go syntax),
//! raw JSON carried as bytes, and the JSON-schema unions of CRDs.

use serde_json::Value;

use super::schema::Schema;
use super::wire::{self, Reader, Wire, put_bytes, put_varint_field};

const QUANTITY: &str = "apimachinery.pkg.api.resource.Quantity";
const INT_OR_STRING: &str = "apimachinery.pkg.util.intstr.IntOrString";
const TIME: &str = "apimachinery.pkg.apis.meta.v1.Time";
const MICRO_TIME: &str = "apimachinery.pkg.apis.meta.v1.MicroTime";
const DURATION: &str = "apimachinery.pkg.apis.meta.v1.Duration";
const RAW: [&str; 3] = [
    "apimachinery.pkg.runtime.RawExtension",
    "apimachinery.pkg.apis.meta.v1.FieldsV1",
    "apiextensions_apiserver.pkg.apis.apiextensions.v1.Json",
];
const EXT: &str = "apiextensions_apiserver.pkg.apis.apiextensions.v1";
const PROPS: &str = "apiextensions_apiserver.pkg.apis.apiextensions.v1.JsonSchemaProps";

fn fields(b: &[u8]) -> Result<Vec<(u32, Wire<'_>)>, String> {
    Reader::new(b).collect()
}

fn string(w: Wire) -> Result<String, String> {
    match w {
        Wire::Bytes(b) => String::from_utf8(b.to_vec()).map_err(|_| "not UTF-8".to_string()),
        other => Err(format!("expected a string, got {other:?}")),
    }
}

fn int(w: Wire) -> i64 {
    match w {
        Wire::Varint(v) => v as i64,
        _ => 0,
    }
}

/// The JSON of a special `message`, or `None` when `message` is an ordinary one.
pub fn decode(schema: &Schema, message: &str, b: &[u8]) -> Option<Result<Value, String>> {
    let kind = message.strip_prefix(EXT).map(|s| s.trim_start_matches('.'));
    let decoded = match (message, kind) {
        (QUANTITY, _) => fields(b).and_then(|f| {
            f.into_iter()
                .find(|(t, _)| *t == 1)
                .map_or(Ok(String::new()), |(_, w)| string(w))
                .map(Value::String)
        }),
        (INT_OR_STRING, _) => fields(b).and_then(|f| {
            let (mut ty, mut n, mut s) = (0, 0, String::new());
            for (tag, w) in f {
                match tag {
                    1 => ty = int(w),
                    2 => n = int(w) as i32,
                    3 => s = string(w)?,
                    _ => {}
                }
            }
            Ok(if ty == 1 {
                Value::String(s)
            } else {
                Value::from(n)
            })
        }),
        (TIME | MICRO_TIME, _) => fields(b).map(|f| {
            let (mut secs, mut nanos) = (0, 0);
            for (tag, w) in f {
                match tag {
                    1 => secs = int(w),
                    2 => nanos = int(w) as i32,
                    _ => {}
                }
            }
            // The zero time is JSON null: the field is omitted.
            if secs == 0 && nanos == 0 {
                return Value::Null;
            }
            jiff::Timestamp::new(secs, nanos).map_or(Value::Null, |t| {
                Value::String(if message == TIME {
                    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
                } else {
                    t.strftime("%Y-%m-%dT%H:%M:%S.%6fZ").to_string()
                })
            })
        }),
        (DURATION, _) => fields(b).map(|f| {
            let ns = f
                .into_iter()
                .find(|(t, _)| *t == 1)
                .map_or(0, |(_, w)| int(w));
            Value::String(go_duration(ns))
        }),
        (m, _) if RAW.contains(&m) => {
            fields(b).and_then(|f| match f.into_iter().find(|(t, _)| *t == 1) {
                Some((_, Wire::Bytes(raw))) if !raw.is_empty() => {
                    if raw.starts_with(super::MAGIC) {
                        super::decode_envelope(raw)
                    } else {
                        serde_json::from_slice(raw).map_err(|e| format!("raw JSON in {m}: {e}"))
                    }
                }
                _ => Ok(Value::Null),
            })
        }
        // {schema | jSONSchemas}, {allows, schema}, {schema | property}: whichever is set.
        (_, Some("JsonSchemaPropsOrArray" | "JsonSchemaPropsOrStringArray")) => {
            fields(b).and_then(|f| {
                let mut list = vec![];
                for (tag, w) in f {
                    match (tag, w) {
                        (1, Wire::Bytes(s)) => return wire::decode(schema, PROPS, s),
                        (2, Wire::Bytes(s)) if message.ends_with("StringArray") => {
                            list.push(Value::String(string(Wire::Bytes(s))?))
                        }
                        (2, Wire::Bytes(s)) => list.push(wire::decode(schema, PROPS, s)?),
                        _ => {}
                    }
                }
                Ok(Value::Array(list))
            })
        }
        (_, Some("JsonSchemaPropsOrBool")) => fields(b).and_then(|f| {
            let mut allows = false;
            for (tag, w) in f {
                match (tag, w) {
                    (1, w) => allows = int(w) != 0,
                    (2, Wire::Bytes(s)) => return wire::decode(schema, PROPS, s),
                    _ => {}
                }
            }
            Ok(Value::Bool(allows))
        }),
        _ => return None,
    };
    Some(decoded)
}

/// The wire form of a special `message` from its JSON, or `None` for an ordinary one.
pub fn encode(schema: &Schema, message: &str, v: &Value) -> Option<Result<Vec<u8>, String>> {
    let kind = message.strip_prefix(EXT).map(|s| s.trim_start_matches('.'));
    let mut out = vec![];
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match (message, kind) {
        (QUANTITY, _) => put_bytes(&mut out, 1, text(v).as_bytes()),
        (INT_OR_STRING, _) => match v {
            Value::String(s) => {
                put_varint_field(&mut out, 1, 1);
                put_bytes(&mut out, 3, s.as_bytes());
            }
            other => {
                put_varint_field(&mut out, 1, 0);
                put_varint_field(&mut out, 2, other.as_i64().unwrap_or(0) as u64);
            }
        },
        (TIME | MICRO_TIME, _) => {
            let t = match text(v).parse::<jiff::Timestamp>() {
                Ok(t) => t,
                Err(e) => return Some(Err(format!("{v} is not an RFC 3339 time: {e}"))),
            };
            put_varint_field(&mut out, 1, t.as_second() as u64);
            if t.subsec_nanosecond() != 0 {
                put_varint_field(&mut out, 2, t.subsec_nanosecond() as u64);
            }
        }
        (DURATION, _) => match parse_go_duration(&text(v)) {
            Some(ns) => put_varint_field(&mut out, 1, ns as u64),
            None => return Some(Err(format!("{v} is not a duration"))),
        },
        (m, _) if RAW.contains(&m) => put_bytes(&mut out, 1, v.to_string().as_bytes()),
        (_, Some("JsonSchemaPropsOrArray" | "JsonSchemaPropsOrStringArray")) => match v {
            Value::Array(items) => {
                for item in items {
                    let b = match item {
                        Value::String(s) => Ok(s.clone().into_bytes()),
                        other => wire::encode(schema, PROPS, other),
                    };
                    match b {
                        Ok(b) => put_bytes(&mut out, 2, &b),
                        Err(e) => return Some(Err(e)),
                    }
                }
            }
            other => match wire::encode(schema, PROPS, other) {
                Ok(b) => put_bytes(&mut out, 1, &b),
                Err(e) => return Some(Err(e)),
            },
        },
        (_, Some("JsonSchemaPropsOrBool")) => match v {
            Value::Bool(b) => put_varint_field(&mut out, 1, u64::from(*b)),
            other => {
                put_varint_field(&mut out, 1, 1);
                match wire::encode(schema, PROPS, other) {
                    Ok(b) => put_bytes(&mut out, 2, &b),
                    Err(e) => return Some(Err(e)),
                }
            }
        },
        _ => return None,
    }
    Some(Ok(out))
}

/// Go's `time.Duration.String()`: `1h2m3.5s`, `1.5ms`, `0s`.
fn go_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let sign = if ns < 0 { "-" } else { "" };
    let ns = ns.unsigned_abs();
    let frac = |value: u64, unit: u64| {
        let whole = value / unit;
        let rest = value % unit;
        if rest == 0 {
            whole.to_string()
        } else {
            let digits = unit.to_string().len() - 1;
            let f = format!("{rest:0digits$}");
            format!("{whole}.{}", f.trim_end_matches('0'))
        }
    };
    if ns < 1_000 {
        return format!("{sign}{ns}ns");
    }
    if ns < 1_000_000 {
        return format!("{sign}{}µs", frac(ns, 1_000));
    }
    if ns < 1_000_000_000 {
        return format!("{sign}{}ms", frac(ns, 1_000_000));
    }
    let (h, rest) = (ns / 3_600_000_000_000, ns % 3_600_000_000_000);
    let (m, s) = (rest / 60_000_000_000, rest % 60_000_000_000);
    let mut out = sign.to_string();
    if h > 0 {
        out += &format!("{h}h");
    }
    if h > 0 || m > 0 {
        out += &format!("{m}m");
    }
    out + &format!("{}s", frac(s, 1_000_000_000))
}

/// Go duration syntax (`1h30m`, `1.5s`, `300ms`) → nanoseconds.
fn parse_go_duration(s: &str) -> Option<i64> {
    let (sign, mut rest) = match s.strip_prefix('-') {
        Some(r) => (-1.0, r),
        None => (1.0, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Some(0);
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let split = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let (number, tail) = rest.split_at(split);
        let number: f64 = number.parse().ok()?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let scale = match unit {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += number * scale;
        rest = tail;
    }
    Some((sign * total).round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_go_syntax() {
        for (ns, text) in [
            (0, "0s"),
            (1_500_000, "1.5ms"),
            (60_000_000_000, "1m0s"),
            (3_723_500_000_000, "1h2m3.5s"),
            (-2_000_000_000, "-2s"),
        ] {
            assert_eq!(go_duration(ns), text);
            assert_eq!(parse_go_duration(text), Some(ns), "{text}");
        }
        assert_eq!(parse_go_duration("1x"), None);
    }

    #[test]
    fn specials_round_trip() {
        let schema = Schema::builtin();
        for (message, v) in [
            (QUANTITY, Value::from("250m")),
            (INT_OR_STRING, Value::from(8080)),
            (INT_OR_STRING, Value::from("25%")),
            (TIME, Value::from("2026-11-29T10:00:00Z")),
            (MICRO_TIME, Value::from("2026-11-29T10:00:00.123456Z")),
            (RAW[0], serde_json::json!({"a": [1, "b"]})),
            (
                "apiextensions_apiserver.pkg.apis.apiextensions.v1.JsonSchemaPropsOrBool",
                Value::Bool(true),
            ),
            (
                "apiextensions_apiserver.pkg.apis.apiextensions.v1.JsonSchemaPropsOrBool",
                serde_json::json!({"type": "string", "maxLength": 5}),
            ),
        ] {
            let b = encode(schema, message, &v).unwrap().unwrap();
            assert_eq!(
                decode(schema, message, &b).unwrap().unwrap(),
                v,
                "{message}"
            );
        }
        assert_eq!(
            decode(schema, TIME, &[]).unwrap().unwrap(),
            Value::Null,
            "zero time"
        );
        assert!(decode(schema, "api.apps.v1.Deployment", &[]).is_none());
    }
}

//! The protobuf wire format, read and written against the schema: a message's fields to
//! and from the JSON object the store keeps.

use base64::Engine;
use serde_json::{Map, Value};

use super::schema::{Field, Label, Schema, Type};
use super::special;

/// One field as it appears on the wire.
#[derive(Debug, Clone, Copy)]
pub enum Wire<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    /// No field of the built-in types uses it; read so that it can be skipped.
    #[allow(dead_code)]
    Fixed32(u32),
}

/// The fields of a message, in wire order.
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self.buf.split_first().ok_or("truncated protobuf varint")?;
            self.buf = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("protobuf varint longer than 10 bytes".into())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.buf.len() < n {
            return Err(format!(
                "truncated protobuf field: {n} bytes wanted, {} left",
                self.buf.len()
            ));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<(u32, Wire<'a>), String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buf.is_empty() {
            return None;
        }
        let mut field = || {
            let key = self.varint()?;
            let tag = u32::try_from(key >> 3).map_err(|_| "protobuf tag out of range")?;
            let wire = match key & 7 {
                0 => Wire::Varint(self.varint()?),
                1 => Wire::Fixed64(u64::from_le_bytes(self.fixed()?)),
                2 => {
                    let len = usize::try_from(self.varint()?).map_err(|_| "length overflow")?;
                    Wire::Bytes(self.take(len)?)
                }
                5 => Wire::Fixed32(u32::from_le_bytes(self.fixed()?)),
                other => return Err(format!("unsupported protobuf wire type {other}")),
            };
            Ok((tag, wire))
        };
        let item = field();
        if item.is_err() {
            self.buf = &[];
        }
        Some(item)
    }
}

/// The JSON object of `message` encoded in `buf`.
pub fn decode(schema: &Schema, message: &str, buf: &[u8]) -> Result<Value, String> {
    let mut out = Map::new();
    decode_into(schema, message, buf, &mut out)?;
    Ok(Value::Object(out))
}

/// How deep messages may nest in a body: a real object nests a few dozen levels (CRD
/// schemas the most); a body nesting deeper is refused rather than overflowing the stack.
const MAX_DEPTH: usize = 100;

thread_local! {
    static DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// One level of message nesting, counted while it lives.
struct Nested;

impl Nested {
    fn enter(message: &str) -> Result<Nested, String> {
        DEPTH.with(|d| {
            if d.get() >= MAX_DEPTH {
                return Err(format!(
                    "{message}: messages nest more than {MAX_DEPTH} levels deep"
                ));
            }
            d.set(d.get() + 1);
            Ok(Nested)
        })
    }
}

impl Drop for Nested {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

fn decode_into(
    schema: &Schema,
    message: &str,
    buf: &[u8],
    out: &mut Map<String, Value>,
) -> Result<(), String> {
    let _level = Nested::enter(message)?;
    let fields = schema.fields(message);
    for item in Reader::new(buf) {
        let (tag, wire) = item?;
        // Fields newer than the schema are skipped, as protobuf readers do.
        let Some(field) = fields.iter().find(|f| f.tag == tag) else {
            continue;
        };
        let Some(name) = &field.json else {
            if let (Type::Message(inner), Wire::Bytes(b)) = (&field.ty, wire) {
                decode_into(schema, inner, b, out)?;
            }
            continue;
        };
        let at = || format!("{message}.{name}");
        match field.label {
            Label::Optional => {
                let v = value(schema, &field.ty, wire).map_err(|e| format!("{}: {e}", at()))?;
                let empty = v.is_null() || v.as_str() == Some("");
                if !empty {
                    out.insert(name.clone(), v);
                }
            }
            Label::Repeated => {
                let list = out
                    .entry(name.clone())
                    .or_insert_with(|| Value::Array(vec![]));
                let Value::Array(list) = list else { continue };
                match (wire, &field.ty) {
                    // Packed scalars: one length-delimited run of values.
                    (Wire::Bytes(b), Type::Int32 | Type::Int64 | Type::Bool | Type::Double) => {
                        let mut r = Reader::new(b);
                        while !r.buf.is_empty() {
                            let w = match field.ty {
                                Type::Double => Wire::Fixed64(u64::from_le_bytes(r.fixed()?)),
                                _ => Wire::Varint(r.varint()?),
                            };
                            list.push(value(schema, &field.ty, w)?);
                        }
                    }
                    _ => list.push(
                        value(schema, &field.ty, wire).map_err(|e| format!("{}: {e}", at()))?,
                    ),
                }
            }
            Label::Map => {
                let Wire::Bytes(entry) = wire else {
                    return Err(format!("{}: a map entry must be length-delimited", at()));
                };
                let (mut key, mut val) = (String::new(), Value::Null);
                for item in Reader::new(entry) {
                    match item? {
                        (1, Wire::Bytes(k)) => key = utf8(k)?,
                        (2, w) => val = value(schema, &field.ty, w)?,
                        _ => {}
                    }
                }
                if val.is_null() {
                    val = zero(&field.ty);
                }
                if let Value::Object(map) = out
                    .entry(name.clone())
                    .or_insert_with(|| Value::Object(Map::new()))
                {
                    map.insert(key, val);
                }
            }
        }
    }
    Ok(())
}

/// A map entry without a value holds the type's zero value.
fn zero(ty: &Type) -> Value {
    match ty {
        Type::String | Type::Bytes => Value::String(String::new()),
        Type::Bool => Value::Bool(false),
        Type::Int32 | Type::Int64 | Type::Double => Value::from(0),
        Type::Message(_) => Value::Object(Map::new()),
    }
}

fn utf8(b: &[u8]) -> Result<String, String> {
    String::from_utf8(b.to_vec()).map_err(|_| "a string field is not UTF-8".to_string())
}

fn value(schema: &Schema, ty: &Type, wire: Wire) -> Result<Value, String> {
    Ok(match (ty, wire) {
        (Type::String, Wire::Bytes(b)) => Value::String(utf8(b)?),
        (Type::Bytes, Wire::Bytes(b)) => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        (Type::Bool, Wire::Varint(v)) => Value::Bool(v != 0),
        // Negative int32s travel sign-extended to 64 bits.
        (Type::Int32, Wire::Varint(v)) => Value::from(v as i64 as i32),
        (Type::Int64, Wire::Varint(v)) => Value::from(v as i64),
        (Type::Double, Wire::Fixed64(v)) => {
            serde_json::Number::from_f64(f64::from_bits(v)).map_or(Value::Null, Value::Number)
        }
        (Type::Message(m), Wire::Bytes(b)) => match special::decode(schema, m, b) {
            Some(v) => v?,
            None => decode(schema, m, b)?,
        },
        (ty, wire) => return Err(format!("{ty:?} cannot be read from {wire:?}")),
    })
}

/// `obj` as `message` on the wire; JSON fields the message lacks are dropped.
pub fn encode(schema: &Schema, message: &str, obj: &Value) -> Result<Vec<u8>, String> {
    let mut out = vec![];
    let empty = Map::new();
    let obj = obj.as_object().unwrap_or(&empty);
    for field in schema.fields(message) {
        let Some(name) = &field.json else {
            // Inline: the embedded message reads its fields from the same object.
            if let Type::Message(inner) = &field.ty {
                let b = encode(schema, inner, &Value::Object(obj.clone()))?;
                put_bytes(&mut out, field.tag, &b);
            }
            continue;
        };
        let Some(v) = obj.get(name).filter(|v| !v.is_null()) else {
            continue;
        };
        let at = |e: String| format!("{name}: {e}");
        match (field.label, v) {
            (Label::Repeated, Value::Array(items)) => {
                for item in items {
                    put_value(schema, &mut out, field, item).map_err(at)?;
                }
            }
            (Label::Map, Value::Object(entries)) => {
                for (k, item) in entries {
                    let mut entry = vec![];
                    put_bytes(&mut entry, 1, k.as_bytes());
                    let value_field = Field {
                        tag: 2,
                        json: None,
                        label: Label::Optional,
                        ty: field.ty.clone(),
                    };
                    put_value(schema, &mut entry, &value_field, item).map_err(at)?;
                    put_bytes(&mut out, field.tag, &entry);
                }
            }
            (Label::Optional, v) => put_value(schema, &mut out, field, v).map_err(at)?,
            (_, other) => return Err(format!("{name}: expected a list or map, got {other}")),
        }
    }
    Ok(out)
}

fn put_value(schema: &Schema, out: &mut Vec<u8>, field: &Field, v: &Value) -> Result<(), String> {
    let tag = field.tag;
    match &field.ty {
        Type::String => match v {
            Value::String(s) => put_bytes(out, tag, s.as_bytes()),
            other => put_bytes(out, tag, other.to_string().as_bytes()),
        },
        Type::Bytes => {
            let b = base64::engine::general_purpose::STANDARD
                .decode(v.as_str().unwrap_or_default())
                .map_err(|e| format!("not base64: {e}"))?;
            put_bytes(out, tag, &b);
        }
        Type::Bool => put_varint_field(out, tag, u64::from(v.as_bool().unwrap_or(false))),
        Type::Int32 | Type::Int64 => {
            let n = v
                .as_i64()
                .or_else(|| v.as_f64().map(|f| f as i64))
                .ok_or_else(|| format!("expected an integer, got {v}"))?;
            put_varint_field(out, tag, n as u64);
        }
        Type::Double => {
            let f = v
                .as_f64()
                .ok_or_else(|| format!("expected a number, got {v}"))?;
            put_varint(out, u64::from(tag) << 3 | 1);
            out.extend_from_slice(&f.to_bits().to_le_bytes());
        }
        Type::Message(m) => {
            let b = match special::encode(schema, m, v) {
                Some(b) => b?,
                None => encode(schema, m, v)?,
            };
            put_bytes(out, tag, &b);
        }
    }
    Ok(())
}

pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub fn put_varint_field(out: &mut Vec<u8>, tag: u32, v: u64) {
    put_varint(out, u64::from(tag) << 3);
    put_varint(out, v);
}

pub fn put_bytes(out: &mut Vec<u8>, tag: u32, b: &[u8]) {
    put_varint(out, u64::from(tag) << 3 | 2);
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

//! Server-side printing (`Accept: ...;as=Table`), which kubectl uses for `get`: the
//! columns a real API server prints for the built-in kinds (`builtin`), a CRD's
//! `additionalPrinterColumns` (simple JSONPaths) for custom resources, NAME and AGE for
//! the rest. Columns of priority above 0 are what `kubectl get -o wide` adds.

mod builtin;
mod workloads;

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::clock::Clock;
use crate::registry::ResourceType;

/// A column: its definition and how a row's cell is made.
pub struct Column {
    pub name: String,
    pub ty: &'static str,
    pub priority: i64,
    pub description: String,
    pub cell: Cell,
}

pub enum Cell {
    /// A function of the object and the time now.
    Builtin(fn(&Value, Timestamp) -> Value),
    /// A CRD printer column: a JSONPath, shown as an age when the type is `date`.
    Path { path: String, date: bool },
}

impl Column {
    pub fn new(name: &str, ty: &'static str, cell: fn(&Value, Timestamp) -> Value) -> Self {
        Column {
            name: name.into(),
            ty,
            priority: 0,
            description: String::new(),
            cell: Cell::Builtin(cell),
        }
    }

    /// Shown only with `-o wide`.
    pub fn wide(mut self) -> Self {
        self.priority = 1;
        self
    }
}

pub fn table(rt: &ResourceType, items: &[Value], clock: &Clock, rv: &str) -> Value {
    let columns = columns(rt);
    let now = clock.now();
    let rows: Vec<Value> = items
        .iter()
        .map(|obj| {
            let cells: Vec<Value> = columns
                .iter()
                .map(|c| match &c.cell {
                    Cell::Builtin(f) => f(obj, now),
                    Cell::Path { path, date: true } => match cell(obj, path) {
                        Value::String(s) => json!(age_of(&s, now)),
                        other => other,
                    },
                    Cell::Path { path, .. } => cell(obj, path),
                })
                .collect();
            json!({"cells": cells, "object": obj})
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": rv},
        "columnDefinitions": columns.iter().map(|c| json!({
            "name": c.name, "type": c.ty, "format": if c.name == "Name" { "name" } else { "" },
            "description": c.description, "priority": c.priority
        })).collect::<Vec<_>>(),
        "rows": rows,
    })
}

fn columns(rt: &ResourceType) -> Vec<Column> {
    // Built-in kinds are those with a protobuf form; custom resources never have one.
    let builtin = super::protobuf::supports(&rt.api_version(), &rt.kind);
    if let Some(columns) = builtin.then(|| builtin::columns(&rt.kind)).flatten() {
        return columns;
    }
    let mut columns = vec![Column::new("Name", "string", |o, _| name(o))];
    if builtin || rt.columns.is_empty() {
        // Other built-in kinds, and a CRD without printer columns (which gets the default
        // one), print NAME and AGE.
        columns.push(Column::new("Age", "date", age));
        return columns;
    }
    for c in &rt.columns {
        let ty = match c.ty.as_str() {
            "integer" => "integer",
            "number" => "number",
            "boolean" => "boolean",
            "date" => "date",
            _ => "string",
        };
        columns.push(Column {
            name: c.name.clone(),
            ty,
            priority: c.priority,
            description: c.description.clone(),
            cell: Cell::Path {
                path: c.json_path.clone(),
                date: ty == "date",
            },
        });
    }
    columns
}

pub fn name(obj: &Value) -> Value {
    obj.pointer("/metadata/name").cloned().unwrap_or(json!(""))
}

pub fn age(obj: &Value, now: Timestamp) -> Value {
    json!(
        obj.pointer("/metadata/creationTimestamp")
            .and_then(Value::as_str)
            .map_or("<unknown>".into(), |t| age_of(t, now))
    )
}

/// The value at a printer column's JSONPath: dotted paths, array indices
/// (`.containers[0].cpu`), plus the one filter printer columns commonly use,
/// `.status.conditions[?(@.type=="Ready")].status`. Anything fancier shows as empty.
fn cell(obj: &Value, path: &str) -> Value {
    if let Some((list, rest)) = path.split_once("[?(@.") {
        let Some((filter, field)) = rest.split_once(")]") else {
            return json!("");
        };
        let Some((key, wanted)) = filter.split_once("==") else {
            return json!("");
        };
        let wanted = wanted.trim_matches(|c| c == '"' || c == '\'');
        let item = obj
            .pointer(&list.replace('.', "/"))
            .and_then(Value::as_array)
            .and_then(|items| {
                items
                    .iter()
                    .find(|i| i.get(key).and_then(Value::as_str) == Some(wanted))
            });
        return item.map(|i| cell(i, field)).unwrap_or(json!(""));
    }
    // Array indices (`.containers[0].cpu`) are JSON pointer segments; any other bracket
    // form is one this table does not evaluate.
    let path = path.replace('[', ".").replace(']', "");
    let pointer = path.replace('.', "/");
    if pointer
        .split('/')
        .any(|segment| segment.contains(['?', '*', '\'', '"']))
    {
        return json!("");
    }
    match obj.pointer(&pointer) {
        Some(Value::String(s)) => json!(s),
        Some(Value::Null) | None => json!(""),
        Some(other) => json!(other.to_string()),
    }
}

/// How long ago an RFC 3339 time was, as the API server prints ages.
pub fn age_of(time: &str, now: Timestamp) -> String {
    match time.parse::<Timestamp>() {
        Ok(t) => human_duration(now.as_second() - t.as_second()),
        Err(_) => "<unknown>".into(),
    }
}

/// apimachinery's `duration.HumanDuration`: `45s`, `3m20s`, `25m`, `5h12m`, `30h`, `4d3h`,
/// `200d`, `3y40d`.
pub fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".into();
    }
    let s = secs.max(0);
    let (m, h, d) = (s / 60, s / 3600, s / 86_400);
    let with = |big: i64, unit: &str, small: i64, small_unit: &str| {
        if small == 0 {
            format!("{big}{unit}")
        } else {
            format!("{big}{unit}{small}{small_unit}")
        }
    };
    match () {
        _ if s < 120 => format!("{s}s"),
        _ if m < 10 => with(m, "m", s % 60, "s"),
        _ if m < 180 => format!("{m}m"),
        _ if h < 8 => with(h, "h", m % 60, "m"),
        _ if h < 48 => format!("{h}h"),
        _ if h < 24 * 8 => with(d, "d", h % 24, "h"),
        _ if h < 24 * 365 * 2 => format!("{d}d"),
        _ if h < 24 * 365 * 8 => with(d / 365, "y", d % 365, "d"),
        _ => format!("{}y", d / 365),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printer_column_paths() {
        let obj = json!({"spec": {"model": {"mode": "balanced"}}, "status": {"managed": 5,
            "conditions": [{"type": "Other", "status": "False"}, {"type": "Ready", "status": "True"}]}});
        assert_eq!(cell(&obj, ".spec.model.mode"), json!("balanced"));
        assert_eq!(cell(&obj, ".status.managed"), json!("5"));
        assert_eq!(
            cell(&obj, ".status.conditions[?(@.type==\"Ready\")].status"),
            json!("True")
        );
        assert_eq!(
            cell(&obj, ".status.conditions[?(@.type==\"Gone\")].status"),
            json!("")
        );
        assert_eq!(cell(&obj, ".missing"), json!(""));
        let with_list = json!({"status": {"containers": [{"cpu": "250m"}, {"cpu": "1"}]}});
        assert_eq!(cell(&with_list, ".status.containers[0].cpu"), json!("250m"));
        assert_eq!(cell(&with_list, ".status.containers[1].cpu"), json!("1"));
        assert_eq!(cell(&with_list, ".status.containers[2].cpu"), json!(""));
        assert_eq!(cell(&with_list, ".status.containers[*].cpu"), json!(""));
    }

    #[test]
    fn ages_as_the_api_server_prints_them() {
        for (secs, text) in [
            (45, "45s"),
            (200, "3m20s"),
            (180, "3m"),
            (1500, "25m"),
            (5 * 3600 + 12 * 60, "5h12m"),
            (30 * 3600, "30h"),
            (4 * 86_400 + 3 * 3600, "4d3h"),
            (200 * 86_400, "200d"),
            (3 * 365 * 86_400 + 40 * 86_400, "3y40d"),
        ] {
            assert_eq!(human_duration(secs), text, "{secs}");
        }
    }
}

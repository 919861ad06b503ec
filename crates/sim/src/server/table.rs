//! Server-side printing (`Accept: ...;as=Table`), which kubectl uses for `get`: a NAME
//! column, the CRD's printer columns (simple `.a.b.c` JSONPaths), a few columns for common
//! built-in kinds, and AGE.

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::clock::Clock;
use crate::registry::ResourceType;

pub fn table(rt: &ResourceType, items: &[Value], clock: &Clock, rv: &str) -> Value {
    let mut columns: Vec<(String, String)> = vec![("Name".into(), "string".into())];
    let mut paths: Vec<String> = vec![];
    for (name, ty, path) in custom_columns(rt) {
        if name == "Age" {
            continue;
        }
        columns.push((name, ty));
        paths.push(path);
    }
    columns.push(("Age".into(), "date".into()));
    let now = clock.now();
    let rows: Vec<Value> = items
        .iter()
        .map(|obj| {
            let mut cells = vec![obj.pointer("/metadata/name").cloned().unwrap_or(json!(""))];
            for path in &paths {
                cells.push(cell(obj, path));
            }
            cells.push(json!(age(obj, now)));
            json!({"cells": cells, "object": obj})
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": rv},
        "columnDefinitions": columns.iter().map(|(name, ty)| json!({
            "name": name, "type": ty, "format": if name == "Name" { "name" } else { "" },
            "description": "", "priority": 0
        })).collect::<Vec<_>>(),
        "rows": rows,
    })
}

fn custom_columns(rt: &ResourceType) -> Vec<(String, String, String)> {
    if !rt.columns.is_empty() {
        return rt.columns.clone();
    }
    let col = |n: &str, p: &str| (n.to_string(), "string".to_string(), p.to_string());
    match rt.kind.as_str() {
        "Pod" => vec![
            col("Status", ".status.phase"),
            col("Node", ".spec.nodeName"),
        ],
        "Deployment" | "StatefulSet" | "ReplicaSet" => {
            vec![
                col("Replicas", ".spec.replicas"),
                col("Ready", ".status.readyReplicas"),
            ]
        }
        "Node" => vec![col("Status", ".status.phase")],
        _ => vec![],
    }
}

fn cell(obj: &Value, path: &str) -> Value {
    // Dotted paths, plus the one filter printer columns commonly use:
    // `.status.conditions[?(@.type=="Ready")].status`. Anything fancier shows as empty.
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
    if path.contains('[') {
        return json!("");
    }
    let pointer = path.replace('.', "/");
    match obj.pointer(&pointer) {
        Some(Value::String(s)) => json!(s),
        Some(Value::Null) | None => json!(""),
        Some(other) => json!(other.to_string()),
    }
}

fn age(obj: &Value, now: Timestamp) -> String {
    let Some(created) = obj
        .pointer("/metadata/creationTimestamp")
        .and_then(Value::as_str)
    else {
        return "<unknown>".into();
    };
    let Ok(created) = created.parse::<Timestamp>() else {
        return "<unknown>".into();
    };
    let secs = (now.as_second() - created.as_second()).max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
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
    }
}

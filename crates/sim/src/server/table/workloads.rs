//! The columns of the workload kinds and pods, as the API server prints them.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::builtin::{int, list, or_none, pairs, text};
use super::{Column, age, age_of, name};

fn containers(obj: &Value, field: &str) -> Value {
    let names: Vec<&str> = list(obj, "/spec/template/spec/containers")
        .iter()
        .map(|c| c[field].as_str().unwrap_or(""))
        .collect();
    or_none(names.join(","))
}

/// `matchLabels` and `matchExpressions` as a label-selector string.
fn selector(obj: &Value, _: Timestamp) -> Value {
    let mut parts = pairs(obj, "/spec/selector/matchLabels");
    let sel = obj.pointer("/spec/selector").unwrap_or(&Value::Null);
    for e in sel["matchExpressions"].as_array().into_iter().flatten() {
        let key = e["key"].as_str().unwrap_or("");
        let values: Vec<&str> = list(e, "/values")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        parts.push(match e["operator"].as_str().unwrap_or("") {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "DoesNotExist" => format!("!{key}"),
            _ => key.to_string(),
        });
    }
    or_none(parts.join(","))
}

fn wide_workload_columns() -> [Column; 3] {
    [
        Column::new("Containers", "string", |o, _| containers(o, "name")).wide(),
        Column::new("Images", "string", |o, _| containers(o, "image")).wide(),
        Column::new("Selector", "string", selector).wide(),
    ]
}

/// The pod's STATUS: its phase, or the reason a container is waiting or ended, or
/// Terminating.
fn pod_status(pod: &Value, _: Timestamp) -> Value {
    let mut reason = match text(pod, "/status/reason") {
        "" => text(pod, "/status/phase").to_string(),
        r => r.to_string(),
    };
    for c in list(pod, "/status/containerStatuses").iter().rev() {
        let waiting = c.pointer("/state/waiting/reason").and_then(Value::as_str);
        let ended = c
            .pointer("/state/terminated/reason")
            .and_then(Value::as_str);
        if let Some(r) = waiting.or(ended).filter(|r| !r.is_empty()) {
            reason = r.to_string();
        }
    }
    if pod.pointer("/metadata/deletionTimestamp").is_some() {
        reason = "Terminating".into();
    }
    json!(reason)
}

fn pod_restarts(pod: &Value, now: Timestamp) -> Value {
    let statuses = list(pod, "/status/containerStatuses");
    let restarts: i64 = statuses.iter().map(|c| int(c, "/restartCount")).sum();
    let last = statuses
        .iter()
        .filter_map(|c| c.pointer("/lastState/terminated/finishedAt")?.as_str())
        .max();
    match last {
        Some(t) if restarts > 0 => json!(format!("{restarts} ({} ago)", age_of(t, now))),
        _ => json!(restarts.to_string()),
    }
}

pub fn pods() -> Vec<Column> {
    vec![
        Column::new("Name", "string", |o, _| name(o)),
        Column::new("Ready", "string", |o, _| {
            let ready = list(o, "/status/containerStatuses")
                .iter()
                .filter(|c| c["ready"].as_bool() == Some(true))
                .count();
            json!(format!("{ready}/{}", list(o, "/spec/containers").len()))
        }),
        Column::new("Status", "string", pod_status),
        Column::new("Restarts", "string", pod_restarts),
        Column::new("Age", "string", age),
        Column::new("IP", "string", |o, _| {
            or_none(text(o, "/status/podIP").into())
        })
        .wide(),
        Column::new("Node", "string", |o, _| {
            or_none(text(o, "/spec/nodeName").into())
        })
        .wide(),
        Column::new("Nominated Node", "string", |o, _| {
            or_none(text(o, "/status/nominatedNodeName").into())
        })
        .wide(),
        Column::new("Readiness Gates", "string", |o, _| {
            or_none(if list(o, "/spec/readinessGates").is_empty() {
                String::new()
            } else {
                format!("0/{}", list(o, "/spec/readinessGates").len())
            })
        })
        .wide(),
    ]
}

fn spec_replicas(o: &Value) -> i64 {
    o.pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1)
}

pub fn deployments() -> Vec<Column> {
    let mut c = vec![
        Column::new("Name", "string", |o, _| name(o)),
        Column::new("Ready", "string", |o, _| {
            json!(format!(
                "{}/{}",
                int(o, "/status/readyReplicas"),
                spec_replicas(o)
            ))
        }),
        Column::new("Up-to-date", "integer", |o, _| {
            json!(int(o, "/status/updatedReplicas"))
        }),
        Column::new("Available", "integer", |o, _| {
            json!(int(o, "/status/availableReplicas"))
        }),
        Column::new("Age", "string", age),
    ];
    c.extend(wide_workload_columns());
    c
}

pub fn replicasets() -> Vec<Column> {
    let mut c = vec![
        Column::new("Name", "string", |o, _| name(o)),
        Column::new("Desired", "integer", |o, _| json!(spec_replicas(o))),
        Column::new("Current", "integer", |o, _| {
            json!(int(o, "/status/replicas"))
        }),
        Column::new("Ready", "integer", |o, _| {
            json!(int(o, "/status/readyReplicas"))
        }),
        Column::new("Age", "string", age),
    ];
    c.extend(wide_workload_columns());
    c
}

pub fn statefulsets() -> Vec<Column> {
    let [containers, images, _] = wide_workload_columns();
    vec![
        Column::new("Name", "string", |o, _| name(o)),
        Column::new("Ready", "string", |o, _| {
            json!(format!(
                "{}/{}",
                int(o, "/status/readyReplicas"),
                spec_replicas(o)
            ))
        }),
        Column::new("Age", "string", age),
        containers,
        images,
    ]
}

pub fn daemonsets() -> Vec<Column> {
    let mut c = vec![
        Column::new("Name", "string", |o, _| name(o)),
        Column::new("Desired", "integer", |o, _| {
            json!(int(o, "/status/desiredNumberScheduled"))
        }),
        Column::new("Current", "integer", |o, _| {
            json!(int(o, "/status/currentNumberScheduled"))
        }),
        Column::new("Ready", "integer", |o, _| {
            json!(int(o, "/status/numberReady"))
        }),
        Column::new("Up-to-date", "integer", |o, _| {
            json!(int(o, "/status/updatedNumberScheduled"))
        }),
        Column::new("Available", "integer", |o, _| {
            json!(int(o, "/status/numberAvailable"))
        }),
        Column::new("Node Selector", "string", |o, _| {
            or_none(pairs(o, "/spec/template/spec/nodeSelector").join(","))
        }),
        Column::new("Age", "string", age),
    ];
    c.extend(wide_workload_columns());
    c
}

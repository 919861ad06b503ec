//! The columns a real API server prints for the built-in kinds (kube-apiserver's
//! `pkg/printers/internalversion`), with the same names, order, priorities and cell
//! formats, for what the simulated objects hold.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::workloads::{daemonsets, deployments, pods, replicasets, statefulsets};
use super::{Column, age, age_of, name};

pub fn text<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    obj.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

pub fn int(obj: &Value, pointer: &str) -> i64 {
    obj.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

pub fn list<'a>(obj: &'a Value, pointer: &str) -> &'a [Value] {
    obj.pointer(pointer)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The `key=value` pairs of the string map at `pointer` (labels, selectors).
pub fn pairs(obj: &Value, pointer: &str) -> Vec<String> {
    obj.pointer(pointer)
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
        .collect()
}

pub fn or_none(s: String) -> Value {
    json!(if s.is_empty() { "<none>".into() } else { s })
}

/// An IntOrString (`minAvailable: 1`, `maxUnavailable: 25%`) as text, `N/A` when unset.
fn int_or_string(obj: &Value, pointer: &str) -> Value {
    match obj.pointer(pointer) {
        Some(Value::String(s)) => json!(s),
        Some(Value::Number(n)) => json!(n.to_string()),
        _ => json!("N/A"),
    }
}

fn created_at(obj: &Value, _: Timestamp) -> Value {
    json!(text(obj, "/metadata/creationTimestamp"))
}

fn node_status(o: &Value, _: Timestamp) -> Value {
    let ready = list(o, "/status/conditions")
        .iter()
        .find(|c| c["type"] == "Ready")
        .map(|c| {
            if c["status"] == "True" {
                "Ready"
            } else {
                "NotReady"
            }
        });
    let mut status = ready.unwrap_or("Unknown").to_string();
    if o.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
        status += ",SchedulingDisabled";
    }
    json!(status)
}

fn node_roles(o: &Value, _: Timestamp) -> Value {
    let mut roles: Vec<String> = o
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|labels| {
            labels
                .iter()
                .filter_map(|(k, v)| match k.strip_prefix("node-role.kubernetes.io/") {
                    Some(role) if !role.is_empty() => Some(role.to_string()),
                    _ if k == "kubernetes.io/role" => v.as_str().map(String::from),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    roles.sort();
    or_none(roles.join(","))
}

fn node_address(o: &Value, kind: &str) -> Value {
    let address = list(o, "/status/addresses")
        .iter()
        .find(|a| a["type"] == kind)
        .and_then(|a| a["address"].as_str())
        .unwrap_or("");
    or_none(address.into())
}

fn unknown(s: &str) -> Value {
    json!(if s.is_empty() { "<unknown>" } else { s })
}

fn nodes() -> Vec<Column> {
    vec![
        Column::new("Name", "string", |o, _| name(o)),
        Column::new("Status", "string", node_status),
        Column::new("Roles", "string", node_roles),
        Column::new("Age", "string", age),
        Column::new("Version", "string", |o, _| {
            json!(text(o, "/status/nodeInfo/kubeletVersion"))
        }),
        Column::new("Internal-IP", "string", |o, _| {
            node_address(o, "InternalIP")
        })
        .wide(),
        Column::new("External-IP", "string", |o, _| {
            node_address(o, "ExternalIP")
        })
        .wide(),
        Column::new("OS-Image", "string", |o, _| {
            unknown(text(o, "/status/nodeInfo/osImage"))
        })
        .wide(),
        Column::new("Kernel-Version", "string", |o, _| {
            unknown(text(o, "/status/nodeInfo/kernelVersion"))
        })
        .wide(),
        Column::new("Container-Runtime", "string", |o, _| {
            unknown(text(o, "/status/nodeInfo/containerRuntimeVersion"))
        })
        .wide(),
    ]
}

fn service_ports(o: &Value, _: Timestamp) -> Value {
    let ports: Vec<String> = list(o, "/spec/ports")
        .iter()
        .map(|p| {
            let protocol = p["protocol"].as_str().unwrap_or("TCP");
            match p["nodePort"].as_i64() {
                Some(node) => format!("{}:{node}/{protocol}", p["port"]),
                None => format!("{}/{protocol}", p["port"]),
            }
        })
        .collect();
    or_none(ports.join(","))
}

fn external_ip(o: &Value, _: Timestamp) -> Value {
    let external: Vec<&str> = list(o, "/spec/externalIPs")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    if text(o, "/spec/type") == "LoadBalancer" {
        let ingress: Vec<&str> = list(o, "/status/loadBalancer/ingress")
            .iter()
            .filter_map(|i| i["ip"].as_str().or(i["hostname"].as_str()))
            .chain(external.iter().copied())
            .collect();
        return json!(if ingress.is_empty() {
            "<pending>".into()
        } else {
            ingress.join(",")
        });
    }
    if text(o, "/spec/type") == "ExternalName" {
        return json!(text(o, "/spec/externalName"));
    }
    or_none(external.join(","))
}

fn services() -> Vec<Column> {
    vec![
        Column::new("Name", "string", |o, _| name(o)),
        Column::new("Type", "string", |o, _| {
            json!(match text(o, "/spec/type") {
                "" => "ClusterIP",
                t => t,
            })
        }),
        Column::new("Cluster-IP", "string", |o, _| {
            or_none(text(o, "/spec/clusterIP").into())
        }),
        Column::new("External-IP", "string", external_ip),
        Column::new("Port(s)", "string", service_ports),
        Column::new("Age", "string", age),
        Column::new("Selector", "string", |o, _| {
            or_none(pairs(o, "/spec/selector").join(","))
        })
        .wide(),
    ]
}

fn entries(o: &Value, fields: &[&str]) -> i64 {
    fields
        .iter()
        .filter_map(|f| o.get(*f).and_then(Value::as_object))
        .map(|m| m.len() as i64)
        .sum()
}

/// LAST SEEN, and FIRST SEEN: the event's timestamps, falling back as the server does.
fn event_first_seen(o: &Value, now: Timestamp) -> Value {
    match text(o, "/firstTimestamp") {
        "" => json!(age_or_unknown(text(o, "/eventTime"), now)),
        t => json!(age_of(t, now)),
    }
}

fn age_or_unknown(t: &str, now: Timestamp) -> String {
    if t.is_empty() {
        "<unknown>".into()
    } else {
        age_of(t, now)
    }
}

fn event_last_seen(o: &Value, now: Timestamp) -> Value {
    if let Some(t) = o
        .pointer("/series/lastObservedTime")
        .and_then(Value::as_str)
    {
        return json!(age_of(t, now));
    }
    match text(o, "/lastTimestamp") {
        "" => event_first_seen(o, now),
        t => json!(age_of(t, now)),
    }
}

fn events() -> Vec<Column> {
    vec![
        Column::new("Last Seen", "string", event_last_seen),
        Column::new("Type", "string", |o, _| json!(text(o, "/type"))),
        Column::new("Reason", "string", |o, _| json!(text(o, "/reason"))),
        Column::new("Object", "string", |o, _| {
            json!(format!(
                "{}/{}",
                text(o, "/involvedObject/kind").to_lowercase(),
                text(o, "/involvedObject/name")
            ))
        }),
        Column::new("Subobject", "string", |o, _| {
            json!(text(o, "/involvedObject/fieldPath"))
        })
        .wide(),
        Column::new("Source", "string", |o, _| {
            let (component, host) = (text(o, "/source/component"), text(o, "/source/host"));
            json!(if host.is_empty() {
                component.to_string()
            } else {
                format!("{component}, {host}")
            })
        })
        .wide(),
        Column::new("Message", "string", |o, _| {
            json!(text(o, "/message").trim())
        }),
        Column::new("First Seen", "string", event_first_seen).wide(),
        Column::new("Count", "integer", |o, _| {
            json!(
                o.pointer("/series/count")
                    .and_then(Value::as_i64)
                    .unwrap_or(int(o, "/count").max(1))
            )
        })
        .wide(),
        Column::new("Name", "string", |o, _| name(o)).wide(),
    ]
}

/// `cpu: 45%/80%` for each metric of an HPA (at most three, then `+ N more...`).
fn hpa_targets(o: &Value, _: Timestamp) -> Value {
    let specs = list(o, "/spec/metrics");
    if specs.is_empty() {
        return json!("<none>");
    }
    let current = list(o, "/status/currentMetrics");
    let mut shown: Vec<String> = vec![];
    for (i, m) in specs.iter().enumerate().take(3) {
        let key = match m["type"].as_str().unwrap_or("") {
            "Resource" => "resource",
            "ContainerResource" => "containerResource",
            "Pods" => "pods",
            "Object" => "object",
            _ => "external",
        };
        let target = &m[key]["target"];
        let now = current.get(i).map(|c| &c[key]["current"]);
        let label = m[key]["name"]
            .as_str()
            .or(m[key].pointer("/metric/name").and_then(Value::as_str))
            .unwrap_or("");
        let (cur, want) = match target["averageUtilization"].as_i64() {
            Some(u) => (
                now.and_then(|c| c["averageUtilization"].as_i64())
                    .map_or("<unknown>".into(), |c| format!("{c}%")),
                format!("{u}%"),
            ),
            None => {
                let field = if target["averageValue"].is_null() {
                    "value"
                } else {
                    "averageValue"
                };
                (
                    now.and_then(|c| c[field].as_str())
                        .unwrap_or("<unknown>")
                        .to_string(),
                    target[field].as_str().unwrap_or("").to_string(),
                )
            }
        };
        shown.push(format!("{label}: {cur}/{want}"));
    }
    let mut out = shown.join(", ");
    if specs.len() > 3 {
        out += &format!(" + {} more...", specs.len() - 3);
    }
    json!(out)
}

fn hpas() -> Vec<Column> {
    vec![
        Column::new("Name", "string", |o, _| name(o)),
        Column::new("Reference", "string", |o, _| {
            json!(format!(
                "{}/{}",
                text(o, "/spec/scaleTargetRef/kind"),
                text(o, "/spec/scaleTargetRef/name")
            ))
        }),
        Column::new("Targets", "string", hpa_targets),
        Column::new("MinPods", "string", |o, _| {
            json!(
                o.pointer("/spec/minReplicas")
                    .map_or("<unset>".into(), |m| m.to_string())
            )
        }),
        Column::new("MaxPods", "integer", |o, _| {
            json!(int(o, "/spec/maxReplicas"))
        }),
        Column::new("Replicas", "integer", |o, _| {
            json!(int(o, "/status/currentReplicas"))
        }),
        Column::new("Age", "string", age),
    ]
}

fn access_modes(o: &Value, _: Timestamp) -> Value {
    let modes: Vec<&str> = list(o, "/status/accessModes")
        .iter()
        .filter_map(|m| match m.as_str()? {
            "ReadWriteOnce" => Some("RWO"),
            "ReadOnlyMany" => Some("ROX"),
            "ReadWriteMany" => Some("RWX"),
            "ReadWriteOncePod" => Some("RWOP"),
            _ => None,
        })
        .collect();
    json!(modes.join(","))
}

fn binding_subjects(o: &Value, kind: &str) -> Value {
    let names: Vec<String> = list(o, "/subjects")
        .iter()
        .filter(|s| s["kind"] == kind)
        .map(|s| match kind {
            "ServiceAccount" => format!("{}/{}", text(s, "/namespace"), text(s, "/name")),
            _ => text(s, "/name").to_string(),
        })
        .collect();
    json!(names.join(", "))
}

/// The columns of built-in kind `kind`, or `None` for kinds printed by name and age.
pub fn columns(kind: &str) -> Option<Vec<Column>> {
    let name_col = || Column::new("Name", "string", |o, _| name(o));
    let age_col = || Column::new("Age", "string", age);
    Some(match kind {
        "Pod" => pods(),
        "Deployment" => deployments(),
        "ReplicaSet" => replicasets(),
        "StatefulSet" => statefulsets(),
        "DaemonSet" => daemonsets(),
        "Node" => nodes(),
        "Service" => services(),
        "Event" => events(),
        "HorizontalPodAutoscaler" => hpas(),
        "Namespace" => vec![
            name_col(),
            Column::new("Status", "string", |o, _| {
                json!(match text(o, "/status/phase") {
                    "" => "Active",
                    p => p,
                })
            }),
            age_col(),
        ],
        "ConfigMap" => vec![
            name_col(),
            Column::new("Data", "integer", |o, _| {
                json!(entries(o, &["data", "binaryData"]))
            }),
            age_col(),
        ],
        "Secret" => vec![
            name_col(),
            Column::new("Type", "string", |o, _| json!(text(o, "/type"))),
            Column::new("Data", "integer", |o, _| json!(entries(o, &["data"]))),
            age_col(),
        ],
        "ServiceAccount" => vec![
            name_col(),
            Column::new("Secrets", "integer", |o, _| {
                json!(list(o, "/secrets").len())
            }),
            age_col(),
        ],
        "PersistentVolumeClaim" => vec![
            name_col(),
            Column::new("Status", "string", |o, _| json!(text(o, "/status/phase"))),
            Column::new("Volume", "string", |o, _| {
                json!(text(o, "/spec/volumeName"))
            }),
            Column::new("Capacity", "string", |o, _| {
                json!(text(o, "/status/capacity/storage"))
            }),
            Column::new("Access Modes", "string", access_modes),
            Column::new("StorageClass", "string", |o, _| {
                or_none(text(o, "/spec/storageClassName").into())
            }),
            Column::new("VolumeAttributesClass", "string", |o, _| {
                json!(match text(o, "/spec/volumeAttributesClassName") {
                    "" => "<unset>",
                    c => c,
                })
            }),
            age_col(),
            Column::new("VolumeMode", "string", |o, _| {
                json!(text(o, "/spec/volumeMode"))
            })
            .wide(),
        ],
        "PodDisruptionBudget" => vec![
            name_col(),
            Column::new("Min Available", "string", |o, _| {
                int_or_string(o, "/spec/minAvailable")
            }),
            Column::new("Max Unavailable", "string", |o, _| {
                int_or_string(o, "/spec/maxUnavailable")
            }),
            Column::new("Allowed Disruptions", "integer", |o, _| {
                json!(int(o, "/status/disruptionsAllowed"))
            }),
            age_col(),
        ],
        "Lease" => vec![
            name_col(),
            Column::new("Holder", "string", |o, _| {
                json!(text(o, "/spec/holderIdentity"))
            }),
            age_col(),
        ],
        "CustomResourceDefinition" | "ClusterRole" | "Role" => {
            vec![name_col(), Column::new("Created At", "date", created_at)]
        }
        "RoleBinding" | "ClusterRoleBinding" => vec![
            name_col(),
            Column::new("Role", "string", |o, _| {
                json!(format!(
                    "{}/{}",
                    text(o, "/roleRef/kind"),
                    text(o, "/roleRef/name")
                ))
            }),
            age_col(),
            Column::new("Users", "string", |o, _| binding_subjects(o, "User")).wide(),
            Column::new("Groups", "string", |o, _| binding_subjects(o, "Group")).wide(),
            Column::new("ServiceAccounts", "string", |o, _| {
                binding_subjects(o, "ServiceAccount")
            })
            .wide(),
        ],
        "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration" => vec![
            name_col(),
            Column::new("Webhooks", "integer", |o, _| {
                json!(list(o, "/webhooks").len())
            }),
            age_col(),
        ],
        _ => return None,
    })
}

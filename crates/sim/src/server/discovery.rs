//! Discovery: `/version`, `/api`, `/apis` and the resource list of each group/version, so
//! kubectl and kube-rs find every resource, its verbs, short names and subresources.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::{Sim, json_response};

pub fn serve(sim: &Arc<Sim>, path: &str) -> Option<Response> {
    let store = sim.store();
    let body = match path {
        "/version" => json!({
            "major": "1", "minor": "33", "gitVersion": "v1.33.0-prescale-sim",
            "gitCommit": "", "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z",
            "goVersion": "none", "compiler": "rustc", "platform": "linux/amd64"
        }),
        "/api" => json!({
            "kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]
        }),
        "/apis" => {
            let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for t in store.types().filter(|t| !t.group.is_empty()) {
                let versions = groups.entry(t.group.clone()).or_default();
                if !versions.contains(&t.version) {
                    versions.push(t.version.clone());
                }
            }
            let groups: Vec<Value> = groups
                .into_iter()
                .map(|(name, versions)| {
                    let vs: Vec<Value> = versions
                        .iter()
                        .map(|v| json!({"groupVersion": format!("{name}/{v}"), "version": v}))
                        .collect();
                    json!({"name": name, "versions": vs, "preferredVersion": vs[0]})
                })
                .collect();
            json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
        }
        _ => {
            let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
            let (group, version) = match segs.as_slice() {
                ["api", v] => ("", *v),
                ["apis", g, v] => (*g, *v),
                ["apis", g] => {
                    let versions: Vec<String> = store
                        .types()
                        .filter(|t| t.group == *g)
                        .map(|t| t.version.clone())
                        .collect::<std::collections::BTreeSet<_>>()
                        .into_iter()
                        .collect();
                    if versions.is_empty() {
                        return None;
                    }
                    let vs: Vec<Value> = versions
                        .iter()
                        .map(|v| json!({"groupVersion": format!("{g}/{v}"), "version": v}))
                        .collect();
                    return Some(json_response(
                        StatusCode::OK,
                        &json!({"kind": "APIGroup", "apiVersion": "v1", "name": g, "versions": vs, "preferredVersion": vs[0]}),
                    ));
                }
                _ => return None,
            };
            let mut resources = vec![];
            for t in store
                .types()
                .filter(|t| t.group == group && t.version == version)
            {
                let verbs = if t.group == "metrics.k8s.io" {
                    json!(["get", "list"])
                } else {
                    json!([
                        "create",
                        "delete",
                        "deletecollection",
                        "get",
                        "list",
                        "patch",
                        "update",
                        "watch"
                    ])
                };
                let mut resource = json!({
                    "name": t.plural, "singularName": t.singular, "namespaced": t.namespaced,
                    "kind": t.kind, "verbs": verbs, "shortNames": t.short_names,
                });
                if !t.categories.is_empty() {
                    resource["categories"] = json!(t.categories);
                }
                resources.push(resource);
                let mut subs: Vec<(&str, &str, Value)> = vec![];
                if t.status {
                    subs.push(("status", t.kind.as_str(), json!(["get", "patch", "update"])));
                }
                if t.scale.is_some() {
                    subs.push(("scale", "Scale", json!(["get", "patch", "update"])));
                }
                for extra in &t.extra_subresources {
                    let (kind, verbs) = match *extra {
                        "eviction" => ("Eviction", json!(["create"])),
                        _ => (t.kind.as_str(), json!(["get", "patch", "update"])),
                    };
                    subs.push((extra, kind, verbs));
                }
                for (sub, kind, verbs) in subs {
                    resources.push(json!({
                        "name": format!("{}/{sub}", t.plural), "singularName": "", "namespaced": t.namespaced,
                        "kind": kind, "verbs": verbs,
                    }));
                }
            }
            if resources.is_empty() {
                return None;
            }
            let gv = if group.is_empty() {
                version.to_string()
            } else {
                format!("{group}/{version}")
            };
            json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources})
        }
    };
    Some(json_response(StatusCode::OK, &body))
}

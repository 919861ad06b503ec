//! The webhook configurations prescale registers, as pure data: one
//! MutatingWebhookConfiguration (pods, CREATE; the workloads' `scale` subresource,
//! UPDATE, for every kind of the `workload::Kind` table) and one ValidatingWebhookConfiguration
//! (AIScaleTargets and ClusterAIScaleTemplates, CREATE and UPDATE). `prescale install`
//! emits them with a Service reference; `prescale operator --webhook-url` applies them
//! with a URL. The rules every webhook follows are here once: `failurePolicy: Ignore`
//! (a missing operator never blocks the cluster), `timeoutSeconds: 3`, `sideEffects:
//! None`, and a namespace selector that leaves out `kube-system`, `kube-node-lease` and
//! the operator's own namespace.

use serde_json::{Value, json};

use super::{MUTATE_PODS_PATH, MUTATE_SCALE_PATH, VALIDATE_PATH};
use crate::workload::Kind;

/// Seconds the API server waits for an answer before applying the failure policy.
pub const TIMEOUT_SECONDS: i32 = 3;
pub const FAILURE_POLICY: &str = "Ignore";
/// Namespaces never sent to the webhooks (besides the operator's own).
pub const EXCLUDED_NAMESPACES: &[&str] = &["kube-system", "kube-node-lease"];
pub const POD_WEBHOOK: &str = "pods.prescale.thoras.ai";
pub const SCALE_WEBHOOK: &str = "scale.prescale.thoras.ai";
pub const VALIDATE_WEBHOOK: &str = "validate.prescale.thoras.ai";

/// Where the API server reaches the webhooks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A Service in the cluster (`prescale install`), port 443.
    Service { namespace: String, name: String },
    /// A URL such as `https://127.0.0.1:9443` (an operator running outside the cluster).
    Url(String),
}

/// The name of both configurations of the install in `namespace` (cluster-scoped, so it
/// carries the namespace, as the ClusterRole does).
pub fn configuration_name(namespace: &str) -> String {
    crate::install::cluster_rbac_name(namespace)
}

fn client_config(endpoint: &Endpoint, path: &str, ca_bundle: Option<&str>) -> Value {
    let mut c = match endpoint {
        Endpoint::Service { namespace, name } => json!({
            "service": {"namespace": namespace, "name": name, "path": path, "port": 443}
        }),
        Endpoint::Url(base) => json!({"url": format!("{}{path}", base.trim_end_matches('/'))}),
    };
    if let Some(pem) = ca_bundle {
        use base64::Engine;
        c["caBundle"] = json!(base64::engine::general_purpose::STANDARD.encode(pem));
    }
    c
}

/// Which namespaces the webhooks see: every namespace but the excluded ones, or only
/// `watched` (an operator started with `--watch-namespaces`), never the excluded ones.
pub fn namespace_selector(operator_namespace: &str, watched: Option<&[String]>) -> Value {
    let mut excluded: Vec<&str> = EXCLUDED_NAMESPACES.to_vec();
    excluded.push(operator_namespace);
    match watched {
        None => json!({"matchExpressions": [{
            "key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": excluded,
        }]}),
        Some(watched) => {
            let included: Vec<&str> = watched
                .iter()
                .map(String::as_str)
                .filter(|n| !excluded.contains(n))
                .collect();
            json!({"matchExpressions": [{
                "key": "kubernetes.io/metadata.name", "operator": "In", "values": included,
            }]})
        }
    }
}

/// Where and for whom: the endpoint, the operator's namespace and the namespaces it
/// watches (`None`: all).
#[derive(Debug, Clone, Copy)]
pub struct Registration<'a> {
    pub endpoint: &'a Endpoint,
    pub namespace: &'a str,
    pub watched: Option<&'a [String]>,
}

fn webhook(
    name: &str,
    r: Registration<'_>,
    path: &str,
    rules: Value,
    ca_bundle: Option<&str>,
) -> Value {
    json!({
        "name": name,
        "clientConfig": client_config(r.endpoint, path, ca_bundle),
        "rules": rules,
        "failurePolicy": FAILURE_POLICY,
        "timeoutSeconds": TIMEOUT_SECONDS,
        "sideEffects": "None",
        "admissionReviewVersions": ["v1"],
        "matchPolicy": "Equivalent",
        "namespaceSelector": namespace_selector(r.namespace, r.watched),
    })
}

/// The `*/scale` rules: UPDATE of each workload kind's `scale` subresource (a rule for
/// Argo's group matches nothing until its CRD is installed).
fn scale_rules() -> Value {
    let rules: Vec<Value> = Kind::all()
        .iter()
        .map(|k| {
            json!({"operations": ["UPDATE"], "apiGroups": [k.group], "apiVersions": ["*"],
                   "resources": [k.scale_subresource()], "scope": "Namespaced"})
        })
        .collect();
    Value::Array(rules)
}

/// The MutatingWebhookConfiguration (pods, and workloads' `scale` subresource).
pub fn mutating(r: Registration<'_>, ca_bundle: Option<&str>, labels: &Value) -> Value {
    let mut pods = webhook(
        POD_WEBHOOK,
        r,
        MUTATE_PODS_PATH,
        json!([{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                "resources": ["pods"], "scope": "Namespaced"}]),
        ca_bundle,
    );
    let mut scale = webhook(
        SCALE_WEBHOOK,
        r,
        MUTATE_SCALE_PATH,
        scale_rules(),
        ca_bundle,
    );
    for hook in [&mut pods, &mut scale] {
        hook["reinvocationPolicy"] = json!("Never");
    }
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": configuration_name(r.namespace), "labels": labels},
        "webhooks": [pods, scale],
    })
}

/// The ValidatingWebhookConfiguration (thoras.ai objects).
pub fn validating(r: Registration<'_>, ca_bundle: Option<&str>, labels: &Value) -> Value {
    let hook = webhook(
        VALIDATE_WEBHOOK,
        r,
        VALIDATE_PATH,
        json!([{"operations": ["CREATE", "UPDATE"], "apiGroups": [prescale_api::GROUP],
                "apiVersions": [prescale_api::VERSION],
                "resources": ["aiscaletargets", "clusteraiscaletemplates"], "scope": "*"}]),
        ca_bundle,
    );
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": configuration_name(r.namespace), "labels": labels},
        "webhooks": [hook],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_webhook_fails_open_quickly_and_skips_system_namespaces() {
        let ep = Endpoint::Url("https://127.0.0.1:9443/".into());
        let r = Registration {
            endpoint: &ep,
            namespace: "prescale-system",
            watched: None,
        };
        let (m, v) = (
            mutating(r, Some("PEM"), &json!({})),
            validating(r, None, &json!({})),
        );
        let hooks = m["webhooks"]
            .as_array()
            .unwrap()
            .iter()
            .chain(v["webhooks"].as_array().unwrap());
        assert_eq!(hooks.clone().count(), 3);
        for hook in hooks {
            assert_eq!(hook["failurePolicy"], "Ignore");
            assert_eq!(hook["timeoutSeconds"], 3);
            assert_eq!(hook["sideEffects"], "None");
            assert_eq!(
                hook["namespaceSelector"]["matchExpressions"][0]["values"],
                json!(["kube-system", "kube-node-lease", "prescale-system"])
            );
            assert!(
                hook["clientConfig"]["url"]
                    .as_str()
                    .unwrap()
                    .starts_with("https://127.0.0.1:9443/"),
                "{hook}"
            );
        }
        let m = mutating(r, Some("PEM"), &json!({}));
        assert_eq!(m["webhooks"][0]["clientConfig"]["caBundle"], "UEVN");
        let watched = ["shop".to_string(), "kube-system".to_string()];
        let scoped = Registration {
            watched: Some(&watched),
            ..r
        };
        assert_eq!(
            mutating(scoped, None, &json!({}))["webhooks"][0]["namespaceSelector"],
            json!({"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["shop"]}]}),
            "a scoped operator sees only its namespaces, never the excluded ones"
        );
    }

    #[test]
    fn install_form_names_the_service() {
        let ep = Endpoint::Service {
            namespace: "ops".into(),
            name: "prescale-operator".into(),
        };
        let v = validating(
            Registration {
                endpoint: &ep,
                namespace: "ops",
                watched: None,
            },
            None,
            &json!({}),
        );
        assert_eq!(
            v["webhooks"][0]["clientConfig"],
            json!({"service": {"namespace": "ops", "name": "prescale-operator", "path": VALIDATE_PATH, "port": 443}})
        );
        let m = mutating(
            Registration {
                endpoint: &ep,
                namespace: "ops",
                watched: None,
            },
            None,
            &json!({}),
        );
        let scale = &m["webhooks"][1];
        assert_eq!(scale["name"], SCALE_WEBHOOK);
        assert_eq!(scale["clientConfig"]["service"]["path"], MUTATE_SCALE_PATH);
        assert_eq!(
            scale["rules"][0],
            json!({"operations": ["UPDATE"], "apiGroups": ["apps"], "apiVersions": ["*"],
                   "resources": ["deployments/scale"], "scope": "Namespaced"})
        );
        let resources: Vec<&str> = scale["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["resources"][0].as_str().unwrap())
            .collect();
        assert_eq!(
            resources,
            ["deployments/scale", "statefulsets/scale", "rollouts/scale"]
        );
        assert_eq!(v["metadata"]["name"], "prescale-operator-ops");
    }
}

//! Admission webhooks, called for real: on a create, update (including `*/scale` and other
//! subresources their rules name) or delete, every matching webhook of every
//! MutatingWebhookConfiguration is called first (its JSON patches applied in turn), then
//! every matching ValidatingWebhookConfiguration. Calls are AdmissionReview v1 over HTTPS to
//! `clientConfig.url`, trusting only `clientConfig.caBundle`; `timeoutSeconds` (default
//! 10) bounds each call and `failurePolicy` (default Fail) decides what an unreachable or
//! broken webhook means. `clientConfig.service` cannot be reached here (there is no
//! cluster network) and counts as a failed call.

use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

use super::Sim;
use crate::error::ApiError;
use crate::registry::ResourceType;
use crate::selector::{LabelSelector, selector_string};

/// One request as admission sees it.
pub struct Review<'a> {
    pub operation: &'static str,
    pub rt: &'a ResourceType,
    pub sub: Option<&'a str>,
    pub namespace: &'a str,
    pub name: &'a str,
    /// The object to be stored (for a scale update, the Scale); none for a delete.
    pub object: Option<Value>,
    pub old: Option<Value>,
    /// The GroupVersionKind of `object` when it is not the resource's own (Scale).
    pub kind: Option<(&'a str, &'a str, &'a str)>,
}

fn matches_list(list: &Value, value: &str) -> bool {
    list.as_array()
        .is_some_and(|l| l.iter().any(|v| v == "*" || v == value))
}

/// Whether a rule's `resources` entry covers `plural` with subresource `sub`.
fn resource_matches(pattern: &str, plural: &str, sub: Option<&str>) -> bool {
    let (p_res, p_sub) = pattern.split_once('/').unwrap_or((pattern, ""));
    let res_ok = p_res == "*" || p_res == plural;
    let sub_ok = match sub {
        None => p_sub.is_empty(),
        Some(s) => p_sub == "*" || p_sub == s,
    };
    res_ok && sub_ok
}

fn rule_matches(rule: &Value, r: &Review) -> bool {
    let scope_ok = match rule["scope"].as_str().unwrap_or("*") {
        "Namespaced" => r.rt.namespaced,
        "Cluster" => !r.rt.namespaced,
        _ => true,
    };
    scope_ok
        && matches_list(&rule["operations"], r.operation)
        && matches_list(&rule["apiGroups"], &r.rt.group)
        && matches_list(&rule["apiVersions"], &r.rt.version)
        && rule["resources"].as_array().is_some_and(|l| {
            l.iter()
                .filter_map(Value::as_str)
                .any(|p| resource_matches(p, &r.rt.plural, r.sub))
        })
}

fn selector_matches(selector: &Value, labelled: Option<&Value>) -> bool {
    if selector.is_null() {
        return true;
    }
    let Ok(parsed) = LabelSelector::parse(&selector_string(Some(selector))) else {
        return false;
    };
    labelled.is_some_and(|o| parsed.matches(o))
}

/// Runs the webhooks for `r`; returns the object as mutating webhooks left it.
pub async fn admit(sim: &Sim, mut r: Review<'_>) -> Result<Option<Value>, ApiError> {
    let (mutating, validating, namespace) = {
        let store = sim.store();
        let key = |plural: &str| {
            (
                "admissionregistration.k8s.io".to_string(),
                plural.to_string(),
            )
        };
        let mut mutating = store.list(&key("mutatingwebhookconfigurations"), None);
        let mut validating = store.list(&key("validatingwebhookconfigurations"), None);
        // The real API server orders configurations by name.
        mutating.sort_by_key(|c| c["metadata"]["name"].as_str().map(String::from));
        validating.sort_by_key(|c| c["metadata"]["name"].as_str().map(String::from));
        let namespace = (!r.namespace.is_empty())
            .then(|| {
                store
                    .get(&("".into(), "namespaces".into()), "", r.namespace)
                    .ok()
            })
            .flatten();
        (mutating, validating, namespace)
    };
    if mutating.is_empty() && validating.is_empty() {
        return Ok(r.object);
    }
    for (configs, mutate) in [(&mutating, true), (&validating, false)] {
        for hook in configs
            .iter()
            .flat_map(|c| c["webhooks"].as_array().cloned().unwrap_or_default())
        {
            let applies = hook["rules"]
                .as_array()
                .is_some_and(|rules| rules.iter().any(|rule| rule_matches(rule, &r)))
                && (!r.rt.namespaced
                    || selector_matches(&hook["namespaceSelector"], namespace.as_ref()))
                && selector_matches(
                    &hook["objectSelector"],
                    r.object.as_ref().or(r.old.as_ref()),
                );
            if !applies {
                continue;
            }
            let name = hook["name"].as_str().unwrap_or_default().to_string();
            let fail_closed = hook["failurePolicy"].as_str() != Some("Ignore");
            match call(&hook, &r).await {
                Ok(response) => {
                    if response["allowed"] != true {
                        let message = response
                            .pointer("/status/message")
                            .and_then(Value::as_str)
                            .unwrap_or("without explanation");
                        return Err(ApiError {
                            code: response
                                .pointer("/status/code")
                                .and_then(Value::as_u64)
                                .map_or(403, |c| c as u16),
                            reason: "Forbidden",
                            message: format!(
                                "admission webhook {name:?} denied the request: {message}"
                            ),
                            name: r.name.to_string(),
                            kind: r.rt.kind.clone(),
                        });
                    }
                    if mutate
                        && let (Some(patch), Some(obj)) = (
                            response.get("patch").filter(|p| !p.is_null()),
                            r.object.as_mut(),
                        )
                    {
                        apply_json_patch(obj, patch).map_err(|e| {
                            ApiError::internal(&format!(
                                "webhook {name:?} returned a bad patch: {e}"
                            ))
                        })?;
                    }
                }
                Err(e) if fail_closed => {
                    return Err(ApiError::internal(&format!(
                        "Internal error occurred: failed calling webhook {name:?}: {e}"
                    )));
                }
                Err(e) => {
                    tracing::warn!(webhook = %name, error = %e, "webhook failed; failurePolicy Ignore")
                }
            }
        }
    }
    Ok(r.object)
}

/// Applies a webhook's `patch`: bytes, which the API server (Go's JSON) reads from a
/// base64 string or from an array of numbers (what kube-rs writes).
fn apply_json_patch(obj: &mut Value, patch: &Value) -> Result<(), String> {
    let bytes = match patch {
        Value::String(b64) => base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| e.to_string())?,
        Value::Array(numbers) => numbers
            .iter()
            .map(|n| n.as_u64().and_then(|n| u8::try_from(n).ok()))
            .collect::<Option<Vec<u8>>>()
            .ok_or("an array patch holds a value that is not a byte")?,
        other => return Err(format!("a patch must be base64 or bytes, not {other}")),
    };
    let patch: json_patch::Patch = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    json_patch::patch(obj, &patch).map_err(|e| e.to_string())
}

/// One AdmissionReview round trip; the `response` object on success.
async fn call(hook: &Value, r: &Review<'_>) -> Result<Value, String> {
    let url = hook
        .pointer("/clientConfig/url")
        .and_then(Value::as_str)
        .ok_or(
            "clientConfig.service cannot be reached in the simulated cluster; use clientConfig.url",
        )?;
    if !url.starts_with("https://") {
        return Err(format!("{url}: webhook URLs must use https"));
    }
    let timeout = Duration::from_secs(hook["timeoutSeconds"].as_u64().unwrap_or(10).clamp(1, 30));
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut client = reqwest::Client::builder()
        .timeout(timeout)
        .tls_built_in_root_certs(false);
    if let Some(bundle) = hook
        .pointer("/clientConfig/caBundle")
        .and_then(Value::as_str)
    {
        let pem = base64::engine::general_purpose::STANDARD
            .decode(bundle)
            .map_err(|e| format!("clientConfig.caBundle is not base64: {e}"))?;
        for cert in reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("clientConfig.caBundle is not PEM: {e}"))?
        {
            client = client.add_root_certificate(cert);
        }
    }
    let client = client.build().map_err(|e| e.to_string())?;
    let uid = crate::store::random_suffix() + &crate::store::random_suffix();
    let (group, version, kind) = r.kind.unwrap_or((&r.rt.group, &r.rt.version, &r.rt.kind));
    let review = json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": uid,
            "kind": {"group": group, "version": version, "kind": kind},
            "resource": {"group": r.rt.group, "version": r.rt.version, "resource": r.rt.plural},
            "subResource": r.sub,
            "requestKind": {"group": group, "version": version, "kind": kind},
            "requestResource": {"group": r.rt.group, "version": r.rt.version, "resource": r.rt.plural},
            "name": r.name, "namespace": r.namespace, "operation": r.operation,
            "userInfo": {"username": "system:admin", "groups": ["system:masters"]},
            "object": r.object, "oldObject": r.old, "dryRun": false,
        }
    });
    let answer: Value = client
        .post(url)
        .json(&review)
        .send()
        .await
        .map_err(|e| error_chain(&e))?
        .json()
        .await
        .map_err(|e| format!("the answer is not an AdmissionReview: {e}"))?;
    let response = answer["response"].clone();
    if response["uid"] != uid {
        return Err("the AdmissionReview answer does not carry the request's uid".into());
    }
    Ok(response)
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_patterns_follow_the_api_server() {
        assert!(resource_matches("pods", "pods", None));
        assert!(!resource_matches("pods", "pods", Some("status")));
        assert!(resource_matches("*/scale", "deployments", Some("scale")));
        assert!(!resource_matches("*", "deployments", Some("scale")));
        assert!(resource_matches("*/*", "deployments", Some("scale")));
        assert!(resource_matches(
            "deployments/*",
            "deployments",
            Some("status")
        ));
    }
}

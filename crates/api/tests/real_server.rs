//! The CRDs (thoras.ai and AIBrix's PodAutoscaler) and every fixture against the real API
//! server (../shared/realk8s): the CRDs are applied for real with server-side apply and
//! become Established; every seed example (and AIBrix example) is
//! accepted and every wrong manifest refused by the server with the fixture's field path in
//! the message; and the server and `prescale validate` agree on every fixture, except the
//! checks CEL cannot express (`rules::OFFLINE_ONLY`).

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{Fixture, at, fixtures, load};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::pinned_kind;
use prescale_api::manifest::{Verdict, check_document};
use prescale_api::rules::OFFLINE_ONLY;
use prescale_testkit::{TestNamespace, real_client, real_kubeconfig};
use serde_json::Value;

/// Applies every CRD for real (server-side apply, as `prescale crds | kubectl apply
/// --server-side -f -` does) and waits until the server serves them.
async fn apply_crds(client: &kube::Client) {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let params = PatchParams::apply("prescale").force();
    for crd in prescale_api::crd::crds() {
        let name = crd.metadata.name.clone().unwrap();
        api.patch(&name, &params, &Patch::Apply(&crd))
            .await
            .unwrap_or_else(|e| panic!("the API server refused CRD {name}: {e}"));
    }
    for crd in prescale_api::crd::crds() {
        let name = crd.metadata.name.clone().unwrap();
        let mut established = false;
        for _ in 0..600 {
            let current = api.get(&name).await.expect("read back the CRD");
            established = current
                .status
                .and_then(|s| s.conditions)
                .into_iter()
                .flatten()
                .any(|c| c.type_ == "Established" && c.status == "True");
            if established {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(established, "CRD {name} did not become Established in 60 s");
    }
}

#[tokio::test]
async fn crds_apply_for_real_and_become_established() {
    let Some(client) = real_client("crds_apply_for_real").await else {
        return;
    };
    apply_crds(&client).await;
    // Served: a list of each kind answers.
    for (group, version, kind, plural) in [
        ("thoras.ai", "v1", "AIScaleTarget", "aiscaletargets"),
        (
            "thoras.ai",
            "v1",
            "ClusterAIScaleTemplate",
            "clusteraiscaletemplates",
        ),
        (
            "autoscaling.aibrix.ai",
            "v1alpha1",
            "PodAutoscaler",
            "podautoscalers",
        ),
    ] {
        let (resource, _) = pinned_kind(&client, &GroupVersionKind::gvk(group, version, kind))
            .await
            .unwrap_or_else(|e| panic!("{kind} is not served: {e}"));
        assert_eq!(resource.plural, plural);
    }
}

/// What the API server said to a server-side dry-run create.
#[derive(Debug)]
enum ServerVerdict {
    Accepted,
    Refused(String),
    /// The server does not serve this apiVersion/kind at all (kubectl: "no matches for kind").
    NoSuchKind,
}

/// `kubectl create --dry-run=server` of one document (strict field validation, as kubectl).
async fn dry_run_create(client: &kube::Client, doc: &Value, namespace: &str) -> ServerVerdict {
    let api_version = doc["apiVersion"].as_str().unwrap_or_default();
    let kind = doc["kind"].as_str().unwrap_or_default();
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, kind);
    let (resource, caps) = match pinned_kind(client, &gvk).await {
        Ok(found) => found,
        Err(_) => return ServerVerdict::NoSuchKind,
    };
    let scope = match caps.scope {
        kube::discovery::Scope::Namespaced => format!("namespaces/{namespace}/"),
        kube::discovery::Scope::Cluster => String::new(),
    };
    let url = format!(
        "/apis/{group}/{version}/{scope}{}?dryRun=All&fieldValidation=Strict",
        resource.plural
    );
    let request = http::Request::post(url)
        .header("Content-Type", "application/json")
        .body(serde_json::to_vec(doc).unwrap())
        .unwrap();
    match client.request::<Value>(request).await {
        Ok(_) => ServerVerdict::Accepted,
        Err(kube::Error::Api(status)) => ServerVerdict::Refused(status.message.clone()),
        Err(e) => panic!("dry-run create of {kind} failed without an answer: {e}"),
    }
}

/// The fixture's placeholders filled in for this server: namespaced objects go to the test's
/// namespace (and a scaleTargetRef naming the fixture's own namespace follows it), cluster-
/// scoped ones get a unique name so they cannot collide with anyone's real objects.
fn filled_in(doc: &Value, namespace: &str) -> Value {
    let mut doc = doc.clone();
    let own = doc.pointer("/metadata/namespace").cloned();
    if let Some(own) = own {
        doc["metadata"]["namespace"] = namespace.into();
        if let Some(target) = doc.pointer_mut("/spec/scaleTargetRef/namespace")
            && *target == own
        {
            *target = namespace.into();
        }
    } else if doc["kind"] == "ClusterAIScaleTemplate"
        && let Some(name) = doc.pointer_mut("/metadata/name")
        && let Some(text) = name.as_str()
    {
        *name = format!("{text}-{namespace}").into();
    }
    doc
}

/// The checks behind `validate`'s problems when every one is a check the API server cannot
/// make (`rules::OFFLINE_ONLY`); `None` otherwise.
fn only_offline_checks(verdict: &Verdict) -> Option<Vec<&'static str>> {
    let Verdict::Invalid(errors) = verdict else {
        return None;
    };
    errors
        .iter()
        .map(|e| {
            OFFLINE_ONLY
                .iter()
                .find(|check| check.made(&e.path, &e.message))
                .map(|check| check.field)
        })
        .collect()
}

/// How the two answers compare for one document; `Err` says how they disagree.
fn compare(
    fixture: &Fixture,
    offline: &Verdict,
    server: &ServerVerdict,
    offline_only: &mut BTreeSet<&'static str>,
) -> Result<(), String> {
    let name = &fixture.name;
    match (&fixture.expect, offline, server) {
        (None, Verdict::Valid(_), ServerVerdict::Accepted) => Ok(()),
        (None, _, _) => Err(format!(
            "{name}: a seed example: validate says {offline:?}, the server {server:?}"
        )),
        (Some(expected), Verdict::Invalid(errors), ServerVerdict::Refused(message)) => {
            if !errors.iter().any(|e| at(&e.path, expected)) {
                return Err(format!(
                    "{name}: validate found no error at {expected}: {errors:?}"
                ));
            }
            if !message.contains(expected.as_str()) {
                return Err(format!(
                    "{name}: the server refused it without naming {expected}: {message}"
                ));
            }
            Ok(())
        }
        (Some(expected), Verdict::Invalid(_), ServerVerdict::NoSuchKind)
            if expected == "apiVersion" || expected == "kind" =>
        {
            Ok(())
        }
        (Some(_), Verdict::Invalid(_), ServerVerdict::Accepted) => {
            match only_offline_checks(offline) {
                Some(checks) => {
                    offline_only.extend(checks);
                    Ok(())
                }
                None => Err(format!(
                    "{name}: accepted by the server, refused by validate: {offline:?}"
                )),
            }
        }
        (Some(expected), _, _) => Err(format!(
            "{name}: expected a refusal at {expected}: validate says {offline:?}, the server {server:?}"
        )),
    }
}

#[tokio::test]
async fn the_server_and_validate_agree_on_every_fixture() {
    let test = "server_and_validate_agree";
    let Some(client) = real_client(test).await else {
        return;
    };
    let kubeconfig = real_kubeconfig(test).unwrap();
    apply_crds(&client).await;
    let ns = TestNamespace::create(&client, kubeconfig, "api-fixtures").await;

    let mut failures = vec![];
    let mut offline_only = BTreeSet::new();
    let mut checked = 0;
    for file in fixtures("valid").into_iter().chain(fixtures("invalid")) {
        let fixture = load(&file);
        // A wrong fixture is wrong in its first document; every document of an example counts.
        let docs = if fixture.expect.is_some() {
            &fixture.docs[..1]
        } else {
            &fixture.docs[..]
        };
        for doc in docs {
            let doc = filled_in(doc, &ns.name);
            let offline = check_document(&doc);
            let server = dry_run_create(&client, &doc, &ns.name).await;
            if let Err(disagreement) = compare(&fixture, &offline, &server, &mut offline_only) {
                failures.push(disagreement);
            }
            checked += 1;
        }
    }
    ns.delete(&client).await;
    eprintln!(
        "{checked} documents checked; refused by validate only (rules::OFFLINE_ONLY): {offline_only:?}"
    );
    assert!(
        failures.is_empty(),
        "the API server and `prescale validate` disagree:\n{}",
        failures.join("\n")
    );
    // The exceptions are real: each check CEL cannot express has a fixture that shows it.
    let listed: BTreeSet<&str> = OFFLINE_ONLY.iter().map(|c| c.field).collect();
    assert_eq!(offline_only, listed);
}

//! Admission webhooks called for real: an HTTPS webhook server with its own self-signed
//! certificate, trusted only through the configuration's caBundle. A mutating webhook
//! labels pods, a validating webhook on `deployments/scale` caps replicas, and broken or
//! slow webhooks fail closed or open as their failurePolicy says.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use prescale_sim::testing::TestCluster;
use serde_json::{Value, json};

/// What the webhook server answers to one AdmissionReview on `path`.
fn answer(path: &str, review: &Value) -> Value {
    let request = &review["request"];
    let mut response = json!({"uid": request["uid"], "allowed": true});
    match path {
        "/label-pods" => {
            let patch = json!([{"op": "add", "path": "/metadata/labels/admitted", "value": "yes"}]);
            response["patchType"] = json!("JSONPatch");
            response["patch"] =
                json!(base64::engine::general_purpose::STANDARD.encode(patch.to_string()));
        }
        "/cap-replicas" if request["object"]["spec"]["replicas"].as_i64().unwrap_or(0) > 5 => {
            response["allowed"] = json!(false);
            response["status"] = json!({"code": 403, "message": "at most 5 replicas"});
        }
        _ => {}
    }
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response})
}

/// Serves `answer` over HTTPS on a free loopback port; returns the port and the PEM of the
/// self-signed certificate (the caBundle that trusts it).
async fn webhook_server() -> (u16, String) {
    let rcgen::CertifiedKey { cert, key_pair } =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(key_pair.serialize_der().into()),
    )
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service =
                    hyper::service::service_fn(|req: Request<hyper::body::Incoming>| async move {
                        let path = req.uri().path().to_string();
                        let body = req.into_body().collect().await?.to_bytes();
                        if path == "/slow" {
                            tokio::time::sleep(Duration::from_secs(3)).await;
                        }
                        let review: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        Ok::<_, hyper::Error>(Response::new(Full::new(Bytes::from(
                            answer(&path, &review).to_string(),
                        ))))
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    (port, cert.pem())
}

fn hook(name: &str, url: &str, ca_pem: &str, rules: Value, extra: Value) -> Value {
    let mut h = json!({
        "name": name, "sideEffects": "None", "admissionReviewVersions": ["v1"],
        "clientConfig": {"url": url, "caBundle": base64::engine::general_purpose::STANDARD.encode(ca_pem)},
        "rules": [rules],
    });
    if let (Some(h), Some(extra)) = (h.as_object_mut(), extra.as_object()) {
        h.extend(extra.clone());
    }
    h
}

async fn configure(c: &TestCluster, plural: &str, kind: &str, name: &str, hooks: Vec<Value>) {
    let gvk = GroupVersionKind::gvk("admissionregistration.k8s.io", "v1", kind);
    let api: Api<DynamicObject> = Api::all_with(
        c.client.clone(),
        &ApiResource::from_gvk_with_plural(&gvk, plural),
    );
    let obj: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": kind,
        "metadata": {"name": name}, "webhooks": hooks
    }))
    .unwrap();
    api.create(&PostParams::default(), &obj).await.unwrap();
}

fn pod(name: &str) -> Pod {
    serde_json::from_value(json!({"metadata": {"name": name, "labels": {"app": "x"}},
        "spec": {"containers": [{"name": "app", "image": "x"}]}}))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_mutate_validate_and_honour_their_failure_policy() {
    let c = TestCluster::start_with(jiff::Timestamp::now(), 0.0)
        .await
        .unwrap();
    let (port, ca) = webhook_server().await;
    let url = |path: &str| format!("https://127.0.0.1:{port}{path}");
    let pods_create = json!({"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]});
    configure(
        &c,
        "mutatingwebhookconfigurations",
        "MutatingWebhookConfiguration",
        "label-pods",
        vec![hook(
            "label.pods.test",
            &url("/label-pods"),
            &ca,
            pods_create.clone(),
            json!({}),
        )],
    )
    .await;
    configure(&c, "validatingwebhookconfigurations", "ValidatingWebhookConfiguration", "cap-replicas",
        vec![hook("cap.scale.test", &url("/cap-replicas"), &ca,
            json!({"operations": ["UPDATE"], "apiGroups": ["apps"], "apiVersions": ["v1"], "resources": ["*/scale"]}),
            json!({}))]).await;

    // The mutating webhook's patch is in the stored pod.
    let pods: Api<Pod> = Api::namespaced(c.client.clone(), "default");
    let created = pods
        .create(&PostParams::default(), &pod("a"))
        .await
        .unwrap();
    assert_eq!(created.metadata.labels.unwrap()["admitted"], "yes");

    // `deployments/scale` goes through the validating webhook; the denial carries its message.
    let deployments: Api<Deployment> = Api::namespaced(c.client.clone(), "default");
    let d: Deployment = serde_json::from_value(json!({"metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "app", "image": "x"}]}}}}))
    .unwrap();
    deployments
        .create(&PostParams::default(), &d)
        .await
        .unwrap();
    let scale = |n: i64| {
        let deployments = deployments.clone();
        async move {
            deployments
                .patch_scale(
                    "web",
                    &PatchParams::default(),
                    &Patch::Merge(json!({"spec": {"replicas": n}})),
                )
                .await
        }
    };
    scale(3).await.unwrap();
    let denied = scale(10).await.unwrap_err();
    let kube::Error::Api(status) = denied else {
        panic!("{denied:?}")
    };
    assert_eq!(status.code, 403);
    assert!(
        status.message.contains("at most 5 replicas"),
        "{}",
        status.message
    );
    assert_eq!(
        deployments.get("web").await.unwrap().spec.unwrap().replicas,
        Some(3)
    );

    // The HPA writes through the scale path too: its scale-up past the cap is refused.
    let hpas: Api<k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler> =
        Api::namespaced(c.client.clone(), "default");
    let hpa = json!({"metadata": {"name": "web"}, "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "minReplicas": 8, "maxReplicas": 10,
        "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]}});
    hpas.create(
        &PostParams::default(),
        &serde_json::from_value(hpa).unwrap(),
    )
    .await
    .unwrap();
    c.sim
        .clock
        .advance(Duration::from_secs(prescale_sim::cluster::TICK_SECS));
    prescale_sim::cluster::tick(&c.sim).await;
    assert_eq!(
        deployments.get("web").await.unwrap().spec.unwrap().replicas,
        Some(3),
        "the webhook refused the HPA's 8 replicas"
    );

    // A webhook whose certificate the caBundle does not trust fails the request (Fail)…
    let (other_port, _) = webhook_server().await;
    configure(
        &c,
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        "untrusted",
        vec![hook(
            "untrusted.test",
            &format!("https://127.0.0.1:{other_port}/"),
            &ca,
            pods_create.clone(),
            json!({}),
        )],
    )
    .await;
    let refused = pods
        .create(&PostParams::default(), &pod("b"))
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("failed calling webhook"),
        "{refused}"
    );

    // …and is skipped under failurePolicy Ignore; a slow webhook past its timeout likewise.
    let validating: Api<DynamicObject> = Api::all_with(
        c.client.clone(),
        &ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk(
                "admissionregistration.k8s.io",
                "v1",
                "ValidatingWebhookConfiguration",
            ),
            "validatingwebhookconfigurations",
        ),
    );
    validating
        .delete("untrusted", &Default::default())
        .await
        .unwrap();
    configure(
        &c,
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        "lenient",
        vec![
            hook(
                "untrusted.ignored.test",
                &format!("https://127.0.0.1:{other_port}/"),
                &ca,
                pods_create.clone(),
                json!({"failurePolicy": "Ignore"}),
            ),
            hook(
                "slow.ignored.test",
                &url("/slow"),
                &ca,
                pods_create.clone(),
                json!({"failurePolicy": "Ignore", "timeoutSeconds": 1}),
            ),
        ],
    )
    .await;
    let started = std::time::Instant::now();
    pods.create(&PostParams::default(), &pod("c"))
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "the timeout cut the slow call"
    );
    configure(
        &c,
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        "strict-slow",
        vec![hook(
            "slow.strict.test",
            &url("/slow"),
            &ca,
            pods_create,
            json!({"timeoutSeconds": 1}),
        )],
    )
    .await;
    let timed_out = pods
        .create(&PostParams::default(), &pod("d"))
        .await
        .unwrap_err();
    assert!(
        timed_out.to_string().contains("failed calling webhook"),
        "{timed_out}"
    );
}

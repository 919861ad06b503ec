//! Protobuf bodies (`application/vnd.kubernetes.protobuf`), checked against the k8s-pb
//! crate's prost types: what the sim writes decodes as Kubernetes' own messages, what they
//! encode the sim reads back to the same JSON; and over HTTP, content negotiation as a real
//! API server does it.

use k8s_pb::api::apps::v1::Deployment;
use k8s_pb::api::core::v1::{Namespace, Pod};
use k8s_pb::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_pb::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Status, WatchEvent};
use k8s_pb::apimachinery::pkg::runtime::{TypeMeta, Unknown};
use prescale_sim::server::protobuf::{decode_envelope, encode_envelope};
use prescale_sim::testing::TestCluster;
use prost::Message;
use serde_json::{Value, json};

const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";

/// The object message inside an enveloped body.
fn unwrap(body: &[u8]) -> Unknown {
    assert_eq!(&body[..4], b"k8s\0", "magic prefix");
    Unknown::decode(&body[4..]).unwrap()
}

/// An enveloped body around a prost message.
fn wrap(api_version: &str, kind: &str, raw: Vec<u8>) -> Vec<u8> {
    let unknown = Unknown {
        type_meta: Some(TypeMeta {
            api_version: Some(api_version.into()),
            kind: Some(kind.into()),
        }),
        raw: Some(raw),
        content_encoding: Some(String::new()),
        content_type: Some(String::new()),
    };
    let mut out = b"k8s\0".to_vec();
    out.extend(unknown.encode_to_vec());
    out
}

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"},
            "annotations": {"a": ""}, "creationTimestamp": "2026-11-29T10:00:00Z",
            "ownerReferences": [{"apiVersion": "v1", "kind": "X", "name": "o", "uid": "u", "controller": true}]},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "web"},
                "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                "terminationGracePeriodSeconds": 30,
                "containers": [{"name": "web", "image": "nginx", "args": ["-v"],
                    "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                    "env": [{"name": "K", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}],
                    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
                    "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 5}}],
                "volumes": [{"name": "cfg", "configMap": {"name": "web", "defaultMode": 420}},
                    {"name": "data", "downwardAPI": {"items": [{"path": "p", "fieldRef": {"fieldPath": "metadata.name"}}]}}]}}},
        "status": {"replicas": 1, "conditions": [{"type": "Available", "status": "True",
            "lastTransitionTime": "2026-11-29T10:01:00Z"}]},
    })
}

#[test]
fn what_the_sim_writes_is_what_kubernetes_messages_hold() {
    let d = deployment();
    let body = encode_envelope(&d).unwrap();
    let unknown = unwrap(&body);
    let meta = unknown.type_meta.unwrap();
    assert_eq!(
        (meta.api_version.as_deref(), meta.kind.as_deref()),
        (Some("apps/v1"), Some("Deployment"))
    );
    let typed = Deployment::decode(unknown.raw.unwrap().as_slice()).unwrap();
    let spec = typed.spec.clone().unwrap();
    assert_eq!(spec.replicas, Some(0));
    let pod = spec.template.unwrap().spec.unwrap();
    let c = &pod.containers[0];
    assert_eq!(
        c.resources.as_ref().unwrap().requests["cpu"]
            .string
            .as_deref(),
        Some("100m")
    );
    let port = c
        .readiness_probe
        .as_ref()
        .unwrap()
        .handler
        .as_ref()
        .unwrap();
    assert_eq!(
        port.http_get
            .as_ref()
            .unwrap()
            .port
            .as_ref()
            .unwrap()
            .str_val
            .as_deref(),
        Some("http"),
        "IntOrString"
    );
    // VolumeSource is inline in JSON, a message of its own in protobuf.
    let volume = pod.volumes[0].volume_source.as_ref().unwrap();
    let cm = volume.config_map.as_ref().unwrap();
    assert_eq!(
        cm.local_object_reference.as_ref().unwrap().name.as_deref(),
        Some("web")
    );
    assert_eq!(
        typed.metadata.unwrap().creation_timestamp.unwrap().seconds,
        Some(
            "2026-11-29T10:00:00Z"
                .parse::<jiff::Timestamp>()
                .unwrap()
                .as_second()
        )
    );

    // And back: what k8s-pb encodes, the sim reads as the same JSON.
    let again = wrap("apps/v1", "Deployment", typed_again(&body));
    assert_eq!(decode_envelope(&again).unwrap(), d);
}

fn typed_again(body: &[u8]) -> Vec<u8> {
    Deployment::decode(unwrap(body).raw.unwrap().as_slice())
        .unwrap()
        .encode_to_vec()
}

#[test]
fn pods_and_crds_round_trip_through_kubernetes_messages() {
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "namespace": "n"},
        "spec": {"containers": [{"name": "c", "image": "i", "securityContext": {"runAsUser": 0, "privileged": false}}],
            "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoSchedule", "tolerationSeconds": 5}]},
        "status": {"phase": "Running", "podIP": "10.0.0.1", "containerStatuses": [{"name": "c", "ready": true,
            "restartCount": 2, "image": "i", "started": true,
            "state": {"running": {"startedAt": "2026-11-29T10:00:00Z"}},
            "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "finishedAt": "2026-11-29T09:00:00Z"}}}]}});
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "kind": "Widget", "shortNames": ["wd"]},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "additionalPrinterColumns": [{"name": "Size", "type": "integer", "jsonPath": ".spec.size"}],
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "object",
                    "x-kubernetes-validations": [{"rule": "self.size >= 0", "message": "size"}],
                    "properties": {"size": {"type": "integer", "default": 1, "maximum": 10.5},
                        "tags": {"type": "array", "maxItems": 4, "items": {"type": "string", "enum": ["a", "b"]}},
                        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                        "any": {"type": "object", "additionalProperties": true},
                        "port": {"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]}}}}}}}]}});
    for (obj, reencode) in [
        (
            pod,
            (|b: &[u8]| Pod::decode(b).unwrap().encode_to_vec()) as fn(&[u8]) -> Vec<u8>,
        ),
        (crd, |b: &[u8]| {
            CustomResourceDefinition::decode(b).unwrap().encode_to_vec()
        }),
    ] {
        let body = encode_envelope(&obj).unwrap();
        let raw = unwrap(&body).raw.unwrap();
        let again = wrap(
            obj["apiVersion"].as_str().unwrap(),
            obj["kind"].as_str().unwrap(),
            reencode(&raw),
        );
        assert_eq!(decode_envelope(&again).unwrap(), obj);
    }
}

#[tokio::test]
async fn protobuf_over_http_with_content_negotiation() {
    let c = TestCluster::start().await.unwrap();
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", c.url());

    // A protobuf body from Kubernetes' own message type is created.
    let ns = Namespace {
        metadata: Some(ObjectMeta {
            name: Some("bar".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let resp = http
        .post(url("/api/v1/namespaces"))
        .header("content-type", PROTOBUF)
        .header("accept", format!("{PROTOBUF},application/json"))
        .body(wrap("v1", "Namespace", ns.encode_to_vec()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(
        resp.headers()["content-type"],
        PROTOBUF,
        "protobuf preferred"
    );
    let created =
        Namespace::decode(unwrap(&resp.bytes().await.unwrap()).raw.unwrap().as_slice()).unwrap();
    let meta = created.metadata.unwrap();
    assert_eq!(meta.name.as_deref(), Some("bar"));
    assert!(meta.uid.is_some() && meta.creation_timestamp.is_some());

    // JSON listed first wins; no Accept means JSON.
    for accept in [Some(format!("application/json, {PROTOBUF}")), None] {
        let mut req = http.get(url("/api/v1/namespaces/bar"));
        if let Some(a) = &accept {
            req = req.header("accept", a);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.headers()["content-type"], "application/json");
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["metadata"]["name"], "bar");
    }

    // Errors come as a protobuf Status to a protobuf-only client.
    let resp = http
        .get(url("/api/v1/namespaces/missing"))
        .header("accept", PROTOBUF)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let status =
        Status::decode(unwrap(&resp.bytes().await.unwrap()).raw.unwrap().as_slice()).unwrap();
    assert_eq!(status.reason.as_deref(), Some("NotFound"));

    // A protobuf watch: length-prefixed WatchEvents around enveloped objects.
    let resp = http
        .get(url("/api/v1/namespaces?watch=true&timeoutSeconds=1"))
        .header("accept", PROTOBUF)
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["content-type"],
        "application/vnd.kubernetes.protobuf;stream=watch"
    );
    let stream = resp.bytes().await.unwrap();
    let mut names = vec![];
    let mut rest = &stream[..];
    while rest.len() >= 4 {
        let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        let event = WatchEvent::decode(&rest[4..4 + len]).unwrap();
        rest = &rest[4 + len..];
        if event.r#type.as_deref() != Some("ADDED") {
            continue;
        }
        let object = event.object.unwrap().raw.unwrap();
        let ns = Namespace::decode(unwrap(&object).raw.unwrap().as_slice()).unwrap();
        names.push(ns.metadata.unwrap().name.unwrap());
    }
    assert!(names.contains(&"bar".to_string()), "{names:?}");

    // DeleteOptions in protobuf, as kubectl sends them.
    let options = k8s_pb::apimachinery::pkg::apis::meta::v1::DeleteOptions {
        propagation_policy: Some("Foreground".into()),
        ..Default::default()
    };
    let resp = http
        .delete(url("/api/v1/namespaces/bar"))
        .header("content-type", PROTOBUF)
        .body(wrap(
            "meta.k8s.io/v1",
            "DeleteOptions",
            options.encode_to_vec(),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
}

#[tokio::test]
async fn custom_resources_have_no_protobuf_form() {
    let c = TestCluster::start().await.unwrap();
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", c.url());
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced", "names": {"plural": "widgets", "kind": "Widget"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}});
    let resp = http
        .post(url(
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        ))
        .json(&crd)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let widgets = url("/apis/example.com/v1/namespaces/default/widgets");
    let body = wrap("example.com/v1", "Widget", vec![]);
    let resp = http
        .post(&widgets)
        .header("content-type", PROTOBUF)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
    // Asked for protobuf only: 406; with JSON as a fallback: JSON.
    let resp = http
        .get(&widgets)
        .header("accept", PROTOBUF)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 406);
    let resp = http
        .get(&widgets)
        .header("accept", format!("{PROTOBUF},application/json"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
}

/// A body nesting `levels` JSONSchemaProps through `properties` maps, as a CRD would.
fn nested_crd(levels: usize) -> Vec<u8> {
    use k8s_pb::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
        CustomResourceDefinitionSpec, CustomResourceDefinitionVersion, CustomResourceValidation,
        JsonSchemaProps,
    };
    let mut props = JsonSchemaProps {
        r#type: Some("string".into()),
        ..Default::default()
    };
    for _ in 0..levels {
        props = JsonSchemaProps {
            r#type: Some("object".into()),
            properties: [("a".to_string(), props)].into(),
            ..Default::default()
        };
    }
    let crd = CustomResourceDefinition {
        spec: Some(CustomResourceDefinitionSpec {
            versions: vec![CustomResourceDefinitionVersion {
                schema: Some(CustomResourceValidation {
                    open_apiv3_schema: Some(props),
                }),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    };
    wrap(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        crd.encode_to_vec(),
    )
}

#[test]
fn deep_schemas_decode_and_absurd_nesting_is_refused() {
    let deep = decode_envelope(&nested_crd(30)).unwrap();
    let mut at = &deep["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
    for _ in 0..30 {
        at = &at["properties"]["a"];
    }
    assert_eq!(at["type"], "string");
    let err = decode_envelope(&nested_crd(200)).unwrap_err();
    assert!(err.contains("nest more than"), "{err}");
}

proptest::proptest! {
    /// Whatever follows the envelope's type, decoding ends in a value or an error.
    #[test]
    fn arbitrary_bodies_never_panic(
        raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512),
        kind in proptest::sample::select(vec![
            ("apps/v1", "Deployment"), ("v1", "Pod"), ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
            ("meta.k8s.io/v1", "DeleteOptions"), ("autoscaling/v2", "HorizontalPodAutoscaler"),
        ]),
    ) {
        let _ = decode_envelope(&wrap(kind.0, kind.1, raw.clone()));
        let mut bare = b"k8s\0".to_vec();
        bare.extend(&raw);
        let _ = decode_envelope(&bare);
    }
}

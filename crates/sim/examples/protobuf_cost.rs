//! What the protobuf transcoder costs next to JSON, per Deployment body:
//! `cargo run -p prescale-sim --example protobuf_cost [ITERATIONS]`.

use std::time::Instant;

use prescale_sim::server::protobuf::{decode_envelope, encode_envelope};
use serde_json::{Value, json};

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web", "tier": "front"},
            "annotations": {"deployment.kubernetes.io/revision": "3"},
            "creationTimestamp": "2026-11-29T10:00:00Z", "uid": "0b6c2f9e-4a0e-4d4b-9d7e-5f2b1c3d4e5f",
            "resourceVersion": "12345", "generation": 3},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {"metadata": {"labels": {"app": "web", "tier": "front"}}, "spec": {
                "containers": [{"name": "web", "image": "nginx:1.27", "args": ["--port", "8080"],
                    "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                    "env": [{"name": "MODE", "value": "prod"}, {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                    "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}},
                    "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 5}}],
                "volumes": [{"name": "cfg", "configMap": {"name": "web"}}]}}},
        "status": {"replicas": 3, "readyReplicas": 3, "availableReplicas": 3, "updatedReplicas": 3,
            "observedGeneration": 3, "conditions": [{"type": "Available", "status": "True",
                "lastTransitionTime": "2026-11-29T10:01:00Z", "reason": "MinimumReplicasAvailable"}]},
    })
}

fn per_op(iterations: u32, mut op: impl FnMut()) -> f64 {
    let began = Instant::now();
    for _ in 0..iterations {
        op();
    }
    began.elapsed().as_secs_f64() * 1e6 / f64::from(iterations)
}

fn main() {
    let iterations: u32 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let d = deployment();
    let json_body = serde_json::to_vec(&d).unwrap();
    let pb_body = encode_envelope(&d).unwrap();
    let json_read = per_op(iterations, || {
        std::hint::black_box(serde_json::from_slice::<Value>(&json_body).unwrap());
    });
    let pb_read = per_op(iterations, || {
        std::hint::black_box(decode_envelope(&pb_body).unwrap());
    });
    let json_write = per_op(iterations, || {
        std::hint::black_box(serde_json::to_vec(&d).unwrap());
    });
    let pb_write = per_op(iterations, || {
        std::hint::black_box(encode_envelope(&d).unwrap());
    });
    println!(
        "Deployment: JSON {} bytes, protobuf {} bytes; per body over {iterations}: \
         read JSON {json_read:.1} µs, protobuf {pb_read:.1} µs; \
         write JSON {json_write:.1} µs, protobuf {pb_write:.1} µs",
        json_body.len(),
        pb_body.len()
    );
}

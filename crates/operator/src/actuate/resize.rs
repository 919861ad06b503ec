//! In-place resize: a strategic merge patch of the pod's `resize` subresource naming each
//! container by name with its new requests and limits (a JSON merge patch would replace
//! the container list, which the API server refuses).

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use super::ContainerChange;
use crate::client::FIELD_MANAGER;

/// The patch body: only the containers that change, by name.
pub fn resize_patch(containers: &[ContainerChange]) -> serde_json::Value {
    let containers: Vec<_> = containers
        .iter()
        .map(|c| json!({"name": c.name, "resources": c.new}))
        .collect();
    json!({"spec": {"containers": containers}})
}

pub async fn resize(
    client: &kube::Client,
    namespace: &str,
    pod: &str,
    containers: &[ContainerChange],
) -> Result<(), (String, kube::Error)> {
    Api::<Pod>::namespaced(client.clone(), namespace)
        .patch_resize(
            pod,
            &PatchParams::apply(FIELD_MANAGER),
            &Patch::Strategic(resize_patch(containers)),
        )
        .await
        .map(drop)
        .map_err(|e| (format!("pod {namespace}/{pod}"), e))
}

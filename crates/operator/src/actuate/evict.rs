//! Eviction through the Eviction API (`pods/eviction`), never a delete: the API server
//! checks the pod's PodDisruptionBudgets and answers 429 when one forbids it now.

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, EvictParams, PostParams};

use crate::client::FIELD_MANAGER;

pub async fn evict(
    client: &kube::Client,
    namespace: &str,
    pod: &str,
) -> Result<(), (String, kube::Error)> {
    let params = EvictParams {
        post_options: PostParams {
            dry_run: false,
            field_manager: Some(FIELD_MANAGER.into()),
        },
        ..EvictParams::default()
    };
    Api::<Pod>::namespaced(client.clone(), namespace)
        .evict(pod, &params)
        .await
        .map(drop)
        .map_err(|e| (format!("pod {namespace}/{pod}"), e))
}

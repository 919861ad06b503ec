//! A rolling restart of a workload, as `kubectl rollout restart` does it: an annotation on
//! the pod template, so the workload's own controller replaces its pods at its own pace
//! (maxUnavailable, maxSurge, PodDisruptionBudgets). The annotation's value is the
//! restart's token: a restart already marked with the same token is not made again, so
//! an operator restarted mid-rollout does not restart the workload twice.

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::json;

use crate::client::FIELD_MANAGER;
use crate::collector::owners::WorkloadRef;
use crate::workload::Kind;

/// The pod-template annotation a restart sets; its value is the restart's token.
pub const RESTART_ANNOTATION: &str = "thoras.ai/restart";

pub async fn restart(
    client: &kube::Client,
    namespace: &str,
    workload: &WorkloadRef,
    token: &str,
) -> Result<(), (String, kube::Error)> {
    let object = format!("{} {namespace}/{}", workload.kind, workload.name);
    let Some(kind) = Kind::named(&workload.kind) else {
        let status = kube::core::Status::failure(
            &format!("kind {} is not a workload prescale restarts", workload.kind),
            "NotFound",
        )
        .with_code(404);
        return Err((object, kube::Error::Api(Box::new(status))));
    };
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &kind.api_resource());
    let patch =
        json!({"spec": {"template": {"metadata": {"annotations": {RESTART_ANNOTATION: token}}}}});
    api.patch(
        &workload.name,
        &PatchParams::apply(FIELD_MANAGER),
        &Patch::Merge(patch),
    )
    .await
    .map(drop)
    .map_err(|e| (object, e))
}

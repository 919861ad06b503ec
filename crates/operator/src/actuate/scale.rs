//! Replicas written through a workload's `scale` subresource (what `kubectl scale` and the HPA
//! write). A JSON patch that first tests the replicas the plan saw: when something (the
//! HPA) changed them since, the API server refuses the patch (422, `Applied::Refused`)
//! and the next round decides again, so prescale never lowers a count someone else
//! raised. Writing the same count twice is a no-op.

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::ApiResource;
use serde_json::json;

use crate::client::FIELD_MANAGER;
use crate::collector::owners::WorkloadRef;
use crate::workload::Kind;

/// Sets `name`'s replicas from `from` to `to` through the `scale` subresource of kind
/// `resource`, refused (422) when they are no longer `from`. The one way prescale writes
/// replicas: the horizontal floor's scale-ups and the PodAutoscalers' decisions.
pub async fn write_scale(
    client: &kube::Client,
    namespace: &str,
    resource: &ApiResource,
    name: &str,
    from: u32,
    to: u32,
) -> Result<(), kube::Error> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, resource);
    let patch: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/spec/replicas", "value": from},
        {"op": "replace", "path": "/spec/replicas", "value": to},
    ]))
    .map_err(|e| {
        let message = format!("building the scale patch: {e}");
        kube::Error::Api(Box::new(
            kube::core::Status::failure(&message, "Invalid").with_code(400),
        ))
    })?;
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..PatchParams::default()
    };
    api.patch_scale(name, &params, &Patch::<()>::Json(patch))
        .await
        .map(drop)
}

pub async fn scale_up(
    client: &kube::Client,
    namespace: &str,
    workload: &WorkloadRef,
    from: u32,
    to: u32,
) -> Result<(), (String, kube::Error)> {
    let object = format!("{} {namespace}/{} (scale)", workload.kind, workload.name);
    let fail = |message: String, code: u16| {
        let status = kube::core::Status::failure(&message, "Invalid").with_code(code);
        (object.clone(), kube::Error::Api(Box::new(status)))
    };
    let Some(kind) = Kind::named(&workload.kind) else {
        return Err(fail(
            format!("kind {} is not a workload prescale scales", workload.kind),
            404,
        ));
    };
    write_scale(
        client,
        namespace,
        &kind.api_resource(),
        &workload.name,
        from,
        to,
    )
    .await
    .map_err(|e| (object, e))
}

//! Adding and removing one of the operator's finalizers, one mechanism for every kind that
//! has one (templates: `thoras.ai/template-cleanup`; targets: `thoras.ai/revert`). Added by
//! server-side apply under the operator's field manager (finalizers are a set: the others
//! stay); removed by position with a JSON-patch `test`, so a concurrent change of the list
//! makes the patch fail (422) rather than remove someone else's finalizer — the retry
//! re-reads.

use kube::api::{Api, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde_json::json;

use crate::client::FIELD_MANAGER;

/// Applies `finalizer` to object `name` of `api_version`/`kind`.
pub async fn add<K>(
    api: &Api<K>,
    api_version: &str,
    kind: &str,
    name: &str,
    finalizer: &str,
) -> Result<(), kube::Error>
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let patch = Patch::Apply(json!({
        "apiVersion": api_version, "kind": kind,
        "metadata": {"name": name, "finalizers": [finalizer]},
    }));
    api.patch(name, &PatchParams::apply(FIELD_MANAGER).force(), &patch)
        .await
        .map(drop)
}

/// Removes `finalizer` from `obj` (as last read); nothing when it does not carry it.
pub async fn remove<K>(api: &Api<K>, obj: &K, finalizer: &str) -> Result<(), kube::Error>
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let Some(i) = obj.finalizers().iter().position(|f| f == finalizer) else {
        return Ok(());
    };
    let path = format!("/metadata/finalizers/{i}");
    let patch: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": path, "value": finalizer},
        {"op": "remove", "path": path},
    ]))
    .map_err(kube::Error::SerdeError)?;
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..PatchParams::default()
    };
    api.patch(&obj.name_any(), &params, &Patch::Json::<()>(patch))
        .await
        .map(drop)
}

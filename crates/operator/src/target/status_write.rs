//! The target controller's status write: one server-side apply of the whole status under
//! the operator's field manager, forced (the operator owns every status field), its body
//! serialised straight from the status and its answer not read.

use kube::api::{Patch, PatchParams};
use kube::{Client, ResourceExt};
use prescale_api::AIScaleTarget;
use prescale_api::target::status::AIScaleTargetStatus;

use crate::client::FIELD_MANAGER;

/// Server-side apply of the whole status, forced: the operator owns every status field.
pub async fn write_status(
    client: &Client,
    ast: &AIScaleTarget,
    status: &AIScaleTargetStatus,
) -> Result<(), kube::Error> {
    use kube::Resource;
    let (ns, name) = (ast.namespace().unwrap_or_default(), ast.name_any());
    let request = kube::core::Request::new(AIScaleTarget::url_path(&(), Some(&ns)))
        .patch_subresource(
            "status",
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(StatusApply {
                api_version: "thoras.ai/v1",
                kind: "AIScaleTarget",
                metadata: NameOnly { name: &name },
                status,
            }),
        )
        .map_err(kube::Error::BuildRequest)?;
    // The answer (the whole object) is not read: the watch brings it to the cache, and
    // parsing it here too costs as much as the write itself when a pause or a resync
    // makes thousands at once.
    client.request_text(request).await.map(drop)
}

/// The body of a status write, serialised straight from the status (no JSON tree built
/// first: thousands are written at once when the pause lands).
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusApply<'a> {
    api_version: &'static str,
    kind: &'static str,
    metadata: NameOnly<'a>,
    status: &'a AIScaleTargetStatus,
}

#[derive(serde::Serialize)]
struct NameOnly<'a> {
    name: &'a str,
}

//! The Events a target's reconcile records on it: those its plan decided and one per
//! action carried out (`Resized`, `Evicted`, `Restarted` with the old and new values;
//! `EvictionBlocked`, `ActionRefused` with the server's answer).

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::ResourceExt;
use kube::api::{Api, PostParams};
use prescale_api::AIScaleTarget;

use super::controller::TargetContext;
use super::plan::{EventSpec, EventType};
use crate::actuate::{Action as ClusterAction, Applied};
use crate::client::FIELD_MANAGER;
use crate::clock::whole_seconds;

/// The Event that records what became of an action (`Resized`, `Evicted`, `Restarted`
/// with the old and new values; `EvictionBlocked`, `ActionRefused` with the server's
/// answer); none for an object that is gone.
pub fn action_event(
    action: &ClusterAction,
    applied: &Applied,
    time: jiff::Timestamp,
) -> Option<EventSpec> {
    let (type_, reason, message) = match applied {
        Applied::Done => (EventType::Normal, action.event_reason(), action.describe()),
        Applied::Blocked(why) => (
            EventType::Normal,
            "EvictionBlocked",
            format!(
                "not now: {} — {why}; retried after the disruption interval",
                action.describe()
            ),
        ),
        Applied::Refused(why) => (
            EventType::Warning,
            "ActionRefused",
            format!("the API server refused: {} — {why}", action.describe()),
        ),
        Applied::Gone => return None,
    };
    Some(EventSpec {
        type_,
        reason,
        message,
        time,
    })
}

/// Creates Event `e` on target `ast`.
pub async fn record_event(
    ctx: &TargetContext,
    ast: &AIScaleTarget,
    e: &EventSpec,
) -> Result<(), kube::Error> {
    let involved = ObjectReference {
        api_version: Some("thoras.ai/v1".into()),
        kind: Some("AIScaleTarget".into()),
        name: Some(ast.name_any()),
        namespace: ast.namespace(),
        uid: ast.uid(),
        resource_version: ast.resource_version(),
        ..Default::default()
    };
    record_on(&ctx.client, involved, e).await
}

/// Creates Event `e` about `involved` (in its namespace), as prescale's operator.
pub async fn record_on(
    client: &kube::Client,
    involved: ObjectReference,
    e: &EventSpec,
) -> Result<(), kube::Error> {
    let ns = involved.namespace.clone().unwrap_or_default();
    let at = Time(whole_seconds(e.time));
    let event = Event {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}.", involved.name.clone().unwrap_or_default())),
            namespace: Some(ns.clone()),
            ..Default::default()
        },
        involved_object: involved,
        reason: Some(e.reason.into()),
        message: Some(e.message.clone()),
        type_: Some(e.type_.as_str().into()),
        first_timestamp: Some(at.clone()),
        last_timestamp: Some(at),
        count: Some(1),
        source: Some(EventSource {
            component: Some(crate::install::APP.into()),
            host: None,
        }),
        reporting_component: Some(crate::install::APP.into()),
        ..Default::default()
    };
    let params = PostParams {
        dry_run: false,
        field_manager: Some(FIELD_MANAGER.into()),
    };
    Api::<Event>::namespaced(client.clone(), &ns)
        .create(&params, &event)
        .await
        .map(drop)
}

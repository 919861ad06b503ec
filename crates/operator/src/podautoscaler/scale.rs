//! The WorkloadScale of seed 004: any kind with a `scale` subresource, found through
//! discovery — read its replicas and pod selector, write the replicas.

use std::collections::HashMap;
use std::sync::Mutex;

use k8s_openapi::api::autoscaling::v1::Scale;
use kube::api::Api;
use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
use kube::{Client, discovery};
use prescale_api::podautoscaler::ScaleTargetRef;

/// What the `scale` subresource says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaleView {
    pub replicas: u32,
    /// `status.selector`: the target's pods, in the selector's text form.
    pub selector: String,
}

/// The kinds resolved so far (apiVersion, kind) → resource, so discovery runs once a kind.
#[derive(Default)]
pub struct Kinds(Mutex<HashMap<(String, String), ApiResource>>);

/// The apiVersion of a reference, defaulted for the built-in kinds AIBrix examples name
/// without one.
fn api_version(r: &ScaleTargetRef) -> Result<String, String> {
    match (&r.api_version, r.kind.as_str()) {
        (Some(v), _) => Ok(v.clone()),
        (None, "Deployment" | "StatefulSet" | "ReplicaSet") => Ok("apps/v1".into()),
        (None, kind) => Err(format!(
            "spec.scaleTargetRef.apiVersion: required for kind {kind} (e.g. apps/v1)"
        )),
    }
}

impl Kinds {
    async fn resource(&self, client: &Client, r: &ScaleTargetRef) -> Result<ApiResource, String> {
        let version = api_version(r)?;
        let key = (version.clone(), r.kind.clone());
        if let Some(ar) = self.0.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return Ok(ar.clone());
        }
        let (group, v) = match version.split_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (String::new(), version.clone()),
        };
        let gvk = GroupVersionKind::gvk(&group, &v, &r.kind);
        let (ar, caps) = discovery::pinned_kind(client, &gvk)
            .await
            .map_err(|e| format!("the cluster does not serve {version} {}: {e}", r.kind))?;
        if !caps.subresources.iter().any(|(s, _)| s.plural == "scale") {
            return Err(format!(
                "{version} {} has no scale subresource: it cannot be scaled",
                r.kind
            ));
        }
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, ar.clone());
        Ok(ar)
    }

    fn forget(&self, r: &ScaleTargetRef) {
        if let Ok(v) = api_version(r) {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&(v, r.kind.clone()));
        }
    }

    /// Reads the scale of `r` in `namespace`.
    pub async fn read(
        &self,
        client: &Client,
        namespace: &str,
        r: &ScaleTargetRef,
    ) -> Result<ScaleView, String> {
        let ar = self.resource(client, r).await?;
        let api = Api::<DynamicObject>::namespaced_with(client.clone(), namespace, &ar);
        let scale: Scale = match api.get_scale(&r.name).await {
            Ok(s) => s,
            Err(kube::Error::Api(s)) if s.code == 404 => {
                // The kind may have gone too: look it up again next time.
                self.forget(r);
                return Err(format!("{} {} not found", r.kind, r.name));
            }
            Err(e) => return Err(e.to_string()),
        };
        Ok(ScaleView {
            replicas: scale.spec.and_then(|s| s.replicas).unwrap_or(0).max(0) as u32,
            selector: scale.status.and_then(|s| s.selector).unwrap_or_default(),
        })
    }

    /// Sets the replicas of `r` from `from` to `to` through its scale subresource (refused
    /// when they changed since they were read: the next sync decides again).
    pub async fn write(
        &self,
        client: &Client,
        namespace: &str,
        r: &ScaleTargetRef,
        from: u32,
        to: u32,
    ) -> Result<(), String> {
        let ar = self.resource(client, r).await?;
        crate::actuate::scale::write_scale(client, namespace, &ar, &r.name, from, to)
            .await
            .map_err(|e| e.to_string())
    }
}

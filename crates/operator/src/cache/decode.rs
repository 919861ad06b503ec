//! AIScaleTargets are decoded one at a time. The API server may hold a target that no
//! longer fits the typed struct (written before a CRD schema change; a server without
//! schema validation): decoded as part of a whole list page it failed the list, so the
//! cache never filled and every target stalled. Here such a target is skipped — reported
//! once per version as a warning naming the object and the field — and the others keep
//! working. An earlier version of it that did decode stays in the cache until it is
//! deleted or fixed.

use std::borrow::Cow;
use std::collections::HashSet;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher::Event;
use prescale_api::AIScaleTarget;
use serde::{Deserialize, Deserializer};

/// An AIScaleTarget as the watch brings it: decoded, or why not (its metadata kept).
#[derive(Debug, Clone)]
pub enum Decoded {
    Target(Box<AIScaleTarget>),
    Undecodable {
        metadata: Box<ObjectMeta>,
        error: String,
    },
}

impl<'de> Deserialize<'de> for Decoded {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Kept raw (one scan, no tree) and decoded from it: the common case costs about
        // what a direct decode does.
        let raw = Box::<serde_json::value::RawValue>::deserialize(d)?;
        Ok(decode(raw.get()))
    }
}

/// Decodes one target's JSON; a failure names the field (`spec.model.mode: …`).
pub fn decode(json: &str) -> Decoded {
    if let Ok(t) = serde_json::from_str::<AIScaleTarget>(json) {
        return Decoded::Target(Box::new(t));
    }
    let mut de = serde_json::Deserializer::from_str(json);
    let error = match serde_path_to_error::deserialize::<_, AIScaleTarget>(&mut de) {
        Ok(_) => "decoded only on the second attempt".to_string(),
        Err(e) => format!("{}: {}", e.path(), e.inner()),
    };
    #[derive(Deserialize, Default)]
    struct MetaOnly {
        #[serde(default)]
        metadata: ObjectMeta,
    }
    let metadata = serde_json::from_str::<MetaOnly>(json)
        .unwrap_or_default()
        .metadata;
    Decoded::Undecodable {
        metadata: Box::new(metadata),
        error,
    }
}

impl Resource for Decoded {
    type DynamicType = ();
    type Scope = NamespaceResourceScope;

    fn kind(dt: &()) -> Cow<'_, str> {
        AIScaleTarget::kind(dt)
    }
    fn group(dt: &()) -> Cow<'_, str> {
        AIScaleTarget::group(dt)
    }
    fn version(dt: &()) -> Cow<'_, str> {
        AIScaleTarget::version(dt)
    }
    fn plural(dt: &()) -> Cow<'_, str> {
        AIScaleTarget::plural(dt)
    }
    fn meta(&self) -> &ObjectMeta {
        match self {
            Decoded::Target(t) => &t.metadata,
            Decoded::Undecodable { metadata, .. } => metadata.as_ref(),
        }
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        match self {
            Decoded::Target(t) => &mut t.metadata,
            Decoded::Undecodable { metadata, .. } => metadata.as_mut(),
        }
    }
}

/// Turns the watch's events into typed ones, skipping (and reporting) undecodable targets.
pub struct Skipper {
    /// The typed store: a deleted target that no longer decodes is removed by the copy
    /// it holds.
    pub targets: Store<AIScaleTarget>,
    /// (uid, resourceVersion) already reported: a relist does not report them again.
    reported: HashSet<(String, String)>,
}

impl Skipper {
    pub fn new(targets: Store<AIScaleTarget>) -> Self {
        Skipper {
            targets,
            reported: HashSet::new(),
        }
    }

    pub fn typed(&mut self, event: Event<Decoded>) -> Option<Event<AIScaleTarget>> {
        Some(match event {
            Event::Init => Event::Init,
            Event::InitDone => Event::InitDone,
            Event::Apply(Decoded::Target(t)) => Event::Apply(*t),
            Event::InitApply(Decoded::Target(t)) => Event::InitApply(*t),
            Event::Delete(Decoded::Target(t)) => Event::Delete(*t),
            Event::Delete(Decoded::Undecodable { metadata, .. }) => {
                let key = ObjectRef::new(metadata.name.as_deref()?)
                    .within(metadata.namespace.as_deref().unwrap_or_default());
                Event::Delete(self.targets.get(&key)?.as_ref().clone())
            }
            Event::Apply(Decoded::Undecodable { metadata, error })
            | Event::InitApply(Decoded::Undecodable { metadata, error }) => {
                self.report(metadata, error);
                return None;
            }
        })
    }

    fn report(&mut self, metadata: Box<ObjectMeta>, error: String) {
        let id = (
            metadata.uid.clone().unwrap_or_default(),
            metadata.resource_version.clone().unwrap_or_default(),
        );
        if self.reported.insert(id) {
            let (ns, name) = (
                metadata.namespace.unwrap_or_default(),
                metadata.name.unwrap_or_default(),
            );
            tracing::warn!(
                target = %format!("{ns}/{name}"),
                field_error = %error,
                "skipping AIScaleTarget {ns}/{name}: it cannot be read ({error}); the other \
                 targets are not affected. Edit it to match the installed CRD \
                 (kubectl edit aiscaletarget -n {ns} {name})"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn target(mode: serde_json::Value) -> String {
        json!({"apiVersion": "thoras.ai/v1", "kind": "AIScaleTarget",
               "metadata": {"name": "web", "namespace": "shop", "uid": "u1", "resourceVersion": "7"},
               "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
                        "model": {"forecast_blocks": "15m", "forecast_interval": "15m", "mode": mode}}})
        .to_string()
    }

    #[test]
    fn a_target_that_does_not_decode_keeps_its_name_and_says_which_field() {
        assert!(matches!(
            decode(&target(json!("balanced"))),
            Decoded::Target(_)
        ));
        let Decoded::Undecodable { metadata, error } = decode(&target(json!(42))) else {
            panic!("a number is not a mode");
        };
        assert_eq!(metadata.name.as_deref(), Some("web"));
        assert!(error.starts_with("spec.model.mode"), "{error}");
        // Within a list, one bad item no longer fails the others.
        let list = format!("[{}, {}]", target(json!(42)), target(json!("balanced")));
        let items: Vec<Decoded> = serde_json::from_str(&list).unwrap();
        assert!(matches!(items[0], Decoded::Undecodable { .. }));
        assert!(matches!(items[1], Decoded::Target(_)));
    }
}

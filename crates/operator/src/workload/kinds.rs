//! The workload kinds, from the API's one table (`prescale_api::target::spec::WORKLOAD_KINDS`:
//! Deployment, StatefulSet, Rollout) with what the operator adds to reach them: plural,
//! `ApiResource`, and the CRD that serves an optional kind. Deployments and StatefulSets
//! are always served; Rollouts once Argo's CRD is installed and established, which the
//! cache learns by watching that one CustomResourceDefinition.

use kube::core::{ApiResource, GroupVersionKind};
use prescale_api::target::spec::WORKLOAD_KINDS;

/// A workload kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Kind {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
}

impl Kind {
    /// Every kind a target may name.
    pub fn all() -> Vec<Kind> {
        WORKLOAD_KINDS
            .iter()
            .map(|(kind, api_version)| {
                let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
                Kind {
                    group: group.into(),
                    version: version.into(),
                    kind: (*kind).into(),
                    // Deployment → deployments, StatefulSet → statefulsets, Rollout → rollouts.
                    plural: format!("{}s", kind.to_ascii_lowercase()),
                }
            })
            .collect()
    }

    /// The kind named `kind` in the table.
    pub fn named(kind: &str) -> Option<Kind> {
        Kind::all().into_iter().find(|k| k.kind == kind)
    }

    /// The kind served as `group`/`plural` (what an admission request names).
    pub fn by_resource(group: &str, plural: &str) -> Option<Kind> {
        Kind::all()
            .into_iter()
            .find(|k| k.group == group && k.plural == plural)
    }

    /// Its `scale` subresource (`deployments/scale`): what the HPA and `kubectl scale`
    /// write, and prescale's scale-up and `*/scale` webhook act on.
    pub fn scale_subresource(&self) -> String {
        format!("{}/scale", self.plural)
    }

    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    pub fn api_resource(&self) -> ApiResource {
        ApiResource::from_gvk_with_plural(&self.gvk(), &self.plural)
    }

    fn gvk(&self) -> GroupVersionKind {
        GroupVersionKind::gvk(&self.group, &self.version, &self.kind)
    }

    /// Whether the kind comes from a CRD (and may therefore be missing).
    pub fn optional(&self) -> bool {
        self.group != "apps"
    }

    /// The name of the CRD that serves an optional kind (`rollouts.argoproj.io`).
    pub fn crd_name(&self) -> String {
        format!("{}.{}", self.plural, self.group)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_comes_from_the_api() {
        let all = Kind::all();
        assert_eq!(all.len(), WORKLOAD_KINDS.len());
        let rollout = Kind::named("Rollout").unwrap();
        assert_eq!(
            (rollout.group.as_str(), rollout.plural.as_str()),
            ("argoproj.io", "rollouts")
        );
        assert_eq!(rollout.api_version(), "argoproj.io/v1alpha1");
        assert_eq!(rollout.crd_name(), "rollouts.argoproj.io");
        assert!(rollout.optional());
        let sts = Kind::named("StatefulSet").unwrap();
        assert_eq!(
            (sts.plural.as_str(), sts.optional()),
            ("statefulsets", false)
        );
        assert_eq!(Kind::named("DaemonSet"), None);
        assert_eq!(Kind::by_resource("apps", "statefulsets"), Some(sts.clone()));
        assert_eq!(sts.scale_subresource(), "statefulsets/scale");
        assert_eq!(Kind::by_resource("", "statefulsets"), None);
    }
}

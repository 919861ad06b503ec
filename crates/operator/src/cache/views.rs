//! Workload views built once per version of each object, not at every read: the template
//! pass, the janitor, the dashboard and every reconcile read thousands of views, and
//! building one (`WorkloadView::of`: quantities parsed, labels copied) costs far more than
//! finding it. A view is kept by the object's uid with the resourceVersion it was built
//! from; a read of a newer version builds (and keeps) the new view. The same `Arc` is
//! returned for as long as the object is unchanged, so a consumer can tell an unchanged
//! workload by identity (`Arc::ptr_eq`) — the template plan's memo does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kube::core::DynamicObject;

use crate::workload::{Kind, WorkloadView};

#[derive(Default)]
pub struct WorkloadViews {
    /// By uid: the resourceVersion the view was built from, and the view.
    by_uid: Mutex<HashMap<String, (String, Arc<WorkloadView>)>>,
}

impl WorkloadViews {
    /// The views of `objects` of `kind`, built only for objects not seen at this version.
    pub fn of_all<'a>(
        &self,
        kind: &Kind,
        objects: impl IntoIterator<Item = &'a DynamicObject>,
    ) -> Vec<Arc<WorkloadView>> {
        let mut by_uid = self.by_uid.lock().unwrap_or_else(|e| e.into_inner());
        objects
            .into_iter()
            .map(|o| Self::view(&mut by_uid, kind, o))
            .collect()
    }

    /// The view of one object.
    pub fn of(&self, kind: &Kind, object: &DynamicObject) -> Arc<WorkloadView> {
        let mut by_uid = self.by_uid.lock().unwrap_or_else(|e| e.into_inner());
        Self::view(&mut by_uid, kind, object)
    }

    fn view(
        by_uid: &mut HashMap<String, (String, Arc<WorkloadView>)>,
        kind: &Kind,
        o: &DynamicObject,
    ) -> Arc<WorkloadView> {
        let (Some(uid), Some(version)) = (
            o.metadata.uid.as_deref(),
            o.metadata.resource_version.as_deref(),
        ) else {
            // Not from an API server (no identity to keep it by).
            return Arc::new(WorkloadView::of(kind, o));
        };
        if let Some((seen, view)) = by_uid.get(uid)
            && seen == version
        {
            return view.clone();
        }
        let view = Arc::new(WorkloadView::of(kind, o));
        by_uid.insert(uid.to_string(), (version.to_string(), view.clone()));
        view
    }

    /// Forgets the view of a deleted object.
    pub fn forget(&self, uid: &str) {
        self.by_uid
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(uid);
    }

    /// Keeps only the views of `kind` for which `live` holds (after a relist: objects
    /// deleted while the watch was down are never reported deleted), and those of other
    /// kinds.
    pub fn retain_kind(&self, kind: &str, live: impl Fn(&str) -> bool) {
        self.by_uid
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|uid, (_, view)| view.kind != kind || live(uid));
    }

    pub fn len(&self) -> usize {
        self.by_uid.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(uid: &str, version: &str, app: &str) -> DynamicObject {
        serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": format!("w-{uid}"), "namespace": "shop", "uid": uid,
                         "resourceVersion": version},
            "spec": {"template": {"metadata": {"labels": {"app": app}}, "spec": {"containers": []}}},
        }))
        .unwrap()
    }

    #[test]
    fn a_view_is_built_once_per_version() {
        let kind = Kind::named("Deployment").unwrap();
        let views = WorkloadViews::default();
        let first = views.of(&kind, &deployment("a", "1", "web"));
        let again = views.of_all(&kind, [&deployment("a", "1", "web")]);
        assert!(Arc::ptr_eq(&first, &again[0]), "unchanged: the same view");
        let changed = views.of(&kind, &deployment("a", "2", "api"));
        assert!(!Arc::ptr_eq(&first, &changed));
        assert_eq!(
            changed.pod_labels["app"], "api",
            "a new version is read again"
        );
        assert_eq!(views.len(), 1, "one view per object");
    }

    #[test]
    fn deleted_and_relisted_away_objects_are_forgotten() {
        let (d, s) = (
            Kind::named("Deployment").unwrap(),
            Kind::named("StatefulSet").unwrap(),
        );
        let views = WorkloadViews::default();
        views.of(&d, &deployment("a", "1", "web"));
        views.of(&d, &deployment("b", "1", "web"));
        let mut set = deployment("c", "1", "db");
        set.types = None;
        views.of(&s, &set);
        views.forget("a");
        assert_eq!(views.len(), 2);
        views.retain_kind("Deployment", |uid| uid != "b");
        assert_eq!(views.len(), 1, "the StatefulSet's view is kept");
        let mut anonymous = deployment("x", "1", "web");
        anonymous.metadata.uid = None;
        views.of(&d, &anonymous);
        assert_eq!(views.len(), 1, "an object without a uid is not kept");
    }
}

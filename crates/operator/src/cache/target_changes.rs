//! What the AIScaleTarget watch reports: a `Change` per target created, changed or
//! deleted, with `status_only` when nothing a template reads changed (its generation,
//! counting spec changes, and its labels).
//!
//! A relist (the first list, or after a watch could not resume: 410 Gone) lands in the
//! store only once it is complete, so the changes it brings are held until then: reported
//! earlier, a target new in the relist was not in the store yet when the controller looked
//! for it, and was dropped until it changed again. A target the relist no longer holds was
//! deleted while the watch was down: no Delete event says so, so it is reported here.

use std::collections::{BTreeMap, HashMap, HashSet};

use kube::ResourceExt;
use prescale_api::AIScaleTarget;

use super::Change;
use super::watch::Seen;

/// A namespaced object's (namespace, name).
type ObjectKey = (String, String);
/// What a template reads of a target: its generation and labels.
type TemplateView = (Option<i64>, BTreeMap<String, String>);

#[derive(Default)]
pub(super) struct TargetChanges {
    seen_before: HashMap<ObjectKey, TemplateView>,
    /// The relist in progress: the changes it brought and the targets it holds.
    relisted: Vec<Change>,
    relisted_keys: HashSet<ObjectKey>,
}

impl TargetChanges {
    /// The changes to report for what the watch saw.
    pub(super) fn seen(&mut self, seen: Seen<'_, AIScaleTarget>) -> Vec<Change> {
        let (t, deleted, relist) = match seen {
            Seen::Applied(t) => (t, false, false),
            Seen::Relisted(t) => (t, false, true),
            Seen::Deleted(t) => (t, true, false),
            Seen::Listed => return self.listed(),
        };
        let key = (t.namespace().unwrap_or_default(), t.name_any());
        let status_only = if deleted {
            self.seen_before.remove(&key);
            false
        } else {
            let now = (t.metadata.generation, t.labels().clone());
            self.seen_before.insert(key.clone(), now.clone()).as_ref() == Some(&now)
        };
        let change = Change::Target {
            namespace: key.0.clone(),
            name: key.1.clone(),
            deleted,
            status_only,
        };
        if relist {
            self.relisted_keys.insert(key);
            self.relisted.push(change);
            vec![]
        } else {
            vec![change]
        }
    }

    /// The relist is in the store: what it brought, and the deletions it revealed.
    fn listed(&mut self) -> Vec<Change> {
        let keys = std::mem::take(&mut self.relisted_keys);
        let gone: Vec<ObjectKey> = self
            .seen_before
            .keys()
            .filter(|k| !keys.contains(*k))
            .cloned()
            .collect();
        let mut changes = std::mem::take(&mut self.relisted);
        for (namespace, name) in gone {
            self.seen_before.remove(&(namespace.clone(), name.clone()));
            changes.push(Change::Target {
                namespace,
                name,
                deleted: true,
                status_only: false,
            });
        }
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn target(name: &str, generation: i64) -> AIScaleTarget {
        serde_json::from_value(json!({
            "apiVersion": "thoras.ai/v1", "kind": "AIScaleTarget",
            "metadata": {"name": name, "namespace": "shop", "generation": generation},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": name},
                     "model": {"forecast_blocks": "15m", "forecast_interval": "15m"}}
        }))
        .unwrap()
    }

    fn names(changes: &[Change]) -> Vec<(String, bool, bool)> {
        changes
            .iter()
            .map(|c| match c {
                Change::Target {
                    name,
                    deleted,
                    status_only,
                    ..
                } => (name.clone(), *deleted, *status_only),
                other => panic!("not a target change: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_relist_reports_its_targets_once_it_is_in_the_store_and_the_ones_it_lost() {
        let mut c = TargetChanges::default();
        let (a, b, new) = (target("a", 1), target("b", 1), target("new", 1));
        assert!(c.seen(Seen::Relisted(&a)).is_empty());
        assert!(c.seen(Seen::Relisted(&b)).is_empty());
        assert_eq!(
            names(&c.seen(Seen::Listed)),
            [("a".into(), false, false), ("b".into(), false, false)]
        );
        // Watched: reported at once; a status write alone is status_only.
        assert_eq!(
            names(&c.seen(Seen::Applied(&a))),
            [("a".into(), false, true)]
        );
        // The watch could not resume: `new` was created and `b` deleted meanwhile.
        assert!(c.seen(Seen::Relisted(&a)).is_empty());
        assert!(c.seen(Seen::Relisted(&new)).is_empty());
        assert_eq!(
            names(&c.seen(Seen::Listed)),
            [
                ("a".into(), false, true),
                ("new".into(), false, false),
                ("b".into(), true, false)
            ]
        );
        // `b` is forgotten: a later relist without it reports nothing more for it.
        assert!(c.seen(Seen::Relisted(&a)).is_empty());
        assert!(c.seen(Seen::Relisted(&new)).is_empty());
        assert_eq!(names(&c.seen(Seen::Listed)).len(), 2);
        assert_eq!(
            names(&c.seen(Seen::Deleted(&new))),
            [("new".into(), true, false)]
        );
    }
}

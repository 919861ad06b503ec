//! The names of a store's objects per namespace, kept from the same watch events that fill
//! the store. Each reconcile reads its namespace's pods, HPAs and PodDisruptionBudgets:
//! filtering the whole store instead made every reconcile cost as much as the cluster is
//! large, and a pause (every target at once) cost the square of it.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

use kube::Resource;
use kube::runtime::reflector::{ObjectRef, Store};

use super::watch::Seen;

pub struct NamespaceIndex<K: Resource<DynamicType = ()> + Clone + 'static> {
    store: Store<K>,
    names: RwLock<HashMap<String, BTreeSet<String>>>,
    /// When each namespace last changed, and when the last relist landed, on one counter
    /// (`generation`): what is derived from a namespace's objects is kept until then.
    changes: RwLock<(u64, u64, HashMap<String, u64>)>,
}

impl<K: Resource<DynamicType = ()> + Clone + 'static> NamespaceIndex<K> {
    pub fn new(store: Store<K>) -> Arc<Self> {
        Arc::new(NamespaceIndex {
            store,
            names: RwLock::default(),
            changes: RwLock::default(),
        })
    }

    /// A number that changes whenever an object of `namespace` does (a relist counts for
    /// every namespace).
    pub fn generation(&self, namespace: &str) -> u64 {
        let changes = self.changes.read().unwrap_or_else(|e| e.into_inner());
        let (_, listed, by_namespace) = &*changes;
        by_namespace
            .get(namespace)
            .copied()
            .unwrap_or(0)
            .max(*listed)
    }

    fn changed(&self, namespace: Option<&str>) {
        let mut changes = self.changes.write().unwrap_or_else(|e| e.into_inner());
        let (counter, listed, by_namespace) = &mut *changes;
        *counter += 1;
        match namespace {
            Some(ns) => {
                by_namespace.insert(ns.to_string(), *counter);
            }
            None => *listed = *counter,
        }
    }

    /// Follows one watch event; called after the store has taken it in.
    pub(super) fn seen(&self, seen: &Seen<'_, K>) {
        self.update_names(seen);
        // Only once the names are in: a reader that sees the new generation must find
        // the new object too (the other way round, it kept what it grouped without the
        // object under the new generation, until the namespace changed again).
        match seen {
            Seen::Applied(o) | Seen::Relisted(o) | Seen::Deleted(o) => {
                self.changed(o.meta().namespace.as_deref())
            }
            Seen::Listed => self.changed(None),
        }
    }

    fn update_names(&self, seen: &Seen<'_, K>) {
        let mut names = self.names.write().unwrap_or_else(|e| e.into_inner());
        match seen {
            Seen::Applied(o) | Seen::Relisted(o) => {
                if let Some((ns, name)) = key(*o) {
                    names
                        .entry(ns.to_string())
                        .or_default()
                        .insert(name.to_string());
                }
            }
            Seen::Deleted(o) => {
                if let Some((ns, name)) = key(*o)
                    && let Some(set) = names.get_mut(ns)
                {
                    set.remove(name);
                    if set.is_empty() {
                        names.remove(ns);
                    }
                }
            }
            // The store now holds exactly what was listed: objects deleted while the watch
            // was down go from the index too.
            Seen::Listed => {
                names.clear();
                for o in self.store.state() {
                    if let Some((ns, name)) = key(&*o) {
                        names
                            .entry(ns.to_string())
                            .or_default()
                            .insert(name.to_string());
                    }
                }
            }
        }
    }

    /// The objects of `namespace` the store holds, by name.
    pub fn in_namespace(&self, namespace: &str) -> Vec<Arc<K>> {
        let names = self.names.read().unwrap_or_else(|e| e.into_inner());
        names
            .get(namespace)
            .into_iter()
            .flatten()
            .filter_map(|name| self.store.get(&ObjectRef::new(name).within(namespace)))
            .collect()
    }
}

fn key<K: Resource>(o: &K) -> Option<(&str, &str)> {
    Some((o.meta().namespace.as_deref()?, o.meta().name.as_deref()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Pod;
    use kube::runtime::reflector::store::Writer;
    use kube::runtime::watcher::Event;

    fn pod(ns: &str, name: &str) -> Pod {
        let mut p = Pod::default();
        p.metadata.namespace = Some(ns.into());
        p.metadata.name = Some(name.into());
        p
    }

    fn names(index: &NamespaceIndex<Pod>, ns: &str) -> Vec<String> {
        index
            .in_namespace(ns)
            .iter()
            .map(|p| p.metadata.name.clone().unwrap())
            .collect()
    }

    /// Each event goes to the store first, then to the index, as the watch delivers them.
    fn deliver(writer: &mut Writer<Pod>, index: &NamespaceIndex<Pod>, event: Event<Pod>) {
        writer.apply_watcher_event(&event);
        match &event {
            Event::Apply(p) => index.seen(&Seen::Applied(p)),
            Event::Delete(p) => index.seen(&Seen::Deleted(p)),
            Event::InitApply(p) => index.seen(&Seen::Relisted(p)),
            Event::InitDone => index.seen(&Seen::Listed),
            Event::Init => {}
        }
    }

    #[test]
    fn follows_applies_deletes_and_relists_per_namespace() {
        let mut writer = Writer::<Pod>::new(());
        let index = NamespaceIndex::new(writer.as_reader());
        deliver(&mut writer, &index, Event::Apply(pod("a", "one")));
        deliver(&mut writer, &index, Event::Apply(pod("a", "two")));
        deliver(&mut writer, &index, Event::Apply(pod("b", "three")));
        assert_eq!(names(&index, "a"), ["one", "two"]);
        assert_eq!(names(&index, "b"), ["three"]);
        assert!(names(&index, "c").is_empty());

        let (a, b) = (index.generation("a"), index.generation("b"));
        deliver(&mut writer, &index, Event::Delete(pod("a", "one")));
        assert_eq!(names(&index, "a"), ["two"]);
        assert!(
            index.generation("a") > a,
            "a change in `a` is a new generation of `a`"
        );
        assert_eq!(index.generation("b"), b, "and not of `b`");

        // A relist that no longer has `two` (deleted while the watch was down) and brings
        // `four`: once listed, the index holds exactly what the store does.
        deliver(&mut writer, &index, Event::Init);
        deliver(&mut writer, &index, Event::InitApply(pod("a", "four")));
        deliver(&mut writer, &index, Event::InitApply(pod("b", "three")));
        let b = index.generation("b");
        deliver(&mut writer, &index, Event::InitDone);
        assert!(
            index.generation("b") > b,
            "a relist is a new generation everywhere"
        );
        assert_eq!(names(&index, "a"), ["four"]);
        assert_eq!(names(&index, "b"), ["three"]);
    }
}

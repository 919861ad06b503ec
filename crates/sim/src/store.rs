//! The object store behind the simulated API server: every object of every type as JSON,
//! one global resourceVersion counter, a bounded history of change events (for watches
//! that resume from a resourceVersion, and `410 Gone` when it is too old), and the
//! semantics of create / update / delete: uid, generation, optimistic concurrency,
//! finalizers, and ownerReference garbage collection.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::clock::Clock;
use crate::error::ApiError;
use crate::registry::{ResourceType, builtins, from_crd};

pub type TypeKey = (String, String);
type ObjKey = (String, String);

/// How many change events are kept for resuming watches.
const EVENT_HISTORY: usize = 20_000;

#[derive(Debug, Clone)]
pub struct Event {
    pub rv: u64,
    pub key: TypeKey,
    pub namespace: String,
    /// ADDED, MODIFIED or DELETED.
    pub kind: &'static str,
    pub object: Value,
}

/// Which part of an object an update may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Everything but `status` (for types with a status subresource).
    Main,
    Status,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    Background,
    Foreground,
    Orphan,
}

pub struct Store {
    types: BTreeMap<TypeKey, ResourceType>,
    objects: HashMap<TypeKey, BTreeMap<ObjKey, Value>>,
    rv: u64,
    events: VecDeque<Arc<Event>>,
    tx: broadcast::Sender<Arc<Event>>,
    clock: Arc<Clock>,
}

impl Store {
    pub fn new(clock: Arc<Clock>) -> Self {
        let (tx, _) = broadcast::channel(65_536);
        let mut store = Store {
            types: builtins().into_iter().map(|t| (t.key(), t)).collect(),
            objects: HashMap::new(),
            rv: 1,
            events: VecDeque::new(),
            tx,
            clock,
        };
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let _ = store.create(
                &("".into(), "namespaces".into()),
                "",
                json!({"metadata": {"name": ns}}),
            );
        }
        store
    }

    pub fn clock(&self) -> &Arc<Clock> {
        &self.clock
    }

    pub fn types(&self) -> impl Iterator<Item = &ResourceType> {
        self.types.values()
    }

    pub fn find_type(&self, group: &str, version: &str, plural: &str) -> Option<&ResourceType> {
        self.types
            .get(&(group.to_string(), plural.to_string()))
            .filter(|t| t.version == version)
    }

    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    /// The oldest resourceVersion a watch can still resume from.
    pub fn oldest_resumable(&self) -> u64 {
        self.events
            .front()
            .map(|e| e.rv.saturating_sub(1))
            .unwrap_or(self.rv)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }

    /// Events after `rv` of one type, oldest first.
    pub fn events_after(&self, key: &TypeKey, rv: u64) -> Vec<Arc<Event>> {
        self.events
            .iter()
            .filter(|e| e.rv > rv && &e.key == key)
            .cloned()
            .collect()
    }

    fn emit(&mut self, key: &TypeKey, namespace: &str, kind: &'static str, object: Value) {
        let event = Arc::new(Event {
            rv: self.rv,
            key: key.clone(),
            namespace: namespace.into(),
            kind,
            object,
        });
        if self.events.len() >= EVENT_HISTORY {
            self.events.pop_front();
        }
        self.events.push_back(event.clone());
        let _ = self.tx.send(event);
    }

    fn next_rv(&mut self) -> u64 {
        self.rv += 1;
        self.rv
    }

    pub fn rt(&self, key: &TypeKey) -> Result<&ResourceType, ApiError> {
        self.types
            .get(key)
            .ok_or_else(|| ApiError::not_found(&key.1, ""))
    }

    pub fn get(&self, key: &TypeKey, ns: &str, name: &str) -> Result<Value, ApiError> {
        self.objects
            .get(key)
            .and_then(|objs| objs.get(&(ns.to_string(), name.to_string())))
            .cloned()
            .ok_or_else(|| {
                ApiError::not_found(
                    &self
                        .types
                        .get(key)
                        .map(|t| t.plural.clone())
                        .unwrap_or_default(),
                    name,
                )
            })
    }

    /// Every object of a type, in one namespace or (with `None`) all.
    pub fn list(&self, key: &TypeKey, ns: Option<&str>) -> Vec<Value> {
        let Some(objs) = self.objects.get(key) else {
            return vec![];
        };
        match ns {
            Some(ns) => objs
                .range((ns.to_string(), String::new())..)
                .take_while(|((n, _), _)| n == ns)
                .map(|(_, v)| v.clone())
                .collect(),
            None => objs.values().cloned().collect(),
        }
    }

    pub fn create(&mut self, key: &TypeKey, ns: &str, mut obj: Value) -> Result<Value, ApiError> {
        let rt = self.rt(key)?.clone();
        let ns = if rt.namespaced { ns } else { "" };
        if !obj.is_object() {
            return Err(ApiError::bad_request("the body must be a JSON object"));
        }
        let mut name = obj
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if name.is_empty() {
            let prefix = obj
                .pointer("/metadata/generateName")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if prefix.is_empty() {
                return Err(ApiError::invalid(
                    &rt.kind,
                    "",
                    "metadata.name: Required value: name or generateName is required",
                ));
            }
            name = format!("{prefix}{}", random_suffix());
        }
        if rt.namespaced && !ns.is_empty() {
            let ns_key = ("".to_string(), "namespaces".to_string());
            if self.get(&ns_key, "", ns).is_err() {
                return Err(ApiError::not_found("namespaces", ns));
            }
        }
        if self
            .objects
            .get(key)
            .is_some_and(|o| o.contains_key(&(ns.to_string(), name.clone())))
        {
            return Err(ApiError::already_exists(&rt.plural, &name));
        }
        let rv = self.next_rv();
        let meta = obj.as_object_mut().map(|o| {
            o.insert("apiVersion".into(), json!(rt.api_version()));
            o.insert("kind".into(), json!(rt.kind));
            o.entry("metadata").or_insert(json!({}))
        });
        if let Some(Value::Object(meta)) = meta {
            meta.insert("name".into(), json!(name));
            if rt.namespaced {
                meta.insert("namespace".into(), json!(ns));
            } else {
                meta.remove("namespace");
            }
            meta.insert("uid".into(), json!(uuid()));
            meta.insert("resourceVersion".into(), json!(rv.to_string()));
            meta.insert("generation".into(), json!(1));
            meta.insert("creationTimestamp".into(), json!(self.clock.rfc3339()));
            meta.remove("deletionTimestamp");
        }
        if rt.kind == "CustomResourceDefinition" {
            let types = from_crd(&obj)
                .map_err(|m| ApiError::invalid("CustomResourceDefinition", &name, &m))?;
            for t in types {
                self.types.insert(t.key(), t);
            }
            obj["status"] = json!({"conditions": [
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "lastTransitionTime": self.clock.rfc3339()},
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "lastTransitionTime": self.clock.rfc3339()}
            ], "acceptedNames": obj.pointer("/spec/names").cloned().unwrap_or(json!({}))});
        }
        if rt.kind == "Namespace" {
            obj["status"] = json!({"phase": "Active"});
            label_namespace(&mut obj, &name);
        }
        self.objects
            .entry(key.clone())
            .or_default()
            .insert((ns.to_string(), name), obj.clone());
        self.emit(key, ns, "ADDED", obj.clone());
        Ok(obj)
    }

    /// Replaces an object (PUT semantics). A `metadata.resourceVersion` in `new` that is not
    /// the current one is a 409 Conflict.
    pub fn update(
        &mut self,
        key: &TypeKey,
        ns: &str,
        name: &str,
        mut new: Value,
        part: Part,
    ) -> Result<Value, ApiError> {
        let rt = self.rt(key)?.clone();
        let ns = if rt.namespaced { ns } else { "" };
        // Read in place, not cloned, until the new object is stored.
        let Some(old) = self
            .objects
            .get(key)
            .and_then(|objs| objs.get(&(ns.to_string(), name.to_string())))
        else {
            return Err(ApiError::not_found(&rt.plural, name));
        };
        if let Some(rv) = new
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            && !rv.is_empty()
            && Some(rv)
                != old
                    .pointer("/metadata/resourceVersion")
                    .and_then(Value::as_str)
        {
            return Err(ApiError::conflict(&rt.plural, name));
        }
        if !new.is_object() {
            return Err(ApiError::bad_request("the body must be a JSON object"));
        }
        if new
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .is_some_and(|n| n != name)
        {
            return Err(ApiError::bad_request(
                "metadata.name does not match the name in the URL",
            ));
        }
        if rt.kind == "CustomResourceDefinition" && part == Part::Main {
            // New versions and printer columns take effect.
            let types = from_crd(&new)
                .map_err(|m| ApiError::invalid("CustomResourceDefinition", name, &m))?;
            for t in types {
                self.types.insert(t.key(), t);
            }
        }
        if part == Part::Status {
            // Only status changes through the status subresource: the old object with the
            // new status (the old status is not copied only to be replaced).
            let status = new.as_object_mut().and_then(|o| o.remove("status"));
            new = match old.as_object() {
                Some(fields) => Value::Object(
                    fields
                        .iter()
                        .filter(|(k, _)| k.as_str() != "status")
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                ),
                None => old.clone(),
            };
            if let Some(s) = status {
                new["status"] = s;
            }
        } else if rt.status {
            match old.get("status") {
                Some(s) => new["status"] = s.clone(),
                None => {
                    new.as_object_mut().map(|o| o.remove("status"));
                }
            }
        }
        // Fields the server owns.
        for field in [
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "namespace",
            "name",
            "generation",
        ] {
            match old.pointer(&format!("/metadata/{field}")) {
                Some(v) => new["metadata"][field] = v.clone(),
                None => {
                    new.get_mut("metadata")
                        .and_then(Value::as_object_mut)
                        .map(|m| m.remove(field));
                }
            }
        }
        new["apiVersion"] = json!(rt.api_version());
        new["kind"] = json!(rt.kind);
        if rt.kind == "Namespace" {
            label_namespace(&mut new, name);
        }
        if !equal_except(&new, old, &["metadata", "status"], &[]) {
            let generation = old
                .pointer("/metadata/generation")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            new["metadata"]["generation"] = json!(generation + 1);
        }
        if equal_except(&new, old, &[], &["resourceVersion", "managedFields"]) {
            return Ok(old.clone()); // a no-op write does not bump resourceVersion, as in Kubernetes
        }
        let rv = self.next_rv();
        new["metadata"]["resourceVersion"] = json!(rv.to_string());
        let finalizers_empty = new
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_none_or(|f| f.is_empty());
        if new.pointer("/metadata/deletionTimestamp").is_some() && finalizers_empty {
            self.objects
                .entry(key.clone())
                .or_default()
                .insert((ns.to_string(), name.to_string()), new);
            return self.remove(key, ns, name, Propagation::Background);
        }
        self.objects
            .entry(key.clone())
            .or_default()
            .insert((ns.to_string(), name.to_string()), new.clone());
        self.emit(key, ns, "MODIFIED", new.clone());
        Ok(new)
    }

    /// Deletes an object: with finalizers it only gets a deletionTimestamp; otherwise it is
    /// removed and its dependents are garbage-collected per `propagation`.
    pub fn delete(
        &mut self,
        key: &TypeKey,
        ns: &str,
        name: &str,
        propagation: Propagation,
    ) -> Result<Value, ApiError> {
        let rt = self.rt(key)?.clone();
        let ns = if rt.namespaced { ns } else { "" };
        let mut obj = self.get(key, ns, name)?;
        let has_finalizers = obj
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| !f.is_empty());
        if has_finalizers {
            if obj.pointer("/metadata/deletionTimestamp").is_none() {
                obj["metadata"]["deletionTimestamp"] = json!(self.clock.rfc3339());
                obj["metadata"]["deletionGracePeriodSeconds"] = json!(0);
                let rv = self.next_rv();
                obj["metadata"]["resourceVersion"] = json!(rv.to_string());
                self.objects
                    .entry(key.clone())
                    .or_default()
                    .insert((ns.to_string(), name.to_string()), obj.clone());
                self.emit(key, ns, "MODIFIED", obj.clone());
            }
            return Ok(obj);
        }
        self.remove(key, ns, name, propagation)
    }

    fn remove(
        &mut self,
        key: &TypeKey,
        ns: &str,
        name: &str,
        propagation: Propagation,
    ) -> Result<Value, ApiError> {
        let uid = self
            .get(key, ns, name)?
            .pointer("/metadata/uid")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if propagation == Propagation::Foreground {
            self.collect_dependents(&uid, Propagation::Foreground);
        }
        let mut obj = self
            .objects
            .get_mut(key)
            .and_then(|o| o.remove(&(ns.to_string(), name.to_string())))
            .ok_or_else(|| ApiError::not_found(&key.1, name))?;
        let rv = self.next_rv();
        obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        self.emit(key, ns, "DELETED", obj.clone());
        if self
            .types
            .get(key)
            .is_some_and(|t| t.kind == "CustomResourceDefinition")
        {
            self.unregister_crd(&obj);
        }
        if self.types.get(key).is_some_and(|t| t.kind == "Namespace") {
            self.delete_namespace_contents(name);
        }
        if propagation != Propagation::Foreground {
            self.collect_dependents(&uid, propagation);
        }
        Ok(obj)
    }

    /// Objects owned by `uid`: orphaned (owner reference dropped) or deleted once no owner remains.
    fn collect_dependents(&mut self, uid: &str, propagation: Propagation) {
        if uid.is_empty() {
            return;
        }
        let mut dependents = vec![];
        for (key, objs) in &self.objects {
            for ((ns, name), obj) in objs {
                let owned = obj
                    .pointer("/metadata/ownerReferences")
                    .and_then(Value::as_array)
                    .is_some_and(|refs| {
                        refs.iter()
                            .any(|r| r.get("uid").and_then(Value::as_str) == Some(uid))
                    });
                if owned {
                    dependents.push((key.clone(), ns.clone(), name.clone()));
                }
            }
        }
        for (key, ns, name) in dependents {
            let Ok(mut obj) = self.get(&key, &ns, &name) else {
                continue;
            };
            let refs: Vec<Value> = obj
                .pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .map(|r| {
                    r.iter()
                        .filter(|r| r.get("uid").and_then(Value::as_str) != Some(uid))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            if refs.is_empty() && propagation != Propagation::Orphan {
                let _ = self.delete(&key, &ns, &name, propagation);
            } else {
                obj["metadata"]["ownerReferences"] = json!(refs);
                let _ = self.update(&key, &ns, &name, obj, Part::Main);
            }
        }
    }

    fn unregister_crd(&mut self, crd: &Value) {
        if let Ok(types) = from_crd(crd) {
            for t in types {
                let key = t.key();
                let names: Vec<ObjKey> = self
                    .objects
                    .get(&key)
                    .map(|o| o.keys().cloned().collect())
                    .unwrap_or_default();
                for (ns, name) in names {
                    let _ = self.remove(&key, &ns, &name, Propagation::Background);
                }
                self.types.remove(&key);
            }
        }
    }

    fn delete_namespace_contents(&mut self, namespace: &str) {
        let keys: Vec<TypeKey> = self.objects.keys().cloned().collect();
        for key in keys {
            let names: Vec<String> = self
                .list(&key, Some(namespace))
                .iter()
                .filter_map(name_of)
                .collect();
            for name in names {
                let _ = self.remove(&key, namespace, &name, Propagation::Background);
            }
        }
    }
}

pub fn name_of(obj: &Value) -> Option<String> {
    obj.pointer("/metadata/name")
        .and_then(Value::as_str)
        .map(String::from)
}

/// Everything but metadata and status: what `generation` tracks.
/// Whether two objects are equal once the top-level fields `skip` and the metadata fields
/// `skip_meta` are left out — compared in place: cloning both objects to strip them cost
/// more than the rest of a status write.
fn equal_except(a: &Value, b: &Value, skip: &[&str], skip_meta: &[&str]) -> bool {
    fn same(
        a: &serde_json::Map<String, Value>,
        b: &serde_json::Map<String, Value>,
        skip: &[&str],
        inner: &dyn Fn(&str, &Value, &Value) -> bool,
    ) -> bool {
        let kept = |m: &serde_json::Map<String, Value>| {
            m.keys().filter(|k| !skip.contains(&k.as_str())).count()
        };
        kept(a) == kept(b)
            && a.iter()
                .filter(|(k, _)| !skip.contains(&k.as_str()))
                .all(|(k, v)| b.get(k).is_some_and(|w| inner(k, v, w)))
    }
    match (a.as_object(), b.as_object()) {
        (Some(a), Some(b)) => same(a, b, skip, &|k, v, w| match (k, v, w) {
            ("metadata", Value::Object(v), Value::Object(w)) if !skip_meta.is_empty() => {
                same(v, w, skip_meta, &|_, x, y| x == y)
            }
            _ => v == w,
        }),
        _ => a == b,
    }
}

fn uuid() -> String {
    let b: [u8; 16] = rand::random();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        u16::from_be_bytes([b[4], b[5]]),
        u16::from_be_bytes([b[6], b[7]]) & 0x0fff,
        (u16::from_be_bytes([b[8], b[9]]) & 0x3fff) | 0x8000,
        u64::from_be_bytes([0, 0, b[10], b[11], b[12], b[13], b[14], b[15]])
    )
}

/// Five lowercase alphanumerics, as the API server appends to generateName.
pub fn random_suffix() -> String {
    const CHARS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..5)
        .map(|_| CHARS[rand::random_range(0..CHARS.len())] as char)
        .collect()
}

/// The label the real API server keeps on every namespace (its name), which webhook
/// `namespaceSelector`s select on.
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

fn label_namespace(ns: &mut Value, name: &str) {
    if !ns["metadata"]["labels"].is_object() {
        ns["metadata"]["labels"] = json!({});
    }
    ns["metadata"]["labels"][NAMESPACE_NAME_LABEL] = json!(name);
}

#[cfg(test)]
mod tests {
    use super::equal_except;
    use serde_json::json;

    #[test]
    fn equal_except_leaves_out_the_named_fields_only() {
        let a = json!({"metadata": {"name": "a", "resourceVersion": "1", "managedFields": [1]},
                       "spec": {"x": 1}, "status": {"s": 1}});
        let mut b = a.clone();
        b["metadata"]["resourceVersion"] = json!("2");
        b["metadata"]["managedFields"] = json!([]);
        b["status"] = json!({"s": 2});
        // The spec: metadata and status left out.
        assert!(equal_except(&a, &b, &["metadata", "status"], &[]));
        b["spec"]["x"] = json!(2);
        assert!(!equal_except(&a, &b, &["metadata", "status"], &[]));
        // Everything but the resourceVersion and managed fields.
        let mut c = a.clone();
        c["metadata"]["resourceVersion"] = json!("9");
        c["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("managedFields");
        assert!(equal_except(
            &a,
            &c,
            &[],
            &["resourceVersion", "managedFields"]
        ));
        c["metadata"]["labels"] = json!({"l": "v"});
        assert!(!equal_except(
            &a,
            &c,
            &[],
            &["resourceVersion", "managedFields"]
        ));
        let mut d = a.clone();
        d["status"] = json!({"s": 2});
        assert!(!equal_except(
            &a,
            &d,
            &[],
            &["resourceVersion", "managedFields"]
        ));
        // A field only one side has differs, whichever side.
        let mut e = a.clone();
        e["extra"] = json!(null);
        assert!(!equal_except(&a, &e, &["metadata"], &[]));
        assert!(!equal_except(&e, &a, &["metadata"], &[]));
    }
}

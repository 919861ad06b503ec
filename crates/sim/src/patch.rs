//! The patch types of the Kubernetes API: JSON merge patch (RFC 7386), JSON patch
//! (RFC 6902), and strategic merge patch as far as kubectl and prescale need it: like a
//! merge patch, except that lists of objects carrying a `name` (containers, env, ports,
//! volumes, conditions by `type`) are merged element by element.

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    Merge,
    Json,
    Strategic,
    Apply,
}

impl PatchType {
    pub fn from_content_type(ct: &str) -> Option<Self> {
        let ct = ct.split(';').next().unwrap_or_default().trim();
        match ct {
            "application/merge-patch+json" => Some(PatchType::Merge),
            "application/json-patch+json" => Some(PatchType::Json),
            "application/strategic-merge-patch+json" => Some(PatchType::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+json" => {
                Some(PatchType::Apply)
            }
            _ => None,
        }
    }
}

pub fn apply_patch(target: &Value, patch: &Value, kind: PatchType) -> Result<Value, String> {
    let mut out = target.clone();
    match kind {
        PatchType::Merge => json_patch::merge(&mut out, patch),
        PatchType::Json => {
            let ops: json_patch::Patch = serde_json::from_value(patch.clone())
                .map_err(|e| format!("invalid JSON patch: {e}"))?;
            json_patch::patch(&mut out, &ops).map_err(|e| format!("JSON patch failed: {e}"))?;
        }
        // Server-side apply is simplified to a strategic merge of the applied configuration:
        // fields the manager no longer sets are not removed (no field ownership is kept).
        PatchType::Strategic | PatchType::Apply => strategic_merge(&mut out, patch),
    }
    Ok(out)
}

fn merge_key(items: &[Value]) -> Option<&'static str> {
    ["name", "type", "containerPort", "mountPath"]
        .into_iter()
        .find(|key| !items.is_empty() && items.iter().all(|i| i.get(*key).is_some()))
}

fn strategic_merge(target: &mut Value, patch: &Value) {
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Default::default());
    }
    let Value::Object(target_map) = target else {
        return;
    };
    for (key, value) in patch_map {
        if key.starts_with("$setElementOrder") || key == "$patch" || key.starts_with("$retainKeys")
        {
            continue;
        }
        match value {
            Value::Null => {
                target_map.remove(key);
            }
            Value::Array(patch_items) => {
                let existing = target_map.get_mut(key);
                match (existing, merge_key(patch_items)) {
                    (Some(Value::Array(items)), Some(mk))
                        if merge_key(items).is_some() || items.is_empty() =>
                    {
                        for p in patch_items {
                            let id = p.get(mk).cloned();
                            let delete = p.get("$patch").and_then(Value::as_str) == Some("delete");
                            match items.iter().position(|i| i.get(mk) == id.as_ref()) {
                                Some(pos) if delete => {
                                    items.remove(pos);
                                }
                                Some(pos) => strategic_merge(&mut items[pos], p),
                                None if !delete => items.push(p.clone()),
                                None => {}
                            }
                        }
                    }
                    _ => {
                        target_map.insert(key.clone(), value.clone());
                    }
                }
            }
            Value::Object(_) => {
                strategic_merge(target_map.entry(key.clone()).or_insert(Value::Null), value)
            }
            _ => {
                target_map.insert(key.clone(), value.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn strategic_merge_merges_containers_by_name() {
        let target = json!({"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}});
        let patch = json!({"spec": {"containers": [{"name": "b", "image": "z"}]}});
        let out = apply_patch(&target, &patch, PatchType::Strategic).unwrap();
        assert_eq!(out["spec"]["containers"][0]["image"], "x");
        assert_eq!(out["spec"]["containers"][1]["image"], "z");
        let merged = apply_patch(&target, &patch, PatchType::Merge).unwrap();
        assert_eq!(merged["spec"]["containers"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn json_patch_and_null_removal() {
        let target = json!({"a": 1, "b": {"c": 2}});
        let out = apply_patch(
            &target,
            &json!([{"op": "replace", "path": "/a", "value": 5}]),
            PatchType::Json,
        )
        .unwrap();
        assert_eq!(out["a"], 5);
        let out = apply_patch(&target, &json!({"b": null}), PatchType::Strategic).unwrap();
        assert!(out.get("b").is_none());
        assert!(
            apply_patch(
                &target,
                &json!([{"op": "test", "path": "/a", "value": 9}]),
                PatchType::Json
            )
            .is_err()
        );
    }
}

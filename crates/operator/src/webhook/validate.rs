//! The validating webhook's decision: the same checks as `prescale validate`
//! (`prescale_api::manifest::check_document`), so rules CEL cannot express — cron syntax,
//! quantities, cross-field rules — are enforced at `kubectl apply`, each problem named by
//! its field path.
//!
//! An UPDATE that leaves the spec as it was is always allowed: an object stored before
//! the webhook existed (or while it was down) must still be able to lose its finalizers,
//! change labels and be deleted.

use serde_json::Value;

/// Allowed, or refused with every problem (`path: message`), joined.
pub fn check(object: &Value, old: Option<&Value>) -> Result<(), String> {
    if let Some(old) = old
        && old.get("spec") == object.get("spec")
    {
        return Ok(());
    }
    match prescale_api::manifest::check_document(object) {
        prescale_api::manifest::Verdict::Invalid(errors) => Err(errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn target(cron: &str) -> Value {
        json!({
            "apiVersion": "thoras.ai/v1", "kind": "AIScaleTarget",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
                     "horizontal": {"mode": "recommendation", "predictive": {"schedule": cron}}},
        })
    }

    #[test]
    fn refuses_with_the_field_path_and_lets_unchanged_specs_through() {
        let bad = json!({
            "apiVersion": "thoras.ai/v1", "kind": "AIScaleTarget",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
                     "vertical": {"mode": "autonomous", "containers": [
                         {"name": "app", "memory": {"lowerbound": "lots"}}]}},
        });
        let err = check(&bad, None).unwrap_err();
        assert!(err.contains("spec.vertical.containers[0]"), "{err}");
        let mut relabelled = bad.clone();
        relabelled["metadata"]["labels"] = json!({"a": "b"});
        assert_eq!(check(&relabelled, Some(&bad)), Ok(()));
        let _ = target("*/5 * * * *");
    }

    #[test]
    fn other_kinds_are_not_judged() {
        assert_eq!(
            check(&json!({"apiVersion": "v1", "kind": "Pod"}), None),
            Ok(())
        );
    }
}

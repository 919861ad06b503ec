//! Validation of a ClusterAIScaleTemplate spec.

use super::target::directions;
use super::{Errors, FieldError};
use crate::rules;
use crate::template::ClusterAIScaleTemplateSpec;

pub fn validate_template_spec(spec: &ClusterAIScaleTemplateSpec) -> Vec<FieldError> {
    let mut errors = Errors::default();
    for (i, req) in spec.selector.match_expressions.iter().flatten().enumerate() {
        let at = format!("spec.selector.matchExpressions[{i}]");
        let has_values = req.values.as_ref().is_some_and(|v| !v.is_empty());
        match req.operator.as_str() {
            "In" | "NotIn" if !has_values => {
                errors.add(format!("{at}.values"), "required for In and NotIn")
            }
            "Exists" | "DoesNotExist" if has_values => errors.add(
                format!("{at}.values"),
                "must be empty for Exists and DoesNotExist",
            ),
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            other => errors.add(
                format!("{at}.operator"),
                format!("unknown operator {other:?}: use In, NotIn, Exists or DoesNotExist"),
            ),
        }
    }
    let t = &spec.template;
    directions(
        &mut errors,
        "spec.template",
        &t.model,
        t.horizontal.as_ref(),
        t.vertical.as_ref(),
    );
    if let Some(policy) = &spec.policy
        && policy.included_namespaces.is_some()
        && policy.excluded_namespaces.is_some()
    {
        errors.add(
            "spec.policy.excludedNamespaces",
            rules::INCLUDED_XOR_EXCLUDED.message,
        );
    }
    errors.0
}

//! Validation of a ClusterAIScaleTemplate spec.

use super::fields::label_selector;
use super::target::directions;
use super::{Errors, FieldError};
use crate::rules;
use crate::template::ClusterAIScaleTemplateSpec;

pub fn validate_template_spec(spec: &ClusterAIScaleTemplateSpec) -> Vec<FieldError> {
    let mut errors = Errors::default();
    label_selector(&mut errors, "spec.selector", &spec.selector);
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
            rules::INCLUDED_XOR_EXCLUDED.path("spec.policy"),
            rules::INCLUDED_XOR_EXCLUDED.message,
        );
    }
    errors.0
}

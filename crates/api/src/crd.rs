//! The CustomResourceDefinitions, generated from the Rust types, then finished: every string,
//! list and map the types do not bound gets the default of `limits` (the API server
//! estimates the cost of CEL rules from these bounds and refuses a CRD without them), and
//! descriptions read as one paragraph each in `kubectl explain`.

use std::sync::LazyLock;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};
use kube::CustomResourceExt;

use crate::limits;
use crate::podautoscaler::PodAutoscaler;
use crate::{AIScaleTarget, ClusterAIScaleTemplate};

/// Every CRD of the API: AIScaleTarget, ClusterAIScaleTemplate, then AIBrix's PodAutoscaler.
pub fn crds() -> Vec<CustomResourceDefinition> {
    [
        AIScaleTarget::crd(),
        ClusterAIScaleTemplate::crd(),
        PodAutoscaler::crd(),
    ]
    .into_iter()
    .map(bounded)
    .collect()
}

/// Every CRD as one multi-document YAML stream (what `prescale crds` prints and
/// `deploy/crds.yaml` holds).
pub fn crds_yaml() -> String {
    crds()
        .iter()
        .map(|crd| serde_saphyr::to_string(crd).unwrap_or_default())
        .map(|doc| format!("---\n{doc}"))
        .collect()
}

/// The OpenAPI schema of a kind of the API (`AIScaleTarget`, `ClusterAIScaleTemplate`,
/// `PodAutoscaler`), as the API server holds it.
pub fn schema_of(kind: &str) -> Option<&'static JSONSchemaProps> {
    static CRDS: LazyLock<Vec<CustomResourceDefinition>> = LazyLock::new(crds);
    CRDS.iter()
        .find(|crd| crd.spec.names.kind == kind)
        .and_then(|crd| crd.spec.versions.first())
        .and_then(|v| v.schema.as_ref())
        .and_then(|s| s.open_api_v3_schema.as_ref())
}

fn bounded(mut crd: CustomResourceDefinition) -> CustomResourceDefinition {
    for version in &mut crd.spec.versions {
        if let Some(schema) = version
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
        {
            finish(schema);
        }
    }
    crd
}

/// Sets the default bound on every string, list and map without one (enumerations are
/// bounded by their values already), unwraps doc-comment line breaks, and drops what the
/// derive leaves behind: `null` among enum values, empty `anyOf` branches on int-or-string
/// fields.
fn finish(s: &mut JSONSchemaProps) {
    if let Some(d) = s.description.as_mut() {
        *d = one_paragraph_per_line(d);
    }
    // `nullable: true` already admits null; listed as an enum value it only clutters
    // `kubectl explain` and the server's "supported values".
    if let Some(values) = s.enum_.as_mut() {
        values.retain(|v| !v.0.is_null());
    }
    if s.any_of
        .as_ref()
        .is_some_and(|branches| branches.iter().all(|b| *b == JSONSchemaProps::default()))
    {
        s.any_of = None;
    }
    let int_or_string = s.x_kubernetes_int_or_string == Some(true);
    match s.type_.as_deref() {
        Some("string") if s.enum_.is_none() && s.max_length.is_none() => {
            s.max_length = Some(limits::DEFAULT_MAX_LENGTH as i64);
        }
        Some("array") if s.max_items.is_none() => {
            s.max_items = Some(limits::DEFAULT_MAX_ITEMS as i64);
        }
        Some("object")
            if s.max_properties.is_none()
                && matches!(
                    s.additional_properties,
                    Some(JSONSchemaPropsOrBool::Schema(_))
                ) =>
        {
            s.max_properties = Some(limits::DEFAULT_MAX_PROPERTIES as i64);
        }
        None if int_or_string && s.max_length.is_none() => {
            s.max_length = Some(limits::DEFAULT_MAX_LENGTH as i64);
        }
        _ => {}
    }
    for child in children_mut(s) {
        finish(child);
    }
}

/// Joins the lines of each paragraph of a doc comment (paragraphs stay apart).
fn one_paragraph_per_line(text: &str) -> String {
    text.split("\n\n")
        .map(|paragraph| {
            paragraph
                .lines()
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// The sub-schemas of a schema: properties, list items and map values.
fn children_mut(s: &mut JSONSchemaProps) -> Vec<&mut JSONSchemaProps> {
    let mut out: Vec<&mut JSONSchemaProps> = Vec::new();
    if let Some(props) = s.properties.as_mut() {
        out.extend(props.values_mut());
    }
    match s.items.as_mut() {
        Some(JSONSchemaPropsOrArray::Schema(item)) => out.push(item),
        Some(JSONSchemaPropsOrArray::Schemas(items)) => out.extend(items.iter_mut()),
        None => {}
    }
    if let Some(JSONSchemaPropsOrBool::Schema(values)) = s.additional_properties.as_mut() {
        out.push(values);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every node of a schema with its path (`.spec.model.forecast_blocks`, `[*]` for list
    /// items, `{*}` for map values).
    fn walk<'a>(
        s: &'a JSONSchemaProps,
        path: String,
        out: &mut Vec<(String, &'a JSONSchemaProps)>,
    ) {
        out.push((path.clone(), s));
        for (name, child) in s.properties.iter().flatten() {
            walk(child, format!("{path}.{name}"), out);
        }
        if let Some(JSONSchemaPropsOrArray::Schema(item)) = &s.items {
            walk(item, format!("{path}[*]"), out);
        }
        if let Some(JSONSchemaPropsOrBool::Schema(values)) = &s.additional_properties {
            walk(values, format!("{path}{{*}}"), out);
        }
    }

    fn nodes() -> Vec<(String, JSONSchemaProps)> {
        let mut out = vec![];
        for crd in crds() {
            let schema = crd.spec.versions[0]
                .schema
                .clone()
                .unwrap()
                .open_api_v3_schema
                .unwrap();
            let mut nodes = vec![];
            walk(&schema, crd.spec.names.kind.clone(), &mut nodes);
            out.extend(nodes.into_iter().map(|(p, s)| (p, s.clone())));
        }
        out
    }

    #[test]
    fn every_string_list_and_map_is_bounded() {
        for (path, s) in nodes() {
            let unbounded = match s.type_.as_deref() {
                Some("string") => s.max_length.is_none() && s.enum_.is_none(),
                Some("array") => s.max_items.is_none(),
                Some("object") => s.additional_properties.is_some() && s.max_properties.is_none(),
                _ => s.x_kubernetes_int_or_string == Some(true) && s.max_length.is_none(),
            };
            assert!(!unbounded, "{path} is unbounded");
        }
    }

    #[test]
    fn every_field_and_type_has_a_real_description() {
        for (path, s) in nodes() {
            // List items and map values of scalars are described by their list or map.
            let scalar_member = (path.ends_with("[*]") || path.ends_with("{*}"))
                && s.type_.as_deref() != Some("object");
            if scalar_member {
                continue;
            }
            let description = s.description.as_deref().unwrap_or_default();
            assert!(
                description.trim().len() >= 10,
                "{path} has no description: kubectl explain would show nothing"
            );
            for generated in ["Auto-generated", "derived type", "via `CustomResource`"] {
                assert!(
                    !description.contains(generated),
                    "{path} has generator text: {description:?}"
                );
            }
        }
    }

    #[test]
    fn the_lists_the_server_merges_by_key_are_maps() {
        let containers = nodes()
            .into_iter()
            .find(|(p, _)| p == "AIScaleTarget.spec.vertical.containers")
            .unwrap()
            .1;
        assert_eq!(containers.x_kubernetes_list_type.as_deref(), Some("map"));
        assert_eq!(
            containers.x_kubernetes_list_map_keys,
            Some(vec!["name".to_string()])
        );
        assert_eq!(containers.max_items, Some(limits::CONTAINERS as i64));
    }
}

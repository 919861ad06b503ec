//! `prescale validate` must never panic, whatever it is given.

use prescale_api::manifest::{check_document, parse_documents};
use proptest::prelude::*;

const BASE: &str = "apiVersion: thoras.ai/v1\nkind: AIScaleTarget\nmetadata:\n  name: x\n  namespace: y\nspec:\n  scaleTargetRef:\n    kind: Deployment\n    name: x\n  model:\n    forecast_blocks: 15m\n    forecast_cron: '*/15 * * * *'\n  vertical:\n    containers:\n    - name: a\n      cpu: {lowerbound: 1m}\n      memory: {lowerbound: 1Mi}\n";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        if let Ok(docs) = parse_documents(&text) {
            for d in &docs {
                let _ = check_document(d);
            }
        }
    }

    #[test]
    fn mutated_manifests_never_panic(pos in 0usize..BASE.len(), insert in "[ -~\\n]{0,12}") {
        let mut text = BASE.to_string();
        let pos = (0..=pos).rev().find(|p| text.is_char_boundary(*p)).unwrap_or(0);
        text.insert_str(pos, &insert);
        if let Ok(docs) = parse_documents(&text) {
            for d in &docs {
                let _ = check_document(d);
            }
        }
    }

    #[test]
    fn arbitrary_field_values_never_panic(value in "\\PC{0,16}", field in 0usize..6) {
        let fields = ["forecast_blocks", "forecast_cron", "forecast_buffer_percentage", "forecast_interval", "min_lookback_to_scale", "percentile_value"];
        let text = format!("{BASE}    {}: {:?}\n", fields[field], value).replace("  vertical:", "  vertical:");
        let text = text.replace("  model:\n", &format!("  model:\n    {}: {:?}\n", fields[field], value));
        if let Ok(docs) = parse_documents(&text) {
            for d in &docs {
                let _ = check_document(d);
            }
        }
    }
}

/// Any JSON value: the structural walk meets every type at every field.
fn any_json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::{Value, json};
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        "\\PC{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z_*{} ]{0,12}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_value_at_any_field_never_panics(value in any_json(), at in 0usize..12) {
        let pointers = [
            "/metadata", "/metadata/name", "/spec", "/spec/model", "/spec/scaleTargetRef",
            "/spec/vertical", "/spec/vertical/containers", "/spec/vertical/containers/0/cpu",
            "/spec/vertical/containers/0/cpu/lowerbound", "/spec/selector", "/spec/horizontal",
            "/spec/model/metrics",
        ];
        let mut doc = parse_documents(BASE).unwrap().remove(0);
        let (parent, field) = pointers[at].rsplit_once('/').unwrap();
        let parent = if parent.is_empty() { Some(&mut doc) } else { doc.pointer_mut(parent) };
        if let Some(serde_json::Value::Object(map)) = parent {
            map.insert(field.to_string(), value.clone());
        }
        let _ = check_document(&doc);
        let mut template = doc.clone();
        template["kind"] = "ClusterAIScaleTemplate".into();
        let _ = check_document(&template);
    }
}

const PODAUTOSCALER: &str = "apiVersion: autoscaling.aibrix.ai/v1alpha1\nkind: PodAutoscaler\nmetadata:\n  name: x\n  namespace: y\n  annotations:\n    autoscaling.aibrix.ai/panic-threshold: '2'\nspec:\n  scalingStrategy: KPA\n  maxReplicas: 4\n  schedules:\n  - {name: a, timezone: UTC, daysOfWeek: [Mon], startTime: '09:00', endTime: '10:00', minReplicas: 2}\n  metricsSources:\n  - {metricSourceType: pod, protocolType: http, port: '8000', path: /metrics, targetMetric: m, targetValue: '1'}\n  scaleTargetRef: {kind: Deployment, name: x}\n";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_value_at_any_podautoscaler_field_never_panics(value in any_json(), at in 0usize..12) {
        let pointers = [
            "/metadata/annotations", "/metadata/annotations/autoscaling.aibrix.ai~1scale-to-zero",
            "/spec", "/spec/schedules", "/spec/schedules/0", "/spec/schedules/0/timezone",
            "/spec/schedules/0/startTime", "/spec/metricsSources", "/spec/metricsSources/0",
            "/spec/metricsSources/0/targetValue", "/spec/predictive", "/spec/scaleTargetRef",
        ];
        let mut doc = parse_documents(PODAUTOSCALER).unwrap().remove(0);
        let (parent, field) = pointers[at].rsplit_once('/').unwrap();
        let field = field.replace("~1", "/");
        if let Some(serde_json::Value::Object(map)) = doc.pointer_mut(parent) {
            map.insert(field, value);
        }
        let _ = check_document(&doc);
    }
}

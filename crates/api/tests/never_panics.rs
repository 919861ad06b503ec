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

//! Every example of the seeds validates; every deliberately wrong manifest is refused with
//! the field path its header (`# expect: <path>`) names.

mod common;

use common::{at, fixtures, load};
use prescale_api::manifest::{Verdict, check_document};
use prescale_api::podautoscaler::PodAutoscaler;
use prescale_api::{AIScaleTarget, ClusterAIScaleTemplate};

#[test]
fn every_seed_example_validates() {
    let files = fixtures("valid");
    assert!(
        files.len() >= 10,
        "expected the seed examples, found {}",
        files.len()
    );
    let mut failures = vec![];
    for file in files {
        let fixture = load(&file);
        assert!(!fixture.docs.is_empty(), "{}", fixture.name);
        for doc in &fixture.docs {
            match check_document(doc) {
                Verdict::Valid(_) => {}
                other => failures.push(format!("{}: {other:?}", fixture.name)),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_wrong_manifest_is_refused_at_its_field() {
    let files = fixtures("invalid");
    assert!(
        files.len() >= 25,
        "at least 25 wrong manifests, found {}",
        files.len()
    );
    let mut failures = vec![];
    for file in files {
        let fixture = load(&file);
        let Some(expected) = fixture.expect else {
            failures.push(format!(
                "{}: first line must be `# expect: <path>`",
                fixture.name
            ));
            continue;
        };
        match check_document(&fixture.docs[0]) {
            Verdict::Invalid(errors) => {
                if !errors.iter().any(|e| at(&e.path, &expected)) {
                    failures.push(format!(
                        "{}: expected an error at {expected}, got {errors:?}",
                        fixture.name
                    ));
                }
                if let Some(e) = errors.iter().find(|e| e.message.is_empty()) {
                    failures.push(format!("{}: empty message at {}", fixture.name, e.path));
                }
            }
            other => failures.push(format!(
                "{}: {other:?}, expected an error at {expected}",
                fixture.name
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn valid_manifests_round_trip_with_the_users_spelling() {
    for file in fixtures("valid") {
        for doc in load(&file).docs {
            let back = match doc["kind"].as_str() {
                Some("AIScaleTarget") => serde_json::to_value(
                    serde_json::from_value::<AIScaleTarget>(doc.clone()).unwrap(),
                )
                .unwrap(),
                Some("ClusterAIScaleTemplate") => serde_json::to_value(
                    serde_json::from_value::<ClusterAIScaleTemplate>(doc.clone()).unwrap(),
                )
                .unwrap(),
                Some("PodAutoscaler") => serde_json::to_value(
                    serde_json::from_value::<PodAutoscaler>(doc.clone()).unwrap(),
                )
                .unwrap(),
                other => panic!("unexpected kind {other:?}"),
            };
            assert_eq!(
                numbers_as_floats(&back["spec"]),
                numbers_as_floats(&doc["spec"]),
                "{}",
                file.display()
            );
        }
    }
}

/// `50` and `50.0` are the same value of a `number` field; everything else must match exactly.
fn numbers_as_floats(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Number(n) => serde_json::json!(n.as_f64()),
        Value::Array(a) => Value::Array(a.iter().map(numbers_as_floats).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), numbers_as_floats(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

//! Every example of the seeds validates; every deliberately wrong manifest is refused with
//! the field path its header (`# expect: <path>`) names.

use std::path::{Path, PathBuf};

use prescale_api::manifest::{Verdict, check_document, parse_documents};
use prescale_api::{AIScaleTarget, ClusterAIScaleTemplate};

fn fixtures(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_seed_example_validates() {
    let files = fixtures("valid");
    assert!(
        files.len() >= 10,
        "expected the seed examples, found {}",
        files.len()
    );
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let docs = parse_documents(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(!docs.is_empty(), "{}", file.display());
        for doc in docs {
            match check_document(&doc) {
                Verdict::Valid(_) => {}
                other => panic!("{}: {other:?}", file.display()),
            }
        }
    }
}

#[test]
fn every_wrong_manifest_is_refused_at_its_field() {
    let files = fixtures("invalid");
    assert!(
        files.len() >= 25,
        "at least 25 wrong manifests, found {}",
        files.len()
    );
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let expected = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{}: first line must be `# expect: <path>`", file.display()))
            .trim()
            .to_string();
        let docs = parse_documents(&text).unwrap();
        let Verdict::Invalid(errors) = check_document(&docs[0]) else {
            panic!(
                "{}: accepted, expected an error at {expected}",
                file.display()
            );
        };
        assert!(
            errors
                .iter()
                .any(|e| e.path == expected || e.path.starts_with(&format!("{expected}."))),
            "{}: expected an error at {expected}, got {errors:?}",
            file.display()
        );
        for e in &errors {
            assert!(
                !e.message.is_empty(),
                "{}: empty message at {}",
                file.display(),
                e.path
            );
        }
    }
}

#[test]
fn valid_manifests_round_trip_with_the_users_spelling() {
    for file in fixtures("valid") {
        let text = std::fs::read_to_string(&file).unwrap();
        for doc in parse_documents(&text).unwrap() {
            let back = match doc["kind"].as_str() {
                Some("AIScaleTarget") => serde_json::to_value(
                    serde_json::from_value::<AIScaleTarget>(doc.clone()).unwrap(),
                )
                .unwrap(),
                Some("ClusterAIScaleTemplate") => serde_json::to_value(
                    serde_json::from_value::<ClusterAIScaleTemplate>(doc.clone()).unwrap(),
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

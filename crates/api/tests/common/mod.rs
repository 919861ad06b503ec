//! Shared by the fixture tests: the fixture files and their `# expect: <path>` headers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use prescale_api::manifest::parse_documents;
use serde_json::Value;

/// The fixtures of `tests/fixtures/<dir>`, sorted by name.
pub fn fixtures(dir: &str) -> Vec<PathBuf> {
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

/// A fixture: its file name, the path its header expects an error at (wrong fixtures), and
/// its documents.
pub struct Fixture {
    pub name: String,
    pub expect: Option<String>,
    pub docs: Vec<Value>,
}

pub fn load(path: &Path) -> Fixture {
    let text = std::fs::read_to_string(path).unwrap();
    let expect = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("# expect: "))
        .map(|p| p.trim().to_string());
    let docs = parse_documents(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Fixture {
        name: path.file_name().unwrap().to_string_lossy().into_owned(),
        expect,
        docs,
    }
}

/// Whether an error at `path` is the one a fixture expects at `expected` (or inside it).
pub fn at(path: &str, expected: &str) -> bool {
    path.strip_prefix(expected)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
}

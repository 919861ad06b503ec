//! docs/ARCHITECTURE.md stays true to the code: its table of the operator's modules lists
//! exactly the modules of `crates/operator/src`, its crate table names every crate, and
//! every module folder of every crate is named.

use std::collections::BTreeSet;
use std::path::Path;

#[test]
fn the_architecture_lists_every_operator_module_and_no_other() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("../../docs/ARCHITECTURE.md")).unwrap();
    let documented = first_column(&doc, "### Modules of `crates/operator/src`");
    let in_tree: BTreeSet<String> = std::fs::read_dir(root.join("src"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_string();
            match p.extension() {
                Some(ext) if ext == "rs" => {
                    (name != "lib.rs").then(|| name.trim_end_matches(".rs").to_string())
                }
                None if p.is_dir() => Some(name),
                _ => None,
            }
        })
        .collect();
    assert_eq!(
        documented, in_tree,
        "docs/ARCHITECTURE.md's module table and crates/operator/src disagree"
    );
}

/// The first column of the markdown table following `heading`, without backticks.
fn first_column(doc: &str, heading: &str) -> BTreeSet<String> {
    doc.split(heading)
        .nth(1)
        .unwrap_or_else(|| panic!("docs/ARCHITECTURE.md has no {heading:?}"))
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| {
            let first = l.trim_start_matches('|').split('|').next()?.trim();
            Some(first.strip_prefix('`')?.strip_suffix('`')?.to_string())
        })
        .collect()
}

/// Sub-folders of `dir`, as paths relative to `base`, recursively.
fn folders(base: &Path, dir: &Path, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            let rel = p
                .strip_prefix(base)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.insert(rel);
            folders(base, &p, out);
        }
    }
}

#[test]
fn the_architecture_names_every_crate_and_module_folder() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let crates_dir = root.join("..");
    let doc = std::fs::read_to_string(crates_dir.join("../docs/ARCHITECTURE.md")).unwrap();
    let crates: BTreeSet<String> = std::fs::read_dir(&crates_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("Cargo.toml").exists())
        .map(|p| p.file_name().unwrap().to_string_lossy().to_string())
        .collect();
    let documented_crates = first_column(&doc, "| crate | owns | I/O? |");
    assert_eq!(
        documented_crates, crates,
        "docs/ARCHITECTURE.md's crate table and crates/ disagree"
    );
    let operator_modules = first_column(&doc, "### Modules of `crates/operator/src`");
    let other_folders = first_column(&doc, "### Module folders of the other crates");
    let mut in_tree = BTreeSet::new();
    for krate in &crates {
        let src = crates_dir.join(krate).join("src");
        if src.is_dir() {
            folders(&crates_dir, &src, &mut in_tree);
        }
    }
    let missing: Vec<&String> = in_tree
        .iter()
        .filter(|f| {
            let operator_module = f
                .strip_prefix("operator/src/")
                .is_some_and(|m| operator_modules.contains(m));
            !operator_module && !other_folders.contains(*f)
        })
        .collect();
    assert!(
        missing.is_empty(),
        "module folders docs/ARCHITECTURE.md does not name: {missing:?}"
    );
    let stale: Vec<&String> = other_folders.difference(&in_tree).collect();
    assert!(
        stale.is_empty(),
        "docs/ARCHITECTURE.md names folders that do not exist: {stale:?}"
    );
}

//! docs/ARCHITECTURE.md stays true to the code: its table of the operator's modules lists
//! exactly the modules of `crates/operator/src`.

use std::collections::BTreeSet;
use std::path::Path;

#[test]
fn the_architecture_lists_every_operator_module_and_no_other() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("../../docs/ARCHITECTURE.md")).unwrap();
    let section = doc
        .split("### Modules of `crates/operator/src`")
        .nth(1)
        .expect("docs/ARCHITECTURE.md has the module table");
    let documented: BTreeSet<String> = section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| {
            let first = l.trim_start_matches('|').split('|').next()?.trim();
            Some(first.strip_prefix('`')?.strip_suffix('`')?.to_string())
        })
        .collect();
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

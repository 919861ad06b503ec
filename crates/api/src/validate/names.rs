//! Object names, checked as the API server checks them: `metadata.name` is a DNS-1123
//! subdomain (at most 253 characters), `metadata.namespace` a DNS-1123 label (at most 63).
//! The seeds' examples hold placeholders such as `{{ YOUR_AST_NAME }}`; a server refuses
//! them, so `validate` does too and says what to put there.

use serde_json::Value;

use super::Errors;
use super::schema::matches;
use crate::limits;
use crate::rules::{self, PatternText};

/// What kind of name a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    /// Object names: `metadata.name`, workload names.
    Subdomain,
    /// Namespaces and container names.
    Label,
}

impl NameKind {
    fn format(self) -> (PatternText, u64) {
        match self {
            NameKind::Subdomain => (rules::DNS_SUBDOMAIN, limits::DNS_SUBDOMAIN),
            NameKind::Label => (rules::DNS_LABEL, limits::DNS_LABEL),
        }
    }
}

/// Why `name` is not a valid name of this kind, or `None` when it is.
pub fn name_problem(kind: NameKind, name: &str) -> Option<String> {
    let (format, max) = kind.format();
    if is_placeholder(name) {
        return Some(mismatch(name, format));
    }
    if name.is_empty() {
        return Some("must not be empty".into());
    }
    let length = name.chars().count() as u64;
    if length > max {
        return Some(format!("at most {max} characters, found {length}"));
    }
    if matches(format.pattern, name) == Some(false) {
        return Some(mismatch(name, format));
    }
    None
}

/// A template placeholder left in a manifest, as in the seeds' `{{ YOUR_AST_NAME }}`.
fn is_placeholder(value: &str) -> bool {
    value.contains("{{") || value.contains("}}")
}

/// What is wrong with a value that does not match its format, and what to write instead.
pub(crate) fn mismatch(value: &str, format: PatternText) -> String {
    if is_placeholder(value) {
        format!(
            "{value:?} is a placeholder: replace it with a real value, which {}",
            format.message
        )
    } else {
        format!("{value:?} {}", format.message)
    }
}

/// Checks `metadata` of a thoras.ai object: a name (or generateName) that the server takes,
/// and for namespaced kinds a valid namespace when one is given.
pub(crate) fn check_metadata(errors: &mut Errors, doc: &Value, namespaced: bool) {
    let Some(meta) = doc.get("metadata") else {
        errors.add("metadata.name", "required: every object needs a name");
        return;
    };
    let Value::Object(meta) = meta else {
        errors.add("metadata", "must be an object with at least a name");
        return;
    };
    match (meta.get("name"), meta.get("generateName")) {
        (Some(Value::String(name)), _) => {
            if let Some(problem) = name_problem(NameKind::Subdomain, name) {
                errors.add("metadata.name", problem);
            }
        }
        (Some(other), _) => errors.add("metadata.name", format!("must be a string, found {other}")),
        (None, Some(Value::String(_))) => {}
        (None, _) => errors.add("metadata.name", "required: every object needs a name"),
    }
    if namespaced {
        match meta.get("namespace") {
            Some(Value::String(ns)) => {
                if let Some(problem) = name_problem(NameKind::Label, ns) {
                    errors.add("metadata.namespace", problem);
                }
            }
            Some(other) => errors.add(
                "metadata.namespace",
                format!("must be a string, found {other}"),
            ),
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn placeholders_are_refused_with_the_fix() {
        let problem = name_problem(NameKind::Subdomain, "{{ YOUR_AST_NAME }}").unwrap();
        assert!(problem.contains("placeholder"), "{problem}");
        assert!(problem.contains("replace it"), "{problem}");
    }

    #[test]
    fn names_as_the_server_takes_them() {
        for ok in ["checkout", "a", "web-1", "my.service", &"a".repeat(253)] {
            assert_eq!(name_problem(NameKind::Subdomain, ok), None, "{ok}");
        }
        for bad in [
            "",
            "Web",
            "-web",
            "web-",
            "web_1",
            "a..b",
            ".a",
            &"a".repeat(254),
        ] {
            assert!(name_problem(NameKind::Subdomain, bad).is_some(), "{bad:?}");
        }
        assert_eq!(name_problem(NameKind::Label, "kube-system"), None);
        for bad in ["my.ns", "Shop", &"a".repeat(64)] {
            assert!(name_problem(NameKind::Label, bad).is_some(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn a_label_is_a_subdomain(name in "[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?") {
            prop_assert_eq!(name_problem(NameKind::Label, &name), None);
            prop_assert_eq!(name_problem(NameKind::Subdomain, &name), None);
        }

        #[test]
        fn uppercase_never_passes(prefix in "[a-z0-9]{0,10}", upper in "[A-Z]", suffix in "[a-z0-9]{0,10}") {
            let name = format!("{prefix}{upper}{suffix}");
            prop_assert!(name_problem(NameKind::Subdomain, &name).is_some());
        }

        #[test]
        fn arbitrary_names_never_panic(name in "\\PC{0,300}") {
            let _ = name_problem(NameKind::Subdomain, &name);
            let _ = name_problem(NameKind::Label, &name);
        }
    }
}

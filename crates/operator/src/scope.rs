//! Which objects one operator manages: every namespace (the default) or a listed set
//! (`--watch-namespaces`), and every ClusterAIScaleTemplate or only those whose labels
//! match `--template-selector`. Several operators can then share a cluster — one per
//! tenant, or tests on a shared API server — without touching each other's objects.

use std::collections::BTreeSet;

use kube::api::{Api, ListParams};
use kube::core::{ApiResource, DynamicObject};
use kube::{Client, Resource};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// `None`: every namespace.
    pub namespaces: Option<BTreeSet<String>>,
    /// A label selector (`key=value,key2=value2`) templates must match; `None`: all.
    pub template_selector: Option<String>,
}

impl Scope {
    /// Everything: every namespace and every template.
    pub fn all() -> Self {
        Scope::default()
    }

    /// Whether objects of `namespace` are managed.
    pub fn admits_namespace(&self, namespace: &str) -> bool {
        self.namespaces
            .as_ref()
            .is_none_or(|set| set.contains(namespace))
    }

    /// One API per managed namespace, or one across all namespaces.
    pub fn apis<K>(&self, client: &Client) -> Vec<Api<K>>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        K::DynamicType: Default,
    {
        match &self.namespaces {
            None => vec![Api::all(client.clone())],
            Some(set) => set
                .iter()
                .map(|ns| Api::namespaced(client.clone(), ns))
                .collect(),
        }
    }

    /// Like `apis`, for a resource known only at run time.
    pub fn dynamic_apis(&self, client: &Client, resource: &ApiResource) -> Vec<Api<DynamicObject>> {
        match &self.namespaces {
            None => vec![Api::all_with(client.clone(), resource)],
            Some(set) => set
                .iter()
                .map(|ns| Api::namespaced_with(client.clone(), ns, resource))
                .collect(),
        }
    }

    /// The list parameters selecting the managed templates.
    pub fn template_list_params(&self) -> ListParams {
        match &self.template_selector {
            Some(s) => ListParams::default().labels(s),
            None => ListParams::default(),
        }
    }
}

/// Checks an equality-based label selector (`key=value[,key=value]`) as given to
/// `--template-selector`, naming the part that is wrong.
pub fn parse_template_selector(s: &str) -> Result<String, String> {
    for part in s.split(',') {
        let Some((key, value)) = part.split_once('=') else {
            return Err(format!(
                "{part:?} is not key=value (e.g. --template-selector team=payments)"
            ));
        };
        let valid = |t: &str, extra: &[char]| {
            t.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c) || extra.contains(&c))
        };
        if key.is_empty() || !valid(key, &['/']) || !valid(value, &[]) || value.len() > 63 {
            return Err(format!(
                "{part:?}: keys and values are letters, digits, '-', '_' and '.' (keys may have a prefix/)"
            ));
        }
    }
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_and_selectors() {
        let all = Scope::all();
        assert!(all.admits_namespace("anything"));
        let some = Scope {
            namespaces: Some(["a".to_string()].into()),
            template_selector: None,
        };
        assert!(some.admits_namespace("a") && !some.admits_namespace("b"));
        assert_eq!(
            parse_template_selector("team=payments,prescale.io/x=y").unwrap(),
            "team=payments,prescale.io/x=y"
        );
        assert!(
            parse_template_selector("team")
                .unwrap_err()
                .contains("key=value")
        );
        assert!(parse_template_selector("team=a b").is_err());
    }
}

//! An opt-in log of the requests served, as RBAC sees them: who asked (User-Agent), the
//! verb, the API group, the resource and subresource, and the namespace. Tests use it to
//! check a client's requests against the permissions it is granted (a real API server
//! would answer 403; this one authorises everything). Requests to resources the cluster
//! does not serve are logged too, since RBAC is checked before the resource is looked up.

use axum::http::Method;

/// One request, as an RBAC authoriser sees it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestRecord {
    pub user_agent: String,
    /// get, list, watch, create, update, patch, delete, deletecollection.
    pub verb: String,
    /// `""` for the core group.
    pub group: String,
    pub resource: String,
    pub subresource: Option<String>,
    /// `None` for cluster-scoped objects and requests across all namespaces.
    pub namespace: Option<String>,
}

/// The record of a request to `path` (no discovery paths: those need no permission);
/// `None` for paths that name no resource.
pub fn record(method: &Method, path: &str, watch: bool, user_agent: &str) -> Option<RequestRecord> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, rest) = match segs.as_slice() {
        ["api", _version, rest @ ..] => ("", rest),
        ["apis", group, _version, rest @ ..] => (*group, rest),
        _ => return None,
    };
    // `namespaces/<ns>/<resource>...` is namespaced, unless it is the namespace object
    // itself (`namespaces/<ns>` or its subresources such as `namespaces/<ns>/finalize`).
    let (namespace, rest) = match rest {
        ["namespaces", ns, resource, more @ ..]
            if !group.is_empty() || !matches!(*resource, "status" | "finalize") =>
        {
            (Some(ns.to_string()), [&[*resource][..], more].concat())
        }
        other => (None, other.to_vec()),
    };
    let resource = rest.first()?.to_string();
    let named = rest.len() > 1;
    let verb = match (method, named) {
        (&Method::GET, false) if watch => "watch",
        (&Method::GET, false) => "list",
        (&Method::GET, true) => "get",
        (&Method::POST, _) => "create",
        (&Method::PUT, _) => "update",
        (&Method::PATCH, _) => "patch",
        (&Method::DELETE, false) => "deletecollection",
        (&Method::DELETE, true) => "delete",
        _ => return None,
    };
    Some(RequestRecord {
        user_agent: user_agent.to_string(),
        verb: verb.into(),
        group: group.into(),
        resource,
        subresource: rest.get(2).map(|s| s.to_string()),
        namespace,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_rbac_attributes() {
        let r = record(
            &Method::PATCH,
            "/apis/thoras.ai/v1/namespaces/shop/aiscaletargets/web/status",
            false,
            "ua",
        )
        .unwrap();
        assert_eq!(
            (
                r.verb.as_str(),
                r.group.as_str(),
                r.resource.as_str(),
                r.subresource.as_deref(),
                r.namespace.as_deref()
            ),
            (
                "patch",
                "thoras.ai",
                "aiscaletargets",
                Some("status"),
                Some("shop")
            )
        );
        let r = record(&Method::GET, "/api/v1/pods", true, "ua").unwrap();
        assert_eq!((r.verb.as_str(), r.namespace), ("watch", None));
        let r = record(&Method::GET, "/api/v1/namespaces/shop", false, "ua").unwrap();
        assert_eq!(
            (r.resource.as_str(), r.verb.as_str(), r.namespace),
            ("namespaces", "get", None)
        );
        let r = record(
            &Method::GET,
            "/apis/argoproj.io/v1alpha1/rollouts",
            false,
            "ua",
        )
        .unwrap();
        assert_eq!((r.group.as_str(), r.verb.as_str()), ("argoproj.io", "list"));
        assert_eq!(record(&Method::GET, "/apis", false, "ua"), None);
    }
}

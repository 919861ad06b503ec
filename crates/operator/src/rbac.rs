//! The operator's RBAC, defined once. Each grant names the part of the operator that needs
//! it; the install manifest's ClusterRole and Role are generated from this table, and a
//! test (`tests/rbac.rs`) runs the operator's scenarios on the simulated cluster, records
//! every request the operator makes (by its User-Agent) and checks both ways: every
//! request is granted, and every grant is used.
//!
//! A grant comes with the feature that needs it: actuation (pods/resize, pods/eviction,
//! `*/scale`) adds its rows with its code, as the admission webhooks did. An AIScaleTarget's
//! horizontal actuation never writes the HPA (it goes through the workloads' `scale`
//! subresource); the only HPAs prescale writes are those PodAutoscalers with the HPA
//! strategy own.

use serde_json::{Value, json};

/// Where a grant applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every namespace and cluster-scoped objects (the ClusterRole).
    Cluster,
    /// The operator's own namespace only (the Role): its Lease and the pause ConfigMap.
    OperatorNamespace,
}

/// One row of the table: verbs on one resource (or `resource/subresource`) of one group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    pub group: &'static str,
    pub resource: &'static str,
    pub verbs: &'static [&'static str],
    pub scope: Scope,
    /// The module whose requests need it, and what for.
    pub needed_by: &'static str,
}

const fn grant(
    group: &'static str,
    resource: &'static str,
    verbs: &'static [&'static str],
    scope: Scope,
    needed_by: &'static str,
) -> Grant {
    Grant {
        group,
        resource,
        verbs,
        scope,
        needed_by,
    }
}

use Scope::{Cluster, OperatorNamespace};

/// Every permission the operator has.
pub const GRANTS: &[Grant] = &[
    grant(
        "thoras.ai",
        "aiscaletargets",
        &[
            "get", "list", "watch", "create", "update", "patch", "delete",
        ],
        Cluster,
        "cache watches targets; template::write creates, updates (re-reading on a conflict) and deletes the ones templates manage; target::controller adds and removes the revert finalizer (crate::finalizer)",
    ),
    grant(
        "thoras.ai",
        "aiscaletargets/status",
        &["patch"],
        Cluster,
        "target::controller applies each target's status (server-side apply)",
    ),
    grant(
        "thoras.ai",
        "clusteraiscaletemplates",
        &["list", "watch", "patch"],
        Cluster,
        "cache watches templates; template::write applies and removes the finalizer",
    ),
    grant(
        "thoras.ai",
        "clusteraiscaletemplates/status",
        &["patch"],
        Cluster,
        "template::controller applies each template's status",
    ),
    grant(
        "apps",
        "deployments",
        &["list", "watch", "patch"],
        Cluster,
        "cache: workloads templates and selectors match, their pod templates and replicas; actuate::restart: rolling restarts (the revert, a selector target's restarts)",
    ),
    grant(
        "apps",
        "statefulsets",
        &["list", "watch", "patch"],
        Cluster,
        "cache: workloads templates and selectors match, their pod templates and replicas; actuate::restart: rolling restarts",
    ),
    grant(
        "argoproj.io",
        "rollouts",
        &["list", "watch", "patch"],
        Cluster,
        "cache: Argo Rollouts, watched while their CRD is installed; actuate::restart: rolling restarts",
    ),
    grant(
        "apiextensions.k8s.io",
        "customresourcedefinitions",
        &["list", "watch"],
        Cluster,
        "cache: whether the Rollout CRD is installed (one CRD, by name)",
    ),
    grant(
        "apps",
        "replicasets",
        &["list", "watch"],
        Cluster,
        "cache: which Deployment or Rollout a pod belongs to",
    ),
    grant(
        "",
        "pods",
        &["list", "watch"],
        Cluster,
        "cache: restarts, OOM kills and replicas from pod status (collector), what actuation will act on",
    ),
    grant(
        "autoscaling",
        "horizontalpodautoscalers",
        &["list", "watch", "create", "patch", "delete"],
        Cluster,
        "cache: the HPA of a workload, which horizontal actuation works with; podautoscaler::controller applies (server-side: create, then patch) and removes the HPA a PodAutoscaler with the HPA strategy owns",
    ),
    grant(
        "autoscaling.aibrix.ai",
        "podautoscalers",
        &["list", "watch"],
        Cluster,
        "podautoscaler::controller watches PodAutoscalers (seed 004)",
    ),
    grant(
        "autoscaling.aibrix.ai",
        "podautoscalers/status",
        &["patch"],
        Cluster,
        "podautoscaler::controller applies each PodAutoscaler's status",
    ),
    grant(
        "apps",
        "deployments/scale",
        &["get", "patch"],
        Cluster,
        "actuate::scale: scale-ups to the replica floor (horizontal autonomous); podautoscaler::scale reads and sets a PodAutoscaler target's replicas",
    ),
    grant(
        "apps",
        "statefulsets/scale",
        &["get", "patch"],
        Cluster,
        "actuate::scale: scale-ups to the replica floor (horizontal autonomous); podautoscaler::scale reads and sets a PodAutoscaler target's replicas",
    ),
    grant(
        "policy",
        "poddisruptionbudgets",
        &["list", "watch"],
        Cluster,
        "cache: the PodDisruptionBudgets eviction will honour",
    ),
    grant(
        "",
        "pods/resize",
        &["patch"],
        Cluster,
        "actuate::resize: in-place resize of running pods (vertical autonomous)",
    ),
    grant(
        "argoproj.io",
        "rollouts/scale",
        &["patch"],
        Cluster,
        "actuate::scale: scale-ups to the replica floor (horizontal autonomous)",
    ),
    grant(
        "",
        "pods/eviction",
        &["create"],
        Cluster,
        "actuate::evict: evictions that honour PodDisruptionBudgets (vertical autonomous)",
    ),
    grant(
        "",
        "events",
        &["create", "list", "watch"],
        Cluster,
        "target::controller records Events (suggestion changes, problems); cache: the Events about AIScaleTargets (the dashboard shows them)",
    ),
    grant(
        "authentication.k8s.io",
        "tokenreviews",
        &["create"],
        Cluster,
        "dashboard::auth: whose bearer token a pause/resume carries (TokenReview)",
    ),
    grant(
        "authorization.k8s.io",
        "subjectaccessreviews",
        &["create"],
        Cluster,
        "dashboard::auth: whether RBAC lets that user update the pause ConfigMap",
    ),
    grant(
        "metrics.k8s.io",
        "pods",
        &["list"],
        Cluster,
        "collector: CPU and memory usage per container",
    ),
    // The adapters' metrics are named after their metrics, not a fixed resource: what
    // the HPA controller itself is granted.
    grant(
        "custom.metrics.k8s.io",
        "*",
        // `namespaces/<ns>/pods/*/<metric>` and `<resource>/<name>/<metric>`: named reads.
        &["get"],
        Cluster,
        "horizontal::sampler: the Pods and Object metrics of the targets' HPAs; podautoscaler::readings: `custom` sources",
    ),
    grant(
        "external.metrics.k8s.io",
        "*",
        // `namespaces/<ns>/<metric>`: a list of the metric's series.
        &["list"],
        Cluster,
        "horizontal::sampler: the External metrics of the targets' HPAs; podautoscaler::readings: `external` sources",
    ),
    grant(
        "admissionregistration.k8s.io",
        "mutatingwebhookconfigurations",
        // Server-side apply of an absent object is a create: the real API server asks
        // for both verbs.
        &["create", "patch"],
        Cluster,
        "webhook::registration applies the pod webhook's configuration with its caBundle",
    ),
    grant(
        "admissionregistration.k8s.io",
        "validatingwebhookconfigurations",
        // Server-side apply of an absent object is a create: the real API server asks
        // for both verbs.
        &["create", "patch"],
        Cluster,
        "webhook::registration applies the validating webhook's configuration with its caBundle",
    ),
    grant(
        "",
        "secrets",
        &["get", "create", "update"],
        OperatorNamespace,
        "webhook::registration keeps the webhook certificate in one Secret every replica serves",
    ),
    grant(
        "coordination.k8s.io",
        "leases",
        &["get", "create", "update"],
        OperatorNamespace,
        "leader: leader election through a Lease",
    ),
    grant(
        "",
        "configmaps",
        &["get", "list", "watch", "create", "update"],
        OperatorNamespace,
        "cache: the system-wide pause ConfigMap (seed 002), one by name; pause_switch writes it for the dashboard",
    ),
];

/// Whether the grants allow `verb` on `group`/`resource` (`resource/subresource` for a
/// subresource) in `namespace` (`None`: cluster-scoped or across all namespaces), for an
/// operator installed in `operator_namespace`. A grant of resource `*` covers every
/// resource and subresource of its group, as in RBAC.
pub fn allows(
    group: &str,
    resource: &str,
    verb: &str,
    namespace: Option<&str>,
    operator_namespace: &str,
) -> bool {
    GRANTS.iter().any(|g| {
        g.group == group
            && (g.resource == "*" || g.resource == resource)
            && g.verbs.contains(&verb)
            && match g.scope {
                Cluster => true,
                OperatorNamespace => namespace == Some(operator_namespace),
            }
    })
}

/// The RBAC `rules` of the grants of `scope`: one rule per row, so each stays next to
/// its reason in this table.
pub fn rules(scope: Scope) -> Vec<Value> {
    GRANTS
        .iter()
        .filter(|g| g.scope == scope)
        .map(|g| json!({"apiGroups": [g.group], "resources": [g.resource], "verbs": g.verbs}))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_grants_stay_in_the_operator_namespace() {
        assert!(allows(
            "coordination.k8s.io",
            "leases",
            "update",
            Some("prescale-system"),
            "prescale-system"
        ));
        assert!(!allows(
            "coordination.k8s.io",
            "leases",
            "update",
            Some("shop"),
            "prescale-system"
        ));
        assert!(!allows("", "configmaps", "watch", None, "prescale-system"));
        assert!(allows("", "pods", "list", Some("shop"), "prescale-system"));
        assert!(allows("", "pods", "list", None, "prescale-system"));
        assert!(!allows("", "pods", "delete", None, "prescale-system"));
    }

    #[test]
    fn each_resource_has_one_row_and_a_reason() {
        let mut seen = std::collections::BTreeSet::new();
        for g in GRANTS {
            assert!(seen.insert((g.group, g.resource)), "{g:?} twice");
            assert!(!g.needed_by.is_empty() && !g.verbs.is_empty(), "{g:?}");
        }
        assert_eq!(
            rules(Cluster).len() + rules(OperatorNamespace).len(),
            GRANTS.len()
        );
    }
}

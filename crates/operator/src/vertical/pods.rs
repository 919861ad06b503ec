//! What the vertical rollout needs to know of one pod, read from the Pod object (as the
//! cache keeps it): readiness, whether it is going away, when it was created, each
//! container's resources as asked (spec) and as running (status), and the state of a
//! resize from the pod's conditions.

use k8s_openapi::api::core::v1::{Pod, ResourceRequirements};

/// A resize the kubelet has not finished, from the pod's conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResizeState {
    /// `PodResizePending`/`Infeasible`: the node can never fit it.
    Infeasible,
    /// `PodResizePending`/`Deferred`: the node cannot fit it now.
    Deferred,
    /// `PodResizeInProgress`: the kubelet is applying it.
    InProgress,
    /// `PodResizeInProgress` with reason `Error`: applying it failed.
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContainerView {
    pub name: String,
    /// What the pod spec asks (a resize changes this at once).
    pub spec: ResourceRequirements,
    /// What the container runs with (`status.containerStatuses[].resources`), or the spec
    /// when the status does not say.
    pub actual: ResourceRequirements,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PodView {
    pub name: String,
    pub ready: bool,
    /// Being deleted (evicted pods linger while they terminate).
    pub deleting: bool,
    /// Creation time, seconds.
    pub created: i64,
    pub containers: Vec<ContainerView>,
    /// A pending or unfinished resize, and since when (seconds), when the condition says.
    pub resize: Option<(ResizeState, Option<i64>)>,
    /// The restart token it was created with (`actuate::restart::RESTART_ANNOTATION`).
    pub restart_token: Option<String>,
}

impl PodView {
    pub fn of(pod: &Pod) -> PodView {
        let status = pod.status.as_ref();
        let conditions = status
            .and_then(|s| s.conditions.as_deref())
            .unwrap_or_default();
        let is_true = |type_: &str| {
            conditions
                .iter()
                .find(|c| c.type_ == type_ && c.status == "True")
        };
        let since = |c: &k8s_openapi::api::core::v1::PodCondition| {
            c.last_transition_time.as_ref().map(|t| t.0.as_second())
        };
        let resize = if let Some(c) = is_true("PodResizePending") {
            let state = if c.reason.as_deref() == Some("Infeasible") {
                ResizeState::Infeasible
            } else {
                ResizeState::Deferred
            };
            Some((state, since(c)))
        } else if let Some(c) = is_true("PodResizeInProgress") {
            let state = if c.reason.as_deref() == Some("Error") {
                ResizeState::Error
            } else {
                ResizeState::InProgress
            };
            Some((state, since(c)))
        } else {
            // Before 1.33 the state was `status.resize`.
            match status.and_then(|s| s.resize.as_deref()) {
                Some("Infeasible") => Some((ResizeState::Infeasible, None)),
                Some("Deferred") => Some((ResizeState::Deferred, None)),
                Some("InProgress") => Some((ResizeState::InProgress, None)),
                _ => None,
            }
        };
        let statuses = status
            .and_then(|s| s.container_statuses.as_deref())
            .unwrap_or_default();
        let containers = pod
            .spec
            .as_ref()
            .map(|s| s.containers.as_slice())
            .unwrap_or_default()
            .iter()
            .map(|c| {
                let spec = c.resources.clone().unwrap_or_default();
                let actual = statuses
                    .iter()
                    .find(|s| s.name == c.name)
                    .and_then(|s| s.resources.clone())
                    .unwrap_or_else(|| spec.clone());
                ContainerView {
                    name: c.name.clone(),
                    spec,
                    actual,
                }
            })
            .collect();
        PodView {
            name: pod.metadata.name.clone().unwrap_or_default(),
            ready: is_true("Ready").is_some(),
            deleting: pod.metadata.deletion_timestamp.is_some(),
            created: pod
                .metadata
                .creation_timestamp
                .as_ref()
                .map_or(0, |t| t.0.as_second()),
            containers,
            resize,
            restart_token: pod
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(crate::actuate::restart::RESTART_ANNOTATION).cloned()),
        }
    }
}

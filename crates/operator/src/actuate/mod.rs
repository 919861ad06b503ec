//! The seam where a target's plan acts on the cluster. `target::plan` decides a list of
//! `Action`s (plain data); the controller hands each to an `Actuator`, and pause, mode and
//! rate limits are the plan's business, never the actuator's.
//!
//! This version decides no action: autonomous targets report `ActuationNotAvailable` and
//! the actuator it runs with (`Unavailable`) refuses every action, naming it. The releases
//! that bring actuation implement each variant — in-place resize through `pods/resize`,
//! eviction through the Eviction API honouring PodDisruptionBudgets, a rollout restart,
//! the HPA's floor — and add the RBAC rows they need to `crate::rbac`.

use futures::future::BoxFuture;

use crate::collector::owners::WorkloadRef;

/// One change to the cluster a plan can ask for.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Set a running pod's container requests (and limits) in place (`pods/resize`).
    Resize {
        namespace: String,
        pod: String,
        container: String,
        cpu: Option<String>,
        memory: Option<String>,
        cpu_limit: Option<String>,
        memory_limit: Option<String>,
    },
    /// Evict a pod through the Eviction API (its PodDisruptionBudgets decide whether it may
    /// go now), so its replacement starts with the new requests.
    Evict { namespace: String, pod: String },
    /// Restart a workload's pods through its own rollout strategy.
    Restart {
        namespace: String,
        workload: WorkloadRef,
    },
    /// Set an HPA's `minReplicas`: raise the floor ahead of forecast load, release it after.
    SetHpaFloor {
        namespace: String,
        hpa: String,
        min_replicas: i32,
    },
}

impl Action {
    /// A short label for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Resize { .. } => "resize",
            Action::Evict { .. } => "evict",
            Action::Restart { .. } => "restart",
            Action::SetHpaFloor { .. } => "hpa_floor",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ActuateError {
    #[error("{0} is not available in this version of prescale")]
    NotAvailable(&'static str),
}

/// Carries out actions on the cluster.
pub trait Actuator: Send + Sync {
    fn apply<'a>(&'a self, action: &'a Action) -> BoxFuture<'a, Result<(), ActuateError>>;
}

/// This version's actuator: it can carry out no action, and says so.
#[derive(Debug, Default, Clone, Copy)]
pub struct Unavailable;

impl Actuator for Unavailable {
    fn apply<'a>(&'a self, action: &'a Action) -> BoxFuture<'a, Result<(), ActuateError>> {
        Box::pin(std::future::ready(Err(ActuateError::NotAvailable(
            action.kind(),
        ))))
    }
}

//! The seam where a target's plan acts on the cluster. `target::plan` decides a list of
//! `Action`s (plain data); the controller hands each to an `Actuator`, and pause, mode and
//! rate limits are the plan's business, never the actuator's. `KubeActuator` carries them
//! out: in-place resize through `pods/resize` (`resize`), eviction through the Eviction
//! API so PodDisruptionBudgets decide (`evict`), a rolling restart of a workload
//! (`restart`), a scale-up through a workload's `scale` subresource (`scale`). Each answer of the API server becomes an `Applied` outcome.

pub mod evict;
pub mod resize;
pub mod restart;
pub mod scale;

use futures::future::BoxFuture;

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::collector::owners::WorkloadRef;

/// New resources for one container of a pod, with what it had (for Events).
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerChange {
    pub name: String,
    pub old: ResourceRequirements,
    pub new: ResourceRequirements,
}

/// One change to the cluster a plan can ask for.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Set a running pod's container requests and limits in place (`pods/resize`).
    Resize {
        namespace: String,
        pod: String,
        workload: WorkloadRef,
        containers: Vec<ContainerChange>,
    },
    /// Evict a pod through the Eviction API (its PodDisruptionBudgets decide whether it may
    /// go now), so its replacement starts with the new requests; `why` says why it was not
    /// resized in place.
    Evict {
        namespace: String,
        pod: String,
        workload: WorkloadRef,
        containers: Vec<ContainerChange>,
        why: String,
    },
    /// Restart a workload's pods through its own rollout strategy (what `kubectl rollout
    /// restart` does), marking its pod template with `token` so the restart is made once.
    Restart {
        namespace: String,
        workload: WorkloadRef,
        token: String,
        why: String,
    },
    /// Raise a workload's replicas from `from` to `to` through its `scale` subresource
    /// (horizontal autonomous: up to the replica floor ahead of the forecast peak). The
    /// write only applies while the workload still runs `from`, so it never lowers what
    /// the HPA set meanwhile.
    ScaleUp {
        namespace: String,
        workload: WorkloadRef,
        from: u32,
        to: u32,
        why: String,
    },
}

impl Action {
    /// A short label for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Resize { .. } => "resize",
            Action::Evict { .. } => "evict",
            Action::Restart { .. } => "restart",
            Action::ScaleUp { .. } => "scale_up",
        }
    }

    /// The Event reason recorded when the action was carried out.
    pub fn event_reason(&self) -> &'static str {
        match self {
            Action::Resize { .. } => "Resized",
            Action::Evict { .. } => "Evicted",
            Action::Restart { .. } => "Restarted",
            Action::ScaleUp { .. } => "ScaledUp",
        }
    }

    /// What the Event says: the object and its old and new values.
    pub fn describe(&self) -> String {
        let changes = |cs: &[ContainerChange]| {
            cs.iter()
                .map(|c| format!("{} {}", c.name, change_text(&c.old, &c.new)))
                .collect::<Vec<_>>()
                .join("; ")
        };
        match self {
            Action::Resize {
                pod, containers, ..
            } => {
                format!("resized pod {pod} in place: {}", changes(containers))
            }
            Action::Evict {
                pod,
                containers,
                why,
                ..
            } => {
                format!("evicted pod {pod} ({why}): {}", changes(containers))
            }
            Action::Restart {
                workload,
                token,
                why,
                ..
            } => {
                format!(
                    "restarted {}/{} with token {token} ({why})",
                    workload.kind, workload.name
                )
            }
            Action::ScaleUp {
                workload,
                from,
                to,
                why,
                ..
            } => {
                format!(
                    "scaled {}/{} from {from} to {to} replicas ({why})",
                    workload.kind, workload.name
                )
            }
        }
    }
}

/// `requests cpu 100m→200m, memory 128Mi→256Mi; limits ...` for the values that differ.
fn change_text(old: &ResourceRequirements, new: &ResourceRequirements) -> String {
    let mut parts = vec![];
    for (label, o, n) in [
        ("requests", &old.requests, &new.requests),
        ("limits", &old.limits, &new.limits),
    ] {
        let get = |m: &Option<std::collections::BTreeMap<String, Quantity>>, k: &str| {
            m.as_ref().and_then(|m| m.get(k)).map(|q| q.0.clone())
        };
        let diffs: Vec<String> = ["cpu", "memory"]
            .into_iter()
            .filter_map(|k| {
                let (a, b) = (get(o, k), get(n, k));
                (a != b).then(|| {
                    format!(
                        "{k} {}→{}",
                        a.as_deref().unwrap_or("none"),
                        b.as_deref().unwrap_or("none")
                    )
                })
            })
            .collect();
        if !diffs.is_empty() {
            parts.push(format!("{label} {}", diffs.join(", ")));
        }
    }
    parts.join("; ")
}

#[derive(Debug, thiserror::Error)]
pub enum ActuateError {
    #[error("{0} is not available in this version of prescale")]
    NotAvailable(&'static str),
    #[error("{action} of {object}: {source}")]
    Api {
        action: &'static str,
        object: String,
        source: kube::Error,
    },
}

/// What became of an action the API server answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    Done,
    /// Not now (429: a PodDisruptionBudget forbids the eviction); the plan asks again later.
    Blocked(String),
    /// The API server rejected it (422/400: e.g. a resize that would change the QoS class).
    Refused(String),
    /// The object is gone (404): nothing to do.
    Gone,
}

impl Applied {
    /// The `result` label of `prescale_scale_actions_total`.
    pub fn label(&self) -> &'static str {
        match self {
            Applied::Done => "applied",
            Applied::Blocked(_) => "blocked",
            Applied::Refused(_) => "refused",
            Applied::Gone => "gone",
        }
    }
}

/// Carries out actions on the cluster.
pub trait Actuator: Send + Sync {
    fn apply<'a>(&'a self, action: &'a Action) -> BoxFuture<'a, Result<Applied, ActuateError>>;
}

/// An actuator that can carry out no action, and says so (tests of the plan's seam).
#[derive(Debug, Default, Clone, Copy)]
pub struct Unavailable;

impl Actuator for Unavailable {
    fn apply<'a>(&'a self, action: &'a Action) -> BoxFuture<'a, Result<Applied, ActuateError>> {
        Box::pin(std::future::ready(Err(ActuateError::NotAvailable(
            action.kind(),
        ))))
    }
}

/// Sorts an API error into an outcome: what the server said "not now", "no" or "gone" to
/// is an answer, not a failure of the operator.
fn answer(action: &'static str, object: String, e: kube::Error) -> Result<Applied, ActuateError> {
    match &e {
        kube::Error::Api(s) if s.code == 429 => Ok(Applied::Blocked(s.message.clone())),
        kube::Error::Api(s) if s.code == 422 || s.code == 400 => {
            Ok(Applied::Refused(s.message.clone()))
        }
        kube::Error::Api(s) if s.code == 404 => Ok(Applied::Gone),
        _ => Err(ActuateError::Api {
            action,
            object,
            source: e,
        }),
    }
}

/// The actuator that acts through the Kubernetes API.
#[derive(Clone)]
pub struct KubeActuator {
    pub client: kube::Client,
}

impl Actuator for KubeActuator {
    fn apply<'a>(&'a self, action: &'a Action) -> BoxFuture<'a, Result<Applied, ActuateError>> {
        Box::pin(async move {
            let result = match action {
                Action::Resize {
                    namespace,
                    pod,
                    containers,
                    ..
                } => resize::resize(&self.client, namespace, pod, containers).await,
                Action::Evict { namespace, pod, .. } => {
                    evict::evict(&self.client, namespace, pod).await
                }
                Action::Restart {
                    namespace,
                    workload,
                    token,
                    ..
                } => restart::restart(&self.client, namespace, workload, token).await,
                Action::ScaleUp {
                    namespace,
                    workload,
                    from,
                    to,
                    ..
                } => scale::scale_up(&self.client, namespace, workload, *from, *to).await,
            };
            match result {
                Ok(()) => Ok(Applied::Done),
                Err((object, e)) => answer(action.kind(), object, e),
            }
        })
    }
}

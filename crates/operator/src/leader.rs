//! Leader election through a coordination.k8s.io/v1 Lease, so that `replicas: 2` is safe:
//! only the holder of the Lease applies changes; the others stand by and take over when
//! the holder stops renewing.
//!
//! `decide` is the pure rule; `LeaseLock` does the reads and writes, relying on the API
//! server's optimistic concurrency (a stale `resourceVersion` is refused with 409) so two
//! candidates can never both believe they acquired the same Lease.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, PostParams};

/// What a candidate should do, given the Lease it just read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseDecision {
    /// Nobody holds it (or it does not exist): take it.
    Acquire,
    /// We hold it: renew it.
    Renew,
    /// Its holder stopped renewing for longer than the lease duration: take it over.
    TakeOver,
    /// Someone else holds a live lease.
    Follow,
}

pub fn decide(spec: Option<&LeaseSpec>, identity: &str, now: Timestamp) -> LeaseDecision {
    let Some(spec) = spec else {
        return LeaseDecision::Acquire;
    };
    match spec.holder_identity.as_deref() {
        None | Some("") => LeaseDecision::Acquire,
        Some(holder) if holder == identity => LeaseDecision::Renew,
        Some(_) => {
            let duration = i64::from(spec.lease_duration_seconds.unwrap_or(15).max(1));
            let last = spec
                .renew_time
                .as_ref()
                .or(spec.acquire_time.as_ref())
                .map(|t| t.0);
            match last {
                Some(last) if now.as_second() - last.as_second() <= duration => {
                    LeaseDecision::Follow
                }
                _ => LeaseDecision::TakeOver,
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error("reading Lease {namespace}/{name}: {}", explain(source, namespace))]
    Read {
        namespace: String,
        name: String,
        source: kube::Error,
    },
    #[error("writing Lease {namespace}/{name}: {}", explain(source, namespace))]
    Write {
        namespace: String,
        name: String,
        source: kube::Error,
    },
}

/// What went wrong, for the log line an operator that cannot lead repeats: a missing
/// namespace (an operator run outside the cluster without `--namespace`) says how to fix
/// it, and an API error is the server's answer rather than kube's debug dump of it.
fn explain(source: &kube::Error, namespace: &str) -> String {
    match source {
        kube::Error::Api(status)
            if status.code == 404
                && status
                    .details
                    .as_ref()
                    .is_some_and(|d| d.kind == "namespaces") =>
        {
            format!(
                "namespace {namespace} does not exist: create it (kubectl create namespace \
             {namespace}) or pass --namespace with the namespace the operator should use"
            )
        }
        kube::Error::Api(status) => format!(
            "the API server answered {} {}: {}",
            status.code, status.reason, status.message
        ),
        other => other.to_string(),
    }
}

pub struct LeaseLock {
    api: Api<Lease>,
    namespace: String,
    name: String,
    identity: String,
    duration: Duration,
    /// The Lease as this candidate last wrote it: while it holds the Lease, a renewal is
    /// one write over it (a conflict means someone else wrote, and the next round reads).
    held: std::sync::Mutex<Option<Lease>>,
}

impl LeaseLock {
    pub fn new(
        client: kube::Client,
        namespace: &str,
        name: &str,
        identity: &str,
        duration: Duration,
    ) -> Self {
        LeaseLock {
            api: Api::namespaced(client, namespace),
            namespace: namespace.into(),
            name: name.into(),
            identity: identity.into(),
            duration,
            held: std::sync::Mutex::new(None),
        }
    }

    /// The lease duration: a holder renews well within it (every third).
    pub fn duration(&self) -> Duration {
        self.duration
    }

    /// One round: read the Lease, then acquire, renew or follow. Returns whether we lead.
    /// A 409 (someone else wrote first) is not an error: we simply do not lead this round.
    pub async fn try_lead(&self, now: Timestamp) -> Result<bool, LeaseError> {
        let held = self.held.lock().unwrap_or_else(|e| e.into_inner()).take();
        let current = match held {
            Some(lease) => Some(lease),
            None => self
                .api
                .get_opt(&self.name)
                .await
                .map_err(|source| LeaseError::Read {
                    namespace: self.namespace.clone(),
                    name: self.name.clone(),
                    source,
                })?,
        };
        let decision = decide(
            current.as_ref().and_then(|l| l.spec.as_ref()),
            &self.identity,
            now,
        );
        if decision == LeaseDecision::Follow {
            return Ok(false);
        }
        let previous = current
            .as_ref()
            .and_then(|l| l.spec.clone())
            .unwrap_or_default();
        let stamp = Some(MicroTime(now));
        let spec = LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(self.duration.as_secs().clamp(1, i32::MAX as u64) as i32),
            renew_time: stamp.clone(),
            acquire_time: if decision == LeaseDecision::Renew {
                previous.acquire_time.clone()
            } else {
                stamp
            },
            lease_transitions: Some(
                previous.lease_transitions.unwrap_or(0)
                    + i32::from(decision == LeaseDecision::TakeOver),
            ),
            ..previous
        };
        let result = match current {
            Some(mut lease) => {
                lease.spec = Some(spec);
                self.api
                    .replace(&self.name, &PostParams::default(), &lease)
                    .await
            }
            None => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(self.name.clone()),
                        ..Default::default()
                    },
                    spec: Some(spec),
                };
                self.api.create(&PostParams::default(), &lease).await
            }
        };
        match result {
            Ok(written) => {
                *self.held.lock().unwrap_or_else(|e| e.into_inner()) = Some(written);
                Ok(true)
            }
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(source) => Err(LeaseError::Write {
                namespace: self.namespace.clone(),
                name: self.name.clone(),
                source,
            }),
        }
    }

    /// Gives the Lease up on shutdown so a standby takes over at once.
    pub async fn release(&self) -> Result<(), LeaseError> {
        self.held.lock().unwrap_or_else(|e| e.into_inner()).take();
        let Some(mut lease) =
            self.api
                .get_opt(&self.name)
                .await
                .map_err(|source| LeaseError::Read {
                    namespace: self.namespace.clone(),
                    name: self.name.clone(),
                    source,
                })?
        else {
            return Ok(());
        };
        let Some(spec) = lease.spec.as_mut() else {
            return Ok(());
        };
        if spec.holder_identity.as_deref() != Some(&self.identity) {
            return Ok(());
        }
        spec.holder_identity = None;
        match self
            .api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) | Err(kube::Error::Api(_)) => Ok(()),
            Err(source) => Err(LeaseError::Write {
                namespace: self.namespace.clone(),
                name: self.name.clone(),
                source,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(secs: i64) -> Timestamp {
        Timestamp::from_second(secs).unwrap()
    }

    fn held_by(holder: &str, renewed: i64) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(holder.into()),
            lease_duration_seconds: Some(15),
            renew_time: Some(MicroTime(ts(renewed))),
            ..Default::default()
        }
    }

    #[test]
    fn missing_or_released_lease_is_acquired() {
        assert_eq!(decide(None, "a", ts(100)), LeaseDecision::Acquire);
        assert_eq!(
            decide(Some(&LeaseSpec::default()), "a", ts(100)),
            LeaseDecision::Acquire
        );
    }

    #[test]
    fn holder_renews_and_others_follow_a_live_lease() {
        assert_eq!(
            decide(Some(&held_by("a", 100)), "a", ts(105)),
            LeaseDecision::Renew
        );
        assert_eq!(
            decide(Some(&held_by("a", 100)), "b", ts(115)),
            LeaseDecision::Follow
        );
    }

    #[test]
    fn expired_lease_is_taken_over() {
        assert_eq!(
            decide(Some(&held_by("a", 100)), "b", ts(116)),
            LeaseDecision::TakeOver
        );
        let no_times = LeaseSpec {
            holder_identity: Some("a".into()),
            ..Default::default()
        };
        assert_eq!(decide(Some(&no_times), "b", ts(0)), LeaseDecision::TakeOver);
    }

    #[test]
    fn a_missing_namespace_says_how_to_fix_it() {
        let mut status =
            kube::core::Status::failure("namespaces \"ops\" not found", "NotFound").with_code(404);
        status.details = Some(kube::core::response::StatusDetails {
            name: "ops".into(),
            group: String::new(),
            kind: "namespaces".into(),
            uid: String::new(),
            causes: vec![],
            retry_after_seconds: 0,
        });
        let err = LeaseError::Write {
            namespace: "ops".into(),
            name: "prescale-operator".into(),
            source: kube::Error::Api(Box::new(status)),
        };
        assert_eq!(
            err.to_string(),
            "writing Lease ops/prescale-operator: namespace ops does not exist: create it \
             (kubectl create namespace ops) or pass --namespace with the namespace the operator \
             should use"
        );
        let conflict =
            kube::core::Status::failure("the object has been modified", "Conflict").with_code(409);
        let err = LeaseError::Write {
            namespace: "ops".into(),
            name: "prescale-operator".into(),
            source: kube::Error::Api(Box::new(conflict)),
        };
        assert_eq!(
            err.to_string(),
            "writing Lease ops/prescale-operator: the API server answered 409 Conflict: the \
             object has been modified"
        );
    }
}

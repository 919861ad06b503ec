//! Which targets this process works on. Alone, the Lease holder works on all of them
//! (`Leading`). With a shared PostgreSQL store the operator and every `prescale worker`
//! claim about an equal share (`Claimed`), renewed every third of the claims' lifetime —
//! which is also the worker's heartbeat; a process that stops renewing loses its claims to
//! the others once they expire.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use kube::ResourceExt;

use super::controller::Gate;
use crate::cache::Cache;

/// The Lease holder works on everything; a standby on nothing.
pub struct Leading(pub tokio::sync::watch::Receiver<bool>);

impl Gate for Leading {
    fn admits(&self, _: &str, _: &str) -> bool {
        *self.0.borrow()
    }
}

/// A worker's identity among those sharing one PostgreSQL store.
pub struct Claims {
    pub store: Arc<prescale_store::PgStore>,
    pub worker: String,
    /// Claims and the heartbeat expire this long after the last renewal.
    pub ttl: Duration,
}

/// The targets (`namespace/name`) this process holds claims on.
#[derive(Debug, Default)]
pub struct Claimed {
    held: RwLock<HashSet<String>>,
}

fn key(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

impl Gate for Claimed {
    fn admits(&self, namespace: &str, name: &str) -> bool {
        self.held
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&key(namespace, name))
    }
}

impl Claimed {
    /// Claims a share of every target in the cache; returns the targets newly held.
    pub async fn renew(
        &self,
        claims: &Claims,
        cache: &Cache,
    ) -> Result<Vec<(String, String)>, prescale_store::StoreError> {
        let candidates: Vec<String> = cache
            .targets
            .state()
            .iter()
            .map(|t| key(&t.namespace().unwrap_or_default(), &t.name_any()))
            .collect();
        let (store, worker, ttl) = (claims.store.clone(), claims.worker.clone(), claims.ttl);
        let mine: HashSet<String> =
            tokio::task::spawn_blocking(move || store.claim(&worker, &candidates, ttl))
                .await
                .map_err(|e| prescale_store::StoreError::Database {
                    what: "claiming targets".into(),
                    reason: e.to_string(),
                })??
                .into_iter()
                .collect();
        let mut held = self.held.write().unwrap_or_else(|e| e.into_inner());
        let new = mine
            .difference(&held)
            .filter_map(|k| {
                k.split_once('/')
                    .map(|(ns, n)| (ns.to_string(), n.to_string()))
            })
            .collect();
        *held = mine;
        Ok(new)
    }

    /// Renews the claims until the task is aborted; `gained` is called with the targets
    /// newly held, so they are reconciled at once.
    pub async fn keep(
        self: Arc<Self>,
        claims: Arc<Claims>,
        cache: Arc<Cache>,
        gained: impl Fn(Vec<(String, String)>),
    ) {
        loop {
            match self.renew(&claims, &cache).await {
                Ok(new) if !new.is_empty() => gained(new),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "renewing target claims failed; keeping the current ones")
                }
            }
            tokio::time::sleep(claims.ttl / 3).await;
        }
    }
}

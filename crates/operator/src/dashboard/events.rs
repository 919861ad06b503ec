//! The Events about AIScaleTargets, kept by a watch of their own (field selector
//! `involvedObject.kind=AIScaleTarget`, cluster-wide, out-of-scope namespaces dropped), so
//! a page view reads memory and never asks the API server.

use std::collections::HashMap;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Event;
use kube::Client;
use kube::api::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use serde::Serialize;
use tokio::task::JoinHandle;

use crate::scope::Scope;

/// One Event, as the dashboard shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventRow {
    /// Unix seconds of its last occurrence.
    pub time: i64,
    #[serde(rename = "type")]
    pub type_: String,
    pub reason: String,
    pub message: String,
    pub count: i32,
}

impl EventRow {
    fn of(e: &Event) -> EventRow {
        let time = e
            .last_timestamp
            .as_ref()
            .or(e.first_timestamp.as_ref())
            .map(|t| t.0.as_second())
            .or_else(|| e.event_time.as_ref().map(|t| t.0.as_second()))
            .unwrap_or_default();
        EventRow {
            time,
            type_: e.type_.clone().unwrap_or_default(),
            reason: e.reason.clone().unwrap_or_default(),
            message: e.message.clone().unwrap_or_default(),
            count: e.count.unwrap_or(1),
        }
    }
}

/// Events by (namespace, target name), oldest first.
pub type EventsByTarget = HashMap<(String, String), Vec<EventRow>>;

#[derive(Clone)]
pub struct EventLog {
    store: Store<Event>,
}

fn strip(e: &mut Event) {
    e.metadata.managed_fields = None;
    e.metadata.annotations = None;
    e.metadata.labels = None;
    e.source = None;
    e.related = None;
}

impl EventLog {
    /// Starts the watch; the task stops when its handle is aborted.
    pub fn start(client: &Client, scope: Scope) -> (EventLog, JoinHandle<()>) {
        let (reader, writer) = reflector::store();
        let api: Api<Event> = Api::all(client.clone());
        let config = watcher::Config::default().fields("involvedObject.kind=AIScaleTarget");
        let task = tokio::spawn(async move {
            let stream = watcher::watcher(api, config)
                .default_backoff()
                .try_filter(move |ev| {
                    let keep = match ev {
                        watcher::Event::Apply(e)
                        | watcher::Event::Delete(e)
                        | watcher::Event::InitApply(e) => e
                            .metadata
                            .namespace
                            .as_deref()
                            .is_none_or(|ns| scope.admits_namespace(ns)),
                        _ => true,
                    };
                    std::future::ready(keep)
                })
                .modify(strip)
                .reflect(writer);
            futures::pin_mut!(stream);
            let mut failing = false;
            while let Some(ev) = stream.next().await {
                match ev {
                    Ok(_) => failing = false,
                    Err(e) if !failing => {
                        failing = true;
                        tracing::warn!(error = %e, "dashboard: watching AIScaleTarget Events failed; retrying with backoff");
                    }
                    Err(_) => {}
                }
            }
        });
        (EventLog { store: reader }, task)
    }

    /// Every Event held, by target.
    pub fn by_target(&self) -> EventsByTarget {
        let mut out: EventsByTarget = HashMap::new();
        for e in self.store.state() {
            let (Some(ns), Some(name)) = (
                e.involved_object.namespace.clone(),
                e.involved_object.name.clone(),
            ) else {
                continue;
            };
            out.entry((ns, name)).or_default().push(EventRow::of(&e));
        }
        for v in out.values_mut() {
            v.sort_by_key(|e| e.time);
        }
        out
    }

    /// The Events of one target, oldest first.
    pub fn of_target(&self, namespace: &str, name: &str) -> Vec<EventRow> {
        let mut rows: Vec<EventRow> = self
            .store
            .state_filter(|e| {
                e.involved_object.namespace.as_deref() == Some(namespace)
                    && e.involved_object.name.as_deref() == Some(name)
            })
            .iter()
            .map(|e| EventRow::of(e))
            .collect();
        rows.sort_by_key(|e| e.time);
        rows
    }
}

//! The Events about AIScaleTargets, as the dashboard shows them, read from the shared
//! cache (`Cache::target_events`, a watch with the field selector
//! `involvedObject.kind=AIScaleTarget`), so a page view reads memory and never asks the
//! API server.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::Event;
use serde::Serialize;

use crate::cache::Cache;

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

/// Every Event the cache holds (`Cache::target_events`), by target.
pub fn by_target(cache: &Cache) -> EventsByTarget {
    let mut out: EventsByTarget = HashMap::new();
    for e in cache.target_events.state() {
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
pub fn of_target(cache: &Cache, namespace: &str, name: &str) -> Vec<EventRow> {
    let mut rows: Vec<EventRow> = cache
        .target_events
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

//! Watches: a stream of newline-delimited WatchEvents. Without a resourceVersion (or with
//! "0") the stream starts with ADDED for every current object; with one it replays the
//! changes after it, or sends an ERROR event with a 410 Gone Status when that version is
//! older than the kept history, as the API server does. Bookmarks and timeoutSeconds are
//! honoured.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::broadcast::{self, error::RecvError};

use super::protobuf::{self, Format};
use super::request::{Query, Target};
use super::{Sim, table};
use crate::error::ApiError;
use crate::registry::ResourceType;
use crate::selector::{FieldSelector, LabelSelector};
use crate::store::{Event, TypeKey};

const BOOKMARK_EVERY: Duration = Duration::from_secs(1);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);

struct Filter {
    key: TypeKey,
    namespace: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
}

impl Filter {
    fn admits(&self, e: &Event) -> bool {
        e.key == self.key
            && self.namespace.as_ref().is_none_or(|ns| *ns == e.namespace)
            && self.labels.matches(&e.object)
            && self.fields.matches(&e.object)
    }
}

struct WatchState {
    sim: Arc<Sim>,
    rt: ResourceType,
    filter: Filter,
    pending: VecDeque<Bytes>,
    rx: broadcast::Receiver<Arc<Event>>,
    deadline: Instant,
    bookmarks: bool,
    as_table: bool,
    format: Format,
    last_rv: u64,
    done: bool,
}

/// One event: a JSON line, or a length-prefixed protobuf frame.
fn line(format: Format, kind: &str, object: &Value) -> Bytes {
    if format == Format::Protobuf {
        match protobuf::watch_frame(kind, object) {
            Ok(frame) => return Bytes::from(frame),
            Err(e) => {
                let status = ApiError::internal(&format!("encoding a watch event: {e}")).status();
                return Bytes::from(protobuf::watch_frame("ERROR", &status).unwrap_or_default());
            }
        }
    }
    // Written around the object rather than through a `json!` value: that would clone
    // the object for every watcher of every event.
    let mut s = format!("{{\"type\":{},\"object\":", Value::from(kind));
    s.push_str(&object.to_string());
    s.push_str("}\n");
    Bytes::from(s)
}

fn gone(format: Format, message: &str) -> Bytes {
    line(format, "ERROR", &ApiError::gone(message).status())
}

impl WatchState {
    fn render(&self, kind: &str, object: &Value) -> Bytes {
        if self.as_table {
            let rv = object
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            return line(
                Format::Json,
                kind,
                &table::table(&self.rt, std::slice::from_ref(object), &self.sim.clock, &rv),
            );
        }
        line(self.format, kind, object)
    }
}

pub fn serve(
    sim: Arc<Sim>,
    t: &Target,
    q: &Query,
    as_table: bool,
    format: Format,
) -> Result<Response, ApiError> {
    let format = if as_table { Format::Json } else { format };
    let filter = Filter {
        key: t.rt.key(),
        namespace: t.namespace.clone(),
        labels: LabelSelector::parse(&q.label_selector).map_err(|e| ApiError::bad_request(&e))?,
        fields: FieldSelector::parse(&q.field_selector).map_err(|e| ApiError::bad_request(&e))?,
    };
    let since = match q.resource_version.as_deref() {
        None | Some("") | Some("0") => None,
        Some(rv) => Some(
            rv.parse::<u64>()
                .map_err(|_| ApiError::bad_request(&format!("invalid resourceVersion {rv:?}")))?,
        ),
    };
    let (initial, rx, last_rv) = {
        let store = sim.store();
        let rx = store.subscribe();
        let initial: Vec<(&'static str, Value)> = match since {
            None => store
                .list(&filter.key, filter.namespace.as_deref())
                .into_iter()
                .filter(|o| filter.labels.matches(o) && filter.fields.matches(o))
                .map(|o| ("ADDED", o))
                .collect(),
            Some(rv) if rv < store.oldest_resumable() => vec![("GONE", json!(rv))],
            Some(rv) => store
                .events_after(&filter.key, rv)
                .into_iter()
                .filter(|e| filter.admits(e))
                .map(|e| (e.kind, e.object.clone()))
                .collect(),
        };
        (initial, rx, store.resource_version())
    };
    let timeout = q
        .timeout_seconds
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_TIMEOUT);
    let mut state = WatchState {
        sim,
        rt: t.rt.clone(),
        filter,
        pending: VecDeque::new(),
        rx,
        deadline: Instant::now() + timeout,
        bookmarks: q.allow_bookmarks,
        as_table,
        format,
        last_rv,
        done: false,
    };
    for (kind, obj) in initial {
        if kind == "GONE" {
            state.pending.push_back(gone(
                format,
                &format!("too old resource version: {obj} ({})", state.last_rv),
            ));
            state.done = true;
            break;
        }
        let rendered = state.render(kind, &obj);
        state.pending.push_back(rendered);
    }
    let stream = futures::stream::unfold(state, |mut s| async move {
        loop {
            if let Some(b) = s.pending.pop_front() {
                return Some((Ok::<_, std::io::Error>(b), s));
            }
            let now = Instant::now();
            if s.done || now >= s.deadline {
                return None;
            }
            let wait = BOOKMARK_EVERY.min(s.deadline - now);
            match tokio::time::timeout(wait, s.rx.recv()).await {
                Ok(Ok(e)) => {
                    s.last_rv = e.rv;
                    if s.filter.admits(&e) {
                        let rendered = s.render(e.kind, &e.object);
                        s.pending.push_back(rendered);
                    }
                }
                Ok(Err(RecvError::Lagged(_))) => {
                    s.pending
                        .push_back(gone(s.format, "the watch fell behind; list again"));
                    s.done = true;
                }
                Ok(Err(RecvError::Closed)) => return None,
                Err(_) if s.bookmarks => {
                    let rv = s.last_rv.to_string();
                    let bookmark = json!({
                        "kind": s.rt.kind, "apiVersion": s.rt.api_version(),
                        "metadata": {"resourceVersion": rv}
                    });
                    s.pending.push_back(line(s.format, "BOOKMARK", &bookmark));
                }
                Err(_) => {}
            }
        }
    });
    let content_type = match format {
        Format::Protobuf => protobuf::WATCH_MEDIA_TYPE,
        Format::Json => "application/json",
    };
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, content_type)],
        Body::from_stream(stream),
    )
        .into_response())
}

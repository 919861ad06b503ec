//! Pods that serve a metrics endpoint, as vLLM's do: a pod whose template is annotated
//! `sim.prescale.io/metrics-port` serves Prometheus text on its pod IP at that port (path
//! `/metrics`, or `sim.prescale.io/metrics-path`) while it is ready, with gauges driven by
//! the load model — so an autoscaler scrapes `http://<status.podIP>:<port>/<path>` exactly
//! as it would in a cluster.
//!
//! Every running pod gets a pod IP of its own in 127.0.0.0/8 (Linux routes the whole block
//! to loopback), so pods of one workload can all listen on the same port, as in a cluster.
//!
//! The gauges, from the pod's load `d` (its share of the workload's demand relative to its
//! requests, 1.0 = at requests) and `C` = `sim.prescale.io/requests-at-full-load` (default
//! 8): `requests_in_flight` = round(d × C); `vllm:num_requests_running` = the in-flight
//! requests up to a batch of 2C; `vllm:num_requests_waiting` = the rest;
//! `vllm:gpu_cache_usage_perc` and `vllm:kv_cache_usage_perc` = running / 2C (0.5 at full
//! load, the target of AIBrix's examples).

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::Value;

use crate::store::name_of;

/// The annotation (on the pod template) that makes pods serve metrics, on this port.
pub const PORT_ANNOTATION: &str = "sim.prescale.io/metrics-port";
/// The path they serve them at (default `/metrics`).
pub const PATH_ANNOTATION: &str = "sim.prescale.io/metrics-path";
/// Requests one pod holds at its requests' load (default 8).
pub const CAPACITY_ANNOTATION: &str = "sim.prescale.io/requests-at-full-load";
pub const DEFAULT_PATH: &str = "/metrics";
pub const DEFAULT_CAPACITY: f64 = 8.0;

/// A pod's IP: a loopback address derived from its uid, not one in `taken`.
pub fn pod_ip(uid: &str, taken: &BTreeSet<String>) -> String {
    let mut h = uid.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    });
    loop {
        let ip = format!(
            "127.{}.{}.{}",
            1 + (h >> 16) % 254,
            (h >> 8) % 256,
            1 + h % 254
        );
        if !taken.contains(&ip) {
            return ip;
        }
        h = h.wrapping_mul(0x9E3779B97F4A7C15).wrapping_add(1);
    }
}

/// The gauges of one pod.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gauges {
    pub in_flight: f64,
    pub running: f64,
    pub waiting: f64,
    pub cache_usage: f64,
}

/// The gauges of a pod at load `d` holding `capacity` requests at full load.
pub fn gauges(d: f64, capacity: f64) -> Gauges {
    let batch = 2.0 * capacity;
    let in_flight = (d.max(0.0) * capacity).round();
    let running = in_flight.min(batch);
    Gauges {
        in_flight,
        running,
        waiting: in_flight - running,
        cache_usage: if batch > 0.0 { running / batch } else { 0.0 },
    }
}

/// The Prometheus text exposition of a pod's gauges; vLLM's carry its `model_name`.
pub fn exposition(g: &Gauges, model: &str) -> String {
    let model = model.replace('\\', "\\\\").replace('"', "\\\"");
    let mut out = String::new();
    for (name, help, value, labelled) in [
        (
            "vllm:num_requests_running",
            "Number of requests currently running on GPU.",
            g.running,
            true,
        ),
        (
            "vllm:num_requests_waiting",
            "Number of requests waiting to be processed.",
            g.waiting,
            true,
        ),
        (
            "vllm:gpu_cache_usage_perc",
            "GPU KV-cache usage. 1 means 100 percent usage.",
            g.cache_usage,
            true,
        ),
        (
            "vllm:kv_cache_usage_perc",
            "KV-cache usage. 1 means 100 percent usage.",
            g.cache_usage,
            true,
        ),
        (
            "requests_in_flight",
            "Requests being served, running or waiting.",
            g.in_flight,
            false,
        ),
    ] {
        let labels = if labelled {
            format!("{{model_name=\"{model}\"}}")
        } else {
            String::new()
        };
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name}{labels} {value}\n"
        ));
    }
    out
}

/// What a pod asks for: where to serve, and its capacity.
#[derive(Debug, Clone, PartialEq)]
struct Wanted {
    addr: SocketAddr,
    path: String,
    capacity: f64,
    model: String,
}

/// The requests a pod holds at its requests' load (`CAPACITY_ANNOTATION`, else 8).
pub fn capacity_of(pod: &Value) -> f64 {
    pod.pointer("/metadata/annotations")
        .and_then(|a| a.get(CAPACITY_ANNOTATION))
        .and_then(Value::as_str)
        .and_then(|c| c.trim().parse::<f64>().ok())
        .filter(|c| c.is_finite() && *c > 0.0)
        .unwrap_or(DEFAULT_CAPACITY)
}

fn wanted(pod: &Value) -> Option<Wanted> {
    let annotations = pod.pointer("/metadata/annotations")?;
    let port: u16 = annotations
        .get(PORT_ANNOTATION)?
        .as_str()?
        .trim()
        .parse()
        .ok()?;
    let ip: Ipv4Addr = pod.pointer("/status/podIP")?.as_str()?.parse().ok()?;
    let path = annotations
        .get(PATH_ANNOTATION)
        .and_then(Value::as_str)
        .map(|p| format!("/{}", p.trim_start_matches('/')))
        .unwrap_or_else(|| DEFAULT_PATH.into());
    let capacity = capacity_of(pod);
    let model = pod
        .pointer("/metadata/labels/app")
        .and_then(Value::as_str)
        .or_else(|| {
            pod.pointer("/metadata/ownerReferences/0/name")
                .and_then(Value::as_str)
        })
        .unwrap_or_default()
        .to_string();
    Some(Wanted {
        addr: SocketAddr::new(IpAddr::V4(ip), port),
        path,
        capacity,
        model,
    })
}

/// One pod's listener; it stops when dropped.
struct Endpoint {
    wanted: Wanted,
    text: Arc<RwLock<String>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The listeners of every pod that serves metrics.
#[derive(Default)]
pub struct Endpoints {
    by_pod: BTreeMap<(String, String), Endpoint>,
    /// Pods whose address could not be bound, with why (reported once as an Event).
    failed: BTreeMap<(String, String), String>,
}

impl Endpoints {
    /// The address a pod serves at, while it does.
    pub fn address(&self, namespace: &str, pod: &str) -> Option<SocketAddr> {
        self.by_pod
            .get(&(namespace.to_string(), pod.to_string()))
            .map(|e| e.wanted.addr)
    }
}

/// A pod whose endpoint could not be bound, for a Warning Event.
pub struct BindFailure {
    pub namespace: String,
    pub pod: String,
    pub message: String,
}

/// Brings the listeners in line with the ready pods that ask for one, and their gauges in
/// line with `demand` ((namespace, pod) → load). Returns the pods that newly failed to bind.
pub fn sync(
    endpoints: &mut Endpoints,
    pods: &[Value],
    demand: &BTreeMap<(String, String), f64>,
) -> Vec<BindFailure> {
    let mut serving = BTreeSet::new();
    let mut failures = vec![];
    for pod in pods.iter().filter(|p| super::workloads::is_ready(p)) {
        let Some(want) = wanted(pod) else { continue };
        let key = (
            pod["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            name_of(pod).unwrap_or_default(),
        );
        let d = demand.get(&key).copied().unwrap_or(0.0);
        let text = exposition(&gauges(d, want.capacity), &want.model);
        if endpoints.by_pod.get(&key).is_some_and(|e| e.wanted != want) {
            endpoints.by_pod.remove(&key);
        }
        match endpoints.by_pod.get(&key) {
            Some(e) => *e.text.write().unwrap_or_else(|e| e.into_inner()) = text,
            None => match serve(&want, text) {
                Ok(endpoint) => {
                    endpoints.failed.remove(&key);
                    endpoints.by_pod.insert(key.clone(), endpoint);
                }
                Err(e) => {
                    let message = format!("cannot serve metrics on {}: {e}", want.addr);
                    if endpoints
                        .failed
                        .insert(key.clone(), message.clone())
                        .as_ref()
                        != Some(&message)
                    {
                        failures.push(BindFailure {
                            namespace: key.0.clone(),
                            pod: key.1.clone(),
                            message,
                        });
                    }
                }
            },
        }
        serving.insert(key);
    }
    endpoints.by_pod.retain(|key, _| serving.contains(key));
    endpoints.failed.retain(|key, _| serving.contains(key));
    failures
}

fn serve(want: &Wanted, text: String) -> std::io::Result<Endpoint> {
    let listener = std::net::TcpListener::bind(want.addr)?;
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let text = Arc::new(RwLock::new(text));
    let shared = text.clone();
    let router = Router::new().route(
        &want.path,
        axum::routing::get(move || {
            let body = shared.read().map(|t| t.clone()).unwrap_or_default();
            async move {
                (
                    StatusCode::OK,
                    [(
                        header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    body,
                )
                    .into_response()
            }
        }),
    );
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok(Endpoint {
        wanted: want.clone(),
        text,
        task,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauges_follow_the_load() {
        let g = gauges(1.0, 8.0);
        assert_eq!(
            (g.in_flight, g.running, g.waiting, g.cache_usage),
            (8.0, 8.0, 0.0, 0.5)
        );
        let g = gauges(3.0, 8.0);
        assert_eq!(
            (g.in_flight, g.running, g.waiting, g.cache_usage),
            (24.0, 16.0, 8.0, 1.0)
        );
        assert_eq!(gauges(0.0, 8.0).cache_usage, 0.0);
    }

    #[test]
    fn the_exposition_is_prometheus_text() {
        let text = exposition(&gauges(0.5, 8.0), "vllm");
        assert!(
            text.contains("# TYPE vllm:num_requests_running gauge\n"),
            "{text}"
        );
        assert!(
            text.contains("vllm:num_requests_running{model_name=\"vllm\"} 4\n"),
            "{text}"
        );
        assert!(
            text.contains("vllm:gpu_cache_usage_perc{model_name=\"vllm\"} 0.25\n"),
            "{text}"
        );
        assert!(text.contains("\nrequests_in_flight 4\n"), "{text}");
    }

    #[test]
    fn pod_ips_are_loopback_and_distinct() {
        let mut taken = BTreeSet::new();
        for i in 0..2000 {
            let ip = pod_ip(&format!("uid-{i}"), &taken);
            let parsed: Ipv4Addr = ip.parse().unwrap();
            assert!(
                parsed.is_loopback() && parsed != Ipv4Addr::LOCALHOST,
                "{ip}"
            );
            assert!(taken.insert(ip));
        }
    }
}

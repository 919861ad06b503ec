//! What a backfill asks Prometheus, as pure functions: the PromQL per metric and the time
//! ranges, chunked under Prometheus's points-per-series limit.
//!
//! Pods are matched to their workload by name, the way their controllers name them
//! (cAdvisor's series carry `pod`, not the owner): a Deployment's or Rollout's pods are
//! `<name>-<template hash>-<suffix>`, a StatefulSet's `<name>-<ordinal>`, a DaemonSet's or
//! ReplicaSet's `<name>-<suffix>`. Prometheus anchors regexes, so `web` does not match the
//! pods of `web-admin`.

use prescale_store::Metric;

/// Prometheus refuses a range query of more than 11,000 points per series.
pub const MAX_POINTS: i64 = 11_000;

/// The regex matching the pod names of a workload.
pub fn pod_regex(kind: &str, name: &str) -> String {
    let name = regex_escape(name);
    match kind {
        "Deployment" | "Rollout" => format!("{name}-[a-z0-9]+-[a-z0-9]+"),
        "StatefulSet" => format!("{name}-[0-9]+"),
        _ => format!("{name}-[a-z0-9]+"),
    }
}

fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A PromQL string literal.
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The queries of a backfill, one per metric, each giving one series per container: the
/// largest pod's usage, as the collector records (a request has to fit the largest pod).
/// CPU is a rate of the cumulative counter; `rate` treats a drop (a restarted container)
/// as a counter reset instead of negative usage.
pub fn queries(namespace: &str, kind: &str, name: &str, step_secs: i64) -> Vec<(Metric, String)> {
    let selector = format!(
        "namespace={},pod=~{},container!=\"\",container!=\"POD\"",
        quoted(namespace),
        quoted(&pod_regex(kind, name))
    );
    // At least four scrapes of a 15 s interval, so one missed scrape leaves a rate.
    let window = (4 * step_secs).max(60);
    vec![
        (
            Metric::Cpu,
            format!(
                "max by (container) (rate(container_cpu_usage_seconds_total{{{selector}}}[{window}s]))"
            ),
        ),
        (
            Metric::Memory,
            format!("max by (container) (container_memory_working_set_bytes{{{selector}}})"),
        ),
    ]
}

/// Whether `name` can be written bare as a PromQL metric name.
fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// A metric's label selector text (`verb=GET,code!=500`) as PromQL matchers; `None` when
/// it uses set-based requirements (`in`, `notin`, `exists`), which have no one-to-one
/// PromQL form.
fn matchers(selector: Option<&str>) -> Option<Vec<String>> {
    let mut out = vec![];
    for part in selector.unwrap_or_default().split(',').map(str::trim) {
        if part.is_empty() {
            continue;
        }
        let (key, op, value) = if let Some((k, v)) = part.split_once("!=") {
            (k, "!=", v)
        } else if let Some((k, v)) = part.split_once("==") {
            (k, "=", v)
        } else {
            let (k, v) = part.split_once('=')?;
            (k, "=", v)
        };
        let key = key.trim();
        if !is_metric_name(key) || key.contains(':') || value.contains(['(', ')', ' ']) {
            return None;
        }
        out.push(format!("{key}{op}{}", quoted(value.trim())));
    }
    Some(out)
}

/// The query backfilling one of an HPA's Pods, Object or External metrics, as the load
/// the sampler records of it (`horizontal::metrics::CustomMetric`), or `None` when it
/// cannot be read back from Prometheus. The series is taken to carry the metric's own
/// name, as prometheus-adapter's default rules serve gauges (a metric the adapter derives
/// from a counter, or renames, is recorded live only): for a Pods metric, summed over the
/// workload's pods (`namespace`, `pod` labels); for an Object metric, the series whose
/// label named after the object's kind (`ingress="main"`) names it; for an External
/// metric, every series its selector matches. A `Value` target's load is the value × the
/// Ready pods of the time, which Prometheus does not say: not backfilled.
pub fn custom_query(
    namespace: &str,
    kind: &str,
    name: &str,
    metric: &crate::horizontal::metrics::CustomMetric,
) -> Option<String> {
    use crate::horizontal::metrics::CustomSource;
    if metric.per_replica || !is_metric_name(&metric.name) {
        return None;
    }
    let mut labels = matchers(metric.selector.as_deref())?;
    match &metric.source {
        CustomSource::Pods => {
            labels.insert(0, format!("namespace={}", quoted(namespace)));
            labels.insert(1, format!("pod=~{}", quoted(&pod_regex(kind, name))));
        }
        CustomSource::Object {
            kind: object_kind,
            name: object,
            ..
        } => {
            labels.insert(0, format!("namespace={}", quoted(namespace)));
            labels.insert(
                1,
                format!("{}={}", object_kind.to_lowercase(), quoted(object)),
            );
        }
        CustomSource::External => {}
    }
    Some(format!("sum({}{{{}}})", metric.name, labels.join(",")))
}

/// `[from, to]` cut into inclusive ranges of at most `max_points` points `step` apart,
/// newest first (recent history matters most to a forecast, so it arrives first). Points
/// are aligned to multiples of `step`, so ranges never share a point.
pub fn chunks(from: i64, to: i64, step: i64, max_points: i64) -> Vec<(i64, i64)> {
    let step = step.max(1);
    let span = (max_points.max(1) - 1) * step;
    let first = from.div_euclid(step) * step + if from.rem_euclid(step) == 0 { 0 } else { step };
    let last = to.div_euclid(step) * step;
    let mut out = vec![];
    let mut end = last;
    while end >= first {
        let start = (end - span).max(first);
        out.push((start, end));
        end = start - step;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_every_point_once_within_the_limit() {
        let (from, to, step) = (1_000_007, 1_000_007 + 14 * 86_400, 15);
        let got = chunks(from, to, step, MAX_POINTS);
        let mut points = vec![];
        for (s, e) in &got {
            let n = (e - s) / step + 1;
            assert!(n <= MAX_POINTS, "{s}..{e}: {n} points");
            points.extend((*s..=*e).step_by(step as usize));
        }
        points.sort();
        let want: Vec<i64> = (from..=to).filter(|t| t % step == 0).collect();
        assert_eq!(points, want);
        assert!(got[0].1 > got[1].1, "newest first");
        assert!(chunks(10, 5, 15, 100).is_empty());
    }

    #[test]
    fn pods_are_matched_by_how_their_controller_names_them() {
        let re =
            |kind, name| regex::Regex::new(&format!("^(?:{})$", pod_regex(kind, name))).unwrap();
        let web = re("Deployment", "web");
        assert!(web.is_match("web-5d8f7c9b4-abcde"));
        assert!(!web.is_match("web-admin-5d8f7c9b4-abcde"));
        assert!(!web.is_match("web-0"));
        assert!(re("StatefulSet", "db").is_match("db-12"));
        assert!(!re("StatefulSet", "db").is_match("db-x"));
        assert!(re("DaemonSet", "agent.v2").is_match("agent.v2-x7k2p"));
        assert!(!re("DaemonSet", "agent.v2").is_match("agentxv2-x7k2p"));
    }

    #[test]
    fn custom_metrics_are_queried_by_their_own_name_where_they_can_be() {
        use crate::horizontal::metrics::{CustomMetric, CustomSource};
        let m = |source, name: &str, selector: Option<&str>, per_replica| CustomMetric {
            source,
            name: name.into(),
            selector: selector.map(Into::into),
            target: 1.0,
            per_replica,
        };
        let web = |metric: &CustomMetric| custom_query("shop", "Deployment", "web", metric);
        assert_eq!(
            web(&m(CustomSource::Pods, "rps", Some("verb=GET"), false)),
            Some(r#"sum(rps{namespace="shop",pod=~"web-[a-z0-9]+-[a-z0-9]+",verb="GET"})"#.into())
        );
        let ingress = CustomSource::Object {
            api_version: "networking.k8s.io/v1".into(),
            kind: "Ingress".into(),
            name: "main".into(),
        };
        assert_eq!(
            web(&m(ingress, "hits", None, false)),
            Some(r#"sum(hits{namespace="shop",ingress="main"})"#.into())
        );
        assert_eq!(
            web(&m(CustomSource::External, "queue", Some("q!=low"), false)),
            Some(r#"sum(queue{q!="low"})"#.into())
        );
        // Not backfilled: a Value target (its load needs the pods of the time), a name
        // PromQL cannot take bare, a set-based selector.
        assert_eq!(web(&m(CustomSource::External, "queue", None, true)), None);
        assert_eq!(
            web(&m(CustomSource::External, "queue-depth", None, false)),
            None
        );
        assert_eq!(
            web(&m(CustomSource::Pods, "rps", Some("verb in (GET)"), false)),
            None
        );
    }

    #[test]
    fn label_values_are_quoted() {
        let q = queries("we\"ird", "Deployment", "web", 15);
        assert!(q[0].1.contains(r#"namespace="we\"ird""#), "{}", q[0].1);
        assert!(q[0].1.contains("[60s]"));
        assert_eq!(q[1].0, Metric::Memory);
    }
}

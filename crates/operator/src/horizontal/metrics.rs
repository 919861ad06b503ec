//! Which metrics the horizontal forecast scales on, as plain data: the metrics of the
//! workload's single HPA (its own targets), less `exclude_metrics`, plus
//! `additional_metrics`; without an HPA, seed 001's rule (CPU and memory at 80 % of the
//! request). Resource metrics (cpu, memory) are forecast from the collector's history;
//! Pods, Object and External metrics from the history `sampler` records of them (the
//! custom and external metrics APIs); ContainerResource metrics are named as not
//! forecast.

use k8s_openapi::api::autoscaling::v2::{HorizontalPodAutoscaler, MetricSpec, MetricTarget};
use prescale_api::target::horizontal::{ExcludeMetric, HorizontalSpec};
use prescale_forecast::replicas::DEFAULT_UTILIZATION;

use crate::workload::quantity;

/// A Resource metric's target, as the HPA states it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ResourceTarget {
    /// A fraction of the per-pod request (`averageUtilization: 70` → 0.7).
    Utilization(f64),
    /// Per pod, in the resource's unit (cores, bytes).
    AverageValue(f64),
}

/// A Resource metric to forecast.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceMetric {
    /// `cpu` or `memory`.
    pub name: String,
    pub target: ResourceTarget,
}

/// Where a Pods, Object or External metric is read.
#[derive(Debug, Clone, PartialEq)]
pub enum CustomSource {
    /// Per pod of the workload (custom.metrics.k8s.io), summed over its pods.
    Pods,
    /// One value of one object (custom.metrics.k8s.io).
    Object {
        api_version: String,
        kind: String,
        name: String,
    },
    /// One value (external.metrics.k8s.io), summed over the series the selector matches.
    External,
}

/// A metric the HPA reads through the custom or external metrics API. What is recorded
/// is the workload's *load* in the target's unit: the sum over pods for Pods, the value
/// for an `AverageValue` target, and the value × Ready pods for a `Value` target — so
/// that in every case the HPA's own formula is `desired = ceil(load / target)`.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomMetric {
    pub source: CustomSource,
    pub name: String,
    /// The metric's label selector, as a selector string (`metric.selector`).
    pub selector: Option<String>,
    /// The target value (per pod for `AverageValue`).
    pub target: f64,
    /// `Value` target: the value is per replica, so the load is value × Ready pods.
    pub per_replica: bool,
}

impl CustomMetric {
    /// `Pods/rps`, `Object/requests`, `External/queue_depth`: the metric's name in
    /// messages, `status.suggestion`'s driver, and its history's key.
    pub fn id(&self) -> String {
        let kind = match self.source {
            CustomSource::Pods => "Pods",
            CustomSource::Object { .. } => "Object",
            CustomSource::External => "External",
        };
        format!("{kind}/{}", self.name)
    }
}

/// What the horizontal forecast scales on.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HorizontalMetrics {
    pub resource: Vec<ResourceMetric>,
    pub custom: Vec<CustomMetric>,
    /// Metrics that apply but are not forecast (`ContainerResource/cpu`, a target type
    /// the HPA does not accept for the metric's type).
    pub not_forecast: Vec<String>,
}

/// What the plan and the forecast need of one HPA.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HpaView {
    pub name: String,
    pub min_replicas: u32,
    pub max_replicas: u32,
    /// Its metrics as written (an HPA without metrics scales on CPU at 80 %).
    pub metrics: Vec<MetricSpec>,
    /// The replicas it asks for now (`status.desiredReplicas`).
    pub desired_replicas: Option<u32>,
}

impl HpaView {
    pub fn of(h: &HorizontalPodAutoscaler) -> HpaView {
        let spec = h.spec.clone().unwrap_or_default();
        HpaView {
            name: h.metadata.name.clone().unwrap_or_default(),
            min_replicas: spec.min_replicas.unwrap_or(1).max(0) as u32,
            max_replicas: spec.max_replicas.max(0) as u32,
            metrics: spec.metrics.unwrap_or_default(),
            desired_replicas: h.status.as_ref().map(|s| s.desired_replicas.max(0) as u32),
        }
    }
}

/// The name and type a metric is excluded by (`cpu`/`Resource`, `rps`/`Pods`, …).
fn identity(m: &MetricSpec) -> (String, String) {
    let name = match m.type_.as_str() {
        "Resource" => m.resource.as_ref().map(|r| r.name.clone()),
        "ContainerResource" => m.container_resource.as_ref().map(|r| r.name.clone()),
        "Pods" => m.pods.as_ref().map(|p| p.metric.name.clone()),
        "Object" => m.object.as_ref().map(|o| o.metric.name.clone()),
        "External" => m.external.as_ref().map(|e| e.metric.name.clone()),
        _ => None,
    };
    (name.unwrap_or_default(), m.type_.clone())
}

fn excluded(m: &MetricSpec, exclude: &[ExcludeMetric]) -> bool {
    let (name, type_) = identity(m);
    exclude.iter().any(|e| {
        (e.name.is_some() || e.type_.is_some())
            && e.name.as_ref().is_none_or(|n| *n == name)
            && e.type_.as_ref().is_none_or(|t| *t == type_)
    })
}

fn resource_target(t: &MetricTarget) -> Option<ResourceTarget> {
    match t.type_.as_str() {
        "Utilization" => t
            .average_utilization
            .map(|u| ResourceTarget::Utilization(f64::from(u) / 100.0)),
        "AverageValue" => t
            .average_value
            .as_ref()
            .and_then(|q| quantity(&serde_json::Value::String(q.0.clone())))
            .map(ResourceTarget::AverageValue),
        _ => None,
    }
}

fn value_of(q: Option<&k8s_openapi::apimachinery::pkg::api::resource::Quantity>) -> Option<f64> {
    q.and_then(|q| quantity(&serde_json::Value::String(q.0.clone())))
        .filter(|v| *v > 0.0)
}

/// The label selector of a metric identifier as selector text.
fn selector_text(
    s: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector>,
) -> Option<String> {
    let s = s?;
    let mut parts: Vec<String> = s
        .match_labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for e in s.match_expressions.iter().flatten() {
        let values = e.values.clone().unwrap_or_default().join(",");
        parts.push(match e.operator.as_str() {
            "In" => format!("{} in ({values})", e.key),
            "NotIn" => format!("{} notin ({values})", e.key),
            "Exists" => e.key.clone(),
            _ => format!("!{}", e.key),
        });
    }
    (!parts.is_empty()).then(|| parts.join(","))
}

/// A Pods, Object or External metric as the forecast reads it; `None` when its target
/// is not one the HPA accepts for it (Pods: `AverageValue`; Object and External: `Value`
/// or `AverageValue`).
fn custom(m: &MetricSpec) -> Option<CustomMetric> {
    let (source, metric, target) = match m.type_.as_str() {
        "Pods" => {
            let p = m.pods.as_ref()?;
            (CustomSource::Pods, &p.metric, &p.target)
        }
        "Object" => {
            let o = m.object.as_ref()?;
            let d = &o.described_object;
            let source = CustomSource::Object {
                api_version: d.api_version.clone().unwrap_or_default(),
                kind: d.kind.clone(),
                name: d.name.clone(),
            };
            (source, &o.metric, &o.target)
        }
        "External" => {
            let e = m.external.as_ref()?;
            (CustomSource::External, &e.metric, &e.target)
        }
        _ => return None,
    };
    let (target, per_replica) = match (target.type_.as_str(), &source) {
        ("AverageValue", _) => (value_of(target.average_value.as_ref())?, false),
        ("Value", CustomSource::Object { .. } | CustomSource::External) => {
            (value_of(target.value.as_ref())?, true)
        }
        _ => return None,
    };
    Some(CustomMetric {
        source,
        name: metric.name.clone(),
        selector: selector_text(metric.selector.as_ref()),
        target,
        per_replica,
    })
}

fn resource(name: &str, fraction: f64) -> MetricSpec {
    serde_json::from_value(serde_json::json!({"type": "Resource", "resource": {
        "name": name, "target": {"type": "Utilization",
        "averageUtilization": (fraction * 100.0).round() as i32}}}))
    .unwrap_or_default()
}

/// The metrics to forecast for a target whose workload has `hpa` (`None`: no HPA, seed
/// 001's 80 % rule for CPU and memory).
pub fn horizontal_metrics(hpa: Option<&HpaView>, spec: &HorizontalSpec) -> HorizontalMetrics {
    let base: Vec<MetricSpec> = match hpa {
        Some(h) if h.metrics.is_empty() => vec![resource("cpu", DEFAULT_UTILIZATION)],
        Some(h) => h.metrics.clone(),
        None => vec![
            resource("cpu", DEFAULT_UTILIZATION),
            resource("memory", DEFAULT_UTILIZATION),
        ],
    };
    let exclude = spec.exclude_metrics.as_deref().unwrap_or_default();
    let mut out = HorizontalMetrics::default();
    let chosen = base
        .iter()
        .filter(|m| !excluded(m, exclude))
        .chain(spec.additional_metrics.iter().flatten());
    for m in chosen {
        let (name, type_) = identity(m);
        let target = (type_ == "Resource")
            .then(|| m.resource.as_ref().and_then(|r| resource_target(&r.target)))
            .flatten()
            .filter(|_| name == "cpu" || name == "memory");
        match (target, custom(m)) {
            (Some(target), _) => out.resource.push(ResourceMetric { name, target }),
            (None, Some(c)) => out.custom.push(c),
            (None, None) => out.not_forecast.push(format!("{type_}/{name}")),
        }
    }
    out.resource.dedup();
    out.custom.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hpa(metrics: serde_json::Value) -> HpaView {
        HpaView {
            name: "web".into(),
            min_replicas: 1,
            max_replicas: 10,
            metrics: serde_json::from_value(metrics).unwrap(),
            desired_replicas: None,
        }
    }

    fn spec(doc: serde_json::Value) -> HorizontalSpec {
        serde_json::from_value(doc).unwrap()
    }

    #[test]
    fn without_an_hpa_cpu_and_memory_at_eighty_percent() {
        let m = horizontal_metrics(None, &HorizontalSpec::default());
        assert_eq!(
            m.resource,
            vec![
                ResourceMetric {
                    name: "cpu".into(),
                    target: ResourceTarget::Utilization(0.8)
                },
                ResourceMetric {
                    name: "memory".into(),
                    target: ResourceTarget::Utilization(0.8)
                },
            ]
        );
        assert!(m.not_forecast.is_empty());
    }

    #[test]
    fn the_hpas_own_targets_less_excluded_plus_additional() {
        let h = hpa(json!([
            {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}},
            {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "512Mi"}}},
            {"type": "Pods", "pods": {"metric": {"name": "rps"}, "target": {"type": "AverageValue", "averageValue": "10"}}},
        ]));
        let m = horizontal_metrics(Some(&h), &HorizontalSpec::default());
        assert_eq!(m.resource[0].target, ResourceTarget::Utilization(0.6));
        assert_eq!(
            m.resource[1].target,
            ResourceTarget::AverageValue(512.0 * 1024.0 * 1024.0)
        );
        assert!(m.not_forecast.is_empty(), "{:?}", m.not_forecast);
        assert_eq!(
            m.custom,
            vec![CustomMetric {
                source: CustomSource::Pods,
                name: "rps".into(),
                selector: None,
                target: 10.0,
                per_replica: false,
            }]
        );

        let s = spec(json!({
            "exclude_metrics": [{"name": "cpu"}, {"type": "Pods"}],
            "additional_metrics": [
                {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "AverageValue", "averageValue": "500m"}}},
                {"type": "External", "external": {"metric": {"name": "queue"}, "target": {"type": "Value", "value": "5"}}},
            ],
        }));
        let m = horizontal_metrics(Some(&h), &s);
        let names: Vec<_> = m
            .resource
            .iter()
            .map(|r| (r.name.as_str(), r.target))
            .collect();
        assert_eq!(
            names,
            vec![
                (
                    "memory",
                    ResourceTarget::AverageValue(512.0 * 1024.0 * 1024.0)
                ),
                ("cpu", ResourceTarget::AverageValue(0.5)),
            ]
        );
        assert_eq!(m.custom.len(), 1);
        assert_eq!(m.custom[0].id(), "External/queue");
        assert!(m.custom[0].per_replica, "a Value target is per replica");
        assert!(m.not_forecast.is_empty());
    }

    #[test]
    fn object_and_external_targets_and_what_is_not_forecast() {
        let h = hpa(json!([
            {"type": "Object", "object": {
                "describedObject": {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": "main"},
                "metric": {"name": "requests", "selector": {"matchLabels": {"verb": "GET"}}},
                "target": {"type": "AverageValue", "averageValue": "2k"}}},
            {"type": "External", "external": {"metric": {"name": "queue"},
                "target": {"type": "Value", "value": "30"}}},
            // Pods metrics only take AverageValue targets.
            {"type": "Pods", "pods": {"metric": {"name": "rps"}, "target": {"type": "Value", "value": "10"}}},
            {"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "app",
                "target": {"type": "Utilization", "averageUtilization": 60}}},
        ]));
        let m = horizontal_metrics(Some(&h), &HorizontalSpec::default());
        assert_eq!(
            m.custom[0],
            CustomMetric {
                source: CustomSource::Object {
                    api_version: "networking.k8s.io/v1".into(),
                    kind: "Ingress".into(),
                    name: "main".into()
                },
                name: "requests".into(),
                selector: Some("verb=GET".into()),
                target: 2000.0,
                per_replica: false,
            }
        );
        assert_eq!(
            (
                m.custom[1].id(),
                m.custom[1].target,
                m.custom[1].per_replica
            ),
            ("External/queue".into(), 30.0, true)
        );
        assert_eq!(m.not_forecast, vec!["Pods/rps", "ContainerResource/cpu"]);
    }

    #[test]
    fn an_hpa_without_metrics_scales_on_cpu() {
        let m = horizontal_metrics(Some(&hpa(json!([]))), &HorizontalSpec::default());
        assert_eq!(m.resource.len(), 1);
        assert_eq!(m.resource[0].name, "cpu");
    }
}

//! Which metrics the horizontal forecast scales on, as plain data: the metrics of the
//! workload's single HPA (its own targets), less `exclude_metrics`, plus
//! `additional_metrics`; without an HPA, seed 001's rule (CPU and memory at 80 % of the
//! request). Resource metrics (cpu, memory) are forecast from the collector's history;
//! Pods, Object, External and ContainerResource metrics are named as not forecast yet.

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

/// What the horizontal forecast scales on.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HorizontalMetrics {
    pub resource: Vec<ResourceMetric>,
    /// Metrics that apply but are not forecast by this version (`Pods/requests`, …).
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
        match target {
            Some(target) => out.resource.push(ResourceMetric { name, target }),
            None => out.not_forecast.push(format!("{type_}/{name}")),
        }
    }
    out.resource.dedup();
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
        assert_eq!(m.not_forecast, vec!["Pods/rps"]);

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
        assert_eq!(m.not_forecast, vec!["External/queue"]);
    }

    #[test]
    fn an_hpa_without_metrics_scales_on_cpu() {
        let m = horizontal_metrics(Some(&hpa(json!([]))), &HorizontalSpec::default());
        assert_eq!(m.resource.len(), 1);
        assert_eq!(m.resource[0].name, "cpu");
    }
}

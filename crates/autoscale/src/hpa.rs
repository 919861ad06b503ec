//! The HPA strategy: the native autoscaling/v2 HorizontalPodAutoscaler a PodAutoscaler
//! stands for, built as plain data (the controller creates it, owns it through its
//! ownerReference and keeps it equal to this). As AIBrix builds it:
//!
//! - named `<PodAutoscaler>-hpa`, with the PodAutoscaler's labels;
//! - the bounds in force (schedules included); a minimum of 0 leaves `minReplicas` out, so
//!   the HPA's own default (1) applies, as in AIBrix;
//! - `cpu` → a Resource metric at targetValue percent utilisation; `memory` → a Resource
//!   metric at targetValue MiB per pod; pod and custom sources → a Pods metric at
//!   targetValue per pod (served by a custom metrics adapter, as the HPA reads nothing from
//!   pod endpoints); external sources without endpoint → an External metric at targetValue
//!   per pod;
//! - the cooldown windows become the stabilisation windows, the rates percent policies per
//!   minute (max-scale-up-rate 2 → +100 %, max-scale-down-rate 2 → −50 %); a rate of 1
//!   disables scaling that way.
//!
//! Unlike AIBrix, which truncates every target to a whole number for Pods metrics (0.5
//! becomes 1), the target keeps its value ("0.5" stays 500m), and an external source with
//! an HTTP endpoint is refused instead of becoming a Pods metric no adapter serves.

use std::collections::BTreeMap;

use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, ExternalMetricSource, HPAScalingPolicy, HPAScalingRules,
    HorizontalPodAutoscaler, HorizontalPodAutoscalerBehavior, HorizontalPodAutoscalerSpec,
    MetricIdentifier, MetricSpec, MetricTarget, PodsMetricSource, ResourceMetricSource,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use prescale_api::limits;
use prescale_api::podautoscaler::{
    EffectiveBounds, MetricSource, MetricSourceType, PodAutoscaler, ScalingParameters,
};

/// The suffix AIBrix gives the HPA's name.
pub const NAME_SUFFIX: &str = "-hpa";
/// The period of the rate policies.
pub const POLICY_PERIOD_SECONDS: i32 = 60;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HpaError {
    #[error("metadata.name: {name:?} is too long for the HPA's name {name}{NAME_SUFFIX}: at most {max} characters", max = limits::DNS_SUBDOMAIN as usize - NAME_SUFFIX.len())]
    NameTooLong { name: String },
    #[error("metadata.{0}: missing; build the HPA from a PodAutoscaler read from the API server")]
    MissingMetadata(&'static str),
    #[error(
        "spec.metricsSources[{index}]: {why}; the HPA strategy needs metrics the HorizontalPodAutoscaler can read (resource, pod, custom, or external without endpoint)"
    )]
    UnsupportedSource { index: usize, why: String },
    #[error("spec.metricsSources[{index}].targetValue: {value:?} {why}")]
    TargetValue {
        index: usize,
        value: String,
        why: String,
    },
}

/// The HPA's name for a PodAutoscaler.
pub fn hpa_name(pa_name: &str) -> Result<String, HpaError> {
    let name = format!("{pa_name}{NAME_SUFFIX}");
    if name.len() > limits::DNS_SUBDOMAIN as usize {
        return Err(HpaError::NameTooLong {
            name: pa_name.into(),
        });
    }
    Ok(name)
}

/// The HorizontalPodAutoscaler for `pa` with the bounds in force and its parameters.
pub fn build_hpa(
    pa: &PodAutoscaler,
    parameters: &ScalingParameters,
    bounds: &EffectiveBounds,
) -> Result<HorizontalPodAutoscaler, HpaError> {
    let name = pa
        .metadata
        .name
        .as_deref()
        .ok_or(HpaError::MissingMetadata("name"))?;
    let uid = pa
        .metadata
        .uid
        .clone()
        .ok_or(HpaError::MissingMetadata("uid"))?;
    let target = &pa.spec.scale_target_ref;
    let metrics = pa
        .spec
        .metrics_sources
        .iter()
        .enumerate()
        .map(|(index, source)| metric(index, source))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HorizontalPodAutoscaler {
        metadata: ObjectMeta {
            name: Some(hpa_name(name)?),
            namespace: pa.metadata.namespace.clone(),
            labels: pa
                .metadata
                .labels
                .clone()
                .filter(|l: &BTreeMap<_, _>| !l.is_empty()),
            owner_references: Some(vec![OwnerReference {
                api_version: format!(
                    "{}/{}",
                    prescale_api::podautoscaler::GROUP,
                    prescale_api::podautoscaler::VERSION
                ),
                kind: "PodAutoscaler".into(),
                name: name.into(),
                uid,
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            ..ObjectMeta::default()
        },
        spec: Some(HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: target.api_version.clone(),
                kind: target.kind.clone(),
                name: target.name.clone(),
            },
            min_replicas: (bounds.min_replicas > 0).then_some(bounds.min_replicas),
            max_replicas: bounds.max_replicas,
            metrics: Some(metrics),
            behavior: Some(behavior(parameters)),
        }),
        status: None,
    })
}

fn target_quantity(index: usize, source: &MetricSource) -> Result<f64, HpaError> {
    source
        .target()
        .ok()
        .filter(|v| v.is_finite() && *v > 0.0)
        .ok_or_else(|| HpaError::TargetValue {
            index,
            value: source.target_value.clone(),
            why: "is not a number above 0".into(),
        })
}

fn average_value(value: Quantity) -> MetricTarget {
    MetricTarget {
        type_: "AverageValue".into(),
        average_value: Some(value),
        ..MetricTarget::default()
    }
}

fn metric(index: usize, source: &MetricSource) -> Result<MetricSpec, HpaError> {
    let target = target_quantity(index, source)?;
    let identifier = MetricIdentifier {
        name: source.target_metric.clone(),
        selector: None,
    };
    let spec = match (
        source.metric_source_type.normalized(),
        source.target_metric.as_str(),
    ) {
        (MetricSourceType::Resource, "cpu") => MetricSpec {
            type_: "Resource".into(),
            resource: Some(ResourceMetricSource {
                name: "cpu".into(),
                target: MetricTarget {
                    type_: "Utilization".into(),
                    average_utilization: Some(target.ceil().min(f64::from(i32::MAX)) as i32),
                    ..MetricTarget::default()
                },
            }),
            ..MetricSpec::default()
        },
        (MetricSourceType::Resource, "memory") => MetricSpec {
            type_: "Resource".into(),
            resource: Some(ResourceMetricSource {
                name: "memory".into(),
                target: average_value(Quantity(format!("{}Mi", target.ceil() as u64))),
            }),
            ..MetricSpec::default()
        },
        (MetricSourceType::Resource, other) => {
            return Err(HpaError::UnsupportedSource {
                index,
                why: format!("resource metric {other:?} is neither cpu nor memory"),
            });
        }
        (MetricSourceType::Pod | MetricSourceType::Custom, _) => MetricSpec {
            type_: "Pods".into(),
            pods: Some(PodsMetricSource {
                metric: identifier,
                target: average_value(Quantity(source.target_value.trim().into())),
            }),
            ..MetricSpec::default()
        },
        (MetricSourceType::External, _) if source.endpoint.is_some() => {
            return Err(HpaError::UnsupportedSource {
                index,
                why: "an external source with an endpoint is read over HTTP, which a HorizontalPodAutoscaler cannot do".into(),
            });
        }
        (MetricSourceType::External | MetricSourceType::Domain, _) => MetricSpec {
            type_: "External".into(),
            external: Some(ExternalMetricSource {
                metric: identifier,
                target: average_value(Quantity(source.target_value.trim().into())),
            }),
            ..MetricSpec::default()
        },
    };
    Ok(spec)
}

/// The cooldowns as stabilisation windows, the rates as percent-per-minute policies.
pub fn behavior(p: &ScalingParameters) -> HorizontalPodAutoscalerBehavior {
    let seconds = |d: std::time::Duration| d.as_secs().min(i32::MAX as u64) as i32;
    let rules = |window: i32, percent: f64, select: &str| {
        let percent = percent.round().clamp(0.0, f64::from(i32::MAX)) as i32;
        HPAScalingRules {
            stabilization_window_seconds: Some(window),
            select_policy: Some(if percent == 0 { "Disabled" } else { select }.into()),
            policies: (percent > 0).then(|| {
                vec![HPAScalingPolicy {
                    type_: "Percent".into(),
                    value: percent,
                    period_seconds: POLICY_PERIOD_SECONDS,
                }]
            }),
            tolerance: None,
        }
    };
    HorizontalPodAutoscalerBehavior {
        scale_up: Some(rules(
            seconds(p.scale_up_cooldown),
            (p.max_scale_up_rate - 1.0) * 100.0,
            "Max",
        )),
        scale_down: Some(rules(
            seconds(p.scale_down_cooldown),
            (1.0 - 1.0 / p.max_scale_down_rate) * 100.0,
            "Min",
        )),
    }
}

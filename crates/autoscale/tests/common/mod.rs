//! A PodAutoscaler driven through time: each step reads the metric, decides, and (as a
//! workload with instant start-up would) takes the decision as its replicas.
#![allow(dead_code)]

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use prescale_api::podautoscaler::{PodAutoscalerSpec, ScalingParameters, scaling_parameters};
use prescale_autoscale::{
    AutoscalerState, MetricReading, Projection, ReplicaComputeRequest, ReplicaComputeResult,
    compute_desired_replicas,
};

pub const START: &str = "2026-11-30T12:00:00Z";

/// A spec in AIBrix's shape: `strategy` on gpu_cache_usage_perc with a per-pod target of
/// `target`, between `min` and `max` replicas; `extra` is more YAML under spec.
pub fn spec(strategy: &str, target: &str, min: i32, max: i32, extra: &str) -> PodAutoscalerSpec {
    let yaml = format!(
        "scalingStrategy: {strategy}\nminReplicas: {min}\nmaxReplicas: {max}\nscaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: vllm}}\nmetricsSources:\n- {{metricSourceType: pod, protocolType: http, port: '8000', path: /metrics, targetMetric: gpu_cache_usage_perc, targetValue: '{target}'}}\n{extra}"
    );
    decode(&yaml)
}

fn decode(yaml: &str) -> PodAutoscalerSpec {
    let docs = prescale_api::manifest::parse_documents(yaml).expect("test spec parses");
    serde_json::from_value(docs.into_iter().next().unwrap()).expect("test spec decodes")
}

pub struct Driver {
    pub spec: PodAutoscalerSpec,
    pub parameters: ScalingParameters,
    pub state: AutoscalerState,
    pub current: u32,
    pub ready: u32,
    pub now: Timestamp,
    /// Seconds between steps.
    pub every: i64,
}

impl Driver {
    pub fn new(spec: PodAutoscalerSpec, annotations: &[(&str, &str)], replicas: u32) -> Driver {
        let annotations: BTreeMap<String, String> = annotations
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let parsed = scaling_parameters(&annotations, &spec);
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
        Driver {
            spec,
            parameters: parsed.parameters,
            state: AutoscalerState::default(),
            current: replicas,
            ready: replicas,
            now: START.parse().unwrap(),
            every: 15,
        }
    }

    /// One decision on a reading of `per_pod` on every ready pod; the workload then has the
    /// desired replicas, all ready.
    pub fn step(&mut self, per_pod: f64) -> ReplicaComputeResult {
        let reading = Ok(MetricReading {
            total: per_pod * f64::from(self.ready),
            pods: self.ready,
        });
        self.step_with(&[reading], &[])
    }

    /// One decision on a workload-wide `total` demand spread over the ready pods.
    pub fn step_total(&mut self, total: f64) -> ReplicaComputeResult {
        let reading = Ok(MetricReading {
            total,
            pods: self.ready,
        });
        self.step_with(&[reading], &[])
    }

    pub fn step_with(
        &mut self,
        readings: &[Result<MetricReading, String>],
        projections: &[Projection],
    ) -> ReplicaComputeResult {
        self.now = self
            .now
            .checked_add(SignedDuration::from_secs(self.every))
            .unwrap();
        let request = ReplicaComputeRequest {
            spec: &self.spec,
            parameters: &self.parameters,
            current_replicas: self.current,
            ready_pods: self.ready,
            readings,
            projections,
            now: self.now,
        };
        let (result, state) = compute_desired_replicas(&request, std::mem::take(&mut self.state));
        self.state = state;
        self.current = result.desired_replicas;
        self.ready = result.desired_replicas;
        result
    }

    /// Seconds since START.
    pub fn elapsed(&self) -> i64 {
        self.now.duration_since(START.parse().unwrap()).as_secs()
    }
}

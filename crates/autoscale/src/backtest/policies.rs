//! The autoscalers the horizontal backtest compares, each driven through the crate's own
//! decision functions — the native HPA (`native_hpa::hpa_step`), KPA and APA
//! (`compute_desired_replicas`), AIBrix's linear trend (`linear_trend`) — and prescale's
//! forecast floor on top of two of them.

use jiff::Timestamp;
use prescale_api::podautoscaler::{PodAutoscalerSpec, ScalingParameters, scaling_parameters};

use crate::decide::{MetricReading, ReplicaComputeRequest, compute_desired_replicas};
use crate::native_hpa::{Behavior, HpaReading, HpaSpec, HpaState, TOLERANCE, hpa_step};
use crate::predictive::{Projection, linear_trend};
use crate::state::AutoscalerState;
use crate::{decide::predictive_horizon, native_hpa};

/// The policies, in report order.
pub const POLICIES: [&str; 7] = [
    "hpa",
    "prescale+hpa",
    "kpa",
    "apa",
    "kpa+trend",
    "kpa+prescale",
    "oracle",
];

/// The metric the PodAutoscalers read (the load summed over ready pods).
const METRIC: &str = "load";

/// What an autoscaler sees at one sync tick.
#[derive(Debug, Clone, Copy)]
pub struct Observation {
    pub now: Timestamp,
    pub load: f64,
    pub ready: u32,
    pub current: u32,
    /// prescale's forecast (the load its floor provisions over the coming horizon, in load
    /// units) and the replica floor `decide_replicas` made of it; `None` before its first
    /// decision.
    pub forecast: Option<f64>,
    pub floor: Option<u32>,
}

/// The bounds and target every autoscaler shares.
#[derive(Debug, Clone, Copy)]
pub struct Shared {
    /// Per-pod target, in load units (target utilisation × capacity).
    pub target_per_pod: f64,
    pub min_replicas: u32,
    pub max_replicas: u32,
}

/// One autoscaler with its memory.
pub enum Autoscaler {
    Hpa {
        spec: HpaSpec,
        state: HpaState,
        /// Feed prescale's floor (autonomous mode: the floor is enforced on the scale
        /// subresource, the HPA spec untouched).
        floor: bool,
    },
    PodAutoscaler {
        spec: Box<PodAutoscalerSpec>,
        parameters: ScalingParameters,
        state: AutoscalerState,
        projection: ProjectionSource,
    },
}

/// Where a PodAutoscaler's `spec.predictive` projection comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectionSource {
    None,
    /// AIBrix's least-squares line over the observe window.
    Trend,
    /// prescale's forecast (the load its floor provisions over the horizon).
    Prescale,
}

impl Autoscaler {
    /// The autoscaler called `policy` (one of `POLICIES` but `oracle`).
    pub fn new(policy: &str, shared: &Shared) -> Option<Autoscaler> {
        let hpa = |floor| Autoscaler::Hpa {
            spec: HpaSpec {
                target_per_pod: shared.target_per_pod,
                min_replicas: shared.min_replicas,
                max_replicas: shared.max_replicas,
                tolerance: TOLERANCE,
                behavior: Behavior::default(),
            },
            state: HpaState::default(),
            floor,
        };
        let pa = |strategy: &str, projection: ProjectionSource| {
            let spec = pod_autoscaler(strategy, shared, projection != ProjectionSource::None);
            let parameters = scaling_parameters(&Default::default(), &spec).parameters;
            Autoscaler::PodAutoscaler {
                spec: Box::new(spec),
                parameters,
                state: AutoscalerState::default(),
                projection,
            }
        };
        Some(match policy {
            "hpa" => hpa(false),
            "prescale+hpa" => hpa(true),
            "kpa" => pa("KPA", ProjectionSource::None),
            "apa" => pa("APA", ProjectionSource::None),
            "kpa+trend" => pa("KPA", ProjectionSource::Trend),
            "kpa+prescale" => pa("KPA", ProjectionSource::Prescale),
            _ => return None,
        })
    }

    /// The replicas after this sync.
    pub fn decide(&mut self, o: &Observation) -> u32 {
        match self {
            Autoscaler::Hpa { spec, state, floor } => {
                let reading = HpaReading {
                    total: o.load,
                    ready: o.ready,
                    starting: o.current.saturating_sub(o.ready),
                    current: o.current,
                };
                let (desired, next) = hpa_step(spec, &reading, o.now, std::mem::take(state));
                *state = next;
                match (*floor, o.floor) {
                    (true, Some(f)) => native_hpa_fed(desired, f),
                    _ => desired,
                }
            }
            Autoscaler::PodAutoscaler {
                spec,
                parameters,
                state,
                projection,
            } => {
                let projections: Vec<Projection> = match projection {
                    ProjectionSource::None => vec![],
                    ProjectionSource::Trend => state
                        .metrics
                        .get(METRIC)
                        .and_then(|m| {
                            linear_trend(
                                &m.samples,
                                o.now,
                                parameters.stable_window,
                                predictive_horizon(spec),
                            )
                        })
                        .map(|(observed, predicted)| Projection {
                            metric: METRIC.into(),
                            observed,
                            predicted,
                        })
                        .into_iter()
                        .collect(),
                    ProjectionSource::Prescale => o
                        .forecast
                        .filter(|f| f.is_finite())
                        .map(|predicted| Projection {
                            metric: METRIC.into(),
                            observed: o.load,
                            predicted,
                        })
                        .into_iter()
                        .collect(),
                };
                let readings = [Ok(MetricReading {
                    total: o.load,
                    pods: o.ready,
                })];
                let request = ReplicaComputeRequest {
                    spec,
                    parameters,
                    current_replicas: o.current,
                    ready_pods: o.ready,
                    readings: &readings,
                    projections: &projections,
                    now: o.now,
                };
                let (result, next) = compute_desired_replicas(&request, std::mem::take(state));
                *state = next;
                result.desired_replicas
            }
        }
    }
}

/// prescale feeding an HPA: the floor raises what the HPA set, never lowers it.
fn native_hpa_fed(hpa: u32, floor: u32) -> u32 {
    prescale_forecast::replicas::fed(floor, hpa)
}

/// A PodAutoscaler in AIBrix's shape on the load, per-pod target `target_per_pod`,
/// with `predictive: {mode: Auto}` when a projection feeds it.
fn pod_autoscaler(strategy: &str, shared: &Shared, predictive: bool) -> PodAutoscalerSpec {
    let mut spec = serde_json::json!({
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "backtest"},
        "minReplicas": shared.min_replicas.min(i32::MAX as u32),
        "maxReplicas": shared.max_replicas.min(i32::MAX as u32),
        "scalingStrategy": strategy,
        "metricsSources": [{
            "metricSourceType": "pod",
            "targetMetric": METRIC,
            "targetValue": shared.target_per_pod.to_string(),
        }],
    });
    if predictive {
        spec["predictive"] = serde_json::json!({"mode": "Auto"});
    }
    serde_json::from_value(spec).expect("the backtest's PodAutoscaler spec is valid")
}

/// The sync period the HPA and the PodAutoscalers run at.
pub const SYNC_PERIOD_SECONDS: i64 = native_hpa::SYNC_PERIOD.as_secs() as i64;

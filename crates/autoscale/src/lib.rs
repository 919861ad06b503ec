//! prescale-autoscale: the strategies of AIBrix's PodAutoscaler (seed 004) as pure
//! functions — KPA, APA, the cooldown windows, the predictive floor, and the native HPA a
//! PodAutoscaler with the HPA strategy stands for. It knows the PodAutoscaler's types
//! (prescale-api) but does no I/O: the controller reads the cluster, calls
//! `compute_desired_replicas` with what it read and the autoscaler's memory
//! (`AutoscalerState`), and applies the result.
#![forbid(unsafe_code)]

pub mod apa;
pub mod backtest;
pub mod decide;
pub mod hpa;
pub mod kpa;
pub mod native_hpa;
pub mod predictive;
pub mod stabilize;
pub mod state;

pub use decide::{
    Algorithm, MetricReading, PredictiveOutcome, ReplicaComputeRequest, ReplicaComputeResult,
    compute_desired_replicas, predictive_horizon,
};
pub use predictive::{Projection, linear_trend};
pub use state::AutoscalerState;

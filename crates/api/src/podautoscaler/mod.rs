//! The AIBrix PodAutoscaler API, `autoscaling.aibrix.ai/v1alpha1` (seed 004): the resource
//! (`spec`, `status`), its rules (`rules`), defaults (`defaults`), the algorithm parameters
//! its annotations override (`annotations`) and the scheduled replica bounds (`schedule`).
//! No I/O, as the rest of this crate; the strategies that use it live in prescale-autoscale.

pub mod annotations;
pub mod defaults;
pub mod rules;
pub mod schedule;
pub mod spec;
pub mod status;

pub use annotations::{ParsedParameters, ScalingParameters, scaling_parameters};
pub use schedule::{EffectiveBounds, PodAutoscalerSchedule, effective_bounds, next_transition};
pub use spec::{
    MetricSource, MetricSourceType, PodAutoscaler, PodAutoscalerSpec, PredictiveMode,
    PredictiveSpec, ProtocolType, ScaleTargetRef, ScalingStrategy, SubTargetSelector,
};
pub use status::PodAutoscalerStatus;

/// The API group and version.
pub const GROUP: &str = "autoscaling.aibrix.ai";
pub const VERSION: &str = "v1alpha1";

impl MetricSource {
    /// `targetValue` as a number (it is a quantity: "0.5", "50", "500m").
    pub fn target(&self) -> Result<f64, crate::quantity::QuantityError> {
        crate::quantity::parse(self.target_value.trim()).map(|q| q.as_f64())
    }
}

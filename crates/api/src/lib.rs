//! prescale-api: the `thoras.ai/v1` API — AIScaleTarget, ClusterAIScaleTemplate — and the
//! AIBrix `autoscaling.aibrix.ai/v1alpha1` PodAutoscaler, with CRD generation, validation
//! that names field paths, and the parsers (quantities, durations, percentages, cron) the
//! rest of prescale uses. No I/O.
#![forbid(unsafe_code)]

pub mod crd;
pub mod cron;
pub mod defaults;
pub mod duration;
pub mod limits;
pub mod manifest;
pub mod mode;
pub mod percent;
pub mod podautoscaler;
pub mod quantity;
pub mod rules;
mod schema;
pub mod settings;
pub mod target;
pub mod template;
pub mod validate;

pub use target::spec::{AIScaleTarget, AIScaleTargetSpec, ScaleTargetRef};
pub use target::status::AIScaleTargetStatus;
pub use template::{ClusterAIScaleTemplate, ClusterAIScaleTemplateSpec};

/// The API group and version.
pub const GROUP: &str = "thoras.ai";
pub const VERSION: &str = "v1";

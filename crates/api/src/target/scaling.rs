//! `scaling_behavior`: how far one change may move a value, up and down.

use kube::KubeSchema;
use serde::{Deserialize, Serialize};

use crate::mode::StepType;
use crate::quantity::QuantityValue;

/// How far one scaling action may move a value, up and down: a dial that rate-limits
/// prescale so scaling stays predictable and safe.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(deny_unknown_fields)]
pub struct ScalingBehavior {
    /// How quickly prescale may increase the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_up: Option<ScalingStep>,
    /// How quickly prescale may decrease the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_down: Option<ScalingStep>,
}

/// The largest change of one scaling action in one direction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(deny_unknown_fields)]
#[x_kube(validation = crate::rules::PERCENT_STEP_HAS_PERCENT)]
#[x_kube(validation = crate::rules::ABSOLUTE_STEP_HAS_ABSOLUTE)]
pub struct ScalingStep {
    /// percent (a change of at most `percent` % of the current value) or absolute (at most
    /// the amounts in `absolute`).
    #[serde(rename = "type")]
    pub type_: StepType,
    /// The largest change in percent of the current value, for type percent (e.g. 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0))]
    pub percent: Option<f64>,
    /// The largest change in absolute units, for type absolute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absolute: Option<AbsoluteStep>,
}

/// The largest change of one scaling action, in absolute units.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(deny_unknown_fields)]
pub struct AbsoluteStep {
    /// The largest change of a CPU request, as a quantity (e.g. 500m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<QuantityValue>,
    /// The largest change of a memory request, as a quantity (e.g. 1Gi).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<QuantityValue>,
    /// The largest change of the replica count, in pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub pods: Option<i32>,
}

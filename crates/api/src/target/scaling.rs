//! `scaling_behavior`: how far one change may move a value, up and down.

use kube::KubeSchema;
use serde::{Deserialize, Serialize};

use crate::mode::StepType;
use crate::quantity::QuantityValue;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(deny_unknown_fields)]
pub struct ScalingBehavior {
    /// Limit on increases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_up: Option<ScalingStep>,
    /// Limit on decreases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_down: Option<ScalingStep>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(deny_unknown_fields)]
#[x_kube(validation = Rule::new(crate::rules::STEP_HAS_AMOUNT.cel).message(crate::rules::STEP_HAS_AMOUNT.message))]
pub struct ScalingStep {
    /// `percent` (a change of at most `percent` % of the current value) or `absolute`.
    #[serde(rename = "type")]
    pub type_: StepType,
    /// Maximum change in percent of the current value, for type percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0))]
    pub percent: Option<f64>,
    /// Maximum change in absolute units, for type absolute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absolute: Option<AbsoluteStep>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(deny_unknown_fields)]
pub struct AbsoluteStep {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new(crate::rules::QUANTITY_WELL_FORMED.cel).message(crate::rules::QUANTITY_WELL_FORMED.message))]
    pub cpu: Option<QuantityValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new(crate::rules::QUANTITY_WELL_FORMED.cel).message(crate::rules::QUANTITY_WELL_FORMED.message))]
    pub memory: Option<QuantityValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub pods: Option<i32>,
}

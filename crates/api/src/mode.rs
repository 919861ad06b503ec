//! The enumerations of the API, and the one place where the several spellings of a
//! direction's mode are normalised.
//!
//! Seeds 000–002 spell "act on the cluster" as `autonomous` or `auto`, and "only suggest"
//! as `recommendation`, `recommend`, `rec`, `observe` or `observation`. The object keeps the
//! user's spelling (a manifest round-trips unchanged); code asks `DirectionMode::scaling()`.

use std::borrow::Cow;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What a direction (horizontal or vertical) does with its suggestions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scaling {
    /// Suggestions are applied to the cluster.
    Autonomous,
    /// Suggestions are only written to status.
    Recommendation,
}

/// Spellings accepted for each meaning, the first being canonical.
pub const AUTONOMOUS_SPELLINGS: [&str; 2] = ["autonomous", "auto"];
pub const RECOMMENDATION_SPELLINGS: [&str; 5] = [
    "recommendation",
    "recommend",
    "rec",
    "observe",
    "observation",
];

/// A direction's `mode`, exactly as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DirectionMode(pub String);

impl DirectionMode {
    pub fn autonomous() -> Self {
        DirectionMode(AUTONOMOUS_SPELLINGS[0].into())
    }

    pub fn recommendation() -> Self {
        DirectionMode(RECOMMENDATION_SPELLINGS[0].into())
    }

    /// The meaning of the spelling; `None` for a spelling the API does not know.
    pub fn scaling(&self) -> Option<Scaling> {
        let s = self.0.as_str();
        if AUTONOMOUS_SPELLINGS.contains(&s) {
            Some(Scaling::Autonomous)
        } else if RECOMMENDATION_SPELLINGS.contains(&s) {
            Some(Scaling::Recommendation)
        } else {
            None
        }
    }

    pub fn all_spellings() -> impl Iterator<Item = &'static str> {
        AUTONOMOUS_SPELLINGS
            .into_iter()
            .chain(RECOMMENDATION_SPELLINGS)
    }
}

impl Default for DirectionMode {
    fn default() -> Self {
        DirectionMode::recommendation()
    }
}

impl JsonSchema for DirectionMode {
    fn schema_name() -> Cow<'static, str> {
        "DirectionMode".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let spellings: Vec<&str> = DirectionMode::all_spellings().collect();
        schemars::json_schema!({
            "type": "string",
            "enum": spellings,
            "description": "autonomous (or auto) applies suggestions; recommendation (or recommend, rec, observe, observation) only reports them."
        })
    }

    fn inline_schema() -> bool {
        true
    }
}

/// How cautious the forecast is. Each mode maps to a quantile of the forecast peak
/// (see the forecasting documentation); `percentile` takes `percentile_value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ModelMode {
    Undershoot,
    CostOptimized,
    #[default]
    Balanced,
    AssuranceOptimized,
    Overshoot,
    Percentile,
}

impl fmt::Display for ModelMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            ModelMode::Undershoot => "undershoot",
            ModelMode::CostOptimized => "cost_optimized",
            ModelMode::Balanced => "balanced",
            ModelMode::AssuranceOptimized => "assurance_optimized",
            ModelMode::Overshoot => "overshoot",
            ModelMode::Percentile => "percentile",
        };
        f.write_str(s)
    }
}

/// How new requests reach pods (`vertical.update_policy.update_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UpdateMode {
    /// Only pods created from now on get the recommendation (admission webhook).
    Initial,
    /// Running pods are evicted and recreated with the recommendation.
    Recreate,
    /// Running pods are resized in place; where impossible, evicted and recreated.
    InPlaceOrRecreate,
    /// Running pods are resized in place only.
    InPlace,
}

impl UpdateMode {
    pub fn resizes_in_place(self) -> bool {
        matches!(self, UpdateMode::InPlace | UpdateMode::InPlaceOrRecreate)
    }
}

/// `scaling_behavior.scale_up.type` / `scale_down.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepType {
    Percent,
    Absolute,
}

/// `policy.conflictResolution` of a ClusterAIScaleTemplate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConflictResolution {
    #[default]
    Skip,
    Override,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_normalises_and_round_trips() {
        for s in AUTONOMOUS_SPELLINGS {
            let m: DirectionMode = serde_json::from_value(serde_json::json!(s)).unwrap();
            assert_eq!(m.scaling(), Some(Scaling::Autonomous));
            assert_eq!(serde_json::to_value(&m).unwrap(), serde_json::json!(s));
        }
        for s in RECOMMENDATION_SPELLINGS {
            assert_eq!(
                DirectionMode(s.into()).scaling(),
                Some(Scaling::Recommendation)
            );
        }
        assert_eq!(DirectionMode("Auto".into()).scaling(), None);
    }

    #[test]
    fn model_modes_use_snake_case() {
        let m: ModelMode = serde_json::from_str("\"assurance_optimized\"").unwrap();
        assert_eq!(m, ModelMode::AssuranceOptimized);
        assert_eq!(m.to_string(), "assurance_optimized");
        assert!(serde_json::from_str::<ModelMode>("\"fast\"").is_err());
    }
}

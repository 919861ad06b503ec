//! When each direction of a target forecasts, and on what. The vertical forecast follows
//! `vertical.model` over `spec.model` (cadence and horizon), the horizontal one
//! `horizontal.model`: each direction is due on its own cadence, and `suggest` — called as
//! it is — runs on the spec as that direction sees it. The suggestion combines the latest
//! result of each direction. Pure.

use std::collections::BTreeMap;

use prescale_api::AIScaleTargetSpec;
use prescale_api::settings::{Cadence, effective_model};
use prescale_api::target::model::ModelSpec;
use prescale_api::target::status::{ForecastErrors, Suggestion};
use prescale_api::target::vertical::VerticalSpec;

use super::schedule::{fnv1a, forecast_due, next_due};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    /// Container requests: always forecast.
    Vertical,
    /// Replicas: forecast when the target has a `horizontal` block.
    Horizontal,
}

impl Direction {
    /// The directions `spec` forecasts.
    pub fn of(spec: &AIScaleTargetSpec) -> Vec<Direction> {
        let mut out = vec![Direction::Vertical];
        if spec.horizontal.is_some() {
            out.push(Direction::Horizontal);
        }
        out
    }

    fn model(self, spec: &AIScaleTargetSpec) -> Option<&ModelSpec> {
        match self {
            Direction::Vertical => spec.vertical.as_ref().and_then(|v| v.model.as_ref()),
            Direction::Horizontal => spec.horizontal.as_ref().and_then(|h| h.model.as_ref()),
        }
    }

    /// The direction's cadence (its own `model` override, else `spec.model`'s).
    pub fn cadence(self, spec: &AIScaleTargetSpec) -> Option<Cadence> {
        effective_model(&spec.model, self.model(spec), "cpu")
            .ok()
            .map(|m| m.cadence)
    }

    /// The spec as this direction's forecast sees it. `suggest` reads the vertical model
    /// for container values and derives replicas from them, so the horizontal forecast
    /// runs with `horizontal.model` in the vertical model's place.
    pub fn spec(self, spec: &AIScaleTargetSpec) -> AIScaleTargetSpec {
        let mut out = spec.clone();
        match self {
            Direction::Vertical => out.horizontal = None,
            Direction::Horizontal => {
                let vertical = out.vertical.take().unwrap_or_default();
                out.vertical = Some(VerticalSpec {
                    model: self.model(spec).cloned(),
                    ..vertical
                });
            }
        }
        out
    }
}

/// The directions due at data time `t`, given each one's last forecast (data time).
pub fn due(
    spec: &AIScaleTargetSpec,
    t: Option<i64>,
    last: &BTreeMap<Direction, i64>,
    id: &str,
) -> Vec<Direction> {
    Direction::of(spec)
        .into_iter()
        .filter(|d| forecast_due(t, last.get(d).copied(), d.cadence(spec).as_ref(), id))
        .collect()
}

/// The earliest data time at which some direction is next due, once each has forecast.
pub fn next(spec: &AIScaleTargetSpec, last: &BTreeMap<Direction, i64>, id: &str) -> Option<i64> {
    Direction::of(spec)
        .into_iter()
        .filter_map(|d| next_due(*last.get(&d)?, &d.cadence(spec)?, id))
        .min()
}

/// The suggestion after this round: the vertical part (containers, models, totals) from
/// this round's vertical forecast or else the previous suggestion; the replicas from this
/// round's horizontal forecast or else the previous suggestion, and none when the target
/// has no horizontal block (`horizontal_wanted`). `None` while no direction has ever
/// produced one.
pub fn combine(
    previous: Option<&Suggestion>,
    vertical: Option<Suggestion>,
    horizontal: Option<Suggestion>,
    horizontal_wanted: bool,
) -> Option<Suggestion> {
    if vertical.is_none() && horizontal.is_none() {
        return previous.cloned();
    }
    let mut s = vertical
        .or_else(|| previous.cloned())
        .or_else(|| horizontal.clone())?;
    let replicas_from = if horizontal_wanted {
        horizontal.as_ref().or(previous)
    } else {
        None
    };
    s.suggested_replicas = replicas_from.and_then(|h| h.suggested_replicas);
    s.replicas_driven_by = replicas_from.and_then(|h| h.replicas_driven_by.clone());

    s.forecast_errors = Some(ForecastErrors {
        horizontal: replicas_from
            .and_then(|h| h.forecast_errors.as_ref())
            .and_then(|e| e.horizontal),
        vertical: s.forecast_errors.as_ref().and_then(|e| e.vertical),
    });
    if let Some(h) = &horizontal {
        s.has_enough_data_to_scale &= h.has_enough_data_to_scale;
        s.time = s.time.max(h.time.clone());
    }
    s.id = id_of(&s);
    Some(s)
}

/// A content hash: the id changes exactly when what is suggested changes.
fn id_of(s: &Suggestion) -> String {
    let content = serde_json::json!([
        s.containers,
        s.suggested_replicas,
        s.has_enough_data_to_scale
    ])
    .to_string();
    format!("{:016x}", fnv1a(content.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use prescale_api::target::status::ContainerRecommendation;
    use serde_json::json;

    fn spec(doc: serde_json::Value) -> AIScaleTargetSpec {
        serde_json::from_value(doc).unwrap()
    }

    fn with_overrides() -> AIScaleTargetSpec {
        spec(json!({
            "scaleTargetRef": {"kind": "Deployment", "name": "web"},
            "model": {"forecast_blocks": "1h", "forecast_interval": "1h"},
            "vertical": {"mode": "recommendation", "model": {"forecast_blocks": "4h", "forecast_interval": "4h"},
                         "containers": [{"name": "*", "cpu": {"lowerbound": "10m"}}]},
            "horizontal": {"mode": "recommendation", "model": {"forecast_blocks": "15m", "forecast_interval": "15m"}}
        }))
    }

    #[test]
    fn each_direction_forecasts_on_its_own_cadence() {
        let s = with_overrides();
        let mut last = BTreeMap::new();
        assert_eq!(
            due(&s, Some(0), &last, "a"),
            [Direction::Vertical, Direction::Horizontal]
        );
        last.insert(Direction::Vertical, 0);
        last.insert(Direction::Horizontal, 0);
        assert!(due(&s, Some(15 * 60 - 1), &last, "a").is_empty());
        // 15 minutes later (jitter: at most a tenth of the period) only the horizontal one.
        assert_eq!(
            due(&s, Some(15 * 60 + 90), &last, "a"),
            [Direction::Horizontal]
        );
        assert!((15 * 60..15 * 60 + 91).contains(&next(&s, &last, "a").unwrap()));
        assert_eq!(
            due(&s, Some(4 * 3600 + 60), &last, "a"),
            [Direction::Vertical, Direction::Horizontal]
        );
        assert!(
            due(&s, None, &BTreeMap::new(), "a").is_empty(),
            "no data, no forecast"
        );
    }

    #[test]
    fn without_overrides_both_follow_the_top_model_and_no_horizontal_block_means_vertical_only() {
        let s = spec(
            json!({"scaleTargetRef": {"kind": "Deployment", "name": "web"},
                            "model": {"forecast_blocks": "1h", "forecast_interval": "1h"}}),
        );
        assert_eq!(Direction::of(&s), [Direction::Vertical]);
        let last = BTreeMap::from([(Direction::Vertical, 0)]);
        assert!(due(&s, Some(3600 - 1), &last, "a").is_empty());
        assert_eq!(due(&s, Some(3600 + 360), &last, "a"), [Direction::Vertical]);
    }

    #[test]
    fn each_direction_forecasts_over_its_own_horizon() {
        let s = with_overrides();
        let horizon = |d: Direction| {
            let seen = d.spec(&s);
            assert!(d != Direction::Vertical || seen.horizontal.is_none());
            effective_model(
                &seen.model,
                seen.vertical.as_ref().and_then(|v| v.model.as_ref()),
                "cpu",
            )
            .unwrap()
            .horizon
            .as_secs()
        };
        assert_eq!(horizon(Direction::Vertical), 4 * 3600);
        assert_eq!(horizon(Direction::Horizontal), 15 * 60);
        let h = Direction::Horizontal.spec(&s);
        assert!(h.horizontal.is_some(), "replicas are still asked for");
        assert_eq!(
            h.vertical.unwrap().containers.unwrap().len(),
            1,
            "container bounds still apply"
        );
    }

    fn suggestion(cpu: &str, replicas: Option<i32>, enough: bool) -> Suggestion {
        Suggestion {
            containers: vec![ContainerRecommendation {
                name: "app".into(),
                cpu: Some(cpu.into()),
                ..Default::default()
            }],
            suggested_replicas: replicas,
            has_enough_data_to_scale: enough,
            forecast_errors: Some(ForecastErrors {
                horizontal: replicas.map(|_| 0.2),
                vertical: Some(0.1),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn the_suggestion_combines_each_directions_latest_result() {
        let v = |cpu| Some(suggestion(cpu, None, true));
        let h = |cpu, r| Some(suggestion(cpu, Some(r), true));
        let both = combine(None, v("100m"), h("300m", 4), true).unwrap();
        assert_eq!(
            both.containers[0].cpu.as_deref(),
            Some("100m"),
            "containers from the vertical forecast"
        );
        assert_eq!(
            both.suggested_replicas,
            Some(4),
            "replicas from the horizontal one"
        );
        let errors = both.forecast_errors.clone().unwrap();
        assert_eq!((errors.vertical, errors.horizontal), (Some(0.1), Some(0.2)));
        // Only the horizontal direction ran: the containers stand, the replicas change.
        let later = combine(Some(&both), None, h("900m", 6), true).unwrap();
        assert_eq!(later.containers[0].cpu.as_deref(), Some("100m"));
        assert_eq!(later.suggested_replicas, Some(6));
        assert_ne!(later.id, both.id);
        // Only the vertical one: the replicas stand.
        let only_v = combine(Some(&later), v("200m"), None, true).unwrap();
        assert_eq!(
            (
                only_v.containers[0].cpu.as_deref(),
                only_v.suggested_replicas
            ),
            (Some("200m"), Some(6))
        );
        // The horizontal block removed: no replicas any more.
        assert_eq!(
            combine(Some(&later), v("200m"), None, false)
                .unwrap()
                .suggested_replicas,
            None
        );
        assert_eq!(combine(Some(&later), None, None, true).unwrap(), later);
        assert_eq!(combine(None, None, None, true), None);
        let same = combine(None, v("100m"), h("300m", 4), true).unwrap();
        assert_eq!(same.id, both.id, "the id is a content hash");
    }
}

//! The HPA's `spec.behavior`, as the Kubernetes controller applies it: stabilisation
//! windows (scale up: the lowest recommendation of the window, default 0 s; scale down:
//! the highest, default 300 s), then rate limits from the policies (Pods or Percent per
//! `periodSeconds`, combined by `selectPolicy` Max, Min or Disabled) measured against the
//! replicas at the start of each period. Defaults as in autoscaling/v2: up 4 pods or 100 %
//! per 15 s (Max), down 100 % per 15 s. Pure: histories in, replicas out.

use std::collections::VecDeque;

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PolicyKind {
    Pods,
    Percent,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    pub window_secs: i64,
    /// (kind, value, periodSeconds)
    pub policies: Vec<(PolicyKind, i64, i64)>,
    /// "Max" (default), "Min" or "Disabled".
    pub select: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Behavior {
    pub up: Rules,
    pub down: Rules,
}

fn rules(v: Option<&Value>, window: i64, default: Vec<(PolicyKind, i64, i64)>) -> Rules {
    let policies: Vec<(PolicyKind, i64, i64)> = v
        .and_then(|v| v["policies"].as_array())
        .map(|ps| {
            ps.iter()
                .filter_map(|p| {
                    let kind = match p["type"].as_str()? {
                        "Pods" => PolicyKind::Pods,
                        "Percent" => PolicyKind::Percent,
                        _ => return None,
                    };
                    Some((
                        kind,
                        p["value"].as_i64()?,
                        p["periodSeconds"].as_i64()?.max(1),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    Rules {
        window_secs: v
            .and_then(|v| v["stabilizationWindowSeconds"].as_i64())
            .unwrap_or(window),
        policies: if policies.is_empty() {
            default
        } else {
            policies
        },
        select: v
            .and_then(|v| v["selectPolicy"].as_str())
            .unwrap_or("Max")
            .to_string(),
    }
}

/// `spec.behavior` with the API's defaults filled in.
pub fn parse(behavior: Option<&Value>) -> Behavior {
    Behavior {
        up: rules(
            behavior.and_then(|b| b.get("scaleUp")),
            0,
            vec![(PolicyKind::Pods, 4, 15), (PolicyKind::Percent, 100, 15)],
        ),
        down: rules(
            behavior.and_then(|b| b.get("scaleDown")),
            super::hpa::DOWNSCALE_STABILIZATION_SECS,
            vec![(PolicyKind::Percent, 100, 15)],
        ),
    }
}

/// The longest time any window or period of `b` looks back.
pub fn horizon_secs(b: &Behavior) -> i64 {
    [&b.up, &b.down]
        .iter()
        .flat_map(|r| std::iter::once(r.window_secs).chain(r.policies.iter().map(|p| p.2)))
        .max()
        .unwrap_or(0)
}

/// Replicas after behaviour: `recommendations` are (time, desired) including this one,
/// `events` are (time, change in replicas) of past scalings.
pub fn normalize(
    b: &Behavior,
    now: i64,
    current: i64,
    desired: i64,
    recommendations: &VecDeque<(i64, i64)>,
    events: &VecDeque<(i64, i64)>,
) -> i64 {
    let within = |window: i64| {
        recommendations
            .iter()
            .filter(move |(t, _)| now - t <= window)
            .map(|(_, d)| *d)
    };
    let up_rec = within(b.up.window_secs).min().unwrap_or(desired);
    let down_rec = within(b.down.window_secs).max().unwrap_or(desired);
    let mut stabilized = current;
    if stabilized < up_rec {
        stabilized = up_rec;
    }
    if stabilized > down_rec {
        stabilized = down_rec;
    }
    let changed_in = |period: i64, up: bool| -> i64 {
        events
            .iter()
            .filter(|(t, _)| now - t < period)
            .map(|(_, c)| if up { (*c).max(0) } else { (-*c).max(0) })
            .sum()
    };
    if stabilized > current {
        if b.up.select == "Disabled" {
            return current;
        }
        let limits = b.up.policies.iter().map(|(kind, value, period)| {
            let start = current - changed_in(*period, true);
            match kind {
                PolicyKind::Pods => start + value,
                PolicyKind::Percent => (start as f64 * (1.0 + *value as f64 / 100.0)).ceil() as i64,
            }
        });
        let limit = if b.up.select == "Min" {
            limits.min()
        } else {
            limits.max()
        };
        stabilized.min(limit.unwrap_or(stabilized))
    } else if stabilized < current {
        if b.down.select == "Disabled" {
            return current;
        }
        let limits = b.down.policies.iter().map(|(kind, value, period)| {
            let start = current + changed_in(*period, false);
            match kind {
                PolicyKind::Pods => start - value,
                PolicyKind::Percent => (start as f64 * (1.0 - *value as f64 / 100.0)) as i64,
            }
        });
        // Max selects the policy allowing the largest change: the lowest floor.
        let limit = if b.down.select == "Min" {
            limits.max()
        } else {
            limits.min()
        };
        stabilized.max(limit.unwrap_or(stabilized))
    } else {
        current
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn recs(items: &[(i64, i64)]) -> VecDeque<(i64, i64)> {
        items.iter().copied().collect()
    }

    #[test]
    fn defaults_double_or_add_four_per_15s_and_wait_300s_to_go_down() {
        let b = parse(None);
        assert_eq!(
            normalize(&b, 0, 1, 20, &recs(&[(0, 20)]), &recs(&[])),
            5,
            "1 + 4 beats 2 × 1"
        );
        assert_eq!(
            normalize(&b, 0, 10, 40, &recs(&[(0, 40)]), &recs(&[])),
            20,
            "100 % beats 4 pods"
        );
        // Scale-up budget already spent within the period.
        assert_eq!(
            normalize(&b, 10, 5, 20, &recs(&[(10, 20)]), &recs(&[(0, 4)])),
            5
        );
        // Down: the highest recommendation of the last 300 s holds.
        assert_eq!(
            normalize(&b, 100, 8, 2, &recs(&[(0, 8), (100, 2)]), &recs(&[])),
            8
        );
        assert_eq!(normalize(&b, 400, 8, 2, &recs(&[(400, 2)]), &recs(&[])), 2);
    }

    #[test]
    fn policies_select_and_disable() {
        let b = parse(Some(&json!({
            "scaleUp": {"selectPolicy": "Min", "policies": [
                {"type": "Pods", "value": 1, "periodSeconds": 60},
                {"type": "Percent", "value": 50, "periodSeconds": 60}]},
            "scaleDown": {"stabilizationWindowSeconds": 0, "selectPolicy": "Disabled"}})));
        assert_eq!(
            normalize(&b, 0, 4, 10, &recs(&[(0, 10)]), &recs(&[])),
            5,
            "min(4 + 1, 6)"
        );
        assert_eq!(
            normalize(&b, 0, 4, 1, &recs(&[(0, 1)]), &recs(&[])),
            4,
            "scale-down disabled"
        );
        assert_eq!(horizon_secs(&b), 60);
        let down = parse(Some(&json!({"scaleDown": {"stabilizationWindowSeconds": 0,
            "policies": [{"type": "Pods", "value": 2, "periodSeconds": 30}]}})));
        assert_eq!(normalize(&down, 0, 10, 1, &recs(&[(0, 1)]), &recs(&[])), 8);
        assert_eq!(
            normalize(&down, 10, 8, 1, &recs(&[(10, 1)]), &recs(&[(0, -2)])),
            8,
            "budget spent"
        );
    }
}

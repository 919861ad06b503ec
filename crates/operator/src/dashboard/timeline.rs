//! What the history store does not keep: how each target's forecast, recommendation,
//! applied value and own request changed over time, and when scaling was paused. The
//! dashboard samples its own rows (from the cache) and keeps a point whenever something
//! changed, a bounded number per target, in memory: a restarted operator starts a new
//! timeline, while usage history (the store) survives.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use serde::Serialize;

use super::model::{PerPod, TargetRow};

/// Points kept per target (at one point per change, weeks of hourly forecasts).
pub const MAX_POINTS: usize = 2000;

/// The state of one target from time `t` (unix seconds) until the next point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    pub t: i64,
    pub forecast: PerPod,
    pub recommended: PerPod,
    pub running: PerPod,
    pub request: PerPod,
    pub replicas: u32,
    pub pods: u32,
    pub suggested_replicas: Option<i32>,
}

impl Point {
    fn of(r: &TargetRow, t: i64) -> Point {
        Point {
            t,
            forecast: r.forecast,
            recommended: r.recommended,
            running: r.running,
            request: r.request,
            replicas: r.replicas,
            pods: r.pods,
            suggested_replicas: r.suggested_replicas,
        }
    }

    fn same_values(&self, other: &Point) -> bool {
        Point {
            t: 0,
            ..self.clone()
        } == Point {
            t: 0,
            ..other.clone()
        }
    }
}

/// A period with scaling paused; `to` is `None` while it lasts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PausePeriod {
    pub from: i64,
    pub to: Option<i64>,
}

#[derive(Default)]
struct State {
    targets: HashMap<(String, String), VecDeque<Point>>,
    pauses: Vec<PausePeriod>,
}

impl State {
    fn record_pause(&mut self, paused: bool, now: i64) {
        let open = self.pauses.last().is_some_and(|p| p.to.is_none());
        match (paused, open) {
            (true, false) => self.pauses.push(PausePeriod {
                from: now,
                to: None,
            }),
            (false, true) => {
                if let Some(p) = self.pauses.last_mut() {
                    p.to = Some(now);
                }
            }
            _ => {}
        }
        let excess = self.pauses.len().saturating_sub(MAX_POINTS);
        self.pauses.drain(..excess);
    }
}

#[derive(Default)]
pub struct Timeline {
    state: Mutex<State>,
}

impl Timeline {
    /// Records `rows` and the pause as of `now`; forgets targets that are gone.
    pub fn record(&self, rows: &[TargetRow], paused: bool, now: i64) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut seen = std::collections::HashSet::with_capacity(rows.len());
        for r in rows {
            let key = (r.namespace.clone(), r.name.clone());
            let point = Point::of(r, now);
            let points = s.targets.entry(key.clone()).or_default();
            if points.back().is_none_or(|last| !last.same_values(&point)) {
                if points.len() == MAX_POINTS {
                    points.pop_front();
                }
                points.push_back(point);
            }
            seen.insert(key);
        }
        s.targets.retain(|k, _| seen.contains(k));
        s.record_pause(paused, now);
    }

    /// Records the pause as of `now` alone (cheap: between samples of the rows).
    pub fn record_pause(&self, paused: bool, now: i64) {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .record_pause(paused, now);
    }

    /// The points of one target, oldest first.
    pub fn of(&self, namespace: &str, name: &str) -> Vec<Point> {
        let s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.targets
            .get(&(namespace.to_string(), name.to_string()))
            .map(|p| p.iter().cloned().collect())
            .unwrap_or_default()
    }

    pub fn pauses(&self) -> Vec<PausePeriod> {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pauses
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cpu: f64) -> TargetRow {
        TargetRow {
            namespace: "shop".into(),
            name: "web".into(),
            workloads: vec![],
            vertical: None,
            horizontal: None,
            autonomous: false,
            conditions: vec![],
            request: PerPod::default(),
            running: PerPod::default(),
            recommended: PerPod {
                cpu: Some(cpu),
                memory: None,
            },
            forecast: PerPod::default(),
            used: PerPod::default(),
            replicas: 1,
            pods: 1,
            suggested_replicas: None,
            suggestion_time: None,
            last_action: None,
        }
    }

    #[test]
    fn a_point_is_kept_only_when_something_changed() {
        let t = Timeline::default();
        t.record(&[row(1.0)], false, 10);
        t.record(&[row(1.0)], false, 20);
        t.record(&[row(2.0)], true, 30);
        t.record(&[row(2.0)], false, 40);
        let points = t.of("shop", "web");
        assert_eq!(points.iter().map(|p| p.t).collect::<Vec<_>>(), [10, 30]);
        assert_eq!(
            t.pauses(),
            [PausePeriod {
                from: 30,
                to: Some(40)
            }]
        );
        t.record_pause(true, 45);
        t.record(&[], false, 50);
        assert_eq!(
            t.pauses()[1],
            PausePeriod {
                from: 45,
                to: Some(50)
            },
            "the pause is recorded between samples of the rows"
        );
        assert!(
            t.of("shop", "web").is_empty(),
            "a deleted target is forgotten"
        );
    }

    #[test]
    fn points_are_bounded() {
        let t = Timeline::default();
        for i in 0..(MAX_POINTS + 10) {
            t.record(&[row(i as f64)], false, i as i64);
        }
        let points = t.of("shop", "web");
        assert_eq!(points.len(), MAX_POINTS);
        assert_eq!(points[0].t, 10);
    }
}

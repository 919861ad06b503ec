//! The target plan's horizontal part: `horizontal::floor` on the target's inputs. Pure.

use prescale_api::mode::Scaling;
use prescale_api::settings::effective_model;
use prescale_api::target::status::Suggestion;

use super::plan::{TargetInputs, WorkloadInput};
use super::schedule::next_due;
use super::suggest::steps;
use crate::horizontal::floor::{FloorDecision, FloorInputs, FloorWorkload, decide_floor};
use crate::horizontal::metrics::horizontal_metrics;

/// Whether the target's `horizontal.mode` is autonomous.
pub fn horizontal_autonomous(i: &TargetInputs) -> bool {
    i.spec
        .horizontal
        .as_ref()
        .and_then(|h| h.mode.as_ref())
        .and_then(|m| m.scaling())
        == Some(Scaling::Autonomous)
}

/// Per-pod request of the template (`None` when a container has none).
fn per_pod(
    w: &WorkloadInput,
    request: fn(&crate::workload::ContainerRequests) -> Option<f64>,
) -> Option<f64> {
    w.template.iter().map(request).sum()
}

/// This round's replica floor and scale-up for target `i`, whose current suggestion is
/// `suggestion`.
pub fn floor_of(i: &TargetInputs, suggestion: Option<&Suggestion>) -> FloorDecision {
    let Some(h) = i.spec.horizontal.as_ref() else {
        return FloorDecision::default();
    };
    let workloads: Vec<FloorWorkload<'_>> = i
        .workloads
        .iter()
        .map(|w| FloorWorkload {
            kind: &w.kind,
            name: &w.name,
            replicas: w.replicas,
            hpas: &w.hpas,
            cpu_request: per_pod(w, |c| c.cpu),
            memory_request: per_pod(w, |c| c.memory),
        })
        .collect();
    let hpa = match workloads.as_slice() {
        [w] => w.hpas.first().filter(|_| w.hpas.len() == 1),
        _ => None,
    };
    let metrics = horizontal_metrics(hpa, h);
    let id = format!("{}/{}", i.namespace, i.name);
    let next_forecast = effective_model(&i.spec.model, h.model.as_ref(), "cpu")
        .ok()
        .zip(suggestion.and_then(|s| s.time.as_ref()))
        .and_then(|(m, t)| next_due(t.0.as_second(), &m.cadence, &id));
    let (scale_up, _) = steps(h.scaling_behavior.as_ref(), |s| {
        s.absolute.as_ref()?.pods.map(f64::from)
    });
    decide_floor(&FloorInputs {
        namespace: &i.namespace,
        autonomous: horizontal_autonomous(i),
        paused: i.pause.paused,
        deleting: i.deleting_since.is_some(),
        suggestion,
        workloads: &workloads,
        metrics: &metrics,
        next_forecast,
        scale_up,
        last_raise: match workloads.as_slice() {
            [w] => i
                .last_raises
                .get(&format!("{}/{}", w.kind, w.name))
                .copied(),
            _ => None,
        },
        now: i.now,
    })
}

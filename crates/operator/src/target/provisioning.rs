//! One target's share of `prescale_provisioning_ratio`: what its suggestion recommends
//! beside what its workloads request, per resource. Pure.

use std::sync::Arc;

use prescale_api::target::status::AIScaleTargetStatus;

use crate::workload::WorkloadView;

/// This target's recommended and requested totals per resource (`cpu` in cores,
/// `memory` in bytes, replicas included), for `prescale_provisioning_ratio`.
pub fn provisioning(
    status: &AIScaleTargetStatus,
    workloads: &[Arc<WorkloadView>],
) -> Vec<(&'static str, f64, f64)> {
    let Some(s) = &status.suggestion else {
        return vec![];
    };
    let mut out = vec![];
    for c in &s.containers {
        let w = workloads.iter().find(|w| {
            c.workload.as_deref().is_none_or(|id| w.id() == id)
                && w.containers.iter().any(|wc| wc.name == c.name)
        });
        let Some(w) = w else { continue };
        let Some(requests) = w.containers.iter().find(|wc| wc.name == c.name) else {
            continue;
        };
        let replicas = f64::from(w.replicas.max(1));
        for (resource, rec, req) in [
            ("cpu", &c.cpu, requests.cpu),
            ("memory", &c.memory, requests.memory),
        ] {
            let rec = rec
                .as_deref()
                .and_then(|q| prescale_api::quantity::parse(q).ok())
                .map(|q| q.as_f64());
            if let (Some(rec), Some(req)) = (rec, req) {
                out.push((resource, rec * replicas, req * replicas));
            }
        }
    }
    out
}

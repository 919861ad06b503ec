//! One autoscaler per workload (seed 004's `MultiPodAutoscalerConflict`): two
//! PodAutoscalers on one target, or a PodAutoscaler and an AIScaleTarget scaling the same
//! workload horizontally and autonomously. The oldest PodAutoscaler keeps the workload; the
//! others stand aside. A PodAutoscaler always stands aside for an autonomous AIScaleTarget
//! (whose horizontal scaling feeds the workload's own HPA), so the two never fight.

use std::sync::Arc;

use kube::ResourceExt;
use prescale_api::AIScaleTarget;
use prescale_api::mode::Scaling;
use prescale_api::podautoscaler::PodAutoscaler;

use crate::cache::Cache;

/// The order in which PodAutoscalers claim a workload: oldest first, then by name.
fn claim_order(pa: &PodAutoscaler) -> (Option<jiff::Timestamp>, String) {
    (
        pa.metadata.creation_timestamp.as_ref().map(|t| t.0),
        pa.name_any(),
    )
}

fn same_target(a: &PodAutoscaler, b: &PodAutoscaler) -> bool {
    let (ra, rb) = (&a.spec.scale_target_ref, &b.spec.scale_target_ref);
    a.namespace() == b.namespace() && ra.kind == rb.kind && ra.name == rb.name
}

/// The older PodAutoscaler of `others` that scales `pa`'s target, if any.
pub fn older_pod_autoscaler(pa: &PodAutoscaler, others: &[Arc<PodAutoscaler>]) -> Option<String> {
    others
        .iter()
        .filter(|o| o.uid() != pa.uid() && same_target(pa, o))
        .filter(|o| claim_order(o) < claim_order(pa))
        .min_by_key(|o| claim_order(o))
        .map(|o| format!("PodAutoscaler {}", o.name_any()))
}

/// Whether `t` scales its workloads horizontally and autonomously.
fn horizontally_autonomous(t: &AIScaleTarget) -> bool {
    t.spec
        .horizontal
        .as_ref()
        .and_then(|h| h.mode.as_ref())
        .is_some_and(|m| m.scaling() == Some(Scaling::Autonomous))
}

/// What keeps `pa` from acting: an older PodAutoscaler of the same target, or an
/// AIScaleTarget scaling it horizontally and autonomously.
pub fn conflict_of(
    pa: &PodAutoscaler,
    all: &[Arc<PodAutoscaler>],
    cache: &Cache,
) -> Option<String> {
    if let Some(older) = older_pod_autoscaler(pa, all) {
        return Some(older);
    }
    let ns = pa.namespace().unwrap_or_default();
    let r = &pa.spec.scale_target_ref;
    cache
        .targets
        .state_filter(|t| crate::cache::in_namespace(t, &ns))
        .into_iter()
        .filter(|t| horizontally_autonomous(t))
        .find(|t| {
            cache
                .resolve(t)
                .iter()
                .any(|w| w.kind == r.kind && w.name == r.name)
        })
        .map(|t| {
            format!(
                "AIScaleTarget {} (autonomous horizontal scaling)",
                t.name_any()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pa(name: &str, uid: &str, created: &str, target: &str) -> Arc<PodAutoscaler> {
        let mut pa: PodAutoscaler = serde_json::from_value(serde_json::json!({
            "apiVersion": "autoscaling.aibrix.ai/v1alpha1",
            "kind": "PodAutoscaler",
            "metadata": {"name": name, "namespace": "ns", "uid": uid, "creationTimestamp": created},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
                "maxReplicas": 5,
                "scalingStrategy": "KPA",
                "metricsSources": [{"metricSourceType": "resource", "targetMetric": "cpu", "targetValue": "50"}]
            }
        }))
        .unwrap();
        pa.metadata.namespace = Some("ns".into());
        Arc::new(pa)
    }

    #[test]
    fn the_oldest_keeps_the_workload_and_the_others_stand_aside() {
        let a = pa("a", "1", "2026-01-01T00:00:00Z", "web");
        let b = pa("b", "2", "2026-01-02T00:00:00Z", "web");
        let c = pa("c", "3", "2026-01-01T00:00:00Z", "api");
        let all = vec![a.clone(), b.clone(), c.clone()];
        assert_eq!(older_pod_autoscaler(&a, &all), None);
        assert_eq!(
            older_pod_autoscaler(&b, &all).as_deref(),
            Some("PodAutoscaler a")
        );
        assert_eq!(older_pod_autoscaler(&c, &all), None);
        // Same creation time: the name decides, the same way for both.
        let a2 = pa("a2", "4", "2026-01-01T00:00:00Z", "web");
        let all = vec![a.clone(), a2.clone()];
        assert_eq!(older_pod_autoscaler(&a, &all), None);
        assert!(older_pod_autoscaler(&a2, &all).is_some());
    }
}

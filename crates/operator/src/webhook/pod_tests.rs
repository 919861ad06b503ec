use serde_json::json;

use super::*;

fn now() -> Timestamp {
    "2026-11-29T12:00:00Z".parse().unwrap()
}

fn target(mode: &str, enough: bool, status_extra: Value) -> AIScaleTarget {
    let mut status = json!({"suggestion": {
        "id": "s-42", "hasEnoughDataToScale": enough,
        "containers": [{"name": "app", "cpu": "350m", "memory": "300Mi"},
                       {"name": "sidecar", "cpu": "50m", "memory": "32Mi"}]}});
    for (k, v) in status_extra.as_object().unwrap() {
        status[k] = v.clone();
    }
    serde_json::from_value(json!({
        "apiVersion": "thoras.ai/v1", "kind": "AIScaleTarget",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
                 "model": {"forecast_blocks": "15m", "forecast_interval": "15m"},
                 "vertical": {"mode": mode, "containers": [
                     {"name": "app", "cpu": {"lowerbound": "100m", "upperbound": "2"},
                      "memory": {"lowerbound": "64Mi", "upperbound": "1Gi"}}]}},
        "status": status,
    }))
    .unwrap()
}

fn pod() -> Pod {
    serde_json::from_value(json!({
        "metadata": {"generateName": "web-abc-", "labels": {"app": "web"}},
        "spec": {"containers": [
            {"name": "app", "image": "x", "resources": {
                "requests": {"cpu": "200m", "memory": "128Mi"},
                "limits": {"memory": "256Mi"}}},
            {"name": "sidecar", "image": "y", "resources": {"requests": {"cpu": "10m"}}}]},
    }))
    .unwrap()
}

fn web() -> WorkloadRef {
    WorkloadRef {
        kind: "Deployment".into(),
        name: "web".into(),
    }
}

fn run(t: Option<&AIScaleTarget>, paused: bool, at: Timestamp) -> PodDecision {
    let w = web();
    decide(
        &pod(),
        Some(Covering {
            workload: &w,
            target: t,
        }),
        paused,
        at,
    )
}

/// The pod after the decision's patch.
fn patched(d: &PodDecision) -> Value {
    let PodDecision::Mutate { patch, .. } = d else {
        panic!("not mutated: {d:?}");
    };
    let mut v = serde_json::to_value(pod()).unwrap();
    json_patch::patch(&mut v, patch).unwrap();
    v
}

#[test]
fn an_autonomous_target_with_enough_data_sets_covered_containers_only() {
    let t = target("autonomous", true, json!({}));
    let d = run(Some(&t), false, now());
    let p = patched(&d);
    let app = &p["spec"]["containers"][0]["resources"];
    assert_eq!(app["requests"], json!({"cpu": "350m", "memory": "300Mi"}));
    assert_eq!(
        app["limits"]["memory"], "600Mi",
        "the container's own 2× ratio"
    );
    assert!(
        app["limits"].get("cpu").is_none(),
        "no CPU limit stays none"
    );
    assert_eq!(
        p["spec"]["containers"][1]["resources"],
        json!({"requests": {"cpu": "10m"}}),
        "a container the target does not name is untouched"
    );
    let notes = &p["metadata"]["annotations"];
    assert_eq!(notes[ADMITTED_SUGGESTION], "web/s-42");
    let record: Value = serde_json::from_str(notes[ADMITTED_RESOURCES].as_str().unwrap()).unwrap();
    assert_eq!(record["app"]["from"]["requests"]["cpu"], "200m");
    assert_eq!(record["app"]["to"]["requests"]["cpu"], "350m");
    assert!(matches!(d, PodDecision::Mutate { containers: 1, .. }));
}

#[test]
fn every_reason_to_leave_a_pod_alone() {
    let cases = [
        (run(None, false, now()), Skip::NoTarget),
        (
            run(Some(&target("autonomous", true, json!({}))), true, now()),
            Skip::Paused,
        ),
        (
            run(
                Some(&target("recommendation", true, json!({}))),
                false,
                now(),
            ),
            Skip::RecommendationMode,
        ),
        (
            run(Some(&target("auto", false, json!({}))), false, now()),
            Skip::NotEnoughData,
        ),
        (decide(&pod(), None, false, now()), Skip::NoWorkload),
    ];
    for (got, want) in cases {
        assert_eq!(got, PodDecision::Unchanged(want));
    }
    let mut no_suggestion = target("autonomous", true, json!({}));
    no_suggestion.status = None;
    assert_eq!(
        run(Some(&no_suggestion), false, now()),
        PodDecision::Unchanged(Skip::NoSuggestion)
    );
}

#[test]
fn a_pod_already_at_the_recommendation_is_left_alone() {
    let mut t = target("autonomous", true, json!({}));
    let s = t.status.as_mut().unwrap().suggestion.as_mut().unwrap();
    s.containers[0].cpu = Some("200m".into());
    s.containers[0].memory = Some("128Mi".into());
    assert_eq!(
        run(Some(&t), false, now()),
        PodDecision::Unchanged(Skip::NothingToChange)
    );
}

#[test]
fn the_oom_floor_holds_until_the_window_expires() {
    let oom = json!({"oomAdjustedMemory": {"app": "512Mi"},
                     "oomStabilizationWindowExpiry": "2026-11-29T13:00:00Z"});
    let t = target("autonomous", true, oom);
    let p = patched(&run(Some(&t), false, now()));
    assert_eq!(
        p["spec"]["containers"][0]["resources"]["requests"]["memory"],
        "512Mi"
    );
    let later: Timestamp = "2026-11-29T13:00:01Z".parse().unwrap();
    let p = patched(&run(Some(&t), false, later));
    assert_eq!(
        p["spec"]["containers"][0]["resources"]["requests"]["memory"], "300Mi",
        "after the window the suggestion alone counts"
    );
}

#[test]
fn an_unreadable_floor_admits_the_pod_unchanged() {
    let oom = json!({"oomAdjustedMemory": {"app": "lots"},
                     "oomStabilizationWindowExpiry": "2026-11-29T13:00:00Z"});
    let t = target("autonomous", true, oom);
    assert!(matches!(
        run(Some(&t), false, now()),
        PodDecision::Unchanged(Skip::Invalid(_))
    ));
}

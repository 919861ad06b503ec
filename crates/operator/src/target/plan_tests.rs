//! Every condition and reason the target plan can produce, and its Events, without a
//! cluster.

use super::*;
use prescale_api::target::status::ContainerRecommendation;
use serde_json::json;

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn spec(extra: serde_json::Value) -> AIScaleTargetSpec {
    let mut doc = json!({"scaleTargetRef": {"kind": "Deployment", "name": "web"},
                         "model": {"forecast_blocks": "15m", "forecast_interval": "15m"}});
    json_patch::merge(&mut doc, &extra);
    serde_json::from_value(doc).unwrap()
}

fn inputs() -> TargetInputs {
    TargetInputs {
        namespace: "shop".into(),
        name: "web".into(),
        generation: Some(3),
        spec: spec(json!({})),
        previous: AIScaleTargetStatus::default(),
        workloads: vec![WorkloadInput {
            kind: "Deployment".into(),
            name: "web".into(),
            pods: 2,
            ready_pods: 2,
            ..Default::default()
        }],
        served_kinds: vec!["Deployment".into(), "StatefulSet".into()],
        pause: PauseState::RUNNING,
        collection: CollectionState::default(),
        forecast: ForecastOutcome::NotDue,
        oom_kills: vec![],
        refused: Default::default(),
        last_evictions: Default::default(),
        last_raises: Default::default(),
        restarts_issued: Default::default(),
        has_finalizer: false,
        deleting_since: None,
        now: t("2026-11-29T10:00:00.600Z"),
    }
}

fn suggestion(id: &str, at: &str, enough: bool) -> Suggestion {
    Suggestion {
        id: id.into(),
        time: Some(Time(t(at))),
        has_enough_data_to_scale: enough,
        containers: vec![ContainerRecommendation {
            name: "app".into(),
            cpu: Some("250m".into()),
            memory: Some("300Mi".into()),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn ran(s: Result<Suggestion, String>) -> ForecastOutcome {
    ForecastOutcome::Ran {
        data_time: t("2026-11-29T09:59:45Z").as_second(),
        history: HistoryStatus {
            since: None,
            hours: 2.0,
            backfilled_days: None,
        },
        suggestion: s,
    }
}

fn get(o: &TargetOutcome, type_: &str) -> (String, String, String) {
    let c = find(&o.status.conditions, type_).unwrap_or_else(|| panic!("no {type_}"));
    (c.status.clone(), c.reason.clone(), c.message.clone())
}

fn reasons(o: &TargetOutcome) -> Vec<(String, String)> {
    o.status
        .conditions
        .iter()
        .map(|c| (c.type_.clone(), c.reason.clone()))
        .collect()
}

#[test]
fn a_valid_target_collecting_usage() {
    let o = plan(&inputs());
    assert_eq!(
        reasons(&o),
        [
            ("ValidSpec".into(), "Valid".into()),
            ("Ready".into(), "CollectingUsage".into()),
            ("MetricsAvailable".into(), "Collecting".into()),
            ("AbleToScale".into(), "RecommendationMode".into()),
            ("ScalingActive".into(), "NotEnoughData".into()),
        ]
    );
    assert_eq!(get(&o, "ValidSpec").0, "True");
    assert_eq!(get(&o, "Ready").0, "False");
    assert_eq!(o.status.observed_generation, Some(3));
    assert_eq!(o.status.workloads[0].name, "web");
    assert!(
        o.events.is_empty(),
        "starting to collect is no warning: {:?}",
        o.events
    );
    assert!(o.actions.is_empty());
}

#[test]
fn an_invalid_spec_names_the_field_and_warns_once() {
    let mut i = inputs();
    i.spec = spec(json!({"model": {"forecast_interval": null, "forecast_cron": "61 * * * *"}}));
    let o = plan(&i);
    let (status, reason, message) = get(&o, "ValidSpec");
    assert_eq!((status.as_str(), reason.as_str()), ("False", "InvalidSpec"));
    assert!(message.contains("spec.model.forecast_cron"), "{message}");
    assert_eq!(get(&o, "Ready").1, "InvalidSpec");
    assert_eq!(o.status.conditions.len(), 2);
    assert_eq!(o.events.len(), 1);
    assert_eq!(
        (o.events[0].type_, o.events[0].reason),
        (EventType::Warning, "InvalidSpec")
    );
    i.previous = o.status.clone();
    let again = plan(&i);
    assert_eq!(again.status, o.status, "a resync changes nothing");
    assert!(again.events.is_empty(), "the warning is not repeated");
}

#[test]
fn a_missing_workload_says_what_is_missing() {
    let mut i = inputs();
    i.workloads.clear();
    let (status, reason, message) = get(&plan(&i), "Ready");
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "WorkloadNotFound")
    );
    assert!(
        message.contains("Deployment web does not exist in namespace shop"),
        "{message}"
    );

    i.spec = spec(json!({"scaleTargetRef": {"kind": "Rollout", "name": "canary"}}));
    let message = get(&plan(&i), "Ready").2;
    assert!(message.contains("does not serve kind Rollout"), "{message}");

    i.spec = spec(json!({"scaleTargetRef": null, "selector": {"matchLabels": {"app": "x"}}}));
    let o = plan(&i);
    assert!(
        get(&o, "Ready")
            .2
            .contains("selector matches no pod template")
    );
    assert_eq!(o.events[0].reason, "WorkloadNotFound");
}

#[test]
fn a_forecast_gives_a_suggestion_and_an_event_when_it_changes() {
    let mut i = inputs();
    i.forecast = ran(Ok(suggestion("a1", "2026-11-29T09:59:45Z", true)));
    let o = plan(&i);
    assert_eq!(
        get(&o, "Ready"),
        (
            "True".into(),
            "SuggestionAvailable".into(),
            "a suggestion is available".into()
        )
    );
    assert_eq!(get(&o, "ScalingActive").1, "EnoughData");
    assert_eq!(o.status.history.as_ref().unwrap().hours, 2.0);
    assert_eq!(
        o.status.last_collection_time.as_ref().unwrap().0,
        t("2026-11-29T09:59:45Z")
    );
    assert_eq!(o.events.len(), 1);
    assert_eq!(o.events[0].reason, "SuggestionChanged");
    assert!(
        o.events[0].message.contains("app cpu=250m memory=300Mi"),
        "{}",
        o.events[0].message
    );

    // The same suggestion again: no Event.
    i.previous = o.status.clone();
    assert!(plan(&i).events.is_empty());
    // Too little usage for a new one: the previous suggestion stands.
    i.forecast = ran(Err("no usage collected yet".into()));
    assert_eq!(plan(&i).status.suggestion.unwrap().id, "a1");
}

#[test]
fn a_failed_forecast_keeps_the_last_suggestion_or_says_why_there_is_none() {
    let mut i = inputs();
    i.forecast = ForecastOutcome::Failed {
        reason: "HistoryReadFailed",
        message: "reading the usage history: disk full".into(),
    };
    let o = plan(&i);
    assert_eq!(get(&o, "Ready").0, "False");
    assert_eq!(get(&o, "Ready").1, "HistoryReadFailed");
    assert_eq!(o.events[0].reason, "HistoryReadFailed");

    i.previous.suggestion = Some(suggestion("a1", "2026-11-29T09:00:00Z", false));
    let (status, reason, message) = get(&plan(&i), "Ready");
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("True", "SuggestionAvailable")
    );
    assert!(message.contains("disk full") && message.contains("previous suggestion stands"));
}

#[test]
fn no_ready_pod_means_no_usage_to_collect() {
    let mut i = inputs();
    i.workloads[0].ready_pods = 0;
    let o = plan(&i);
    assert_eq!(get(&o, "Ready").1, "NoReadyPods");
    assert!(o.events.is_empty(), "a scaled-down workload is no warning");
}

#[test]
fn metrics_outages_are_reported_with_the_fix() {
    let mut i = inputs();
    i.collection.failing = Some(CollectionFailure {
        reason: "MetricsAPINotServed",
        message: "metrics.k8s.io is not served: install metrics-server".into(),
    });
    let o = plan(&i);
    let (status, reason, message) = get(&o, "MetricsAvailable");
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "MetricsAPINotServed")
    );
    assert!(message.starts_with("metrics.k8s.io is not served: install metrics-server"));
    assert!(message.contains("retried with backoff"));
    assert_eq!(o.events.len(), 1);
    assert_eq!(
        (o.events[0].type_, o.events[0].reason),
        (EventType::Warning, "MetricsAPINotServed")
    );
    i.previous = o.status;
    assert!(
        plan(&i).events.is_empty(),
        "warned once, not at every retry"
    );
}

#[test]
fn able_to_scale_follows_mode_and_pause() {
    let mut i = inputs();
    assert_eq!(
        get(&plan(&i), "AbleToScale"),
        (
            "True".into(),
            "RecommendationMode".into(),
            "recommendation mode: suggestions are reported, nothing is applied".into()
        )
    );
    i.spec = spec(json!({"vertical": {"mode": "auto"}}));
    let (status, reason, message) = get(&plan(&i), "AbleToScale");
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("True", "WaitingForData")
    );
    assert!(message.contains("InPlaceOrRecreate"), "{message}");
    i.spec = spec(json!({"horizontal": {"mode": "autonomous"}}));
    let o = plan(&i);
    assert_eq!(get(&o, "AbleToScale").0, "False");
    assert_eq!(get(&o, "AbleToScale").1, "HpaNotFound");
    assert!(
        o.events.iter().any(|e| e.reason == "HpaNotFound"),
        "{:?}",
        o.events
    );
    i.spec = spec(json!({"vertical": {"mode": "auto"}}));
    i.pause = PauseState {
        paused: false,
        problem: Some("ConfigMap thoras-operator-system-config: not valid YAML".into()),
    };
    assert!(get(&plan(&i), "AbleToScale").2.contains("not valid YAML"));
    i.pause = PauseState {
        paused: true,
        problem: None,
    };
    let o = plan(&i);
    assert_eq!(get(&o, "AbleToScale").1, "ScalingPaused");
    assert!(o.actions.is_empty());
    i.spec = spec(json!({"horizontal": {"mode": "recommendation"}}));
    assert_eq!(
        get(&plan(&i), "AbleToScale").1,
        "RecommendationMode",
        "the pause concerns autonomous targets"
    );
}

#[test]
fn transition_times_come_from_the_clock_and_stay_while_nothing_changes() {
    let mut i = inputs();
    let o = plan(&i);
    let ready = find(&o.status.conditions, "Ready")
        .unwrap()
        .last_transition_time
        .0;
    assert_eq!(
        ready,
        t("2026-11-29T10:00:00Z"),
        "the clock's time, whole seconds"
    );
    i.previous = o.status.clone();
    i.now = t("2026-11-29T11:00:00Z");
    let later = plan(&i);
    assert_eq!(
        later.status, o.status,
        "a resync of an unchanged target writes nothing"
    );
    i.forecast = ran(Ok(suggestion("b2", "2026-11-29T10:59:45Z", false)));
    let changed = plan(&i);
    assert_eq!(
        find(&changed.status.conditions, "Ready")
            .unwrap()
            .last_transition_time
            .0,
        t("2026-11-29T11:00:00Z")
    );
    assert_eq!(changed.events[0].time, t("2026-11-29T11:00:00Z"));
}

#[test]
fn oom_kills_since_the_suggestion_are_listed() {
    let mut i = inputs();
    let at = |s: &str| t(s).as_second();
    i.previous.suggestion = Some(suggestion("a1", "2026-11-29T09:00:00Z", true));
    i.oom_kills = vec![
        ("sidecar".into(), at("2026-11-29T08:00:00Z")),
        ("app".into(), at("2026-11-29T09:30:00Z")),
        ("app".into(), at("2026-11-29T09:40:00Z")),
    ];
    let o = plan(&i);
    assert_eq!(o.status.oom_killed_containers, ["app"]);
    assert_eq!(o.status.last_oom_time.unwrap().0, t("2026-11-29T09:40:00Z"));
}

fn running_pod(name: &str, cpu: &str, memory: &str) -> PodView {
    let pod: k8s_openapi::api::core::v1::Pod = serde_json::from_value(json!({
        "metadata": {"name": name, "creationTimestamp": "2026-11-28T10:00:00Z"},
        "spec": {"containers": [{"name": "app",
            "resources": {"requests": {"cpu": cpu, "memory": memory}}}]},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]}
    }))
    .unwrap();
    PodView::of(&pod)
}

#[test]
fn an_autonomous_target_with_enough_data_resizes_its_pods_unless_paused() {
    let mut i = inputs();
    i.spec = spec(json!({"vertical": {"mode": "autonomous",
        "update_policy": {"update_mode": "in_place_or_recreate", "recreate_resources": []},
        "containers": [{"name": "*", "cpu": {"lowerbound": "10m"}, "memory": {"lowerbound": "16Mi"}}]}}));
    i.workloads[0].replicas = 2;
    i.workloads[0].running = vec![
        running_pod("web-a", "100m", "128Mi"),
        running_pod("web-b", "100m", "128Mi"),
    ];
    // Not enough data: nothing is applied.
    i.previous.suggestion = Some(suggestion("s1", "2026-11-29T09:59:00Z", false));
    let o = plan(&i);
    assert!(o.actions.is_empty());
    assert_eq!(get(&o, "AbleToScale").1, "WaitingForData");
    assert_eq!(o.status.applied_pods, None);
    assert_eq!(o.status.last_processed_suggestion_uid, None);
    // Enough data: both pods are resized in place, and the suggestion is processed.
    i.previous.suggestion = Some(suggestion("s2", "2026-11-29T09:59:00Z", true));
    let o = plan(&i);
    assert_eq!(
        o.actions.iter().map(Action::kind).collect::<Vec<_>>(),
        ["resize", "resize"]
    );
    let (status, reason, message) = get(&o, "AbleToScale");
    assert_eq!((status.as_str(), reason.as_str()), ("True", "Applying"));
    assert!(
        message.contains("0 of 2 pods run suggestion s2"),
        "{message}"
    );
    assert!(message.contains("2 resize"), "{message}");
    assert_eq!(o.status.applied_pods.as_deref(), Some("0/2"));
    assert_eq!(
        (
            o.status.workloads[0].pods,
            o.status.workloads[0].pods_at_suggestion
        ),
        (Some(2), Some(0))
    );
    assert_eq!(
        o.status.last_processed_suggestion_uid.as_deref(),
        Some("s2")
    );
    assert!(o.recheck.is_some());
    // A refused resize of this suggestion falls back to eviction (one pod: the budget).
    i.refused.insert(("s2".into(), "web-a".into()));
    let kinds: Vec<_> = plan(&i).actions.iter().map(Action::kind).collect();
    assert_eq!(kinds, ["evict", "resize"]);
    // The pause: nothing is applied, whatever the rollout would do.
    i.pause = PauseState {
        paused: true,
        problem: None,
    };
    let o = plan(&i);
    assert!(o.actions.is_empty());
    assert_eq!(get(&o, "AbleToScale").1, "ScalingPaused");
    // Pods at the suggestion: Applied, no action.
    i.pause = PauseState::RUNNING;
    i.refused.clear();
    i.workloads[0].running = vec![
        running_pod("web-a", "250m", "300Mi"),
        running_pod("web-b", "250m", "300Mi"),
    ];
    let o = plan(&i);
    assert!(o.actions.is_empty(), "{:?}", o.actions);
    assert_eq!(get(&o, "AbleToScale").1, "Applied");
    assert_eq!(o.recheck, None);
    assert_eq!(o.status.applied_pods.as_deref(), Some("2/2"));
    assert_eq!(o.status.workloads[0].pods_at_suggestion, Some(2));
}

/// `update_mode: initial` never touches running pods: with pods not at the suggestion it
/// reports a terminal state (no recheck), not `Applying` forever.
#[test]
fn initial_mode_is_applied_at_pod_creation_and_not_rechecked() {
    let mut i = inputs();
    i.spec = spec(json!({"vertical": {"mode": "autonomous",
        "update_policy": {"update_mode": "initial"},
        "containers": [{"name": "*", "cpu": {"lowerbound": "10m"}, "memory": {"lowerbound": "16Mi"}}]}}));
    i.workloads[0].replicas = 2;
    i.workloads[0].running = vec![
        running_pod("web-a", "100m", "128Mi"),
        running_pod("web-b", "250m", "300Mi"),
    ];
    i.previous.suggestion = Some(suggestion("s2", "2026-11-29T09:59:00Z", true));
    let o = plan(&i);
    assert!(o.actions.is_empty(), "{:?}", o.actions);
    let (status, reason, message) = get(&o, "AbleToScale");
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("True", crate::target::actuation::APPLIED_AT_CREATION)
    );
    assert!(
        message.contains("1 of 2 pods run suggestion s2"),
        "{message}"
    );
    assert_eq!(o.recheck, None, "nothing is pending: no recheck");
    assert_eq!(o.status.applied_pods.as_deref(), Some("1/2"));
    // Every pod created since runs it: Applied, as for any mode.
    i.workloads[0].running[0] = running_pod("web-c", "250m", "300Mi");
    assert_eq!(get(&plan(&i), "AbleToScale").1, "Applied");
    // The pause still says so first.
    i.pause = PauseState {
        paused: true,
        problem: None,
    };
    assert_eq!(get(&plan(&i), "AbleToScale").1, "ScalingPaused");
}

#[test]
fn the_plan_keeps_the_finalizer_and_reverts_a_deleted_target() {
    let mut i = inputs();
    i.spec = spec(json!({"vertical": {"mode": "autonomous",
        "containers": [{"name": "*", "cpu": {"lowerbound": "10m"}, "memory": {"lowerbound": "16Mi"}}]}}));
    i.workloads[0].replicas = 1;
    i.workloads[0].rolled_out = true;
    i.workloads[0].template = vec![crate::workload::ContainerRequests {
        name: "app".into(),
        cpu: Some(0.1),
        memory: None,
    }];
    i.workloads[0].running = vec![running_pod("web-a", "250m", "300Mi")];
    let o = plan(&i);
    assert_eq!(
        o.finalizer,
        FinalizerChange::Add,
        "{:?}",
        o.status.conditions
    );
    i.has_finalizer = true;
    assert_eq!(plan(&i).finalizer, FinalizerChange::Keep);
    // Deleted: the changed workload is restarted, the finalizer goes, nothing forecast
    // or applied besides.
    i.deleting_since = Some(i.now.as_second() - 10);
    let o = plan(&i);
    assert_eq!(
        o.actions.iter().map(Action::kind).collect::<Vec<_>>(),
        ["restart"]
    );
    assert_eq!(o.finalizer, FinalizerChange::Remove);
    let (status, reason, message) = get(&o, "AbleToScale");
    assert_eq!((status.as_str(), reason.as_str()), ("False", "Deleting"));
    assert!(message.contains("reverting"), "{message}");
    // Past the timeout: let go, with a Warning.
    i.deleting_since = Some(i.now.as_second() - 3600);
    let o = plan(&i);
    assert!(o.actions.is_empty() && o.revert_timed_out);
    assert!(o.events.iter().any(|e| e.reason == "RevertTimedOut"));
}

#[test]
fn a_selector_target_in_recreate_mode_restarts_its_workloads_one_at_a_time() {
    let mut i = inputs();
    i.spec = spec(
        json!({"scaleTargetRef": null, "selector": {"matchLabels": {"tier": "web"}},
        "vertical": {"mode": "autonomous", "update_policy": {"update_mode": "recreate"},
        "containers": [{"name": "*", "cpu": {"lowerbound": "10m"}, "memory": {"lowerbound": "16Mi"}}]}}),
    );
    let w = |name: &str| WorkloadInput {
        kind: "Deployment".into(),
        name: name.into(),
        pods: 1,
        ready_pods: 1,
        replicas: 1,
        rolled_out: true,
        running: vec![running_pod(&format!("{name}-1"), "100m", "128Mi")],
        ..Default::default()
    };
    i.workloads = vec![w("b"), w("a")];
    let mut s = suggestion("s2", "2026-11-29T09:59:00Z", true);
    s.containers[0].workload = None;
    i.previous.suggestion = Some(s);
    let o = plan(&i);
    let restarted: Vec<_> = o
        .actions
        .iter()
        .map(|a| match a {
            Action::Restart {
                workload, token, ..
            } => (workload.name.clone(), token.clone()),
            other => panic!("a restart, not {other:?}"),
        })
        .collect();
    assert_eq!(restarted, [("a".to_string(), "suggestion-s2".to_string())]);
    assert!(get(&o, "AbleToScale").2.contains("after the previous one"));
    // `a` restarted (its template says so) and rolling out: `b` waits.
    i.workloads[1].restart_token = Some("suggestion-s2".into());
    i.workloads[1].rolled_out = false;
    assert!(plan(&i).actions.is_empty());
    // `a`'s status says rolled out, but its pod is the old one: `b` still waits.
    i.workloads[1].rolled_out = true;
    assert!(plan(&i).actions.is_empty());
    // `a` has rolled out (its pod carries the token): `b`'s turn.
    for p in &mut i.workloads[1].running {
        p.restart_token = Some("suggestion-s2".into());
    }
    let kinds: Vec<_> = plan(&i).actions.iter().map(Action::describe).collect();
    assert_eq!(kinds.len(), 1);
    assert!(kinds[0].contains("Deployment/b"), "{kinds:?}");
}

fn hpa(name: &str) -> crate::horizontal::metrics::HpaView {
    crate::horizontal::metrics::HpaView {
        name: name.into(),
        min_replicas: 1,
        max_replicas: 8,
        metrics: vec![],
        desired_replicas: Some(2),
    }
}

/// Horizontal autonomous with the workload's one HPA: the floor is published with its
/// HPA and metric, the workload is scaled up to it (one step), and an Event says so;
/// recommendation mode and pause publish none. The HPA itself is never an action's object.
#[test]
fn horizontal_autonomous_publishes_a_floor_and_scales_up_to_it() {
    let mut i = inputs();
    i.spec = spec(json!({"horizontal": {"mode": "autonomous"}}));
    i.workloads[0].replicas = 2;
    i.workloads[0].hpas = vec![hpa("web")];
    i.workloads[0].template = vec![crate::workload::ContainerRequests {
        name: "app".into(),
        cpu: Some(0.5),
        memory: Some(1e9),
    }];
    let mut s = suggestion("s1", "2026-11-29T09:59:45Z", true);
    s.suggested_replicas = Some(12);
    s.replicas_driven_by = Some("cpu".into());
    i.forecast = ran(Ok(s));
    let o = plan(&i);
    let floor = o.status.replica_floor.clone().unwrap();
    assert_eq!(
        (floor.replicas, floor.hpa.as_str()),
        (8, "web"),
        "never above the HPA's max"
    );
    assert!(floor.valid_until.0 > i.now);
    assert_eq!(get(&o, "AbleToScale").1, "Applying");
    assert!(get(&o, "AbleToScale").2.contains("HPA web"));
    assert!(matches!(
        o.actions.as_slice(),
        [Action::ScaleUp { from: 2, to: 8, .. }]
    ));
    assert!(o.events.iter().any(|e| e.reason == "ReplicaFloorChanged"));
    assert_eq!(o.recheck, Some(Duration::from_secs(60)));

    i.workloads[0].replicas = 9;
    let o = plan(&i);
    assert!(o.actions.is_empty(), "never down");
    assert_eq!(get(&o, "AbleToScale").1, "Applied");

    i.workloads[0].hpas = vec![hpa("a"), hpa("b")];
    let o = plan(&i);
    assert_eq!(get(&o, "AbleToScale").1, "MultipleHpas");
    assert!(o.status.replica_floor.is_none() && o.actions.is_empty());

    i.workloads[0].hpas = vec![hpa("web")];
    i.pause = PauseState {
        paused: true,
        problem: None,
    };
    assert!(plan(&i).status.replica_floor.is_none());
    i.pause = PauseState::RUNNING;
    i.spec = spec(json!({"horizontal": {"mode": "recommendation"}}));
    let o = plan(&i);
    assert!(o.status.replica_floor.is_none() && o.actions.is_empty());
}

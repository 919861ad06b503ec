use super::*;
use crate::horizontal::metrics::{ResourceMetric, horizontal_metrics};
use proptest::prelude::*;

const NOW: i64 = 1_800_000_000;

fn hpa(name: &str, max: u32) -> HpaView {
    HpaView {
        name: name.into(),
        min_replicas: 2,
        max_replicas: max,
        metrics: vec![],
        desired_replicas: Some(2),
    }
}

fn suggestion(replicas: i32, enough: bool) -> Suggestion {
    Suggestion {
        id: "s1".into(),
        has_enough_data_to_scale: enough,
        suggested_replicas: Some(replicas),
        replicas_driven_by: Some("cpu".into()),
        ..Suggestion::default()
    }
}

fn workload<'a>(replicas: u32, hpas: &'a [HpaView]) -> FloorWorkload<'a> {
    FloorWorkload {
        kind: "Deployment",
        name: "web",
        replicas,
        hpas,
        cpu_request: Some(0.5),
        memory_request: Some(1e9),
    }
}

fn inputs<'a>(
    s: &'a Suggestion,
    workloads: &'a [FloorWorkload<'a>],
    metrics: &'a HorizontalMetrics,
) -> FloorInputs<'a> {
    FloorInputs {
        namespace: "shop",
        autonomous: true,
        paused: false,
        deleting: false,
        suggestion: Some(s),
        workloads,
        metrics,
        next_forecast: Some(NOW + 900),
        scale_up: None,
        last_raise: None,
        now: Timestamp::from_second(NOW).unwrap(),
    }
}

fn cpu_metrics() -> HorizontalMetrics {
    horizontal_metrics(Some(&hpa("web", 10)), &Default::default())
}

#[test]
fn below_the_floor_the_workload_is_scaled_up_and_the_floor_published() {
    let hpas = [hpa("web", 10)];
    let ws = [workload(2, &hpas)];
    let (s, m) = (suggestion(6, true), cpu_metrics());
    let d = decide_floor(&inputs(&s, &ws, &m));
    let floor = d.floor.unwrap();
    assert_eq!((floor.replicas, floor.hpa.as_str()), (6, "web"));
    assert_eq!(floor.metric, "cpu");
    assert_eq!(
        floor.valid_until.0.as_second(),
        NOW + 900 + FLOOR_GRACE_SECS
    );
    match d.action.unwrap() {
        Action::ScaleUp { from, to, .. } => assert_eq!((from, to), (2, 6)),
        other => panic!("{other:?}"),
    }
}

/// Without the `*/scale` webhook the HPA undoes a raise at its next sync: the floor is
/// still published, the next raise waits `RAISE_INTERVAL_SECS` and the note says why.
#[test]
fn a_raise_the_hpa_undid_is_not_repeated_at_once() {
    let hpas = [hpa("web", 10)];
    let ws = [workload(2, &hpas)];
    let (s, m) = (suggestion(6, true), cpu_metrics());
    let mut i = inputs(&s, &ws, &m);
    i.last_raise = Some((NOW - 30, 6));
    let d = decide_floor(&i);
    assert_eq!(d.action, None);
    assert_eq!(d.floor.map(|f| f.replicas), Some(6));
    assert_eq!(d.reason, "FloorNotHeld");
    assert!(
        d.note.contains("webhook") && d.note.contains("raised it to 6 at"),
        "{}",
        d.note
    );
    // Once the interval has passed, raised again.
    i.last_raise = Some((NOW - RAISE_INTERVAL_SECS, 6));
    assert!(decide_floor(&i).action.is_some());
    // A raise that held (the replicas at the floor) blocks nothing.
    let ws = [workload(6, &hpas)];
    let mut i = inputs(&s, &ws, &m);
    i.last_raise = Some((NOW - 30, 6));
    assert_eq!(decide_floor(&i).reason, "Applied");
}

#[test]
fn at_or_above_the_floor_nothing_is_done_and_the_floor_never_exceeds_the_hpa_max() {
    let hpas = [hpa("web", 4)];
    let ws = [workload(5, &hpas)];
    let (s, m) = (suggestion(9, true), cpu_metrics());
    let d = decide_floor(&inputs(&s, &ws, &m));
    assert_eq!(d.floor.unwrap().replicas, 4);
    assert_eq!(d.action, None, "never down: 5 replicas run above the floor");
}

#[test]
fn the_scale_up_takes_one_step_of_the_scaling_behaviour() {
    assert_eq!(scale_up_to(4, 10, Some(Step::Percent(50.0))), 6);
    assert_eq!(scale_up_to(1, 10, Some(Step::Percent(10.0))), 2);
    assert_eq!(scale_up_to(4, 10, Some(Step::Absolute(1.0))), 5);
    assert_eq!(scale_up_to(4, 10, None), 10);
    assert_eq!(scale_up_to(8, 3, None), 8);
}

#[test]
fn no_floor_without_exactly_one_hpa_or_without_requests_and_the_note_says_why() {
    let (s, m) = (suggestion(6, true), cpu_metrics());
    let none: [HpaView; 0] = [];
    let ws = [workload(2, &none)];
    let d = decide_floor(&inputs(&s, &ws, &m));
    assert!(d.floor.is_none() && d.action.is_none());
    assert!(d.note.contains("no HorizontalPodAutoscaler"), "{}", d.note);

    let two = [hpa("a", 10), hpa("b", 10)];
    let ws = [workload(2, &two)];
    let d = decide_floor(&inputs(&s, &ws, &m));
    assert!(d.floor.is_none() && d.note.contains("a, b"), "{}", d.note);

    let one = [hpa("web", 10)];
    let mut w = workload(2, &one);
    w.cpu_request = None;
    let ws = [w];
    let d = decide_floor(&inputs(&s, &ws, &m));
    assert!(
        d.floor.is_none() && d.note.contains("cpu requests"),
        "{}",
        d.note
    );
}

#[test]
fn pause_recommendation_deletion_and_thin_data_publish_no_floor() {
    let hpas = [hpa("web", 10)];
    let ws = [workload(2, &hpas)];
    let (s, m) = (suggestion(6, true), cpu_metrics());
    let thin = suggestion(6, false);
    let base = inputs(&s, &ws, &m);
    for i in [
        FloorInputs {
            paused: true,
            ..base.clone()
        },
        FloorInputs {
            autonomous: false,
            ..base.clone()
        },
        FloorInputs {
            deleting: true,
            ..base.clone()
        },
        FloorInputs {
            suggestion: Some(&thin),
            ..base.clone()
        },
    ] {
        let d = decide_floor(&i);
        assert!(d.floor.is_none() && d.action.is_none(), "{}", d.note);
    }
}

#[test]
fn a_floor_no_forecast_renewed_is_not_held() {
    let hpas = [hpa("web", 10)];
    let ws = [workload(2, &hpas)];
    let (s, m) = (suggestion(6, true), cpu_metrics());
    let mut i = inputs(&s, &ws, &m);
    i.next_forecast = Some(NOW - FLOOR_GRACE_SECS - 1);
    let d = decide_floor(&i);
    assert!(d.floor.is_none() && d.action.is_none(), "{}", d.note);
    assert_eq!(d.reason, "WaitingForData");
}

#[test]
fn metrics_not_forecast_are_named() {
    let mut h = hpa("web", 10);
    h.metrics = serde_json::from_value(serde_json::json!([
        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}},
        {"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "app",
            "target": {"type": "Utilization", "averageUtilization": 60}}},
    ]))
    .unwrap();
    let m = horizontal_metrics(Some(&h), &Default::default());
    assert_eq!(
        m.resource,
        vec![ResourceMetric {
            name: "cpu".into(),
            target: ResourceTarget::Utilization(0.6)
        }]
    );
    let hpas = [h];
    let ws = [workload(2, &hpas)];
    let s = suggestion(6, true);
    let d = decide_floor(&inputs(&s, &ws, &m));
    assert!(d.note.contains("ContainerResource/cpu"), "{}", d.note);
}

proptest! {
    /// The floor stays within the HPA's maximum, the action only ever raises, and never
    /// past the floor.
    #[test]
    fn within_bounds_and_only_up(
        suggested in 0i32..300, current in 0u32..300, max in 1u32..200,
        step in proptest::option::of(0.0f64..200.0),
    ) {
        let hpas = [hpa("web", max)];
        let ws = [workload(current, &hpas)];
        let (s, m) = (suggestion(suggested, true), cpu_metrics());
        let mut i = inputs(&s, &ws, &m);
        i.scale_up = step.map(Step::Percent);
        let d = decide_floor(&i);
        let floor = d.floor.unwrap().replicas as u32;
        prop_assert!(floor <= max);
        if let Some(Action::ScaleUp { from, to, .. }) = d.action {
            prop_assert!(from == current && to > current && to <= floor);
        } else {
            prop_assert!(d.action.is_none());
        }
    }
}

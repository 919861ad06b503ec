use super::*;
use proptest::prelude::*;
use serde_json::json;

const MI: i128 = 1024 * 1024 * BYTE;

fn mi(n: i128) -> Quantity {
    Quantity::from_nanos(n * MI)
}

fn containers(upper: Option<&str>) -> Vec<ContainerPolicy> {
    serde_json::from_value(json!([{"name": "app", "memory": {"upperbound": upper}}])).unwrap()
}

fn at(s: i64) -> Timestamp {
    Timestamp::from_second(s).unwrap()
}

const POLICY: OomPolicy = OomPolicy {
    enabled: true,
    window: Duration::from_secs(3600),
};

fn inputs<'a>(
    containers: &'a [ContainerPolicy],
    kills: &'a [(String, i64)],
    previous: &'a AIScaleTargetStatus,
    requests: &'a BTreeMap<String, Quantity>,
    now: i64,
) -> OomInputs<'a> {
    OomInputs {
        policy: POLICY,
        autonomous: true,
        containers,
        kills,
        previous,
        requests,
        now: at(now),
    }
}

#[test]
fn the_step_is_the_larger_of_a_fifth_and_100_mib() {
    assert_eq!(step(mi(128)), mi(228));
    assert_eq!(step(mi(1000)), mi(1200));
}

#[test]
fn a_kill_raises_the_floor_and_holds_it_for_the_window() {
    let c = containers(None);
    let requests: BTreeMap<String, Quantity> = [("app".to_string(), mi(128))].into();
    let kills = vec![("app".to_string(), 1_000)];
    let previous = AIScaleTargetStatus::default();
    let d = decide(inputs(&c, &kills, &previous, &requests, 1_010));
    assert_eq!(d.adjusted["app"], "228Mi");
    assert_eq!(d.expiry, Some(Time(at(1_010 + 3600))));
    assert_eq!(d.bumps.len(), 1);

    // The same kill seen again: nothing new, the floor held.
    let held = AIScaleTargetStatus {
        oom_adjusted_memory: d.adjusted.clone(),
        oom_stabilization_window_expiry: d.expiry.clone(),
        last_oom_time: Some(Time(at(1_000))),
        ..Default::default()
    };
    let again = decide(inputs(&c, &kills, &held, &requests, 2_000));
    assert_eq!(again.adjusted, d.adjusted);
    assert_eq!(again.expiry, d.expiry);
    assert!(again.bumps.is_empty());

    // A second kill before the pods run at the floor: answered by it already.
    let kills2 = vec![("app".to_string(), 1_000), ("app".to_string(), 2_500)];
    let pending = decide(inputs(&c, &kills2, &held, &requests, 2_510));
    assert_eq!(pending.adjusted, d.adjusted);
    assert!(pending.bumps.is_empty());
    // Once they do, a kill raises it from the held floor.
    let at_floor: BTreeMap<String, Quantity> = [("app".to_string(), mi(228))].into();
    let second = decide(inputs(&c, &kills2, &held, &at_floor, 2_510));
    assert_eq!(second.adjusted["app"], "328Mi");
    assert_eq!(second.expiry, Some(Time(at(2_510 + 3600))));

    // After the window, the floor is dropped.
    let later = decide(inputs(&c, &kills, &held, &requests, 1_010 + 3601));
    assert_eq!(later, OomDecision::default());
}

#[test]
fn the_upperbound_caps_the_floor_and_off_or_recommendation_mode_do_nothing() {
    let c = containers(Some("200Mi"));
    let requests: BTreeMap<String, Quantity> = [("app".to_string(), mi(128))].into();
    let kills = vec![("app".to_string(), 1_000)];
    let previous = AIScaleTargetStatus::default();
    let d = decide(inputs(&c, &kills, &previous, &requests, 1_010));
    assert_eq!(d.adjusted["app"], "200Mi");
    assert!(d.bumps[0].capped);
    let at_cap: BTreeMap<String, Quantity> = [("app".to_string(), mi(200))].into();
    assert_eq!(
        decide(inputs(&c, &kills, &previous, &at_cap, 1_010)),
        OomDecision::default(),
        "nothing left to raise"
    );
    let mut off = inputs(&c, &kills, &previous, &requests, 1_010);
    off.policy.enabled = false;
    assert_eq!(decide(off), OomDecision::default());
    let mut recommending = inputs(&c, &kills, &previous, &requests, 1_010);
    recommending.autonomous = false;
    assert_eq!(decide(recommending), OomDecision::default());
}

#[test]
fn uncovered_or_unrequested_containers_are_left_alone() {
    let c = containers(None);
    let kills = vec![("sidecar".to_string(), 1_000), ("app".to_string(), 1_000)];
    let previous = AIScaleTargetStatus::default();
    let none = BTreeMap::new();
    assert_eq!(
        decide(inputs(&c, &kills, &previous, &none, 1_010)),
        OomDecision::default()
    );
}

#[test]
fn the_window_defaults_to_the_larger_of_the_interval_and_an_hour() {
    let spec = |v: serde_json::Value| -> AIScaleTargetSpec { serde_json::from_value(v).unwrap() };
    let base = json!({"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "model": {}});
    let mut two_hours = base.clone();
    two_hours["model"]["forecast_interval"] = json!("2h");
    assert_eq!(
        oom_policy(&spec(two_hours)).unwrap().window,
        Duration::from_secs(7200)
    );
    let p = oom_policy(&spec(base.clone())).unwrap();
    assert_eq!((p.enabled, p.window), (true, Duration::from_secs(3600)));
    let mut set = base;
    set["vertical"] = json!({"oom_remediation": {"enabled": false, "stabilization_window": "10m"}});
    assert_eq!(
        oom_policy(&spec(set)).unwrap(),
        OomPolicy {
            enabled: false,
            window: Duration::from_secs(600)
        }
    );
}

proptest! {
    /// A floor only ever rises while held, never above the upperbound, and every bump
    /// raises it.
    #[test]
    fn floors_rise_within_the_upperbound(
        request in 1i128..4096,
        upper in 1i128..8192,
        kills in proptest::collection::vec(0i64..10_000, 1..6),
    ) {
        let upper_text = format!("{upper}Mi");
        let c = containers(Some(&upper_text));
        let requests: BTreeMap<String, Quantity> = [("app".to_string(), mi(request))].into();
        let mut status = AIScaleTargetStatus::default();
        let mut sorted = kills.clone();
        sorted.sort_unstable();
        let mut seen = vec![];
        let mut last: Option<Quantity> = None;
        for k in sorted {
            seen.push(("app".to_string(), k));
            // The pods run at the floor held (the actuator applied it).
            let running: BTreeMap<String, Quantity> = status
                .oom_adjusted_memory
                .get("app")
                .map(|q| [("app".to_string(), q.parse().unwrap())].into())
                .unwrap_or_else(|| requests.clone());
            let mut i = inputs(&c, &seen, &status, &running, k);
            // Every kill inside one window.
            i.policy.window = Duration::from_secs(86_400);
            let d = decide(i);
            if let Some(q) = d.adjusted.get("app") {
                let q: Quantity = q.parse().unwrap();
                prop_assert!(q <= mi(upper).max(mi(request)));
                prop_assert!(last.is_none_or(|l| q >= l));
                last = Some(q);
            }
            for b in &d.bumps {
                prop_assert!(b.to > b.from);
            }
            status.oom_adjusted_memory = d.adjusted;
            status.oom_stabilization_window_expiry = d.expiry;
            status.last_oom_time = Some(Time(at(k)));
        }
    }
}

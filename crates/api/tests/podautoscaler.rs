//! The PodAutoscaler's pure parts: which scheduled bounds apply at an instant (time zones,
//! weekdays, midnight, daylight saving) and the algorithm parameters its annotations set.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use prescale_api::podautoscaler::annotations::{self, scaling_parameters};
use prescale_api::podautoscaler::schedule::{effective_bounds, next_transition, overlap};
use prescale_api::podautoscaler::{
    PodAutoscalerSchedule, PodAutoscalerSpec, ScalingParameters, ScalingStrategy,
};
use proptest::prelude::*;

fn spec(schedules: Vec<PodAutoscalerSchedule>) -> PodAutoscalerSpec {
    let yaml = "scaleTargetRef: {kind: Deployment, name: vllm}\nmaxReplicas: 10\nscalingStrategy: KPA\nmetricsSources:\n- {metricSourceType: pod, protocolType: http, port: '8000', path: /metrics, targetMetric: gpu_cache_usage_perc, targetValue: '0.5'}\n";
    let mut spec: PodAutoscalerSpec = serde_saphyr::from_str(yaml).unwrap();
    spec.schedules = (!schedules.is_empty()).then_some(schedules);
    spec
}

fn window(
    name: &str,
    zone: Option<&str>,
    days: &[&str],
    start: &str,
    end: &str,
) -> PodAutoscalerSchedule {
    PodAutoscalerSchedule {
        name: name.into(),
        timezone: zone.map(Into::into),
        days_of_week: (!days.is_empty()).then(|| days.iter().map(|d| d.to_string()).collect()),
        start_time: start.into(),
        end_time: end.into(),
        min_replicas: Some(4),
        max_replicas: None,
    }
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn active(spec: &PodAutoscalerSpec, t: &str) -> Option<String> {
    effective_bounds(spec, at(t)).unwrap().active_schedule
}

#[test]
fn without_schedules_the_spec_bounds_apply_with_min_defaulting_to_one() {
    let s = spec(vec![]);
    let b = effective_bounds(&s, at("2026-11-30T12:00:00Z")).unwrap();
    assert_eq!(
        (b.min_replicas, b.max_replicas, b.active_schedule),
        (1, 10, None)
    );
    assert_eq!(
        next_transition(&s, at("2026-11-30T12:00:00Z")).unwrap(),
        None
    );
}

#[test]
fn start_is_inclusive_end_exclusive_in_local_time() {
    // 2026-11-30 is a Monday; Los Angeles is UTC-8 in winter.
    let s = spec(vec![window(
        "business",
        Some("America/Los_Angeles"),
        &["Mon", "tue", "WED", "Thu", "Fri"],
        "09:00",
        "18:00",
    )]);
    assert_eq!(active(&s, "2026-11-30T16:59:59Z"), None);
    assert_eq!(
        active(&s, "2026-11-30T17:00:00Z").as_deref(),
        Some("business")
    );
    assert_eq!(
        active(&s, "2026-12-01T01:59:59Z").as_deref(),
        Some("business")
    );
    assert_eq!(active(&s, "2026-12-01T02:00:00Z"), None);
    // Saturday 10:00 local: not a listed day.
    assert_eq!(active(&s, "2026-12-05T18:00:00Z"), None);
    let b = effective_bounds(&s, at("2026-11-30T17:00:00Z")).unwrap();
    assert_eq!(
        (b.min_replicas, b.max_replicas),
        (4, 10),
        "maxReplicas inherited"
    );
}

#[test]
fn weekdays_are_those_of_the_schedules_time_zone_across_midnight() {
    // Friday 23:30 in New York is already Saturday 04:30 UTC: the Friday window applies.
    let s = spec(vec![window(
        "friday-late",
        Some("America/New_York"),
        &["Fri"],
        "23:00",
        "23:59",
    )]);
    assert_eq!(
        active(&s, "2026-12-05T04:30:00Z").as_deref(),
        Some("friday-late")
    );
    // A window to the last minute of the day and one from midnight leave 23:59 closed.
    let s = spec(vec![
        window("evening", None, &[], "18:00", "23:59"),
        window("night", None, &[], "00:00", "06:00"),
    ]);
    assert_eq!(
        active(&s, "2026-11-30T23:58:59Z").as_deref(),
        Some("evening")
    );
    assert_eq!(active(&s, "2026-11-30T23:59:30Z"), None);
    assert_eq!(active(&s, "2026-12-01T00:00:00Z").as_deref(), Some("night"));
    assert_eq!(
        next_transition(&s, at("2026-11-30T23:58:00Z")).unwrap(),
        Some(at("2026-11-30T23:59:00Z"))
    );
    assert_eq!(
        next_transition(&s, at("2026-11-30T23:59:00Z")).unwrap(),
        Some(at("2026-12-01T00:00:00Z"))
    );
}

#[test]
fn daylight_saving_days_keep_local_clock_boundaries() {
    // New York: 2026-03-08 springs forward at 02:00 (to 03:00), 2026-11-01 falls back at
    // 02:00 (to 01:00).
    let s = spec(vec![window(
        "morning",
        Some("America/New_York"),
        &[],
        "09:00",
        "10:00",
    )]);
    // 09:00 local is 14:00 UTC before the change and 13:00 UTC after.
    assert_eq!(
        active(&s, "2026-03-07T14:00:00Z").as_deref(),
        Some("morning")
    );
    assert_eq!(
        active(&s, "2026-03-08T13:00:00Z").as_deref(),
        Some("morning")
    );
    assert_eq!(active(&s, "2026-03-08T14:00:00Z"), None);
    assert_eq!(
        next_transition(&s, at("2026-03-08T05:00:00Z")).unwrap(),
        Some(at("2026-03-08T13:00:00Z"))
    );
    // A window starting in the skipped hour opens when the clock resumes at 03:00.
    let s = spec(vec![window(
        "skipped",
        Some("America/New_York"),
        &[],
        "02:30",
        "04:00",
    )]);
    assert_eq!(active(&s, "2026-03-08T06:59:00Z"), None, "01:59 EST");
    assert_eq!(
        active(&s, "2026-03-08T07:00:00Z").as_deref(),
        Some("skipped"),
        "03:00 EDT"
    );
    assert_eq!(
        next_transition(&s, at("2026-03-08T06:00:00Z")).unwrap(),
        Some(at("2026-03-08T07:00:00Z"))
    );
    // A window in the repeated hour is open for both passes of it.
    let s = spec(vec![window(
        "repeated",
        Some("America/New_York"),
        &[],
        "01:00",
        "02:00",
    )]);
    assert_eq!(
        active(&s, "2026-11-01T05:30:00Z").as_deref(),
        Some("repeated"),
        "01:30 EDT"
    );
    assert_eq!(
        active(&s, "2026-11-01T06:30:00Z").as_deref(),
        Some("repeated"),
        "01:30 EST"
    );
    assert_eq!(active(&s, "2026-11-01T07:00:00Z"), None, "02:00 EST");
}

#[test]
fn an_unknown_time_zone_is_an_error_with_its_field() {
    let s = spec(vec![window(
        "w",
        Some("Europe/Atlantis"),
        &[],
        "09:00",
        "10:00",
    )]);
    let e = effective_bounds(&s, at("2026-11-30T12:00:00Z")).unwrap_err();
    assert!(e.to_string().starts_with("schedules[0].timezone:"), "{e}");
}

#[test]
fn overlap_needs_a_shared_day_and_time() {
    let a = window("a", None, &["Mon", "Tue"], "09:00", "12:00");
    assert!(overlap(&a, &window("b", None, &["tue"], "11:00", "13:00")));
    assert!(!overlap(&a, &window("b", None, &["Wed"], "11:00", "13:00")));
    assert!(
        !overlap(&a, &window("b", None, &["Mon"], "12:00", "13:00")),
        "end is exclusive"
    );
    assert!(
        overlap(&a, &window("b", None, &[], "08:00", "09:01")),
        "no days: every day"
    );
}

fn schedule_strategy() -> impl Strategy<Value = PodAutoscalerSchedule> {
    let zones = prop::sample::select(vec![
        "UTC",
        "America/New_York",
        "Europe/Berlin",
        "Australia/Lord_Howe",
        "Asia/Kolkata",
    ]);
    let days =
        prop::sample::subsequence(vec!["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], 1..=7);
    (zones, days, 0u16..1439, 1u16..1440).prop_map(|(zone, days, start, len)| {
        let end = (start + len).min(1439).max(start + 1);
        let hm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        PodAutoscalerSchedule {
            name: "w".into(),
            timezone: Some(zone.into()),
            days_of_week: Some(days.into_iter().map(String::from).collect()),
            start_time: hm(start),
            end_time: hm(end),
            min_replicas: Some(3),
            max_replicas: Some(7),
        }
    })
}

proptest! {
    /// Nothing changes between an instant and the next transition, and something does at
    /// it, around the daylight-saving changes of the zones drawn (New York and Berlin in
    /// March and October/November, Lord Howe's half hour in April and October).
    #[test]
    fn bounds_hold_until_the_next_transition(
        w in schedule_strategy(),
        base in prop::sample::select(vec!["2026-03-05T00:00:00Z", "2026-03-26T00:00:00Z", "2026-04-02T00:00:00Z", "2026-10-01T00:00:00Z", "2026-10-22T00:00:00Z", "2026-10-29T00:00:00Z"]),
        offset in 0i64..(6 * 86_400),
    ) {
        let s = spec(vec![w]);
        let now = at(base).checked_add(jiff::SignedDuration::from_secs(offset)).unwrap();
        let here = effective_bounds(&s, now).unwrap();
        let next = next_transition(&s, now).unwrap().expect("a weekly window changes within 8 days");
        prop_assert!(next > now);
        let span = next.duration_since(now);
        for i in 0..16 {
            let probe = now.checked_add(span * i / 16).unwrap();
            prop_assert_eq!(&effective_bounds(&s, probe).unwrap(), &here, "{} before {}", probe, next);
        }
        let last = next.checked_sub(jiff::SignedDuration::from_secs(1)).unwrap();
        prop_assert_eq!(&effective_bounds(&s, last).unwrap(), &here);
        prop_assert_ne!(effective_bounds(&s, next).unwrap(), here, "at {}", next);
    }

    /// Whatever the schedule, bounds are in order when the spec's are.
    #[test]
    fn effective_bounds_stay_ordered(w in schedule_strategy(), offset in 0i64..(7 * 86_400)) {
        let s = spec(vec![w]);
        let now = at("2026-10-25T00:00:00Z").checked_add(jiff::SignedDuration::from_secs(offset)).unwrap();
        let b = effective_bounds(&s, now).unwrap();
        prop_assert!(b.min_replicas <= b.max_replicas);
    }
}

fn parameters(pairs: &[(&str, &str)], strategy: ScalingStrategy) -> annotations::ParsedParameters {
    let map: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut s = spec(vec![]);
    s.scaling_strategy = strategy;
    scaling_parameters(&map, &s)
}

#[test]
fn defaults_are_aibrixs() {
    let p = parameters(&[], ScalingStrategy::KPA);
    assert!(p.problems.is_empty() && p.ignored.is_empty());
    let d = p.parameters;
    assert_eq!(d, ScalingParameters::default());
    assert_eq!((d.max_scale_up_rate, d.max_scale_down_rate), (2.0, 2.0));
    assert_eq!((d.scale_up_tolerance, d.scale_down_tolerance), (0.1, 0.1));
    assert_eq!(d.panic_threshold, 2.0);
    assert_eq!(
        (d.scale_up_cooldown, d.scale_down_cooldown),
        (Duration::ZERO, Duration::from_secs(300))
    );
    assert_eq!(
        (d.stable_window, d.panic_window),
        (Duration::from_secs(180), Duration::from_secs(60))
    );
    assert!(!d.scale_to_zero);
}

#[test]
fn every_documented_annotation_takes_effect() {
    let p = parameters(
        &[
            (annotations::MAX_SCALE_UP_RATE, "3.0"),
            (annotations::MAX_SCALE_DOWN_RATE, "4"),
            (annotations::SCALE_UP_TOLERANCE, "0.2"),
            (annotations::SCALE_DOWN_TOLERANCE, "0.05"),
            (annotations::PANIC_THRESHOLD, "2.5"),
            (annotations::SCALE_UP_COOLDOWN_WINDOW, "30s"),
            (annotations::SCALE_DOWN_COOLDOWN_WINDOW, "5m"),
            (annotations::SCALE_TO_ZERO, "True"),
            (annotations::APA_WINDOW, "20s"),
            ("autoscaling.aibrix.ai/storm-service-mode", "pooled"),
            ("kubectl.kubernetes.io/last-applied-configuration", "{}"),
        ],
        ScalingStrategy::APA,
    );
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    assert!(p.ignored.is_empty(), "{:?}", p.ignored);
    let d = p.parameters;
    assert_eq!((d.max_scale_up_rate, d.max_scale_down_rate), (3.0, 4.0));
    assert_eq!((d.scale_up_tolerance, d.scale_down_tolerance), (0.2, 0.05));
    assert_eq!(d.panic_threshold, 2.5);
    assert_eq!(
        (d.scale_up_cooldown, d.scale_down_cooldown),
        (Duration::from_secs(30), Duration::from_secs(300))
    );
    assert!(d.scale_to_zero);
    assert_eq!(d.stable_window, Duration::from_secs(20), "the APA window");
}

#[test]
fn a_bad_value_is_a_problem_at_its_annotation_and_keeps_the_default() {
    let p = parameters(
        &[
            (annotations::PANIC_THRESHOLD, "two"),
            (annotations::MAX_SCALE_UP_RATE, "0.5"),
        ],
        ScalingStrategy::KPA,
    );
    let paths: Vec<&str> = p.problems.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "metadata.annotations[autoscaling.aibrix.ai/max-scale-up-rate]",
            "metadata.annotations[autoscaling.aibrix.ai/panic-threshold]"
        ]
    );
    assert!(
        p.problems[1].message.contains("at least 1"),
        "{}",
        p.problems[1]
    );
    assert_eq!(p.parameters, ScalingParameters::default());
}

#[test]
fn keys_aibrix_no_longer_reads_are_ignored_with_their_replacement() {
    let p = parameters(
        &[
            ("kpa.autoscaling.aibrix.ai/scale-down-delay", "3m"),
            ("autoscaling.aibrix.ai/typo", "1"),
            (annotations::APA_WINDOW, "20s"),
        ],
        ScalingStrategy::KPA,
    );
    assert_eq!(
        p.parameters,
        ScalingParameters::default(),
        "AIBrix ignores them too"
    );
    let why: BTreeMap<&str, &str> = p
        .ignored
        .iter()
        .map(|i| (i.key.as_str(), i.why.as_str()))
        .collect();
    assert!(
        why["kpa.autoscaling.aibrix.ai/scale-down-delay"]
            .contains("autoscaling.aibrix.ai/scale-down-cooldown-window")
    );
    assert!(why["autoscaling.aibrix.ai/typo"].contains("not an annotation"));
    assert!(why["apa.autoscaling.aibrix.ai/window"].contains("not APA"));
}

#[test]
fn spec_windows_set_the_stable_and_panic_windows() {
    let mut s = spec(vec![]);
    s.observe_window_seconds = Some(600);
    s.panic_window_seconds = Some(30);
    let p = scaling_parameters(&BTreeMap::new(), &s).parameters;
    assert_eq!(
        (p.stable_window, p.panic_window),
        (Duration::from_secs(600), Duration::from_secs(30))
    );
}

proptest! {
    #[test]
    fn any_annotation_value_never_panics(key in 0usize..9, value in "\\PC{0,24}") {
        let keys = [
            annotations::MAX_SCALE_UP_RATE, annotations::MAX_SCALE_DOWN_RATE, annotations::SCALE_UP_TOLERANCE,
            annotations::SCALE_DOWN_TOLERANCE, annotations::PANIC_THRESHOLD, annotations::SCALE_UP_COOLDOWN_WINDOW,
            annotations::SCALE_DOWN_COOLDOWN_WINDOW, annotations::SCALE_TO_ZERO, annotations::APA_WINDOW,
        ];
        let p = parameters(&[(keys[key], &value)], ScalingStrategy::APA);
        let d = p.parameters;
        prop_assert!(d.max_scale_up_rate >= 1.0 && d.max_scale_down_rate >= 1.0 && d.panic_threshold >= 1.0);
        prop_assert!((0.0..=1.0).contains(&d.scale_up_tolerance) && (0.0..=1.0).contains(&d.scale_down_tolerance));
        prop_assert!(d.stable_window >= Duration::from_secs(1));
    }
}

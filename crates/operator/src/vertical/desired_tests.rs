use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use prescale_api::target::vertical::LimitPolicy;

fn res(requests: &[(&str, &str)], limits: &[(&str, &str)]) -> ResourceRequirements {
    let map = |pairs: &[(&str, &str)]| {
        (!pairs.is_empty()).then(|| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), K8sQuantity(v.to_string())))
                .collect::<BTreeMap<_, _>>()
        })
    };
    ResourceRequirements {
        requests: map(requests),
        limits: map(limits),
        ..Default::default()
    }
}

fn rec(cpu: &str, memory: &str) -> ContainerRecommendation {
    ContainerRecommendation {
        name: "app".into(),
        cpu: Some(cpu.into()),
        memory: Some(memory.into()),
        ..Default::default()
    }
}

fn bounds(lower: &str, upper: Option<&str>, ratio: Option<f64>) -> ResourcePolicy {
    ResourcePolicy {
        lowerbound: Some(lower.into()),
        upperbound: upper.map(Into::into),
        limit: ratio.map(|r| LimitPolicy { ratio: Some(r) }),
    }
}

fn policy(cpu: ResourcePolicy, memory: ResourcePolicy) -> ContainerPolicy {
    ContainerPolicy {
        name: "*".into(),
        cpu: Some(cpu),
        memory: Some(memory),
    }
}

fn wide() -> ContainerPolicy {
    policy(bounds("1m", None, None), bounds("1Mi", None, None))
}

fn q(r: &ResourceRequirements, which: &str, resource: &str) -> Option<String> {
    let map = if which == "requests" {
        &r.requests
    } else {
        &r.limits
    };
    map.as_ref()
        .and_then(|m| m.get(resource))
        .map(|q| q.0.clone())
}

#[test]
fn named_policy_overrides_the_default_and_unnamed_containers_are_not_covered() {
    let default = policy(bounds("1m", None, None), bounds("1Mi", None, None));
    let named = ContainerPolicy {
        name: "sidecar".into(),
        ..default.clone()
    };
    let policies = vec![default.clone(), named.clone()];
    assert_eq!(policy_for(&policies, "sidecar"), Some(&named));
    assert_eq!(policy_for(&policies, "app"), Some(&default));
    assert_eq!(policy_for(std::slice::from_ref(&named), "app"), None);
}

#[test]
fn recommendation_matches_the_workload_of_selector_targets() {
    let mut a = rec("1", "1Gi");
    a.workload = Some("Deployment/a".into());
    let mut b = rec("2", "2Gi");
    b.workload = Some("Deployment/b".into());
    let all = [a, b.clone()];
    assert_eq!(recommendation_for(&all, "Deployment/b", "app"), Some(&b));
    assert_eq!(recommendation_for(&all, "Deployment/c", "app"), None);
    let plain = [rec("1", "1Gi")];
    assert!(recommendation_for(&plain, "Deployment/x", "app").is_some());
}

#[test]
fn own_limit_ratio_is_kept_without_a_policy_ratio() {
    let current = res(
        &[("cpu", "100m"), ("memory", "100Mi")],
        &[("cpu", "300m"), ("memory", "200Mi")],
    );
    let d = desired_resources(
        &current,
        &rec("200m", "150Mi"),
        &wide(),
        None,
        QosClass::Burstable,
    )
    .unwrap();
    assert_eq!(q(&d, "requests", "cpu").as_deref(), Some("200m"));
    assert_eq!(q(&d, "limits", "cpu").as_deref(), Some("600m"));
    assert_eq!(q(&d, "requests", "memory").as_deref(), Some("150Mi"));
    assert_eq!(q(&d, "limits", "memory").as_deref(), Some("300Mi"));
}

#[test]
fn policy_ratio_sets_the_limit_and_no_limit_stays_none() {
    let p = policy(
        bounds("1m", None, Some(1.5)),
        bounds("1Mi", None, Some(2.0)),
    );
    let current = res(&[("cpu", "100m"), ("memory", "100Mi")], &[("cpu", "100m")]);
    let d =
        desired_resources(&current, &rec("400m", "1Gi"), &p, None, QosClass::Burstable).unwrap();
    assert_eq!(q(&d, "limits", "cpu").as_deref(), Some("600m"));
    assert_eq!(
        q(&d, "limits", "memory"),
        None,
        "a container without a limit keeps none"
    );
}

#[test]
fn guaranteed_pods_keep_limits_equal_to_requests_whatever_the_ratio() {
    let p = policy(
        bounds("1m", None, Some(2.0)),
        bounds("1Mi", None, Some(2.0)),
    );
    let current = res(
        &[("cpu", "1"), ("memory", "1Gi")],
        &[("cpu", "1"), ("memory", "1Gi")],
    );
    let d = desired_resources(
        &current,
        &rec("500m", "512Mi"),
        &p,
        None,
        QosClass::Guaranteed,
    )
    .unwrap();
    assert_eq!(q(&d, "requests", "cpu"), q(&d, "limits", "cpu"));
    assert_eq!(q(&d, "limits", "memory").as_deref(), Some("512Mi"));
}

#[test]
fn a_limit_above_its_request_stays_above_it_with_ratio_one() {
    let p = policy(bounds("1m", None, Some(1.0)), bounds("1Mi", None, None));
    let current = res(&[("cpu", "100m")], &[("cpu", "200m")]);
    let d =
        desired_resources(&current, &rec("300m", "1Gi"), &p, None, QosClass::Burstable).unwrap();
    assert_eq!(q(&d, "limits", "cpu").as_deref(), Some("301m"));
}

#[test]
fn unrequested_resources_are_left_alone() {
    let current = res(&[("cpu", "100m")], &[]);
    let d = desired_resources(
        &current,
        &rec("300m", "1Gi"),
        &wide(),
        None,
        QosClass::Burstable,
    )
    .unwrap();
    assert_eq!(q(&d, "requests", "memory"), None);
    let best_effort = res(&[], &[]);
    let d = desired_resources(
        &best_effort,
        &rec("300m", "1Gi"),
        &wide(),
        None,
        QosClass::BestEffort,
    )
    .unwrap();
    assert_eq!(d, best_effort);
}

#[test]
fn oom_floor_raises_memory_but_the_upperbound_wins() {
    let p = policy(
        bounds("1m", Some("2"), None),
        bounds("1Mi", Some("1Gi"), None),
    );
    let current = res(&[("cpu", "100m"), ("memory", "100Mi")], &[]);
    let floor = Some("600Mi".parse().unwrap());
    let d =
        desired_resources(&current, &rec("5", "200Mi"), &p, floor, QosClass::Burstable).unwrap();
    assert_eq!(q(&d, "requests", "memory").as_deref(), Some("600Mi"));
    assert_eq!(q(&d, "requests", "cpu").as_deref(), Some("2000m"));
    let floor = Some("4Gi".parse().unwrap());
    let d =
        desired_resources(&current, &rec("5", "200Mi"), &p, floor, QosClass::Burstable).unwrap();
    assert_eq!(q(&d, "requests", "memory").as_deref(), Some("1Gi"));
}

#[test]
fn other_resources_are_kept_and_bad_quantities_name_their_field() {
    let current = res(
        &[("cpu", "100m"), ("ephemeral-storage", "1Gi")],
        &[("nvidia.com/gpu", "1")],
    );
    let d = desired_resources(
        &current,
        &rec("200m", "1Gi"),
        &wide(),
        None,
        QosClass::Burstable,
    )
    .unwrap();
    assert_eq!(
        q(&d, "requests", "ephemeral-storage").as_deref(),
        Some("1Gi")
    );
    assert_eq!(q(&d, "limits", "nvidia.com/gpu").as_deref(), Some("1"));
    let err = desired_resources(
        &current,
        &rec("lots", "1Gi"),
        &wide(),
        None,
        QosClass::Burstable,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("status.suggestion.containers[app].cpu"),
        "{err}"
    );
}

#[test]
fn changes_are_compared_by_value() {
    let a = res(&[("cpu", "1"), ("memory", "1Gi")], &[]);
    let b = res(&[("cpu", "1000m"), ("memory", "1073741824")], &[]);
    assert!(changed_resources(&a, &b).unwrap().is_empty());
    let c = res(&[("cpu", "1"), ("memory", "2Gi")], &[]);
    assert_eq!(
        changed_resources(&a, &c).unwrap(),
        vec![ResourceName::Memory]
    );
}

/// One resource of a generated container: absent, request only, or request ≤ limit.
fn arb_pair(unit: u64) -> impl Strategy<Value = (Option<u64>, Option<u64>)> {
    prop_oneof![
        Just((None, None)),
        (0..4000u64).prop_map(move |r| (Some(r * unit), None)),
        (1..4000u64, 0..3u64).prop_map(move |(r, k)| (Some(r * unit), Some(r * unit * (1 + k)))),
        (1..4000u64, 0..500u64)
            .prop_map(move |(r, extra)| (Some(r * unit), Some((r + extra) * unit))),
        (1..4000u64).prop_map(move |l| (None, Some(l * unit))),
    ]
}

fn arb_container() -> impl Strategy<Value = ResourceRequirements> {
    (arb_pair(1), arb_pair(1 << 20)).prop_map(|(cpu, mem)| {
        let text_cpu = |v: u64| format!("{v}m");
        let text_mem = |v: u64| v.to_string();
        let mut requests = vec![];
        let mut limits = vec![];
        if let Some(r) = cpu.0 {
            requests.push(("cpu".to_string(), text_cpu(r)));
        }
        if let Some(l) = cpu.1 {
            limits.push(("cpu".to_string(), text_cpu(l)));
        }
        if let Some(r) = mem.0 {
            requests.push(("memory".to_string(), text_mem(r)));
        }
        if let Some(l) = mem.1 {
            limits.push(("memory".to_string(), text_mem(l)));
        }
        let map = |v: Vec<(String, String)>| {
            (!v.is_empty()).then(|| v.into_iter().map(|(k, v)| (k, K8sQuantity(v))).collect())
        };
        ResourceRequirements {
            requests: map(requests),
            limits: map(limits),
            ..Default::default()
        }
    })
}

fn arb_resource_policy() -> impl Strategy<Value = ResourcePolicy> {
    (
        1..2000u64,
        proptest::option::of(1..8000u64),
        proptest::option::of(prop_oneof![Just(1.0), Just(1.5), Just(2.0), 1.0..4.0f64]),
    )
        .prop_map(|(lower, upper, ratio)| ResourcePolicy {
            lowerbound: Some(format!("{lower}m").as_str().into()),
            upperbound: upper.map(|u| format!("{}m", lower + u).as_str().into()),
            limit: ratio.map(|r| LimitPolicy { ratio: Some(r) }),
        })
}

fn arb_memory_policy() -> impl Strategy<Value = ResourcePolicy> {
    arb_resource_policy().prop_map(|p| ResourcePolicy {
        // Millis of a MiB read as MiB keep the same shape at memory scale.
        lowerbound: p.lowerbound.map(|v| {
            format!("{}Mi", v.quantity().unwrap().millis_ceil())
                .as_str()
                .into()
        }),
        upperbound: p.upperbound.map(|v| {
            format!("{}Mi", v.quantity().unwrap().millis_ceil())
                .as_str()
                .into()
        }),
        limit: p.limit,
    })
}

proptest! {
    #[test]
    fn qos_class_of_the_pod_is_preserved(
        containers in proptest::collection::vec(arb_container(), 1..4),
        cpu_policy in arb_resource_policy(),
        memory_policy in arb_memory_policy(),
        cpu in 0..10_000u64,
        memory in 0..10_000u64,
        floor in proptest::option::of(0..10_000u64),
    ) {
        let before = pod_qos(&containers).unwrap();
        let p = policy(cpu_policy.clone(), memory_policy.clone());
        let r = rec(&format!("{cpu}m"), &format!("{memory}Mi"));
        let floor = floor.map(|f| format!("{f}Mi").parse().unwrap());
        let after: Vec<ResourceRequirements> = containers
            .iter()
            .map(|c| desired_resources(c, &r, &p, floor, before).unwrap())
            .collect();
        prop_assert_eq!(pod_qos(&after).unwrap(), before);
        for (old, new) in containers.iter().zip(&after) {
            for resource in [ResourceName::Cpu, ResourceName::Memory] {
                let (req, lim) = effective(new, resource).unwrap();
                let (old_req, old_lim) = effective(old, resource).unwrap();
                // No limit is added or removed, and a limit is never below its request.
                prop_assert_eq!(lim.is_some(), old_lim.is_some());
                if let (Some(req), Some(lim)) = (req, lim) {
                    prop_assert!(lim >= req);
                }
                let Some(req) = req.filter(|_| old_req.is_some()) else { continue };
                let rp = if resource == ResourceName::Cpu { &cpu_policy } else { &memory_policy };
                if let Some(upper) = rp.upperbound.as_ref() {
                    prop_assert!(req <= upper.quantity().unwrap(), "{req} above the upperbound");
                }
                if resource == ResourceName::Memory
                    && let Some(f) = floor
                {
                    let upper = rp.upperbound.as_ref().map(|u| u.quantity().unwrap());
                    prop_assert!(req >= upper.map_or(f, |u| f.min(u)), "memory below the OOM floor");
                }
            }
        }
    }

    #[test]
    fn desired_values_are_a_fixed_point(
        container in arb_container(),
        cpu in 1..10_000u64,
        memory in 1..10_000u64,
    ) {
        // Applying the rule to its own output changes nothing: a pod at its suggestion is
        // left alone, whichever spelling the server returns.
        let qos = pod_qos([&container]).unwrap();
        let r = rec(&format!("{cpu}m"), &format!("{memory}Mi"));
        let once = desired_resources(&container, &r, &wide(), None, qos).unwrap();
        let twice = desired_resources(&once, &r, &wide(), None, qos).unwrap();
        prop_assert!(changed_resources(&once, &twice).unwrap().is_empty());
    }
}

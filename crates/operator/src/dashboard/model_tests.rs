use proptest::prelude::*;

use super::*;

fn row(ns: &str, name: &str, cpu: Option<f64>, autonomous: bool) -> TargetRow {
    TargetRow {
        namespace: ns.into(),
        name: name.into(),
        workloads: vec![format!("Deployment/{name}")],
        vertical: Some(
            if autonomous {
                "autonomous"
            } else {
                "recommendation"
            }
            .into(),
        ),
        horizontal: None,
        autonomous,
        conditions: vec![],
        request: PerPod {
            cpu: Some(1.0),
            memory: Some(1e9),
        },
        running: PerPod::default(),
        recommended: PerPod {
            cpu,
            memory: cpu.map(|c| c * 1e9),
        },
        forecast: PerPod::default(),
        used: PerPod {
            cpu: Some(0.5),
            memory: None,
        },
        replicas: 2,
        pods: 2,
        suggested_replicas: None,
        suggestion_time: None,
        last_action: None,
    }
}

#[test]
fn overview_counts_modes_and_totals() {
    let rows = [
        row("a", "x", Some(0.25), true),
        row("a", "y", None, false),
        row("b", "z", Some(2.0), false),
    ];
    let o = overview(&rows, true, None);
    assert_eq!(
        (o.targets, o.autonomous_targets, o.with_recommendation),
        (3, 1, 2)
    );
    assert_eq!(
        o.vertical,
        ModeCounts {
            autonomous: 1,
            recommendation: 2,
            off: 0
        }
    );
    assert_eq!(o.horizontal.off, 3);
    assert_eq!(o.cpu.requested, 6.0);
    assert_eq!(o.cpu.used, 3.0);
    assert_eq!(o.cpu.recommended, 4.5);
    // x saves 1.5 cores, z adds 2 cores of safety; y has no recommendation.
    assert_eq!(o.cpu.saving, -0.5);
    assert!(o.paused);
}

#[test]
fn filter_mode_sort_and_pages() {
    let rows: Vec<TargetRow> = (0..120)
        .map(|i| {
            row(
                &format!("ns-{}", i % 3),
                &format!("t-{i:03}"),
                Some(i as f64),
                i % 2 == 0,
            )
        })
        .collect();
    let q = TableQuery {
        q: "NS-1".into(),
        sort: "cpu".into(),
        desc: true,
        ..Default::default()
    };
    let p = page(&rows, &q);
    assert_eq!(p.matched, 40);
    assert_eq!(p.rows.len(), 40);
    assert_eq!(p.rows[0].name, "t-118");
    let q = TableQuery {
        mode: "autonomous".into(),
        per_page: 25,
        page: 9,
        ..Default::default()
    };
    let p = page(&rows, &q);
    assert_eq!(
        (p.matched, p.pages, p.page, p.rows.len()),
        (60, 3, 3, 10),
        "the page is clamped"
    );
}

/// The filter's rule, case-insensitive: the needle is in the key or a workload.
fn matches(r: &TargetRow, needle: &str) -> bool {
    let needle = needle.to_lowercase();
    r.key().to_lowercase().contains(&needle)
        || r.workloads
            .iter()
            .any(|w| w.to_lowercase().contains(&needle))
}

proptest! {
    /// Whatever the query, pages partition the matching rows: every match appears on
    /// exactly one page, each page is sorted, and nothing else is shown.
    #[test]
    fn pages_partition_the_matches(
        cpus in proptest::collection::vec(proptest::option::of(0.0f64..10.0), 0..80),
        sort in proptest::sample::select(SORT_KEYS.to_vec()),
        desc in any::<bool>(),
        per_page in 0usize..30,
        needle in "[a-z0-9-]{0,3}",
    ) {
        let rows: Vec<TargetRow> = cpus.iter().enumerate()
            .map(|(i, c)| row(&format!("ns-{}", i % 4), &format!("t-{i}"), *c, i % 3 == 0))
            .collect();
        let base = TableQuery { q: needle.clone(), sort: sort.to_string(), desc, per_page, ..Default::default() };
        let first = page(&rows, &base);
        let mut seen = std::collections::BTreeSet::new();
        for n in 1..=first.pages {
            let p = page(&rows, &TableQuery { page: n, ..base.clone() });
            prop_assert!(p.rows.len() <= p.per_page);
            for r in &p.rows {
                prop_assert!(seen.insert(r.key()), "{} twice", r.key());
                prop_assert!(matches(r, &needle));
            }
        }
        let expected = rows.iter().filter(|r| matches(r, &needle)).count();
        prop_assert_eq!(seen.len(), expected);
        prop_assert_eq!(first.matched, expected);
    }
}

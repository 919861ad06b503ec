use serde_json::json;

use super::*;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn template(name: &str, created: &str) -> TemplateView {
    TemplateView {
        name: name.into(),
        created: created.into(),
        selector: LabelSelector {
            match_labels: Some(labels(&[("thoras.ai/enabled", "true")])),
            ..Default::default()
        },
        namespaces: NamespacePolicy::All,
        conflict_resolution: ConflictResolution::Skip,
        spec: json!({"model": {"forecast_blocks": "4h", "forecast_interval": "1h"}}),
        deleting: false,
    }
}

fn workload(ns: &str, name: &str, enabled: bool) -> Arc<WorkloadView> {
    Arc::new(WorkloadView {
        api_version: "apps/v1".into(),
        kind: "Deployment".into(),
        namespace: ns.into(),
        name: name.into(),
        uid: format!("uid-{name}"),
        labels: if enabled {
            labels(&[("thoras.ai/enabled", "true")])
        } else {
            labels(&[])
        },
        ..Default::default()
    })
}

fn existing(d: &DesiredTarget) -> Arc<TargetView> {
    Arc::new(TargetView {
        namespace: d.namespace.clone(),
        name: d.name.clone(),
        labels: labels(&[(MANAGED_BY_TEMPLATE_LABEL, &d.template)]),
        target: Some((d.owner.kind.clone(), d.owner.name.clone())),
        spec: d.spec.clone(),
    })
}

fn manual(ns: &str, name: &str, workload: &str) -> Arc<TargetView> {
    Arc::new(TargetView {
        namespace: ns.into(),
        name: name.into(),
        labels: labels(&[]),
        target: Some(("Deployment".into(), workload.into())),
        spec: json!({"scaleTargetRef": {"kind": "Deployment", "name": workload}}),
    })
}

fn created(plan: &Plan) -> Vec<DesiredTarget> {
    plan.actions
        .iter()
        .filter_map(|a| match a {
            Action::Create(d) => Some(d.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn matching_workload_gets_named_labelled_owned_target() {
    let t = [template("prod", "2024-01-01T00:00:00Z")];
    let plan = plan_template(
        "prod",
        &t,
        &[workload("shop", "api", true), workload("shop", "db", false)],
        &[],
    );
    let made = created(&plan);
    assert_eq!(made.len(), 1);
    let d = &made[0];
    assert_eq!(
        (d.namespace.as_str(), d.name.as_str(), d.template.as_str()),
        ("shop", "api-ast", "prod")
    );
    assert_eq!(d.owner.uid, "uid-api");
    assert_eq!(
        d.spec["scaleTargetRef"],
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"})
    );
    assert_eq!(d.spec["model"]["forecast_blocks"], "4h");
    assert_eq!(plan.managed, 1);
}

#[test]
fn resync_of_unchanged_objects_plans_nothing() {
    let t = [template("prod", "2024-01-01T00:00:00Z")];
    let w = [workload("shop", "api", true)];
    let first = created(&plan_template("prod", &t, &w, &[]));
    let targets: Vec<_> = first.iter().map(existing).collect();
    assert_eq!(plan_template("prod", &t, &w, &targets).actions, vec![]);
}

#[test]
fn label_change_deletes_managed_target() {
    let t = [template("prod", "2024-01-01T00:00:00Z")];
    let made = created(&plan_template(
        "prod",
        &t,
        &[workload("shop", "api", true)],
        &[],
    ));
    let targets: Vec<_> = made.iter().map(existing).collect();
    let plan = plan_template("prod", &t, &[workload("shop", "api", false)], &targets);
    assert_eq!(
        plan.actions,
        vec![Action::Delete {
            namespace: "shop".into(),
            name: "api-ast".into()
        }]
    );
}

#[test]
fn template_update_updates_every_managed_target() {
    let mut t = [template("prod", "2024-01-01T00:00:00Z")];
    let w = [workload("a", "x", true), workload("b", "y", true)];
    let targets: Vec<_> = created(&plan_template("prod", &t, &w, &[]))
        .iter()
        .map(existing)
        .collect();
    t[0].spec = json!({"model": {"forecast_blocks": "1h", "forecast_interval": "15m"}});
    let plan = plan_template("prod", &t, &w, &targets);
    assert_eq!(plan.actions.len(), 2);
    for a in plan.actions {
        let Action::Update(d) = a else {
            panic!("expected an update, got {a:?}")
        };
        assert_eq!(d.spec["model"]["forecast_blocks"], "1h");
    }
}

#[test]
fn template_deletion_deletes_only_its_own_targets() {
    let mut t = [template("prod", "2024-01-01T00:00:00Z")];
    let w = [workload("shop", "api", true)];
    let mut targets: Vec<_> = created(&plan_template("prod", &t, &w, &[]))
        .iter()
        .map(existing)
        .collect();
    targets.push(manual("shop", "other", "other"));
    t[0].deleting = true;
    let plan = plan_template("prod", &t, &w, &targets);
    assert_eq!(
        plan.actions,
        vec![Action::Delete {
            namespace: "shop".into(),
            name: "api-ast".into()
        }]
    );
}

#[test]
fn skip_leaves_a_manual_target_alone() {
    let t = [template("prod", "2024-01-01T00:00:00Z")];
    let plan = plan_template(
        "prod",
        &t,
        &[workload("shop", "api", true)],
        &[manual("shop", "mine", "api")],
    );
    assert_eq!(plan.actions, vec![]);
    assert_eq!(plan.skipped_conflicts, vec!["shop/api".to_string()]);
}

#[test]
fn override_takes_over_a_manual_target() {
    let mut t = [template("prod", "2024-01-01T00:00:00Z")];
    t[0].conflict_resolution = ConflictResolution::Override;
    let plan = plan_template(
        "prod",
        &t,
        &[workload("shop", "api", true)],
        &[manual("shop", "mine", "api")],
    );
    let [Action::Update(d)] = plan.actions.as_slice() else {
        panic!("{:?}", plan.actions)
    };
    assert_eq!((d.name.as_str(), d.template.as_str()), ("mine", "prod"));
    assert_eq!(d.spec["model"]["forecast_interval"], "1h");
}

#[test]
fn a_taken_over_target_keeps_its_name_and_is_not_replaced() {
    let mut t = [template("prod", "2024-01-01T00:00:00Z")];
    t[0].conflict_resolution = ConflictResolution::Override;
    let w = [workload("shop", "api", true)];
    let first = plan_template("prod", &t, &w, &[manual("shop", "mine", "api")]);
    let [Action::Update(taken)] = first.actions.as_slice() else {
        panic!("the manual target is taken over: {:?}", first.actions)
    };
    // The next plan sees the target as the update left it: nothing more to do, no
    // `api-ast` created, `mine` not deleted.
    let plan = plan_template("prod", &t, &w, &[existing(taken)]);
    assert_eq!(plan.actions, vec![]);
    assert_eq!(plan.managed, 1);
}

#[test]
fn namespace_policies_include_and_exclude() {
    let w = [
        workload("prod", "a", true),
        workload("kube-system", "b", true),
    ];
    let mut t = [template("t", "2024-01-01T00:00:00Z")];
    t[0].namespaces = NamespacePolicy::Included(["prod".to_string()].into());
    let names: Vec<_> = created(&plan_template("t", &t, &w, &[]))
        .into_iter()
        .map(|d| d.namespace)
        .collect();
    assert_eq!(names, vec!["prod"]);
    t[0].namespaces = NamespacePolicy::Excluded(["prod".to_string()].into());
    let names: Vec<_> = created(&plan_template("t", &t, &w, &[]))
        .into_iter()
        .map(|d| d.namespace)
        .collect();
    assert_eq!(names, vec!["kube-system"]);
}

#[test]
fn overlapping_templates_oldest_wins_and_loser_says_so() {
    let t = [
        template("young", "2024-06-01T00:00:00Z"),
        template("old", "2024-01-01T00:00:00Z"),
    ];
    let w = [workload("shop", "api", true)];
    let young = plan_template("young", &t, &w, &[]);
    assert_eq!(young.actions, vec![]);
    assert_eq!(
        young.lost_to,
        vec![("shop/api".to_string(), "old".to_string())]
    );
    let old = plan_template("old", &t, &w, &[]);
    assert_eq!(created(&old).len(), 1);
    // A target the younger template made earlier is taken over, not duplicated or fought over.
    let mut made_by_young = existing(&created(&old)[0]);
    Arc::make_mut(&mut made_by_young)
        .labels
        .insert(MANAGED_BY_TEMPLATE_LABEL.into(), "young".into());
    let targets = [made_by_young];
    assert_eq!(plan_template("young", &t, &w, &targets).actions, vec![]);
    let old = plan_template("old", &t, &w, &targets);
    let [Action::Update(d)] = old.actions.as_slice() else {
        panic!("{:?}", old.actions)
    };
    assert_eq!(d.template, "old");
}

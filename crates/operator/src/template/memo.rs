//! What the template controller keeps between passes so a pass costs what changed, not
//! the size of the cluster: each target's `TargetView` (kept while its generation and
//! labels are unchanged: a status write changes neither) and, per template, each
//! workload's part of the plan (`WorkloadPlan`), kept while the templates, the workload's
//! view and the targets on it are the very ones it was planned from. Views are shared
//! (`Arc`) and rebuilt only when their object changes (`cache::WorkloadViews` for
//! workloads), so "the very ones" is a pointer comparison. A kept part is exactly what
//! planning again would give (`plan_workload` is a function of those inputs alone); the
//! memo is dropped anyway after a relist and at `FULL_PASS_EVERY` passes, a safety net.

use std::collections::HashMap;
use std::sync::Arc;

use kube::ResourceExt;
use prescale_api::AIScaleTarget;

use super::plan::{
    Plan, TargetIndex, TargetView, TemplateView, WorkloadPlan, WorkloadView, plan_template_with,
    plan_workload,
};
use super::write::target_view;

/// Every this many passes of a template, everything is planned again from scratch.
pub const FULL_PASS_EVERY: u32 = 10;

/// Each target's view, by uid, with the generation it was made at.
#[derive(Default)]
pub struct TargetViews {
    by_uid: HashMap<String, (Option<i64>, Arc<TargetView>)>,
}

impl TargetViews {
    /// The views of `targets`; those of targets that are gone are forgotten.
    pub fn of_all(&mut self, targets: &[Arc<AIScaleTarget>]) -> Vec<Arc<TargetView>> {
        let mut kept = HashMap::with_capacity(targets.len());
        let views = targets
            .iter()
            .map(|t| {
                let Some(uid) = t.metadata.uid.as_deref() else {
                    return Arc::new(target_view(t));
                };
                let view = match self.by_uid.remove(uid) {
                    // The spec (and so the generation) and the labels are all a view
                    // holds besides the name.
                    Some((generation, view))
                        if generation == t.metadata.generation && view.labels == *t.labels() =>
                    {
                        view
                    }
                    _ => Arc::new(target_view(t)),
                };
                kept.insert(uid.to_string(), (t.metadata.generation, view.clone()));
                view
            })
            .collect();
        self.by_uid = kept;
        views
    }
}

/// One workload's part of a template's plan and what it was planned from.
struct Kept {
    workload: Arc<WorkloadView>,
    on_workload: Vec<Arc<TargetView>>,
    by_name: Option<Arc<TargetView>>,
    part: Arc<WorkloadPlan>,
}

impl Kept {
    fn planned_from(
        &self,
        w: &Arc<WorkloadView>,
        on_workload: &[&Arc<TargetView>],
        by_name: Option<&Arc<TargetView>>,
    ) -> bool {
        Arc::ptr_eq(&self.workload, w)
            && self.on_workload.len() == on_workload.len()
            && self
                .on_workload
                .iter()
                .zip(on_workload)
                .all(|(a, b)| Arc::ptr_eq(a, b))
            && match (&self.by_name, by_name) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                (None, None) => true,
                _ => false,
            }
    }
}

/// One template's kept parts (see the module comment).
#[derive(Default)]
pub struct PlanMemo {
    templates: Vec<TemplateView>,
    relists: u64,
    passes: u32,
    /// By workload uid.
    kept: HashMap<String, Kept>,
    /// Workloads planned afresh in the last pass (for tests and the log).
    pub last_planned: usize,
}

impl PlanMemo {
    /// `plan_template`, planning again only the workloads whose inputs changed since the
    /// last pass. `relists` is the cache's count of relists: a new one plans everything.
    pub fn plan(
        &mut self,
        name: &str,
        templates: &[TemplateView],
        workloads: &[Arc<WorkloadView>],
        targets: &[Arc<TargetView>],
        relists: u64,
    ) -> Plan {
        self.passes += 1;
        if self.templates != templates || self.relists != relists || self.passes > FULL_PASS_EVERY {
            self.kept.clear();
            self.templates = templates.to_vec();
            self.relists = relists;
            self.passes = 1;
        }
        let mut kept = HashMap::with_capacity(workloads.len());
        let mut planned = 0;
        let previous = &mut self.kept;
        let plan = plan_template_with(
            name,
            templates,
            workloads,
            targets,
            |w: &Arc<WorkloadView>, index: &TargetIndex<'_>| {
                let (on_workload, by_name) = (index.on(w), index.named_for(w));
                let part = match previous.remove(&w.uid) {
                    Some(k) if k.planned_from(w, on_workload, by_name) => k.part,
                    _ => {
                        planned += 1;
                        Arc::new(plan_workload(name, templates, w, on_workload, by_name))
                    }
                };
                if !w.uid.is_empty() {
                    kept.insert(
                        w.uid.clone(),
                        Kept {
                            workload: w.clone(),
                            on_workload: on_workload.iter().map(|t| (*t).clone()).collect(),
                            by_name: by_name.cloned(),
                            part: part.clone(),
                        },
                    );
                }
                part
            },
        );
        self.kept = kept;
        self.last_planned = planned;
        plan
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::template::plan::{
        Action, ConflictResolution, MANAGED_BY_TEMPLATE_LABEL, NamespacePolicy, plan_template,
    };

    fn labels(enabled: bool) -> BTreeMap<String, String> {
        enabled
            .then(|| ("thoras.ai/enabled".to_string(), "true".to_string()))
            .into_iter()
            .collect()
    }

    fn template(name: &str, buffer: &str, conflicts: ConflictResolution) -> TemplateView {
        TemplateView {
            name: name.into(),
            created: format!("2024-01-01T00:00:0{}Z", name.len() % 10),
            selector: LabelSelector {
                match_labels: Some(labels(true)),
                ..Default::default()
            },
            namespaces: NamespacePolicy::All,
            conflict_resolution: conflicts,
            spec: json!({"model": {"forecast_buffer_percentage": buffer}}),
            deleting: false,
        }
    }

    fn workload(i: usize, enabled: bool) -> Arc<WorkloadView> {
        Arc::new(WorkloadView {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            namespace: format!("ns{}", i % 2),
            name: format!("w{i}"),
            uid: format!("uid-{i}"),
            labels: labels(enabled),
            ..Default::default()
        })
    }

    /// The cluster after `actions`: the targets they wrote are new views, the others the
    /// very same.
    fn apply(targets: &mut Vec<Arc<TargetView>>, actions: &[Action]) {
        for a in actions {
            match a {
                Action::Create(d) | Action::Update(d) => {
                    targets.retain(|t| (&t.namespace, &t.name) != (&d.namespace, &d.name));
                    targets.push(Arc::new(TargetView {
                        namespace: d.namespace.clone(),
                        name: d.name.clone(),
                        labels: [(MANAGED_BY_TEMPLATE_LABEL.to_string(), d.template.clone())]
                            .into(),
                        target: Some((d.owner.kind.clone(), d.owner.name.clone())),
                        spec: d.spec.clone(),
                    }));
                }
                Action::Delete { namespace, name } => {
                    targets.retain(|t| (&t.namespace, &t.name) != (namespace, name));
                }
            }
        }
    }

    fn manual(i: usize) -> Arc<TargetView> {
        Arc::new(TargetView {
            namespace: format!("ns{}", i % 2),
            name: format!("by-hand-{i}"),
            labels: BTreeMap::new(),
            target: Some(("Deployment".into(), format!("w{i}"))),
            spec: json!({}),
        })
    }

    #[test]
    fn an_unchanged_pass_plans_nothing_again_and_a_label_change_one_workload() {
        let templates = [template("prod", "10%", ConflictResolution::Skip)];
        let mut workloads: Vec<_> = (0..50).map(|i| workload(i, i % 3 != 0)).collect();
        let mut targets = vec![];
        let mut memo = PlanMemo::default();
        let first = memo.plan("prod", &templates, &workloads, &targets, 1);
        assert_eq!(memo.last_planned, 50);
        apply(&mut targets, &first.actions);
        let settled = memo.plan("prod", &templates, &workloads, &targets, 1);
        assert_eq!(settled.actions, vec![]);
        assert_eq!(settled.managed, first.managed);
        let again = memo.plan("prod", &templates, &workloads, &targets, 1);
        assert_eq!(again, settled);
        assert_eq!(memo.last_planned, 0, "nothing changed: nothing planned");

        // A workload loses its label, another gains it: those two are planned again.
        workloads[1] = workload(1, false);
        workloads[3] = workload(3, true);
        let plan = memo.plan("prod", &templates, &workloads, &targets, 1);
        assert_eq!(memo.last_planned, 2);
        assert_eq!(
            plan,
            plan_template("prod", &templates, &workloads, &targets)
        );
        assert!(plan.actions.contains(&Action::Delete {
            namespace: "ns1".into(),
            name: "w1-ast".into()
        }));
        assert!(
            plan.actions
                .iter()
                .any(|a| matches!(a, Action::Create(d) if d.name == "w3-ast"))
        );

        // A template change, a relist and the safety net each plan everything again.
        let changed = [template("prod", "20%", ConflictResolution::Skip)];
        memo.plan("prod", &changed, &workloads, &targets, 1);
        assert_eq!(memo.last_planned, 50);
        memo.plan("prod", &changed, &workloads, &targets, 2);
        assert_eq!(memo.last_planned, 50, "after a relist");
        let planned: Vec<usize> = (0..FULL_PASS_EVERY)
            .map(|_| {
                memo.plan("prod", &changed, &workloads, &targets, 2);
                memo.last_planned
            })
            .collect();
        assert_eq!(
            planned.iter().filter(|n| **n == 50).count(),
            1,
            "{planned:?}"
        );
    }

    #[test]
    fn a_target_view_is_kept_while_its_generation_and_labels_are() {
        let target = |generation: i64, label: Option<&str>, status: &str| {
            Arc::new(
                serde_json::from_value::<AIScaleTarget>(json!({
                    "apiVersion": "thoras.ai/v1", "kind": "AIScaleTarget",
                    "metadata": {"name": "w-ast", "namespace": "shop", "uid": "u1",
                                 "generation": generation, "resourceVersion": status,
                                 "labels": label.map(|l| json!({MANAGED_BY_TEMPLATE_LABEL: l}))},
                    "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "w"},
                             "model": {"forecast_interval": "15m"}},
                }))
                .unwrap(),
            )
        };
        let mut views = TargetViews::default();
        let first = views.of_all(&[target(1, Some("prod"), "1")]);
        let status_written = views.of_all(&[target(1, Some("prod"), "2")]);
        assert!(Arc::ptr_eq(&first[0], &status_written[0]));
        let relabelled = views.of_all(&[target(1, None, "3")]);
        assert!(!Arc::ptr_eq(&first[0], &relabelled[0]));
        assert!(relabelled[0].labels.is_empty());
        let respecced = views.of_all(&[target(2, None, "4")]);
        assert!(!Arc::ptr_eq(&relabelled[0], &respecced[0]));
        assert!(views.of_all(&[]).is_empty());
        assert!(
            views.by_uid.is_empty(),
            "a target that is gone is forgotten"
        );
    }

    #[derive(Debug, Clone)]
    enum Step {
        Label(usize, bool),
        Rewrap(usize),
        Manual(usize),
        Unmanual(usize),
        Template(bool),
        Apply,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (0..8usize, any::<bool>()).prop_map(|(i, e)| Step::Label(i, e)),
            (0..8usize).prop_map(Step::Rewrap),
            (0..8usize).prop_map(Step::Manual),
            (0..8usize).prop_map(Step::Unmanual),
            any::<bool>().prop_map(Step::Template),
            Just(Step::Apply),
            Just(Step::Apply),
        ]
    }

    proptest! {
        /// Whatever changes between passes, the memo's plan is the plan.
        #[test]
        fn the_memo_plans_what_planning_afresh_plans(
            enabled in proptest::collection::vec(any::<bool>(), 8),
            steps in proptest::collection::vec(step(), 1..30),
            override_conflicts in any::<bool>(),
        ) {
            let conflicts = if override_conflicts {
                ConflictResolution::Override
            } else {
                ConflictResolution::Skip
            };
            let mut templates = vec![template("prod", "10%", conflicts), template("later", "5%", conflicts)];
            let mut workloads: Vec<_> = enabled.iter().enumerate().map(|(i, e)| workload(i, *e)).collect();
            let mut targets: Vec<Arc<TargetView>> = vec![];
            let mut memos = [PlanMemo::default(), PlanMemo::default()];
            for s in steps {
                match s {
                    Step::Label(i, e) => workloads[i] = workload(i, e),
                    Step::Rewrap(i) => workloads[i] = Arc::new((*workloads[i]).clone()),
                    Step::Manual(i) => {
                        if !targets.iter().any(|t| t.name == format!("by-hand-{i}")) {
                            targets.push(manual(i));
                        }
                    }
                    Step::Unmanual(i) => targets.retain(|t| t.name != format!("by-hand-{i}")),
                    Step::Template(b) => templates[0] = template("prod", if b { "20%" } else { "10%" }, conflicts),
                    Step::Apply => {}
                }
                for (memo, name) in memos.iter_mut().zip(["prod", "later"]) {
                    let kept = memo.plan(name, &templates, &workloads, &targets, 1);
                    let afresh = plan_template(name, &templates, &workloads, &targets);
                    prop_assert_eq!(&kept, &afresh);
                    apply(&mut targets, &kept.actions);
                }
            }
        }
    }
}

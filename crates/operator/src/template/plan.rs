//! What a ClusterAIScaleTemplate wants the cluster to look like (seed 000), as a pure
//! function of the templates, the workloads and the AIScaleTargets that exist.
//!
//! Rules, in the order they are applied for each workload:
//! 1. A template applies to a workload when its selector matches the workload's labels and
//!    its namespace policy admits the workload's namespace.
//! 2. When several templates apply, the oldest (creation time, then name) owns the
//!    workload; the others record that they lost to it.
//! 3. The owner wants `<workload>-ast`, labelled `thoras.ai/managed-by-template: <owner>`,
//!    owned by the workload, with `scaleTargetRef` filled in and the template's spec.
//! 4. An AIScaleTarget on the same workload that no template manages is a conflict:
//!    `skip` leaves it alone, `override` takes it over (label and spec).
//! 5. An AIScaleTarget that a template manages but that no longer has a workload the
//!    template owns is deleted.
//!
//! Only differences produce actions, so a resync of unchanged objects writes nothing.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use crate::selector::selector_matches;
pub use crate::workload::WorkloadView;

/// The label that marks an AIScaleTarget as created by a template.
pub const MANAGED_BY_TEMPLATE_LABEL: &str = "thoras.ai/managed-by-template";
/// Suffix of the name of an AIScaleTarget created for a workload.
pub const AST_NAME_SUFFIX: &str = "-ast";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConflictResolution {
    #[default]
    Skip,
    Override,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamespacePolicy {
    All,
    Included(BTreeSet<String>),
    Excluded(BTreeSet<String>),
}

impl NamespacePolicy {
    pub fn admits(&self, namespace: &str) -> bool {
        match self {
            NamespacePolicy::All => true,
            NamespacePolicy::Included(set) => set.contains(namespace),
            NamespacePolicy::Excluded(set) => !set.contains(namespace),
        }
    }
}

/// A template as the planner sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateView {
    pub name: String,
    /// RFC 3339 creation time; ties are broken by name.
    pub created: String,
    pub selector: LabelSelector,
    pub namespaces: NamespacePolicy,
    pub conflict_resolution: ConflictResolution,
    /// The AIScaleTarget spec the template prescribes (without scaleTargetRef).
    pub spec: serde_json::Value,
    /// Whether the template is being deleted (its finalizer is running).
    pub deleting: bool,
}

/// An existing AIScaleTarget.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetView {
    pub namespace: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// `(kind, name)` of `spec.scaleTargetRef`, when set.
    pub target: Option<(String, String)>,
    pub spec: serde_json::Value,
}

impl TargetView {
    fn managed_by(&self) -> Option<&str> {
        self.labels
            .get(MANAGED_BY_TEMPLATE_LABEL)
            .map(String::as_str)
    }
}

/// The AIScaleTarget a template wants for a workload.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredTarget {
    pub namespace: String,
    pub name: String,
    pub template: String,
    pub owner: Arc<WorkloadView>,
    /// The full spec, scaleTargetRef included.
    pub spec: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Create(DesiredTarget),
    /// Bring an existing target (same namespace/name) to the desired label and spec.
    Update(DesiredTarget),
    Delete {
        namespace: String,
        name: String,
    },
}

/// The outcome for one template.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    pub actions: Vec<Action>,
    /// Workloads this template owns (whether or not anything had to change).
    pub managed: usize,
    /// Workloads left alone because an unmanaged AIScaleTarget targets them (`skip`).
    pub skipped_conflicts: Vec<String>,
    /// Workloads this template matches but an older template owns: `(workload, winner)`.
    pub lost_to: Vec<(String, String)>,
}

/// What one workload contributes to a template's plan: a function of the templates, the
/// workload, the targets on it and the target named after it alone, so a pass can keep it
/// while those are unchanged (`memo::PlanMemo`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WorkloadPlan {
    pub action: Option<Action>,
    pub managed: bool,
    pub skipped_conflict: Option<String>,
    pub lost_to: Option<(String, String)>,
    /// Targets `(namespace, name)` this workload accounts for: not deleted as orphans.
    pub wanted: Vec<(String, String)>,
}

/// The targets on each workload and by name, so a plan over thousands of workloads and
/// targets stays linear.
pub struct TargetIndex<'a> {
    on_workload: HashMap<(&'a str, &'a str, &'a str), Vec<&'a Arc<TargetView>>>,
    named: HashMap<(&'a str, &'a str), &'a Arc<TargetView>>,
}

impl<'a> TargetIndex<'a> {
    pub fn new(targets: &'a [Arc<TargetView>]) -> Self {
        let mut on_workload: HashMap<_, Vec<_>> = HashMap::new();
        let mut named = HashMap::new();
        for t in targets {
            if let Some((kind, workload)) = &t.target {
                on_workload
                    .entry((t.namespace.as_str(), kind.as_str(), workload.as_str()))
                    .or_default()
                    .push(t);
            }
            named.insert((t.namespace.as_str(), t.name.as_str()), t);
        }
        TargetIndex { on_workload, named }
    }

    /// The targets whose `scaleTargetRef` is `w`.
    pub fn on<'s>(&'s self, w: &'s WorkloadView) -> &'s [&'s Arc<TargetView>] {
        // Looked up with the workload's own strings: the index, read for as long as
        // both live.
        let on_workload: &'s HashMap<(&'s str, &'s str, &'s str), Vec<&'s Arc<TargetView>>> =
            &self.on_workload;
        on_workload
            .get(&(w.namespace.as_str(), w.kind.as_str(), w.name.as_str()))
            .map_or(&[], Vec::as_slice)
    }

    /// The target named as a template would name `w`'s (`<workload>-ast`).
    pub fn named_for<'s>(&'s self, w: &'s WorkloadView) -> Option<&'s Arc<TargetView>> {
        let name = format!("{}{AST_NAME_SUFFIX}", w.name);
        let named: &HashMap<(&str, &str), &'s Arc<TargetView>> = &self.named;
        named.get(&(w.namespace.as_str(), name.as_str())).copied()
    }
}

/// Plans the actions of template `name` given every template, workload and target.
pub fn plan_template(
    name: &str,
    templates: &[TemplateView],
    workloads: &[Arc<WorkloadView>],
    targets: &[Arc<TargetView>],
) -> Plan {
    plan_template_with(name, templates, workloads, targets, |w, index| {
        Arc::new(plan_workload(
            name,
            templates,
            w,
            index.on(w),
            index.named_for(w),
        ))
    })
}

/// `plan_template`, with each workload's part found by `of_workload` (planned, or kept
/// from a previous pass over the same inputs).
pub fn plan_template_with(
    name: &str,
    templates: &[TemplateView],
    workloads: &[Arc<WorkloadView>],
    targets: &[Arc<TargetView>],
    mut of_workload: impl FnMut(&Arc<WorkloadView>, &TargetIndex<'_>) -> Arc<WorkloadPlan>,
) -> Plan {
    let mut plan = Plan::default();
    let Some(me) = templates.iter().find(|t| t.name == name) else {
        return plan;
    };
    if me.deleting {
        plan.actions = targets
            .iter()
            .filter(|t| t.managed_by() == Some(name))
            .map(|t| Action::Delete {
                namespace: t.namespace.clone(),
                name: t.name.clone(),
            })
            .collect();
        return plan;
    }
    let index = TargetIndex::new(targets);
    let parts: Vec<Arc<WorkloadPlan>> = workloads.iter().map(|w| of_workload(w, &index)).collect();
    let mut wanted: HashSet<(&str, &str)> = HashSet::new();
    for part in &parts {
        plan.actions.extend(part.action.iter().cloned());
        plan.managed += usize::from(part.managed);
        plan.skipped_conflicts
            .extend(part.skipped_conflict.iter().cloned());
        plan.lost_to.extend(part.lost_to.iter().cloned());
        wanted.extend(part.wanted.iter().map(|(ns, n)| (ns.as_str(), n.as_str())));
    }
    for t in targets.iter().filter(|t| t.managed_by() == Some(name)) {
        if !wanted.contains(&(t.namespace.as_str(), t.name.as_str())) {
            plan.actions.push(Action::Delete {
                namespace: t.namespace.clone(),
                name: t.name.clone(),
            });
        }
    }
    plan
}

/// What template `name` decides about workload `w`, given the targets whose
/// `scaleTargetRef` is `w` (`on_workload`) and the target named `<workload>-ast`
/// (`by_name`).
pub fn plan_workload(
    name: &str,
    templates: &[TemplateView],
    w: &Arc<WorkloadView>,
    on_workload: &[&Arc<TargetView>],
    by_name: Option<&Arc<TargetView>>,
) -> WorkloadPlan {
    let mut part = WorkloadPlan::default();
    let Some(me) = templates.iter().find(|t| t.name == name) else {
        return part;
    };
    if !applies(me, w) {
        return part;
    }
    let owner = owner_of(templates, w).map(|t| t.name.as_str());
    if owner != Some(name) {
        if let Some(winner) = owner {
            part.lost_to = Some((format!("{}/{}", w.namespace, w.name), winner.to_string()));
            // The winner decides about targets on this workload, ours included.
            part.wanted = on_workload
                .iter()
                .map(|t| (t.namespace.clone(), t.name.clone()))
                .collect();
        }
        return part;
    }
    part.managed = true;
    let desired = desired_target(me, w);

    // A target some other party (a person, or a template that no longer exists)
    // created for this workload is a conflict; one managed by another *live* template
    // that lost the oldest-wins contest is simply taken over.
    let foreign = on_workload
        .iter()
        .copied()
        .chain(by_name)
        .find(|t| t.managed_by() != Some(name) && !managed_by_live_template(t, templates));
    if let Some(foreign) = foreign {
        part.wanted
            .push((foreign.namespace.clone(), foreign.name.clone()));
        match me.conflict_resolution {
            ConflictResolution::Skip => {
                part.skipped_conflict = Some(format!("{}/{}", w.namespace, w.name));
            }
            ConflictResolution::Override => {
                let taken = DesiredTarget {
                    name: foreign.name.clone(),
                    ..desired
                };
                if !up_to_date(foreign, &taken) {
                    part.action = Some(Action::Update(taken));
                }
            }
        }
        return part;
    }
    // A target this template took over (`override`) keeps its name: it is the
    // workload's target from then on, not a reason to create `<workload>-ast`.
    let current = by_name.or_else(|| {
        on_workload
            .iter()
            .copied()
            .find(|t| t.managed_by() == Some(name))
    });
    let desired = match current {
        Some(t) => DesiredTarget {
            name: t.name.clone(),
            ..desired
        },
        None => desired,
    };
    part.wanted
        .push((desired.namespace.clone(), desired.name.clone()));
    part.action = match current {
        Some(existing) if up_to_date(existing, &desired) => None,
        Some(_) => Some(Action::Update(desired)),
        None => Some(Action::Create(desired)),
    };
    part
}

fn applies(t: &TemplateView, w: &WorkloadView) -> bool {
    !t.deleting && t.namespaces.admits(&w.namespace) && selector_matches(&t.selector, &w.labels)
}

/// The oldest template that applies to the workload.
pub fn owner_of<'a>(templates: &'a [TemplateView], w: &WorkloadView) -> Option<&'a TemplateView> {
    templates
        .iter()
        .filter(|t| applies(t, w))
        .min_by(|a, b| (&a.created, &a.name).cmp(&(&b.created, &b.name)))
}

fn managed_by_live_template(t: &TargetView, templates: &[TemplateView]) -> bool {
    t.managed_by()
        .is_some_and(|m| templates.iter().any(|tpl| tpl.name == m && !tpl.deleting))
}

fn desired_target(t: &TemplateView, w: &Arc<WorkloadView>) -> DesiredTarget {
    let mut spec = match &t.spec {
        serde_json::Value::Object(map) => map.clone(),
        _ => serde_json::Map::new(),
    };
    spec.remove("selector");
    spec.insert(
        "scaleTargetRef".into(),
        serde_json::json!({ "apiVersion": w.api_version, "kind": w.kind, "name": w.name }),
    );
    DesiredTarget {
        namespace: w.namespace.clone(),
        name: format!("{}{AST_NAME_SUFFIX}", w.name),
        template: t.name.clone(),
        owner: w.clone(),
        spec: serde_json::Value::Object(spec),
    }
}

fn up_to_date(existing: &TargetView, desired: &DesiredTarget) -> bool {
    existing.managed_by() == Some(desired.template.as_str()) && existing.spec == desired.spec
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;

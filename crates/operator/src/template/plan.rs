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

use std::collections::{BTreeMap, BTreeSet, HashMap};

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
#[derive(Debug, Clone)]
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
    pub owner: WorkloadView,
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

/// Plans the actions of template `name` given every template, workload and target.
pub fn plan_template(
    name: &str,
    templates: &[TemplateView],
    workloads: &[WorkloadView],
    targets: &[TargetView],
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

    // Indexes, so a plan over thousands of workloads and targets stays linear.
    let mut on_workload: HashMap<(&str, &str, &str), Vec<&TargetView>> = HashMap::new();
    let mut named: HashMap<(&str, &str), &TargetView> = HashMap::new();
    for t in targets {
        if let Some((kind, workload)) = &t.target {
            on_workload
                .entry((t.namespace.as_str(), kind.as_str(), workload.as_str()))
                .or_default()
                .push(t);
        }
        named.insert((t.namespace.as_str(), t.name.as_str()), t);
    }
    let targets_of = |w: &WorkloadView| -> Vec<&TargetView> {
        on_workload
            .get(&(w.namespace.as_str(), w.kind.as_str(), w.name.as_str()))
            .cloned()
            .unwrap_or_default()
    };

    let mut wanted: BTreeSet<(String, String)> = BTreeSet::new();
    for w in workloads.iter().filter(|w| applies(me, w)) {
        let owner = owner_of(templates, w).map(|t| t.name.as_str());
        if owner != Some(name) {
            if let Some(winner) = owner {
                plan.lost_to
                    .push((format!("{}/{}", w.namespace, w.name), winner.to_string()));
                // The winner decides about targets on this workload, ours included.
                targets_of(w).iter().for_each(|t| {
                    wanted.insert((t.namespace.clone(), t.name.clone()));
                });
            }
            continue;
        }
        plan.managed += 1;
        let desired = desired_target(me, w);
        let existing_for_workload = targets_of(w);
        let by_name = named
            .get(&(desired.namespace.as_str(), desired.name.as_str()))
            .copied();

        // A target some other party (a person, or a template that no longer exists)
        // created for this workload is a conflict; one managed by another *live* template
        // that lost the oldest-wins contest is simply taken over.
        let foreign = existing_for_workload
            .iter()
            .chain(by_name.iter())
            .find(|t| t.managed_by() != Some(name) && !managed_by_live_template(t, templates));
        if let Some(foreign) = foreign {
            wanted.insert((foreign.namespace.clone(), foreign.name.clone()));
            match me.conflict_resolution {
                ConflictResolution::Skip => {
                    plan.skipped_conflicts
                        .push(format!("{}/{}", w.namespace, w.name));
                    continue;
                }
                ConflictResolution::Override => {
                    let taken = DesiredTarget {
                        name: foreign.name.clone(),
                        ..desired
                    };
                    if !up_to_date(foreign, &taken) {
                        plan.actions.push(Action::Update(taken));
                    }
                    continue;
                }
            }
        }
        // A target this template took over (`override`) keeps its name: it is the
        // workload's target from then on, not a reason to create `<workload>-ast`.
        let current = by_name.or_else(|| {
            existing_for_workload
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
        wanted.insert((desired.namespace.clone(), desired.name.clone()));
        match current {
            Some(existing) if up_to_date(existing, &desired) => {}
            Some(_) => plan.actions.push(Action::Update(desired)),
            None => plan.actions.push(Action::Create(desired)),
        }
    }

    for t in targets.iter().filter(|t| t.managed_by() == Some(name)) {
        if !wanted.contains(&(t.namespace.clone(), t.name.clone())) {
            plan.actions.push(Action::Delete {
                namespace: t.namespace.clone(),
                name: t.name.clone(),
            });
        }
    }
    plan
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

fn desired_target(t: &TemplateView, w: &WorkloadView) -> DesiredTarget {
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

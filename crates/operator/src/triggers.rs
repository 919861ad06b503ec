//! What each change the cache reports sets in motion: which targets to reconcile, whether
//! the templates are planned again, whether history of unenrolled workloads is looked for.
//! Decided from the change and the cache alone, without a request.

use kube::runtime::reflector::ObjectRef;
use prescale_api::AIScaleTarget;

use crate::cache::{Cache, Change};
use crate::collector::owners::WorkloadRef;
use crate::target::plan::autonomous;

/// The work one change asks for.
#[derive(Debug, Default, PartialEq)]
pub struct Dispatch {
    pub targets: Vec<ObjectRef<AIScaleTarget>>,
    /// The targets go ahead of other work (the pause: each must report it at once).
    pub urgent: bool,
    pub templates: bool,
    /// Look for history of workloads no target resolves any more.
    pub janitor: bool,
    /// A target that is gone: forget what the controller remembers of it.
    pub forget: Option<(String, String)>,
}

fn refs<'a>(targets: impl IntoIterator<Item = &'a AIScaleTarget>) -> Vec<ObjectRef<AIScaleTarget>> {
    targets.into_iter().map(ObjectRef::from_obj).collect()
}

/// The targets of `namespace` that name or select workload `w`.
fn targets_of(cache: &Cache, namespace: &str, w: &WorkloadRef) -> Vec<ObjectRef<AIScaleTarget>> {
    let workload = cache.workload(&w.kind, namespace, &w.name);
    let targets = cache
        .targets
        .state_filter(|t| crate::cache::in_namespace(t, namespace));
    refs(targets.iter().map(|t| t.as_ref()).filter(|t| {
        match (&t.spec.scale_target_ref, &t.spec.selector, &workload) {
            (Some(r), _, _) => r.kind == w.kind && r.name == w.name,
            (None, Some(sel), Some(view)) => crate::workload::selects(sel, view),
            // A deleted workload: its selector targets must look again.
            (None, Some(_), None) => true,
            (None, None, _) => false,
        }
    }))
}

pub fn dispatch(change: &Change, cache: &Cache) -> Dispatch {
    match change {
        Change::Target {
            namespace,
            name,
            deleted,
            status_only,
        } => Dispatch {
            // A change of its status alone is (almost always) the operator's own write:
            // nothing to decide again; another writer's status edit is corrected at the
            // next resync.
            targets: if *deleted || *status_only {
                vec![]
            } else {
                vec![ObjectRef::new(name).within(namespace)]
            },
            templates: !status_only,
            urgent: false,
            janitor: *deleted,
            forget: deleted.then(|| (namespace.clone(), name.clone())),
        },
        Change::Template => Dispatch {
            templates: true,
            ..Dispatch::default()
        },
        Change::Workload {
            kind,
            namespace,
            name,
        } => Dispatch {
            targets: targets_of(
                cache,
                namespace,
                &WorkloadRef {
                    kind: kind.clone(),
                    name: name.clone(),
                },
            ),
            templates: true,
            ..Dispatch::default()
        },
        Change::Kinds => Dispatch {
            targets: refs(cache.targets.state().iter().map(|t| t.as_ref())),
            templates: true,
            janitor: true,
            ..Dispatch::default()
        },
        Change::Pod {
            namespace,
            workload: Some(w),
        }
        | Change::Hpa {
            namespace,
            target: w,
        } => Dispatch {
            targets: targets_of(cache, namespace, w),
            ..Dispatch::default()
        },
        Change::Pod { workload: None, .. } => Dispatch::default(),
        // The pause concerns autonomous targets only: they report it at once.
        Change::Pause(_) => Dispatch {
            targets: refs(
                cache
                    .targets
                    .state()
                    .iter()
                    .map(|t| t.as_ref())
                    .filter(|t| autonomous(&t.spec)),
            ),
            urgent: true,
            ..Dispatch::default()
        },
    }
}

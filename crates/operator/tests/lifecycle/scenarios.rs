//! The scenarios, each against a `TestEnv` (simulated or real). Where the clusters differ
//! — the real server has no kubelet and no metrics-server — a scenario checks what each
//! can show: metrics and forecasts on the simulated cluster, the "metrics.k8s.io is not
//! served" condition on the real one.

pub use crate::webhook_scenarios::admission_webhooks;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
use prescale_api::AIScaleTarget;
use prescale_api::template::ClusterAIScaleTemplate;
use prescale_operator::pause::{SYSTEM_CONFIG_KEY, SYSTEM_CONFIG_MAP};
use prescale_operator::run::read_pause;
use prescale_operator::template::controller::update_with_retry;
use prescale_store::{HistoryStore, MemoryStore, Metric, SeriesKey};
use serde_json::{Value, json};

use crate::common::env::{Backend, RUN_LABEL, TestEnv, eventually};
pub use crate::dashboard::dashboard_writes_need_authorisation;

/// How long any one expectation may take (the machine is shared and loaded).
const PATIENCE: u64 = 90;

fn template(env: &TestEnv, name: &str, policy: Value, buffer: &str) -> ClusterAIScaleTemplate {
    serde_json::from_value(json!({
        "apiVersion": "thoras.ai/v1", "kind": "ClusterAIScaleTemplate",
        "metadata": {"name": name, "labels": {RUN_LABEL: env.run}},
        "spec": {"selector": {"matchLabels": {"thoras.ai/enabled": "true", RUN_LABEL: env.run}},
                 "policy": policy,
                 "template": {"model": {"forecast_blocks": "1h", "forecast_interval": "15m", "forecast_buffer_percentage": buffer},
                              "vertical": {"mode": "recommendation", "containers": [{"name": "*", "cpu": {"lowerbound": "10m"}, "memory": {"lowerbound": 0}}]}}}
    }))
    .unwrap()
}

/// Creates template `name` (made unique to the test); returns its name and the API.
async fn create_template(
    env: &TestEnv,
    name: &str,
    policy: Value,
    buffer: &str,
) -> (String, Api<ClusterAIScaleTemplate>) {
    let name = env.unique(name);
    let templates: Api<ClusterAIScaleTemplate> = Api::all(env.admin.clone());
    templates
        .create(
            &PostParams::default(),
            &template(env, &name, policy, buffer),
        )
        .await
        .unwrap();
    (name, templates)
}

/// Creates AIScaleTarget `name` in `ns` on Deployment `workload`, its spec completed by
/// `spec` (a JSON merge over a 15-minute model); returns the API of `ns`.
async fn create_target(
    env: &TestEnv,
    ns: &str,
    name: &str,
    workload: &str,
    spec: Value,
) -> Api<AIScaleTarget> {
    let mut full = json!({"scaleTargetRef": {"kind": "Deployment", "name": workload},
                          "model": {"forecast_blocks": "15m", "forecast_interval": "15m"}});
    json_patch::merge(&mut full, &spec);
    let ast: AIScaleTarget = serde_json::from_value(json!({
        "apiVersion": "thoras.ai/v1", "kind": "AIScaleTarget",
        "metadata": {"name": name, "namespace": ns}, "spec": full,
    }))
    .unwrap();
    let api: Api<AIScaleTarget> = Api::namespaced(env.admin.clone(), ns);
    api.create(&PostParams::default(), &ast).await.unwrap();
    api
}

/// Every AIScaleTarget of the test's namespaces, by namespace and name.
async fn targets(env: &TestEnv, roles: &[&str]) -> Vec<AIScaleTarget> {
    let mut all = vec![];
    for role in roles {
        let api: Api<AIScaleTarget> = Api::namespaced(env.admin.clone(), env.ns(role));
        all.extend(api.list(&ListParams::default()).await.unwrap().items);
    }
    all
}

fn names(targets: &[AIScaleTarget]) -> Vec<String> {
    targets
        .iter()
        .map(|t| {
            format!(
                "{}/{}",
                t.metadata.namespace.as_deref().unwrap_or_default(),
                t.metadata.name.as_deref().unwrap_or_default()
            )
        })
        .collect()
}

fn condition(ast: &AIScaleTarget, type_: &str) -> Option<Condition> {
    ast.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .cloned()
}

/// Waits until target `ns/name` satisfies `check` (which explains what it saw otherwise).
async fn target_until(
    env: &TestEnv,
    ns: &str,
    name: &str,
    what: &str,
    check: impl Fn(&AIScaleTarget) -> Result<(), String>,
) -> AIScaleTarget {
    let api: Api<AIScaleTarget> = Api::namespaced(env.admin.clone(), ns);
    eventually(what, PATIENCE, || {
        let api = api.clone();
        let check = &check;
        async move {
            let ast = api
                .get_opt(name)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("{ns}/{name} does not exist"))?;
            check(&ast).map(|()| ast)
        }
    })
    .await
}

fn has_condition(
    ast: &AIScaleTarget,
    type_: &str,
    status: &str,
    reason: &str,
) -> Result<(), String> {
    match condition(ast, type_) {
        Some(c) if c.status == status && c.reason == reason => Ok(()),
        other => Err(format!("{type_} is {other:?}")),
    }
}

/// On the simulated cluster: usage is collected and a suggestion made. On the real
/// server (no metrics-server): the condition says what is missing and how to fix it.
async fn metrics_outcome(env: &TestEnv, ns: &str, name: &str) {
    match env.backend {
        Backend::Sim => {
            target_until(
                env,
                ns,
                name,
                "usage collected and a suggestion made",
                |t| {
                    has_condition(t, "MetricsAvailable", "True", "Collecting")?;
                    has_condition(t, "Ready", "True", "SuggestionAvailable")
                },
            )
            .await;
        }
        Backend::Real => {
            let t = target_until(env, ns, name, "metrics.k8s.io reported missing", |t| {
                has_condition(t, "MetricsAvailable", "False", "MetricsAPINotServed")
            })
            .await;
            let message = condition(&t, "MetricsAvailable").unwrap().message;
            assert!(
                message.contains("metrics.k8s.io is not served: install metrics-server"),
                "{message}"
            );
        }
    }
}

pub async fn template_lifecycle(env: &TestEnv) {
    let (prod, other, ops) = (env.ns("prod"), env.ns("other"), env.ns("ops"));
    let roles = ["prod", "other", "ops"];
    env.deploy(prod, "api", true).await;
    env.deploy(prod, "worker", false).await;
    env.deploy(other, "dns", true).await;
    let (name, templates) =
        create_template(env, "prod", json!({"excludedNamespaces": [other]}), "10%").await;
    let operator = env.start_operator(Arc::new(MemoryStore::new()));

    // Create: only the matching workload in an admitted namespace gets `<name>-ast`.
    let expected = vec![format!("{prod}/api-ast")];
    let all = eventually("the template creates api-ast only", PATIENCE, || async {
        let all = targets(env, &roles).await;
        (names(&all) == expected)
            .then_some(all.clone())
            .ok_or_else(|| format!("{:?}", names(&all)))
    })
    .await;
    let ast = &all[0];
    assert_eq!(
        ast.metadata.labels.as_ref().unwrap()["thoras.ai/managed-by-template"],
        name
    );
    let owner = &ast.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str()),
        ("Deployment", "api")
    );
    assert_eq!(ast.spec.scale_target_ref.as_ref().unwrap().name, "api");
    eventually("the template's status and finalizer", PATIENCE, || async {
        let t = templates.get(&name).await.map_err(|e| e.to_string())?;
        let ready = t
            .status
            .as_ref()
            .and_then(|s| s.conditions.first())
            .cloned();
        let finalizer = t
            .metadata
            .finalizers
            .as_ref()
            .is_some_and(|f| f.contains(&"thoras.ai/template-cleanup".to_string()));
        match (
            &ready,
            t.status.as_ref().and_then(|s| s.observed_generation),
        ) {
            (Some(c), Some(1))
                if c.type_ == "Ready" && c.reason == "ReconciliationSucceeded" && finalizer =>
            {
                Ok(())
            }
            _ => Err(format!("status {:?}, finalizer {finalizer}", t.status)),
        }
    })
    .await;
    metrics_outcome(env, prod, "api-ast").await;

    // Label change: the worker starts matching, the api stops.
    env.label_deployment(prod, "worker", "thoras.ai/enabled", Some("true"))
        .await;
    env.label_deployment(prod, "api", "thoras.ai/enabled", None)
        .await;
    let expected = vec![format!("{prod}/worker-ast")];
    eventually("targets follow the labels", PATIENCE, || async {
        let all = names(&targets(env, &roles).await);
        (all == expected)
            .then_some(())
            .ok_or_else(|| format!("{all:?}"))
    })
    .await;

    // Template update: managed targets follow.
    templates
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(
                json!({"spec": {"template": {"model": {"forecast_buffer_percentage": "25%"}}}}),
            ),
        )
        .await
        .unwrap();
    target_until(
        env,
        prod,
        "worker-ast",
        "the target follows the template",
        |t| {
            let buffer = serde_json::to_value(&t.spec.model.forecast_buffer_percentage).unwrap();
            (buffer == json!("25%"))
                .then_some(())
                .ok_or_else(|| format!("buffer {buffer}"))
        },
    )
    .await;

    // Workload deletion: the target goes with it (owner reference, garbage collector).
    Api::<Deployment>::namespaced(env.admin.clone(), prod)
        .delete("worker", &DeleteParams::background())
        .await
        .unwrap();
    eventually("the target goes with its workload", PATIENCE, || async {
        let all = names(&targets(env, &roles).await);
        all.is_empty()
            .then_some(())
            .ok_or_else(|| format!("{all:?}"))
    })
    .await;

    // Template deletion: the finalizer removes every managed target, then the template goes.
    env.deploy(ops, "job", true).await;
    eventually("ops/job-ast is created", PATIENCE, || async {
        let all = names(&targets(env, &roles).await);
        (all == [format!("{ops}/job-ast")])
            .then_some(())
            .ok_or_else(|| format!("{all:?}"))
    })
    .await;
    templates
        .delete(&name, &DeleteParams::default())
        .await
        .unwrap();
    eventually(
        "the template's targets and then the template are gone",
        PATIENCE,
        || async {
            let all = names(&targets(env, &roles).await);
            let template = templates.get_opt(&name).await.map_err(|e| e.to_string())?;
            (all.is_empty() && template.is_none())
                .then_some(())
                .ok_or_else(|| format!("targets {all:?}, template exists: {}", template.is_some()))
        },
    )
    .await;
    operator.stop().await;
}

pub async fn conflicts_and_included_namespaces(env: &TestEnv) {
    let (prod, ops) = (env.ns("prod"), env.ns("ops"));
    env.deploy(prod, "api", true).await;
    env.deploy(ops, "tool", true).await;
    let cron = json!({"model": {"forecast_interval": null, "forecast_cron": "*/15 * * * *"}});
    create_target(env, prod, "by-hand", "api", cron).await;
    let (name, templates) = create_template(
        env,
        "only-prod",
        json!({"includedNamespaces": [prod]}),
        "0%",
    )
    .await;
    let operator = env.start_operator(Arc::new(MemoryStore::new()));

    // skip: the hand-made target is left alone; ops is not included.
    let status = eventually("the template skips the conflict", PATIENCE, || async {
        let t = templates.get(&name).await.map_err(|e| e.to_string())?;
        match t.status {
            Some(s) if s.skipped_conflicts == 1 => Ok(s),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert!(
        status.conditions[0].message.contains("skipped"),
        "{}",
        status.conditions[0].message
    );
    let all = targets(env, &["prod", "ops"]).await;
    assert_eq!(names(&all), [format!("{prod}/by-hand")]);
    assert!(
        all[0]
            .metadata
            .labels
            .as_ref()
            .is_none_or(|l| !l.contains_key("thoras.ai/managed-by-template"))
    );

    // override: the template takes the hand-made target over, label and spec.
    templates
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"policy": {"conflictResolution": "override"}}})),
        )
        .await
        .unwrap();
    let taken = target_until(
        env,
        prod,
        "by-hand",
        "the template takes the target over",
        |t| {
            let label = t
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("thoras.ai/managed-by-template"))
                .cloned();
            (label.as_deref() == Some(name.as_str()))
                .then_some(())
                .ok_or_else(|| format!("label {label:?}"))
        },
    )
    .await;
    assert_eq!(taken.spec.model.forecast_interval.as_deref(), Some("15m"));
    assert_eq!(
        taken.spec.model.forecast_cron, None,
        "the hand-made cadence is replaced, not merged"
    );
    assert_eq!(names(&targets(env, &["prod", "ops"]).await).len(), 1);
    operator.stop().await;
}

fn pause_map(doc: &str) -> ConfigMap {
    serde_json::from_value(
        json!({"metadata": {"name": SYSTEM_CONFIG_MAP}, "data": {SYSTEM_CONFIG_KEY: doc}}),
    )
    .unwrap()
}

pub async fn pause_and_invalid_spec(env: &TestEnv) {
    let prod = env.ns("prod");
    env.deploy(prod, "api", false).await;
    let autonomous = json!({"vertical": {"mode": "autonomous", "containers": [
        {"name": "*", "cpu": {"lowerbound": "10m"}, "memory": {"lowerbound": "10Mi"}}]}});
    let asts = create_target(env, prod, "api", "api", autonomous).await;
    let operator = env.start_operator(Arc::new(MemoryStore::new()));
    target_until(env, prod, "api", "autonomous mode is reported", |t| {
        has_condition(t, "AbleToScale", "True", "WaitingForData")
    })
    .await;
    // The pause, written while the operator runs.
    let cms: Api<ConfigMap> = Api::namespaced(env.admin.clone(), &env.system_ns);
    cms.create(&PostParams::default(), &pause_map("scaling-paused: true\n"))
        .await
        .unwrap();
    // While paused, an autonomous target reports that its apply steps are skipped.
    target_until(env, prod, "api", "the pause is reported", |t| {
        has_condition(t, "AbleToScale", "False", "ScalingPaused")
    })
    .await;
    assert!(read_pause(&env.admin, &env.system_ns).await.unwrap().paused);
    cms.replace(
        SYSTEM_CONFIG_MAP,
        &PostParams::default(),
        &pause_map("scaling-paused: false\n"),
    )
    .await
    .unwrap();
    target_until(env, prod, "api", "resuming is reported", |t| {
        has_condition(t, "AbleToScale", "True", "WaitingForData")
    })
    .await;
    // A malformed pause means "not paused", with the problem reported.
    cms.replace(
        SYSTEM_CONFIG_MAP,
        &PostParams::default(),
        &pause_map("scaling-paused: sometimes\n"),
    )
    .await
    .unwrap();
    let malformed = read_pause(&env.admin, &env.system_ns).await.unwrap();
    assert!(!malformed.paused && malformed.problem.is_some());
    target_until(env, prod, "api", "the malformed pause is reported", |t| {
        has_condition(t, "AbleToScale", "True", "WaitingForData")?;
        let message = condition(t, "AbleToScale").unwrap().message;
        message
            .contains(SYSTEM_CONFIG_MAP)
            .then_some(())
            .ok_or(message)
    })
    .await;

    // An invalid spec (a cron expression the API server cannot check) gets ValidSpec
    // False with the field path, and waits.
    asts.patch(
        "api",
        &PatchParams::default(),
        &Patch::Merge(
            json!({"spec": {"model": {"forecast_interval": null, "forecast_cron": "61 * * * *"}}}),
        ),
    )
    .await
    .unwrap();
    let t = target_until(env, prod, "api", "the invalid spec is reported", |t| {
        has_condition(t, "ValidSpec", "False", "InvalidSpec")
    })
    .await;
    let message = condition(&t, "ValidSpec").unwrap().message;
    assert!(message.contains("spec.model.forecast_cron"), "{message}");
    operator.stop().await;
}

pub async fn unenroll_discards_history(env: &TestEnv) {
    let prod = env.ns("prod");
    env.deploy(prod, "api", false).await;
    let asts = create_target(env, prod, "api", "api", json!({})).await;
    let store = Arc::new(MemoryStore::new());
    let key = SeriesKey {
        namespace: prod.into(),
        kind: "Deployment".into(),
        workload: "api".into(),
        container: "app".into(),
        metric: Metric::Cpu,
    };
    // History the workload has (on the real server, where nothing is collected, as if
    // backfilled).
    let now = jiff::Timestamp::now().as_second();
    store.append(&[(key.clone(), (now - 60, 0.25))]).unwrap();
    let operator = env.start_operator(store.clone());
    target_until(env, prod, "api", "the target is processed", |t| {
        has_condition(t, "ValidSpec", "True", "Valid")
    })
    .await;
    assert!(
        store.series().unwrap().contains(&key),
        "an enrolled workload keeps its history"
    );
    asts.delete("api", &DeleteParams::default()).await.unwrap();
    eventually("unenrolling discards the history", PATIENCE, || async {
        let held = store.series().map_err(|e| e.to_string())?;
        (!held.iter().any(|k| k.workload == "api"))
            .then_some(())
            .ok_or_else(|| format!("{held:?}"))
    })
    .await;
    operator.stop().await;
}

/// Deployments, StatefulSets and — on the simulated cluster, where the test installs its
/// CRD — Argo Rollouts are enrolled by a template and resolved by their targets.
pub async fn workload_kinds(env: &TestEnv) {
    let prod = env.ns("prod");
    env.deploy(prod, "web", true).await;
    let labels = json!({"thoras.ai/enabled": "true", RUN_LABEL: env.run});
    let pod_template = json!({"metadata": {"labels": {"app": "db"}},
        "spec": {"containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10",
                 "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}});
    let sts: StatefulSet = serde_json::from_value(json!({
        "metadata": {"name": "db", "labels": labels},
        "spec": {"replicas": 1, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                 "template": pod_template}
    }))
    .unwrap();
    Api::<StatefulSet>::namespaced(env.admin.clone(), prod)
        .create(&PostParams::default(), &sts)
        .await
        .unwrap();
    let mut expected = vec![format!("{prod}/db-ast"), format!("{prod}/web-ast")];
    if env.backend == Backend::Sim {
        install_rollout_crd(env).await;
        let gvk = GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Rollout");
        let rollouts: Api<DynamicObject> = Api::namespaced_with(
            env.admin.clone(),
            prod,
            &ApiResource::from_gvk_with_plural(&gvk, "rollouts"),
        );
        let mut template = pod_template.clone();
        template["metadata"]["labels"]["app"] = json!("canary");
        let rollout: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
            "metadata": {"name": "canary", "labels": labels},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "canary"}}, "template": template}
        }))
        .unwrap();
        rollouts
            .create(&PostParams::default(), &rollout)
            .await
            .unwrap();
        expected.insert(0, format!("{prod}/canary-ast"));
    }
    create_template(env, "kinds", json!({}), "10%").await;
    // A selector target over every kind's pod template (Rollouts included).
    let apps: Vec<&str> = if env.backend == Backend::Sim {
        vec!["web", "db", "canary"]
    } else {
        vec!["web", "db"]
    };
    let selector = json!({"scaleTargetRef": null,
        "selector": {"matchExpressions": [{"key": "app", "operator": "In", "values": apps}]}});
    create_target(env, prod, "by-selector", "-", selector).await;
    expected.insert(0, format!("{prod}/by-selector"));
    let operator = env.start_operator(Arc::new(MemoryStore::new()));
    eventually("every kind is enrolled", PATIENCE, || async {
        let mut all = names(&targets(env, &["prod"]).await);
        all.sort();
        (all == expected)
            .then_some(())
            .ok_or_else(|| format!("{all:?}"))
    })
    .await;
    target_until(
        env,
        prod,
        "by-selector",
        "the selector resolves every kind",
        |t| {
            let mut kinds: Vec<String> = t
                .status
                .as_ref()
                .map(|s| s.workloads.iter().map(|w| w.kind.clone()).collect())
                .unwrap_or_default();
            kinds.sort();
            let mut expected = vec!["Deployment", "StatefulSet"];
            if env.backend == Backend::Sim {
                expected.insert(1, "Rollout");
            }
            (kinds == expected)
                .then_some(())
                .ok_or(format!("{kinds:?}"))
        },
    )
    .await;
    for (target, kind) in [("db-ast", "StatefulSet"), ("web-ast", "Deployment")]
        .into_iter()
        .chain((env.backend == Backend::Sim).then_some(("canary-ast", "Rollout")))
    {
        target_until(env, prod, target, "the target resolves its workload", |t| {
            let workloads = t
                .status
                .as_ref()
                .map(|s| s.workloads.clone())
                .unwrap_or_default();
            (workloads.len() == 1 && workloads[0].kind == kind)
                .then_some(())
                .ok_or_else(|| format!("workloads {workloads:?}"))
        })
        .await;
        metrics_outcome(env, prod, target).await;
    }
    operator.stop().await;
}

pub async fn install_rollout_crd(env: &TestEnv) {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let crd = json!({"metadata": {"name": "rollouts.argoproj.io"},
        "spec": {"group": "argoproj.io", "scope": "Namespaced",
                 "names": {"plural": "rollouts", "singular": "rollout", "kind": "Rollout", "listKind": "RolloutList"},
                 "versions": [{"name": "v1alpha1", "served": true, "storage": true,
                               "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
                               "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas",
                                   "statusReplicasPath": ".status.replicas", "labelSelectorPath": ".status.selector"}}}]}});
    Api::<CustomResourceDefinition>::all(env.admin.clone())
        .create(
            &PostParams::default(),
            &serde_json::from_value(crd).unwrap(),
        )
        .await
        .unwrap();
}

/// A spec update that meets a conflict (409: someone wrote in between) re-reads and
/// retries, keeping the other writer's change — as the operator's own client.
pub async fn update_conflict_is_reread_and_retried(env: &TestEnv) {
    let prod = env.ns("prod");
    let asts = create_target(env, prod, "api", "api", json!({})).await;
    let stale = asts.get("api").await.unwrap();
    asts.patch(
        "api",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"team": "payments"}}})),
    )
    .await
    .unwrap();
    let as_operator: Api<AIScaleTarget> = Api::namespaced(env.operator_client.clone(), prod);
    let updated = update_with_retry(&as_operator, "api", stale, |t| {
        t.spec.model.forecast_interval = Some("5m".into());
        Ok(())
    })
    .await
    .expect("the update succeeds after re-reading");
    assert_eq!(updated.spec.model.forecast_interval.as_deref(), Some("5m"));
    assert_eq!(
        updated
            .metadata
            .labels
            .unwrap_or_default()
            .get("team")
            .map(String::as_str),
        Some("payments"),
        "the concurrent edit is kept, not overwritten"
    );
}

//! The simulated API server through real clients: kube-rs over HTTP.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::runtime::{WatchStreamExt, watcher};
use prescale_sim::testing::TestCluster;
use serde_json::json;

fn cm(name: &str) -> ConfigMap {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"app": "demo"}},
        "data": {"k": "v"}
    }))
    .unwrap()
}

#[tokio::test]
async fn crud_uid_generation_and_conflicts() {
    let c = TestCluster::start().await.unwrap();
    let api: Api<ConfigMap> = Api::namespaced(c.client.clone(), "default");
    let created = api.create(&PostParams::default(), &cm("a")).await.unwrap();
    let uid = created.metadata.uid.clone().unwrap();
    assert!(!uid.is_empty());
    let err = api
        .create(&PostParams::default(), &cm("a"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 409 && s.reason == "AlreadyExists"),
        "{err:?}"
    );

    let mut stale = created.clone();
    let mut fresh = created.clone();
    fresh.data = Some(BTreeMap::from([("k".to_string(), "w".to_string())]));
    let updated = api
        .replace("a", &PostParams::default(), &fresh)
        .await
        .unwrap();
    assert_ne!(
        updated.metadata.resource_version,
        created.metadata.resource_version
    );
    assert_eq!(updated.metadata.uid.as_deref(), Some(uid.as_str()));
    stale.data = Some(BTreeMap::from([("k".to_string(), "x".to_string())]));
    let err = api
        .replace("a", &PostParams::default(), &stale)
        .await
        .unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 409 && s.reason == "Conflict"),
        "{err:?}"
    );

    let listed = api
        .list(&ListParams::default().labels("app=demo"))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    assert!(
        api.list(&ListParams::default().labels("app in (other)"))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    api.delete("a", &DeleteParams::default()).await.unwrap();
    let err = api.get("a").await.unwrap_err();
    assert!(matches!(err, kube::Error::Api(ref s) if s.code == 404 && s.reason == "NotFound"));
}

#[tokio::test]
async fn generation_moves_on_spec_changes_only() {
    let c = TestCluster::start().await.unwrap();
    let api: Api<Deployment> = Api::namespaced(c.client.clone(), "default");
    let d: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}
    }))
    .unwrap();
    api.create(&PostParams::default(), &d).await.unwrap();
    let pp = PatchParams::default();
    let labelled = api
        .patch(
            "web",
            &pp,
            &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
        )
        .await
        .unwrap();
    assert_eq!(labelled.metadata.generation, Some(1));
    let scaled = api
        .patch("web", &pp, &Patch::Merge(json!({"spec": {"replicas": 3}})))
        .await
        .unwrap();
    assert_eq!(scaled.metadata.generation, Some(2));
    let status = api
        .patch_status(
            "web",
            &pp,
            &Patch::Merge(json!({"status": {"replicas": 3}})),
        )
        .await
        .unwrap();
    assert_eq!(status.metadata.generation, Some(2));
    assert_eq!(status.status.unwrap().replicas, Some(3));
    let strategic = api
        .patch(
            "web",
            &pp,
            &Patch::Strategic(json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}}})),
        )
        .await
        .unwrap();
    let containers = strategic.spec.unwrap().template.spec.unwrap().containers;
    assert_eq!(containers.len(), 1);
    assert_eq!(containers[0].image.as_deref(), Some("nginx:2"));
    let scale = api.get_scale("web").await.unwrap();
    assert_eq!(scale.spec.unwrap().replicas, Some(3));
}

#[tokio::test]
async fn watch_streams_changes_and_reflector_follows() {
    let c = TestCluster::start().await.unwrap();
    let api: Api<ConfigMap> = Api::namespaced(c.client.clone(), "default");
    let (reader, writer) = kube::runtime::reflector::store();
    let stream = kube::runtime::reflector(writer, watcher(api.clone(), watcher::Config::default()))
        .applied_objects()
        .boxed();
    let watching = tokio::spawn(async move { stream.take(2).try_collect::<Vec<_>>().await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    api.create(&PostParams::default(), &cm("one"))
        .await
        .unwrap();
    api.create(&PostParams::default(), &cm("two"))
        .await
        .unwrap();
    let seen = tokio::time::timeout(Duration::from_secs(10), watching)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let names: Vec<_> = seen
        .iter()
        .map(|o| o.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(names, ["one", "two"]);
    assert_eq!(reader.state().len(), 2);
}

#[tokio::test]
async fn too_old_resource_version_is_gone() {
    let c = TestCluster::start().await.unwrap();
    let api: Api<ConfigMap> = Api::namespaced(c.client.clone(), "default");
    // Push the history past its bound so version 1 can no longer be resumed from.
    {
        let mut store = c.sim.store();
        let key = ("".to_string(), "configmaps".to_string());
        for i in 0..20_100 {
            store
                .create(
                    &key,
                    "default",
                    json!({"metadata": {"name": format!("c{i}")}}),
                )
                .unwrap();
        }
    }
    let mut events = api
        .watch(&WatchParams::default().timeout(5), "1")
        .await
        .unwrap()
        .boxed();
    let first = tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .unwrap()
        .unwrap();
    match first {
        Ok(WatchEvent::Error(e)) => assert_eq!(e.code, 410),
        Err(kube::Error::Api(s)) => assert_eq!(s.code, 410),
        other => panic!("expected 410 Gone, got {other:?}"),
    }
}

#[tokio::test]
async fn finalizers_hold_deletion_until_removed() {
    let c = TestCluster::start().await.unwrap();
    let api: Api<ConfigMap> = Api::namespaced(c.client.clone(), "default");
    let mut m = cm("held");
    m.metadata.finalizers = Some(vec!["example.com/hold".into()]);
    api.create(&PostParams::default(), &m).await.unwrap();
    api.delete("held", &DeleteParams::default()).await.unwrap();
    let still = api.get("held").await.unwrap();
    assert!(still.metadata.deletion_timestamp.is_some());
    api.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    assert!(api.get_opt("held").await.unwrap().is_none());
}

#[tokio::test]
async fn owner_deletion_collects_dependents() {
    let c = TestCluster::start().await.unwrap();
    let api: Api<ConfigMap> = Api::namespaced(c.client.clone(), "default");
    let owner = api
        .create(&PostParams::default(), &cm("owner"))
        .await
        .unwrap();
    for (name, policy) in [
        ("child", DeleteParams::background()),
        ("child2", DeleteParams::foreground()),
    ] {
        let _ = policy;
        let mut child = cm(name);
        child.metadata.owner_references = Some(vec![
            k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
                api_version: "v1".into(),
                kind: "ConfigMap".into(),
                name: "owner".into(),
                uid: owner.metadata.uid.clone().unwrap(),
                ..Default::default()
            },
        ]);
        api.create(&PostParams::default(), &child).await.unwrap();
    }
    api.delete("owner", &DeleteParams::foreground())
        .await
        .unwrap();
    assert!(api.get_opt("child").await.unwrap().is_none());
    assert!(api.get_opt("child2").await.unwrap().is_none());
}

#[tokio::test]
async fn eviction_honours_disruption_budgets() {
    let c = TestCluster::start().await.unwrap();
    let pods: Api<Pod> = Api::namespaced(c.client.clone(), "default");
    for name in ["p1", "p2"] {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": name, "labels": {"app": "db"}},
            "spec": {"containers": [{"name": "db", "image": "pg"}]},
        }))
        .unwrap();
        pods.create(&PostParams::default(), &pod).await.unwrap();
        pods.patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}})),
        )
        .await
        .unwrap();
    }
    let pdbs: Api<k8s_openapi::api::policy::v1::PodDisruptionBudget> =
        Api::namespaced(c.client.clone(), "default");
    pdbs.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "db"}, "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "db"}}}}))
            .unwrap(),
    )
    .await
    .unwrap();
    let err = pods.evict("p1", &Default::default()).await.unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 429),
        "{err:?}"
    );
    pdbs.patch(
        "db",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"minAvailable": 1}})),
    )
    .await
    .unwrap();
    pods.evict("p1", &Default::default()).await.unwrap();
    assert!(pods.get_opt("p1").await.unwrap().is_none());
}

#[tokio::test]
async fn in_place_resize_keeps_qos_and_checks_room() {
    let c = TestCluster::start().await.unwrap();
    let nodes: Api<k8s_openapi::api::core::v1::Node> = Api::all(c.client.clone());
    nodes
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "n1"}, "status": {"allocatable": {"cpu": "2", "memory": "4Gi"}}})).unwrap(),
        )
        .await
        .unwrap();
    let pods: Api<Pod> = Api::namespaced(c.client.clone(), "default");
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "app"},
        "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "x",
                 "resources": {"requests": {"cpu": "500m", "memory": "256Mi"}}}]},
    }))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    let resize = |cpu: &str| json!({"spec": {"containers": [{"name": "app", "resources": {"requests": {"cpu": cpu, "memory": "256Mi"}}}]}});
    let resized = pods
        .patch_resize(
            "app",
            &PatchParams::default(),
            &Patch::Strategic(resize("1")),
        )
        .await
        .unwrap();
    let requests = resized.spec.unwrap().containers[0]
        .resources
        .clone()
        .unwrap()
        .requests
        .unwrap();
    assert_eq!(requests["cpu"].0, "1");
    let too_big = pods
        .patch_resize(
            "app",
            &PatchParams::default(),
            &Patch::Strategic(resize("8")),
        )
        .await
        .unwrap();
    assert_eq!(
        too_big.spec.unwrap().containers[0]
            .resources
            .clone()
            .unwrap()
            .requests
            .unwrap()["cpu"]
            .0,
        "1"
    );
    let conditions = too_big.status.unwrap().conditions.unwrap_or_default();
    assert!(
        conditions
            .iter()
            .any(|c| c.type_ == "PodResizePending" && c.reason.as_deref() == Some("Infeasible"))
    );
    let qos_change = json!({"spec": {"containers": [{"name": "app", "resources": {
        "requests": {"cpu": "1", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "256Mi"}}}]}});
    let err = pods
        .patch_resize(
            "app",
            &PatchParams::default(),
            &Patch::Strategic(qos_change),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 422),
        "{err:?}"
    );
}

#[tokio::test]
async fn injected_faults_fail_requests_and_clients_see_them() {
    let c = TestCluster::start().await.unwrap();
    let api: Api<ConfigMap> = Api::namespaced(c.client.clone(), "default");
    api.create(&PostParams::default(), &cm("f")).await.unwrap();
    c.sim.set_faults(vec![prescale_sim::faults::Fault {
        resource: Some("configmaps".into()),
        verb: Some("get".into()),
        error_rate: 1.0,
        error_code: 500,
        ..Default::default()
    }]);
    let err = api.get("f").await.unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 500),
        "{err:?}"
    );
    assert_eq!(
        api.list(&ListParams::default()).await.unwrap().items.len(),
        1,
        "only GETs are faulted"
    );
    c.sim.set_faults(vec![]);
    api.get("f").await.unwrap();
}

#[tokio::test]
async fn a_kube_runtime_controller_reconciles_a_custom_resource() {
    use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
    use kube::runtime::controller::{Action, Controller};
    use std::sync::Arc;

    let c = TestCluster::start().await.unwrap();
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(c.client.clone());
    let crd = json!({
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
                 "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "shortNames": ["wd"]},
                 "versions": [{"name": "v1", "served": true, "storage": true, "subresources": {"status": {}},
                               "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}
    });
    crds.create(
        &PostParams::default(),
        &serde_json::from_value(crd).unwrap(),
    )
    .await
    .unwrap();
    let gvk = GroupVersionKind::gvk("example.com", "v1", "Widget");
    let ar = ApiResource::from_gvk_with_plural(&gvk, "widgets");
    let widgets: Api<DynamicObject> = Api::namespaced_with(c.client.clone(), "default", &ar);
    let mut w = DynamicObject::new("w1", &ar);
    w.data = json!({"spec": {"size": 3}});
    widgets.create(&PostParams::default(), &w).await.unwrap();

    let reconcile = |obj: Arc<DynamicObject>, api: Arc<Api<DynamicObject>>| async move {
        let size = obj.data["spec"]["size"].as_i64().unwrap_or(0);
        api.patch_status(
            &obj.metadata.name.clone().unwrap(),
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"seen": size}})),
        )
        .await?;
        Ok::<_, kube::Error>(Action::await_change())
    };
    let error_policy = |_: Arc<DynamicObject>, _: &kube::Error, _: Arc<Api<DynamicObject>>| {
        Action::requeue(Duration::from_secs(1))
    };
    let controller = Controller::new_with(widgets.clone(), watcher::Config::default(), ar.clone())
        .run(reconcile, error_policy, Arc::new(widgets.clone()))
        .for_each(|_| async {});
    let handle = tokio::spawn(controller);
    let mut seen = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        seen = widgets.get_status("w1").await.unwrap().data["status"]["seen"].as_i64();
        if seen.is_some() {
            break;
        }
    }
    handle.abort();
    assert_eq!(seen, Some(3));
}

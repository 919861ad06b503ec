//! Cluster behaviour through kube-rs: Deployment → ReplicaSet → Pods, scheduling onto
//! nodes, readiness, metrics.k8s.io, OOM kills, rollout restart and cascading deletion.

use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
use prescale_sim::cluster;
use prescale_sim::testing::TestCluster;
use serde_json::json;

async fn cluster_with_nodes() -> TestCluster {
    let c = TestCluster::start_with(jiff::Timestamp::now(), 0.0)
        .await
        .unwrap();
    let nodes: Api<Node> = Api::all(c.client.clone());
    for n in ["n1", "n2"] {
        let node = json!({"metadata": {"name": n}, "status": {"allocatable": {"cpu": "4", "memory": "8Gi"}}});
        nodes
            .create(
                &PostParams::default(),
                &serde_json::from_value(node).unwrap(),
            )
            .await
            .unwrap();
    }
    c
}

fn deployment(name: &str, replicas: i32, memory_limit: Option<&str>) -> Deployment {
    let mut resources = json!({"requests": {"cpu": "500m", "memory": "256Mi"}});
    if let Some(l) = memory_limit {
        resources["limits"] = json!({"memory": l});
    }
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "app", "image": "app:1", "resources": resources}]}}}
    }))
    .unwrap()
}

async fn step(c: &TestCluster, secs: u64) {
    for _ in 0..(secs / cluster::TICK_SECS).max(1) {
        c.sim.clock.advance(Duration::from_secs(cluster::TICK_SECS));
        cluster::tick(&c.sim).await;
    }
}

#[tokio::test]
async fn deployments_get_ready_scheduled_pods_and_metrics() {
    let c = cluster_with_nodes().await;
    let deployments: Api<Deployment> = Api::namespaced(c.client.clone(), "default");
    deployments
        .create(&PostParams::default(), &deployment("web", 3, None))
        .await
        .unwrap();
    step(&c, 60).await;
    let pods: Api<Pod> = Api::namespaced(c.client.clone(), "default");
    let list = pods.list(&Default::default()).await.unwrap().items;
    assert_eq!(list.len(), 3);
    for p in &list {
        assert!(p.spec.as_ref().unwrap().node_name.is_some());
        assert_eq!(
            p.metadata.owner_references.as_ref().unwrap()[0].kind,
            "ReplicaSet"
        );
        assert_eq!(p.status.as_ref().unwrap().phase.as_deref(), Some("Running"));
    }
    let d = deployments.get("web").await.unwrap();
    assert_eq!(d.status.unwrap().ready_replicas, Some(3));

    let gvk = GroupVersionKind::gvk("metrics.k8s.io", "v1beta1", "PodMetrics");
    let metrics: Api<DynamicObject> = Api::namespaced_with(
        c.client.clone(),
        "default",
        &ApiResource::from_gvk_with_plural(&gvk, "pods"),
    );
    let m = metrics.list(&Default::default()).await.unwrap().items;
    assert_eq!(m.len(), 3);
    let cpu = m[0].data["containers"][0]["usage"]["cpu"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(cpu.ends_with('n'), "{cpu}");

    // Scale down through the scale subresource, then delete with cascading GC.
    deployments
        .patch_scale(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 1}})),
        )
        .await
        .unwrap();
    step(&c, 30).await;
    assert_eq!(pods.list(&Default::default()).await.unwrap().items.len(), 1);
    deployments
        .delete("web", &DeleteParams::background())
        .await
        .unwrap();
    let rs: Api<ReplicaSet> = Api::namespaced(c.client.clone(), "default");
    assert!(rs.list(&Default::default()).await.unwrap().items.is_empty());
    assert!(
        pods.list(&Default::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn rollout_restart_replaces_pods_and_memory_over_limit_is_oom_killed() {
    let c = cluster_with_nodes().await;
    let deployments: Api<Deployment> = Api::namespaced(c.client.clone(), "default");
    deployments
        .create(&PostParams::default(), &deployment("api", 2, Some("100Mi")))
        .await
        .unwrap();
    step(&c, 60).await;
    let pods: Api<Pod> = Api::namespaced(c.client.clone(), "default");
    let before: Vec<String> = pods
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|p| p.metadata.name.unwrap())
        .collect();
    let restarted = pods
        .get(&before[0])
        .await
        .unwrap()
        .status
        .unwrap()
        .container_statuses
        .unwrap()[0]
        .clone();
    assert!(
        restarted.restart_count >= 1,
        "256Mi requested, 100Mi limit: must be OOM-killed"
    );
    assert_eq!(
        restarted
            .last_state
            .unwrap()
            .terminated
            .unwrap()
            .reason
            .as_deref(),
        Some("OOMKilled")
    );

    deployments.restart("api").await.unwrap();
    step(&c, 60).await;
    let after: Vec<String> = pods
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|p| p.metadata.name.unwrap())
        .collect();
    assert_eq!(after.len(), 2);
    assert!(
        after.iter().all(|p| !before.contains(p)),
        "{before:?} → {after:?}"
    );
}

#[tokio::test]
async fn hpa_scales_up_on_utilisation_and_down_only_after_stabilisation() {
    let c = cluster_with_nodes().await;
    let deployments: Api<Deployment> = Api::namespaced(c.client.clone(), "default");
    deployments
        .create(&PostParams::default(), &deployment("busy", 1, None))
        .await
        .unwrap();
    let hpas: Api<k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler> =
        Api::namespaced(c.client.clone(), "default");
    // The load model's demand never falls below 5 % of one pod's requests, so a 1 % CPU
    // target asks for at least five replicas at any time of day: capped at four.
    let hpa = json!({"metadata": {"name": "busy"}, "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "busy"},
        "minReplicas": 1, "maxReplicas": 4,
        "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 1}}}]}});
    hpas.create(
        &PostParams::default(),
        &serde_json::from_value(hpa).unwrap(),
    )
    .await
    .unwrap();
    step(&c, 120).await;
    assert_eq!(
        deployments
            .get("busy")
            .await
            .unwrap()
            .spec
            .unwrap()
            .replicas,
        Some(4),
        "capped at maxReplicas"
    );
    let status = hpas.get("busy").await.unwrap().status.unwrap();
    assert_eq!(status.desired_replicas, 4);
    // A very high target asks for one replica, but only once the window has passed.
    hpas.patch("busy", &PatchParams::default(), &Patch::Merge(json!({"spec": {"metrics": [{"type": "Resource",
        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 1000}}}]}}))).await.unwrap();
    step(&c, 60).await;
    assert_eq!(
        deployments
            .get("busy")
            .await
            .unwrap()
            .spec
            .unwrap()
            .replicas,
        Some(4),
        "stabilisation holds the scale-down"
    );
    step(&c, 360).await;
    assert_eq!(
        deployments
            .get("busy")
            .await
            .unwrap()
            .spec
            .unwrap()
            .replicas,
        Some(1)
    );
}

#[tokio::test]
async fn daemonsets_run_a_pod_per_node_and_rollouts_run_like_deployments() {
    let c = cluster_with_nodes().await;
    let daemonsets: Api<k8s_openapi::api::apps::v1::DaemonSet> =
        Api::namespaced(c.client.clone(), "default");
    let ds = json!({"metadata": {"name": "agent"},
        "spec": {"selector": {"matchLabels": {"app": "agent"}},
                 "template": {"metadata": {"labels": {"app": "agent"}},
                              "spec": {"containers": [{"name": "agent", "image": "agent:1"}]}}}});
    daemonsets
        .create(&PostParams::default(), &serde_json::from_value(ds).unwrap())
        .await
        .unwrap();
    step(&c, 30).await;
    let pods: Api<Pod> = Api::namespaced(c.client.clone(), "default");
    let nodes_of = |list: Vec<Pod>| {
        let mut n: Vec<String> = list
            .into_iter()
            .filter_map(|p| p.spec.and_then(|s| s.node_name))
            .collect();
        n.sort();
        n
    };
    assert_eq!(
        nodes_of(pods.list(&Default::default()).await.unwrap().items),
        ["n1", "n2"]
    );
    let nodes: Api<Node> = Api::all(c.client.clone());
    nodes
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "n3"},
                "status": {"allocatable": {"cpu": "4", "memory": "8Gi"}}}))
            .unwrap(),
        )
        .await
        .unwrap();
    nodes.delete("n1", &DeleteParams::default()).await.unwrap();
    // Status follows one tick behind the pods, as a controller's observation does.
    step(&c, 45).await;
    assert_eq!(
        nodes_of(pods.list(&Default::default()).await.unwrap().items),
        ["n2", "n3"]
    );
    let status = daemonsets.get("agent").await.unwrap().status.unwrap();
    assert_eq!(
        (status.desired_number_scheduled, status.number_ready),
        (2, 2)
    );

    // Rollouts behave once their CRD is installed.
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(c.client.clone());
    let crd = json!({"metadata": {"name": "rollouts.argoproj.io"},
        "spec": {"group": "argoproj.io", "scope": "Namespaced",
                 "names": {"plural": "rollouts", "singular": "rollout", "kind": "Rollout", "listKind": "RolloutList"},
                 "versions": [{"name": "v1alpha1", "served": true, "storage": true,
                               "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
                               "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas",
                                   "statusReplicasPath": ".status.replicas", "labelSelectorPath": ".status.selector"}}}]}});
    crds.create(
        &PostParams::default(),
        &serde_json::from_value(crd).unwrap(),
    )
    .await
    .unwrap();
    let gvk = GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Rollout");
    let rollouts: Api<DynamicObject> = Api::namespaced_with(
        c.client.clone(),
        "default",
        &ApiResource::from_gvk_with_plural(&gvk, "rollouts"),
    );
    let rollout: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "shop"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "shop"}},
                 "template": {"metadata": {"labels": {"app": "shop"}},
                              "spec": {"containers": [{"name": "app", "image": "shop:1",
                                       "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}}}}))
    .unwrap();
    rollouts
        .create(&PostParams::default(), &rollout)
        .await
        .unwrap();
    step(&c, 60).await;
    let rs: Vec<ReplicaSet> = Api::<ReplicaSet>::namespaced(c.client.clone(), "default")
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|rs| {
            rs.metadata
                .owner_references
                .as_ref()
                .is_some_and(|o| o[0].kind == "Rollout")
        })
        .collect();
    assert_eq!(rs.len(), 1, "a ReplicaSet owned by the Rollout");
    let status = rollouts.get("shop").await.unwrap().data["status"].clone();
    assert_eq!(status["readyReplicas"], 2, "{status}");
}

#[tokio::test]
async fn a_workload_driven_by_a_trace_follows_it() {
    let c = cluster_with_nodes().await;
    let deployments: Api<Deployment> = Api::namespaced(c.client.clone(), "default");
    deployments
        .create(&PostParams::default(), &deployment("replay", 2, None))
        .await
        .unwrap();
    // A trace that doubles after ten minutes; peak 2.0 = two pods' worth of requests.
    let points: Vec<(i64, f64)> = (0..40)
        .map(|i| (i * 60, if i < 10 { 1.0 } else { 2.0 }))
        .collect();
    c.sim.drive_with_trace(
        "default",
        "replay",
        prescale_sim::cluster::trace::Trace::from_points(points, 2.0).unwrap(),
    );
    let cpu_per_pod = |c: &TestCluster| {
        let usage = c.sim.usage();
        let per_pod: Vec<f64> = usage
            .pods
            .iter()
            .filter(|((_, pod), _)| pod.starts_with("replay-"))
            .map(|(_, containers)| containers[0].1)
            .collect();
        assert_eq!(per_pod.len(), 2);
        per_pod
    };
    step(&c, 60).await;
    // Demand 1.0 over two ready pods: each at half its 500m request.
    assert!(
        cpu_per_pod(&c).iter().all(|v| (v - 0.25).abs() < 1e-9),
        "{:?}",
        cpu_per_pod(&c)
    );
    step(&c, 600).await;
    assert!(
        cpu_per_pod(&c).iter().all(|v| (v - 0.5).abs() < 1e-9),
        "{:?}",
        cpu_per_pod(&c)
    );
}

#[tokio::test]
async fn start_up_delay_is_configurable_and_cpu_throttling_is_recorded() {
    let c = cluster_with_nodes().await;
    c.sim.set_startup_delay(60);
    let limited: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "capped"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "capped"}},
                 "template": {"metadata": {"labels": {"app": "capped"}},
                              "spec": {"containers": [{"name": "app", "image": "app:1",
                                       "resources": {"requests": {"cpu": "500m", "memory": "256Mi"},
                                                     "limits": {"cpu": "10m"}}}]}}}
    }))
    .unwrap();
    Api::<Deployment>::namespaced(c.client.clone(), "default")
        .create(&PostParams::default(), &limited)
        .await
        .unwrap();
    let pods: Api<Pod> = Api::namespaced(c.client.clone(), "default");
    step(&c, 45).await;
    let pod = pods
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .remove(0);
    assert_ne!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Running"),
        "not Ready before the 60 s start-up delay"
    );
    step(&c, 60).await;
    let pod = pods
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .remove(0);
    assert_eq!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Running")
    );
    let name = pod.metadata.name.unwrap();
    let usage = c.sim.usage().pods[&("default".to_string(), name.clone())][0].1;
    assert!(
        (usage - 0.01).abs() < 1e-9,
        "held at the 10m limit: {usage}"
    );
    assert!(c.sim.throttled_seconds("default", &name, "app") >= 15);
}

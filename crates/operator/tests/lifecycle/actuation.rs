//! The actuator's requests as the install's ServiceAccount: an in-place resize
//! (`pods/resize`, strategic merge patch), a rolling restart (pod-template annotation) of
//! a Deployment, a StatefulSet and — on the simulated cluster, where the test installs
//! its CRD — an Argo Rollout, a scale-up through each kind's `scale` subresource (refused
//! when the replicas it was planned from changed meanwhile), and an eviction (Eviction
//! API), each accepted by the server. On the real API server
//! pods stay Pending (no kubelet): this checks request shapes and RBAC, not the kubelet.

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Pod, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::api::{Api, ListParams, PostParams};
use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
use prescale_operator::actuate::restart::RESTART_ANNOTATION;
use prescale_operator::actuate::{Action, Actuator, Applied, ContainerChange, KubeActuator};
use prescale_operator::collector::owners::WorkloadRef;
use serde_json::json;

use crate::common::env::{Backend, TestEnv, eventually};

fn requests(cpu: &str, memory: &str) -> ResourceRequirements {
    ResourceRequirements {
        requests: Some(
            [("cpu", cpu), ("memory", memory)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), Quantity(v.into())))
                .collect(),
        ),
        ..Default::default()
    }
}

pub async fn actuation_requests(env: &TestEnv) {
    let ns = env.ns("prod");
    env.deploy(ns, "web", false).await;
    let pods: Api<Pod> = Api::namespaced(env.admin.clone(), ns);
    let pod = eventually("the Deployment's pod exists", 60, || async {
        let list = pods
            .list(&ListParams::default().labels("app=web"))
            .await
            .map_err(|e| e.to_string())?;
        list.items
            .into_iter()
            .find_map(|p| p.metadata.name)
            .ok_or_else(|| "no pod yet".to_string())
    })
    .await;
    let actuator = KubeActuator {
        client: env.operator_client.clone(),
    };
    let workload = WorkloadRef {
        kind: "Deployment".into(),
        name: "web".into(),
    };
    let resize = Action::Resize {
        namespace: ns.into(),
        pod: pod.clone(),
        workload: workload.clone(),
        containers: vec![ContainerChange {
            name: "app".into(),
            old: requests("200m", "128Mi"),
            new: requests("300m", "128Mi"),
        }],
    };
    assert_eq!(actuator.apply(&resize).await.unwrap(), Applied::Done);
    let resized = pods.get(&pod).await.unwrap();
    let cpu = resized.spec.unwrap().containers[0]
        .resources
        .as_ref()
        .and_then(|r| r.requests.as_ref())
        .map(|r| r["cpu"].0.clone());
    assert_eq!(cpu.as_deref(), Some("300m"));
    // A resize that would change the QoS class is refused, and reported as such.
    let qos_change = Action::Resize {
        namespace: ns.into(),
        pod: pod.clone(),
        workload: workload.clone(),
        containers: vec![ContainerChange {
            name: "app".into(),
            old: requests("300m", "128Mi"),
            new: ResourceRequirements {
                limits: requests("300m", "128Mi").requests,
                ..requests("300m", "128Mi")
            },
        }],
    };
    assert!(matches!(
        actuator.apply(&qos_change).await.unwrap(),
        Applied::Refused(_)
    ));
    let evict = Action::Evict {
        namespace: ns.into(),
        pod: pod.clone(),
        workload: workload.clone(),
        containers: vec![],
        why: "test".into(),
    };
    assert_eq!(actuator.apply(&evict).await.unwrap(), Applied::Done);
    eventually("the evicted pod goes", 60, || async {
        match pods.get_opt(&pod).await.map_err(|e| e.to_string())? {
            Some(p) if p.metadata.deletion_timestamp.is_none() => Err("still there".to_string()),
            _ => Ok(()),
        }
    })
    .await;
    let restart = Action::Restart {
        namespace: ns.into(),
        workload: workload.clone(),
        token: "revert-1".into(),
        why: "test".into(),
    };
    assert_eq!(actuator.apply(&restart).await.unwrap(), Applied::Done);
    let d = Api::<Deployment>::namespaced(env.admin.clone(), ns)
        .get("web")
        .await
        .unwrap();
    let annotations = d
        .spec
        .unwrap()
        .template
        .metadata
        .unwrap()
        .annotations
        .unwrap();
    assert_eq!(annotations[RESTART_ANNOTATION], "revert-1");

    // A StatefulSet and (simulated cluster) a Rollout restart the same way.
    let template = json!({"metadata": {"labels": {"app": "db"}},
        "spec": {"containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10"}]}});
    let sts: StatefulSet = serde_json::from_value(json!({
        "metadata": {"name": "db"},
        "spec": {"replicas": 1, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                 "template": template}
    }))
    .unwrap();
    Api::<StatefulSet>::namespaced(env.admin.clone(), ns)
        .create(&PostParams::default(), &sts)
        .await
        .unwrap();
    let mut kinds = vec![("StatefulSet", "db")];
    if env.backend == Backend::Sim {
        crate::scenarios::install_rollout_crd(env).await;
        let mut template = template.clone();
        template["metadata"]["labels"]["app"] = json!("canary");
        let rollout: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
            "metadata": {"name": "canary"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "canary"}}, "template": template}
        }))
        .unwrap();
        rollout_api(env, ns)
            .create(&PostParams::default(), &rollout)
            .await
            .unwrap();
        kinds.push(("Rollout", "canary"));
    }
    for (kind, name) in kinds {
        let restart = Action::Restart {
            namespace: ns.into(),
            workload: WorkloadRef {
                kind: kind.into(),
                name: name.into(),
            },
            token: "suggestion-s1".into(),
            why: "test".into(),
        };
        assert_eq!(
            actuator.apply(&restart).await.unwrap(),
            Applied::Done,
            "{kind}"
        );
        let api = match kind {
            "StatefulSet" => Api::namespaced_with(
                env.admin.clone(),
                ns,
                &ApiResource::erase::<StatefulSet>(&()),
            ),
            _ => rollout_api(env, ns),
        };
        let obj = api.get(name).await.unwrap();
        assert_eq!(
            obj.data["spec"]["template"]["metadata"]["annotations"][RESTART_ANNOTATION],
            json!("suggestion-s1"),
            "{kind}"
        );
    }
    // A scale-up through the `scale` subresource of each kind, from the replicas it was
    // planned from; planned from a stale count it is refused, never applied.
    let mut kinds = vec![("Deployment", "web"), ("StatefulSet", "db")];
    if env.backend == Backend::Sim {
        kinds.push(("Rollout", "canary"));
    }
    for (kind, name) in kinds {
        let workload = WorkloadRef {
            kind: kind.into(),
            name: name.into(),
        };
        let up = |from, to| Action::ScaleUp {
            namespace: ns.into(),
            workload: workload.clone(),
            from,
            to,
            why: "test".into(),
        };
        assert_eq!(
            actuator.apply(&up(1, 3)).await.unwrap(),
            Applied::Done,
            "{kind}"
        );
        assert!(
            matches!(
                actuator.apply(&up(1, 5)).await.unwrap(),
                Applied::Refused(_)
            ),
            "{kind}: planned from 1 replica, but 3 run"
        );
        let api = match kind {
            "Deployment" => Api::namespaced_with(
                env.admin.clone(),
                ns,
                &ApiResource::erase::<Deployment>(&()),
            ),
            "StatefulSet" => Api::namespaced_with(
                env.admin.clone(),
                ns,
                &ApiResource::erase::<StatefulSet>(&()),
            ),
            _ => rollout_api(env, ns),
        };
        let obj = api.get(name).await.unwrap();
        assert_eq!(obj.data["spec"]["replicas"], json!(3), "{kind}");
    }
}

fn rollout_api(env: &TestEnv, ns: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Rollout");
    Api::namespaced_with(
        env.admin.clone(),
        ns,
        &ApiResource::from_gvk_with_plural(&gvk, "rollouts"),
    )
}

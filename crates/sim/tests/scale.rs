//! 10,000 pods under list + watch: a kube-rs reflector lists them all, then follows
//! thousands of creations, label changes and deletions made concurrently through the API —
//! with its watch cut every few seconds, so it must resume from its resourceVersion —
//! and ends with exactly what the server holds, object for object and version for version.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use prescale_sim::faults::Fault;
use prescale_sim::testing::TestCluster;
use serde_json::json;

const PODS: usize = 10_000;
const CHANGES: usize = 1_000;

fn pod(i: usize) -> serde_json::Value {
    json!({"metadata": {"name": format!("pod-{i}"), "namespace": "default", "labels": {"app": format!("app-{}", i % 50)}},
           "spec": {"containers": [{"name": "app", "image": "app:1"}]},
           "status": {"phase": "Running"}})
}

/// name → resourceVersion, as the server holds it.
fn server_state(c: &TestCluster) -> BTreeMap<String, String> {
    c.sim
        .store()
        .list(&("".into(), "pods".into()), Some("default"))
        .iter()
        .map(|p| {
            (
                p["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                p["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_pods_stay_correct_under_list_and_watch() {
    let c = TestCluster::start_with(jiff::Timestamp::now(), 0.0)
        .await
        .unwrap();
    {
        let mut store = c.sim.store();
        for i in 0..PODS {
            store
                .create(&("".into(), "pods".into()), "default", pod(i))
                .unwrap();
        }
    }
    // Every watch is cut after 2 s: the reflector must resume from its resourceVersion.
    c.sim.set_faults(vec![Fault {
        resource: Some("pods".into()),
        verb: Some("watch".into()),
        watch_cut_after: Some(Duration::from_secs(2)),
        ..Fault::default()
    }]);
    let api: Api<Pod> = Api::namespaced(c.client.clone(), "default");
    let (reader, writer) = reflector::store();
    let stream = reflector(writer, watcher(api.clone(), watcher::Config::default()))
        .default_backoff()
        .applied_objects();
    let follower = tokio::spawn(stream.for_each(|_| async {}));
    reader.wait_until_ready().await.unwrap();
    assert_eq!(
        reader.state().len(),
        PODS,
        "the initial list holds every pod"
    );

    let mut tasks = vec![];
    for part in 0..4 {
        let api = api.clone();
        tasks.push(tokio::spawn(async move {
            for k in (part..CHANGES).step_by(4) {
                api.delete(&format!("pod-{k}"), &DeleteParams::default())
                    .await
                    .unwrap();
                api.patch(
                    &format!("pod-{}", CHANGES + k),
                    &PatchParams::default(),
                    &Patch::Merge(json!({"metadata": {"labels": {"changed": "yes"}}})),
                )
                .await
                .unwrap();
                let fresh: Pod = serde_json::from_value(pod(PODS + k)).unwrap();
                api.create(&PostParams::default(), &fresh).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    // At least one cut and resume has happened before the comparison.
    let watches = || {
        c.sim
            .request_counts()
            .get(&("pods".to_string(), "watch".to_string()))
            .copied()
            .unwrap_or(0)
    };
    let began = Instant::now();
    while watches() < 2 {
        assert!(
            began.elapsed() < Duration::from_secs(10),
            "the watch was never cut"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let expected = server_state(&c);
    assert_eq!(expected.len(), PODS);
    let began = Instant::now();
    loop {
        let seen: BTreeMap<String, String> = reader
            .state()
            .iter()
            .map(|p| {
                (
                    p.metadata.name.clone().unwrap_or_default(),
                    p.metadata.resource_version.clone().unwrap_or_default(),
                )
            })
            .collect();
        if seen == expected {
            break;
        }
        assert!(
            began.elapsed() < Duration::from_secs(60),
            "after 60 s the reflector holds {} pods, {} differing from the server",
            seen.len(),
            expected
                .iter()
                .filter(|(k, v)| seen.get(*k) != Some(*v))
                .count()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    follower.abort();
}

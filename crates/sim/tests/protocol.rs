//! Protocol details clients lean on: field selectors, server-side apply, and watch
//! bookmarks with a server-side timeout.

use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use prescale_sim::testing::TestCluster;
use serde_json::json;

fn cm(name: &str, value: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}, "data": {"k": value}})).unwrap()
}

#[tokio::test]
async fn field_selectors_server_side_apply_and_bookmarks() {
    let c = TestCluster::start().await.unwrap();
    let api: Api<ConfigMap> = Api::namespaced(c.client.clone(), "default");
    for name in ["a", "b"] {
        api.create(&PostParams::default(), &cm(name, "1"))
            .await
            .unwrap();
    }
    let only_b = api
        .list(&ListParams::default().fields("metadata.name=b"))
        .await
        .unwrap();
    assert_eq!(only_b.items.len(), 1);
    assert_eq!(only_b.items[0].metadata.name.as_deref(), Some("b"));
    let not_b = api
        .list(&ListParams::default().fields("metadata.name!=b"))
        .await
        .unwrap();
    assert_eq!(not_b.items.len(), 1);

    // Server-side apply creates, then merges into, the object.
    let apply = PatchParams::apply("prescale-test");
    let applied = api
        .patch(
            "c",
            &apply,
            &Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c"}, "data": {"k": "1"}})),
        )
        .await
        .unwrap();
    assert_eq!(applied.data.unwrap()["k"], "1");
    let applied = api
        .patch(
            "c",
            &apply,
            &Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c"}, "data": {"k": "2", "extra": "x"}})),
        )
        .await
        .unwrap();
    let data = applied.data.unwrap();
    assert_eq!((data["k"].as_str(), data["extra"].as_str()), ("2", "x"));

    // A watch asking for bookmarks (kube-rs asks by default) gets them, and ends at its
    // timeoutSeconds.
    let rv = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let stream = api
        .watch(&WatchParams::default().timeout(3), &rv)
        .await
        .unwrap();
    let events: Vec<_> = tokio::time::timeout(Duration::from_secs(10), stream.collect::<Vec<_>>())
        .await
        .expect("the server ends the watch at its timeout");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Ok(WatchEvent::Bookmark(_)))),
        "{} events, none a bookmark",
        events.len()
    );
}

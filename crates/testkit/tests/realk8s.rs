//! The harness itself, against the real control plane: it starts, answers as v1.36, gives
//! a test its own namespace, and an impersonated kubeconfig is refused what the
//! ServiceAccount was not granted.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams};
use prescale_testkit::{TestNamespace, impersonating, real_client, real_kubeconfig};

#[tokio::test]
async fn real_server_starts_and_gives_each_test_a_namespace() {
    let Some(client) = real_client("real_server_starts").await else {
        return;
    };
    let version = client.apiserver_version().await.expect("/version");
    assert_eq!(
        (version.major.as_str(), version.minor.as_str()),
        ("1", "36")
    );
    let kubeconfig = real_kubeconfig("real_server_starts").unwrap();
    let ns = TestNamespace::create(&client, kubeconfig, "harness").await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), &ns.name);
    // The controller-manager publishes kube-root-ca.crt into every namespace.
    cms.list(&ListParams::default())
        .await
        .expect("list configmaps");

    let dir = tempfile_dir();
    let as_default = impersonating(kubeconfig, &ns.name, "default", &dir);
    let limited = prescale_testkit::realk8s::client_from(&as_default).await;
    let err = Api::<ConfigMap>::namespaced(limited, &ns.name)
        .list(&ListParams::default())
        .await
        .expect_err("the default ServiceAccount may not list ConfigMaps");
    assert!(
        matches!(&err, kube::Error::Api(s) if s.code == 403),
        "expected 403 Forbidden, got {err}"
    );
    ns.delete(&client).await;
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("prescale-testkit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

//! The simulated API server over HTTPS: kube-rs and kubectl connect through a kubeconfig
//! that carries the server's self-signed certificate as its CA, and refuse the server
//! without it.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use prescale_sim::testing::kubeconfig_with_ca;
use prescale_sim::{Clock, Sim};

async fn client(path: &std::path::Path) -> Result<kube::Client, String> {
    let config = kube::Config::from_custom_kubeconfig(
        Kubeconfig::read_from(path).map_err(|e| e.to_string())?,
        &KubeConfigOptions::default(),
    )
    .await
    .map_err(|e| e.to_string())?;
    kube::Client::try_from(config).map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_and_kubectl_verify_the_server_with_the_kubeconfig_ca() {
    let sim = Sim::new(Arc::new(Clock::new(jiff::Timestamp::now(), 1.0)));
    sim.store()
        .create(
            &("".into(), "namespaces".into()),
            "",
            serde_json::json!({"metadata": {"name": "secure"}}),
        )
        .unwrap();
    let (addr, ca, _server) = prescale_sim::tls::serve_tls(sim, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let url = format!("https://{addr}");
    let dir = tempfile::tempdir().unwrap();
    let trusted = dir.path().join("trusted.kubeconfig");
    std::fs::write(&trusted, kubeconfig_with_ca(&url, Some(&ca))).unwrap();
    let names: Vec<String> = Api::<Namespace>::all(client(&trusted).await.unwrap())
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    assert!(names.contains(&"secure".to_string()), "{names:?}");

    let out = std::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&trusted)
        .args(["get", "namespace", "secure", "-o", "name"])
        .output()
        .expect("kubectl is on the machine (scripts/test installs it)");
    assert!(
        out.status.success(),
        "kubectl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "namespace/secure"
    );

    // Without the CA the server is not trusted.
    let untrusted = dir.path().join("untrusted.kubeconfig");
    std::fs::write(&untrusted, kubeconfig_with_ca(&url, None)).unwrap();
    let refused = match client(&untrusted).await {
        Ok(c) => Api::<Namespace>::all(c)
            .list(&ListParams::default())
            .await
            .is_err(),
        Err(_) => true,
    };
    assert!(
        refused,
        "a server whose certificate is not trusted must be refused"
    );
}

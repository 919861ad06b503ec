//! `prescale operator` refuses a listen address it cannot use, naming the flag.

use prescale_sim::testing::TestCluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_metrics_address_in_use_is_named_by_its_flag() {
    let cluster = TestCluster::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    cluster.write_kubeconfig(&kc).unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = tokio::task::spawn_blocking({
        let addr = addr.clone();
        move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_prescale"))
                .args(["operator", "--store", "memory", "--dashboard-addr", "off"])
                .args(["--webhooks", "false", "--metrics-addr", &addr])
                .env("KUBECONFIG", &kc)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("--metrics-addr {addr}: cannot listen")),
        "{err}"
    );
    drop(taken);
}

#[test]
fn a_watched_namespace_that_cannot_exist_is_refused() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_prescale"))
        .args(["operator", "--watch-namespaces", "shop,Payments"])
        .env("KUBECONFIG", "/nonexistent")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("'--watch-namespaces <WATCH_NAMESPACES>'")
            && err.contains("\"Payments\" must be a lowercase RFC 1123 label"),
        "{err}"
    );
}

//! `prescale status`, `pause` and `resume` as a user meets them: against the simulated
//! cluster, with no kubeconfig, without the CRDs, and with a namespace that does not exist.

use std::path::Path;
use std::process::Output;

use prescale_sim::testing::TestCluster;

/// Runs the real binary with `KUBECONFIG=kubeconfig`, off the async runtime.
async fn prescale(kubeconfig: &Path, args: &[&str]) -> Output {
    let kubeconfig = kubeconfig.to_path_buf();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_prescale"))
            .args(&args)
            .env("KUBECONFIG", &kubeconfig)
            .env_remove("KUBERNETES_SERVICE_HOST")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn a_missing_kubeconfig_is_said_once_with_how_to_get_one() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-kubeconfig");
    let out = prescale(&missing, &["status"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("set KUBECONFIG"), "{err}");
    assert_eq!(
        err.matches("No such file or directory").count(),
        1,
        "each cause once: {err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_pause_and_resume_name_what_is_missing_and_how_to_fix_it() {
    let cluster = TestCluster::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    cluster.write_kubeconfig(&kc).unwrap();

    // No CRDs: the error says so and how to install them, without a debug dump.
    let out = prescale(&kc, &["status"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("does not serve AIScaleTargets")
            && err.contains("prescale crds | kubectl apply"),
        "{err}"
    );
    assert!(!err.contains("Status {"), "no debug dump: {err}");

    // The store's lock is released before the next command runs.
    {
        let mut store = cluster.sim.store();
        for crd in prescale_api::crd::crds() {
            let key = (
                "apiextensions.k8s.io".to_string(),
                "customresourcedefinitions".to_string(),
            );
            store
                .create(&key, "", serde_json::to_value(crd).unwrap())
                .unwrap();
        }
    }

    // The operator's namespace does not exist: every verb says which and what the flag is.
    for verb in ["status", "pause", "resume"] {
        let out = prescale(&kc, &[verb, "--namespace", "no-such-ns"]).await;
        assert_eq!(out.status.code(), Some(1), "{verb}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("namespace no-such-ns does not exist")
                && err.contains("--namespace names the operator's namespace"),
            "{verb}: {err}"
        );
        assert!(!err.contains("Status {"), "{verb}: no debug dump: {err}");
    }

    // With the namespace, the round trip works.
    cluster
        .sim
        .store()
        .create(
            &("".into(), "namespaces".into()),
            "",
            serde_json::json!({"metadata": {"name": "ops"}}),
        )
        .unwrap();
    let out = prescale(&kc, &["pause", "--namespace", "ops"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let out = prescale(&kc, &["status", "--namespace", "ops"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("autonomous scaling: paused"),
        "{}",
        stdout(&out)
    );
    let out = prescale(&kc, &["resume", "--namespace", "ops"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("autonomous scaling: running"),
        "{}",
        stdout(&out)
    );
}

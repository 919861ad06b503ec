//! The template and target lifecycle (seed 000: create, labels that stop matching, template
//! update, conflicts skip/override, namespace filters, template deletion through its
//! finalizer; seed 002: the pause ConfigMap, unenrolling discards history), each scenario
//! written once and run on both clusters: the simulated one (which also has running pods,
//! metrics and forecasts) and the real API server, where the operator runs as the
//! ServiceAccount of `prescale install`. On the simulated cluster every request the
//! operator makes is also checked against the install's RBAC (`rbac.rs`).

mod actuation;
#[path = "../common/mod.rs"]
mod common;
mod rbac;
mod scenarios;
mod webhook_scenarios;

use common::env::TestEnv;

/// `scenario::sim` and `scenario::real_server` for each scenario.
macro_rules! on_both_clusters {
    ($($scenario:ident: $roles:expr;)*) => {$(
        mod $scenario {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sim() {
                let env = TestEnv::sim(stringify!($scenario), $roles).await;
                scenarios::$scenario(&env).await;
                let ungranted = env.ungranted_requests();
                assert!(
                    ungranted.is_empty(),
                    "requests the install's RBAC does not grant: {ungranted:#?}"
                );
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn real_server() {
                let Some(env) = TestEnv::real(stringify!($scenario), $roles).await else {
                    return;
                };
                scenarios::$scenario(&env).await;
            }
        }
    )*};
}

on_both_clusters! {
    template_lifecycle: &["prod", "other", "ops"];
    conflicts_and_included_namespaces: &["prod", "ops"];
    pause_and_invalid_spec: &["prod"];
    unenroll_discards_history: &["prod"];
    workload_kinds: &["prod"];
    update_conflict_is_reread_and_retried: &["prod"];
    admission_webhooks: &["prod"];
}

mod actuation_requests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sim() {
        let env = TestEnv::sim("actuation_requests", &["prod"]).await;
        actuation::actuation_requests(&env).await;
        let ungranted = env.ungranted_requests();
        assert!(
            ungranted.is_empty(),
            "requests the install's RBAC does not grant: {ungranted:#?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn real_server() {
        let Some(env) = TestEnv::real("actuation_requests", &["prod"]).await else {
            return;
        };
        actuation::actuation_requests(&env).await;
    }
}

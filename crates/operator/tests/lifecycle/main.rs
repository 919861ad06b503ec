//! The template and target lifecycle (seed 000: create, labels that stop matching, template
//! update, conflicts skip/override, namespace filters, template deletion through its
//! finalizer; seed 002: the pause ConfigMap, unenrolling discards history), each scenario
//! written once and run on both clusters: the simulated one (which also has running pods,
//! metrics and forecasts) and the real API server, where the operator runs as the
//! ServiceAccount of `prescale install`. On the simulated cluster every request the
//! operator makes is also checked against the install's RBAC (`rbac.rs`).

mod actuation;
mod autonomous;
#[path = "../common/mod.rs"]
mod common;
mod dashboard;
mod horizontal;
mod horizontal_custom;
mod oom;
mod podautoscaler;
mod rbac;
mod resume;
mod revert;
mod scenarios;
mod webhook_pods;
mod webhook_scale;
mod webhook_scenarios;

use common::env::TestEnv;

/// `scenario::sim` and `scenario::real_server` for each scenario (of module `scenarios`
/// unless another is named, as in `actuation::actuation_requests`).
macro_rules! on_both_clusters {
    ($($scenario:ident: $roles:expr;)*) => {
        on_both_clusters! { $(scenarios::$scenario: $roles;)* }
    };
    ($($module:ident :: $scenario:ident: $roles:expr;)*) => {$(
        mod $scenario {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sim() {
                let env = TestEnv::sim(stringify!($scenario), $roles).await;
                $module::$scenario(&env).await;
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
                $module::$scenario(&env).await;
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
    dashboard_writes_need_authorisation: &["prod"];
    admission_webhooks: &["prod"];
}

on_both_clusters! {
    actuation::actuation_requests: &["prod"];
    revert::revert_finalizer: &["prod"];
    podautoscaler::hpa_strategy: &["prod"];
}

/// `scenario_sim` for each scenario run only on the simulated cluster: the real server has
/// no kubelet, hence no usage, no suggestion to apply and no pod that runs.
macro_rules! on_the_sim {
    ($($module:ident :: $scenario:ident: $roles:expr;)*) => {$(
        mod $scenario {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sim() {
                let env = TestEnv::sim(stringify!($scenario), $roles).await;
                $module::$scenario(&env).await;
                let ungranted = env.ungranted_requests();
                assert!(
                    ungranted.is_empty(),
                    "requests the install's RBAC does not grant: {ungranted:#?}"
                );
            }
        }
    )*};
}

on_the_sim! {
    autonomous::autonomous_in_place: &["prod"];
    revert::revert_restarts: &["prod"];
    resume::killed_mid_rollout_resumes: &["prod"];
    resume::selector_restarts_one_by_one: &["prod"];
    podautoscaler::kpa_burst_and_stable_window: &["prod"];
    podautoscaler::apa_band_and_ratio: &["prod"];
    podautoscaler::conflicts_and_bad_specs: &["prod"];
    horizontal_custom::hpa_custom_metrics: &["prod"];
}

/// Only on the simulated cluster: a suggestion needs usage, which the real server (no
/// kubelet) has none of.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_pods_sim() {
    let env = TestEnv::sim("webhook_pods", &["prod"]).await;
    webhook_pods::new_pods_start_with_the_recommendation(&env).await;
    let ungranted = env.ungranted_requests();
    assert!(
        ungranted.is_empty(),
        "requests the install's RBAC does not grant: {ungranted:#?}"
    );
}

/// OOM remediation on and off, on the simulated cluster (the only one with a kubelet).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oom_remediation_on_sim() {
    let env = TestEnv::sim("oom_on", &["prod"]).await;
    oom::oom_remediation(&env, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oom_remediation_off_sim() {
    let env = TestEnv::sim("oom_off", &["prod"]).await;
    oom::oom_remediation(&env, false).await;
}

/// The `*/scale` webhook on the real API server: the Kubernetes that decides what is
/// accepted (the simulated cluster's own scenario is `horizontal`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_scale_real_server() {
    let Some(env) = TestEnv::real("webhook_scale", &["prod"]).await else {
        return;
    };
    webhook_scale::scale_writes_below_the_floor_are_raised(&env).await;
}

/// Horizontal autonomous on the simulated cluster, its clock starting three hours before
/// the daily rise (`horizontal::START`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn horizontal_feeds_the_hpa_sim() {
    let start = horizontal::START.parse().unwrap();
    let env = TestEnv::sim_from("horizontal", &["prod"], start).await;
    horizontal::horizontal_feeds_the_hpa(&env).await;
    let ungranted = env.ungranted_requests();
    assert!(
        ungranted.is_empty(),
        "requests the install's RBAC does not grant: {ungranted:#?}"
    );
}

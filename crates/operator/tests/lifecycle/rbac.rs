//! The install's RBAC against what the code calls. Every `sim` scenario checks that each
//! request the operator made is granted (`TestEnv::ungranted_requests`); this test runs
//! every scenario on the simulated cluster and checks the other way: every verb of every
//! grant in `operator::rbac::GRANTS` was used by some scenario, so the ClusterRole and
//! Role hold nothing the code does not need.

use std::collections::BTreeSet;

use prescale_operator::rbac::GRANTS;

use crate::common::env::TestEnv;
use crate::scenarios;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_grant_is_used_by_the_scenarios() {
    let mut used: BTreeSet<(String, String, String)> = BTreeSet::new();
    let env = TestEnv::sim("rbac-lifecycle", &["prod", "other", "ops"]).await;
    scenarios::template_lifecycle(&env).await;
    used.extend(env.used_permissions());
    let env = TestEnv::sim("rbac-conflicts", &["prod", "ops"]).await;
    scenarios::conflicts_and_included_namespaces(&env).await;
    used.extend(env.used_permissions());
    let env = TestEnv::sim("rbac-pause", &["prod"]).await;
    scenarios::pause_and_invalid_spec(&env).await;
    used.extend(env.used_permissions());
    let env = TestEnv::sim("rbac-unenroll", &["prod"]).await;
    scenarios::unenroll_discards_history(&env).await;
    used.extend(env.used_permissions());
    let env = TestEnv::sim("rbac-kinds", &["prod"]).await;
    scenarios::workload_kinds(&env).await;
    used.extend(env.used_permissions());
    let env = TestEnv::sim("rbac-conflict", &["prod"]).await;
    scenarios::update_conflict_is_reread_and_retried(&env).await;
    used.extend(env.used_permissions());
    let env = TestEnv::sim("rbac-dashboard", &["prod"]).await;
    scenarios::dashboard_writes_need_authorisation(&env).await;
    used.extend(env.used_permissions());
    let env = TestEnv::sim("rbac-webhooks", &["prod"]).await;
    scenarios::admission_webhooks(&env).await;
    used.extend(env.used_permissions());
    // Its operator finds no certificate Secret: it creates one.
    let env = TestEnv::sim("rbac-webhook-pods", &["prod"]).await;
    crate::webhook_pods::new_pods_start_with_the_recommendation(&env).await;
    used.extend(env.used_permissions());
    let env = TestEnv::sim("rbac-actuation", &["prod"]).await;
    crate::actuation::actuation_requests(&env).await;
    used.extend(env.used_permissions());
    let env = TestEnv::sim("rbac-revert", &["prod"]).await;
    crate::revert::revert_finalizer(&env).await;
    used.extend(env.used_permissions());
    let env = TestEnv::sim("rbac-pa-kpa", &["prod"]).await;
    crate::podautoscaler::kpa_burst_and_stable_window(&env).await;
    used.extend(env.used_permissions());
    let env = TestEnv::sim("rbac-pa-apa", &["prod"]).await;
    crate::podautoscaler::apa_band_and_ratio(&env).await;
    used.extend(env.used_permissions());
    let env = TestEnv::sim("rbac-pa-hpa", &["prod"]).await;
    crate::podautoscaler::hpa_strategy(&env).await;
    used.extend(env.used_permissions());
    let env = TestEnv::sim("rbac-hpa-custom", &["prod"]).await;
    crate::horizontal_custom::hpa_custom_metrics(&env).await;
    used.extend(env.used_permissions());

    let unused: Vec<String> = GRANTS
        .iter()
        .flat_map(|g| {
            g.verbs
                .iter()
                .map(move |v| (g.group.to_string(), g.resource.to_string(), v.to_string()))
        })
        // A grant of resource `*` is used by a request on any resource of its group.
        .filter(|(group, resource, verb)| {
            !used
                .iter()
                .any(|(g, r, v)| g == group && v == verb && (resource == "*" || r == resource))
        })
        .map(|(group, resource, verb)| format!("{verb} {group}/{resource}"))
        .collect();
    assert!(
        unused.is_empty(),
        "granted but never used by the operator (remove the grant, or add the scenario that \
         needs it): {unused:?}\nused: {used:#?}"
    );
}

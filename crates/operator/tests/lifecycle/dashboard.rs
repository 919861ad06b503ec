//! The dashboard's writes are Kubernetes' to authorise (TokenReview, then a
//! SubjectAccessReview for `update` on the pause ConfigMap): no token or an unknown one
//! is 401, a ServiceAccount RBAC does not allow is 403, one it allows pauses and resumes.
//! On the real API server the tokens are real ServiceAccount tokens (TokenRequest); on
//! the simulated cluster they are registered with the sim, whose SubjectAccessReview reads
//! the same Role and RoleBinding.

use std::sync::Arc;

use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::{Api, PostParams};
use prescale_operator::pause::SYSTEM_CONFIG_MAP;
use prescale_store::MemoryStore;
use serde_json::{Value, json};

use crate::common::env::{Backend, TestEnv, apply, eventually};

/// A token that authenticates as ServiceAccount `ns/name`.
async fn token_for(env: &TestEnv, ns: &str, name: &str) -> String {
    let sa: ServiceAccount = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    let api: Api<ServiceAccount> = Api::namespaced(env.admin.clone(), ns);
    api.create(&PostParams::default(), &sa).await.unwrap();
    match env.backend {
        Backend::Real => {
            let req: TokenRequest = serde_json::from_value(
                json!({"spec": {"audiences": [], "expirationSeconds": 600}}),
            )
            .unwrap();
            let issued: TokenRequest = api
                .create_subresource("token", name, &PostParams::default(), &req)
                .await
                .unwrap();
            issued.status.expect("TokenRequest status").token
        }
        Backend::Sim => {
            let token = prescale_operator::dashboard::auth::random_token();
            let user = format!("system:serviceaccount:{ns}:{name}");
            let group = format!("system:serviceaccounts:{ns}");
            let sim = &env.sim.as_ref().unwrap().sim;
            sim.add_token(
                &token,
                &user,
                &["system:serviceaccounts", &group, "system:authenticated"],
            );
            token
        }
    }
}

async fn post_pause(url: &str, token: Option<&str>, paused: bool) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("{url}/api/v1/pause"))
        .json(&json!({"paused": paused}));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let code = resp.status().as_u16();
    (code, resp.json().await.unwrap_or_default())
}

pub async fn dashboard_writes_need_authorisation(env: &TestEnv) {
    let prod = env.ns("prod");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let operator = env.start_operator_with(Arc::new(MemoryStore::new()), |c| {
        c.dashboard = Some(listener)
    });
    let pauser = token_for(env, prod, "pauser").await;
    let viewer = token_for(env, prod, "viewer").await;
    apply(
        &env.admin,
        &json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                "metadata": {"name": "prescale-pause", "namespace": env.system_ns},
                "rules": [{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": [SYSTEM_CONFIG_MAP], "verbs": ["update"]}]}),
    )
    .await;
    apply(
        &env.admin,
        &json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"name": "prescale-pause", "namespace": env.system_ns},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "prescale-pause"},
                "subjects": [{"kind": "ServiceAccount", "name": "pauser", "namespace": prod}]}),
    )
    .await;
    eventually("the dashboard answers", 90, || {
        let url = url.clone();
        async move {
            match reqwest::get(format!("{url}/api/v1/pause")).await {
                Ok(r) if r.status() == 200 => Ok(()),
                Ok(r) => Err(r.status().to_string()),
                Err(e) => Err(e.to_string()),
            }
        }
    })
    .await;

    let (code, body) = post_pause(&url, None, true).await;
    assert_eq!(code, 401, "{body}");
    let (code, body) = post_pause(&url, Some("not-a-token"), true).await;
    assert_eq!(code, 401, "{body}");
    let (code, body) = post_pause(&url, Some(&viewer), true).await;
    assert_eq!(code, 403, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("viewer"),
        "{body}"
    );
    let read = || async {
        prescale_operator::run::read_pause(&env.admin, &env.system_ns)
            .await
            .unwrap()
    };
    assert!(!read().await.paused, "refused writes change nothing");

    let (code, body) = post_pause(&url, Some(&pauser), true).await;
    assert_eq!(code, 200, "{body}");
    assert!(read().await.paused);
    let state: Value = reqwest::get(format!("{url}/api/v1/pause"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["paused"], true, "{state}");
    let (code, body) = post_pause(&url, Some(&pauser), false).await;
    assert_eq!(code, 200, "{body}");
    assert!(!read().await.paused);
    operator.stop().await;
}

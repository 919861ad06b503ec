//! How the operator identifies itself to the API server: one User-Agent on every request
//! (audit logs, API Priority and Fairness, and the simulated cluster's request log tell
//! the operator's requests from everyone else's by it) and one field manager on every
//! write (`metadata.managedFields` says which fields the operator owns).

use http::HeaderValue;
use http::header::USER_AGENT as USER_AGENT_HEADER;

/// The User-Agent of every request the operator makes.
pub const USER_AGENT: &str = concat!("prescale-operator/", env!("CARGO_PKG_VERSION"));

/// The field manager of every write the operator makes (create, update, patch, apply).
pub const FIELD_MANAGER: &str = "prescale-operator";

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("finding the cluster (in-cluster config, KUBECONFIG or ~/.kube/config): {0}")]
    Infer(#[from] kube::config::InferConfigError),
    #[error("reading kubeconfig {path}: {source}")]
    Kubeconfig {
        path: std::path::PathBuf,
        source: kube::config::KubeconfigError,
    },
    #[error("building the client: {0}")]
    Build(#[from] kube::Error),
}

/// A client for `config` that identifies itself as the operator.
pub fn operator_client(mut config: kube::Config) -> Result<kube::Client, ClientError> {
    config.headers.retain(|(name, _)| name != USER_AGENT_HEADER);
    config
        .headers
        .push((USER_AGENT_HEADER, HeaderValue::from_static(USER_AGENT)));
    Ok(kube::Client::try_from(config)?)
}

/// The operator's client from the environment: in-cluster config, `KUBECONFIG` or
/// `~/.kube/config`.
pub async fn operator_client_from_env() -> Result<kube::Client, ClientError> {
    operator_client(kube::Config::infer().await?)
}

/// The operator's client from a kubeconfig file (tests, and tools acting as the operator).
pub async fn operator_client_from_kubeconfig(
    path: &std::path::Path,
) -> Result<kube::Client, ClientError> {
    let err = |source| ClientError::Kubeconfig {
        path: path.to_path_buf(),
        source,
    };
    let kubeconfig = kube::config::Kubeconfig::read_from(path).map_err(err)?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .map_err(err)?;
    operator_client(config)
}

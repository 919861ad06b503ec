//! `prescale pause`, `prescale resume`, `prescale status`: the system-wide pause (seed 002)
//! through the ConfigMap `thoras-operator-system-config`.
use std::process::ExitCode;

use anyhow::Context;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ListParams};
use prescale_api::AIScaleTarget;
use prescale_operator::pause::SYSTEM_CONFIG_MAP;
use prescale_operator::pause_switch::{affected, set_paused};
use prescale_operator::run::read_pause;

use crate::cmd::{output, report};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The operator's namespace (where the pause ConfigMap lives).
    #[arg(long, default_value = "prescale-system")]
    namespace: String,
}

#[derive(Debug, Clone, Copy)]
pub enum Verb {
    Pause,
    Resume,
    Status,
}

/// What `prescale crds` prints is not installed: said with how to install it.
fn crds_missing(server: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "the API server at {server} does not serve AIScaleTargets (thoras.ai/v1): install the \
         CRDs with `prescale crds | kubectl apply --server-side -f -`, or prescale itself with \
         `prescale install` or the Helm chart (docs/INSTALL.md)"
    )
}

/// `--namespace` names no namespace of the cluster: said with what the flag is for.
fn namespace_missing(namespace: &str, server: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "namespace {namespace} does not exist in the cluster at {server}, so no operator runs \
         there: --namespace names the operator's namespace (default prescale-system, created by \
         `prescale install` and the Helm chart)"
    )
}

fn is_not_found(err: &kube::Error) -> bool {
    report::api_status(err).is_some_and(|s| s.code == 404)
}

async fn autonomous_targets(client: &kube::Client, server: &str) -> anyhow::Result<usize> {
    match Api::<AIScaleTarget>::all(client.clone())
        .list(&ListParams::default())
        .await
    {
        Ok(targets) => Ok(affected(&targets.items)),
        Err(e) if is_not_found(&e) => Err(crds_missing(server)),
        Err(e) => Err(anyhow::Error::new(e).context(format!(
            "listing AIScaleTargets from the API server at {server}"
        ))),
    }
}

/// Whether the operator's namespace exists; `None` when the user may not read namespaces.
async fn namespace_exists(client: &kube::Client, namespace: &str) -> Option<bool> {
    Api::<Namespace>::all(client.clone())
        .get_opt(namespace)
        .await
        .ok()
        .map(|ns| ns.is_some())
}

pub fn run(verb: Verb, args: Args) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let config = kube::Config::infer().await.context(
            "finding the cluster: set KUBECONFIG, write ~/.kube/config, or run in a pod \
             (`prescale demo` and `prescale sim` write a kubeconfig)",
        )?;
        let server = config.cluster_url.to_string();
        let client = kube::Client::try_from(config)
            .with_context(|| format!("connecting to the API server at {server}"))?;
        let affected = autonomous_targets(&client, &server).await?;
        let namespace = &args.namespace;
        let paused = match verb {
            Verb::Status => {
                if namespace_exists(&client, namespace).await == Some(false) {
                    return Err(namespace_missing(namespace, &server));
                }
                let state = read_pause(&client, namespace)
                    .await
                    .context("reading the pause ConfigMap")?;
                if let Some(problem) = &state.problem {
                    output::errln!("warning: {problem}")?;
                }
                state.paused
            }
            Verb::Pause | Verb::Resume => {
                let paused = matches!(verb, Verb::Pause);
                match set_paused(&client, namespace, paused).await {
                    Ok(()) => paused,
                    Err(e) if is_not_found(&e) => {
                        return Err(namespace_missing(namespace, &server));
                    }
                    Err(e) => {
                        return Err(anyhow::Error::new(e).context(format!(
                            "writing ConfigMap {namespace}/{SYSTEM_CONFIG_MAP}"
                        )));
                    }
                }
            }
        };
        let state = if paused { "paused" } else { "running" };
        output::outln!(
            "autonomous scaling: {state} ({affected} autonomous AIScaleTarget(s) affected)"
        )?;
        Ok(ExitCode::SUCCESS)
    })
}

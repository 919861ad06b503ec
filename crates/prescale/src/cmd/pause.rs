//! `prescale pause`, `prescale resume`, `prescale status`: the system-wide pause (seed 002)
//! through the ConfigMap `thoras-operator-system-config`.
use std::process::ExitCode;

use anyhow::Context;
use kube::api::{Api, ListParams};
use prescale_api::AIScaleTarget;
use prescale_operator::pause::SYSTEM_CONFIG_MAP;
use prescale_operator::pause_switch::{affected, set_paused};
use prescale_operator::run::read_pause;

use crate::cmd::output;

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

async fn autonomous_targets(client: &kube::Client) -> anyhow::Result<usize> {
    let targets = Api::<AIScaleTarget>::all(client.clone())
        .list(&ListParams::default())
        .await
        .context("listing AIScaleTargets")?;
    Ok(affected(&targets.items))
}

pub fn run(verb: Verb, args: Args) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let client = kube::Client::try_default()
            .await
            .context("connecting to the cluster (kubeconfig)")?;
        let affected = autonomous_targets(&client).await?;
        let paused = match verb {
            Verb::Status => {
                let state = read_pause(&client, &args.namespace)
                    .await
                    .context("reading the pause ConfigMap")?;
                if let Some(problem) = &state.problem {
                    output::errln!("warning: {problem}")?;
                }
                state.paused
            }
            Verb::Pause | Verb::Resume => {
                let paused = matches!(verb, Verb::Pause);
                set_paused(&client, &args.namespace, paused)
                    .await
                    .with_context(|| {
                        format!("writing ConfigMap {}/{SYSTEM_CONFIG_MAP}", args.namespace)
                    })?;
                paused
            }
        };
        let state = if paused { "paused" } else { "running" };
        output::outln!(
            "autonomous scaling: {state} ({affected} autonomous AIScaleTarget(s) affected)"
        )?;
        Ok(ExitCode::SUCCESS)
    })
}

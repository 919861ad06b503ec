//! `prescale pause`, `prescale resume`, `prescale status`: the system-wide pause (seed 002)
//! through the ConfigMap `thoras-operator-system-config`.
use std::process::ExitCode;

use anyhow::Context;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, ObjectMeta, PostParams};
use prescale_api::AIScaleTarget;
use prescale_api::mode::Scaling;
use prescale_operator::pause::{SYSTEM_CONFIG_MAP, config_map_data};
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
    Ok(targets
        .items
        .iter()
        .filter(|t| {
            [
                t.spec.horizontal.as_ref().and_then(|h| h.mode.as_ref()),
                t.spec.vertical.as_ref().and_then(|v| v.mode.as_ref()),
            ]
            .into_iter()
            .flatten()
            .any(|m| m.scaling() == Some(Scaling::Autonomous))
        })
        .count())
}

pub fn run(verb: Verb, args: Args) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let client = kube::Client::try_default()
            .await
            .context("connecting to the cluster (kubeconfig)")?;
        let affected = autonomous_targets(&client).await?;
        let api: Api<ConfigMap> = Api::namespaced(client.clone(), &args.namespace);
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
                let data = config_map_data(paused);
                match api
                    .get_opt(SYSTEM_CONFIG_MAP)
                    .await
                    .context("reading the pause ConfigMap")?
                {
                    Some(mut cm) => {
                        cm.data.get_or_insert_with(Default::default).extend(data);
                        api.replace(SYSTEM_CONFIG_MAP, &PostParams::default(), &cm)
                            .await
                    }
                    None => {
                        let cm = ConfigMap {
                            metadata: ObjectMeta {
                                name: Some(SYSTEM_CONFIG_MAP.into()),
                                ..Default::default()
                            },
                            data: Some(data),
                            ..Default::default()
                        };
                        api.create(&PostParams::default(), &cm).await
                    }
                }
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

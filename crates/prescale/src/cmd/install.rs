//! `prescale install`: print a complete install manifest. Flags mirror seed 003's Helm values.
use std::process::ExitCode;

use prescale_operator::install::{IMAGE_REGISTRY, InstallOptions, install_objects};

use crate::cmd::output;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Namespace of the operator.
    #[arg(long, default_value = "prescale-system")]
    namespace: String,
    /// Registry (and path) to pull images from (Helm: imageCredentials.registry).
    #[arg(long, default_value = IMAGE_REGISTRY)]
    image_registry: String,
    /// Image tag (Helm: image.tag; default: the prescale version, the chart's appVersion).
    #[arg(long, default_value = env!("CARGO_PKG_VERSION"))]
    image_tag: String,
    /// Existing docker-registry Secret used to pull images (Helm: imageCredentials.secretRef).
    #[arg(long)]
    image_pull_secret: Option<String>,
    /// Operator replicas (2 is safe: leader election). More than one needs --postgres-secret.
    #[arg(long, default_value_t = 1)]
    operator_replicas: u32,
    /// Separate forecast worker pods; 0 forecasts inside the operator only. Needs
    /// --postgres-secret. (Helm: thorasForecast.worker.replicas counts the processes that
    /// forecast, the operator included, so it is this plus one.)
    #[arg(long, default_value_t = 0)]
    worker_replicas: u32,
    /// Secret with key `url` holding a PostgreSQL connection string for the history store
    /// (Helm: historyStore.type external, historyStore.external.secretRef).
    #[arg(long)]
    postgres_secret: Option<String>,
    /// Keep history on a PersistentVolumeClaim (Helm: metricsCollector.persistence.enabled).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    persistence_enabled: bool,
    /// Size of the claim (Helm: metricsCollector.persistence.pvcStorageRequestSize).
    #[arg(long, default_value = "5Gi")]
    persistence_size: String,
    /// StorageClass of the claim (Helm: metricsCollector.persistence.storageClassName).
    #[arg(long)]
    storage_class_name: Option<String>,
    /// Bind the claim to this existing PersistentVolume (Helm: metricsCollector.persistence.volumeName).
    #[arg(long)]
    volume_name: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let opts = InstallOptions {
        namespace: args.namespace,
        image_registry: args.image_registry,
        image_tag: args.image_tag,
        image_pull_secret: args.image_pull_secret,
        operator_replicas: args.operator_replicas,
        worker_replicas: args.worker_replicas,
        postgres_secret: args.postgres_secret,
        persistence_enabled: args.persistence_enabled,
        persistence_size: args.persistence_size,
        storage_class_name: args.storage_class_name,
        volume_name: args.volume_name,
    };
    let crds = prescale_api::crd::crds()
        .into_iter()
        .map(serde_json::to_value)
        .collect::<Result<Vec<_>, _>>()?;
    for object in install_objects(&opts, crds)? {
        output::out!("---\n{}", serde_saphyr::to_string(&object)?)?;
    }
    Ok(ExitCode::SUCCESS)
}

//! `prescale operator`: run the controllers against the cluster of the current kubeconfig
//! (in-cluster, `KUBECONFIG`, or `~/.kube/config`).
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use prescale_operator::run::{OperatorConfig, run as run_operator};
use prescale_store::{FileStore, HistoryStore, MemoryStore};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The operator's own namespace (Lease, pause ConfigMap). Defaults to the pod's
    /// namespace, else prescale-system.
    #[arg(long, env = "POD_NAMESPACE")]
    pub namespace: Option<String>,
    /// History store: a file path for the embedded store, or `memory` (lost on exit).
    #[arg(long, env = "PRESCALE_STORE", default_value = ".prescale/history.log")]
    pub store: String,
    /// Address of /metrics, /healthz and /readyz.
    #[arg(long, default_value = "0.0.0.0:8080")]
    pub metrics_addr: SocketAddr,
    /// Seconds between reconcile passes.
    #[arg(long, default_value_t = 5.0)]
    pub interval: f64,
    /// Prometheus to backfill history from. Not implemented yet: refused rather than ignored.
    #[arg(long)]
    pub prometheus_url: Option<String>,
}

/// The store the controllers use, and the same store as a `FileStore` when it is the
/// embedded one (so it can be compacted).
type OpenedStore = (Arc<dyn HistoryStore>, Option<Arc<FileStore>>);

/// Opens the history store.
pub fn open_store(spec: &str) -> anyhow::Result<OpenedStore> {
    if spec == "memory" {
        return Ok((Arc::new(MemoryStore::new()), None));
    }
    let path = PathBuf::from(spec);
    let store =
        Arc::new(FileStore::open(&path).with_context(|| format!("--store {}", path.display()))?);
    Ok((store.clone(), Some(store)))
}

/// Folds old samples into 5-minute buckets and rewrites the snapshot, once an hour.
fn spawn_compaction(store: Arc<FileStore>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(3600));
        loop {
            every.tick().await;
            let store = store.clone();
            let now = jiff::Timestamp::now().as_second();
            let retention = prescale_store::retention::Retention::default();
            match tokio::task::spawn_blocking(move || store.compact(now, retention)).await {
                Ok(Ok(bytes)) => tracing::info!(bytes, "history compacted"),
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "history compaction failed; the log keeps every sample")
                }
                Err(e) => tracing::error!(error = %e, "history compaction did not finish"),
            }
        }
    });
}

pub fn namespace(flag: Option<String>) -> String {
    flag.or_else(|| {
        std::fs::read_to_string("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
            .ok()
            .map(|s| s.trim().to_string())
    })
    .filter(|s| !s.is_empty())
    .unwrap_or_else(|| "prescale-system".into())
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.prometheus_url.is_some() {
        anyhow::bail!("--prometheus-url: the Prometheus backfill is not built yet; run without it");
    }
    if !(args.interval.is_finite() && args.interval > 0.0) {
        anyhow::bail!(
            "--interval {} must be a positive number of seconds",
            args.interval
        );
    }
    let (store, compactable) = open_store(&args.store)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let client = kube::Client::try_default()
            .await
            .context("connecting to the cluster (in-cluster config or kubeconfig)")?;
        if let Some(file_store) = compactable {
            spawn_compaction(file_store);
        }
        let config = OperatorConfig {
            namespace: namespace(args.namespace),
            metrics_addr: Some(args.metrics_addr),
            interval: Duration::from_secs_f64(args.interval),
            identity: std::env::var("POD_NAME")
                .unwrap_or_else(|_| format!("prescale-{}", std::process::id())),
        };
        tracing::info!(namespace = %config.namespace, "prescale operator starting");
        run_operator(client, store, config, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("running the operator")?;
        Ok(ExitCode::SUCCESS)
    })
}

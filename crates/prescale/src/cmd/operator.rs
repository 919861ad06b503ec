//! `prescale operator`: run the controllers against the cluster of the current kubeconfig
//! (in-cluster, `KUBECONFIG`, or `~/.kube/config`).
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use prescale_operator::backfill::prometheus::Prometheus;
use prescale_operator::backfill::{Backfill, BackfillConfig};
use prescale_operator::run::{OperatorConfig, run as run_operator};
use prescale_operator::scope::Scope;
use prescale_operator::target::claims::Claims;
use prescale_store::retention::Retention;
use prescale_store::{FileStore, HistoryStore, MemoryStore, PgStore};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The operator's own namespace (Lease, pause ConfigMap). Defaults to the pod's
    /// namespace, else prescale-system.
    #[arg(long, env = "POD_NAMESPACE")]
    pub namespace: Option<String>,
    /// History store: a file path for the embedded store, a `postgres://` URL for
    /// PostgreSQL (several workers share it), or `memory` (lost on exit).
    #[arg(long, env = "PRESCALE_STORE", default_value = ".prescale/history.log")]
    pub store: String,
    /// Connections to PostgreSQL when --store is a postgres:// URL.
    #[arg(long, default_value_t = 8)]
    pub store_connections: usize,
    /// Address of /metrics, /healthz and /readyz.
    #[arg(long, default_value = "0.0.0.0:8080")]
    pub metrics_addr: SocketAddr,
    /// The safety net: every object is reconciled at least this often, changed or not
    /// (work is otherwise triggered by watches and each target's next forecast).
    #[arg(long, default_value = "5m", value_parser = parse_interval)]
    pub resync: Duration,
    /// Prometheus to backfill history from when a workload is enrolled (cAdvisor's
    /// container_cpu_usage_seconds_total and container_memory_working_set_bytes), e.g.
    /// http://prometheus.monitoring:9090.
    #[arg(long, env = "PRESCALE_PROMETHEUS_URL")]
    pub prometheus_url: Option<String>,
    /// Time between collections from metrics.k8s.io (Go-style duration: 15s, 30s, 1m).
    #[arg(long, default_value = "15s", value_parser = parse_interval)]
    pub collect_interval: Duration,
    /// Days raw samples are kept before they are folded into 5-minute buckets.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=365))]
    pub history_raw_days: u32,
    /// Days 5-minute buckets are kept.
    #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub history_days: u32,
    /// Days of history to backfill from Prometheus.
    #[arg(long, default_value_t = 14, value_parser = clap::value_parser!(u32).range(1..=90))]
    pub backfill_days: u32,
    /// Manage only these namespaces (comma-separated); default: every namespace.
    #[arg(long, value_delimiter = ',', value_parser = namespace_name)]
    pub watch_namespaces: Vec<String>,
    /// Manage only the ClusterAIScaleTemplates whose labels match this selector
    /// (`key=value[,key=value]`); default: every template.
    #[arg(long, value_parser = prescale_operator::scope::parse_template_selector)]
    pub template_selector: Option<String>,
    /// Where the dashboard listens (docs/DASHBOARD.md); loopback by default — expose it
    /// with `kubectl port-forward` or a Service. `off` serves none.
    #[arg(long, default_value = "127.0.0.1:8090", value_parser = parse_listen)]
    pub dashboard_addr: Listen,
    /// Serve the admission webhooks (pod requests at creation, validation of thoras.ai
    /// objects). `false` leaves the configurations of `prescale install` without a server;
    /// their failurePolicy Ignore admits everything unchanged.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub webhooks: bool,
    /// The webhooks' HTTPS listen address (the install's Service port 443 points at 9443).
    #[arg(long, default_value = prescale_operator::webhook::DEFAULT_LISTEN)]
    pub webhook_addr: SocketAddr,
    /// Register the webhooks by URL instead of the install's Service, for an operator
    /// running outside the cluster, e.g. https://127.0.0.1:9443 (the certificate then
    /// also names that host).
    #[arg(long)]
    pub webhook_url: Option<String>,
    /// `self-signed`: the operator issues, rotates and registers its certificate (Secret
    /// prescale-webhook-tls). `external`: another tool (cert-manager) writes that Secret
    /// and the caBundle; the operator only reads it.
    #[arg(long, default_value = "self-signed", value_parser = ["self-signed", "external"])]
    pub webhook_certs: String,
}

/// A listen address, or `off`.
#[derive(Debug, Clone, Copy)]
pub struct Listen(pub Option<SocketAddr>);

fn parse_listen(s: &str) -> Result<Listen, String> {
    if s == "off" {
        return Ok(Listen(None));
    }
    s.parse()
        .map(|a| Listen(Some(a)))
        .map_err(|e| format!("{s}: {e} (expected HOST:PORT or `off`)"))
}

/// A namespace name as the API server accepts it: a typo such as `Shop` would otherwise
/// watch a namespace that cannot exist, and the operator would manage nothing, silently.
fn namespace_name(text: &str) -> Result<String, String> {
    use prescale_api::validate::{NameKind, name_problem};
    match name_problem(NameKind::Label, text) {
        Some(problem) => Err(problem),
        None => Ok(text.to_string()),
    }
}

/// Binds the dashboard's listener, saying which flag is wrong when it cannot: `flag` is
/// the flag and value as the user wrote them (`--dashboard-addr 127.0.0.1:8090`), `fix`
/// what to do instead.
pub async fn bind_dashboard(
    addr: Option<SocketAddr>,
    flag: &str,
    fix: &str,
) -> anyhow::Result<Option<tokio::net::TcpListener>> {
    match addr {
        Some(a) => Ok(Some(tokio::net::TcpListener::bind(a).await.map_err(
            |e| anyhow::anyhow!("{flag}: cannot listen on {a}: {e} ({fix})"),
        )?)),
        None => Ok(None),
    }
}

/// The history store, and the same store as a `PgStore` when it is PostgreSQL (workers
/// split the targets through it).
type OpenedStore = (Arc<dyn HistoryStore>, Option<Arc<PgStore>>);

/// Opens the history store `spec` names (see `--store`).
pub fn open_store(spec: &str, connections: usize) -> anyhow::Result<OpenedStore> {
    if spec == "memory" {
        return Ok((Arc::new(MemoryStore::new()), None));
    }
    if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
        let pg = Arc::new(PgStore::connect(spec, connections).context("--store")?);
        return Ok((pg.clone(), Some(pg)));
    }
    let path = PathBuf::from(spec);
    Ok((
        Arc::new(FileStore::open(&path).with_context(|| format!("--store {}", path.display()))?),
        None,
    ))
}

/// Folds old samples into 5-minute buckets (and, for the embedded store, rewrites its
/// snapshot), once an hour.
fn spawn_retention(store: Arc<dyn HistoryStore>, retention: Retention) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(3600));
        loop {
            every.tick().await;
            let store = store.clone();
            let now = jiff::Timestamp::now().as_second();
            match tokio::task::spawn_blocking(move || store.apply_retention(now, retention)).await {
                Ok(Ok(())) => tracing::info!("history retention applied"),
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "history retention failed; raw samples are kept")
                }
                Err(e) => tracing::error!(error = %e, "history retention did not finish"),
            }
        }
    });
}

fn parse_interval(s: &str) -> Result<Duration, String> {
    let d = prescale_api::duration::parse_duration(s).map_err(|e| e.to_string())?;
    if d < Duration::from_secs(1) {
        return Err(format!("{s} is shorter than 1s"));
    }
    Ok(d)
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
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

/// `prescale operator`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    run_as(args, false)
}

/// `prescale worker`: the target passes only, on the targets this worker claims in the
/// shared PostgreSQL store; start as many as throughput needs.
pub fn run_worker(args: Args) -> anyhow::Result<ExitCode> {
    run_as(args, true)
}

fn run_as(args: Args, worker_only: bool) -> anyhow::Result<ExitCode> {
    let (store, pg) = open_store(&args.store, args.store_connections)?;
    if worker_only && pg.is_none() {
        anyhow::bail!(
            "--store {}: a worker shares its targets through PostgreSQL; give a postgres:// URL",
            args.store
        );
    }
    let identity = std::env::var("POD_NAME")
        .unwrap_or_else(|_| format!("prescale-{}-{}", hostname(), std::process::id()));
    // Claims are renewed every 5 s; a worker silent for 15 s is presumed gone.
    let claims = pg.map(|store| {
        Arc::new(Claims {
            store,
            worker: identity.clone(),
            ttl: Duration::from_secs(15),
        })
    });
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let client = prescale_operator::client::operator_client_from_env()
            .await
            .context("connecting to the cluster")?;
        // Retention runs in the operator; with PostgreSQL its advisory lock makes a second
        // runner harmless, but workers leave it to the operator.
        if !worker_only {
            spawn_retention(
                store.clone(),
                Retention {
                    raw_secs: i64::from(args.history_raw_days) * 86_400,
                    aggregate_secs: i64::from(args.history_days.max(args.history_raw_days))
                        * 86_400,
                    ..Retention::default()
                },
            );
        }
        let backfill = match &args.prometheus_url {
            Some(url) => Some(Backfill::new(
                Prometheus::new(url)?,
                store.clone(),
                BackfillConfig {
                    days: args.backfill_days,
                    // Points as close as live collection's, but no closer than cAdvisor's
                    // usual 15 s scrape.
                    step_secs: (args.collect_interval.as_secs() as i64).max(15),
                    ..BackfillConfig::default()
                },
            )),
            None => None,
        };
        let config = OperatorConfig {
            namespace: namespace(args.namespace),
            metrics_addr: Some(args.metrics_addr),
            resync: args.resync,
            identity,
            backfill,
            collect_interval: args.collect_interval,
            claims,
            worker_only,
            scope: Scope {
                namespaces: (!args.watch_namespaces.is_empty())
                    .then(|| args.watch_namespaces.iter().cloned().collect()),
                template_selector: args.template_selector.clone(),
            },
            clock: Arc::new(prescale_operator::clock::SystemClock),
            dashboard: if worker_only {
                None
            } else {
                let addr = args.dashboard_addr.0;
                let flag = format!(
                    "--dashboard-addr {}",
                    addr.map(|a| a.to_string()).unwrap_or_default()
                );
                bind_dashboard(addr, &flag, "pass a free HOST:PORT, or `off`").await?
            },
            // Workers serve no webhooks: the operator's replicas behind the Service do.
            webhook: (args.webhooks && !worker_only).then(|| {
                prescale_operator::webhook::WebhookConfig {
                    listen: args.webhook_addr,
                    certs: if args.webhook_certs == "external" {
                        prescale_operator::webhook::CertSource::External
                    } else {
                        prescale_operator::webhook::CertSource::SelfSigned
                    },
                    url: args.webhook_url.clone(),
                    service: prescale_operator::install::APP.into(),
                    refresh: Duration::from_secs(600),
                }
            }),
        };
        tracing::info!(namespace = %config.namespace, worker_only, "prescale starting");
        run_operator(client, store, config, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("running the operator")?;
        Ok(ExitCode::SUCCESS)
    })
}

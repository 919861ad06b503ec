//! `prescale bench controllers`: N labelled workloads on the simulated cluster, one
//! ClusterAIScaleTemplate matching them all, and a real `prescale operator` process
//! against it. Measures how long until every workload has its AIScaleTarget, the
//! operator's peak resident memory, and the API writes of passes over unchanged objects.
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use prescale_sim::testing::TestCluster;
use serde_json::json;

use crate::cmd::output;

#[derive(Debug, clap::Args)]
pub struct ControllersArgs {
    /// Workloads (Deployments labelled thoras.ai/enabled=true).
    #[arg(long, default_value_t = 5000)]
    workloads: usize,
    /// Namespaces they are spread over.
    #[arg(long, default_value_t = 50)]
    namespaces: usize,
    /// Seconds between the operator's passes.
    #[arg(long, default_value_t = 2.0)]
    interval: f64,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 300)]
    timeout_secs: u64,
    #[arg(long)]
    json: bool,
}

const WRITE_VERBS: [&str; 4] = ["create", "update", "patch", "delete"];

/// Writes to anything but the leader's Lease (renewed every pass by design).
fn writes(cluster: &TestCluster) -> u64 {
    cluster
        .sim
        .request_counts()
        .iter()
        .filter(|((resource, verb), _)| {
            WRITE_VERBS.contains(&verb.as_str()) && resource != "leases"
        })
        .map(|(_, n)| n)
        .sum()
}

fn managed_targets(cluster: &TestCluster) -> usize {
    let key = ("thoras.ai".to_string(), "aiscaletargets".to_string());
    cluster
        .sim
        .store()
        .list(&key, None)
        .iter()
        .filter(|a| {
            a.pointer("/metadata/labels/thoras.ai~1managed-by-template")
                .is_some()
        })
        .count()
}

/// Peak and current resident memory of a process, in MB, from /proc.
fn memory_mb(pid: u32) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))?
            .split_whitespace()
            .nth(1)?
            .parse::<f64>()
            .ok()
            .map(|kb| kb / 1024.0)
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

fn seed(cluster: &TestCluster, args: &ControllersArgs) -> anyhow::Result<()> {
    let mut store = cluster.sim.store();
    for crd in prescale_api::crd::crds() {
        store.create(
            &(
                "apiextensions.k8s.io".into(),
                "customresourcedefinitions".into(),
            ),
            "",
            serde_json::to_value(crd)?,
        )?;
    }
    let namespaces = args.namespaces.max(1);
    for ns in std::iter::once("prescale-system".to_string())
        .chain((0..namespaces).map(|i| format!("team-{i}")))
    {
        store.create(
            &("".into(), "namespaces".into()),
            "",
            json!({"metadata": {"name": ns}}),
        )?;
    }
    for w in 0..args.workloads {
        let name = format!("svc-{w}");
        store.create(
            &("apps".into(), "deployments".into()),
            &format!("team-{}", w % namespaces),
            json!({
                "metadata": {"name": name, "labels": {"thoras.ai/enabled": "true"}},
                "spec": {"replicas": 0, "selector": {"matchLabels": {"app": name}},
                         "template": {"metadata": {"labels": {"app": name}},
                                      "spec": {"containers": [{"name": "app", "image": "app:1",
                                               "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}]}}}
            }),
        )?;
    }
    Ok(())
}

pub fn run(args: ControllersArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.interval.is_finite() && args.interval > 0.0,
        "--interval must be a positive number of seconds"
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    runtime.block_on(async {
        // A frozen clock and Deployments of zero replicas: the benchmark is about the
        // template and target controllers over many objects, not pods or the load model.
        let cluster = TestCluster::start_with(jiff::Timestamp::now(), 0.0).await?;
        seed(&cluster, &args)?;
        let kubeconfig = dir.path().join("kubeconfig");
        cluster.write_kubeconfig(&kubeconfig)?;
        let metrics_port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let log = std::fs::File::create(dir.path().join("operator.log"))?;
        let mut operator = Command::new(std::env::current_exe()?)
            .args(["operator", "--store", "memory", "--namespace", "prescale-system"])
            .args(["--interval", &args.interval.to_string()])
            .args(["--metrics-addr", &format!("127.0.0.1:{metrics_port}")])
            .env("KUBECONFIG", &kubeconfig)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("starting `prescale operator`")?;
        let result = measure(&cluster, &args, operator.id()).await;
        let _ = operator.kill();
        let _ = operator.wait();
        let (elapsed, resync_writes, (peak_mb, rss_mb)) = result.with_context(|| {
            format!(
                "operator log: {}",
                std::fs::read_to_string(dir.path().join("operator.log"))
                    .unwrap_or_default()
                    .lines()
                    .rev()
                    .take(5)
                    .collect::<Vec<_>>()
                    .join(" | ")
            )
        })?;
        if args.json {
            output::outln!(
                "{}",
                json!({"workloads": args.workloads, "namespaces": args.namespaces,
                       "all_targets_s": elapsed, "operator_peak_rss_mb": peak_mb, "operator_rss_mb": rss_mb,
                       "resync_writes": resync_writes})
            )?;
        } else {
            output::outln!(
                "{} workloads: every AIScaleTarget after {elapsed:.1} s; operator peak RSS {peak_mb:.0} MB (now {rss_mb:.0} MB); {resync_writes} API writes in 3 passes over unchanged objects",
                args.workloads
            )?;
        }
        Ok(ExitCode::SUCCESS)
    })
}

async fn measure(
    cluster: &TestCluster,
    args: &ControllersArgs,
    pid: u32,
) -> anyhow::Result<(f64, u64, (f64, f64))> {
    // The operator is up once it holds its Lease.
    let began = Instant::now();
    let lease_key = ("coordination.k8s.io".to_string(), "leases".to_string());
    while cluster.sim.store().list(&lease_key, None).is_empty() {
        anyhow::ensure!(
            began.elapsed() < Duration::from_secs(30),
            "the operator did not take its Lease in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cluster.sim.store().create(
        &("thoras.ai".into(), "clusteraiscaletemplates".into()),
        "",
        json!({"apiVersion": "thoras.ai/v1", "kind": "ClusterAIScaleTemplate",
               "metadata": {"name": "everything-enabled"},
               "spec": {"selector": {"matchLabels": {"thoras.ai/enabled": "true"}},
                        "template": {"model": {"forecast_blocks": "15m", "forecast_interval": "15m", "mode": "balanced"},
                                     "vertical": {"mode": "recommendation",
                                                  "containers": [{"name": "*", "cpu": {"lowerbound": "10m"}}]}}}}),
    )?;
    let start = Instant::now();
    let progress = indicatif::ProgressBar::new(args.workloads as u64);
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        progress.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    loop {
        let n = managed_targets(cluster);
        progress.set_position(n as u64);
        if n >= args.workloads {
            break;
        }
        anyhow::ensure!(
            start.elapsed() < Duration::from_secs(args.timeout_secs),
            "{n} of {} AIScaleTargets after {} s",
            args.workloads,
            args.timeout_secs
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    progress.finish_and_clear();
    // Let the passes that created and first wrote the targets settle, then count writes
    // over three more passes in which nothing changes.
    let pass = Duration::from_secs_f64(args.interval);
    let mut last = writes(cluster);
    loop {
        tokio::time::sleep(pass * 2).await;
        let now = writes(cluster);
        if now == last || start.elapsed() > Duration::from_secs(args.timeout_secs) {
            break;
        }
        last = now;
    }
    let before = writes(cluster);
    tokio::time::sleep(pass * 3).await;
    let resync_writes = writes(cluster) - before;
    let memory = memory_mb(pid).context("reading the operator's memory from /proc")?;
    Ok((elapsed, resync_writes, memory))
}

//! `prescale bench controllers`: N labelled workloads on the simulated cluster, one
//! ClusterAIScaleTemplate matching them all (autonomous vertical mode), and a real
//! `prescale operator` process against it. Measures how long until every workload has
//! its AIScaleTarget, the operator's peak resident memory, the requests it makes in a
//! minute in which nothing changes (writes among them, across several resyncs), and how
//! long a written pause ConfigMap takes to reach every autonomous target.
use std::collections::{BTreeMap, HashSet};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use prescale_sim::server::request_log::RequestRecord;
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
    /// Pods of each workload. 0 measures the controllers alone; with pods the operator
    /// also watches them, reconciles with them and collects their usage from
    /// metrics.k8s.io (`metrics_requests_per_min`).
    #[arg(long, default_value_t = 0)]
    replicas: u32,
    /// The operator's resync (the safety net), in seconds: the steady minute spans
    /// several.
    #[arg(long, default_value_t = 10)]
    resync_secs: u64,
    /// Seconds of steady state to count requests over.
    #[arg(long, default_value_t = 60)]
    steady_secs: u64,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 300)]
    timeout_secs: u64,
    #[arg(long)]
    json: bool,
}

const WRITE_VERBS: [&str; 4] = ["create", "update", "patch", "delete"];

/// What the operator asked for in a window, from the simulated cluster's request log
/// (the benchmark itself reads the cluster in-process, so every logged request is the
/// operator's).
#[derive(Debug, Default)]
struct Requests {
    /// Every request but watches and metrics.k8s.io, Lease renewals included.
    non_watch: u64,
    metrics: u64,
    /// Writes to anything but the Lease (renewed on purpose).
    writes: u64,
    by_kind: BTreeMap<String, u64>,
}

fn count(log: &[RequestRecord]) -> Requests {
    let mut r = Requests::default();
    for req in log.iter().filter(|q| q.verb != "watch") {
        if req.group == "metrics.k8s.io" {
            r.metrics += 1;
            continue;
        }
        r.non_watch += 1;
        if WRITE_VERBS.contains(&req.verb.as_str()) && req.resource != "leases" {
            r.writes += 1;
        }
        *r.by_kind
            .entry(format!("{} {}", req.verb, req.resource))
            .or_default() += 1;
    }
    r
}

/// The AIScaleTargets the template made, and those reporting the pause, followed through
/// the simulated cluster's event stream in-process: listing 5,000 objects every few
/// milliseconds would hold the store's lock and slow the very server being measured.
#[derive(Default)]
struct Tally {
    managed: HashSet<String>,
    paused: HashSet<String>,
}

fn targets_key() -> (String, String) {
    ("thoras.ai".to_string(), "aiscaletargets".to_string())
}

impl Tally {
    fn see(&mut self, namespace: &str, obj: &serde_json::Value, deleted: bool) {
        let id = format!(
            "{namespace}/{}",
            obj["metadata"]["name"].as_str().unwrap_or_default()
        );
        let managed = !deleted
            && obj
                .pointer("/metadata/labels/thoras.ai~1managed-by-template")
                .is_some();
        let paused = !deleted
            && obj
                .pointer("/status/conditions")
                .and_then(|c| c.as_array())
                .is_some_and(|cs| {
                    cs.iter()
                        .any(|c| c["type"] == "AbleToScale" && c["reason"] == "ScalingPaused")
                });
        for (set, member) in [(&mut self.managed, managed), (&mut self.paused, paused)] {
            if member {
                set.insert(id.clone());
            } else {
                set.remove(&id);
            }
        }
    }

    /// Once, from a full list (at the start, or after falling behind the stream).
    fn from_store(cluster: &TestCluster) -> Tally {
        let mut t = Tally::default();
        for obj in cluster.sim.store().list(&targets_key(), None) {
            let ns = obj["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            t.see(&ns, &obj, false);
        }
        t
    }

    /// Follows the events of `rx` until `done` holds, or fails after `timeout`.
    async fn until(
        &mut self,
        cluster: &TestCluster,
        rx: &mut tokio::sync::broadcast::Receiver<std::sync::Arc<prescale_sim::store::Event>>,
        timeout: Duration,
        done: impl Fn(&Tally) -> bool,
        progress: impl Fn(&Tally),
    ) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        while !done(self) {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Err(_) => anyhow::bail!(
                    "after {} s: {} targets, {} reporting the pause",
                    timeout.as_secs(),
                    self.managed.len(),
                    self.paused.len()
                ),
                Ok(Ok(e)) if e.key == targets_key() => {
                    self.see(&e.namespace, &e.object, e.kind == "DELETED");
                    progress(self);
                }
                Ok(Ok(_)) => {}
                Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {
                    *self = Tally::from_store(cluster);
                }
                Ok(Err(e)) => anyhow::bail!("the cluster's event stream ended: {e}"),
            }
        }
        Ok(())
    }
}

fn seed(cluster: &TestCluster, args: &ControllersArgs) -> anyhow::Result<()> {
    let mut store = cluster.sim.store();
    super::seed_crds_and_namespaces(&mut store, args.namespaces)?;
    let namespaces = args.namespaces.max(1);
    for w in 0..args.workloads {
        let name = format!("svc-{w}");
        store.create(
            &("apps".into(), "deployments".into()),
            &format!("team-{}", w % namespaces),
            json!({
                "metadata": {"name": name, "labels": {"thoras.ai/enabled": "true"}},
                "spec": {"replicas": args.replicas, "selector": {"matchLabels": {"app": name}},
                         "template": {"metadata": {"labels": {"app": name}},
                                      "spec": {"containers": [{"name": "app", "image": "app:1",
                                               "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}]}}}
            }),
        )?;
    }
    Ok(())
}

/// The figures of one run.
struct Figures {
    all_targets_s: f64,
    steady: Requests,
    steady_secs: f64,
    pause_halt_ms: f64,
    /// Until the operator's /metrics shows the pause: from then on it starts no action
    /// (the target controller checks the pause right before each one).
    pause_seen_ms: f64,
    memory: (f64, f64),
}

pub fn run(args: ControllersArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    runtime.block_on(async {
        // A frozen clock, and by default Deployments of zero replicas: the benchmark is
        // about the template and target controllers over many objects, not the load model.
        // With pods, the cluster runs in real time: its controllers make and start them
        // and serve their usage.
        let speed = if args.replicas > 0 { 1.0 } else { 0.0 };
        let cluster = TestCluster::start_with(jiff::Timestamp::now(), speed).await?;
        seed(&cluster, &args)?;
        let cluster_loop = (args.replicas > 0).then(|| prescale_sim::cluster::spawn(cluster.sim.clone()));
        cluster.sim.record_requests();
        let kubeconfig = dir.path().join("kubeconfig");
        cluster.write_kubeconfig(&kubeconfig)?;
        let (metrics_port, dashboard_port) = (super::free_port()?, super::free_port()?);
        let log = std::fs::File::create(dir.path().join("operator.log"))?;
        let mut operator = Command::new(std::env::current_exe()?)
            .args(["operator", "--store", "memory", "--namespace", "prescale-system"])
            .args(["--resync", &format!("{}s", args.resync_secs)])
            // No admission webhooks: the simulated cluster cannot reach them through a
            // Service (it would warn at every create), and they are not what is measured
            // here (`prescale bench webhook` is).
            .args(["--webhooks", "false"])
            .args(["--dashboard-addr", &format!("127.0.0.1:{dashboard_port}")])
            .args(["--metrics-addr", &format!("127.0.0.1:{metrics_port}")])
            .env("KUBECONFIG", &kubeconfig)
            .env(
                "PRESCALE_LOG",
                std::env::var("PRESCALE_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("starting `prescale operator`")?;
        let result = measure(&cluster, &args, operator.id(), metrics_port).await;
        if let Some(task) = cluster_loop {
            task.abort();
        }
        let _ = operator.kill();
        let _ = operator.wait();
        let f = result.with_context(|| {
            format!(
                "operator log: {}",
                std::fs::read_to_string(dir.path().join("operator.log"))
                    .unwrap_or_default()
                    .lines()
                    .rev()
                    .take(20)
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        })?;
        let per_min = |n: u64| n as f64 * 60.0 / f.steady_secs;
        let (peak_mb, rss_mb) = f.memory;
        if args.json {
            output::outln!(
                "{}",
                json!({"workloads": args.workloads, "namespaces": args.namespaces, "replicas": args.replicas,
                       "all_targets_s": f.all_targets_s, "operator_peak_rss_mb": peak_mb, "operator_rss_mb": rss_mb,
                       "resync_secs": args.resync_secs, "steady_secs": f.steady_secs,
                       "resync_writes": f.steady.writes,
                       "steady_requests_per_min": per_min(f.steady.non_watch),
                       "metrics_requests_per_min": per_min(f.steady.metrics),
                       "steady_requests": f.steady.by_kind,
                       "pause_halt_ms": f.pause_halt_ms, "pause_seen_ms": f.pause_seen_ms})
            )?;
        } else {
            output::outln!(
                "{} workloads: every AIScaleTarget after {:.1} s; operator peak RSS {peak_mb:.0} MB (now {rss_mb:.0} MB); \
                 steady state: {:.1} requests/min ({:?}), {:.1} metrics.k8s.io requests/min, {} writes over {:.0} s of resyncs every {} s; \
                 pause seen by the operator (no action starts after) {:.0} ms and reported by every autonomous target {:.0} ms after the ConfigMap was written",
                args.workloads,
                f.all_targets_s,
                per_min(f.steady.non_watch),
                f.steady.by_kind,
                per_min(f.steady.metrics),
                f.steady.writes,
                f.steady_secs,
                args.resync_secs,
                f.pause_seen_ms,
                f.pause_halt_ms,
            )?;
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Milliseconds from `written` until the operator's metrics report the pause, polled
/// every 2 ms.
async fn pause_seen(port: u16, written: Instant) -> anyhow::Result<f64> {
    loop {
        let body = super::operator_metrics(port).await?;
        if super::metric_value(&body, "prescale_scaling_paused") == Some(1.0) {
            return Ok(written.elapsed().as_secs_f64() * 1000.0);
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

async fn measure(
    cluster: &TestCluster,
    args: &ControllersArgs,
    pid: u32,
    metrics_port: u16,
) -> anyhow::Result<Figures> {
    // The operator is up once it holds its Lease.
    let began = Instant::now();
    let lease_key = ("coordination.k8s.io".to_string(), "leases".to_string());
    while cluster.sim.store().list(&lease_key, None).is_empty() {
        anyhow::ensure!(
            began.elapsed() < Duration::from_secs(60),
            "the operator did not take its Lease in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut events = cluster.sim.store().subscribe();
    let mut tally = Tally::from_store(cluster);
    cluster.sim.store().create(
        &("thoras.ai".into(), "clusteraiscaletemplates".into()),
        "",
        json!({"apiVersion": "thoras.ai/v1", "kind": "ClusterAIScaleTemplate",
               "metadata": {"name": "everything-enabled"},
               "spec": {"selector": {"matchLabels": {"thoras.ai/enabled": "true"}},
                        "template": {"model": {"forecast_blocks": "15m", "forecast_interval": "15m", "mode": "balanced"},
                                     "vertical": {"mode": "autonomous",
                                                  "containers": [{"name": "*", "cpu": {"lowerbound": "10m"}, "memory": {"lowerbound": "32Mi"}}]}}}}),
    )?;
    let start = Instant::now();
    let timeout = Duration::from_secs(args.timeout_secs);
    let progress = indicatif::ProgressBar::new(args.workloads as u64);
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        progress.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let workloads = args.workloads;
    tally
        .until(
            cluster,
            &mut events,
            timeout,
            |t| t.managed.len() >= workloads,
            |t| progress.set_position(t.managed.len() as u64),
        )
        .await?;
    let all_targets_s = start.elapsed().as_secs_f64();
    progress.finish_and_clear();
    // Let the first statuses be written: settled once a second passes without a write.
    let mut last = count(&cluster.sim.recorded_requests()).writes;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = count(&cluster.sim.recorded_requests()).writes;
        if now == last {
            break;
        }
        anyhow::ensure!(start.elapsed() < timeout, "writes did not settle");
        last = now;
    }
    // Steady state: nothing changes for `steady_secs`, across several resyncs.
    cluster.sim.record_requests();
    let steady_began = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.steady_secs)).await;
    let steady = count(&cluster.sim.recorded_requests());
    let steady_secs = steady_began.elapsed().as_secs_f64();
    // The pause: written, then reported by every (autonomous) target.
    let mut events = cluster.sim.store().subscribe();
    let mut tally = Tally::from_store(cluster);
    let written = Instant::now();
    let seen = tokio::spawn(pause_seen(metrics_port, written));
    cluster.sim.store().create(
        &("".into(), "configmaps".into()),
        "prescale-system",
        json!({"metadata": {"name": prescale_operator::pause::SYSTEM_CONFIG_MAP},
               "data": prescale_operator::pause::config_map_data(true)}),
    )?;
    tally
        .until(
            cluster,
            &mut events,
            timeout,
            |t| t.paused.len() >= workloads,
            |_| {},
        )
        .await?;
    let pause_halt_ms = written.elapsed().as_secs_f64() * 1000.0;
    let pause_seen_ms = tokio::time::timeout(Duration::from_secs(5), seen)
        .await
        .context("the operator's /metrics never showed prescale_scaling_paused 1")???;
    let memory = super::memory_mb(pid).context("reading the operator's memory from /proc")?;
    Ok(Figures {
        all_targets_s,
        steady,
        steady_secs,
        pause_halt_ms,
        pause_seen_ms,
        memory,
    })
}

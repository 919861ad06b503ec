//! `prescale bench webhook`: the pod webhook's latency under a steady stream of pod
//! CREATE AdmissionReviews, with many AIScaleTargets in the operator's cache.
//!
//! A simulated cluster holds `targets` Deployments (one pod each, made by the sim's own
//! Deployment → ReplicaSet → Pod controllers) over `namespaces` namespaces, each named by
//! an autonomous AIScaleTarget (`update_mode: initial`, so only the webhook acts), plus a
//! fifth as many Deployments no target covers. A real `prescale operator` process runs
//! against it with its webhook listener registered by URL, and an embedded history store
//! pre-filled with `HISTORY_SECS` of usage per covered workload, so every target gets a
//! real forecast with enough data: its cache is fed by its watches as in a cluster. (The
//! targets exist before the operator starts: it discards the history of workloads no
//! target covers, as unenrolling does.) Then the benchmark sends AdmissionReviews
//! open-loop — each one at its scheduled time, whatever the answers before it — over
//! keep-alive HTTPS connections trusting only the registered caBundle: pods of covered
//! Deployments (to be mutated) and, `unchanged_percent` of the time, pods of uncovered
//! Deployments and bare pods (admitted unchanged).
//!
//! The cache's memory per target, last: the operator's resident memory once one more
//! target per uncovered Deployment has been created and has its status, less the same
//! before, divided by those targets — the cached AIScaleTargets with their statuses and
//! what the controllers keep per target. Those Deployments have no history, so their
//! statuses hold conditions but no suggestion yet (a suggestion adds its containers,
//! models and decision states: about 1 KB of JSON for one container).
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use prescale_sim::testing::TestCluster;
use prescale_store::{FileStore, HistoryStore, Metric, SeriesKey};
use serde_json::{Value, json};

use super::memory_mb;
use crate::cmd::output;

#[derive(Debug, clap::Args)]
pub struct WebhookArgs {
    /// AIScaleTargets (each naming one Deployment with one pod).
    #[arg(long, default_value_t = 5000)]
    targets: usize,
    /// Namespaces they are spread over.
    #[arg(long, default_value_t = 50)]
    namespaces: usize,
    /// AdmissionReviews per second, sent open-loop.
    #[arg(long, default_value_t = 500.0)]
    rate: f64,
    /// Seconds to send them for.
    #[arg(long, default_value_t = 30)]
    duration_secs: u64,
    /// Percent of the reviews for pods admitted unchanged (half of an uncovered
    /// Deployment, half bare pods); the rest are pods of covered Deployments.
    #[arg(long, default_value_t = 20)]
    unchanged_percent: u32,
    /// Give up on the set-up after this many seconds.
    #[arg(long, default_value_t = 600)]
    timeout_secs: u64,
    #[arg(long)]
    json: bool,
}

const OPERATOR_NAMESPACE: &str = "prescale-system";
/// History written per workload before the operator starts: more than the targets'
/// `min_lookback_to_scale` (1 h) and than the forecaster's calibration needs (24 past
/// forecast origins after four horizons: 7 h at a 15 min horizon), so every suggestion
/// has enough data.
const HISTORY_SECS: i64 = 12 * 3600;

fn deployment(name: &str) -> Value {
    json!({
        "metadata": {"name": name},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "app", "image": "app:1",
                                       "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                                                     "limits": {"memory": "256Mi"}}}]}}}
    })
}

fn target(name: &str) -> Value {
    json!({
        "apiVersion": "thoras.ai/v1", "kind": "AIScaleTarget", "metadata": {"name": name},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": name},
                 "model": {"forecast_blocks": "15m", "forecast_interval": "15m", "min_lookback_to_scale": "1h"},
                 "vertical": {"mode": "autonomous", "update_policy": {"update_mode": "initial"},
                              "containers": [{"name": "app", "cpu": {"lowerbound": "10m"}, "memory": {"lowerbound": "16Mi"}}]}}
    })
}

fn namespace_of(i: usize, namespaces: usize) -> String {
    format!("team-{}", i % namespaces.max(1))
}

fn covered_name(i: usize) -> String {
    format!("svc-{i}")
}

fn uncovered_count(targets: usize) -> usize {
    (targets / 5).max(2)
}

fn uncovered_name(j: usize) -> String {
    format!("plain-{j}")
}

fn targets_key() -> (String, String) {
    ("thoras.ai".into(), "aiscaletargets".into())
}

/// `HISTORY_SECS` of per-minute usage of every covered workload's container, ending at `now`.
fn write_history(path: &Path, args: &WebhookArgs, now: i64) -> anyhow::Result<()> {
    let store = FileStore::open(path).with_context(|| format!("opening {}", path.display()))?;
    for i in 0..args.targets {
        let key = |metric| SeriesKey {
            namespace: namespace_of(i, args.namespaces),
            kind: "Deployment".into(),
            workload: covered_name(i),
            container: "app".into(),
            metric,
        };
        let mut batch = Vec::with_capacity(2 * HISTORY_SECS as usize / 60);
        for t in (now - HISTORY_SECS..=now).step_by(60) {
            let phase = (t % 86_400) as f64 / 86_400.0 * std::f64::consts::TAU;
            batch.push((key(Metric::Cpu), (t, 0.05 + 0.01 * phase.sin())));
            batch.push((key(Metric::Memory), (t, 100.0 * 1024.0 * 1024.0)));
        }
        store.append(&batch)?;
    }
    Ok(())
}

/// The Deployments, and their ReplicaSets and pods made by the sim's controllers (its
/// loop run for a few simulated ticks, before any webhook is registered), and the
/// targets of the covered ones.
async fn seed(cluster: &TestCluster, args: &WebhookArgs) -> anyhow::Result<()> {
    {
        let mut store = cluster.sim.store();
        super::seed_crds_and_namespaces(&mut store, args.namespaces)?;
        let names = (0..args.targets)
            .map(|i| (namespace_of(i, args.namespaces), covered_name(i)))
            .chain(
                (0..uncovered_count(args.targets))
                    .map(|j| (namespace_of(j, args.namespaces), uncovered_name(j))),
            );
        let mut deployments: usize = 0;
        for (ns, name) in names {
            store.create(
                &("apps".into(), "deployments".into()),
                &ns,
                deployment(&name),
            )?;
            deployments += 1;
        }
        // Room for every pod: a node per 50.
        for n in 0..deployments.div_ceil(50) {
            let room = json!({"cpu": "32", "memory": "128Gi", "pods": "110"});
            store.create(
                &("".into(), "nodes".into()),
                "",
                json!({"metadata": {"name": format!("node-{n}")},
                       "status": {"allocatable": room, "capacity": room}}),
            )?;
        }
    }
    // Two ticks: ReplicaSets and their pods, then scheduled, started and using.
    cluster.run_for(2 * prescale_sim::cluster::TICK_SECS).await;
    let mut store = cluster.sim.store();
    for i in 0..args.targets {
        store.create(
            &targets_key(),
            &namespace_of(i, args.namespaces),
            target(&covered_name(i)),
        )?;
    }
    Ok(())
}

/// The pods to send, as the ReplicaSet controller would create them (no name, uid or
/// status yet), by kind: covered, uncovered, bare.
struct Pods {
    covered: Vec<(String, String)>,
    uncovered: Vec<(String, String)>,
    bare: Vec<(String, String)>,
}

fn as_new(pod: &Value) -> Value {
    let mut p = pod.clone();
    if let Some(meta) = p["metadata"].as_object_mut() {
        for field in [
            "name",
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "managedFields",
        ] {
            meta.remove(field);
        }
    }
    if let Some(obj) = p.as_object_mut() {
        obj.remove("status");
    }
    p
}

fn pods(cluster: &TestCluster) -> anyhow::Result<Pods> {
    let mut out = Pods {
        covered: vec![],
        uncovered: vec![],
        bare: vec![],
    };
    for pod in cluster.sim.store().list(&("".into(), "pods".into()), None) {
        let ns = pod["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let new = as_new(&pod);
        let app = pod["metadata"]["labels"]["app"]
            .as_str()
            .unwrap_or_default();
        if app.starts_with("plain-") {
            out.uncovered.push((ns, serde_json::to_string(&new)?));
        } else {
            let mut bare = new.clone();
            bare["metadata"] = json!({"name": format!("bare-{}", out.bare.len()),
                                      "labels": {"app": format!("bare-{app}")}});
            out.bare.push((ns.clone(), serde_json::to_string(&bare)?));
            out.covered.push((ns, serde_json::to_string(&new)?));
        }
    }
    anyhow::ensure!(
        !out.covered.is_empty() && !out.uncovered.is_empty(),
        "the simulated cluster made {} pods of covered and {} of uncovered Deployments",
        out.covered.len(),
        out.uncovered.len()
    );
    Ok(out)
}

/// Polls `ready` every `every` until it holds, printing `what` and its count on stderr.
async fn wait_for(
    what: &str,
    timeout: Duration,
    every: Duration,
    mut ready: impl FnMut() -> anyhow::Result<(bool, String)>,
) -> anyhow::Result<()> {
    let began = Instant::now();
    let mut last_said = Instant::now();
    loop {
        let (done, state) = ready()?;
        if done {
            return Ok(());
        }
        anyhow::ensure!(
            began.elapsed() < timeout,
            "{what}: not after {} s ({state})",
            timeout.as_secs()
        );
        if last_said.elapsed() >= Duration::from_secs(5) {
            output::errln!("  {what}: {state}")?;
            last_said = Instant::now();
        }
        tokio::time::sleep(every).await;
    }
}

/// The caBundle the operator registered in its mutating webhook configuration.
fn ca_bundle(cluster: &TestCluster) -> Option<Vec<u8>> {
    use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
    let name = prescale_operator::webhook::configs::configuration_name(OPERATOR_NAMESPACE);
    let key = (
        "admissionregistration.k8s.io".to_string(),
        "mutatingwebhookconfigurations".to_string(),
    );
    let obj = cluster.sim.store().get(&key, "", &name).ok()?;
    let config: MutatingWebhookConfiguration = serde_json::from_value(obj).ok()?;
    let bundle = config.webhooks?.first()?.client_config.ca_bundle.clone()?;
    (!bundle.0.is_empty()).then_some(bundle.0)
}

/// How many targets have a suggestion with enough data, and why one that has not (its
/// conditions), to show while waiting.
fn targets_with_suggestion(cluster: &TestCluster) -> (usize, String) {
    let targets = cluster.sim.store().list(&targets_key(), None);
    let ready =
        |t: &Value| t.pointer("/status/suggestion/hasEnoughDataToScale") == Some(&json!(true));
    let why = targets
        .iter()
        .find(|t| !ready(t))
        .map(|t| {
            let conditions = t.pointer("/status/conditions").and_then(Value::as_array);
            let reasons: Vec<String> = conditions
                .into_iter()
                .flatten()
                .map(|c| {
                    format!(
                        "{}={} ({}: {})",
                        c["type"], c["status"], c["reason"], c["message"]
                    )
                })
                .collect();
            format!("{}: {}", t["metadata"]["name"], reasons.join("; "))
        })
        .unwrap_or_default();
    (targets.iter().filter(|t| ready(t)).count(), why)
}

pub fn run(args: WebhookArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.targets > 0 && args.rate > 0.0 && args.duration_secs > 0,
        "--targets, --rate and --duration-secs must be positive"
    );
    anyhow::ensure!(
        args.unchanged_percent <= 100,
        "--unchanged-percent {} is not a percentage (0 to 100)",
        args.unchanged_percent
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    runtime.block_on(async {
        let cluster = TestCluster::start_with(jiff::Timestamp::now(), 0.0).await?;
        output::errln!(
            "seeding {} Deployments over {} namespaces",
            args.targets + uncovered_count(args.targets),
            args.namespaces
        )?;
        seed(&cluster, &args).await?;
        let history = dir.path().join("history");
        write_history(&history, &args, cluster.sim.clock.now().as_second())?;
        let kubeconfig = dir.path().join("kubeconfig");
        cluster.write_kubeconfig(&kubeconfig)?;
        let (webhook_port, metrics_port, dashboard_port) = (
            super::free_port()?,
            super::free_port()?,
            super::free_port()?,
        );
        let log_path = dir.path().join("operator.log");
        let mut operator = Command::new(std::env::current_exe()?)
            .args(["operator", "--namespace", OPERATOR_NAMESPACE])
            .args(["--dashboard-addr", &format!("127.0.0.1:{dashboard_port}")])
            .arg("--store")
            .arg(&history)
            .args(["--metrics-addr", &format!("127.0.0.1:{metrics_port}")])
            .args(["--webhook-addr", &format!("127.0.0.1:{webhook_port}")])
            .args([
                "--webhook-url",
                &format!("https://127.0.0.1:{webhook_port}"),
            ])
            .env("KUBECONFIG", &kubeconfig)
            .env(
                "PRESCALE_LOG",
                std::env::var("PRESCALE_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log_path)?)
            .spawn()
            .context("starting `prescale operator`")?;
        let result = measure(&cluster, &args, operator.id(), webhook_port, metrics_port).await;
        let _ = operator.kill();
        let _ = operator.wait();
        let figures = result.with_context(|| {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            let tail: Vec<_> = log.lines().rev().take(20).collect();
            format!(
                "operator log (last lines, newest first):\n{}",
                tail.join("\n")
            )
        })?;
        report(&args, &figures)?;
        Ok(ExitCode::SUCCESS)
    })
}

/// The figures of one run.
struct Figures {
    drive: super::bench_webhook_drive::Drive,
    /// Target reconciles a second in the operator while the reviews were sent.
    reconciles_per_s: f64,
    /// With every target synced, after the drive.
    rss_after_mb: f64,
    peak_rss_mb: f64,
    memory: AddedTargets,
}

/// The operator's resident memory across the creation of `added` more targets.
struct AddedTargets {
    added: usize,
    before_mb: f64,
    after_mb: f64,
}

impl AddedTargets {
    fn kb_per_target(&self) -> f64 {
        (self.after_mb - self.before_mb) * 1024.0 / self.added.max(1) as f64
    }
}

async fn measure(
    cluster: &TestCluster,
    args: &WebhookArgs,
    pid: u32,
    webhook_port: u16,
    metrics_port: u16,
) -> anyhow::Result<Figures> {
    let timeout = Duration::from_secs(args.timeout_secs);
    output::errln!("waiting for the operator's webhook registration")?;
    wait_for("the caBundle", timeout, Duration::from_millis(200), || {
        Ok((ca_bundle(cluster).is_some(), "not registered yet".into()))
    })
    .await?;
    let targets = args.targets;
    wait_for(
        "targets with a suggestion (enough data)",
        timeout,
        Duration::from_secs(1),
        || {
            let (n, why) = targets_with_suggestion(cluster);
            Ok((n >= targets, format!("{n} of {targets}; e.g. {why}")))
        },
    )
    .await?;
    let ca = ca_bundle(cluster).context("the caBundle vanished")?;
    let pods = pods(cluster)?;
    output::errln!(
        "sending {:.0} pod CREATE reviews/s for {} s",
        args.rate,
        args.duration_secs
    )?;
    let reconciles_before = target_reconciles(metrics_port).await?;
    let drive_began = std::time::Instant::now();
    let drive = super::bench_webhook_drive::drive(
        &ca,
        &format!(
            "https://127.0.0.1:{webhook_port}{}",
            prescale_operator::webhook::MUTATE_PODS_PATH
        ),
        Arc::new(super::bench_webhook_drive::Mix {
            covered: pods.covered,
            uncovered: pods.uncovered,
            bare: pods.bare,
            unchanged_percent: args.unchanged_percent,
        }),
        args.rate,
        Duration::from_secs(args.duration_secs),
    )
    .await?;
    let reconciles_per_s = (target_reconciles(metrics_port).await? - reconciles_before)
        / drive_began.elapsed().as_secs_f64();
    let (_, rss_after_mb) = memory_mb(pid).context("reading the operator's memory")?;
    let memory = added_target_memory(cluster, args, pid, timeout).await?;
    let (peak_rss_mb, _) = memory_mb(pid).context("reading the operator's memory")?;
    Ok(Figures {
        drive,
        reconciles_per_s,
        rss_after_mb,
        peak_rss_mb,
        memory,
    })
}

/// The target reconciles the operator has run so far (its `/metrics`).
async fn target_reconciles(metrics_port: u16) -> anyhow::Result<f64> {
    let page = super::operator_metrics(metrics_port).await?;
    Ok(
        super::metric_value(&page, "prescale_reconciles_total{controller=\"target\"}")
            .unwrap_or(0.0),
    )
}

/// The operator's memory before and after one more target per uncovered Deployment is
/// created and has its status: (targets added, RSS before, RSS after) in MB.
async fn added_target_memory(
    cluster: &TestCluster,
    args: &WebhookArgs,
    pid: u32,
    timeout: Duration,
) -> anyhow::Result<AddedTargets> {
    let added = uncovered_count(args.targets);
    output::errln!("measuring the cache's memory: {added} more AIScaleTargets")?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (_, before_mb) = memory_mb(pid).context("reading the operator's memory")?;
    {
        let mut store = cluster.sim.store();
        for j in 0..added {
            store.create(
                &targets_key(),
                &namespace_of(j, args.namespaces),
                target(&uncovered_name(j)),
            )?;
        }
    }
    let all = args.targets + added;
    wait_for(
        "targets with a status",
        timeout,
        Duration::from_secs(1),
        || {
            let n = cluster
                .sim
                .store()
                .list(&targets_key(), None)
                .iter()
                .filter(|t| t.pointer("/status/conditions").is_some())
                .count();
            Ok((n >= all, format!("{n} of {all}")))
        },
    )
    .await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (_, after_mb) = memory_mb(pid).context("reading the operator's memory")?;
    Ok(AddedTargets {
        added,
        before_mb,
        after_mb,
    })
}

fn report(args: &WebhookArgs, f: &Figures) -> anyhow::Result<()> {
    let d = &f.drive;
    let per_target_kb = f.memory.kb_per_target();
    if args.json {
        output::outln!(
            "{}",
            json!({"targets": args.targets, "namespaces": args.namespaces,
                   "rate": args.rate, "duration_secs": args.duration_secs,
                   "unchanged_percent": args.unchanged_percent,
                   "requests": d.sent, "achieved_rate": d.achieved_rate(),
                   "p50_ms": d.percentile_ms(0.50), "p99_ms": d.percentile_ms(0.99), "max_ms": d.max_ms(),
                   "mutated": d.mutated, "unchanged": d.unchanged, "errors": d.errors,
                   "unexpected": d.unexpected, "first_error": d.first_error,
                   "target_reconciles_per_s": f.reconciles_per_s,
                   "operator_rss_mb": f.rss_after_mb,
                   "operator_peak_rss_mb": f.peak_rss_mb,
                   "memory_targets_added": f.memory.added,
                   "operator_rss_before_added_mb": f.memory.before_mb,
                   "operator_rss_after_added_mb": f.memory.after_mb,
                   "cache_kb_per_target": per_target_kb})
        )?;
    } else {
        output::outln!(
            "{} targets over {} namespaces: {} reviews at {:.0}/s (asked {:.0}/s): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; \
             {} mutated, {} unchanged, {} errors, {} unexpected answers; {:.1} target reconciles/s meanwhile; operator RSS {:.0} MB (peak {:.0} MB); \
             {:.1} KB more per target ({} targets added: {:.0} → {:.0} MB)",
            args.targets,
            args.namespaces,
            d.sent,
            d.achieved_rate(),
            args.rate,
            d.percentile_ms(0.50),
            d.percentile_ms(0.99),
            d.max_ms(),
            d.mutated,
            d.unchanged,
            d.errors,
            d.unexpected,
            f.reconciles_per_s,
            f.rss_after_mb,
            f.peak_rss_mb,
            per_target_kb,
            f.memory.added,
            f.memory.before_mb,
            f.memory.after_mb,
        )?;
    }
    Ok(())
}

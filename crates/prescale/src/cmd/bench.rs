//! `prescale bench`: benchmark commands whose figures go into docs/BENCHMARKS.md.
use std::process::ExitCode;
use std::time::Instant;

use prescale_forecast::forecaster::forecast_peak;
use prescale_forecast::mode::Mode;
use prescale_forecast::resource::Resource;
use prescale_forecast::seasons::detect_cycles;

use crate::cmd::output;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

/// A count of at least one: zero runs, days or pods measures nothing.
fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!(
            "{text:?} is not a count: write a whole number of 1 or more"
        )),
    }
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// Forecasting speed: one 30-day series at 1-minute resolution (43,200 points),
    /// seasonality detection and model selection included.
    Forecast {
        /// How many forecasts to time.
        #[arg(long, default_value_t = 50, value_parser = at_least_one)]
        runs: usize,
        /// Days of history.
        #[arg(long, default_value_t = 30, value_parser = at_least_one)]
        days: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// A history store (embedded or PostgreSQL): bytes per workload-month after
    /// downsampling, ingest rate, and the latency of a 30-day downsampled read of one series.
    Storage(bench_storage::StorageArgs),
    /// The controllers: N workloads matched by one template, a real operator process;
    /// time until every AIScaleTarget exists, its peak memory, writes on resync.
    Controllers(bench_controllers::ControllersArgs),
    /// The pod webhook: pod CREATE AdmissionReviews over HTTPS at a fixed rate against a
    /// real operator with N AIScaleTargets cached; latency percentiles, errors, and the
    /// cache's memory per target.
    Webhook(bench_webhook::WebhookArgs),
    /// The dashboard: render times of its pages with N AIScaleTargets.
    Dashboard(bench_dashboard::DashboardArgs),
    /// The simulated API server: a full list of N pods, and pod GETs per second.
    Sim {
        /// Pods to create.
        #[arg(long, default_value_t = 10_000, value_parser = at_least_one)]
        pods: usize,
        /// GET requests to time.
        #[arg(long, default_value_t = 20_000, value_parser = at_least_one)]
        gets: usize,
        /// Concurrent clients for the GETs.
        #[arg(long, default_value_t = 8, value_parser = at_least_one)]
        concurrency: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// A realistic 1-minute usage series: daily and weekly cycles, a slow trend, noise and
/// occasional bursts, from a fixed seed so every run measures the same work.
fn synthetic(days: usize) -> Vec<f64> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut rand = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..days * 1440)
        .map(|m| {
            let day = (m as f64 / 1440.0) * std::f64::consts::TAU;
            let week = (m as f64 / 10080.0) * std::f64::consts::TAU;
            let burst = if rand() < 0.002 { 2.0 } else { 0.0 };
            (1.0 + 0.5 * day.sin() + 0.2 * week.sin() + 0.00001 * m as f64 + 0.1 * rand() + burst)
                .max(0.0)
        })
        .collect()
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.what {
        What::Forecast { runs, days, json } => forecast(runs, days, json),
        What::Storage(storage) => bench_storage::run(storage),
        What::Controllers(controllers) => bench_controllers::run(controllers),
        What::Webhook(webhook) => bench_webhook::run(webhook),
        What::Dashboard(dashboard) => bench_dashboard::run(dashboard),
        What::Sim {
            pods,
            gets,
            concurrency,
            json,
        } => sim(pods, gets, concurrency, json),
    }
}

#[path = "bench_storage.rs"]
mod bench_storage;

#[path = "bench_controllers.rs"]
mod bench_controllers;

#[path = "bench_dashboard.rs"]
mod bench_dashboard;

#[path = "bench_webhook.rs"]
mod bench_webhook;

#[path = "bench_webhook_drive.rs"]
mod bench_webhook_drive;

/// Peak and current resident memory of a process, in MB, from /proc.
pub(crate) fn memory_mb(pid: u32) -> Option<(f64, f64)> {
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

/// The operator's `/metrics` page, over plain HTTP/1.0 (one short request: no client to
/// keep alive).
async fn operator_metrics(port: u16) -> anyhow::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .await?;
    let mut body = String::new();
    stream.read_to_string(&mut body).await?;
    Ok(body)
}

/// The value of `series` (name and labels, as the page writes them) on a metrics page.
fn metric_value(page: &str, series: &str) -> Option<f64> {
    page.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

/// A loopback port free at the moment, for a benchmark's operator process to listen on.
fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// What every controller benchmark's simulated cluster starts with: prescale's CRDs, the
/// operator's namespace `prescale-system` and `namespaces` namespaces `team-0..`.
fn seed_crds_and_namespaces(
    store: &mut prescale_sim::store::Store,
    namespaces: usize,
) -> anyhow::Result<()> {
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
    for ns in std::iter::once("prescale-system".to_string())
        .chain((0..namespaces.max(1)).map(|i| format!("team-{i}")))
    {
        store.create(
            &("".into(), "namespaces".into()),
            "",
            serde_json::json!({"metadata": {"name": ns}}),
        )?;
    }
    Ok(())
}

fn sim(pods: usize, gets: usize, concurrency: usize, json: bool) -> anyhow::Result<ExitCode> {
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::{Api, ListParams};
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let cluster = prescale_sim::testing::TestCluster::start().await?;
        {
            let mut store = cluster.sim.store();
            let key = ("".to_string(), "pods".to_string());
            for i in 0..pods {
                let pod = serde_json::json!({
                    "metadata": {"name": format!("pod-{i}"), "labels": {"app": format!("app-{}", i % 100)}},
                    "spec": {"nodeName": format!("node-{}", i % 50), "containers": [{"name": "app", "image": "app:1",
                             "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}]},
                    "status": {"phase": "Running"}
                });
                store.create(&key, "default", pod)?;
            }
        }
        let api: Api<Pod> = Api::namespaced(cluster.client.clone(), "default");
        let mut list_ms = vec![];
        for _ in 0..5 {
            let start = Instant::now();
            let items = api.list(&ListParams::default()).await?.items;
            list_ms.push(start.elapsed().as_secs_f64() * 1000.0);
            anyhow::ensure!(items.len() == pods, "listed {} pods, expected {pods}", items.len());
        }
        list_ms.sort_by(f64::total_cmp);
        let start = Instant::now();
        let per_task = gets / concurrency;
        let mut tasks = vec![];
        for t in 0..concurrency {
            let api = api.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..per_task {
                    api.get(&format!("pod-{}", (t * per_task + i) % pods)).await?;
                }
                Ok::<_, kube::Error>(())
            }));
        }
        for t in tasks {
            t.await??;
        }
        let rate = (per_task * concurrency) as f64 / start.elapsed().as_secs_f64();
        let median = list_ms[list_ms.len() / 2];
        if json {
            output::outln!("{}", serde_json::json!({"pods": pods, "list_median_ms": median, "gets_per_second": rate}))?;
        } else {
            output::outln!("{pods} pods: full list median {median:.0} ms; {rate:.0} GET/s with {concurrency} clients")?;
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn forecast(runs: usize, days: usize, json: bool) -> anyhow::Result<ExitCode> {
    let values = synthetic(days);
    let horizon = 15;
    let rate = Mode::Balanced.target_rate(Resource::Cpu);
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let cycles = detect_cycles(&values, 60);
        last = Some(forecast_peak(&values, 60, horizon, rate, &cycles)?);
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let p95 = times[((times.len() as f64 * 0.95) as usize).min(times.len() - 1)];
    let f = last.expect("at least one run");
    if json {
        output::outln!(
            "{}",
            serde_json::json!({"points": values.len(), "runs": times.len(), "median_ms": median, "p95_ms": p95, "model": f.model.name(), "peak": f.peak})
        )?;
    } else {
        output::outln!(
            "{} points, {} runs: median {median:.2} ms, p95 {p95:.2} ms (model {}, peak {:.3})",
            values.len(),
            times.len(),
            f.model.name(),
            f.peak
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

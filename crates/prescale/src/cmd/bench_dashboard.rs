//! `prescale bench dashboard`: how long the dashboard takes to render its pages with N
//! AIScaleTargets (each with a workload, running pods' requests, a suggestion, Events
//! and usage history), served by the real dashboard over HTTP from the operator's cache,
//! fed by the simulated cluster's watches.
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::cmd::output;
use prescale_operator::dashboard::Dashboard;
use prescale_sim::testing::TestCluster;
use prescale_store::{HistoryStore, MemoryStore, Metric, SeriesKey};
use serde_json::json;

#[derive(Debug, clap::Args)]
pub struct DashboardArgs {
    /// AIScaleTargets (one Deployment each).
    #[arg(long, default_value_t = 5000)]
    targets: usize,
    /// Namespaces they are spread over.
    #[arg(long, default_value_t = 50)]
    namespaces: usize,
    /// Requests timed per page.
    #[arg(long, default_value_t = 20)]
    runs: usize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

fn seed(
    cluster: &TestCluster,
    args: &DashboardArgs,
    store: &MemoryStore,
    now: i64,
) -> anyhow::Result<()> {
    let mut s = cluster.sim.store();
    super::seed_crds_and_namespaces(&mut s, args.namespaces)?;
    let namespaces = args.namespaces.max(1);
    let mut batch = vec![];
    for i in 0..args.targets {
        let (ns, name) = (format!("team-{}", i % namespaces), format!("svc-{i}"));
        s.create(
            &("apps".into(), "deployments".into()),
            &ns,
            json!({"metadata": {"name": name},
                   "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                            "template": {"metadata": {"labels": {"app": name}},
                                         "spec": {"containers": [{"name": "app", "image": "app:1",
                                                  "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}}}]}}}}),
        )?;
        let mode = if i % 4 == 0 {
            "autonomous"
        } else {
            "recommendation"
        };
        s.create(
            &("thoras.ai".into(), "aiscaletargets".into()),
            &ns,
            json!({"apiVersion": "thoras.ai/v1", "kind": "AIScaleTarget",
                   "metadata": {"name": format!("{name}-ast")},
                   "spec": {"scaleTargetRef": {"kind": "Deployment", "name": name},
                            "model": {"forecast_blocks": "15m", "forecast_interval": "15m"},
                            "vertical": {"mode": mode, "containers": [{"name": "*"}]},
                            "horizontal": {"mode": "recommendation"}},
                   "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "SuggestionAvailable", "message": "a suggestion is available", "lastTransitionTime": "2026-11-29T00:00:00Z"}],
                              "suggestion": {"id": format!("s{i}"), "time": "2026-11-29T00:00:00Z", "hasEnoughDataToScale": true,
                                             "suggestedReplicas": 2, "forecastedTotals": {"cpu": "600m", "memory": "700Mi"},
                                             "containers": [{"name": "app", "cpu": format!("{}m", 200 + i % 300), "memory": "300Mi"}]}}}),
        )?;
        s.create(
            &("apps".into(), "replicasets".into()),
            &ns,
            json!({"metadata": {"name": format!("{name}-rs"),
                                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name, "uid": "u", "controller": true}]},
                   "spec": {"selector": {"matchLabels": {"app": name}}, "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": []}}}}),
        )?;
        for pod in 0..2 {
            s.create(
                &("".into(), "pods".into()),
                &ns,
                json!({"metadata": {"name": format!("{name}-{pod}"), "labels": {"app": name},
                                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("{name}-rs"), "uid": "u", "controller": true}]},
                       "spec": {"containers": [{"name": "app", "image": "app:1", "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}}}]}}),
            )?;
        }
        for (metric, value) in [(Metric::Cpu, 0.3), (Metric::Memory, 3.0e8)] {
            let key = SeriesKey {
                namespace: ns.clone(),
                kind: "Deployment".into(),
                workload: name.clone(),
                container: "app".into(),
                metric,
            };
            for m in 0..12 {
                batch.push((key.clone(), (now - 300 * m, value)));
            }
        }
    }
    drop(s);
    store.append(&batch)?;
    Ok(())
}

fn stats(mut ms: Vec<f64>) -> (f64, f64, f64) {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.95), ms[ms.len() - 1])
}

pub fn run(args: DashboardArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.runs > 0 && args.targets > 0,
        "--runs and --targets must be positive"
    );
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let start = jiff::Timestamp::now();
        let cluster = TestCluster::start_with(start, 1.0).await.context("starting the simulated cluster")?;
        let store = Arc::new(MemoryStore::new());
        seed(&cluster, &args, &store, start.as_second())?;
        let scope = prescale_operator::scope::Scope::all();
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let (cache, mut cache_tasks) = prescale_operator::cache::start(&cluster.client, &scope, "prescale-system", tx);
        cache_tasks.wait_ready().await;
        let clock: Arc<dyn prescale_operator::clock::Clock> = Arc::new(prescale_operator::clock::SystemClock);
        let (dashboard, _tasks) = Dashboard::start(cluster.client.clone(), cache, store, "prescale-system".into(), clock);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let dashboard_for_sampling = dashboard.clone();
        tokio::spawn(prescale_operator::dashboard::serve(listener, dashboard, std::future::pending()));
        let http = reqwest::Client::new();
        let pages = [
            ("overview", "/".to_string()),
            ("targets (page 1)", "/targets".to_string()),
            ("targets sorted by cpu, page 40", "/targets?sort=cpu&desc=true&page=40".to_string()),
            ("targets filtered", "/targets?q=svc-42&mode=autonomous".to_string()),
            ("api: overview", "/api/v1/overview".to_string()),
            ("api: targets, 500 a page", "/api/v1/targets?per_page=500".to_string()),
        ];
        // Warm up (and check the pages see every target).
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let o: serde_json::Value = http.get(format!("{url}/api/v1/overview")).send().await?.json().await?;
            if o["targets"].as_u64() == Some(args.targets as u64) {
                break;
            }
            anyhow::ensure!(Instant::now() < deadline, "the dashboard sees {} of {} targets", o["targets"], args.targets);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let mut results = vec![];
        // What the pages read is sampled every few seconds; time the sample itself too.
        let mut ms = vec![];
        for _ in 0..args.runs.min(5) {
            let d = dashboard_for_sampling.clone();
            let t = Instant::now();
            tokio::task::spawn_blocking(move || d.sample()).await?;
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        results.push(("sample (every 5 s, not per view)".to_string(), stats(ms)));
        for (name, path) in &pages {
            let mut ms = vec![];
            for _ in 0..args.runs {
                let t = Instant::now();
                let r = http.get(format!("{url}{path}")).send().await?;
                anyhow::ensure!(r.status().is_success(), "{path}: {}", r.status());
                let _ = r.bytes().await?;
                ms.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            results.push((name.to_string(), stats(ms)));
        }
        if args.json {
            let v: Vec<_> = results.iter().map(|(n, (p50, p95, max))| json!({"page": n, "p50_ms": p50, "p95_ms": p95, "max_ms": max})).collect();
            output::outln!("{}", json!({"targets": args.targets, "runs": args.runs, "pages": v}))?;
        } else {
            output::outln!("dashboard with {} targets in {} namespaces, {} requests per page:", args.targets, args.namespaces, args.runs)?;
            for (name, (p50, p95, max)) in &results {
                output::outln!("  {name:<32} p50 {p50:>7.1} ms   p95 {p95:>7.1} ms   max {max:>7.1} ms")?;
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

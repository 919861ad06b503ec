//! The Prometheus backfill against a real Prometheus (Debian's `prometheus` package, which
//! scripts/test installs): cAdvisor-shaped series are written as OpenMetrics, turned into
//! TSDB blocks by `promtool tsdb create-blocks-from openmetrics`, and served by a
//! Prometheus this test starts on loopback — after the backfill has already begun, so the
//! first queries find nothing listening and must be retried.

mod common;

use std::fmt::Write as _;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use prescale_operator::backfill::prometheus::Prometheus;
use prescale_operator::backfill::{Backfill, BackfillConfig, Progress};
use prescale_store::{HistoryStore, MemoryStore, Metric};

const STEP: i64 = 15;
const MIB: f64 = 1024.0 * 1024.0;

fn tools_present() -> bool {
    let found = |tool: &str| {
        Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if found("prometheus") && found("promtool") {
        return true;
    }
    if std::env::var("PRESCALE_SKIP_PROMETHEUS").as_deref() == Ok("1") {
        eprintln!(
            "\n!!! backfill test SKIPPED — PRESCALE_SKIP_PROMETHEUS=1, no Prometheus test ran !!!\n"
        );
        return false;
    }
    panic!(
        "the backfill test needs prometheus and promtool: run scripts/test (it installs \
         Debian's prometheus), or set PRESCALE_SKIP_PROMETHEUS=1 to skip it"
    );
}

/// cAdvisor-shaped series from `from` to `to`: two pods of Deployment `web` (one restarts
/// halfway, resetting its CPU counter), pod-level series that must be ignored, and pods of
/// other workloads (`db`, `web-admin`) that must not be mixed in.
fn openmetrics(from: i64, to: i64, reset_at: i64) -> String {
    let mut cpu = String::new();
    let mut mem = String::new();
    // A gauge an HPA's Pods metric reads (through an adapter): 3 and 5 in flight on
    // web's pods, 100 on web-admin's, which must not be counted.
    let mut in_flight = String::new();
    for (pod, v) in [
        ("web-5d8f7c9b4-abcde", 3.0),
        ("web-5d8f7c9b4-fghij", 5.0),
        ("web-admin-6f9d7c8b5-xyz12", 100.0),
    ] {
        for t in (from..=to).step_by(STEP as usize) {
            let _ = writeln!(
                in_flight,
                r#"requests_in_flight{{namespace="shop",pod="{pod}"}} {v} {t}"#
            );
        }
    }
    let pods: [(&str, &str, f64, f64); 6] = [
        ("web-5d8f7c9b4-abcde", "app", 0.2, 100.0),
        ("web-5d8f7c9b4-fghij", "app", 0.4, 300.0),
        ("web-5d8f7c9b4-abcde", "POD", 5.0, 900.0),
        ("web-5d8f7c9b4-abcde", "", 5.0, 900.0),
        ("db-0", "pg", 3.0, 2000.0),
        ("web-admin-6f9d7c8b5-xyz12", "app", 7.0, 4000.0),
    ];
    for (pod, container, cores, mib) in pods {
        let labels = format!(r#"namespace="shop",pod="{pod}",container="{container}""#);
        for t in (from..=to).step_by(STEP as usize) {
            let counter = if pod.ends_with("fghij") && t >= reset_at {
                cores * (t - reset_at) as f64
            } else {
                1000.0 + cores * (t - from) as f64
            };
            let _ = writeln!(
                cpu,
                "container_cpu_usage_seconds_total{{{labels}}} {counter} {t}"
            );
            let _ = writeln!(
                mem,
                "container_memory_working_set_bytes{{{labels}}} {} {t}",
                mib * MIB
            );
        }
    }
    format!(
        "# TYPE container_cpu_usage_seconds counter\n{cpu}# TYPE container_memory_working_set_bytes gauge\n{mem}# TYPE requests_in_flight gauge\n{in_flight}# EOF\n"
    )
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_for(
    backfill: &Backfill,
    what: &str,
    timeout: Duration,
    done: impl Fn(&Progress) -> bool,
) -> Progress {
    let began = Instant::now();
    loop {
        if let Some(p) = backfill.progress("shop", "Deployment", "web")
            && done(&p)
        {
            return p;
        }
        assert!(
            began.elapsed() < timeout,
            "{what}: still {:?}",
            backfill.progress("shop", "Deployment", "web")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_reads_days_of_history_from_a_real_prometheus_and_waits_for_it() {
    if !tools_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let now = jiff::Timestamp::now().as_second() / STEP * STEP;
    let day = 86_400;
    let om = dir.path().join("series.om");
    std::fs::write(&om, openmetrics(now - 5 * day / 2, now, now - day)).unwrap();
    let data = dir.path().join("data");
    let out = Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&om)
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let port = free_port();
    let store = Arc::new(MemoryStore::new());
    let backfill = Backfill::new(
        Prometheus::new(&format!("http://127.0.0.1:{port}")).unwrap(),
        store.clone(),
        BackfillConfig {
            days: 2,
            step_secs: STEP,
            // Forces a dozen range queries per metric, so chunk edges are exercised.
            max_points: 1000,
            retry_base: Duration::from_millis(100),
            retry_max: Duration::from_millis(400),
        },
    );
    let in_flight = prescale_operator::horizontal::metrics::CustomMetric {
        source: prescale_operator::horizontal::metrics::CustomSource::Pods,
        name: "requests_in_flight".into(),
        selector: None,
        target: 4.0,
        per_replica: false,
    };
    let query =
        prescale_operator::backfill::promql::custom_query("shop", "Deployment", "web", &in_flight)
            .unwrap();
    backfill.start(
        "shop",
        "Deployment",
        "web",
        vec![(in_flight.id(), query)],
        now,
    );
    let waiting = wait_for(&backfill, "first failure", Duration::from_secs(30), |p| {
        matches!(p, Progress::Retrying { .. })
    })
    .await;
    let Progress::Retrying { error, .. } = waiting else {
        unreachable!()
    };
    assert!(error.contains("did not answer"), "{error}");

    let config = dir.path().join("prometheus.yml");
    std::fs::write(&config, "global:\n  scrape_interval: 15s\n").unwrap();
    let _server = Server(
        Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg("--storage.tsdb.retention.time=30d")
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let done = wait_for(&backfill, "backfill", Duration::from_secs(120), |p| {
        matches!(p, Progress::Done { .. })
    })
    .await;
    assert!((done.days() - 2.0).abs() < 0.01, "{done:?}");

    let keys = store.series().unwrap();
    let names: Vec<(String, String, Metric)> = keys
        .iter()
        .map(|k| (k.workload.clone(), k.container.clone(), k.metric))
        .collect();
    assert_eq!(
        names,
        vec![
            (
                "web".into(),
                "Pods/requests_in_flight".into(),
                Metric::ScalingMetric
            ),
            ("web".into(), "app".into(), Metric::Cpu),
            ("web".into(), "app".into(), Metric::Memory),
        ],
        "only web's own containers and its HPA's metric, not pod-level series or other workloads"
    );
    for key in &keys {
        let samples = store.read(key, 0, i64::MAX).unwrap();
        let expected = 2 * day / STEP + 1;
        assert!(
            samples.len() as i64 >= expected - 5 && samples.len() as i64 <= expected,
            "{:?}: {} samples, {expected} expected",
            key.metric,
            samples.len()
        );
        assert!(
            samples.windows(2).all(|w| w[1].0 - w[0].0 == STEP),
            "every step once: no gaps or repeats at chunk edges"
        );
        match key.metric {
            Metric::Cpu => {
                // The larger pod's 0.4 cores; the restart may dip a window, never spike.
                assert!(samples.iter().all(|s| (0.25..=0.41).contains(&s.1)));
                let near = samples.iter().filter(|s| (s.1 - 0.4).abs() < 0.01).count();
                assert!(
                    near * 100 >= samples.len() * 99,
                    "{near} of {}",
                    samples.len()
                );
            }
            // The HPA's Pods metric: the load over web's two pods, not web-admin's.
            Metric::ScalingMetric => assert!(samples.iter().all(|s| s.1 == 8.0)),
            _ => assert!(samples.iter().all(|s| s.1 == 300.0 * MIB)),
        }
    }
    target_status_shows_the_backfill(backfill, store).await;
}

/// The operator's side: a target over the backfilled workload shows in its status how much
/// history it has, backfilled days included.
async fn target_status_shows_the_backfill(backfill: Arc<Backfill>, store: Arc<MemoryStore>) {
    let env = common::env::TestEnv::sim("backfill", &["shop"]).await;
    env.deploy("shop", "web", false).await;
    let asts = common::target(env.sim.as_ref().unwrap(), "shop", "web").await;
    let operator = env.start_operator_with(store, |c| c.backfill = Some(backfill));
    let history = common::env::eventually("the status shows the backfill", 90, || async {
        let s = asts
            .get("web")
            .await
            .map_err(|e| e.to_string())?
            .status
            .unwrap_or_default();
        match s.history {
            Some(h) if h.backfilled_days == Some(2.0) && h.hours >= 47.9 => Ok(h),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert_eq!(history.backfilled_days, Some(2.0));
    operator.stop().await;
}

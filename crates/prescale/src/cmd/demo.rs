//! `prescale demo`: one command, no cluster. Starts the simulated cluster with a handful of
//! workloads under synthetic daily load, installs the CRDs and a ClusterAIScaleTemplate,
//! runs the operator against it with accelerated time, and shows the recommendations.
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use kube::api::{Api, ListParams};
use prescale_api::AIScaleTarget;
use prescale_operator::run::{OperatorConfig, run as run_operator};
use prescale_sim::{Clock, Sim};
use serde_json::json;

use crate::cmd::output;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Simulated seconds per real second (720: one simulated day every two minutes).
    #[arg(long, default_value_t = 720.0)]
    speed: f64,
    /// Stop after this many real seconds (0 = run until Ctrl-C).
    #[arg(long, default_value_t = 0)]
    duration: u64,
    /// Where to write the kubeconfig for kubectl.
    #[arg(long, default_value = "prescale-demo.kubeconfig")]
    kubeconfig_out: PathBuf,
    /// Port on 127.0.0.1 for the simulated API server (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Drive the workloads with real traces instead of the synthetic pattern: the
    /// `*.csv` files (`timestamp,value`) of this directory, assigned in name order, each
    /// scaled so its peak uses 80 % of the workload's requests.
    #[arg(long)]
    traces: Option<PathBuf>,
    /// Port on 127.0.0.1 for the dashboard (0 picks a free one).
    #[arg(long, default_value_t = 8090)]
    dashboard_port: u16,
}

/// Attaches the traces of `dir` to the demo workloads, round-robin; returns the pairs.
fn attach_traces(sim: &Sim, dir: &std::path::Path) -> anyhow::Result<Vec<(String, String)>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("--traces {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .collect();
    files.sort();
    anyhow::ensure!(
        !files.is_empty(),
        "--traces {}: no .csv files (expected `timestamp,value` traces)",
        dir.display()
    );
    let mut attached = vec![];
    for (i, (ns, _, name, replicas, _, _)) in WORKLOADS.iter().enumerate() {
        let file = &files[i % files.len()];
        let trace =
            prescale_sim::cluster::trace::Trace::from_csv(file, f64::from(*replicas) * 0.8)?;
        sim.drive_with_trace(ns, name, trace);
        attached.push((
            format!("{ns}/{name}"),
            file.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
        ));
    }
    Ok(attached)
}

const WORKLOADS: [(&str, &str, &str, u32, &str, &str); 6] = [
    ("shop", "Deployment", "storefront", 3, "500m", "512Mi"),
    ("shop", "Deployment", "checkout", 2, "250m", "256Mi"),
    ("shop", "Deployment", "catalog", 3, "250m", "256Mi"),
    ("shop", "StatefulSet", "cart-db", 1, "1", "2Gi"),
    ("payments", "Deployment", "gateway", 2, "300m", "384Mi"),
    ("payments", "Deployment", "ledger", 1, "200m", "1Gi"),
];

/// The workload scaled autonomously (its own AIScaleTarget; the template skips it): its
/// pods are resized in place to the suggestion, or recreated where memory must fall.
const AUTONOMOUS: (&str, &str) = ("shop", "checkout");

/// The workload scaled horizontally and autonomously: its HPA (cpu at 80 %) is fed
/// prescale's replica floor ahead of the daily rise; the HPA's spec is never written.
const HORIZONTAL: (&str, &str) = ("shop", "catalog");
/// The horizontal workload's demand, in pods' requests at the load pattern's level
/// (`sim.prescale.io/demand-scale`): its daily rise needs several replicas, its trough
/// the HPA's minimum. The others' whole demand is about one pod's requests.
const HORIZONTAL_DEMAND_SCALE: f64 = 5.0;
/// The HPA's bounds and cpu target, as its owner wrote them.
const HPA_MIN: u32 = 2;
const HPA_MAX: u32 = 12;
const HPA_TARGET: f64 = 0.8;
/// Simulated seconds a new pod needs to become Ready: the lag an HPA alone cannot avoid.
const STARTUP_SECS: i64 = 90;

/// The horizontal workload's AIScaleTarget: the template's settings, horizontal
/// autonomous, vertical left to recommendations.
fn horizontal_target(template: &serde_json::Value) -> serde_json::Value {
    let mut spec = template["spec"]["template"].clone();
    spec["scaleTargetRef"] =
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": HORIZONTAL.1});
    spec["horizontal"] =
        json!({"mode": "autonomous", "minReplicas": HPA_MIN, "maxReplicas": HPA_MAX});
    json!({"apiVersion": "thoras.ai/v1", "kind": "AIScaleTarget",
           "metadata": {"name": HORIZONTAL.1, "namespace": HORIZONTAL.0}, "spec": spec})
}

/// The HPA of the horizontal workload, as its owner would have written it.
fn horizontal_hpa() -> serde_json::Value {
    json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
           "metadata": {"name": HORIZONTAL.1, "namespace": HORIZONTAL.0},
           "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": HORIZONTAL.1},
                    "minReplicas": HPA_MIN, "maxReplicas": HPA_MAX,
                    "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                                 "target": {"type": "Utilization",
                                            "averageUtilization": (HPA_TARGET * 100.0).round() as i32}}}]}})
}

/// The autonomous workload's AIScaleTarget: the template's settings, with vertical
/// scaling autonomous, `in_place_or_recreate`, and memory too resized in place (a raise
/// always can be; a fall of the limit recreates the pod).
fn autonomous_target(template: &serde_json::Value) -> serde_json::Value {
    let mut spec = template["spec"]["template"].clone();
    spec["scaleTargetRef"] =
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": AUTONOMOUS.1});
    spec["vertical"]["mode"] = json!("autonomous");
    spec["vertical"]["update_policy"] =
        json!({"update_mode": "in_place_or_recreate", "recreate_resources": []});
    spec.as_object_mut().map(|o| o.remove("horizontal"));
    json!({"apiVersion": "thoras.ai/v1", "kind": "AIScaleTarget",
           "metadata": {"name": AUTONOMOUS.1, "namespace": AUTONOMOUS.0}, "spec": spec})
}

/// Days of history written into the store before the clock starts, so the seasonal
/// models are in use from the first forecast.
const BACKFILLED_DAYS: i64 = 7;

const TEMPLATE: &str = r#"
apiVersion: thoras.ai/v1
kind: ClusterAIScaleTemplate
metadata:
  name: demo-workloads
spec:
  selector:
    matchLabels:
      thoras.ai/enabled: "true"
  policy:
    excludedNamespaces: [kube-system]
  template:
    model:
      forecast_blocks: 15m
      forecast_interval: 15m
      forecast_buffer_percentage: 10%
      mode: balanced
      min_lookback_to_scale: 6h
    horizontal:
      mode: recommendation
    vertical:
      mode: recommendation
      containers:
        - name: "*"
          cpu:
            lowerbound: 50m
            upperbound: "4"
          memory:
            lowerbound: 64Mi
            upperbound: 8Gi
"#;

fn seed(sim: &Sim) -> anyhow::Result<()> {
    let mut store = sim.store();
    let key = |g: &str, p: &str| (g.to_string(), p.to_string());
    for n in 1..=3 {
        let node = json!({"metadata": {"name": format!("node-{n}")},
                          "status": {"allocatable": {"cpu": "8", "memory": "32Gi"}, "capacity": {"cpu": "8", "memory": "32Gi"}}});
        store.create(&key("", "nodes"), "", node)?;
    }
    for ns in ["shop", "payments"] {
        store.create(
            &key("", "namespaces"),
            "",
            json!({"metadata": {"name": ns}}),
        )?;
    }
    for crd in prescale_api::crd::crds() {
        store.create(
            &key("apiextensions.k8s.io", "customresourcedefinitions"),
            "",
            serde_json::to_value(crd)?,
        )?;
    }
    for (ns, kind, name, replicas, cpu, memory) in WORKLOADS {
        let enrolled = if (ns, name) == AUTONOMOUS || (ns, name) == HORIZONTAL {
            "false"
        } else {
            "true"
        };
        let annotations = if (ns, name) == HORIZONTAL {
            json!({prescale_sim::cluster::load::DEMAND_SCALE_ANNOTATION: HORIZONTAL_DEMAND_SCALE.to_string()})
        } else {
            json!({})
        };
        let obj = json!({
            "metadata": {"name": name, "labels": {"thoras.ai/enabled": enrolled, "app": name}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}, "serviceName": name,
                     "template": {"metadata": {"labels": {"app": name}, "annotations": annotations},
                                  "spec": {"containers": [{"name": "app", "image": format!("example/{name}:1"),
                                           "resources": {"requests": {"cpu": cpu, "memory": memory}}}]}}}
        });
        let plural = if kind == "Deployment" {
            "deployments"
        } else {
            "statefulsets"
        };
        store.create(&key("apps", plural), ns, obj)?;
    }
    let template: serde_json::Value =
        serde_saphyr::from_str(TEMPLATE).context("the demo template")?;
    let target = autonomous_target(&template);
    let horizontal = horizontal_target(&template);
    store.create(&key("thoras.ai", "clusteraiscaletemplates"), "", template)?;
    store.create(&key("thoras.ai", "aiscaletargets"), AUTONOMOUS.0, target)?;
    store.create(
        &key("autoscaling", "horizontalpodautoscalers"),
        HORIZONTAL.0,
        horizontal_hpa(),
    )?;
    store.create(
        &key("thoras.ai", "aiscaletargets"),
        HORIZONTAL.0,
        horizontal,
    )?;
    Ok(())
}

/// A week of the synthetic load's usage (what the collector would have recorded every
/// minute: each container's peak over the pods, and the replicas), written into `history`
/// ending at `now`. The horizontal workload's replicas are what its HPA would have kept;
/// the others' their declared ones. Workloads that replay a trace start with none: a
/// trace has no past.
fn backfill(
    history: &dyn prescale_store::HistoryStore,
    now: i64,
    traced: &[(String, String)],
) -> anyhow::Result<()> {
    use prescale_store::{Metric, SeriesKey};
    for (ns, kind, name, replicas, cpu, memory) in WORKLOADS {
        let owner = format!("{ns}/{name}");
        if traced.iter().any(|(w, _)| *w == owner) {
            continue;
        }
        let base = prescale_sim::cluster::load::base_of(&[json!({
            "name": "app", "resources": {"requests": {"cpu": cpu, "memory": memory}}})]);
        let series = |container: &str, metric| SeriesKey {
            namespace: ns.into(),
            kind: kind.into(),
            workload: name.into(),
            container: container.into(),
            metric,
        };
        let horizontal = (ns, name) == HORIZONTAL;
        let scale = if horizontal {
            HORIZONTAL_DEMAND_SCALE
        } else {
            1.0
        };
        let mut batch = vec![];
        for t in (now - BACKFILLED_DAYS * 86_400..now).step_by(60) {
            let replicas = if horizontal {
                let demand = prescale_sim::cluster::load::demand(&owner, t) * scale;
                ((demand / HPA_TARGET).ceil() as u32).clamp(HPA_MIN, HPA_MAX)
            } else {
                replicas
            };
            let usage = prescale_sim::cluster::load::pod_usage(&owner, &base, replicas, scale, t);
            for (container, (cpu, mem)) in usage {
                batch.push((series(&container, Metric::Cpu), (t, cpu)));
                batch.push((series(&container, Metric::Memory), (t, mem)));
            }
            // Replicas are the workload's, under no container (as the collector writes).
            batch.push((series("", Metric::Replicas), (t, f64::from(replicas))));
        }
        history
            .append(&batch)
            .with_context(|| format!("backfilling the history of {owner}"))?;
    }
    Ok(())
}

/// What the table shows of one target beyond its status: what its pods run now, and
/// how many pods prescale resized or evicted (its Events).
#[derive(Default)]
struct Observed {
    running: Option<(String, String)>,
    /// The workload's replicas, and what its HPA asks for on live metrics alone.
    replicas: Option<(i32, Option<i32>)>,
    resized: usize,
    evicted: usize,
}

/// Reads, for each target, its first workload's first pod's requests and its action
/// Events (`Resized`, `Evicted`).
async fn observe(client: &kube::Client, targets: &[AIScaleTarget]) -> Vec<Observed> {
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
    use k8s_openapi::api::core::v1::{Event, Pod};
    let deployments: Vec<Deployment> = Api::<Deployment>::all(client.clone())
        .list(&ListParams::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default();
    let hpas: Vec<HorizontalPodAutoscaler> = Api::<HorizontalPodAutoscaler>::all(client.clone())
        .list(&ListParams::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default();
    let pods: Vec<Pod> = Api::<Pod>::all(client.clone())
        .list(&ListParams::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default();
    let events: Vec<Event> = Api::<Event>::all(client.clone())
        .list(&ListParams::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default();
    targets
        .iter()
        .map(|t| {
            let ns = t.metadata.namespace.as_deref().unwrap_or_default();
            let name = t.metadata.name.as_deref().unwrap_or_default();
            let workload = t
                .status
                .as_ref()
                .and_then(|s| s.workloads.first())
                .map(|w| w.name.clone());
            let running = pods
                .iter()
                .filter(|p| p.metadata.namespace.as_deref() == Some(ns))
                .filter(|p| p.metadata.deletion_timestamp.is_none())
                .find(|p| {
                    workload.is_some()
                        && p.metadata.labels.as_ref().and_then(|l| l.get("app"))
                            == workload.as_ref()
                })
                .and_then(|p| {
                    p.spec
                        .as_ref()?
                        .containers
                        .first()?
                        .resources
                        .clone()?
                        .requests
                })
                .map(|r| {
                    let get = |k: &str| r.get(k).map(|q| q.0.clone()).unwrap_or_else(|| "-".into());
                    (get("cpu"), get("memory"))
                });
            let count = |reason: &str| {
                events
                    .iter()
                    .filter(|e| {
                        e.involved_object.namespace.as_deref() == Some(ns)
                            && e.involved_object.name.as_deref() == Some(name)
                            && e.involved_object.kind.as_deref() == Some("AIScaleTarget")
                            && e.reason.as_deref() == Some(reason)
                    })
                    .map(|e| e.count.unwrap_or(1).max(1) as usize)
                    .sum()
            };
            let replicas = deployments
                .iter()
                .find(|d| {
                    d.metadata.namespace.as_deref() == Some(ns)
                        && workload.is_some()
                        && d.metadata.name == workload
                })
                .and_then(|d| d.spec.as_ref()?.replicas)
                .map(|r| {
                    let hpa = hpas
                        .iter()
                        .find(|h| {
                            h.metadata.namespace.as_deref() == Some(ns)
                                && h.spec.as_ref().map(|s| &s.scale_target_ref.name)
                                    == workload.as_ref()
                        })
                        .and_then(|h| h.status.as_ref().map(|s| s.desired_replicas));
                    (r, hpa)
                });
            Observed {
                running,
                replicas,
                resized: count("Resized"),
                evicted: count("Evicted"),
            }
        })
        .collect()
}

fn table(targets: &[AIScaleTarget], observed: &[Observed]) -> String {
    let row = |cells: [&str; 11]| {
        format!(
            "{:<9} {:<16} {:<13} {:<8} {:<9} {:<9} {:<11} {:<17} {:<7} {:<15} {}\n",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            cells[4],
            cells[5],
            cells[6],
            cells[7],
            cells[8],
            cells[9],
            cells[10]
        )
    };
    let mut out = row([
        "NAMESPACE",
        "AISCALETARGET",
        "VERTICAL",
        "CPU",
        "MEMORY",
        "REPLICAS",
        "RUN/HPA",
        "PODS RUN CPU/MEM",
        "APPLIED",
        "RESIZED/EVICTED",
        "ENOUGH DATA / MODEL",
    ]);
    for (t, o) in targets.iter().zip(observed) {
        let s = t.status.as_ref().and_then(|s| s.suggestion.as_ref());
        let c = s.and_then(|s| s.containers.first());
        let model = s
            .and_then(|s| s.models.values().next().cloned())
            .unwrap_or_default();
        let dash = || "-".to_string();
        let vertical = t
            .spec
            .vertical
            .as_ref()
            .and_then(|v| v.mode.as_ref())
            .map(|m| m.0.clone())
            .unwrap_or_else(dash);
        out.push_str(&row([
            t.metadata.namespace.as_deref().unwrap_or_default(),
            t.metadata.name.as_deref().unwrap_or_default(),
            &vertical,
            &c.and_then(|c| c.cpu.clone()).unwrap_or_else(dash),
            &c.and_then(|c| c.memory.clone()).unwrap_or_else(dash),
            &s.and_then(|s| s.suggested_replicas)
                .map(|r| r.to_string())
                .unwrap_or_else(dash),
            &o.replicas
                .map(|(run, hpa)| match hpa {
                    Some(h) => format!("{run}/{h}"),
                    None => format!("{run}/-"),
                })
                .unwrap_or_else(dash),
            &o.running
                .as_ref()
                .map(|(cpu, mem)| format!("{cpu}/{mem}"))
                .unwrap_or_else(dash),
            &t.status
                .as_ref()
                .and_then(|s| s.applied_pods.clone())
                .unwrap_or_else(dash),
            &format!("{}/{}", o.resized, o.evicted),
            &s.map(|s| format!("{} / {model}", s.has_enough_data_to_scale))
                .unwrap_or_else(|| "waiting".into()),
        ]));
    }
    out
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if !(args.speed.is_finite() && args.speed > 0.0) {
        anyhow::bail!("--speed {} must be a positive number", args.speed);
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let sim = Sim::new(Arc::new(Clock::new(jiff::Timestamp::now(), args.speed)));
        sim.set_startup_delay(STARTUP_SECS);
        seed(&sim)?;
        let traced = match &args.traces {
            Some(dir) => attach_traces(&sim, dir)?,
            None => vec![],
        };
        let (addr, _server) = prescale_sim::testing::serve(sim.clone(), std::net::SocketAddr::from(([127, 0, 0, 1], args.port)))
            .await
            .context("starting the simulated API server")?;
        let url = format!("http://{addr}");
        std::fs::write(&args.kubeconfig_out, prescale_sim::testing::kubeconfig(&url))
            .with_context(|| format!("writing {}", args.kubeconfig_out.display()))?;
        let _cluster = prescale_sim::cluster::spawn(sim.clone());
        let mut config = kube::Config::new(url.parse().context("the simulated cluster's URL")?);
        config.default_namespace = "default".into();
        let client = prescale_operator::client::operator_client(config).context("connecting to the simulated cluster")?;
        let webhook_port = std::net::TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.local_addr())
            .context("finding a free port for the admission webhooks")?
            .port();
        let operator = OperatorConfig {
            namespace: "prescale-system".into(),
            metrics_addr: None,
            resync: Duration::from_secs(60),
            identity: "prescale-demo".into(),
            backfill: None,
            // A minute of simulated time: at 720x, a dozen collections a second.
            collect_interval: Duration::from_secs(60),
            claims: None,
            worker_only: false,
            scope: prescale_operator::scope::Scope::all(),
            // One clock: the operator's timestamps follow the simulated cluster's.
            clock: Arc::new(prescale_operator::clock::FnClock {
                now: { let c = sim.clock.clone(); move || c.now() },
                real_duration: { let c = sim.clock.clone(); move |d| c.real_duration(d) },
            }),
            dashboard: super::operator::bind_dashboard(
                Some(std::net::SocketAddr::from(([127, 0, 0, 1], args.dashboard_port))),
                &format!("--dashboard-port {}", args.dashboard_port),
                "another demo or operator may be using it: pass --dashboard-port 0 for a free port",
            ).await?,
            // The admission webhooks, registered by URL: new pods start with their
            // autonomous target's requests, and the `*/scale` webhook holds the replica
            // floor against the HPA's own writes (without it the HPA would undo each
            // raise at its next sync).
            webhook: Some(prescale_operator::webhook::WebhookConfig {
                listen: std::net::SocketAddr::from(([127, 0, 0, 1], webhook_port)),
                certs: prescale_operator::webhook::CertSource::SelfSigned,
                url: Some(format!("https://127.0.0.1:{webhook_port}")),
                service: prescale_operator::install::APP.into(),
                refresh: Duration::from_secs(600),
            }),
        };
        let dashboard_url = format!("http://{}", operator.dashboard.as_ref().and_then(|l| l.local_addr().ok()).context("the dashboard's address")?);
        // Writes from the dashboard need a token the (simulated) API server's TokenReview
        // accepts: one for a cluster admin, made up for this run.
        let admin_token = prescale_operator::dashboard::auth::random_token();
        sim.add_token(&admin_token, "demo-admin", &["system:masters"]);
        {
            let mut store = sim.store();
            store.create(&("".into(), "namespaces".into()), "", json!({"metadata": {"name": "prescale-system"}}))?;
        }
        let store = prescale_store::MemoryStore::new();
        backfill(&store, sim.clock.now().as_second(), &traced)?;
        let client2 = client.clone();
        tokio::spawn(async move {
            let _ = run_operator(client2, Arc::new(store), operator, std::future::pending()).await;
        });
        let kc = args.kubeconfig_out.display();
        output::outln!("prescale demo: a simulated cluster at {url}, time running {}x (one simulated hour every {:.0} s).", args.speed, 3600.0 / args.speed)?;
        output::outln!("{} workloads in namespaces shop and payments with {BACKFILLED_DAYS} days of usage history; template demo-workloads enrols the 4 labelled thoras.ai/enabled=true (recommendations only);", WORKLOADS.len())?;
        output::outln!("AIScaleTarget {}/{} resizes its workload's pods autonomously (in place, or by recreating pods where memory must fall),", AUTONOMOUS.0, AUTONOMOUS.1)?;
        output::outln!("and AIScaleTarget {}/{} feeds its HPA a replica floor ahead of demand (RUN/HPA: the replicas running / what the HPA alone asks for).", HORIZONTAL.0, HORIZONTAL.1)?;
        for (workload, file) in &traced {
            output::outln!("  {workload} replays {file}")?;
        }
        output::outln!("Dashboard: {dashboard_url}/")?;
        output::outln!("  token for Manage Cluster (pause / resume): {admin_token}")?;
        output::outln!("Try, in another terminal:")?;
        output::outln!("  export KUBECONFIG={kc}")?;
        output::outln!("  kubectl get clusterast")?;
        output::outln!("  kubectl get ast -A")?;
        output::outln!("  kubectl get ast storefront-ast -n shop -o yaml")?;
        output::outln!("  kubectl get pods -n shop -l app=checkout -o yaml   # requests resized in place, restartCount unchanged")?;
        output::outln!("  kubectl get deployment checkout -n shop -o yaml     # its own template is unchanged")?;
        output::outln!("  cargo run -p prescale -- status   # and pause / resume")?;
        output::outln!()?;
        let started = Instant::now();
        let api: Api<AIScaleTarget> = Api::all(client.clone());
        loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                _ = tokio::signal::ctrl_c() => break,
            }
            let targets = api.list(&ListParams::default()).await.map(|l| l.items).unwrap_or_default();
            let sim_time = sim.clock.now();
            output::outln!("simulated time {} — {} AIScaleTargets", sim_time.strftime("%Y-%m-%d %H:%M"), targets.len())?;
            let observed = observe(&client, &targets).await;
            output::out!("{}", table(&targets, &observed))?;
            if args.duration > 0 && started.elapsed() >= Duration::from_secs(args.duration) {
                let ready = targets.iter().filter(|t| t.status.as_ref().and_then(|s| s.suggestion.as_ref()).is_some()).count();
                output::outln!("{ready}/{} targets have a recommendation", WORKLOADS.len())?;
                return Ok(if ready == WORKLOADS.len() { ExitCode::SUCCESS } else { ExitCode::FAILURE });
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

//! Pods that serve a metrics endpoint: a Deployment or StatefulSet whose template asks for
//! one gets pods, each with its own pod IP, serving Prometheus text at podIP:port/path while
//! ready, with gauges that follow the load model — read here with a real HTTP client, as an
//! autoscaler would.

use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Event, Node, Pod};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use prescale_sim::cluster::{pod_metrics, trace::Trace};
use prescale_sim::testing::TestCluster;
use serde_json::{Value, json};

async fn cluster() -> TestCluster {
    let c = TestCluster::start_with(jiff::Timestamp::now(), 0.0)
        .await
        .unwrap();
    let nodes: Api<Node> = Api::all(c.client.clone());
    let node = json!({"metadata": {"name": "gpu-1"}, "status": {"allocatable": {"cpu": "64", "memory": "256Gi"}}});
    nodes
        .create(
            &PostParams::default(),
            &serde_json::from_value(node).unwrap(),
        )
        .await
        .unwrap();
    c
}

/// A vLLM-like workload: one container, and pods that serve metrics when `annotations` ask.
fn workload(name: &str, replicas: i32, annotations: Value) -> Value {
    json!({
        "metadata": {"name": name},
        "spec": {"replicas": replicas, "serviceName": name, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}, "annotations": annotations},
                              "spec": {"containers": [{"name": "vllm", "image": "vllm/vllm-openai:v0.10",
                                                       "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}]}}}
    })
}

async fn step(c: &TestCluster, secs: u64) {
    c.run_for(secs).await;
}

/// The workload's total demand, constant: `total` pods' worth of requests.
fn flat(total: f64) -> Trace {
    Trace::from_points(vec![(0, 1.0), (86_400, 1.0)], total).unwrap()
}

async fn ready_pods(c: &TestCluster, app: &str) -> Vec<Pod> {
    let pods: Api<Pod> = Api::namespaced(c.client.clone(), "default");
    let list = pods
        .list(&ListParams::default().labels(&format!("app={app}")))
        .await
        .unwrap()
        .items;
    list.into_iter()
        .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
        .collect()
}

fn ip(p: &Pod) -> String {
    p.status
        .as_ref()
        .unwrap()
        .pod_ip
        .clone()
        .expect("a running pod has an IP")
}

/// A gauge's value in Prometheus text: the first sample line of that name.
fn gauge(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| l.split(['{', ' ']).next() == Some(name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
}

async fn scrape(http: &reqwest::Client, url: &str) -> Result<String, reqwest::Error> {
    let response = http.get(url).send().await?.error_for_status()?;
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    response.text().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_serve_metrics_on_their_own_ip_following_the_load() {
    let c = cluster().await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let deployments: Api<Deployment> = Api::namespaced(c.client.clone(), "default");
    let d = workload("vllm", 2, json!({pod_metrics::PORT_ANNOTATION: "8000"}));
    deployments
        .create(&PostParams::default(), &serde_json::from_value(d).unwrap())
        .await
        .unwrap();
    // Two pods' worth of demand on two pods: each at its requests.
    c.sim.drive_with_trace("default", "vllm", flat(2.0));
    step(&c, 30).await;

    let pods = ready_pods(&c, "vllm").await;
    assert_eq!(pods.len(), 2);
    let ips: Vec<String> = pods.iter().map(ip).collect();
    assert_ne!(ips[0], ips[1], "every pod has its own IP");
    for pod_ip in &ips {
        let addr: std::net::Ipv4Addr = pod_ip.parse().unwrap();
        assert!(addr.is_loopback(), "{pod_ip}");
        let text = scrape(&http, &format!("http://{pod_ip}:8000/metrics"))
            .await
            .unwrap();
        assert_eq!(gauge(&text, "vllm:gpu_cache_usage_perc"), 0.5, "{text}");
        assert_eq!(gauge(&text, "vllm:kv_cache_usage_perc"), 0.5);
        assert_eq!(gauge(&text, "vllm:num_requests_running"), 8.0);
        assert_eq!(gauge(&text, "vllm:num_requests_waiting"), 0.0);
        assert_eq!(gauge(&text, "requests_in_flight"), 8.0);
        assert!(
            text.contains("vllm:num_requests_running{model_name=\"vllm\"} 8\n"),
            "{text}"
        );
        // Other paths are not the endpoint.
        let missing = http
            .get(format!("http://{pod_ip}:8000/other"))
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), 404);
    }

    // Four times the demand overflows the batch: requests wait, the cache is full.
    c.sim.drive_with_trace("default", "vllm", flat(8.0));
    step(&c, 15).await;
    let text = scrape(&http, &format!("http://{}:8000/metrics", ips[0]))
        .await
        .unwrap();
    assert_eq!(gauge(&text, "vllm:num_requests_running"), 16.0);
    assert_eq!(gauge(&text, "vllm:num_requests_waiting"), 16.0);
    assert_eq!(gauge(&text, "vllm:gpu_cache_usage_perc"), 1.0);

    // Scaled to 4, the same demand is shared by more pods: each holds half as much.
    deployments
        .patch(
            "vllm",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 4}})),
        )
        .await
        .unwrap();
    step(&c, 30).await;
    let pods = ready_pods(&c, "vllm").await;
    assert_eq!(pods.len(), 4);
    for pod in &pods {
        let text = scrape(&http, &format!("http://{}:8000/metrics", ip(pod)))
            .await
            .unwrap();
        assert_eq!(gauge(&text, "requests_in_flight"), 16.0, "{}", ip(pod));
        assert_eq!(gauge(&text, "vllm:gpu_cache_usage_perc"), 1.0);
    }
    assert_eq!(
        c.sim
            .pod_metrics()
            .address("default", pods[0].metadata.name.as_deref().unwrap()),
        Some(format!("{}:8000", ip(&pods[0])).parse().unwrap())
    );

    // Scaled down: the removed pods' endpoints stop answering.
    deployments
        .patch(
            "vllm",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 1}})),
        )
        .await
        .unwrap();
    step(&c, 30).await;
    let left: Vec<String> = ready_pods(&c, "vllm").await.iter().map(ip).collect();
    assert_eq!(left.len(), 1);
    for gone in pods.iter().map(ip).filter(|i| !left.contains(i)) {
        let e = http
            .get(format!("http://{gone}:8000/metrics"))
            .send()
            .await
            .expect_err("a deleted pod's endpoint is closed");
        assert!(e.is_connect(), "{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_pods_that_ask_serve_and_the_path_and_capacity_are_theirs() {
    let c = cluster().await;
    let http = reqwest::Client::new();
    let deployments: Api<Deployment> = Api::namespaced(c.client.clone(), "default");
    let plain = workload("web", 1, json!({}));
    deployments
        .create(
            &PostParams::default(),
            &serde_json::from_value(plain).unwrap(),
        )
        .await
        .unwrap();
    let sets: Api<StatefulSet> = Api::namespaced(c.client.clone(), "default");
    let custom = workload(
        "llm",
        2,
        json!({
            pod_metrics::PORT_ANNOTATION: "9400",
            pod_metrics::PATH_ANNOTATION: "stats/prometheus",
            pod_metrics::CAPACITY_ANNOTATION: "4",
        }),
    );
    sets.create(
        &PostParams::default(),
        &serde_json::from_value(custom).unwrap(),
    )
    .await
    .unwrap();
    // One pod's worth over two pods: half load each, 4 × 0.5 = 2 requests.
    c.sim.drive_with_trace("default", "llm", flat(1.0));
    step(&c, 30).await;

    let web = ready_pods(&c, "web").await;
    assert_eq!(web.len(), 1);
    let e = http
        .get(format!("http://{}:9400/stats/prometheus", ip(&web[0])))
        .send()
        .await
        .expect_err("a pod that does not ask serves nothing");
    assert!(e.is_connect(), "{e}");

    let llm = ready_pods(&c, "llm").await;
    assert_eq!(llm.len(), 2);
    for pod in &llm {
        let text = scrape(&http, &format!("http://{}:9400/stats/prometheus", ip(pod)))
            .await
            .unwrap();
        assert_eq!(gauge(&text, "requests_in_flight"), 2.0, "{text}");
        assert_eq!(gauge(&text, "vllm:gpu_cache_usage_perc"), 0.25);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_that_cannot_be_bound_is_one_warning_event_then_retried() {
    let c = cluster().await;
    // A listener on every address at this port keeps the pods from binding it.
    let blocker = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = blocker.local_addr().unwrap().port().to_string();
    let deployments: Api<Deployment> = Api::namespaced(c.client.clone(), "default");
    let d = workload("blocked", 1, json!({pod_metrics::PORT_ANNOTATION: port}));
    deployments
        .create(&PostParams::default(), &serde_json::from_value(d).unwrap())
        .await
        .unwrap();
    step(&c, 60).await;
    let events: Api<Event> = Api::namespaced(c.client.clone(), "default");
    let warnings = || async {
        events
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|e| e.reason.as_deref() == Some("MetricsEndpointUnavailable"))
            .collect::<Vec<Event>>()
    };
    let pod = ready_pods(&c, "blocked").await.remove(0);
    let name = pod.metadata.name.clone().unwrap();
    let found = warnings().await;
    assert_eq!(found.len(), 1, "reported once, not every tick: {found:?}");
    let message = found[0].message.clone().unwrap();
    assert!(
        message.contains(&format!("{}:{port}", ip(&pod))),
        "{message}"
    );
    assert_eq!(c.sim.pod_metrics().address("default", &name), None);
    // Once the address is free, the next tick serves it.
    drop(blocker);
    step(&c, 15).await;
    let text = scrape(
        &reqwest::Client::new(),
        &format!("http://{}:{port}/metrics", ip(&pod)),
    )
    .await
    .unwrap();
    assert_eq!(gauge(&text, "vllm:num_requests_waiting"), 0.0);
}

//! The dashboard in headless Chromium, on a running `prescale demo` (the binary, its
//! simulated cluster and operator): every target is listed, a target's chart opens, Manage
//! Cluster → Pause shows the count of autonomous targets, a confirmation without a token is
//! refused (401), with the demo's token it pauses (banner, ConfigMap), then resumes. The
//! JSON API refuses writes without a valid token. Screenshots of each page go to
//! `target/dashboard-screenshots/`.
//!
//! Needs Debian's `chromium` and `chromium-driver` (scripts/deps/chromium.sh installs
//! them); without them it fails, saying so — it is never skipped.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, PostParams};
use prescale_api::AIScaleTarget;
use serde_json::json;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn screenshots_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/dashboard-screenshots");
    std::fs::create_dir_all(&dir).expect("creating target/dashboard-screenshots");
    dir
}

/// Starts `prescale demo`; returns it with the dashboard's URL and the admin token.
fn start_demo(kubeconfig: &std::path::Path) -> (Killed, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_prescale"))
        .args([
            "demo",
            "--dashboard-port",
            "0",
            "--speed",
            "1440",
            "--kubeconfig-out",
        ])
        .arg(kubeconfig)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting prescale demo");
    let stdout = child.stdout.take().expect("stdout");
    let (mut url, mut token) = (None, None);
    let mut lines = std::io::BufReader::new(stdout).lines();
    while url.is_none() || token.is_none() {
        let line = lines
            .next()
            .expect("prescale demo ended early")
            .expect("reading its output");
        if let Some(u) = line.strip_prefix("Dashboard: ") {
            url = Some(u.trim_end_matches('/').to_string());
        }
        if let Some(t) = line
            .split("token for Manage Cluster (pause / resume): ")
            .nth(1)
        {
            token = Some(t.trim().to_string());
        }
    }
    // Keep draining its output so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (
        Killed(child),
        url.unwrap_or_default(),
        token.unwrap_or_default(),
    )
}

async fn eventually<F, Fut>(what: &str, secs: u64, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check().await {
        assert!(
            Instant::now() < deadline,
            "timed out after {secs} s waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn shot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.expect("screenshot");
    std::fs::write(screenshots_dir().join(format!("{name}.png")), png)
        .expect("writing a screenshot");
}

/// The text of the element `css`, waiting up to 15 s for it to appear (some are drawn
/// only once the page's request is answered, e.g. the error of a refused write).
async fn text(browser: &Client, css: &str) -> String {
    browser
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap_or_default()
}

async fn pause_data(client: &kube::Client) -> Option<String> {
    Api::<ConfigMap>::namespaced(client.clone(), "prescale-system")
        .get_opt(prescale_operator::pause::SYSTEM_CONFIG_MAP)
        .await
        .ok()
        .flatten()
        .and_then(|c| c.data)
        .and_then(|d| d.get(prescale_operator::pause::SYSTEM_CONFIG_KEY).cloned())
}

/// A workload the demo's template does not enrol, with a hand-written autonomous target.
async fn add_autonomous_target(client: &kube::Client) {
    let d: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "search", "namespace": "shop"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "search"}},
                 "template": {"metadata": {"labels": {"app": "search"}},
                              "spec": {"containers": [{"name": "app", "image": "example/search:1",
                                       "resources": {"requests": {"cpu": "200m", "memory": "256Mi"}}}]}}}}))
    .unwrap();
    Api::<Deployment>::namespaced(client.clone(), "shop")
        .create(&PostParams::default(), &d)
        .await
        .expect("creating shop/search");
    let t: AIScaleTarget = serde_json::from_value(json!({
        "apiVersion": "thoras.ai/v1", "kind": "AIScaleTarget",
        "metadata": {"name": "search-ast", "namespace": "shop"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "search"},
                 "model": {"forecast_blocks": "15m", "forecast_interval": "15m", "mode": "balanced"},
                 // Autonomous needs lower bounds: the demo's validating webhook says so.
                 "vertical": {"mode": "autonomous", "containers": [{"name": "*",
                     "cpu": {"lowerbound": "50m"}, "memory": {"lowerbound": "64Mi"}}]}}}))
    .unwrap();
    Api::<AIScaleTarget>::namespaced(client.clone(), "shop")
        .create(&PostParams::default(), &t)
        .await
        .expect("creating shop/search-ast");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browse_pause_and_resume_in_headless_chromium() {
    for tool in ["chromium", "chromedriver"] {
        assert!(
            Command::new(tool)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success()),
            "`{tool} --version` failed: the dashboard browser test needs Debian's chromium and \
             chromium-driver; run it through scripts/test (scripts/deps/chromium.sh installs them) \
             or `apt-get install chromium chromium-driver`"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("demo.kubeconfig");
    let (_demo, url, token) = start_demo(&kubeconfig);
    let kube = kube::Client::try_from(
        kube::Config::from_custom_kubeconfig(
            kube::config::Kubeconfig::read_from(&kubeconfig).unwrap(),
            &Default::default(),
        )
        .await
        .unwrap(),
    )
    .unwrap();
    add_autonomous_target(&kube).await;
    let targets = Api::<AIScaleTarget>::all(kube.clone());
    eventually("the demo's 6 targets and ours", 120, || {
        let targets = targets.clone();
        async move {
            targets
                .list(&ListParams::default())
                .await
                .is_ok_and(|l| l.items.len() == 7)
        }
    })
    .await;
    let autonomous = prescale_operator::pause_switch::affected(
        &targets.list(&ListParams::default()).await.unwrap().items,
    );
    assert!(
        autonomous >= 1,
        "shop/search-ast (and any the demo runs autonomously) is autonomous"
    );

    // The JSON API refuses writes without a valid token.
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{url}/api/v1/pause"))
        .json(&json!({"paused": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "no token");
    let r = http
        .post(format!("{url}/api/v1/pause"))
        .bearer_auth("not-a-token")
        .json(&json!({"paused": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "an unknown token");
    assert_eq!(
        pause_data(&kube).await,
        None,
        "refused writes change nothing"
    );

    let port = free_port();
    let _driver = Killed(
        Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting chromedriver (scripts/deps/chromium.sh installs it)"),
    );
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1100"]}),
    );
    let mut browser = None;
    for _ in 0..40 {
        match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => {
                browser = Some(c);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
    let b = browser.expect("connecting to chromedriver");

    // Targets: every target is listed (the table fills as the operator reconciles).
    eventually("the targets table to list all 7 targets", 120, || {
        let b = &b;
        let url = &url;
        async move {
            b.goto(&format!("{url}/targets")).await.unwrap();
            b.find_all(Locator::Css("tr.target"))
                .await
                .map(|r| r.len())
                .unwrap_or(0)
                == 7
        }
    })
    .await;
    assert!(text(&b, "#matched").await.starts_with("7 targets"));
    for name in [
        "storefront-ast",
        "checkout",
        "cart-db-ast",
        "gateway-ast",
        "ledger-ast",
        "search-ast",
    ] {
        assert!(text(&b, "#targets").await.contains(name), "{name} listed");
    }
    shot(&b, "targets").await;
    // Sorting (the header's link) and filtering (the form) keep working through the query.
    b.find(Locator::Id("sort-cpu"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.find(Locator::Id("sort-cpu"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(
        b.current_url()
            .await
            .unwrap()
            .as_str()
            .contains("desc=true"),
        "sorted descending by CPU"
    );
    assert_eq!(
        b.find_all(Locator::Css("tr.target")).await.unwrap().len(),
        7
    );
    b.find(Locator::Id("filter"))
        .await
        .unwrap()
        .send_keys("search")
        .await
        .unwrap();
    b.find(Locator::Css("form.filter button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The filter's answer is a new page: wait for it rather than count the old one's rows.
    eventually("the table filtered to shop/search-ast", 30, || {
        let b = &b;
        async move {
            b.current_url()
                .await
                .is_ok_and(|u| u.as_str().contains("search"))
                && b.find_all(Locator::Css("tr.target"))
                    .await
                    .map(|r| r.len())
                    .unwrap_or(0)
                    == 1
        }
    })
    .await;
    shot(&b, "targets-filtered").await;

    // Overview.
    b.goto(&format!("{url}/")).await.unwrap();
    assert!(text(&b, "#targets-count").await.contains('7'));
    shot(&b, "overview").await;

    // A target's chart.
    b.goto(&format!("{url}/targets")).await.unwrap();
    b.find(Locator::LinkText("shop/storefront-ast"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(text(&b, "#target-title").await, "shop/storefront-ast");
    assert_eq!(
        b.find_all(Locator::Css("svg.chart")).await.unwrap().len(),
        3,
        "cpu, memory and replicas charts"
    );
    assert!(
        !b.find_all(Locator::Css("#vertical-chart polyline"))
            .await
            .unwrap()
            .is_empty(),
        "lines drawn"
    );
    shot(&b, "target").await;

    // Manage Cluster → Pause: the flyout counts the autonomous targets.
    b.goto(&format!("{url}/")).await.unwrap();
    b.find(Locator::Css("#manage-cluster summary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.find(Locator::Id("menu-pause"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(text(&b, "#affected-count").await, autonomous.to_string());
    shot(&b, "pause-flyout").await;
    // Confirming without a token is refused.
    b.find(Locator::Id("confirm"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(
        text(&b, "#error").await.contains("401"),
        "a write without a token is refused"
    );
    shot(&b, "refused-401").await;
    assert_eq!(pause_data(&kube).await, None);
    // With the demo's token it pauses.
    b.goto(&format!("{url}/?manage=pause")).await.unwrap();
    b.find(Locator::Id("token"))
        .await
        .unwrap()
        .send_keys(&token)
        .await
        .unwrap();
    b.find(Locator::Id("confirm"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("the paused banner", 15, || {
        let b = &b;
        async move {
            match b.find(Locator::Css("#paused-banner")).await {
                Ok(banner) => banner.text().await.is_ok_and(|t| t.contains("paused")),
                Err(_) => false,
            }
        }
    })
    .await;
    assert_eq!(
        pause_data(&kube).await.as_deref(),
        Some("scaling-paused: true\n")
    );
    shot(&b, "paused").await;

    // Resume: the session holds the token now.
    b.find(Locator::Css("#manage-cluster summary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.find(Locator::Id("menu-resume"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(
        b.find_all(Locator::Id("token")).await.unwrap().is_empty(),
        "signed in: no token asked"
    );
    b.find(Locator::Id("confirm"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The click submits the form; the page it lands on replaces the current one a moment
    // later (the old page still shows the banner until then).
    eventually("the paused banner to go", 15, || {
        let b = &b;
        async move {
            b.find_all(Locator::Id("paused-banner"))
                .await
                .is_ok_and(|found| found.is_empty())
        }
    })
    .await;
    assert_eq!(
        pause_data(&kube).await.as_deref(),
        Some("scaling-paused: false\n")
    );
    shot(&b, "resumed").await;

    // A cross-site form post (no CSRF cookie match) is refused even with the session.
    let r = http
        .post(format!("{url}/manage/pause"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf=forged&token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "no CSRF cookie");
    assert_eq!(
        pause_data(&kube).await.as_deref(),
        Some("scaling-paused: false\n")
    );
    b.close().await.unwrap();
}

//! Starting a simulated cluster in-process on a free loopback port, with a kube-rs client
//! and a kubeconfig for kubectl.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use jiff::Timestamp;

use crate::{Clock, Sim, router};

/// A running simulated cluster. The server stops when this is dropped.
pub struct TestCluster {
    pub sim: Arc<Sim>,
    pub addr: SocketAddr,
    pub client: kube::Client,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("binding a loopback port: {0}")]
    Bind(#[from] std::io::Error),
    #[error("building a client: {0}")]
    Client(String),
}

/// Serves `sim` on `addr` until the returned task is aborted.
pub async fn serve(
    sim: Arc<Sim>,
    addr: SocketAddr,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router(sim)).await;
    });
    Ok((bound, task))
}

impl TestCluster {
    /// A cluster whose clock starts at `start` and runs at `speed` × real time.
    pub async fn start_with(start: Timestamp, speed: f64) -> Result<Self, StartError> {
        let sim = Sim::new(Arc::new(Clock::new(start, speed)));
        let (addr, task) =
            serve(sim.clone(), "127.0.0.1:0".parse().expect("literal address")).await?;
        let mut config = kube::Config::new(
            format!("http://{addr}")
                .parse()
                .map_err(|e| StartError::Client(format!("{e}")))?,
        );
        // Tests observe the server's answers as they are: no automatic retry of 429/503.
        config.default_retry = false;
        let client =
            kube::Client::try_from(config).map_err(|e| StartError::Client(e.to_string()))?;
        Ok(TestCluster {
            sim,
            addr,
            client,
            task,
        })
    }

    /// A cluster running in real time from now.
    pub async fn start() -> Result<Self, StartError> {
        Self::start_with(Timestamp::now(), 1.0).await
    }

    /// Runs the cluster loop for `secs` simulated seconds (at least one tick), moving a
    /// stepped clock along: for clusters started with speed 0.
    pub async fn run_for(&self, secs: u64) {
        let tick = crate::cluster::TICK_SECS;
        for _ in 0..(secs / tick).max(1) {
            self.sim.clock.advance(std::time::Duration::from_secs(tick));
            crate::cluster::tick(&self.sim).await;
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Writes a kubeconfig for kubectl pointing at this cluster.
    pub fn write_kubeconfig(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, kubeconfig(&self.url()))
    }
}

/// A kubeconfig whose current context points at `url`.
pub fn kubeconfig(url: &str) -> String {
    kubeconfig_with_ca(url, None)
}

/// A kubeconfig whose current context points at `url`, trusting `ca_pem` for HTTPS. The
/// server checks no credentials; the token is there because kubectl asks for a password
/// over HTTPS when a user has none.
pub fn kubeconfig_with_ca(url: &str, ca_pem: Option<&str>) -> String {
    use base64::Engine;
    let ca = ca_pem
        .map(|pem| {
            format!(
                "\n    certificate-authority-data: {}",
                base64::engine::general_purpose::STANDARD.encode(pem)
            )
        })
        .unwrap_or_default();
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: prescale-sim\n  cluster:\n    server: {url}{ca}\ncontexts:\n- name: prescale-sim\n  context:\n    cluster: prescale-sim\n    user: prescale-sim\n    namespace: default\ncurrent-context: prescale-sim\nusers:\n- name: prescale-sim\n  user:\n    token: prescale-sim\n"
    )
}

//! `prescale sim`: serve a simulated Kubernetes cluster and write a kubeconfig for it.
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use prescale_sim::{Clock, Sim};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Where to write the kubeconfig for kubectl and kube-rs clients.
    #[arg(long, default_value = "prescale-sim.kubeconfig")]
    kubeconfig_out: PathBuf,
    /// Simulated seconds per real second (60: one simulated hour per real minute).
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Serve HTTPS with a self-signed certificate (trusted by the written kubeconfig).
    #[arg(long)]
    tls: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if !(args.speed.is_finite() && args.speed > 0.0) {
        anyhow::bail!("--speed {} must be a positive number", args.speed);
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let sim = Sim::new(Arc::new(Clock::new(jiff::Timestamp::now(), args.speed)));
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], args.port));
        let (url, ca, task) = if args.tls {
            let (bound, ca, task) = prescale_sim::tls::serve_tls(sim, addr).await?;
            (format!("https://{bound}"), Some(ca), task)
        } else {
            let (bound, task) = prescale_sim::testing::serve(sim, addr)
                .await
                .with_context(|| format!("binding {addr}"))?;
            (format!("http://{bound}"), None, task)
        };
        std::fs::write(
            &args.kubeconfig_out,
            prescale_sim::testing::kubeconfig_with_ca(&url, ca.as_deref()),
        )
        .with_context(|| format!("writing {}", args.kubeconfig_out.display()))?;
        eprintln!("simulated cluster at {url}");
        eprintln!(
            "kubeconfig: {}  (try: KUBECONFIG={} kubectl get ns)",
            args.kubeconfig_out.display(),
            args.kubeconfig_out.display()
        );
        tokio::select! {
            _ = tokio::signal::ctrl_c() => eprintln!("stopping"),
            _ = task => {},
        }
        Ok(ExitCode::SUCCESS)
    })
}

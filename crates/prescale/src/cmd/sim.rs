//! `prescale sim`: serve a simulated Kubernetes cluster and write a kubeconfig for it.
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use prescale_sim::{Clock, Sim};

use crate::cmd::output;

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
    /// Simulated time a scheduled pod takes to become Ready (Go-style duration).
    #[arg(long, default_value = "5s")]
    startup_delay: String,
    /// Drive a workload (any kind, created now or later) with a `timestamp,value` CSV
    /// trace: `NAMESPACE/NAME=FILE` or `NAMESPACE/NAME=FILE,PEAK`, PEAK in pods' worth of
    /// requests (default 1). Repeatable.
    #[arg(long = "trace", value_name = "NAMESPACE/NAME=FILE[,PEAK]")]
    traces: Vec<String>,
}

/// Parses one `--trace` value and attaches it.
fn attach_trace(sim: &Sim, spec: &str) -> anyhow::Result<()> {
    let usage =
        || format!("--trace {spec}: expected NAMESPACE/NAME=FILE or NAMESPACE/NAME=FILE,PEAK");
    let (workload, file) = spec.split_once('=').with_context(usage)?;
    let (namespace, name) = workload.split_once('/').with_context(usage)?;
    let (file, peak) = match file.rsplit_once(',') {
        Some((f, p)) => (
            f,
            p.parse::<f64>()
                .ok()
                .filter(|p| *p > 0.0)
                .with_context(usage)?,
        ),
        None => (file, 1.0),
    };
    let trace = prescale_sim::cluster::trace::Trace::from_csv(std::path::Path::new(file), peak)
        .with_context(|| format!("--trace {spec}"))?;
    sim.drive_with_trace(namespace, name, trace);
    Ok(())
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if !(args.speed.is_finite() && args.speed > 0.0) {
        anyhow::bail!("--speed {} must be a positive number", args.speed);
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let sim = Sim::new(Arc::new(Clock::new(jiff::Timestamp::now(), args.speed)));
        let startup = prescale_api::duration::parse_duration(&args.startup_delay)
            .with_context(|| format!("--startup-delay {}", args.startup_delay))?;
        sim.set_startup_delay(startup.as_secs() as i64);
        for spec in &args.traces {
            attach_trace(&sim, spec)?;
        }
        let sim_for_cluster = sim.clone();
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
        // Controllers, scheduler, load model and HPAs, ticking on the simulated clock.
        let _cluster = prescale_sim::cluster::spawn(sim_for_cluster);
        // A server keeps serving when its terminal is gone: these lines are only diagnostics.
        let _ = output::errln!("simulated cluster at {url}");
        let _ = output::errln!(
            "kubeconfig: {}  (try: KUBECONFIG={} kubectl get ns)",
            args.kubeconfig_out.display(),
            args.kubeconfig_out.display()
        );
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {
                let _ = output::errln!("stopping");
            }
            _ = task => {},
        }
        Ok(ExitCode::SUCCESS)
    })
}

//! The `prescale` command line: wiring only. Every subcommand lives in `cmd/<name>.rs`
//! and calls into the library crates; no decision logic lives here.
#![forbid(unsafe_code)]

mod cmd;

/// mimalloc rather than glibc's malloc: see the workspace's Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};

/// prescale: scale Kubernetes workloads ahead of demand.
#[derive(Debug, Parser)]
#[command(name = "prescale", version, about, long_about = None)]
struct Cli {
    /// Log as JSON lines instead of human-readable text.
    #[arg(long, global = true, env = "PRESCALE_LOG_JSON")]
    log_json: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the CustomResourceDefinitions (AIScaleTarget, ClusterAIScaleTemplate, AIBrix's PodAutoscaler) as YAML.
    Crds(cmd::crds::Args),
    /// Check thoras.ai/v1 and AIBrix PodAutoscaler manifests offline; exits 1 and names each wrong field.
    Validate(cmd::validate::Args),
    /// Print a complete install manifest (namespace, CRDs, RBAC, operator Deployment, PVC).
    Install(cmd::install::Args),
    /// One command, no cluster: a simulated cluster, workloads, the operator, recommendations.
    Demo(cmd::demo::Args),
    /// Run the controllers against the cluster of the current kubeconfig.
    Operator(cmd::operator::Args),
    /// Process targets alongside the operator, sharing them through a PostgreSQL
    /// `--store` (same flags as `operator`).
    Worker(cmd::operator::Args),
    /// Pause autonomous scaling cluster-wide (seed 002); forecasting goes on.
    Pause(cmd::pause::Args),
    /// Resume autonomous scaling.
    Resume(cmd::pause::Args),
    /// Show whether autonomous scaling is paused and how many targets it concerns.
    Status(cmd::pause::Args),
    /// Replay usage traces causally and compare prescale with the VPA, a reactive HPA, a
    /// static peak and the oracle.
    Backtest(cmd::backtest::Args),
    /// Benchmarks whose figures are recorded in docs/BENCHMARKS.md.
    Bench(cmd::bench::Args),
    /// Serve a simulated Kubernetes cluster (REST + watch) and write a kubeconfig for it.
    Sim(cmd::sim::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    cmd::init_logging(cli.log_json);
    let result = match cli.command {
        Command::Crds(args) => cmd::crds::run(args),
        Command::Validate(args) => cmd::validate::run(args),
        Command::Install(args) => cmd::install::run(args),
        Command::Sim(args) => cmd::sim::run(args),
        Command::Demo(args) => cmd::demo::run(args),
        Command::Operator(args) => cmd::operator::run(args),
        Command::Worker(args) => cmd::operator::run_worker(args),
        Command::Pause(args) => cmd::pause::run(cmd::pause::Verb::Pause, args),
        Command::Resume(args) => cmd::pause::run(cmd::pause::Verb::Resume, args),
        Command::Status(args) => cmd::pause::run(cmd::pause::Verb::Status, args),
        Command::Backtest(args) => cmd::backtest::run(args),
        Command::Bench(args) => cmd::bench::run(args),
    };
    match result {
        Ok(code) => code,
        // The reader of our output has gone (`prescale crds | head`): end quietly.
        Err(err) if cmd::output::is_closed(&err) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            let _ = cmd::output::errln!("error: {}", cmd::report::render(&err));
            std::process::ExitCode::FAILURE
        }
    }
}

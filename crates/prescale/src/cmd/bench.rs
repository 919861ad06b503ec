//! `prescale bench`: benchmark commands whose figures go into docs/BENCHMARKS.md.
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// Forecasting speed: one long series, model selection included.
    Forecast(bench_forecast::Args),
    /// Storage: bytes per workload-month, ingest rate, downsampled read latency.
    Storage(bench_storage::Args),
}

#[path = "bench_forecast.rs"]
mod bench_forecast;
#[path = "bench_storage.rs"]
mod bench_storage;

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.what {
        What::Forecast(a) => bench_forecast::run(a),
        What::Storage(a) => bench_storage::run(a),
    }
}

//! One module per subcommand. Each exposes `Args` (clap) and `run(Args) -> Result<ExitCode>`.

pub mod backtest;
pub mod bench;
pub mod crds;
pub mod demo;
pub mod install;
pub mod operator;
pub mod output;
pub mod pause;
pub mod report;
pub mod sim;
pub mod validate;

/// Logs go to stderr so that commands printing YAML or JSON keep stdout clean.
pub fn init_logging(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("PRESCALE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

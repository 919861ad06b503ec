//! `prescale crds`: print the CustomResourceDefinitions as YAML.
use std::process::ExitCode;

use crate::cmd::output;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    output::out!("{}", prescale_api::crd::crds_yaml())?;
    Ok(ExitCode::SUCCESS)
}

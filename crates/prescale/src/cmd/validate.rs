//! `prescale validate FILE...`: check thoras.ai/v1 manifests offline.
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use prescale_api::manifest::{Verdict, check_document, describe, parse_documents};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Manifest files (multi-document YAML); `-` reads standard input.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Print nothing for valid documents.
    #[arg(long, short)]
    quiet: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut problems = 0usize;
    let mut checked = 0usize;
    for file in &args.files {
        let shown = file.display().to_string();
        let text = if shown == "-" {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("reading standard input")?;
            s
        } else {
            match std::fs::read_to_string(file) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("{shown}: cannot read: {e}");
                    problems += 1;
                    continue;
                }
            }
        };
        let docs = match parse_documents(&text) {
            Ok(docs) => docs,
            Err(e) => {
                eprintln!("{shown}: {e}");
                problems += 1;
                continue;
            }
        };
        for (i, doc) in docs.iter().enumerate() {
            let at = format!(
                "{shown}: document {} ({})",
                i + 1,
                describe(doc).unwrap_or_else(|| "no kind".into())
            );
            match check_document(doc) {
                Verdict::Valid(_) => {
                    checked += 1;
                    if !args.quiet {
                        println!("{at}: valid");
                    }
                }
                Verdict::Skipped(kind) => {
                    if !args.quiet {
                        println!("{at}: skipped ({kind} is not a thoras.ai object)");
                    }
                }
                Verdict::Invalid(errors) => {
                    checked += 1;
                    problems += errors.len();
                    for e in errors {
                        eprintln!("{at}: {e}");
                    }
                }
            }
        }
    }
    if problems > 0 {
        eprintln!("{problems} problem(s) found");
        Ok(ExitCode::FAILURE)
    } else {
        if !args.quiet {
            println!("{checked} thoras.ai object(s) valid");
        }
        Ok(ExitCode::SUCCESS)
    }
}

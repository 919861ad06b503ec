//! `prescale validate FILE...`: check thoras.ai/v1 and AIBrix PodAutoscaler
//! (autoscaling.aibrix.ai/v1alpha1) manifests offline, as the API server would, and report every problem of every document with its file, document and field path.
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use prescale_api::manifest::{Verdict, check_document, describe, parse_documents};

use crate::cmd::output::{self, Stream};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Manifest files (multi-document YAML); `-` reads standard input.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Print nothing for valid documents.
    #[arg(long, short)]
    quiet: bool,
}

/// One line of the report, and where it goes.
struct Line(Stream, String);

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut lines = vec![];
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
                    lines.push(Line(Stream::Err, format!("{shown}: cannot read: {e}")));
                    problems += 1;
                    continue;
                }
            }
        };
        let docs = match parse_documents(&text) {
            Ok(docs) => docs,
            Err(e) => {
                // The YAML parser's snippet names its input `<input>`: name the file.
                let e = e.to_string().replace("<input>", &shown);
                lines.push(Line(Stream::Err, format!("{shown}: {e}")));
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
                        lines.push(Line(Stream::Out, format!("{at}: valid")));
                    }
                }
                Verdict::Skipped(kind) => {
                    if !args.quiet {
                        lines.push(Line(
                            Stream::Out,
                            format!("{at}: skipped ({kind} is not a kind prescale serves)"),
                        ));
                    }
                }
                Verdict::Invalid(errors) => {
                    checked += 1;
                    problems += errors.len();
                    lines.extend(
                        errors
                            .iter()
                            .map(|e| Line(Stream::Err, format!("{at}: {e}"))),
                    );
                }
            }
        }
    }
    if problems > 0 {
        lines.push(Line(Stream::Err, format!("{problems} problem(s) found")));
    } else if !args.quiet {
        lines.push(Line(Stream::Out, format!("{checked} object(s) valid")));
    }
    // The status says whether the manifests have problems, even when the report's reader
    // has gone (`prescale validate ... | head -1`).
    for Line(stream, text) in lines {
        match output::write(stream, format_args!("{text}\n")) {
            Err(e) if output::is_closed(&e) => break,
            other => other?,
        }
    }
    Ok(if problems > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

//! Writing to standard output and error without panicking when the reader has gone away
//! (`prescale crds | head`): `print!` and `eprint!` panic on a closed pipe ("failed printing
//! to stdout: Broken pipe").
//!
//! The mechanism: every command writes through `out!` / `outln!` / `errln!`, which return an
//! error instead of panicking. A closed pipe becomes `OutputClosed`; `main` ends the command
//! quietly with status 0, as `head` expects of the command before it (`validate` keeps its
//! own status: whether the manifests had problems). Long-running servers (`sim`, `operator`)
//! ignore the error of their diagnostic lines and keep serving.
//!
//! Why not restore the default SIGPIPE action, the usual trick: it would be process-wide, so
//! a server writing to a socket whose peer hung up would be killed by the signal instead of
//! getting an error on that one connection. Rust ignores SIGPIPE for exactly that reason, and
//! this keeps it so.

use std::fmt;
use std::io::{self, Write};

/// Standard output or error was closed by its reader.
#[derive(Debug)]
pub struct OutputClosed;

impl fmt::Display for OutputClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the output was closed by its reader")
    }
}

impl std::error::Error for OutputClosed {}

/// Whether `err` is a closed output (and nothing else went wrong).
pub fn is_closed(err: &anyhow::Error) -> bool {
    err.downcast_ref::<OutputClosed>().is_some()
}

/// Which stream to write to.
#[derive(Debug, Clone, Copy)]
pub enum Stream {
    Out,
    Err,
}

/// Writes and flushes, so a closed pipe is noticed at the write that hits it.
pub fn write(stream: Stream, args: fmt::Arguments<'_>) -> anyhow::Result<()> {
    let result = match stream {
        Stream::Out => {
            let mut out = io::stdout().lock();
            out.write_fmt(args).and_then(|()| out.flush())
        }
        Stream::Err => {
            let mut err = io::stderr().lock();
            err.write_fmt(args).and_then(|()| err.flush())
        }
    };
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Err(OutputClosed.into()),
        Err(e) => Err(anyhow::Error::new(e).context(match stream {
            Stream::Out => "writing to standard output",
            Stream::Err => "writing to standard error",
        })),
    }
}

/// `print!` that returns an error instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cmd::output::write($crate::cmd::output::Stream::Out, format_args!($($arg)*))
    };
}

/// `println!` that returns an error instead of panicking.
macro_rules! outln {
    () => { $crate::cmd::output::out!("\n") };
    ($($arg:tt)*) => {
        $crate::cmd::output::write(
            $crate::cmd::output::Stream::Out,
            format_args!("{}\n", format_args!($($arg)*)),
        )
    };
}

/// `eprintln!` that returns an error instead of panicking.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::cmd::output::write(
            $crate::cmd::output::Stream::Err,
            format_args!("{}\n", format_args!($($arg)*)),
        )
    };
}

pub(crate) use {errln, out, outln};

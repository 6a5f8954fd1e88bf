//! The `asd` command-line tool: a thin clap layer over the `asd` facade (see `spec/cli.md`).
//!
//! Exit codes: 0 success, 1 failure (bad data, unreadable file, …), 2 usage error (bad flags).
//! Errors go to stderr as one plain sentence naming the file.

use clap::{Parser, Subcommand};
use mimalloc::MiMalloc;
use std::process::ExitCode;

use asd_cli::{error, npy};

mod cmd;
#[cfg(feature = "mic")]
mod mic;
mod progress;

/// mimalloc instead of glibc malloc: glibc returns large freed blocks to the kernel on every call and
/// page faults then dominate feature extraction and training (measured: ~60 % of a training step).
#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

/// mimalloc's `mi_option_purge_delay` (v3 `include/mimalloc.h`, enum `mi_option_e`; the sys crate names only
/// some options).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps freed memory in the process instead of handing it back to the system 10 ms later (mimalloc's
/// default), so that the large tensors of each training step do not fault in fresh, zeroed pages again: the
/// quick ASDNet run took 1:59 instead of 2:10 with 859 instead of 723 MB peak memory (`benches/e2e.sh`).
/// A `MIMALLOC_PURGE_DELAY` set in the environment wins.
fn keep_freed_memory() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: `mi_option_set` only stores an integer in mimalloc's option table, which mimalloc reads with
        // atomic loads; it may be called at any time.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    }
}

/// Unsupervised anomalous sound detection for machines.
#[derive(Parser, Debug)]
#[command(
    name = "asd",
    version,
    about = "Unsupervised anomalous sound detection for machines (DCASE Task 2)",
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    Synth(cmd::synth::Args),
    Index(cmd::index::Args),
    Features(cmd::features::Args),
    Evaluate(cmd::evaluate::Args),
    Scorer(cmd::scorer::Args),
    Info(cmd::info::Args),
    Train(cmd::train::Args),
    Score(cmd::score::Args),
    Run(cmd::run::Args),
    Import(cmd::import::Args),
    Infer(cmd::infer::Args),
    Explain(cmd::explain::Args),
    Monitor(cmd::monitor::Args),
}

/// The log filter without `ASD_LOG`: warnings of the crates that log (`asd_audio`'s decoder notes, the CLI's own).
const DEFAULT_LOG: &str = "off,asd_audio=warn,asd=warn";

/// A panic the audio decoder's guard catches becomes an error naming the file: its text is not printed. Any other
/// panic is a bug, reported as the default hook does.
fn quiet_guarded_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !asd::audio::panic_is_guarded() {
            default(info);
        }
    }));
}

fn main() -> ExitCode {
    keep_freed_memory();
    quiet_guarded_panics();
    // Warnings of asd's own crates only (a third-party crate's log lines are not the user's business unless
    // ASD_LOG asks for them), coloured only on a terminal.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ASD_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .init();
    let cli = Cli::parse(); // usage errors exit with code 2 (clap's convention, ours too)
    let result = match cli.command {
        Command::Synth(args) => cmd::synth::run(args),
        Command::Index(args) => cmd::index::run(args),
        Command::Features(args) => cmd::features::run(args),
        Command::Evaluate(args) => cmd::evaluate::run(args),
        Command::Scorer(args) => cmd::scorer::run(args),
        Command::Info(args) => cmd::info::run(args),
        Command::Train(args) => cmd::train::run(args),
        Command::Score(args) => cmd::score::run(args),
        Command::Run(args) => cmd::run::run(args),
        Command::Import(args) => cmd::import::run(args),
        Command::Infer(args) => cmd::infer::run(args),
        Command::Explain(args) => cmd::explain::run(args),
        Command::Monitor(args) => cmd::monitor::run(args),
    };
    match result {
        Ok(()) | Err(error::CliError::ClosedPipe) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

//! The CLI's error: the facade's errors plus what only the CLI does (`.npy` files, JSON output, flags).

use std::path::PathBuf;

/// Everything a subcommand can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// An error of the library (names the file where one is involved).
    #[error(transparent)]
    Asd(#[from] asd::Error),
    /// A `.npy` file could not be read or written.
    #[error("{path}: {reason}")]
    Npy {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A file could not be written or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// Flags that parse but do not make sense together (exit code 2).
    #[error("{0}")]
    Usage(String),
    /// Ctrl-C stopped training after writing a checkpoint; the message says how to resume (exit code 130).
    #[error("{0}")]
    Interrupted(String),
    /// The reader of standard output went away (`asd info | head -1`): the command ends quietly, exit code 0.
    #[error("standard output closed")]
    ClosedPipe,
}

/// Writes `text` to standard output.
///
/// # Errors
/// [`CliError::ClosedPipe`] when the reader closed the pipe; [`CliError::Io`] for another write failure.
pub fn print(text: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(CliError::ClosedPipe),
        written => written.map_err(CliError::io("standard output")),
    }
}

impl CliError {
    /// The process exit code: 2 for usage errors, 1 for every other failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::ClosedPipe => 0,
            CliError::Usage(_) => 2,
            CliError::Asd(e) if e.is_setting() => 2,
            CliError::Interrupted(_) => 130,
            _ => 1,
        }
    }

    /// A training run stopped by Ctrl-C becomes [`CliError::Interrupted`] saying how to continue it with
    /// `command` (the same command line plus `--resume`); other errors pass through.
    pub fn resumable(command: &str) -> impl FnOnce(asd::Error) -> CliError + '_ {
        move |e| match e {
            asd::Error::Train(asd::trainer::Error::Cancelled {
                checkpoint: Some(path),
                epoch,
                step,
            }) => CliError::Interrupted(format!(
                "stopped in epoch {} after step {step}; checkpoint {}. Continue with: {command} --resume",
                epoch + 1,
                path.display()
            )),
            other => CliError::Asd(other),
        }
    }

    /// Wraps an I/O error with the file it concerns.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> CliError {
        let path = path.into();
        move |source| CliError::Io { path, source }
    }
}

/// Result alias of the CLI.
pub type Result<T, E = CliError> = std::result::Result<T, E>;

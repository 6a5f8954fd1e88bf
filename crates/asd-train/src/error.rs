//! The one error type of `asd-train`.

use std::path::{Path, PathBuf};

/// Everything that can go wrong in training and extraction. Errors from a file name the file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting of [`TrainConfig`](crate::TrainConfig) is out of range; `field` is its TOML path
    /// (`optimizer.lr`, `schedule.t_max`, …).
    #[error("invalid training setting `{field}`: {reason}")]
    Config {
        /// The setting, as written in TOML.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A data source got a label list whose length differs from its number of clips.
    #[error("{labels} labels for {clips} clips")]
    LabelCount {
        /// Labels given.
        labels: usize,
        /// Clips in the feature store.
        clips: usize,
    },
    /// The two sources of a [`Paired`](crate::Paired) source disagree (length or a label).
    #[error("paired sources disagree: {0}")]
    PairMismatch(String),
    /// An example index is not below the number of examples.
    #[error("example {index} of a source of {len} examples")]
    IndexOutOfRange {
        /// The index asked for.
        index: usize,
        /// Examples in the source.
        len: usize,
    },
    /// A label is not below the number of classes of the model's head.
    #[error("example {example} has label {label}, but the model has {n_classes} classes")]
    LabelOutOfRange {
        /// The example's index in its source.
        example: usize,
        /// Its label.
        label: usize,
        /// Logit columns of the model.
        n_classes: usize,
    },
    /// No batch to train on: no examples, or fewer than one batch with `drop_last`.
    #[error("no training batch: {examples} examples, batch size {batch_size}, drop_last {drop_last}")]
    NoBatches {
        /// Examples in the source.
        examples: usize,
        /// The configured batch size.
        batch_size: usize,
        /// Whether a partial last batch is dropped.
        drop_last: bool,
    },
    /// The training loss became NaN or infinite; training stops rather than continue on garbage.
    #[error("non-finite training loss {loss} at epoch {epoch}, step {step}")]
    NonFiniteLoss {
        /// 0-based epoch.
        epoch: usize,
        /// 0-based step within the epoch.
        step: usize,
        /// The loss value.
        loss: f64,
    },
    /// The run's observer asked it to stop; the checkpoint (with a run directory) continues it with `resume`.
    #[error("training stopped at epoch {epoch}, step {step}{}", checkpoint.as_ref().map_or_else(String::new, |p| format!("; checkpoint {}", p.display())))]
    Cancelled {
        /// The checkpoint written at that point, if the run has a directory.
        checkpoint: Option<PathBuf>,
        /// 0-based epoch it stopped in.
        epoch: usize,
        /// Steps of that epoch completed.
        step: usize,
    },
    /// `resume` was asked for but there is nothing to resume from.
    #[error("cannot resume: {reason} ({path})")]
    NoCheckpoint {
        /// The checkpoint (or run directory) that was looked for.
        path: PathBuf,
        /// Why there is nothing to resume.
        reason: String,
    },
    /// A checkpoint file is not a complete, intact checkpoint of this format.
    #[error("corrupt checkpoint {path}: {reason}")]
    CorruptCheckpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A checkpoint is intact but does not fit this run (another model or other settings).
    #[error("checkpoint {path} does not fit this run: {reason}")]
    CheckpointMismatch {
        /// The checkpoint file.
        path: PathBuf,
        /// What differs.
        reason: String,
    },
    /// Reading or writing a file or folder failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Burn failed: reading a tensor back from the device, or encoding the model or optimiser state.
    #[error("Burn: {0}")]
    Burn(String),
}

impl Error {
    /// A closure turning an I/O error on `path` into [`Error::Io`], for `map_err`.
    pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
        move |source| Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// [`Error::Config`] for `field`.
    pub(crate) fn config(field: &str, reason: impl Into<String>) -> Error {
        Error::Config {
            field: field.to_string(),
            reason: reason.into(),
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

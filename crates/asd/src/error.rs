//! The facade's error: one variant per pipeline crate, and typed variants for the facade's own settings and
//! files, each naming the setting or the file.

use std::path::PathBuf;

/// Any error of the `asd` pipeline.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Decoding, converting or generating audio.
    #[error(transparent)]
    Audio(#[from] asd_audio::AudioError),
    /// Dataset layouts, names, the loader and the feature cache.
    #[error(transparent)]
    Data(#[from] asd_data::Error),
    /// Front ends (spectrum, STFT, log-Mel, envelope).
    #[error(transparent)]
    Features(#[from] asd_features::FeatureError),
    /// Scorers fitted on embeddings.
    #[error(transparent)]
    Scorers(#[from] asd_scorers::Error),
    /// Networks: configurations and weight files.
    #[error(transparent)]
    Models(#[from] asd_models::Error),
    /// Training: settings, data that does not fit, checkpoints, a cancelled run.
    #[error(transparent)]
    Train(#[from] asd_train::Error),
    /// Metrics, score files and reports.
    #[error(transparent)]
    Metrics(#[from] asd_metrics::Error),
    /// A setting that cannot work; `field` is its TOML path (`clip_seconds`, `model.frames`, `scoring.scorers`).
    #[error("invalid setting `{field}`: {reason}")]
    Setting {
        /// The setting, as written in TOML.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Text that is not valid TOML (from a file when `path` is given).
    #[error("{}invalid TOML: {reason}", path.as_ref().map_or_else(String::new, |p| format!("{}: ", p.display())))]
    Toml {
        /// The file, if the text came from one.
        path: Option<PathBuf>,
        /// The parser's message.
        reason: String,
    },
    /// A configuration file whose settings do not work.
    #[error("{}: {source}", path.display())]
    ConfigFile {
        /// The file.
        path: PathBuf,
        /// What is wrong in it.
        source: Box<Error>,
    },
    /// A file (of a run folder or a dataset) whose content cannot be used.
    #[error("{}: {reason}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Arrays handed to the scoring functions that do not line up (clips, groups, scores).
    #[error("inputs do not line up: {0}")]
    Mismatch(String),
    /// Several problems found together before any training or scoring (unreadable clips, groups that cannot be
    /// fitted or evaluated), each naming its file, group or setting.
    #[error("{} problems found before any training or scoring: {}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Problems(Vec<Error>),
    /// A file or folder that cannot be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
}

impl Error {
    /// Whether the error is a bad setting or command-line usage rather than a failure of the data, a file or the
    /// computation (the CLI exits 2 for these, 1 otherwise).
    pub fn is_setting(&self) -> bool {
        match self {
            Error::Setting { .. } | Error::Train(asd_train::Error::Config { .. }) => true,
            Error::Problems(problems) => problems.iter().all(Error::is_setting),
            _ => false,
        }
    }

    /// `Ok` for no problems, else [`Error::together`].
    pub fn collect(problems: Vec<Error>) -> Result<()> {
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::together(problems))
        }
    }

    /// One error for problems found together: the problem itself for one, [`Error::Problems`] for several (an
    /// [`asd_data::Error::Clips`] list of unreadable clips is spread into its clips).
    pub fn together(problems: Vec<Error>) -> Error {
        let mut flat: Vec<Error> = Vec::with_capacity(problems.len());
        for problem in problems {
            match problem {
                Error::Data(asd_data::Error::Clips(clips)) => flat.extend(clips.into_iter().map(Error::Data)),
                other => flat.push(other),
            }
        }
        if flat.len() == 1 {
            flat.remove(0)
        } else {
            Error::Problems(flat)
        }
    }
}

/// Result alias of the facade.
pub type Result<T, E = Error> = std::result::Result<T, E>;

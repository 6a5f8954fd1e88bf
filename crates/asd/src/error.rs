//! The facade's error: one variant per pipeline crate, each naming the file where one is involved.

/// Any error of the `asd` pipeline.
#[derive(Debug, thiserror::Error)]
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
    /// Training: settings, data that does not fit, checkpoints.
    #[error(transparent)]
    Train(#[from] asd_train::Error),
    /// Metrics, score files and reports.
    #[error(transparent)]
    Metrics(#[from] asd_metrics::Error),
    /// A run configuration that cannot work (names the setting).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A run-folder file that cannot be written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: std::path::PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
}

/// Result alias of the facade.
pub type Result<T, E = Error> = std::result::Result<T, E>;

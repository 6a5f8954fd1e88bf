//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong in `asd-metrics`. Every variant that comes from a file names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A metric needs both classes; this input has only one (the AUC is undefined, never 0.5).
    #[error("AUC is undefined with {n_normal} normal and {n_anomaly} anomalous clips (both classes are needed)")]
    SingleClass {
        /// Number of normal clips.
        n_normal: usize,
        /// Number of anomalous clips.
        n_anomaly: usize,
    },
    /// As [`Error::SingleClass`], for one subset of one group of an evaluation.
    #[error("{machine_type} {group}: {subset} is undefined with {n_normal} normal and {n_anomaly} anomalous clips")]
    GroupSingleClass {
        /// Machine type.
        machine_type: String,
        /// Group key (`id_00`, `section_00`).
        group: String,
        /// Which metric / subset (`AUC (source)`, …).
        subset: &'static str,
        /// Number of normal clips in the subset.
        n_normal: usize,
        /// Number of anomalous clips in the subset.
        n_anomaly: usize,
    },
    /// Scores and labels differ in length.
    #[error("{n_scores} scores but {n_labels} labels")]
    LengthMismatch {
        /// Number of scores.
        n_scores: usize,
        /// Number of labels.
        n_labels: usize,
    },
    /// A score is NaN.
    #[error("score {index} is NaN")]
    NaNScore {
        /// Position of the score in the input.
        index: usize,
    },
    /// `max_fpr` outside (0, 1].
    #[error("max_fpr must lie in (0, 1], got {0}")]
    InvalidMaxFpr(f64),
    /// A mean or table over nothing.
    #[error("nothing to aggregate: {0}")]
    Empty(&'static str),
    /// A DCASE 2021+ clip without a domain.
    #[error("{machine_type} {group}: clip {clip} has no domain (source/target), needed for DCASE 2021+ metrics")]
    NoDomain {
        /// Machine type.
        machine_type: String,
        /// Group key.
        group: String,
        /// Clip file name.
        clip: String,
    },
    /// Group keys of both conventions (`id_XX` and `section_XX`), or a key of neither, in one evaluation.
    #[error("cannot tell the DCASE year convention: {0}")]
    MixedYears(String),
    /// The same (machine type, group) given twice to [`crate::evaluate()`].
    #[error("{machine_type} {group} is given twice")]
    DuplicateGroup {
        /// Machine type.
        machine_type: String,
        /// Group key.
        group: String,
    },
    /// A file could not be read, written or listed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A malformed CSV row.
    #[error("{}:{line}: {reason}", path.display())]
    Csv {
        /// The CSV file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong with the row.
        reason: String,
    },
    /// A score / decision / ground-truth file whose name does not follow the DCASE pattern.
    #[error("{}: {reason}", path.display())]
    FileName {
        /// The file.
        path: PathBuf,
        /// What is wrong with the name.
        reason: String,
    },
    /// A folder holds no score CSV (`anomaly_score_*.csv`).
    #[error("{}: no anomaly_score_*.csv files", .0.display())]
    NoScoreFiles(PathBuf),
    /// A clip of a score/decision CSV is not in the ground truth.
    #[error("{}: clip {clip} is not in the ground truth", csv.display())]
    UnknownClip {
        /// Clip name as written in the CSV.
        clip: String,
        /// The CSV.
        csv: PathBuf,
    },
    /// A ground-truth clip has no row in the score/decision CSV.
    #[error("{}: no row for clip {clip} of the ground truth", csv.display())]
    MissingClip {
        /// Clip name (evaluation name).
        clip: String,
        /// The CSV.
        csv: PathBuf,
    },
    /// A clip appears twice.
    #[error("{}:{line}: clip {clip} appears twice", csv.display())]
    DuplicateClip {
        /// Clip name.
        clip: String,
        /// The CSV.
        csv: PathBuf,
        /// 1-based line of the second occurrence.
        line: u64,
    },
    /// The caller's labeller could not label a clip.
    #[error("{}: cannot tell the ground truth of clip {clip} from its name", csv.display())]
    Unlabelled {
        /// Clip name.
        clip: String,
        /// The CSV.
        csv: PathBuf,
    },
    /// The ground truth lists a (type, group) that has no score file.
    #[error("{}: missing (the ground truth has {machine_type} {group})", expected.display())]
    MissingScoreFile {
        /// Machine type.
        machine_type: String,
        /// Group key.
        group: String,
        /// The score file that was expected.
        expected: PathBuf,
    },
    /// JSON serialisation failed.
    #[error("{}: {source}", path.display())]
    Json {
        /// The JSON file.
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
    /// Drawing a ROC plot failed.
    #[error("{}: cannot draw ROC plot: {reason}", path.display())]
    Plot {
        /// The PNG file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Wraps an I/O error with the path it concerns.
pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

//! The one error type of `asd-data`. Every variant that comes from a file or folder names it.

use std::path::PathBuf;

/// Result alias of `asd-data`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors of reading a dataset tree, mapping classes, loading features and caching them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or folder could not be opened, read, written or renamed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// A file name does not follow any DCASE grammar (`dcase_protocols.md` §1.2, §2.2).
    #[error("{}: not a DCASE clip name: {reason}", path.display())]
    BadName {
        /// The file (or the bare name when parsed without a folder).
        path: PathBuf,
        /// What does not match, in words.
        reason: String,
    },
    /// A file in a clip folder that is not a WAV file (wrong extension or no RIFF/WAVE header).
    #[error("{}: not an audio file ({reason})", path.display())]
    NotAudio {
        /// The file.
        path: PathBuf,
        /// Why, in words.
        reason: String,
    },
    /// A machine-type folder lacks its `train/` or `test/` folder.
    #[error("{}: missing folder", path.display())]
    MissingFolder {
        /// The folder that should exist.
        path: PathBuf,
    },
    /// A clip folder holds no files.
    #[error("{}: empty folder", path.display())]
    EmptyFolder {
        /// The folder.
        path: PathBuf,
    },
    /// The root holds no machine-type folder (`<type>/train|test/`, optionally under `dev_data/` or `eval_data/`).
    #[error("{}: no DCASE layout found (expected <type>/train and <type>/test, optionally under dev_data/ or eval_data/)", path.display())]
    NoLayout {
        /// The root folder.
        path: PathBuf,
    },
    /// Clip names of the DCASE 2020 grammar and of the 2021–25 grammar in one tree.
    #[error("{}: mixes DCASE 2020 names (id_XX) and DCASE 2021-25 names (section_XX)", path.display())]
    MixedLayouts {
        /// The first file whose grammar differs from the ones before it.
        path: PathBuf,
    },
    /// A file name's fields contradict its folder (e.g. a `train` name in `test/`, a `target` name in `source_test/`).
    #[error("{}: name contradicts its folder: {reason}", path.display())]
    Misplaced {
        /// The file.
        path: PathBuf,
        /// What contradicts what.
        reason: String,
    },
    /// An `attributes_XX.csv` file that cannot be parsed.
    #[error("{}: bad attribute table: {reason}", path.display())]
    AttributeCsv {
        /// The CSV file.
        path: PathBuf,
        /// What is wrong, in words.
        reason: String,
    },
    /// A label file (`clip,class` per line) that cannot be used, or a class map asked of a scheme that needs one.
    #[error("{}: bad class labels: {reason}", path.display())]
    Labels {
        /// The label file (or the folder of the clips).
        path: PathBuf,
        /// What is wrong, in words (with the line where there is one).
        reason: String,
    },
    /// A class map needs at least two classes to train a classifier (one for a map by machine type).
    #[error("{}: the clips give {n_classes} class(es); a class map needs at least {needed}", path.display())]
    TooFewClasses {
        /// The dataset root (or the folder of the first clip).
        path: PathBuf,
        /// How many classes were found.
        n_classes: usize,
        /// How many the map needs ([`crate::ClassScheme::min_classes`]).
        needed: usize,
    },
    /// A setting is out of range (a clip length of 0, a batch size of 0, …).
    #[error("invalid setting: {0}")]
    Invalid(String),
    /// Decoding a clip failed (the inner error names the file).
    #[error(transparent)]
    Audio(#[from] asd_audio::AudioError),
    /// A front end failed on a clip.
    #[error("{}: feature extraction failed: {source}", path.display())]
    Features {
        /// The clip.
        path: PathBuf,
        /// The front end's error.
        source: asd_features::FeatureError,
    },
    /// A clip whose features are NaN or infinite (finite but huge samples overflow the power spectrum).
    #[error("{}: its features are not finite (samples too large to analyse?)", path.display())]
    NonFiniteFeatures {
        /// The clip.
        path: PathBuf,
    },
    /// Several clips that cannot be used, each error naming its file (in clip order).
    #[error("{} clips cannot be used: {}", .0.len(), join_errors(.0))]
    Clips(Vec<Error>),
    /// A front end returned a shape other than the one it announced through `output_shape`.
    #[error("{}: front end returned shape {actual:?}, expected {expected:?}", path.display())]
    FeatureShape {
        /// The clip.
        path: PathBuf,
        /// `(rows, cols)` announced by `output_shape`.
        expected: (usize, usize),
        /// `(rows, cols)` returned by `extract`.
        actual: (usize, usize),
    },
    /// A feature-cache file that is unusable (bad header, wrong size); `open_or_build` rebuilds such files.
    #[error("{}: corrupt feature cache: {reason}", path.display())]
    CorruptCache {
        /// The cache file.
        path: PathBuf,
        /// What is wrong, in words.
        reason: String,
    },
}

impl Error {
    /// An [`Error::Io`] naming `path`.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }

    /// `Ok` for no errors, the error itself for one, [`Error::Clips`] for several.
    pub(crate) fn collect(mut errors: Vec<Error>) -> Result<()> {
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => Err(Error::Clips(errors)),
        }
    }

    /// The file or folder the error is about, if any (`None` for [`Error::Clips`], whose errors each name theirs).
    pub fn path(&self) -> Option<&std::path::Path> {
        match self {
            Error::Io { path, .. }
            | Error::BadName { path, .. }
            | Error::NotAudio { path, .. }
            | Error::MissingFolder { path }
            | Error::EmptyFolder { path }
            | Error::NoLayout { path }
            | Error::MixedLayouts { path }
            | Error::Misplaced { path, .. }
            | Error::AttributeCsv { path, .. }
            | Error::Labels { path, .. }
            | Error::TooFewClasses { path, .. }
            | Error::Features { path, .. }
            | Error::FeatureShape { path, .. }
            | Error::NonFiniteFeatures { path }
            | Error::CorruptCache { path, .. } => Some(path),
            Error::Audio(e) => audio_path(e),
            Error::Invalid(_) | Error::Clips(_) => None,
        }
    }
}

/// The errors' messages joined by `; `.
fn join_errors(errors: &[Error]) -> String {
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

/// The file an audio error names.
fn audio_path(e: &asd_audio::AudioError) -> Option<&std::path::Path> {
    use asd_audio::AudioError as A;
    match e {
        A::Io { path, .. }
        | A::Decode { path, .. }
        | A::Unsupported { path, .. }
        | A::Empty { path }
        | A::NonFinite { path, .. }
        | A::OutOfRange { path, .. } => Some(path),
        _ => None,
    }
}

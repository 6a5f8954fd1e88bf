//! The one error type of `asd-audio`. Every variant that comes from a file names the file.

use std::path::PathBuf;

/// Result alias of `asd-audio`.
pub type Result<T, E = AudioError> = std::result::Result<T, E>;

/// Errors of decoding, converting and generating audio.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// The file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// The file is not audio we can read (unknown container, malformed header or stream).
    #[error("{path}: cannot decode: {reason}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// What went wrong, in words.
        reason: String,
    },
    /// A valid file in an encoding we do not support (e.g. a WAV codec tag).
    #[error("{path}: unsupported audio: {what}")]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// Which encoding or feature.
        what: String,
    },
    /// The file decoded to zero samples.
    #[error("{path}: no audio samples")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// A decoded sample is NaN or infinite.
    #[error("{path}: non-finite sample (NaN or infinity) at index {index}")]
    NonFinite {
        /// The file.
        path: PathBuf,
        /// Index of the first non-finite sample (per channel, in frames).
        index: usize,
    },
    /// A decoded sample beyond ±[`MAX_SAMPLE_MAGNITUDE`](crate::MAX_SAMPLE_MAGNITUDE): not audio.
    #[error("{path}: sample at index {index} is beyond ±1e6 (120 dB over full scale; not audio)")]
    OutOfRange {
        /// The file.
        path: PathBuf,
        /// Index of the first such sample (per channel, in frames).
        index: usize,
    },
    /// The file has too few channels for the channel policy (`channels = "right"` on a mono file, …).
    #[error("{path}: {channels} channel(s), but channels = \"{policy}\" needs {needs}")]
    Channels {
        /// The file.
        path: PathBuf,
        /// Its channel count.
        channels: usize,
        /// The policy's spelling.
        policy: &'static str,
        /// What the policy needs, in words.
        needs: String,
    },
    /// A setting of the synthetic-data generator (`synth::SynthConfig`) is out of range.
    #[error("invalid synthetic-data setting `{field}`: {reason}")]
    SynthConfig {
        /// The offending field of the configuration.
        field: &'static str,
        /// The allowed range, in words.
        reason: String,
    },
    /// A setting is out of range (a rate of 0, a segment length of 0, …).
    #[error("invalid setting: {0}")]
    Invalid(String),
}

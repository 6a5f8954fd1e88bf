//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong in `asd-models`: a configuration that cannot build a network, or a weight file that
/// cannot be read or written or does not fit the network.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration value is out of range; `field` names the setting, `reason` says what is required.
    #[error("invalid model configuration `{field}`: {reason}")]
    Config {
        /// The offending setting, e.g. `"asdnet.layers[3]"`.
        field: String,
        /// What the setting must satisfy.
        reason: String,
    },
    /// The input is too short for the layer stack: after layer `layer` (0-based) no output sample is left.
    #[error("input of length {input_len} is too short for layer {layer} (kernel {kernel}, length there {len_there})")]
    InputTooShort {
        /// Input length the configuration was asked to accept (spectrum bins).
        input_len: usize,
        /// Index of the layer whose kernel does not fit.
        layer: usize,
        /// That layer's kernel size.
        kernel: usize,
        /// The (padded) length reaching that layer.
        len_there: usize,
    },
    /// A weight file could not be opened or parsed.
    #[error("cannot read weights from {}: {message}", path.display())]
    WeightFile {
        /// The weight file.
        path: PathBuf,
        /// The reader's message.
        message: String,
    },
    /// A weight file could not be written.
    #[error("cannot write weights to {}: {message}", path.display())]
    WeightWrite {
        /// The weight file.
        path: PathBuf,
        /// The writer's message.
        message: String,
    },
    /// A device name that this build cannot open (unknown, or CUDA in a build without the `cuda` feature).
    #[error("device {name:?}: {reason}")]
    Device {
        /// The name as given, e.g. `"cuda:x"`.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A weight file was read but does not fit the network (missing tensors, unknown tensors, wrong shapes).
    #[error("weights in {} do not fit the network: {detail}", path.display())]
    WeightMismatch {
        /// The weight file.
        path: PathBuf,
        /// Which tensors are missing, unused or mis-shaped.
        detail: String,
    },
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;

//! The crate's error type.

/// Everything that can go wrong in `asd-losses`: a loss or mixup setting out of range.
///
/// Shape mismatches of tensors handed to the loss functions are programming errors and panic, as in Burn; each
/// function documents them under `# Panics`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is out of range; `field` names the setting, `reason` says what is required.
    #[error("invalid loss configuration `{field}`: {reason}")]
    Config {
        /// The offending setting, e.g. `"mixup_alpha"`.
        field: &'static str,
        /// What the setting must satisfy.
        reason: String,
    },
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;

//! The one error type of `asd-features`.

/// Errors of the front ends: bad settings (found when a front end is built) and unusable inputs (found when a
/// waveform is processed).
#[derive(Debug, thiserror::Error)]
pub enum FeatureError {
    /// The input waveform has no samples.
    #[error("empty waveform: a front end needs at least one sample")]
    Empty,
    /// The input waveform is shorter than the front end needs.
    #[error("waveform too short for {what}: needs at least {needed} samples, got {got}")]
    TooShort {
        /// What needs the samples (e.g. "reflect padding").
        what: &'static str,
        /// The smallest usable length in samples.
        needed: usize,
        /// The length given.
        got: usize,
    },
    /// The input waveform holds a NaN or an infinity.
    #[error("waveform sample {index} is not finite")]
    NonFinite {
        /// Index of the first non-finite sample.
        index: usize,
    },
    /// A size setting that must be positive is zero.
    #[error("setting `{name}` must be at least 1")]
    Zero {
        /// The setting's name as in the configuration (`n_fft`, `hop`, `n_mels`, `order`, …).
        name: &'static str,
    },
    /// A size setting is larger than the front ends allow.
    #[error("setting `{name}` = {value} exceeds the maximum {max}")]
    TooLarge {
        /// The setting's name.
        name: &'static str,
        /// The value given.
        value: usize,
        /// The largest allowed value.
        max: usize,
    },
    /// A setting that must be a positive normal number is not.
    #[error("setting `{name}` = {value:e} must be a positive normal float")]
    NotPositive {
        /// The setting's name (`floor`, `epsilon`).
        name: &'static str,
        /// The value given.
        value: f64,
    },
    /// A frequency setting lies outside `[0, Nyquist]` (or, for filter edges, outside `(0, Nyquist)`).
    #[error("setting `{name}` = {hz} Hz is outside the allowed range 0..{nyquist} Hz (Nyquist)")]
    FrequencyOutOfRange {
        /// The setting's name (`f_min`, `f_max`, `cutoff_hz`, …).
        name: &'static str,
        /// The value given, in Hz.
        hz: f64,
        /// Half the sample rate, in Hz.
        nyquist: f64,
    },
    /// The lower band edge is not below the upper one.
    #[error("empty frequency band: f_min = {low} Hz must be below f_max = {high} Hz")]
    EmptyBand {
        /// Lower edge in Hz.
        low: f64,
        /// Upper edge in Hz.
        high: f64,
    },
    /// A duration setting is not a positive finite number of seconds, or rounds to zero samples.
    #[error("setting `{name}` = {seconds} s is not a positive duration of at least one sample")]
    InvalidDuration {
        /// The setting's name (`segment_seconds`).
        name: &'static str,
        /// The value given, in seconds.
        seconds: f64,
    },
    /// An override was given that the chosen feature kind does not use.
    #[error("setting `{name}` does not apply to feature kind `{kind}`")]
    UnusedOverride {
        /// The override's name.
        name: &'static str,
        /// The feature kind (kebab-case, as on the command line).
        kind: &'static str,
    },
    /// Waveforms of one batch gave features of different shapes.
    #[error("batch item {index} gives features of shape {got:?}, item 0 gives {expected:?}")]
    ShapeMismatch {
        /// Index of the offending waveform in the batch.
        index: usize,
        /// Shape `[rows, columns]` of item 0.
        expected: (usize, usize),
        /// Shape of item `index`.
        got: (usize, usize),
    },
    /// An output array handed to [`crate::Frontend::extract_into`] has the wrong shape.
    #[error("output array has shape {got:?}, but the front end gives {expected:?} for this waveform")]
    OutputShape {
        /// `[rows, columns]` the front end produces.
        expected: (usize, usize),
        /// `[rows, columns]` of the array passed.
        got: (usize, usize),
    },
    /// The FFT library rejected a buffer (an internal error: buffers are sized from the plan).
    #[error("FFT failed: {0}")]
    Fft(String),
}

impl From<realfft::FftError> for FeatureError {
    fn from(e: realfft::FftError) -> Self {
        Self::Fft(e.to_string())
    }
}

/// `Result` with [`FeatureError`] as the default error.
pub type Result<T, E = FeatureError> = std::result::Result<T, E>;

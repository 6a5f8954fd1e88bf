//! CPU front ends of `asd`.
#![forbid(unsafe_code)]

use ndarray::Array2;

/// Errors of the front ends.
#[derive(Debug, thiserror::Error)]
pub enum FeatureError {
    /// The input waveform has no samples.
    #[error("empty waveform: a front end needs at least one sample")]
    Empty,
}

/// A CPU front end: one mono waveform (16 kHz unless stated) in, a 2-D feature array out.
pub trait Frontend: Send + Sync {
    /// Features of one waveform: `[rows, columns]`, e.g. `[n_mels, frames]` or `[segments, bins]`.
    fn extract(&self, wave: &[f32]) -> Result<Array2<f32>, FeatureError>;
    /// The shape `[rows, columns]` that [`Frontend::extract`] returns for `n_samples` input samples.
    fn output_shape(&self, n_samples: usize) -> (usize, usize);
    /// A stable text naming every setting (used as the feature-cache key).
    fn cache_key(&self) -> String;
}

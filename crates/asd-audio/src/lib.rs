//! Audio input of `asd`: decode a file to a [`Waveform`], mix to mono, resample to 16 kHz, fit to a length.
//! Stage 1 of the pipeline (audio file → **waveform** → features → model → scorer → metrics).
#![forbid(unsafe_code)]

mod error;
pub mod synth;
mod write;

pub use error::{AudioError, Result};
pub use write::write_wav_pcm16;

/// A mono (after [`Waveform::to_mono`]) block of samples in [-1, 1) at `sample_rate` Hz.
#[derive(Clone, Debug, PartialEq)]
pub struct Waveform {
    /// Samples, f32, nominally in [-1, 1).
    pub samples: Vec<f32>,
    /// Samples per second (Hz).
    pub sample_rate: u32,
}

//! CPU front ends of `asd`: waveform (mono, 16 kHz) → 2-D feature array.
//!
//! Every front end implements [`Frontend`] and reproduces one reference computation exactly (decisions.md §12):
//! the FFT plan, window, Mel filterbank and filters are built once, when the front end is constructed; each call
//! uses its own scratch buffers, so one front end serves many threads. [`extract_batch`] runs a batch on rayon.
//!
//! | front end | output | computation |
//! |---|---|---|
//! | [`SegmentSpectrum`] | `[segments, bins]` | `|rfft|` of non-overlapping segments, no window (seed 000) |
//! | [`Spectrogram`] | `[bins, frames]` | centred STFT, periodic Hann, `|X|` or `|X|²` |
//! | [`LogMel`] | `[n_mels, frames]` | STFT power → sparse Mel bank ([`MelBank`]) → dB, optional causal high-pass |
//! | [`EnvelopeSpectrum`] | `[1, bins]` | zero-phase Butterworth → Hilbert envelope → `|rfft(e − mean)| / N` (seed 003) |
//!
//! The log-Mel presets ([`FrontendPreset`], selected through [`FeatureSpec`]); all at 16 kHz, hop 512, 128 Mel
//! bands, Mel bank up to 8000 Hz, power spectrum:
//!
//! | preset | n_fft | padding | Mel scale / norm | f_min | dB | source |
//! |---|---|---|---|---|---|---|
//! | `stgram-mfn` | 1024 | reflect | HTK / none | 0 | `10·log10(max(p, 1e-10))` | torchaudio `MelSpectrogram` + `AmplitudeToDB` (stgram_mfn.md §1) |
//! | `os-scl` | 2048 | zero | Slaney / Slaney | 0 | `10·log10(max(p, 1e-10))` | OS-SCL `Wave2Mel` (os_scl.md §2.2) |
//! | `neri-attention` | 1024 | reflect | HTK / Slaney | 0 | `10·log10(p + 1e-8)` | neri_attention.md §3.1 |
//! | `librosa` | 1024 | zero | Slaney / Slaney | 0 | `10·log10(p + 2.22e-16)` | librosa ≥ 0.10 defaults (golden/features §1) |
//! | `firstshot2025` | 1024 | reflect | Slaney / Slaney | 200 | `10·log10(p + 2.22e-16)` | firstshot2025.md §3 (with `hpf-logmel`: Butterworth-4 200 Hz high-pass first) |
//!
//! Silent input gives the dB floor in every bin (−100 dB for the clamped presets, `10·log10(ε)` for the
//! others); an empty waveform is [`FeatureError::Empty`].
//!
//! ```
//! use asd_features::{FeatureKind, FeatureSpec, FrontendPreset, extract_batch};
//!
//! # fn main() -> Result<(), asd_features::FeatureError> {
//! let spec = FeatureSpec::new(FeatureKind::LogMel).with_preset(FrontendPreset::StgramMfn);
//! let frontend = spec.build()?;
//! // one second of a 1 kHz tone at 16 kHz
//! let wave: Vec<f32> = (0..16_000).map(|n| (2.0 * std::f32::consts::PI * 1000.0 * n as f32 / 16_000.0).sin()).collect();
//! let logmel = frontend.extract(&wave)?;
//! assert_eq!(logmel.dim(), (128, 32)); // [n_mels, 1 + 16000 / 512]
//! assert_eq!(logmel.dim(), frontend.output_shape(wave.len()));
//! let batch = extract_batch(frontend.as_ref(), &[&wave, &wave])?;
//! assert_eq!(batch.dim(), (2, 128, 32)); // [batch, n_mels, frames]
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

mod config;
mod envelope;
mod error;
mod filter;
mod logmel;
mod mel;
mod spectrum;
mod stft;

pub use config::{FeatureKind, FeatureSpec, FrontendPreset, SAMPLE_RATE_HZ};
pub use envelope::EnvelopeSpectrum;
pub use error::{FeatureError, Result};
pub use filter::{Band, Sos, butterworth};
pub use logmel::{DbScale, HighPass, LogMel, LogMelConfig};
pub use mel::{MelBank, MelConfig, MelNorm, MelScale};
pub use spectrum::SegmentSpectrum;
pub use stft::{MAX_FFT_LEN, PadMode, Spectrogram, SpectrumValue, Stft, StftConfig};

use ndarray::{Array2, Array3, Axis};
use rayon::prelude::*;

/// A CPU front end: one mono waveform (16 kHz unless stated) in, a 2-D feature array out.
pub trait Frontend: Send + Sync {
    /// Features of one waveform: `[rows, columns]`, e.g. `[n_mels, frames]` or `[segments, bins]`.
    fn extract(&self, wave: &[f32]) -> Result<Array2<f32>, FeatureError>;
    /// The shape `[rows, columns]` that [`Frontend::extract`] returns for `n_samples` input samples.
    fn output_shape(&self, n_samples: usize) -> (usize, usize);
    /// A stable text naming every setting (used as the feature-cache key).
    fn cache_key(&self) -> String;
}

/// Features of a batch of waveforms, `[batch, rows, columns]`, computed in parallel on rayon.
///
/// # Errors
/// The first error of any item, or [`FeatureError::ShapeMismatch`] when the waveforms give different shapes
/// (different lengths); an empty batch gives [`FeatureError::Empty`].
pub fn extract_batch(frontend: &dyn Frontend, waves: &[&[f32]]) -> Result<Array3<f32>> {
    let first = waves.first().ok_or(FeatureError::Empty)?;
    let expected = frontend.output_shape(first.len());
    if let Some((index, wave)) = waves
        .iter()
        .enumerate()
        .find(|(_, w)| frontend.output_shape(w.len()) != expected)
    {
        return Err(FeatureError::ShapeMismatch {
            index,
            expected,
            got: frontend.output_shape(wave.len()),
        });
    }
    let mut out = Array3::zeros((waves.len(), expected.0, expected.1));
    out.axis_iter_mut(Axis(0))
        .into_par_iter()
        .zip(waves.par_iter())
        .try_for_each(|(mut slot, wave)| {
            slot.assign(&frontend.extract(wave)?);
            Ok::<_, FeatureError>(())
        })?;
    Ok(out)
}

/// Rejects empty waveforms and non-finite samples.
pub(crate) fn check_wave(wave: &[f32]) -> Result<()> {
    if wave.is_empty() {
        return Err(FeatureError::Empty);
    }
    match wave.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(FeatureError::NonFinite { index }),
        None => Ok(()),
    }
}

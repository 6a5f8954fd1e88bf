//! CPU front ends of `asd`: waveform (mono, 16 kHz) → 2-D feature array.
//!
//! Every front end implements [`Frontend`] and reproduces one reference computation exactly (decisions.md §12):
//! the FFT plan, window, Mel filterbank and filters are built once, when the front end is constructed; scratch
//! buffers belong to the calling thread, so one front end serves many threads. [`extract_batch`] runs a batch on
//! rayon, writing each clip in place ([`Frontend::extract_into`]). The hot loops are compiled twice, for baseline
//! x86-64 and for AVX2, and the copy the CPU supports runs; both give bit-identical results (tested).
//!
//! | front end | output | computation |
//! |---|---|---|
//! | [`SegmentSpectrum`] | `[segments, bins]` | `|rfft|` of non-overlapping segments, no window (seed 000) |
//! | [`Spectrogram`] | `[bins, frames]` | centred STFT, periodic Hann, `|X|` or `|X|²` |
//! | [`LogMel`] | `[n_mels, frames]` | STFT power → sparse Mel bank ([`MelBank`]) → dB, optional causal high-pass |
//! | [`EnvelopeSpectrum`] | `[1, bins]` | zero-phase Butterworth → Hilbert envelope → `|rfft(e − mean)| / N` (seed 003) |
//! | [`RawWaveform`] | `[1, samples]` | the samples unchanged: the input of a learnable front end (TgramNet) |
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
//! [`characteristic`] holds the first-shot system's characteristic-frequency analysis on top of the envelope
//! spectrum: the loudest octave band of a type's clips, and each clip's strongest modulation between 5 and 300 Hz.
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
#![deny(unsafe_code)]

pub mod characteristic;
mod config;
mod envelope;
mod error;
mod filter;
mod logmel;
mod mel;
mod simd;
mod spectrum;
mod stacked;
mod stft;
mod waveform;

pub use config::{FeatureAxis, FeatureKind, FeatureSpec, FrontendPreset, SAMPLE_RATE_HZ};
pub use envelope::EnvelopeSpectrum;
pub use error::{FeatureError, Result};
pub use filter::{Band, Sos, butterworth};
pub use logmel::{DbScale, HighPass, LogMel, LogMelConfig};
pub use mel::{MAX_MELS, MelBank, MelConfig, MelNorm, MelScale};
pub use spectrum::SegmentSpectrum;
pub use stacked::{DCASE_AE_FRAMES, MAX_STACKED_FRAMES, StackedLogMel};
pub use stft::{MAX_FFT_LEN, PadMode, Spectrogram, SpectrumValue, Stft, StftConfig};
pub use waveform::RawWaveform;

use ndarray::{Array2, Array3, ArrayViewMut2, Axis};
use rayon::prelude::*;
use simd::wide_fn;

/// A CPU front end: one mono waveform (16 kHz unless stated) in, a 2-D feature array out.
pub trait Frontend: Send + Sync {
    /// Features of one waveform: `[rows, columns]`, e.g. `[n_mels, frames]` or `[segments, bins]`.
    fn extract(&self, wave: &[f32]) -> Result<Array2<f32>, FeatureError>;
    /// Writes the features of `wave` into `out`, whose shape must be [`Frontend::output_shape`] of
    /// `wave.len()`. The STFT-based front ends ([`LogMel`], [`Spectrogram`]) write in place; the default
    /// copies the result of [`Frontend::extract`].
    ///
    /// # Errors
    /// As [`Frontend::extract`], and [`FeatureError::OutputShape`] when `out` has another shape.
    fn extract_into(&self, wave: &[f32], mut out: ArrayViewMut2<'_, f32>) -> Result<(), FeatureError> {
        let features = self.extract(wave)?;
        check_output(features.dim(), &out)?;
        out.assign(&features);
        Ok(())
    }
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
        .try_for_each(|(slot, wave)| frontend.extract_into(wave, slot))?;
    Ok(out)
}

/// Errors unless `out` has the shape `expected`.
pub(crate) fn check_output(expected: (usize, usize), out: &ArrayViewMut2<'_, f32>) -> Result<()> {
    if out.dim() == expected {
        Ok(())
    } else {
        Err(FeatureError::OutputShape {
            expected,
            got: out.dim(),
        })
    }
}

/// [`Frontend::extract`] for a front end that writes in place: a zeroed array of the output shape, filled
/// by [`Frontend::extract_into`].
pub(crate) fn extract_by_writing(frontend: &impl Frontend, wave: &[f32]) -> Result<Array2<f32>> {
    let mut out = Array2::zeros(frontend.output_shape(wave.len()));
    frontend.extract_into(wave, out.view_mut())?;
    Ok(out)
}

/// Rejects empty waveforms and non-finite samples.
pub(crate) fn check_wave(wave: &[f32]) -> Result<()> {
    if wave.is_empty() {
        return Err(FeatureError::Empty);
    }
    // a branch-free scan first (vectorised), the position only when something is wrong
    if !all_finite(wave) {
        let index = wave.iter().position(|v| !v.is_finite()).unwrap_or(0);
        return Err(FeatureError::NonFinite { index });
    }
    Ok(())
}

wide_fn! {
    /// Whether every sample is finite: the largest magnitude bit pattern (an integer maximum, which
    /// vectorises) is below that of +∞.
    fn all_finite(wave: &[f32]) -> bool {
        wave.iter().map(|v| v.abs().to_bits()).max().unwrap_or(0) < f32::INFINITY.to_bits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_kinds() -> Vec<Box<dyn Frontend>> {
        let mut out = Vec::new();
        for preset in [
            FrontendPreset::StgramMfn,
            FrontendPreset::OsScl,
            FrontendPreset::NeriAttention,
            FrontendPreset::Librosa,
            FrontendPreset::Firstshot2025,
        ] {
            for kind in [FeatureKind::LogMel, FeatureKind::HpfLogMel, FeatureKind::Stft] {
                out.push(FeatureSpec::new(kind).with_preset(preset).build().unwrap());
            }
        }
        out.push(FeatureSpec::new(FeatureKind::Spectrum).build().unwrap());
        out.push(FeatureSpec::new(FeatureKind::Envelope).build().unwrap());
        out
    }

    #[test]
    fn extract_into_writes_what_extract_returns_and_checks_the_shape() {
        // 2.5 s: longer than one 2-s segment of the spectrum front end
        let wave: Vec<f32> = (0..40_000u32)
            .map(|i| ((i * 7919 % 1000) as f32 / 500.0 - 1.0) * 0.3)
            .collect();
        for frontend in all_kinds() {
            let expected = frontend.extract(&wave).unwrap();
            let (rows, cols) = frontend.output_shape(wave.len());
            let mut out = Array2::from_elem((rows, cols), f32::NAN);
            frontend.extract_into(&wave, out.view_mut()).unwrap();
            assert_eq!(out, expected, "{}", frontend.cache_key());
            let mut wrong = Array2::zeros((rows, cols + 1));
            match frontend.extract_into(&wave, wrong.view_mut()) {
                Err(FeatureError::OutputShape { expected, got }) => {
                    assert_eq!((expected, got), ((rows, cols), (rows, cols + 1)));
                }
                other => panic!("{}: {other:?}", frontend.cache_key()),
            }
        }
    }

    #[test]
    fn front_ends_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<LogMel>();
        check::<Spectrogram>();
        check::<SegmentSpectrum>();
        check::<EnvelopeSpectrum>();
        check::<Box<dyn Frontend>>();
    }

    #[test]
    fn output_shape_predicts_extract() {
        let wave: Vec<f32> = (0..40_123).map(|n| ((n * 7919) % 1000) as f32 / 1000.0 - 0.5).collect();
        for frontend in all_kinds() {
            let features = frontend.extract(&wave).unwrap();
            assert_eq!(
                features.dim(),
                frontend.output_shape(wave.len()),
                "{}",
                frontend.cache_key()
            );
            assert!(features.iter().all(|v| v.is_finite()), "{}", frontend.cache_key());
        }
    }

    #[test]
    fn silent_input_gives_the_floor() {
        let silence = vec![0.0f32; 16_000];
        let floor_of = |preset: FrontendPreset| {
            let features = FeatureSpec::new(FeatureKind::LogMel)
                .with_preset(preset)
                .build()
                .unwrap();
            let features = features.extract(&silence).unwrap();
            let first = features[[0, 0]];
            assert!(features.iter().all(|&v| v == first), "{preset:?}: not constant");
            first
        };
        // torchaudio AmplitudeToDB clamps at 1e-10 → −100 dB; librosa-style 10·log10(ε) = −156.54 dB
        assert_eq!(floor_of(FrontendPreset::StgramMfn), -100.0);
        assert_eq!(floor_of(FrontendPreset::OsScl), -100.0);
        assert!((floor_of(FrontendPreset::NeriAttention) - -80.0).abs() < 1e-4);
        assert!((floor_of(FrontendPreset::Librosa) - -156.5356).abs() < 1e-3);
        assert!((floor_of(FrontendPreset::Firstshot2025) - -156.5356).abs() < 1e-3);
    }

    #[test]
    fn empty_and_non_finite_inputs_are_errors() {
        for frontend in all_kinds() {
            assert!(
                matches!(frontend.extract(&[]), Err(FeatureError::Empty)),
                "{}",
                frontend.cache_key()
            );
            let mut wave = vec![0.0f32; 40_000];
            wave[123] = f32::NAN;
            let err = frontend.extract(&wave);
            assert!(
                matches!(err, Err(FeatureError::NonFinite { index: 123 })),
                "{}",
                frontend.cache_key()
            );
        }
    }

    #[test]
    fn short_inputs_are_errors_where_the_method_needs_length() {
        let stgram = FeatureSpec::new(FeatureKind::LogMel).build().unwrap();
        // reflect padding needs more than n_fft / 2 = 512 samples
        assert!(matches!(
            stgram.extract(&[0.1; 512]),
            Err(FeatureError::TooShort { needed: 513, .. })
        ));
        assert_eq!(stgram.extract(&[0.1; 513]).unwrap().dim(), (128, 2));
        // zero padding works for any length
        let librosa = FeatureSpec::new(FeatureKind::LogMel)
            .with_preset(FrontendPreset::Librosa)
            .build()
            .unwrap();
        assert_eq!(librosa.extract(&[0.1; 3]).unwrap().dim(), (128, 1));
        let spectrum = FeatureSpec::new(FeatureKind::Spectrum).build().unwrap();
        assert!(matches!(
            spectrum.extract(&[0.1; 31_999]),
            Err(FeatureError::TooShort { .. })
        ));
        let envelope = FeatureSpec::new(FeatureKind::Envelope).build().unwrap();
        assert!(matches!(
            envelope.extract(&[0.1; 15]),
            Err(FeatureError::TooShort { needed: 16, .. })
        ));
    }

    #[test]
    fn batches_equal_single_extractions() {
        let frontend = FeatureSpec::new(FeatureKind::LogMel).build().unwrap();
        let a: Vec<f32> = (0..20_000).map(|n| (n as f32 * 0.01).sin()).collect();
        let b: Vec<f32> = (0..20_000).map(|n| (n as f32 * 0.2).cos() * 0.3).collect();
        let batch = extract_batch(frontend.as_ref(), &[&a, &b]).unwrap();
        assert_eq!(batch.index_axis(Axis(0), 0), frontend.extract(&a).unwrap());
        assert_eq!(batch.index_axis(Axis(0), 1), frontend.extract(&b).unwrap());
        let short = &b[..10_000];
        let err = extract_batch(frontend.as_ref(), &[&a, short]);
        assert!(matches!(err, Err(FeatureError::ShapeMismatch { index: 1, .. })));
        assert!(matches!(
            extract_batch(frontend.as_ref(), &[]),
            Err(FeatureError::Empty)
        ));
    }
}

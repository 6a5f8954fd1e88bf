//! Magnitude spectra of non-overlapping fixed-length segments (seed 000's ASDNet / SpecMFN input).

use crate::error::{FeatureError, Result};
use crate::stft::check_fft_len;
use crate::{Frontend, check_wave};
use ndarray::Array2;
use rayon::prelude::*;
use realfft::{RealFftPlanner, RealToComplex};
use std::sync::Arc;

/// `|rfft|` of each segment: `segment_len` samples, no window, no normalisation (numpy's "backward" norm),
/// segments `[s · segment_len, (s + 1) · segment_len)`; a trailing partial segment is dropped.
#[derive(Clone)]
pub struct SegmentSpectrum {
    segment_len: usize,
    fft: Arc<dyn RealToComplex<f32>>,
}

impl std::fmt::Debug for SegmentSpectrum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SegmentSpectrum")
            .field("segment_len", &self.segment_len)
            .finish_non_exhaustive()
    }
}

impl SegmentSpectrum {
    /// Plans a `segment_len`-point real FFT.
    pub fn new(segment_len: usize) -> Result<Self> {
        check_fft_len("segment_len", segment_len)?;
        Ok(Self {
            segment_len,
            fft: RealFftPlanner::<f32>::new().plan_fft_forward(segment_len),
        })
    }

    /// Segment length in samples.
    pub fn segment_len(&self) -> usize {
        self.segment_len
    }
}

impl Frontend for SegmentSpectrum {
    /// `[⌊len / segment_len⌋, segment_len / 2 + 1]`; bin `k` is `k · sample_rate / segment_len` Hz (0.5 Hz for
    /// 2-s segments at 16 kHz).
    fn extract(&self, wave: &[f32]) -> Result<Array2<f32>> {
        check_wave(wave)?;
        if wave.len() < self.segment_len {
            return Err(FeatureError::TooShort {
                what: "one segment",
                needed: self.segment_len,
                got: wave.len(),
            });
        }
        let (rows, cols) = self.output_shape(wave.len());
        let mut out = Array2::zeros((rows, cols));
        out.axis_iter_mut(ndarray::Axis(0))
            .into_par_iter()
            .zip(wave.par_chunks_exact(self.segment_len))
            .try_for_each(|(mut row, segment)| {
                let mut input = segment.to_vec();
                let mut spectrum = self.fft.make_output_vec();
                let mut scratch = self.fft.make_scratch_vec();
                self.fft.process_with_scratch(&mut input, &mut spectrum, &mut scratch)?;
                row.iter_mut().zip(&spectrum).for_each(|(r, c)| *r = c.norm());
                Ok::<_, FeatureError>(())
            })?;
        Ok(out)
    }

    fn output_shape(&self, n_samples: usize) -> (usize, usize) {
        (n_samples / self.segment_len, self.segment_len / 2 + 1)
    }

    fn cache_key(&self) -> String {
        format!("spectrum:segment_len={},value=magnitude,window=none", self.segment_len)
    }
}

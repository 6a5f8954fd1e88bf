//! Hilbert envelope spectrum (seed 003's characteristic-frequency analysis).

use crate::error::Result;
use crate::filter::{Band, Sos, butterworth};
use crate::{Frontend, check_wave};
use ndarray::{Array1, Array2, Axis};
use realfft::num_complex::Complex64;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use std::sync::{Arc, Mutex, PoisonError};

/// Envelope spectrum of a whole clip, in `f64`:
/// 1. zero-phase Butterworth filtering (scipy `sosfiltfilt` with its default odd extension),
/// 2. envelope `e = |x + i·H{x}|` with the Hilbert transform taken through a full-length FFT (bins
///    `1 … ⌈N/2⌉−1` kept, bin 0 and, for even `N`, bin `N/2` dropped: scipy `hilbert`),
/// 3. `|rfft(e − mean(e))| / N`.
///
/// Output `[1, N/2 + 1]` for `N` samples: one row, bin `k` at `k · sample_rate / N` Hz (0.1 Hz for 10 s).
pub struct EnvelopeSpectrum {
    sos: Sos,
    band: Band,
    /// FFT plans are cached per input length; the lock is held only to fetch a plan.
    planner: Mutex<RealFftPlanner<f64>>,
}

impl std::fmt::Debug for EnvelopeSpectrum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnvelopeSpectrum")
            .field("band", &self.band)
            .field("sos", &self.sos)
            .finish_non_exhaustive()
    }
}

impl EnvelopeSpectrum {
    /// Designs the order-`order` Butterworth filter of `band` for `sample_rate` Hz.
    pub fn new(order: usize, band: Band, sample_rate: u32) -> Result<Self> {
        let sos = butterworth(order, band, f64::from(sample_rate))?;
        Ok(Self {
            sos,
            band,
            planner: Mutex::new(RealFftPlanner::new()),
        })
    }

    /// The filter's sections.
    pub fn sos(&self) -> &Sos {
        &self.sos
    }

    /// The zero-phase filtered signal and its Hilbert envelope, both `N` samples.
    pub fn filtered_and_envelope(&self, wave: &[f32]) -> Result<(Vec<f64>, Vec<f64>)> {
        check_wave(wave)?;
        let x: Vec<f64> = wave.iter().map(|&v| f64::from(v)).collect();
        let filtered = self.sos.filter_zero_phase(&x)?;
        let envelope = self.hilbert_envelope(&filtered)?;
        Ok((filtered, envelope))
    }

    fn plans(&self, n: usize) -> (Arc<dyn RealToComplex<f64>>, Arc<dyn ComplexToReal<f64>>) {
        let mut planner = self.planner.lock().unwrap_or_else(PoisonError::into_inner);
        (planner.plan_fft_forward(n), planner.plan_fft_inverse(n))
    }

    fn hilbert_envelope(&self, x: &[f64]) -> Result<Vec<f64>> {
        let n = x.len();
        let (forward, inverse) = self.plans(n);
        let mut input = x.to_vec();
        let mut spectrum = forward.make_output_vec();
        forward.process(&mut input, &mut spectrum)?;
        // Spectrum of the Hilbert transform: −i·X[k] on the doubled bins, 0 on bin 0 and the Nyquist bin.
        for (k, c) in spectrum.iter_mut().enumerate() {
            *c = if k == 0 || 2 * k == n {
                Complex64::new(0.0, 0.0)
            } else {
                Complex64::new(c.im, -c.re)
            };
        }
        let mut hilbert = inverse.make_output_vec();
        inverse.process(&mut spectrum, &mut hilbert)?;
        let scale = 1.0 / n as f64;
        Ok(x.iter().zip(&hilbert).map(|(&re, &im)| re.hypot(im * scale)).collect())
    }
}

impl Frontend for EnvelopeSpectrum {
    fn extract(&self, wave: &[f32]) -> Result<Array2<f32>> {
        let (_, envelope) = self.filtered_and_envelope(wave)?;
        let n = envelope.len();
        let mean = envelope.iter().sum::<f64>() / n as f64;
        let mut centred: Vec<f64> = envelope.iter().map(|e| e - mean).collect();
        let (forward, _) = self.plans(n);
        let mut spectrum = forward.make_output_vec();
        forward.process(&mut centred, &mut spectrum)?;
        let scale = 1.0 / n as f64;
        let row: Array1<f32> = spectrum.iter().map(|c| (c.norm() * scale) as f32).collect();
        Ok(row.insert_axis(Axis(0)))
    }

    fn output_shape(&self, n_samples: usize) -> (usize, usize) {
        (1, n_samples / 2 + 1)
    }

    fn cache_key(&self) -> String {
        format!("envelope:band={:?},sections={:?}", self.band, self.sos.sections())
    }
}

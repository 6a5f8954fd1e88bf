//! Mel scales and triangular Mel filterbanks, stored sparsely.
//!
//! One construction serves torchaudio's `melscale_fbanks` and librosa's `filters.mel`: `n_mels + 2` edge
//! frequencies equally spaced on the chosen Mel scale between `f_min` and `f_max`, triangles evaluated at the
//! FFT bin frequencies `k · sample_rate / n_fft`, optionally scaled to unit area ("slaney" norm). Weights are
//! computed in `f64` and stored as `f32`.

use crate::error::{FeatureError, Result};
use crate::simd::wide_fn;
use ndarray::{Array2, ArrayView2, ArrayViewMut2};
use serde::{Deserialize, Serialize};

/// HTK scale: `m = 2595 · log10(1 + f / 700)` (HTK book; torchaudio `mel_scale="htk"`, librosa `htk=True`).
const HTK_MEL_FACTOR: f64 = 2595.0;
/// HTK scale corner frequency in Hz (same source).
const HTK_CORNER_HZ: f64 = 700.0;
/// Slaney scale: Hz per mel in the linear part below 1 kHz (Slaney's Auditory Toolbox; librosa default).
const SLANEY_HZ_PER_MEL: f64 = 200.0 / 3.0;
/// Slaney scale: where the logarithmic part starts, in Hz (same source).
const SLANEY_LOG_START_HZ: f64 = 1000.0;
/// Slaney scale: one log step is `ln(6.4) / 27` (same source).
const SLANEY_LOG_RATIO: f64 = 6.4;
/// Slaney scale: number of log steps over the ratio above (same source).
const SLANEY_LOG_STEPS: f64 = 27.0;

/// Which Mel scale places the filter edges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MelScale {
    /// `m = 2595 · log10(1 + f/700)` (torchaudio's default).
    Htk,
    /// Linear below 1 kHz (`f / (200/3)`), logarithmic above (`15 + 27 · ln(f/1000) / ln 6.4`) (librosa's default).
    Slaney,
}

impl MelScale {
    /// Frequency in Hz → mels.
    pub fn hz_to_mel(self, hz: f64) -> f64 {
        match self {
            Self::Htk => HTK_MEL_FACTOR * (1.0 + hz / HTK_CORNER_HZ).log10(),
            Self::Slaney => {
                if hz >= SLANEY_LOG_START_HZ {
                    SLANEY_LOG_START_HZ / SLANEY_HZ_PER_MEL + (hz / SLANEY_LOG_START_HZ).ln() / slaney_log_step()
                } else {
                    hz / SLANEY_HZ_PER_MEL
                }
            }
        }
    }

    /// Mels → frequency in Hz (inverse of [`MelScale::hz_to_mel`]).
    pub fn mel_to_hz(self, mel: f64) -> f64 {
        match self {
            Self::Htk => HTK_CORNER_HZ * (10f64.powf(mel / HTK_MEL_FACTOR) - 1.0),
            Self::Slaney => {
                let log_start_mel = SLANEY_LOG_START_HZ / SLANEY_HZ_PER_MEL;
                if mel >= log_start_mel {
                    SLANEY_LOG_START_HZ * (slaney_log_step() * (mel - log_start_mel)).exp()
                } else {
                    mel * SLANEY_HZ_PER_MEL
                }
            }
        }
    }
}

fn slaney_log_step() -> f64 {
    SLANEY_LOG_RATIO.ln() / SLANEY_LOG_STEPS
}

/// How each triangle is scaled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MelNorm {
    /// Peak 1 (torchaudio `norm=None`).
    None,
    /// Unit area: triangle `m` times `2 / (f_{m+2} − f_m)` (librosa `norm="slaney"`, torchaudio `norm="slaney"`).
    Slaney,
}

/// Settings of a Mel filterbank (frequencies in Hz).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MelConfig {
    /// Number of Mel bands.
    pub n_mels: usize,
    /// Lower edge of the first triangle, Hz.
    pub f_min: f64,
    /// Upper edge of the last triangle, Hz (at most the Nyquist frequency).
    pub f_max: f64,
    /// Mel scale of the edges.
    pub scale: MelScale,
    /// Triangle normalisation.
    pub norm: MelNorm,
}

/// The most Mel bands a filterbank may have: 2¹⁶. The systems use 128; beyond the FFT's bins extra bands are
/// empty, and a mistyped count (10⁹) would size the band edges before anything else failed.
pub const MAX_MELS: usize = 1 << 16;

impl MelConfig {
    /// Checks the settings against a sample rate: `1 ≤ n_mels ≤` [`MAX_MELS`],
    /// `0 ≤ f_min < f_max ≤ sample_rate / 2`.
    pub fn check(&self, sample_rate: u32) -> Result<()> {
        if self.n_mels == 0 {
            return Err(FeatureError::Zero { name: "n_mels" });
        }
        if self.n_mels > MAX_MELS {
            return Err(FeatureError::TooLarge {
                name: "n_mels",
                value: self.n_mels,
                max: MAX_MELS,
            });
        }
        check_band(self.f_min, self.f_max, sample_rate)
    }

    /// The centre (peak) frequency of each band in Hz, lowest first: the `n_mels + 2` edges lie evenly on the Mel
    /// scale from `f_min` to `f_max`, and band `m` peaks at edge `m + 1`.
    pub fn band_centres_hz(&self) -> Vec<f64> {
        let (low, high) = (self.scale.hz_to_mel(self.f_min), self.scale.hz_to_mel(self.f_max));
        let step = (high - low) / (self.n_mels + 1) as f64;
        (1..=self.n_mels)
            .map(|m| self.scale.mel_to_hz(low + step * m as f64))
            .collect()
    }

    /// A stable text naming every setting.
    pub fn key(&self) -> String {
        format!(
            "n_mels={},f_min={},f_max={},scale={:?},norm={:?}",
            self.n_mels, self.f_min, self.f_max, self.scale, self.norm
        )
    }
}

/// Checks `0 ≤ low < high ≤ Nyquist` (NaN fails).
pub(crate) fn check_band(low: f64, high: f64, sample_rate: u32) -> Result<()> {
    let nyquist = f64::from(sample_rate) / 2.0;
    if !(0.0..=nyquist).contains(&low) {
        return Err(FeatureError::FrequencyOutOfRange {
            name: "f_min",
            hz: low,
            nyquist,
        });
    }
    if !(0.0..=nyquist).contains(&high) {
        return Err(FeatureError::FrequencyOutOfRange {
            name: "f_max",
            hz: high,
            nyquist,
        });
    }
    if low >= high {
        return Err(FeatureError::EmptyBand { low, high });
    }
    Ok(())
}

/// One band's nonzero weights: bins `start .. start + weights.len()`.
#[derive(Clone, Debug)]
struct Band {
    start: usize,
    weights: Vec<f32>,
}

/// A Mel filterbank over the `n_fft / 2 + 1` bins of a one-sided spectrum, stored as each band's nonzero bin
/// range, so applying it costs about two multiply-adds per bin.
#[derive(Clone, Debug)]
pub struct MelBank {
    n_bins: usize,
    bands: Vec<Band>,
}

impl MelBank {
    /// Builds the filterbank for an `n_fft`-point FFT at `sample_rate` Hz.
    pub fn new(config: &MelConfig, sample_rate: u32, n_fft: usize) -> Result<Self> {
        config.check(sample_rate)?;
        if n_fft == 0 {
            return Err(FeatureError::Zero { name: "n_fft" });
        }
        let n_bins = n_fft / 2 + 1;
        let scale = config.scale;
        let (mel_lo, mel_hi) = (scale.hz_to_mel(config.f_min), scale.hz_to_mel(config.f_max));
        let n_edges = config.n_mels + 2;
        let edges: Vec<f64> = (0..n_edges)
            .map(|i| scale.mel_to_hz(mel_lo + (mel_hi - mel_lo) * i as f64 / (n_edges - 1) as f64))
            .collect();
        let bin_hz = f64::from(sample_rate) / n_fft as f64;
        let bands = edges
            .windows(3)
            .map(|e| {
                let area = match config.norm {
                    MelNorm::None => 1.0,
                    MelNorm::Slaney => 2.0 / (e[2] - e[0]),
                };
                let weight = |k: usize| {
                    let f = k as f64 * bin_hz;
                    let rising = (f - e[0]) / (e[1] - e[0]);
                    let falling = (e[2] - f) / (e[2] - e[1]);
                    rising.min(falling).max(0.0) * area
                };
                let nonzero: Vec<usize> = (0..n_bins).filter(|&k| weight(k) > 0.0).collect();
                match (nonzero.first(), nonzero.last()) {
                    (Some(&start), Some(&end)) => Band {
                        start,
                        weights: (start..=end).map(|k| weight(k) as f32).collect(),
                    },
                    _ => Band {
                        start: 0,
                        weights: Vec::new(),
                    },
                }
            })
            .collect();
        Ok(Self { n_bins, bands })
    }

    /// Number of Mel bands (output length of [`MelBank::apply`]).
    pub fn n_mels(&self) -> usize {
        self.bands.len()
    }

    /// Number of FFT bins expected (`n_fft / 2 + 1`).
    pub fn n_bins(&self) -> usize {
        self.n_bins
    }

    /// Mel energies of a block of spectra: `out[m, t] = Σ_k fb[m, k] · spectra[k, t]`.
    ///
    /// `spectra` is `[n_bins, frames]` and `out` `[n_mels, frames]`; with contiguous rows the inner loop runs
    /// over frames and vectorises.
    pub fn apply(&self, spectra: ArrayView2<'_, f32>, out: ArrayViewMut2<'_, f32>) {
        let width = spectra.ncols();
        let Some(cells) = spectra.as_slice() else {
            return self.apply_strided(spectra, out);
        };
        if out.rows().into_iter().any(|r| r.as_slice().is_none()) {
            return self.apply_strided(spectra, out);
        }
        apply_contiguous(&self.bands, cells, width, out);
    }

    /// [`MelBank::apply`] on views of any layout (the same sums, through ndarray's strided operations).
    fn apply_strided(&self, spectra: ArrayView2<'_, f32>, mut out: ArrayViewMut2<'_, f32>) {
        for (mut row, band) in out.outer_iter_mut().zip(&self.bands) {
            row.fill(0.0);
            for (k, &w) in band.weights.iter().enumerate() {
                row.scaled_add(w, &spectra.row(band.start + k));
            }
        }
    }

    /// The dense matrix `[n_mels, n_bins]` (librosa's layout; torchaudio stores its transpose).
    pub fn to_dense(&self) -> Array2<f32> {
        let mut dense = Array2::zeros((self.n_mels(), self.n_bins));
        for (mut row, band) in dense.outer_iter_mut().zip(&self.bands) {
            for (i, &w) in band.weights.iter().enumerate() {
                row[band.start + i] = w;
            }
        }
        dense
    }
}

wide_fn! {
    /// [`MelBank::apply`] on bin-major `cells` (`[n_bins, width]`) into `out` with contiguous rows.
    fn apply_contiguous(bands: &[Band], cells: &[f32], width: usize, out: ArrayViewMut2<'_, f32>) {
        let mut out = out;
        for (mut row, band) in out.outer_iter_mut().zip(bands) {
            let Some(row) = row.as_slice_mut() else { continue }; // contiguous: checked by the caller
            row.fill(0.0);
            for (&w, bin) in band.weights.iter().zip(cells[band.start * width..].chunks_exact(width)) {
                for (o, &p) in row.iter_mut().zip(bin) {
                    *o += w * p;
                }
            }
        }
    }
}

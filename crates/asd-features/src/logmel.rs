//! Log-Mel spectrograms exactly as each reference computes them, with an optional causal high-pass first.

use crate::error::{FeatureError, Result};
use crate::filter::{Band, Sos, butterworth};
use crate::mel::{MelBank, MelConfig};
use crate::simd::wide_fn;
use crate::stft::{Stft, StftConfig};
use crate::{Frontend, check_output, check_wave, extract_by_writing};
use ndarray::{Array2, ArrayViewMut2};

/// How Mel power becomes decibels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DbScale {
    /// `10 · log10(max(p, floor))` (torchaudio `AmplitudeToDB(stype="power")`, `amin = floor`).
    Clamp {
        /// Smallest power kept, e.g. 1e-10.
        floor: f32,
    },
    /// `10 · log10(p + epsilon)` (librosa-style baselines, the attention net).
    Offset {
        /// Added to every power before the logarithm.
        epsilon: f32,
    },
}

impl DbScale {
    /// Checks that the floor or ε is a positive normal `f32` (so every logarithm is finite).
    pub fn check(self) -> Result<()> {
        let (name, value) = match self {
            Self::Clamp { floor } => ("floor", floor),
            Self::Offset { epsilon } => ("epsilon", epsilon),
        };
        if value.is_normal() && value > 0.0 {
            Ok(())
        } else {
            Err(FeatureError::NotPositive {
                name,
                value: f64::from(value),
            })
        }
    }

    /// Converts Mel powers to decibels in place.
    ///
    /// The logarithm is evaluated by a vectorisable polynomial, within 5e-5 dB of the exact value); the
    /// references' float32 `log10` is itself rounded to about 1e-5 dB at −100 dB.
    pub fn to_db(self, values: &mut [f32]) {
        db_in_place(self, values);
    }
}

wide_fn! {
    /// [`DbScale::to_db`]'s loop.
    fn db_in_place(scale: DbScale, values: &mut [f32]) {
        match scale {
            DbScale::Clamp { floor } => {
                for v in values {
                    *v = 10.0 * log10(v.max(floor));
                }
            }
            DbScale::Offset { epsilon } => {
                for v in values {
                    *v = 10.0 * log10(*v + epsilon);
                }
            }
        }
    }
}

/// Bits of √½: subtracting them splits `x` into `2^e · m` with `m ∈ [√½, √2)`.
const SQRT_HALF_BITS: u32 = 0x3f35_04f3;
/// Mantissa field of an IEEE-754 single.
const MANTISSA_MASK: u32 = 0x007f_ffff;

/// `ln 2` split for exact products with small integers (Cody–Waite): the high part has 16 significant bits.
const LN_2_HI: f32 = 0.693_145_75;
/// The rest of `ln 2` (`ln 2 − LN_2_HI`).
const LN_2_LO: f32 = 1.428_606_8e-6;

/// `log10(x)` for positive `x`, branch-free `f32` arithmetic so loops over it vectorise: `x = 2^e · m`,
/// `m ∈ [√½, √2)`, `ln m = 2·atanh(s)`, `s = (m − 1)/(m + 1)`, by its odd series to `s⁹` (|s| ≤ 0.172:
/// truncation below 1e-9). Within 5e-5 dB (as `10·log10`) of the exact value over all normal floats; inputs are
/// clamped to the normal range first (0 → log10 of the smallest normal).
#[inline(always)]
pub(crate) fn log10(x: f32) -> f32 {
    let x = x.clamp(f32::MIN_POSITIVE, f32::MAX);
    let t = x.to_bits().wrapping_sub(SQRT_HALF_BITS);
    let exponent = ((t as i32) >> 23) as f32; // arithmetic shift: floor division by 2²³
    let m = f32::from_bits((t & MANTISSA_MASK) + SQRT_HALF_BITS);
    let s = (m - 1.0) / (m + 1.0);
    let z = s * s;
    let series = 1.0 + z * (1.0 / 3.0 + z * (1.0 / 5.0 + z * (1.0 / 7.0 + z * (1.0 / 9.0))));
    let ln = exponent * LN_2_HI + (exponent * LN_2_LO + 2.0 * s * series);
    ln * std::f32::consts::LOG10_E
}

/// A causal Butterworth high-pass applied to the waveform before the STFT (seed 003).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HighPass {
    /// Filter order (number of poles).
    pub order: usize,
    /// Cut-off in Hz.
    pub cutoff_hz: f64,
}

/// Every setting of a log-Mel front end. [`crate::FrontendPreset::log_mel_config`] gives each
/// reference's values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LogMelConfig {
    /// Sample rate of the input, Hz.
    pub sample_rate: u32,
    /// STFT settings (power spectrum `|X|²`).
    pub stft: StftConfig,
    /// Mel filterbank.
    pub mel: MelConfig,
    /// Decibel conversion.
    pub db: DbScale,
    /// Optional high-pass before the STFT, run causally in `f64` from a zero state (scipy `sosfilt`).
    pub high_pass: Option<HighPass>,
}

impl LogMelConfig {
    /// A stable text naming every setting.
    pub fn key(&self) -> String {
        format!(
            "logmel:sr={},{},{},db={:?},high_pass={:?}",
            self.sample_rate,
            self.stft.key(),
            self.mel.key(),
            self.db,
            self.high_pass
        )
    }
}

/// A log-Mel front end: `[n_mels, frames]` decibels, Mel band 0 = lowest frequency.
#[derive(Clone, Debug)]
pub struct LogMel {
    config: LogMelConfig,
    stft: Stft,
    bank: MelBank,
    high_pass: Option<Sos>,
}

impl LogMel {
    /// Checks the settings, plans the FFT and builds the filterbank (and the high-pass sections).
    pub fn new(config: LogMelConfig) -> Result<Self> {
        config.db.check()?;
        let stft = Stft::new(config.stft)?;
        let bank = MelBank::new(&config.mel, config.sample_rate, config.stft.n_fft)?;
        let high_pass = config
            .high_pass
            .map(|h| {
                butterworth(
                    h.order,
                    Band::HighPass { cutoff_hz: h.cutoff_hz },
                    f64::from(config.sample_rate),
                )
            })
            .transpose()?;
        Ok(Self {
            config,
            stft,
            bank,
            high_pass,
        })
    }

    /// The settings.
    pub fn config(&self) -> &LogMelConfig {
        &self.config
    }

    /// The Mel filterbank.
    pub fn mel_bank(&self) -> &MelBank {
        &self.bank
    }

    /// Mel power `[n_mels, frames]` before the decibel conversion.
    pub fn mel_power(&self, wave: &[f32]) -> Result<Array2<f32>> {
        let mut out = Array2::zeros(self.output_shape(wave.len()));
        self.mel_rows(wave, out.view_mut(), |_| ())?;
        Ok(out)
    }

    /// High-pass (if any), STFT power, Mel bank, then `post` on each frame's Mel row, into `out`
    /// (`[n_mels, frames]`).
    fn mel_rows(&self, wave: &[f32], out: ArrayViewMut2<'_, f32>, post: impl Fn(&mut [f32]) + Sync) -> Result<()> {
        check_wave(wave)?;
        check_output(self.output_shape(wave.len()), &out)?;
        let filtered: Option<Vec<f32>> = self.high_pass.as_ref().map(|sos| {
            let x: Vec<f64> = wave.iter().map(|&v| f64::from(v)).collect();
            sos.filter(&x).into_iter().map(|v| v as f32).collect()
        });
        let wave = filtered.as_deref().unwrap_or(wave);
        self.stft.map_blocks(wave, out, |power, mut out| {
            self.bank.apply(power, out.view_mut());
            out.rows_mut().into_iter().for_each(|mut row| {
                if let Some(row) = row.as_slice_mut() {
                    post(row);
                } else {
                    row.map_inplace(|v| post(std::slice::from_mut(v)));
                }
            });
        })
    }
}

impl Frontend for LogMel {
    /// `[n_mels, 1 + ⌊len / hop⌋]` in dB.
    fn extract(&self, wave: &[f32]) -> Result<Array2<f32>> {
        extract_by_writing(self, wave)
    }

    fn extract_into(&self, wave: &[f32], out: ArrayViewMut2<'_, f32>) -> Result<()> {
        let db = self.config.db;
        self.mel_rows(wave, out, |row| db.to_db(row))
    }

    fn output_shape(&self, n_samples: usize) -> (usize, usize) {
        (self.config.mel.n_mels, self.config.stft.n_frames(n_samples))
    }

    fn cache_key(&self) -> String {
        self.config.key()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_log10_is_within_5e_5_db() {
        // every 997th float from the smallest normal up to f32::MAX, against the f64 logarithm
        let mut worst = 0.0f64;
        for bits in (f32::MIN_POSITIVE.to_bits()..f32::MAX.to_bits()).step_by(997) {
            let x = f32::from_bits(bits);
            let err = (10.0 * f64::from(log10(x)) - 10.0 * f64::from(x).log10()).abs();
            worst = worst.max(err);
        }
        assert!(worst <= 5e-5, "worst error {worst:e} dB");
        assert_eq!(log10(0.0), log10(f32::MIN_POSITIVE));
        assert_eq!(log10(1.0), 0.0);
    }

    #[test]
    fn db_floor_and_epsilon_must_be_positive_normals() {
        for bad in [0.0, -1.0, f32::NAN, f32::INFINITY, 1e-40] {
            assert!(matches!(
                DbScale::Clamp { floor: bad }.check(),
                Err(FeatureError::NotPositive { .. })
            ));
            assert!(matches!(
                DbScale::Offset { epsilon: bad }.check(),
                Err(FeatureError::NotPositive { .. })
            ));
        }
    }
}

//! Log-Mel spectrograms exactly as each reference computes them, with an optional causal high-pass first.

use crate::error::Result;
use crate::filter::{Band, Sos, butterworth};
use crate::mel::{MelBank, MelConfig};
use crate::stft::{Stft, StftConfig, transpose};
use crate::{Frontend, check_wave};
use ndarray::Array2;

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
    /// Decibels of one Mel power value, in `f32` as the references compute them.
    pub fn to_db(self, power: f32) -> f32 {
        let p = match self {
            Self::Clamp { floor } => power.max(floor),
            Self::Offset { epsilon } => power + epsilon,
        };
        10.0 * p.log10()
    }
}

/// A causal Butterworth high-pass applied to the waveform before the STFT (seed 003).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HighPass {
    /// Filter order (number of poles).
    pub order: usize,
    /// Cut-off in Hz.
    pub cutoff_hz: f64,
}

/// Every setting of a log-Mel front end. The `FrontendPreset` constructors in [`crate::config`] give each
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
        self.mel_rows(wave, |p| p)
    }

    /// High-pass (if any), STFT power, Mel bank, then `db` on each value; `[n_mels, frames]`.
    fn mel_rows(&self, wave: &[f32], db: impl Fn(f32) -> f32 + Sync) -> Result<Array2<f32>> {
        check_wave(wave)?;
        let filtered: Option<Vec<f32>> = self.high_pass.as_ref().map(|sos| {
            let x: Vec<f64> = wave.iter().map(|&v| f64::from(v)).collect();
            sos.filter(&x).into_iter().map(|v| v as f32).collect()
        });
        let wave = filtered.as_deref().unwrap_or(wave);
        let n_mels = self.bank.n_mels();
        let rows = self.stft.map_frames(wave, n_mels, |power, row| {
            self.bank.apply(power, row);
            row.iter_mut().for_each(|v| *v = db(*v));
        })?;
        Ok(transpose(&rows, n_mels))
    }
}

impl Frontend for LogMel {
    /// `[n_mels, 1 + ⌊len / hop⌋]` in dB.
    fn extract(&self, wave: &[f32]) -> Result<Array2<f32>> {
        let db = self.config.db;
        self.mel_rows(wave, |p| db.to_db(p))
    }

    fn output_shape(&self, n_samples: usize) -> (usize, usize) {
        (self.config.mel.n_mels, self.config.stft.n_frames(n_samples))
    }

    fn cache_key(&self) -> String {
        self.config.key()
    }
}

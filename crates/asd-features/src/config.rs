//! The serde configuration shared by the CLI and the facade: feature kind, reference preset, overrides.

use crate::Frontend;
use crate::envelope::EnvelopeSpectrum;
use crate::error::{FeatureError, Result};
use crate::filter::Band;
use crate::logmel::{DbScale, HighPass, LogMel, LogMelConfig};
use crate::mel::{MelConfig, MelNorm, MelScale, check_band};
use crate::spectrum::SegmentSpectrum;
use crate::stacked::{DCASE_AE_FRAMES, StackedLogMel};
use crate::stft::{MAX_FFT_LEN, PadMode, Spectrogram, SpectrumValue, StftConfig};
use crate::waveform::RawWaveform;
use serde::{Deserialize, Serialize};

/// Sample rate every preset expects, Hz (DCASE audio; `asd_audio::TARGET_SAMPLE_RATE`).
pub const SAMPLE_RATE_HZ: u32 = 16_000;
/// FFT / window length of the 1024-point presets (stgram_mfn.md §1.1, neri_attention.md §3.1, librosa call of
/// golden/features §1, firstshot2025.md §3).
const N_FFT_1024: usize = 1024;
/// FFT / window length of OS-SCL's `Wave2Mel` (os_scl.md §2.2).
const N_FFT_OS_SCL: usize = 2048;
/// Hop of every preset, samples (same sources).
const HOP: usize = 512;
/// Mel bands of every preset (same sources).
const N_MELS: usize = 128;
/// torchaudio `AmplitudeToDB` default `amin` (stgram_mfn.md §1.1; os_scl.md §2.2).
const TORCHAUDIO_DB_FLOOR: f32 = 1e-10;
/// ε of the attention net's `10·log10(mel + 1e-8)` (neri_attention.md §3.1).
const NERI_DB_EPSILON: f32 = 1e-8;
/// ε of the DCASE baselines' `10·log10(mel + ε)`, `sys.float_info.epsilon` cast to float32 (golden/features §1).
const LIBROSA_DB_EPSILON: f32 = f64::EPSILON as f32;
/// Power floor of the DCASE autoencoder baseline's log: `10 · log10(max(mel, sys.float_info.epsilon))`
/// (`datasets/loader_common.py`, docs/dcase_ae.md §3).
const DCASE_AE_DB_FLOOR: f32 = f64::EPSILON as f32;
/// Mel-bank lower edge and high-pass cut-off of seed 003, Hz (firstshot2025.md §3; decisions.md §13).
const FIRSTSHOT_LOW_HZ: f64 = 200.0;
/// Butterworth order of seed 003's high-pass and of the envelope filter (firstshot2025.md §3, Appendix A).
const BUTTERWORTH_ORDER: usize = 4;
/// Segment length of ASDNet / SpecMFN, seconds (asdnet_specmfn.md §1).
const ASDNET_SEGMENT_SECONDS: f64 = 2.0;

/// What to compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FeatureKind {
    /// `|rfft|` of non-overlapping segments, `[segments, bins]` (ASDNet / SpecMFN input).
    #[serde(rename = "spectrum")]
    Spectrum,
    /// The preset's log-Mel, `[n_mels, frames]`.
    #[serde(rename = "logmel")]
    LogMel,
    /// A 4th-order Butterworth 200 Hz high-pass (causal) followed by the preset's log-Mel, `[n_mels, frames]`
    /// (seed 003; with the `firstshot2025` preset this is that system's whole front end).
    #[serde(rename = "hpf-logmel")]
    HpfLogMel,
    /// The preset's STFT, `[bins, frames]`, power by default.
    #[serde(rename = "stft")]
    Stft,
    /// The Hilbert envelope spectrum after a zero-phase Butterworth filter, `[1, bins]` (seed 003 analysis).
    #[serde(rename = "envelope")]
    Envelope,
    /// The samples themselves, `[1, samples]`: the input of a learnable front end (TgramNet).
    #[serde(rename = "waveform")]
    Waveform,
    /// The preset's log-Mel with `frames` consecutive frames stacked into each row,
    /// `[frames_total − frames + 1, n_mels · frames]` (the DCASE autoencoder baseline's input vectors).
    #[serde(rename = "stacked-logmel")]
    StackedLogMel,
}

impl FeatureKind {
    /// The kebab-case name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Spectrum => "spectrum",
            Self::LogMel => "logmel",
            Self::HpfLogMel => "hpf-logmel",
            Self::Stft => "stft",
            Self::Envelope => "envelope",
            Self::Waveform => "waveform",
            Self::StackedLogMel => "stacked-logmel",
        }
    }
}

/// Which reference's front end the STFT / log-Mel settings reproduce (decisions.md §12).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FrontendPreset {
    /// torchaudio `MelSpectrogram` + `AmplitudeToDB`: 1024/512, HTK, no norm, reflect, `max(p, 1e-10)`.
    StgramMfn,
    /// OS-SCL `Wave2Mel`: 2048/512, Slaney scale and norm, zero padding, `max(p, 1e-10)`.
    OsScl,
    /// The attention net's: 1024/512, HTK scale with Slaney norm, reflect, `p + 1e-8`.
    NeriAttention,
    /// librosa ≥ 0.10 defaults: 1024/512, Slaney scale and norm, zero padding, `p + float eps`.
    Librosa,
    /// Seed 003: 1024/512, Mel bank 200–8000 Hz, Slaney scale and norm, reflect, `p + float eps`.
    Firstshot2025,
    /// The DCASE 2023–2026 autoencoder baseline (librosa): 1024/512, Slaney scale and norm, zero padding,
    /// `max(p, float eps)`.
    DcaseAe,
}

impl FrontendPreset {
    /// The preset's log-Mel settings (without high-pass).
    pub fn log_mel_config(self) -> LogMelConfig {
        let nyquist = f64::from(SAMPLE_RATE_HZ) / 2.0;
        let (n_fft, scale, norm, pad, db, f_min) = match self {
            Self::StgramMfn => (
                N_FFT_1024,
                MelScale::Htk,
                MelNorm::None,
                PadMode::Reflect,
                DbScale::Clamp {
                    floor: TORCHAUDIO_DB_FLOOR,
                },
                0.0,
            ),
            Self::OsScl => (
                N_FFT_OS_SCL,
                MelScale::Slaney,
                MelNorm::Slaney,
                PadMode::Zero,
                DbScale::Clamp {
                    floor: TORCHAUDIO_DB_FLOOR,
                },
                0.0,
            ),
            Self::NeriAttention => (
                N_FFT_1024,
                MelScale::Htk,
                MelNorm::Slaney,
                PadMode::Reflect,
                DbScale::Offset {
                    epsilon: NERI_DB_EPSILON,
                },
                0.0,
            ),
            Self::Librosa => (
                N_FFT_1024,
                MelScale::Slaney,
                MelNorm::Slaney,
                PadMode::Zero,
                DbScale::Offset {
                    epsilon: LIBROSA_DB_EPSILON,
                },
                0.0,
            ),
            Self::Firstshot2025 => (
                N_FFT_1024,
                MelScale::Slaney,
                MelNorm::Slaney,
                PadMode::Reflect,
                DbScale::Offset {
                    epsilon: LIBROSA_DB_EPSILON,
                },
                FIRSTSHOT_LOW_HZ,
            ),
            Self::DcaseAe => (
                N_FFT_1024,
                MelScale::Slaney,
                MelNorm::Slaney,
                PadMode::Zero,
                DbScale::Clamp {
                    floor: DCASE_AE_DB_FLOOR,
                },
                0.0,
            ),
        };
        LogMelConfig {
            sample_rate: SAMPLE_RATE_HZ,
            stft: StftConfig { n_fft, hop: HOP, pad },
            mel: MelConfig {
                n_mels: N_MELS,
                f_min,
                f_max: nyquist,
                scale,
                norm,
            },
            db,
            high_pass: None,
        }
    }

    /// The preset used when a [`FeatureSpec`] names none: `firstshot2025` for `hpf-logmel` and `envelope`,
    /// `dcase-ae` for `stacked-logmel`, `stgram-mfn` otherwise (spec/cli.md).
    pub fn default_for(kind: FeatureKind) -> Self {
        match kind {
            FeatureKind::HpfLogMel | FeatureKind::Envelope => Self::Firstshot2025,
            FeatureKind::StackedLogMel => Self::DcaseAe,
            FeatureKind::Spectrum | FeatureKind::LogMel | FeatureKind::Stft | FeatureKind::Waveform => Self::StgramMfn,
        }
    }
}

/// A feature kind, a preset and optional overrides of single settings; [`FeatureSpec::build`] checks them and
/// builds the front end. Units: samples for `n_fft` and `hop`, Hz for `f_min`/`f_max`, seconds for
/// `segment_seconds`; input at [`SAMPLE_RATE_HZ`].
///
/// Which overrides apply:
///
/// | kind | overrides it uses | output |
/// |---|---|---|
/// | `spectrum` | `segment_seconds` (default 2) | `[segments, segment_len/2 + 1]` |
/// | `logmel`, `hpf-logmel` | `n_fft`, `hop`, `n_mels`, `f_min`, `f_max`, `mel_scale`, `mel_norm`, `pad` | `[n_mels, frames]` |
/// | `stacked-logmel` | those of `logmel`, and `frames` (default 5) | `[frames_total − frames + 1, n_mels · frames]` |
/// | `stft` | `n_fft`, `hop`, `pad`, `value` (default power) | `[n_fft/2 + 1, frames]` |
/// | `envelope` | `f_min` (default 200), `f_max` (default Nyquist = high-pass; below Nyquist = band-pass) | `[1, len/2 + 1]` |
/// | `waveform` | none | `[1, len]` |
///
/// Any other override is an [`FeatureError::UnusedOverride`]. The preset only matters to `logmel`,
/// `hpf-logmel` and `stft`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureSpec {
    /// What to compute.
    pub kind: FeatureKind,
    /// Reference front end; `None` = [`FrontendPreset::default_for`] the kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<FrontendPreset>,
    /// FFT and window length, samples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_fft: Option<usize>,
    /// Hop between frames, samples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hop: Option<usize>,
    /// Number of Mel bands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_mels: Option<usize>,
    /// Lower Mel-bank edge, or the envelope filter's lower edge, Hz.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub f_min: Option<f64>,
    /// Upper Mel-bank edge, or the envelope filter's upper edge, Hz.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub f_max: Option<f64>,
    /// Mel scale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mel_scale: Option<MelScale>,
    /// Mel triangle normalisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mel_norm: Option<MelNorm>,
    /// STFT edge padding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pad: Option<PadMode>,
    /// Segment length of the `spectrum` kind, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_seconds: Option<f64>,
    /// Magnitude or power for the `stft` kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<SpectrumValue>,
    /// Frames per vector of the `stacked-logmel` kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frames: Option<usize>,
}

impl FeatureSpec {
    /// A spec of `kind` with the kind's default preset and no overrides.
    pub fn new(kind: FeatureKind) -> Self {
        Self {
            kind,
            preset: None,
            n_fft: None,
            hop: None,
            n_mels: None,
            f_min: None,
            f_max: None,
            mel_scale: None,
            mel_norm: None,
            pad: None,
            segment_seconds: None,
            value: None,
            frames: None,
        }
    }

    /// Sets the preset.
    pub fn with_preset(mut self, preset: FrontendPreset) -> Self {
        self.preset = Some(preset);
        self
    }

    /// The preset in effect.
    pub fn preset(&self) -> FrontendPreset {
        self.preset.unwrap_or_else(|| FrontendPreset::default_for(self.kind))
    }

    /// Rejects overrides the kind does not use.
    fn check_overrides(&self) -> Result<()> {
        let given = [
            ("n_fft", self.n_fft.is_some()),
            ("hop", self.hop.is_some()),
            ("n_mels", self.n_mels.is_some()),
            ("f_min", self.f_min.is_some()),
            ("f_max", self.f_max.is_some()),
            ("mel_scale", self.mel_scale.is_some()),
            ("mel_norm", self.mel_norm.is_some()),
            ("pad", self.pad.is_some()),
            ("segment_seconds", self.segment_seconds.is_some()),
            ("value", self.value.is_some()),
            ("frames", self.frames.is_some()),
        ];
        const LOG_MEL: [&str; 8] = [
            "n_fft",
            "hop",
            "n_mels",
            "f_min",
            "f_max",
            "mel_scale",
            "mel_norm",
            "pad",
        ];
        let used: Vec<&str> = match self.kind {
            FeatureKind::Spectrum => vec!["segment_seconds"],
            FeatureKind::LogMel | FeatureKind::HpfLogMel => LOG_MEL.to_vec(),
            FeatureKind::StackedLogMel => [LOG_MEL.as_slice(), &["frames"]].concat(),
            FeatureKind::Stft => vec!["n_fft", "hop", "pad", "value"],
            FeatureKind::Envelope => vec!["f_min", "f_max"],
            FeatureKind::Waveform => Vec::new(),
        };
        match given.iter().find(|(name, set)| *set && !used.contains(name)) {
            Some(&(name, _)) => Err(FeatureError::UnusedOverride {
                name,
                kind: self.kind.name(),
            }),
            None => Ok(()),
        }
    }

    /// The log-Mel settings this spec resolves to (preset + overrides, high-pass for `hpf-logmel`), unchecked.
    pub fn log_mel_config(&self) -> LogMelConfig {
        let mut config = self.preset().log_mel_config();
        config.stft = self.stft_config();
        let mel = &mut config.mel;
        mel.n_mels = self.n_mels.unwrap_or(mel.n_mels);
        mel.f_min = self.f_min.unwrap_or(mel.f_min);
        mel.f_max = self.f_max.unwrap_or(mel.f_max);
        mel.scale = self.mel_scale.unwrap_or(mel.scale);
        mel.norm = self.mel_norm.unwrap_or(mel.norm);
        if self.kind == FeatureKind::HpfLogMel {
            config.high_pass = Some(HighPass {
                order: BUTTERWORTH_ORDER,
                cutoff_hz: FIRSTSHOT_LOW_HZ,
            });
        }
        config
    }

    /// The STFT settings this spec resolves to (preset + overrides), unchecked.
    fn stft_config(&self) -> StftConfig {
        let preset = self.preset().log_mel_config().stft;
        StftConfig {
            n_fft: self.n_fft.unwrap_or(preset.n_fft),
            hop: self.hop.unwrap_or(preset.hop),
            pad: self.pad.unwrap_or(preset.pad),
        }
    }

    /// Checks every setting and builds the front end (FFT plans, filterbank, filters).
    ///
    /// # Errors
    /// An override the kind does not use; `n_fft`, `hop`, `n_mels` zero; `f_min`/`f_max` outside
    /// `0 ..= 8000 Hz` or not increasing; `segment_seconds` not positive or longer than [`MAX_FFT_LEN`] samples; an envelope edge at 0 Hz.
    pub fn build(&self) -> Result<Box<dyn Frontend>> {
        self.check_overrides()?;
        let sample_rate = f64::from(SAMPLE_RATE_HZ);
        Ok(match self.kind {
            FeatureKind::Spectrum => {
                let seconds = self.segment_seconds.unwrap_or(ASDNET_SEGMENT_SECONDS);
                let samples = seconds * sample_rate;
                if !(samples.round() >= 1.0 && samples <= MAX_FFT_LEN as f64) {
                    return Err(FeatureError::InvalidDuration {
                        name: "segment_seconds",
                        seconds,
                    });
                }
                Box::new(SegmentSpectrum::new(samples.round() as usize)?)
            }
            FeatureKind::LogMel | FeatureKind::HpfLogMel => Box::new(LogMel::new(self.log_mel_config())?),
            FeatureKind::StackedLogMel => Box::new(StackedLogMel::new(
                LogMel::new(self.log_mel_config())?,
                self.frames.unwrap_or(DCASE_AE_FRAMES),
            )?),
            FeatureKind::Stft => Box::new(Spectrogram::new(
                self.stft_config(),
                self.value.unwrap_or(SpectrumValue::Power),
            )?),
            FeatureKind::Envelope => {
                let nyquist = sample_rate / 2.0;
                let low = self.f_min.unwrap_or(FIRSTSHOT_LOW_HZ);
                let high = self.f_max.unwrap_or(nyquist);
                check_band(low, high, SAMPLE_RATE_HZ)?;
                // An upper edge at Nyquist means "no upper limit" (golden/features §4).
                let band = if high == nyquist {
                    Band::HighPass { cutoff_hz: low }
                } else {
                    Band::BandPass {
                        low_hz: low,
                        high_hz: high,
                    }
                };
                Box::new(EnvelopeSpectrum::new(BUTTERWORTH_ORDER, band, SAMPLE_RATE_HZ)?)
            }
            FeatureKind::Waveform => Box::new(RawWaveform),
        })
    }
}

/// What the rows or the columns of a front end's output stand for (for pictures of the features).
#[derive(Clone, Debug, PartialEq)]
pub enum FeatureAxis {
    /// A frequency in Hz per index: Mel band centres, FFT bins.
    Hz(Vec<f64>),
    /// A time in seconds from the clip's start per index: STFT frame centres, segment starts, samples.
    Seconds(Vec<f64>),
    /// A single row without units (the envelope spectrum's, the waveform's).
    Single,
}

impl FeatureSpec {
    /// What the rows and the columns of the features of `n_samples` samples stand for, in the order of
    /// [`Frontend::output_shape`]: log-Mel `[Mel band centres (Hz), frame centres (s)]`, STFT `[bins (Hz),
    /// frames (s)]`, spectrum `[segment starts (s), bins (Hz)]`, envelope `[single, bins (Hz)]`, waveform
    /// `[single, samples (s)]`.
    ///
    /// # Errors
    /// As [`FeatureSpec::build`].
    pub fn axes(&self, n_samples: usize) -> Result<[FeatureAxis; 2]> {
        let (rows, cols) = self.build()?.output_shape(n_samples);
        let rate = f64::from(SAMPLE_RATE_HZ);
        let seconds = |n: usize, step: f64| FeatureAxis::Seconds((0..n).map(|i| i as f64 * step).collect());
        let bins = |n: usize, fft_len: f64| FeatureAxis::Hz((0..n).map(|k| k as f64 * rate / fft_len).collect());
        Ok(match self.kind {
            FeatureKind::LogMel | FeatureKind::HpfLogMel => {
                let config = self.log_mel_config();
                [
                    FeatureAxis::Hz(config.mel.band_centres_hz()),
                    seconds(cols, config.stft.hop as f64 / rate),
                ]
            }
            FeatureKind::Stft => {
                let stft = self.stft_config();
                [bins(rows, stft.n_fft as f64), seconds(cols, stft.hop as f64 / rate)]
            }
            FeatureKind::Spectrum => {
                let segment = 2.0 * (cols - 1) as f64;
                [seconds(rows, segment / rate), bins(cols, segment)]
            }
            FeatureKind::Envelope => [FeatureAxis::Single, bins(cols, (2 * (cols - 1)).max(1) as f64)],
            FeatureKind::StackedLogMel => {
                let config = self.log_mel_config();
                let centres = config.mel.band_centres_hz();
                let repeated = centres.iter().copied().cycle().take(cols).collect();
                [seconds(rows, config.stft.hop as f64 / rate), FeatureAxis::Hz(repeated)]
            }
            FeatureKind::Waveform => [FeatureAxis::Single, seconds(cols, 1.0 / rate)],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logmel() -> FeatureSpec {
        FeatureSpec::new(FeatureKind::LogMel)
    }

    fn err(spec: FeatureSpec) -> FeatureError {
        match spec.build() {
            Ok(f) => panic!("{spec:?} built {}", f.cache_key()),
            Err(e) => e,
        }
    }

    #[test]
    fn serde_names_are_the_cli_names() {
        let spec: FeatureSpec = serde_json::from_str(
            r#"{"kind": "hpf-logmel", "preset": "firstshot2025", "mel_scale": "htk", "mel_norm": "none", "pad": "zero"}"#,
        )
        .unwrap();
        assert_eq!(spec.kind, FeatureKind::HpfLogMel);
        assert_eq!(spec.mel_scale, Some(MelScale::Htk));
        for (kind, name) in [
            (FeatureKind::Spectrum, "spectrum"),
            (FeatureKind::LogMel, "logmel"),
            (FeatureKind::HpfLogMel, "hpf-logmel"),
            (FeatureKind::Stft, "stft"),
            (FeatureKind::Envelope, "envelope"),
            (FeatureKind::Waveform, "waveform"),
        ] {
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{name}\""));
            assert_eq!(kind.name(), name);
        }
        for (preset, name) in [
            (FrontendPreset::StgramMfn, "stgram-mfn"),
            (FrontendPreset::OsScl, "os-scl"),
            (FrontendPreset::NeriAttention, "neri-attention"),
            (FrontendPreset::Librosa, "librosa"),
            (FrontendPreset::Firstshot2025, "firstshot2025"),
        ] {
            assert_eq!(serde_json::to_string(&preset).unwrap(), format!("\"{name}\""));
        }
        assert!(serde_json::from_str::<FeatureSpec>(r#"{"kind": "logmel", "nfft": 3}"#).is_err());
    }

    #[test]
    fn axes_place_mel_bands_frames_and_bins() {
        // The neri-attention log-Mel: HTK scale 0–8000 Hz, 128 bands, hop 512 (spec §3.1).
        let spec = logmel().with_preset(FrontendPreset::NeriAttention);
        let [FeatureAxis::Hz(bands), FeatureAxis::Seconds(frames)] = spec.axes(160_000).unwrap() else {
            panic!("log-Mel axes are Hz × seconds");
        };
        assert_eq!((bands.len(), frames.len()), (128, 313));
        // Band 0 peaks at the 2nd of 130 edges evenly spaced in HTK mels up to 2840.02 mel (8 kHz).
        let mel_8k = 2595.0 * (1.0f64 + 8000.0 / 700.0).log10();
        let first = 700.0 * (10f64.powf(mel_8k / 129.0 / 2595.0) - 1.0);
        assert!((bands[0] - first).abs() < 1e-9 && bands.windows(2).all(|w| w[0] < w[1]));
        assert!(bands[127] < 8000.0 && frames[312] == 312.0 * 512.0 / 16_000.0);
        // Spectrum of 2-s segments: rows are segment starts, columns the 0.5-Hz bins.
        let [FeatureAxis::Seconds(starts), FeatureAxis::Hz(hz)] =
            FeatureSpec::new(FeatureKind::Spectrum).axes(160_000).unwrap()
        else {
            panic!("spectrum axes are seconds × Hz");
        };
        assert_eq!(
            (starts, hz.len(), hz[1], hz[16_000]),
            (vec![0.0, 2.0, 4.0, 6.0, 8.0], 16_001, 0.5, 8000.0)
        );
    }

    #[test]
    fn sizes_must_be_positive_and_bounded() {
        assert!(matches!(
            err(FeatureSpec {
                n_fft: Some(0),
                ..logmel()
            }),
            FeatureError::Zero { name: "n_fft" }
        ));
        assert!(matches!(
            err(FeatureSpec {
                hop: Some(0),
                ..logmel()
            }),
            FeatureError::Zero { name: "hop" }
        ));
        assert!(matches!(
            err(FeatureSpec {
                n_mels: Some(0),
                ..logmel()
            }),
            FeatureError::Zero { name: "n_mels" }
        ));
        let huge = FeatureSpec {
            n_fft: Some(MAX_FFT_LEN + 1),
            ..logmel()
        };
        assert!(matches!(err(huge), FeatureError::TooLarge { name: "n_fft", .. }));
        let bands = FeatureSpec {
            n_mels: Some(crate::MAX_MELS + 1),
            ..logmel()
        };
        assert!(matches!(err(bands), FeatureError::TooLarge { name: "n_mels", .. }));
    }

    #[test]
    fn frequencies_must_lie_in_the_band() {
        let above = FeatureSpec {
            f_max: Some(8000.5),
            ..logmel()
        };
        assert!(matches!(
            err(above),
            FeatureError::FrequencyOutOfRange { name: "f_max", .. }
        ));
        let negative = FeatureSpec {
            f_min: Some(-1.0),
            ..logmel()
        };
        assert!(matches!(
            err(negative),
            FeatureError::FrequencyOutOfRange { name: "f_min", .. }
        ));
        let nan = FeatureSpec {
            f_min: Some(f64::NAN),
            ..logmel()
        };
        assert!(matches!(
            err(nan),
            FeatureError::FrequencyOutOfRange { name: "f_min", .. }
        ));
        let empty = FeatureSpec {
            f_min: Some(4000.0),
            f_max: Some(4000.0),
            ..logmel()
        };
        assert!(matches!(err(empty), FeatureError::EmptyBand { .. }));
        // a Butterworth edge must be strictly above 0 Hz
        let dc = FeatureSpec {
            f_min: Some(0.0),
            ..FeatureSpec::new(FeatureKind::Envelope)
        };
        assert!(matches!(
            err(dc),
            FeatureError::FrequencyOutOfRange { name: "cutoff_hz", .. }
        ));
    }

    #[test]
    fn segment_duration_must_be_usable() {
        for seconds in [0.0, -2.0, f64::NAN, f64::INFINITY, 1e-5, 1e4] {
            let spec = FeatureSpec {
                segment_seconds: Some(seconds),
                ..FeatureSpec::new(FeatureKind::Spectrum)
            };
            assert!(matches!(err(spec), FeatureError::InvalidDuration { .. }), "{seconds}");
        }
    }

    #[test]
    fn overrides_a_kind_does_not_use_are_rejected() {
        let spec = FeatureSpec {
            n_mels: Some(64),
            ..FeatureSpec::new(FeatureKind::Spectrum)
        };
        assert!(matches!(
            err(spec),
            FeatureError::UnusedOverride {
                name: "n_mels",
                kind: "spectrum"
            }
        ));
        let spec = FeatureSpec {
            segment_seconds: Some(1.0),
            ..logmel()
        };
        assert!(matches!(
            err(spec),
            FeatureError::UnusedOverride {
                name: "segment_seconds",
                kind: "logmel"
            }
        ));
        let spec = FeatureSpec {
            pad: Some(PadMode::Zero),
            ..FeatureSpec::new(FeatureKind::Envelope)
        };
        assert!(matches!(
            err(spec),
            FeatureError::UnusedOverride {
                name: "pad",
                kind: "envelope"
            }
        ));
    }

    #[test]
    fn overrides_reach_the_front_end() {
        let spec = FeatureSpec {
            n_fft: Some(512),
            hop: Some(160),
            n_mels: Some(40),
            f_min: Some(50.0),
            mel_scale: Some(MelScale::Slaney),
            ..FeatureSpec::new(FeatureKind::HpfLogMel)
        };
        let config = spec.log_mel_config();
        assert_eq!((config.stft.n_fft, config.stft.hop, config.mel.n_mels), (512, 160, 40));
        assert_eq!((config.mel.f_min, config.mel.scale), (50.0, MelScale::Slaney));
        assert_eq!(
            config.high_pass,
            Some(HighPass {
                order: 4,
                cutoff_hz: 200.0
            })
        );
        let frontend = spec.build().unwrap();
        assert_eq!(frontend.output_shape(16_000), (40, 101));
        assert_eq!(frontend.extract(&vec![0.1; 16_000]).unwrap().dim(), (40, 101));
        // different settings, different cache keys
        assert_ne!(frontend.cache_key(), logmel().build().unwrap().cache_key());
    }
}

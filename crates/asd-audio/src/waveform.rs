//! Sample containers ([`Decoded`], [`Waveform`]) and the length policies (crop, pad, segment).

use crate::resample::resample;
use crate::{AudioError, Result};

/// The samples of a file as decoded, before any conversion: one `Vec` per channel
/// (channel-first, `channels[c][t]`, shape `[channels, time]`), float32 nominally in [-1, 1),
/// at the file's native `sample_rate`.
///
/// [`crate::decode`] guarantees at least one channel, equal channel lengths, at least one frame and
/// only finite samples.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded {
    /// Samples per channel, channel-first: `channels[c][t]`.
    pub channels: Vec<Vec<f32>>,
    /// Native sample rate (Hz).
    pub sample_rate: u32,
}

impl Decoded {
    /// Number of frames (samples per channel); 0 when there is no channel.
    pub fn frames(&self) -> usize {
        self.channels.first().map_or(0, Vec::len)
    }

    /// Mixes down to mono by the float32 mean over channels, sample by sample, at the native rate
    /// (what librosa's `to_mono` does, before any resampling). One channel is copied unchanged.
    /// Channels of unequal length are mixed over the shortest.
    pub fn to_mono(&self) -> Waveform {
        let samples = match self.channels.as_slice() {
            [only] => only.clone(),
            channels => {
                let frames = channels.iter().map(Vec::len).min().unwrap_or(0);
                let count = channels.len() as f32;
                (0..frames)
                    .map(|t| channels.iter().map(|c| c[t]).sum::<f32>() / count)
                    .collect()
            }
        };
        Waveform::new(samples, self.sample_rate)
    }
}

/// How [`Waveform::fit_length`] fills a clip shorter than the wanted length.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PadMode {
    /// Tile the clip: sample `i` of the result is sample `i mod n` of the clip (the default,
    /// decisions.md §11).
    #[default]
    Repeat,
    /// Append zeros.
    Zero,
}

/// A mono block of float32 samples, nominally in [-1, 1), at `sample_rate` Hz (shape `[time]`).
///
/// [`crate::load`] gives one at the file's native rate, [`crate::load_16k`] at
/// [`crate::TARGET_SAMPLE_RATE`]; multichannel files are mixed to mono on loading
/// ([`Decoded::to_mono`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Waveform {
    /// Samples, f32, nominally in [-1, 1).
    pub samples: Vec<f32>,
    /// Samples per second (Hz); every method that uses it needs it > 0.
    pub sample_rate: u32,
}

impl Waveform {
    /// Wraps mono `samples` taken at `sample_rate` Hz. Nothing is checked or converted.
    pub fn new(samples: Vec<f32>, sample_rate: u32) -> Self {
        Self { samples, sample_rate }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Length in seconds, `len / sample_rate`; 0 when the rate is 0.
    pub fn duration_seconds(&self) -> f64 {
        if self.sample_rate == 0 {
            return 0.0;
        }
        self.samples.len() as f64 / f64::from(self.sample_rate)
    }

    /// Resamples to `to` Hz with a band-limited FFT sinc resampler (rubato), delay-compensated:
    /// the result has exactly `ceil(len · to / sample_rate)` samples, aligned in time with the
    /// input, and matches libsoxr's HQ mode closely (see the crate docs for measured figures).
    /// A clip already at `to` Hz is copied unchanged.
    ///
    /// # Errors
    /// [`AudioError::Invalid`] when `to` or the clip's rate is 0.
    pub fn resample(&self, to: u32) -> Result<Waveform> {
        Ok(Waveform::new(resample(&self.samples, self.sample_rate, to)?, to))
    }

    /// Brings the clip to exactly `len` samples: a longer clip keeps its first `len` samples
    /// (decisions.md §11), a shorter one is padded as `pad` says. An empty clip has nothing to
    /// tile and is zero-padded whatever `pad` says.
    pub fn fit_length(&self, len: usize, pad: PadMode) -> Waveform {
        let samples = if self.samples.len() >= len {
            self.samples[..len].to_vec()
        } else if pad == PadMode::Repeat && !self.samples.is_empty() {
            self.samples.iter().copied().cycle().take(len).collect()
        } else {
            let mut padded = self.samples.clone();
            padded.resize(len, 0.0);
            padded
        };
        Waveform::new(samples, self.sample_rate)
    }

    /// Splits the clip into windows of `len` samples starting every `hop` samples
    /// (`[0, len)`, `[hop, hop + len)`, …). Only whole windows are returned: a last partial
    /// window is dropped, so the count is `(n − len) / hop + 1` for a clip of `n ≥ len` samples.
    ///
    /// # Errors
    /// [`AudioError::Invalid`] when `len` or `hop` is 0, or when the clip is shorter than `len`
    /// (use [`Waveform::fit_length`] first to pad it).
    pub fn segments(&self, len: usize, hop: usize) -> Result<Vec<&[f32]>> {
        if len == 0 || hop == 0 {
            return Err(AudioError::Invalid(format!(
                "segment length and hop must be > 0 (got length {len}, hop {hop})"
            )));
        }
        if self.samples.len() < len {
            return Err(AudioError::Invalid(format!(
                "clip of {} samples is shorter than the segment length {len}; pad it with fit_length first",
                self.samples.len()
            )));
        }
        Ok(self.samples.windows(len).step_by(hop).collect())
    }
}

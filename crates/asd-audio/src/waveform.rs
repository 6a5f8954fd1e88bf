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

/// Which channels of a file the pipeline reads (`asd` setting `channels`).
///
/// DCASE 2026 records two channels: the left one from a microphone near the machine (the signal of earlier years'
/// mono files), the right one from a far microphone with more room sound and background; its official baseline
/// reads the left channel only (`dcase_protocols.md` §7). Mono files have one channel, which every policy but
/// [`ChannelPolicy::Right`] and [`ChannelPolicy::Both`] reads as it is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelPolicy {
    /// The float32 mean over all channels ([`Decoded::to_mono`]; librosa's `to_mono`). The default.
    #[default]
    Mean,
    /// Channel 0 (DCASE 2026: the near microphone; its official baseline's choice).
    Left,
    /// Channel 1 (DCASE 2026: the far microphone); a mono file is refused.
    Right,
    /// Channels 0 and 1 as two inputs of the network; a file without exactly two channels is refused.
    Both,
}

impl ChannelPolicy {
    /// Every policy, in the order the CLI lists them.
    pub const ALL: [ChannelPolicy; 4] = [Self::Mean, Self::Left, Self::Right, Self::Both];

    /// The setting's spelling: `mean`, `left`, `right` or `both`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mean => "mean",
            Self::Left => "left",
            Self::Right => "right",
            Self::Both => "both",
        }
    }

    /// How many waveforms the policy gives per file: 2 for [`ChannelPolicy::Both`], else 1.
    pub fn outputs(self) -> usize {
        if self == Self::Both { 2 } else { 1 }
    }
}

impl std::fmt::Display for ChannelPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ChannelPolicy {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| format!("unknown channel policy {s:?}; expected mean, left, right or both"))
    }
}

impl Decoded {
    /// The waveforms `policy` reads from this file, at the native rate: one for [`ChannelPolicy::Mean`],
    /// [`ChannelPolicy::Left`] and [`ChannelPolicy::Right`], two (left, right) for [`ChannelPolicy::Both`].
    ///
    /// # Errors
    /// [`AudioError::Channels`] naming `path` when the file has too few channels for `policy` (`right` needs two,
    /// `both` exactly two).
    pub fn select(&self, policy: ChannelPolicy, path: &std::path::Path) -> Result<Vec<Waveform>> {
        let n = self.channels.len();
        let refuse = |needs: &str| AudioError::Channels {
            path: path.into(),
            channels: n,
            policy: policy.as_str(),
            needs: needs.to_string(),
        };
        let channel = |c: usize| Waveform::new(self.channels[c].clone(), self.sample_rate);
        match policy {
            ChannelPolicy::Mean => Ok(vec![self.to_mono()]),
            ChannelPolicy::Left if n >= 1 => Ok(vec![channel(0)]),
            ChannelPolicy::Left => Err(refuse("at least one channel")),
            ChannelPolicy::Right if n >= 2 => Ok(vec![channel(1)]),
            ChannelPolicy::Right => Err(refuse("a second channel")),
            ChannelPolicy::Both if n == 2 => Ok(vec![channel(0), channel(1)]),
            ChannelPolicy::Both => Err(refuse("exactly two channels")),
        }
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

//! Audio input of `asd`: decode a file, mix it to mono, resample it to 16 kHz and fit it to a
//! length. Stage 1 of the pipeline (audio file → **waveform** → features → model → scorer → metrics).
//!
//! The flow follows symphonia's (probe → format reader → decoder), hidden behind one call:
//!
//! 1. [`decode`] reads a file to channel-first float32 samples at the native rate ([`Decoded`],
//!    shape `[channels, time]`), rejecting empty and non-finite audio;
//! 2. [`Decoded::to_mono`] averages the channels (float32 mean, before resampling, as librosa);
//! 3. [`Waveform::resample`] converts to another rate; [`load_16k`] does 1–3 and resamples to
//!    [`TARGET_SAMPLE_RATE`] only when needed;
//! 4. [`Waveform::fit_length`] crops to the first `len` samples or pads ([`PadMode::Repeat`] tiles
//!    the clip, the default; [`PadMode::Zero`]), [`Waveform::segments`] cuts fixed windows.
//!
//! [`ChannelPolicy`] and [`load_16k_channels`] read one channel (DCASE 2026's near or far microphone) or both
//! instead of the mean; [`probe`] reads a file's channels, rate and length from its header.
//! [`write_wav_pcm16`] writes a mono 16-bit WAV ([`write_channels_pcm16`] several channels); [`synth`] generates
//! synthetic machine sounds.
//!
//! # Supported formats
//!
//! | container | encodings | notes |
//! |---|---|---|
//! | WAV (RIFF) | PCM unsigned 8-bit, signed 16/24/32-bit; IEEE float 32-bit; A-law, µ-law | plain and `WAVE_FORMAT_EXTENSIBLE` fmt chunks; extra chunks (LIST, fact, PEAK, …) skipped; a data chunk longer than the file (truncated, or size 0xFFFFFFFF) is read to the end of the file, with a warning unless the size is 0xFFFFFFFF |
//! | WAV (RIFF) | IMA ADPCM (0x0011) | our reference decoder (symphonia's is not bit-exact), whole blocks |
//! | WAV (RIFF) | Microsoft ADPCM (0x0002) | refused: [`AudioError::Unsupported`] (unverified) |
//! | FLAC | all | native FLAC stream, bit-exact |
//! | Ogg | Vorbis | gapless |
//! | MP3 (MPEG-1/2 Layer III) | all | gapless: the LAME/Xing encoder delay and padding are trimmed |
//!
//! Integer PCM is scaled as libsndfile does (`v / 2^(bits−1)`, unsigned 8-bit `(v − 128) / 128`),
//! float passed through, IMA ADPCM to 16-bit then `v / 32768`: every PCM, float, ADPCM and FLAC file of `golden/audio` decodes bit-identically to
//! librosa/soundfile. Resampling uses rubato's FFT sinc resampler, delay-compensated to give
//! exactly `ceil(n · 16000 / rate)` samples aligned with librosa's soxr HQ output.
//!
//! # Errors
//!
//! Every function returns [`AudioError`]; each variant that comes from a file names the file:
//! `Io` (cannot read), `Decode` (not audio, malformed header or stream), `Unsupported` (encoding we
//! do not decode), `Empty` (no samples), `NonFinite` (NaN or infinity), `OutOfRange` (a sample beyond ±10⁶), `Invalid` (a setting out of
//! range, e.g. a rate or segment length of 0).
//!
//! # Example
//!
//! ```
//! use asd_audio::{load_16k, write_wav_pcm16, PadMode, Waveform, TARGET_SAMPLE_RATE};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // One second of a 440 Hz tone at 48 kHz, written to a temporary WAV file.
//! let rate = 48_000;
//! let tone: Vec<f32> =
//!     (0..rate).map(|n| 0.5 * (2.0 * std::f32::consts::PI * 440.0 * n as f32 / rate as f32).sin()).collect();
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("tone.wav");
//! write_wav_pcm16(&path, &Waveform::new(tone, rate as u32))?;
//!
//! // Load it as mono 16 kHz: 48 000 samples at 48 kHz become 16 000.
//! let wave = load_16k(&path)?;
//! assert_eq!(wave.sample_rate, TARGET_SAMPLE_RATE);
//! assert_eq!(wave.samples.len(), 16_000);
//! assert_eq!(wave.duration_seconds(), 1.0);
//!
//! // Fit it to 1.5 s by tiling, then cut 0.5-s windows every 0.25 s.
//! let fitted = wave.fit_length(24_000, PadMode::Repeat);
//! assert_eq!(fitted.segments(8_000, 4_000)?.len(), 5);
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

mod decode;
mod error;
mod ima_adpcm;
mod probe;
mod resample;
pub mod synth;
mod waveform;
mod write;

use std::path::Path;

pub use decode::{
    MAX_CHANNELS, MAX_DECODED_SAMPLES, MAX_FILE_BYTES, MAX_SAMPLE_MAGNITUDE, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, decode,
    panic_is_guarded,
};
pub use error::{AudioError, Result};
pub use probe::{AudioInfo, probe};
pub use waveform::{ChannelPolicy, Decoded, PadMode, Waveform};
pub use write::{write_channels_pcm16, write_wav_pcm16};

/// Sample rate of the pipeline (Hz): every clip is converted to it before feature extraction
/// (the DCASE machine-sound datasets are recorded at 16 kHz).
pub const TARGET_SAMPLE_RATE: u32 = 16_000;

/// Decodes `path` and mixes it to mono at the file's native rate ([`decode`] then
/// [`Decoded::to_mono`]).
///
/// # Errors
/// As [`decode`]: every error names `path`.
pub fn load(path: &Path) -> Result<Waveform> {
    Ok(decode(path)?.to_mono())
}

/// Loads `path` as mono at [`TARGET_SAMPLE_RATE`]: [`load`], then [`Waveform::resample`] when the
/// native rate differs (a 16 kHz file is returned exactly as decoded). The result has
/// `ceil(n · 16000 / rate)` samples for `n` native frames.
///
/// # Errors
/// As [`decode`]: every error names `path`.
pub fn load_16k(path: &Path) -> Result<Waveform> {
    to_16k(load(path)?)
}

/// Loads the waveforms `policy` reads from `path` ([`Decoded::select`]) at [`TARGET_SAMPLE_RATE`]: one for
/// `mean` (equal to [`load_16k`]'s), `left` and `right`, two for `both`.
///
/// # Errors
/// As [`decode`], and [`AudioError::Channels`] when the file has too few channels for `policy`; every error names
/// `path`.
pub fn load_16k_channels(path: &Path, policy: ChannelPolicy) -> Result<Vec<Waveform>> {
    decode(path)?.select(policy, path)?.into_iter().map(to_16k).collect()
}

/// `wave` at [`TARGET_SAMPLE_RATE`], unchanged when it is at that rate already.
fn to_16k(wave: Waveform) -> Result<Waveform> {
    if wave.sample_rate == TARGET_SAMPLE_RATE {
        return Ok(wave);
    }
    wave.resample(TARGET_SAMPLE_RATE)
}

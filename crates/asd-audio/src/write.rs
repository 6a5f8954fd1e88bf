//! Writing WAV files (16-bit PCM, mono) through hound.

use crate::{AudioError, Result, Waveform};
use std::path::Path;

/// Full scale of signed 16-bit PCM: `v / 32768` maps to [-1, 1) (the libsndfile convention).
const PCM16_SCALE: f32 = 32768.0;

/// Writes `wave` as a mono 16-bit PCM WAV file (canonical 44-byte header), rounding to the nearest
/// integer and clipping to [-32768, 32767]. The bytes depend only on the samples, so equal waveforms
/// give byte-identical files.
///
/// # Errors
/// [`AudioError::Io`] naming `path` when the file cannot be created or written;
/// [`AudioError::NonFinite`] when a sample is NaN or infinite.
pub fn write_wav_pcm16(path: &Path, wave: &Waveform) -> Result<()> {
    write_channels_pcm16(path, &[wave.samples.as_slice()], wave.sample_rate)
}

/// Writes channel-first samples (`channels[c][t]`, shape `[channels, time]`, every channel of one length) as an
/// interleaved 16-bit PCM WAV file at `sample_rate` Hz, rounded and clipped as [`write_wav_pcm16`] does; two channels
/// give a stereo file whose left channel is `channels[0]`.
///
/// # Errors
/// [`AudioError::Invalid`] for no channel, more than [`crate::MAX_CHANNELS`], or channels of unequal length;
/// [`AudioError::Io`] naming `path` when the file cannot be created or written; [`AudioError::NonFinite`] when a
/// sample is NaN or infinite (its index counts interleaved samples).
pub fn write_channels_pcm16(path: &Path, channels: &[&[f32]], sample_rate: u32) -> Result<()> {
    let frames = channels.first().map_or(0, |c| c.len());
    if channels.is_empty() || channels.len() > crate::MAX_CHANNELS || channels.iter().any(|c| c.len() != frames) {
        return Err(AudioError::Invalid(format!(
            "{}: 1 to {} channels of equal length, got lengths {:?}",
            path.display(),
            crate::MAX_CHANNELS,
            channels.iter().map(|c| c.len()).collect::<Vec<_>>()
        )));
    }
    let interleaved = (0..frames).flat_map(|t| channels.iter().map(move |c| c[t]));
    if let Some(index) = interleaved.clone().position(|s| !s.is_finite()) {
        return Err(AudioError::NonFinite {
            path: path.into(),
            index,
        });
    }
    let spec = hound::WavSpec {
        channels: channels.len() as u16, // ok: at most MAX_CHANNELS, checked above
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let io = |e: hound::Error| match e {
        hound::Error::IoError(source) => AudioError::Io {
            path: path.into(),
            source,
        },
        other => AudioError::Io {
            path: path.into(),
            source: std::io::Error::other(other.to_string()),
        },
    };
    let write = |tmp: &Path| {
        let mut writer = hound::WavWriter::create(tmp, spec).map_err(io)?;
        {
            let count = u32::try_from(frames * channels.len()).map_err(|_| io(hound::Error::Unsupported))?;
            let mut samples = writer.get_i16_writer(count);
            for s in interleaved.clone() {
                // The clamp keeps the cast in range; `as` saturates anyway.
                samples.write_sample((s * PCM16_SCALE).round().clamp(-32768.0, 32767.0) as i16);
            }
            samples.flush().map_err(io)?;
        }
        writer.finalize().map_err(io)
    };
    asd_io::write_with(path, write, |e| io(hound::Error::IoError(e)))
}

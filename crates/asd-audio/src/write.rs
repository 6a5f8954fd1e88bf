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
    if let Some(index) = wave.samples.iter().position(|s| !s.is_finite()) {
        return Err(AudioError::NonFinite {
            path: path.into(),
            index,
        });
    }
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: wave.sample_rate,
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
            let mut samples = writer.get_i16_writer(wave.samples.len() as u32);
            for &s in &wave.samples {
                // The clamp keeps the cast in range; `as` saturates anyway.
                samples.write_sample((s * PCM16_SCALE).round().clamp(-32768.0, 32767.0) as i16);
            }
            samples.flush().map_err(io)?;
        }
        writer.finalize().map_err(io)
    };
    asd_io::write_with(path, write, |e| io(hound::Error::IoError(e)))
}

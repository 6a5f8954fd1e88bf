//! What a file holds, read from its header where that is enough: channels, sample rate and length (`asd index`).

use crate::decode::{MAX_CHANNELS, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, decode, regular_file};
use crate::{AudioError, Result};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// A file's stream format and length, as [`probe`] reads them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AudioInfo {
    /// Channels per frame.
    pub channels: usize,
    /// Native sample rate (Hz).
    pub sample_rate: u32,
    /// Frames (samples per channel).
    pub frames: u64,
}

impl AudioInfo {
    /// The length in seconds.
    pub fn seconds(&self) -> f64 {
        self.frames as f64 / f64::from(self.sample_rate)
    }
}

/// WAVE format tags whose frames are `block_align` bytes each: PCM, IEEE float, A-law, µ-law and the extensible
/// header (which wraps PCM or float in every file we read).
const FIXED_FRAME_TAGS: [u16; 5] = [0x0001, 0x0003, 0x0006, 0x0007, 0xFFFE];

/// Chunks [`probe`] walks before it gives up on the header and decodes the file.
const MAX_CHUNKS: usize = 4096;

/// Reads a file's channels, rate and length. For a PCM, float, A-law or µ-law WAV file only the RIFF chunk headers
/// are read (every offset and size checked against the file's length; a data chunk that claims more than the file
/// holds counts what is there, as [`decode`] reads it); anything else (other containers, ADPCM, a header that
/// does not parse) is decoded whole.
///
/// # Errors
/// As [`decode`], naming `path`: a FIFO or device is refused without being opened; a rate or channel count
/// outside what [`decode`] reads is [`AudioError::Unsupported`]; a data chunk of zero frames is
/// [`AudioError::Empty`].
pub fn probe(path: &Path) -> Result<AudioInfo> {
    let io = |source| AudioError::Io {
        path: path.into(),
        source,
    };
    let meta = regular_file(path)?;
    let mut file = File::open(path).map_err(io)?;
    match wav_header(&mut file, meta.len()).map_err(io)? {
        Some(info) if info.frames == 0 => Err(AudioError::Empty { path: path.into() }),
        Some(info) => {
            if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&info.sample_rate) || info.channels > MAX_CHANNELS {
                return Err(AudioError::Unsupported {
                    path: path.into(),
                    what: format!("{} channels at {} Hz", info.channels, info.sample_rate),
                });
            }
            Ok(info)
        }
        None => {
            let decoded = decode(path)?;
            Ok(AudioInfo {
                channels: decoded.channels.len(),
                sample_rate: decoded.sample_rate,
                frames: decoded.frames() as u64,
            })
        }
    }
}

/// The format and length of a WAV file whose frames have a fixed size, from its chunk headers; `None` when the
/// file is not such a WAV file or its header does not parse (the caller then decodes it).
fn wav_header(file: &mut File, len: u64) -> std::io::Result<Option<AudioInfo>> {
    let mut riff = [0u8; 12];
    if len < 12 || file.read_exact(&mut riff).is_err() || &riff[..4] != b"RIFF" || &riff[8..12] != b"WAVE" {
        return Ok(None);
    }
    let mut format: Option<(u16, u16, u32, u16)> = None;
    let mut at = 12u64;
    for _ in 0..MAX_CHUNKS {
        if at.saturating_add(8) > len {
            return Ok(None);
        }
        file.seek(SeekFrom::Start(at))?;
        let mut header = [0u8; 8];
        file.read_exact(&mut header)?;
        let size = u64::from(u32::from_le_bytes([header[4], header[5], header[6], header[7]]));
        let body = at + 8;
        match &header[..4] {
            b"fmt " => {
                if size < 14 || body + 14 > len {
                    return Ok(None);
                }
                let mut fmt = [0u8; 14];
                file.read_exact(&mut fmt)?;
                let u16_at = |i: usize| u16::from_le_bytes([fmt[i], fmt[i + 1]]);
                format = Some((
                    u16_at(0),
                    u16_at(2),
                    u32::from_le_bytes([fmt[4], fmt[5], fmt[6], fmt[7]]),
                    u16_at(12),
                ));
            }
            b"data" => {
                let Some((tag, channels, sample_rate, block_align)) = format else {
                    return Ok(None);
                };
                if !FIXED_FRAME_TAGS.contains(&tag) || block_align == 0 || channels == 0 {
                    return Ok(None);
                }
                // A size beyond the file (truncated, or 0xFFFFFFFF from a streaming writer) counts what is there.
                let bytes = size.min(len - body);
                return Ok(Some(AudioInfo {
                    channels: usize::from(channels),
                    sample_rate,
                    frames: bytes / u64::from(block_align),
                }));
            }
            _ => {}
        }
        // chunks are padded to an even length
        at = body.saturating_add(size).saturating_add(size % 2);
    }
    Ok(None)
}

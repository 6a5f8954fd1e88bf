//! Decoding files through symphonia: probe → format reader → decoder → channel-first float32.
//! All symphonia code of the crate lives in this module; nothing of it appears in a public signature.
//!
//! What symphonia 0.5.5 does with the cases of `golden/audio/README.md` §4, and what we add:
//! - **Integer → float scaling** (`v / 32768`, `v / 8388608`, `(v − 128) / 128` for unsigned 8-bit):
//!   symphonia's sample conversion already equals libsndfile's bit for bit; float32 is passed through.
//! - **A data chunk that claims more bytes than the file holds** (truncated file, or a header that
//!   over-counts): symphonia reads to the end of the file and drops an incomplete last frame; we
//!   compare the frames decoded with the count the header announced and log a `tracing::warn!`.
//! - **RIFF/data sizes of 0xFFFFFFFF** (streaming writers): symphonia reads to the end of the file;
//!   as the size is declared unknown, we do not warn.
//! - **End of stream** arrives as an `UnexpectedEof` I/O error and ends the decode loop here.
//! - **A malformed packet** is skipped with a warning (symphonia's advice for `DecodeError`).
//! - **An empty file** (0 bytes) or a stream of zero frames gives [`AudioError::Empty`]; a NaN or
//!   infinite sample gives [`AudioError::NonFinite`], and a float sample beyond ±[`MAX_SAMPLE_MAGNITUDE`]
//!   [`AudioError::OutOfRange`] (checked here, before the mono mix, the resampler and any feature code, whose
//!   sums would overflow to infinity on such values: the fuzzer's first finding, a 9-channel file of 8e37 samples
//!   that made the resampler's FFT panic).
//! - **IMA ADPCM** (0x0011): symphonia's decoder computes the step difference by multiplication
//!   (`(2·|code| + 1)·step / 8`) rather than the shift-and-add of the IMA reference, so its output
//!   differs from libsndfile's by up to 1e-3 (33 LSB) on `bad/ima_adpcm_16k.wav`. We take the
//!   packets (whole blocks) from symphonia's WAV reader and decode them with the reference algorithm
//!   ([`crate::ima_adpcm`]), bit-exact against libsndfile. Like libsndfile, every block is decoded
//!   whole (the `fact` chunk's shorter count is not applied).
//! - **Sample rates outside [`MIN_SAMPLE_RATE`] ..= [`MAX_SAMPLE_RATE`] and channel counts outside
//!   1 ..= [`MAX_CHANNELS`]** are refused as [`AudioError::Unsupported`]: a WAV file's `fmt ` chunk is read (with
//!   bounds checks) before symphonia sees the file, other containers' parameters after probing, and the decoded
//!   stream's at the end, so neither symphonia (which panics on a rate of 0) nor the resampler (which allocates in
//!   proportion to 16 kHz / rate) gets a lying header.
//! - **Only regular files** are read: a FIFO, device or folder is refused without being opened.
//! - **Microsoft ADPCM** (0x0002) is refused as [`AudioError::Unsupported`]: no fixture verifies
//!   symphonia's decoder, and a misread is worse than a clear error.

use crate::{AudioError, Decoded, Result, ima_adpcm};
use std::io::{Cursor, ErrorKind};
use std::path::Path;
use symphonia::core::audio::{AudioBuffer, AudioBufferRef, Signal};
use symphonia::core::codecs::{
    CODEC_TYPE_ADPCM_IMA_WAV, CODEC_TYPE_ADPCM_MS, CODEC_TYPE_NULL, CodecParameters, Decoder, DecoderOptions,
};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

/// Decodes an audio file (WAV, FLAC, Ogg Vorbis, MP3; see the crate docs) to channel-first float32
/// samples at the file's native rate. MP3 and Vorbis are trimmed gaplessly (encoder delay and
/// padding removed), so their length is the source's.
///
/// # Errors
/// Every error names `path`: [`AudioError::Io`] when the file cannot be read;
/// [`AudioError::Decode`] when it is not a recognised container or its header or stream is
/// malformed; [`AudioError::Unsupported`] for an encoding we do not decode (Microsoft ADPCM, …);
/// [`AudioError::Empty`] for a 0-byte file or zero decoded frames; [`AudioError::NonFinite`] for a
/// NaN or infinite sample; [`AudioError::OutOfRange`] for a sample beyond ±[`MAX_SAMPLE_MAGNITUDE`]. A panic inside the third-party decoder on malformed data (none is known; the
/// fuzz-style test cuts and corrupts every fixture) is caught and reported as [`AudioError::Decode`].
pub fn decode(path: &Path) -> Result<Decoded> {
    guarded(path, || decode_unguarded(path))
}

/// Runs `work` inside the panic guard: a panic becomes [`AudioError::Decode`] naming `path`, and
/// [`panic_is_guarded`] is `true` meanwhile.
fn guarded<T>(path: &Path, work: impl FnOnce() -> Result<T>) -> Result<T> {
    let outer = GUARDED.replace(true);
    let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
    GUARDED.set(outer);
    done.unwrap_or_else(|_| {
        Err(AudioError::Decode {
            path: path.into(),
            reason: "the decoder failed on malformed data".into(),
        })
    })
}

thread_local! {
    /// Whether this thread is inside [`decode`]'s panic guard.
    static GUARDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether a panic on this thread now would be caught by [`decode`]'s guard and reported as an
/// [`AudioError::Decode`] naming the file. A program's panic hook asks this to stay quiet about such a panic (the
/// `asd` binary does: a third-party decoder's panic text never reaches the user); any other panic is a bug to
/// report.
pub fn panic_is_guarded() -> bool {
    GUARDED.get()
}

/// The metadata of `path` when it is a regular file; a FIFO, device or folder is refused without being opened (a
/// FIFO would block).
pub(crate) fn regular_file(path: &Path) -> Result<std::fs::Metadata> {
    let meta = std::fs::metadata(path).map_err(|source| AudioError::Io {
        path: path.into(),
        source,
    })?;
    if !meta.is_file() {
        return Err(AudioError::Unsupported {
            path: path.into(),
            what: "not a regular file (a FIFO, device or folder)".into(),
        });
    }
    Ok(meta)
}

/// [`decode`] without the panic guard.
fn decode_unguarded(path: &Path) -> Result<Decoded> {
    // Only regular files: a FIFO or device would block or never end, and is refused without being opened.
    let io = |source| AudioError::Io {
        path: path.into(),
        source,
    };
    let meta = regular_file(path)?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(AudioError::Unsupported {
            path: path.into(),
            what: format!(
                "a file of {} bytes (asd reads audio files up to {MAX_FILE_BYTES} bytes)",
                meta.len()
            ),
        });
    }
    let bytes = std::fs::read(path).map_err(io)?;
    if bytes.is_empty() {
        return Err(AudioError::Empty { path: path.into() });
    }
    if let Some(fmt) = wav_format(&bytes) {
        check_format(path, fmt.rate, usize::from(fmt.channels))?;
        check_adpcm_blocks(path, &fmt)?;
    }
    let size_unknown = riff_size_unknown(&bytes);
    let decode_error = |what: &str, e: SymphoniaError| AudioError::Decode {
        path: path.into(),
        reason: format!("{what}: {e}"),
    };

    let source = MediaSourceStream::new(Box::new(Cursor::new(bytes)), MediaSourceStreamOptions::default());
    let mut hint = Hint::new();
    if let Some(extension) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(extension);
    }
    let format_options = FormatOptions {
        enable_gapless: true,
        ..FormatOptions::default()
    };
    let mut reader = symphonia::default::get_probe()
        .format(&hint, source, &format_options, &MetadataOptions::default())
        .map_err(|e| decode_error("not a recognised audio file, or its header is malformed", e))?
        .format;
    let track = reader
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or_else(|| AudioError::Decode {
            path: path.into(),
            reason: "no audio track".into(),
        })?;
    let (track_id, params) = (track.id, track.codec_params.clone());
    if let (Some(rate), Some(layout)) = (params.sample_rate, params.channels) {
        check_format(path, rate, layout.count())?;
    }
    let mut codec = Codec::new(&params, path)?;
    let mut channels: Vec<Vec<f32>> = Vec::new();
    let mut sample_rate = params.sample_rate.unwrap_or(0);
    let mut scratch: Option<AudioBuffer<f32>> = None;
    let too_long = || AudioError::Unsupported {
        path: path.into(),
        what: format!("more than {MAX_DECODED_SAMPLES} decoded samples (hours of audio in one clip)"),
    };
    loop {
        let packet = match reader.next_packet() {
            Ok(packet) => packet,
            Err(SymphoniaError::IoError(e)) if e.kind() == ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(decode_error("cannot read the next packet", e)),
        };
        if packet.track_id() != track_id {
            continue;
        }
        let decoder = match &mut codec {
            Codec::ImaAdpcm { data, .. } => {
                data.extend_from_slice(packet.buf());
                continue;
            }
            Codec::Symphonia(decoder) => decoder,
        };
        match decoder.decode(&packet) {
            Ok(buffer) => {
                sample_rate = buffer.spec().rate;
                append_planar(&buffer, &mut scratch, &mut channels, path)?;
                let decoded: usize = channels.iter().map(Vec::len).sum();
                if decoded > MAX_DECODED_SAMPLES {
                    return Err(too_long());
                }
            }
            Err(SymphoniaError::DecodeError(why)) => {
                tracing::warn!(path = %path.display(), "skipping a malformed packet: {why}");
            }
            Err(e) => return Err(decode_error("cannot decode a packet", e)),
        }
    }
    if let Codec::ImaAdpcm {
        data,
        block,
        n_channels,
    } = &codec
    {
        // Two 4-bit samples per byte (block headers add one more sample each).
        if data.len().saturating_mul(2) > MAX_DECODED_SAMPLES {
            return Err(too_long());
        }
        channels = vec![Vec::new(); *n_channels];
        ima_adpcm::decode_blocks(data, *block, &mut channels);
        if data.len() % block != 0 {
            tracing::warn!(path = %path.display(), "dropping an incomplete last ADPCM block of {} bytes", data.len() % block);
        }
    }

    let frames = channels.first().map_or(0, Vec::len);
    if frames == 0 {
        return Err(AudioError::Empty { path: path.into() });
    }
    if sample_rate == 0 {
        return Err(AudioError::Decode {
            path: path.into(),
            reason: "sample rate missing or 0".into(),
        });
    }
    check_format(path, sample_rate, channels.len())?;
    if let Some(announced) = params.n_frames.filter(|&n| n > frames as u64 && !size_unknown) {
        tracing::warn!(
            path = %path.display(),
            "header announces {announced} frames but the file holds {frames} complete frames (truncated?); decoded those"
        );
    }
    let first = |bad: fn(f32) -> bool| channels.iter().filter_map(|c| c.iter().position(|&s| bad(s))).min();
    if let Some(index) = first(|s| !s.is_finite()) {
        return Err(AudioError::NonFinite {
            path: path.into(),
            index,
        });
    }
    if let Some(index) = first(|s| s.abs() > MAX_SAMPLE_MAGNITUDE) {
        return Err(AudioError::OutOfRange {
            path: path.into(),
            index,
        });
    }
    Ok(Decoded { channels, sample_rate })
}

/// Converts one decoded buffer to float32 and appends it channel by channel. `scratch` keeps the
/// conversion buffer between packets; symphonia's `convert` needs equal capacity and layout (it
/// asserts them), so it is reallocated whenever either differs.
fn append_planar(
    buffer: &AudioBufferRef<'_>,
    scratch: &mut Option<AudioBuffer<f32>>,
    channels: &mut Vec<Vec<f32>>,
    path: &Path,
) -> Result<()> {
    let spec = *buffer.spec();
    let count = spec.channels.count();
    if channels.is_empty() {
        channels.resize_with(count, Vec::new);
    } else if channels.len() != count {
        return Err(AudioError::Decode {
            path: path.into(),
            reason: format!("channel count changes mid-stream ({} → {count})", channels.len()),
        });
    }
    let fits = scratch
        .as_ref()
        .is_some_and(|s| s.capacity() == buffer.capacity() && *s.spec() == spec);
    if !fits {
        *scratch = Some(AudioBuffer::new(buffer.capacity() as u64, spec));
    }
    if let Some(converted) = scratch.as_mut() {
        // Capacity and layout equal by construction, so `convert`'s assertions hold.
        buffer.convert(converted);
        for (c, out) in channels.iter_mut().enumerate() {
            out.extend_from_slice(converted.chan(c));
        }
    }
    Ok(())
}

/// How the packets of the track are decoded.
enum Codec {
    /// symphonia's decoder for the track.
    Symphonia(Box<dyn Decoder>),
    /// Our IMA ADPCM decoder ([`ima_adpcm`]): the packets' bytes are gathered, then decoded by block.
    ImaAdpcm {
        /// The data bytes so far.
        data: Vec<u8>,
        /// Bytes per block.
        block: usize,
        /// Channels.
        n_channels: usize,
    },
}

impl Codec {
    /// Picks the decoder for a track: ours for IMA ADPCM, a refusal for Microsoft ADPCM (see the
    /// module docs), symphonia's otherwise.
    fn new(params: &CodecParameters, path: &Path) -> Result<Self> {
        let unsupported = |what: &str| AudioError::Unsupported {
            path: path.into(),
            what: what.into(),
        };
        match params.codec {
            CODEC_TYPE_ADPCM_IMA_WAV => {
                let n_channels = params.channels.map_or(0, |c| c.count());
                let frames = params.frames_per_block.map_or(0, |f| f as usize);
                let block = ima_adpcm::block_align(n_channels, frames).ok_or_else(|| AudioError::Decode {
                    path: path.into(),
                    reason: format!("IMA ADPCM with {n_channels} channels and {frames} frames per block"),
                })?;
                Ok(Codec::ImaAdpcm {
                    data: Vec::new(),
                    block,
                    n_channels,
                })
            }
            CODEC_TYPE_ADPCM_MS => Err(unsupported("WAV encoding 0x0002 (Microsoft ADPCM)")),
            _ => symphonia::default::get_codecs()
                .make(params, &DecoderOptions::default())
                .map(Codec::Symphonia)
                .map_err(|e| match e {
                    SymphoniaError::Unsupported(what) => unsupported(what),
                    other => AudioError::Decode {
                        path: path.into(),
                        reason: format!("cannot set up the decoder: {other}"),
                    },
                }),
        }
    }
}

/// Whether `bytes` is a RIFF file whose size field is 0xFFFFFFFF, the "length unknown" marker of
/// streaming writers; its data chunk then runs to the end of the file.
/// Lowest sample rate `asd` reads, Hz: below it a header is lying (and a resampler to 16 kHz would allocate
/// 16 000 / rate times the clip). A documented limit of the crate (issue 17), not a paper's number.
pub const MIN_SAMPLE_RATE: u32 = 1_000;
/// Highest sample rate `asd` reads, Hz (the highest rate of common audio interfaces).
pub const MAX_SAMPLE_RATE: u32 = 768_000;
/// Most channels `asd` reads in one file.
pub const MAX_CHANNELS: usize = 64;

/// The largest audio file `decode` reads: 2 GiB (it holds the file in memory; a DCASE clip is about 320 kB).
pub const MAX_FILE_BYTES: u64 = 1 << 31;

/// The most samples (over all channels) `decode` produces from one file: 2²⁸, 1 GiB of f32, about 1.7 hours of
/// 44.1-kHz mono. A small compressed file that claims or holds more is refused as it decodes, before it can
/// exhaust memory.
pub const MAX_DECODED_SAMPLES: usize = 1 << 28;

/// The largest magnitude a decoded sample may have: 10⁶, 120 dB above full scale (integer encodings give at most
/// 1; float files with headroom a little more). Beyond it a file is not audio, and the sums of the mono mix, the
/// resampler's FFTs and the front ends' power spectra could overflow f32 (3.4e38).
pub const MAX_SAMPLE_MAGNITUDE: f32 = 1e6;

/// Checks a sample rate and channel count against [`MIN_SAMPLE_RATE`] ..= [`MAX_SAMPLE_RATE`] and
/// 1 ..= [`MAX_CHANNELS`].
fn check_format(path: &Path, sample_rate: u32, channels: usize) -> Result<()> {
    if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&sample_rate) {
        return Err(AudioError::Unsupported {
            path: path.into(),
            what: format!("sample rate {sample_rate} Hz (asd reads {MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE} Hz)"),
        });
    }
    if !(1..=MAX_CHANNELS).contains(&channels) {
        return Err(AudioError::Unsupported {
            path: path.into(),
            what: format!("{channels} channels (asd reads 1 to {MAX_CHANNELS})"),
        });
    }
    Ok(())
}

/// The fields of a WAV `fmt ` chunk that are checked before symphonia sees them.
struct WavFmt {
    tag: u16,
    channels: u16,
    rate: u32,
    block_align: u16,
}

/// WAVE format tags of the ADPCM encodings (Microsoft, IMA / DVI) and the header bytes per channel that open
/// each of their blocks (RIFF new-format specification: 7 for Microsoft ADPCM, 4 for IMA ADPCM).
const ADPCM_BLOCK_HEADERS: [(u16, u16); 2] = [(0x0002, 7), (0x0011, 4)];

/// The largest ADPCM block symphonia sizes without overflow: it computes the samples per block as
/// `(block_align − header · channels) · 8` in 16 bits.
const MAX_ADPCM_BLOCK_DATA: u16 = u16::MAX / 8;

/// Refuses an ADPCM `fmt ` chunk whose block cannot hold its own header, or whose block is larger than symphonia
/// can size (both overflow its 16-bit block arithmetic: a panic, or with wrapping arithmetic a nonsense block).
fn check_adpcm_blocks(path: &Path, fmt: &WavFmt) -> Result<()> {
    let Some(&(_, header)) = ADPCM_BLOCK_HEADERS.iter().find(|(tag, _)| *tag == fmt.tag) else {
        return Ok(());
    };
    let data = fmt.block_align.checked_sub(header.saturating_mul(fmt.channels));
    match data {
        Some(data) if data > 0 && data <= MAX_ADPCM_BLOCK_DATA => Ok(()),
        _ => Err(AudioError::Unsupported {
            path: path.into(),
            what: format!(
                "ADPCM blocks of {} bytes for {} channels (each needs {header} header bytes per channel and at most \
                 {MAX_ADPCM_BLOCK_DATA} bytes of samples)",
                fmt.block_align, fmt.channels
            ),
        }),
    }
}

/// For a RIFF/WAVE file, the fields of its `fmt ` chunk that are checked before decoding, read with every offset
/// checked against the file's length; `None` for another container or a WAV file without a complete `fmt ` chunk
/// (then symphonia reports the malformed header). Read before symphonia sees the file: it panics on some
/// impossible values (a rate of 0, an ADPCM block shorter than its header).
fn wav_format(bytes: &[u8]) -> Option<WavFmt> {
    if bytes.len() < 12 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return None;
    }
    let mut at = 12usize;
    while let Some(header) = bytes.get(at..at.checked_add(8)?) {
        let size = u32::from_le_bytes(header[4..8].try_into().ok()?) as usize;
        let body = at + 8;
        if &header[..4] == b"fmt " {
            let fmt = bytes.get(body..body.checked_add(14)?)?;
            let u16_at = |i: usize| {
                fmt.get(i..i + 2)
                    .and_then(|b| b.try_into().ok())
                    .map(u16::from_le_bytes)
            };
            return Some(WavFmt {
                tag: u16_at(0)?,
                channels: u16_at(2)?,
                rate: u32::from_le_bytes(fmt[4..8].try_into().ok()?),
                block_align: u16_at(12)?,
            });
        }
        // chunks are padded to an even length
        at = body.checked_add(size)?.checked_add(size % 2)?;
    }
    None
}

fn riff_size_unknown(bytes: &[u8]) -> bool {
    bytes.len() >= 8 && &bytes[..4] == b"RIFF" && bytes[4..8] == [0xFF; 4]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A panic inside the guard is an error naming the file, and a panic hook sees that it is guarded (the `asd`
    /// binary's hook then stays quiet); outside, it is not.
    #[test]
    fn the_guard_turns_a_panic_into_a_named_error() {
        let path = Path::new("clip.wav");
        let seen = std::cell::Cell::new(false);
        let quiet = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let result: Result<()> = guarded(path, || {
            seen.set(panic_is_guarded());
            panic!("a third-party decoder panics");
        });
        std::panic::set_hook(quiet);
        assert!(seen.get() && !panic_is_guarded());
        match result {
            Err(AudioError::Decode { path: named, .. }) => assert_eq!(named, path),
            other => panic!("{other:?}"),
        }
    }
}

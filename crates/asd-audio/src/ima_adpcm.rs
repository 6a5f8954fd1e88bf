//! IMA ADPCM (WAV encoding 0x0011, "DVI ADPCM") block decoding, integer-exact.
//!
//! symphonia 0.5.5 decodes this encoding, but computes each step difference as
//! `(2·|code| + 1)·step / 8` instead of the shift-and-add of the IMA reference algorithm, and so
//! differs from libsndfile (and the IMA reference) by up to 33 LSB. This module implements the
//! reference algorithm (IMA Digital Audio Focus and Technical Working Groups, "Recommended
//! Practices for Enhancing Digital Audio Compatibility in Multimedia Systems", rev. 3.00, 1992;
//! the WAV block layout of Microsoft's "Multimedia Standards Update", 1994).
//!
//! A block of `block_align` bytes holds, per channel, a 4-byte header (predictor `i16` LE, step
//! index `u8`, a reserved byte) that is also the first sample, then 4-byte groups of 8 four-bit
//! codes (low nibble first), interleaved channel by channel.

/// Quantiser step sizes, indexed by the step index 0..=88 (IMA reference, table "step size").
const STEP_SIZES: [i32; 89] = [
    7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 19, 21, 23, 25, 28, 31, 34, 37, 41, 45, 50, 55, 60, 66, 73, 80, 88, 97, 107,
    118, 130, 143, 157, 173, 190, 209, 230, 253, 279, 307, 337, 371, 408, 449, 494, 544, 598, 658, 724, 796, 876, 963,
    1060, 1166, 1282, 1411, 1552, 1707, 1878, 2066, 2272, 2499, 2749, 3024, 3327, 3660, 4026, 4428, 4871, 5358, 5894,
    6484, 7132, 7845, 8630, 9493, 10442, 11487, 12635, 13899, 15289, 16818, 18500, 20350, 22385, 24623, 27086, 29794,
    32767,
];

/// Step-index change for each code magnitude 0..=7 (IMA reference, table "index adjust").
const INDEX_ADJUST: [i32; 8] = [-1, -1, -1, -1, 2, 4, 6, 8];

/// Bytes of a channel's block header (predictor, step index, reserved).
const HEADER_BYTES: usize = 4;

/// Bytes per interleaved group of codes of one channel (8 codes).
const GROUP_BYTES: usize = 4;

/// Full scale of 16-bit PCM, as in libsndfile (`v / 32768`).
const PCM16_SCALE: f32 = 32768.0;

/// Size in bytes of a block of `frames_per_block` frames over `channels` channels
/// (`4·C + (frames − 1)·C / 2`), or `None` when that layout is impossible (no channel, no frame,
/// or codes that do not fill whole 4-byte groups).
pub(crate) fn block_align(channels: usize, frames_per_block: usize) -> Option<usize> {
    let codes = frames_per_block.checked_sub(1)?;
    if channels == 0 || codes % 8 != 0 {
        return None;
    }
    Some(channels * (HEADER_BYTES + codes / 2))
}

/// One channel's decoder state: the last sample and the step index.
struct Channel {
    sample: i32,
    index: usize,
}

impl Channel {
    /// The IMA reference decoder step for one 4-bit `code`; returns the new sample.
    fn decode(&mut self, code: u8) -> i32 {
        let step = STEP_SIZES[self.index];
        let mut diff = step >> 3;
        if code & 1 != 0 {
            diff += step >> 2;
        }
        if code & 2 != 0 {
            diff += step >> 1;
        }
        if code & 4 != 0 {
            diff += step;
        }
        if code & 8 != 0 {
            diff = -diff;
        }
        self.sample = (self.sample + diff).clamp(i32::from(i16::MIN), i32::from(i16::MAX));
        // The clamp keeps the index within STEP_SIZES (0..=88).
        self.index = (self.index as i32 + INDEX_ADJUST[usize::from(code & 7)]).clamp(0, 88) as usize;
        self.sample
    }
}

/// Decodes whole blocks of `data` (a multiple of [`block_align`] bytes; a trailing partial block is
/// ignored) to channel-first float32 samples scaled by 1/32768. `block` must equal
/// `block_align(out.len(), frames_per_block)`; `out` holds one (possibly non-empty) `Vec` per channel.
pub(crate) fn decode_blocks(data: &[u8], block: usize, out: &mut [Vec<f32>]) {
    let channels = out.len();
    for bytes in data.chunks_exact(block) {
        let (headers, codes) = bytes.split_at(HEADER_BYTES * channels);
        let mut state: Vec<Channel> = headers
            .chunks_exact(HEADER_BYTES)
            .map(|h| Channel {
                sample: i32::from(i16::from_le_bytes([h[0], h[1]])),
                index: usize::from(h[2]).min(STEP_SIZES.len() - 1),
            })
            .collect();
        for (channel, samples) in state.iter().zip(out.iter_mut()) {
            samples.push(channel.sample as f32 / PCM16_SCALE);
        }
        // Groups of 4 bytes (8 codes) per channel, interleaved: ch0, ch1, …, ch0, ch1, …
        for (g, group) in codes.chunks_exact(GROUP_BYTES).enumerate() {
            let c = g % channels;
            for &byte in group {
                for code in [byte & 0x0F, byte >> 4] {
                    let sample = state[c].decode(code);
                    out[c].push(sample as f32 / PCM16_SCALE);
                }
            }
        }
    }
}

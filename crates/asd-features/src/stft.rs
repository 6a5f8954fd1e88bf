//! Short-time Fourier transform with centred frames and a periodic Hann window, and the STFT front end.

use crate::error::{FeatureError, Result};
use crate::simd::wide_fn;
use crate::{Frontend, check_output, check_wave, extract_by_writing};
use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis};
use rayon::prelude::*;
use rustfft::num_complex::Complex32;
use rustfft::{Fft, FftPlanner};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::sync::Arc;

/// Frames handed to one rayon task: large enough to amortise the per-task buffers, small enough to split a
/// 313-frame clip over the cores (our choice, measured with `benches/features.rs`). Even, so that every
/// task but a clip's last one fills all its frame pairs.
const FRAMES_PER_TASK: usize = 32;

/// Per-thread working memory of [`Stft::map_blocks`], kept between calls so that a task neither allocates
/// nor clears buffers it overwrites anyway.
#[derive(Default)]
struct Buffers {
    /// Two windowed frames, `2 · n_fft` samples.
    frames: Vec<f32>,
    /// A task's frame pairs as complex FFT inputs, transformed in place.
    packed: Vec<Complex32>,
    /// FFT scratch.
    scratch: Vec<Complex32>,
    /// A task's power spectra, `[n_bins, width]` bin-major.
    power: Vec<f32>,
}

thread_local! {
    static BUFFERS: RefCell<Buffers> = RefCell::new(Buffers::default());
}

/// Bins per tile when a task's spectra are written bin-major: 64 rows of 32 frames are 8 KiB.
const BIN_TILE: usize = 64;

/// Largest FFT length accepted from a configuration (2²⁴ samples, over 17 minutes at 16 kHz): a guard against
/// typos that would allocate gigabytes, not a limit of the method.
pub const MAX_FFT_LEN: usize = 1 << 24;

/// How the signal is extended by `n_fft / 2` samples on each side so that frame `t` is centred on sample
/// `t · hop`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PadMode {
    /// Mirror without repeating the edge sample (`x[p], …, x[1] | x | x[n−2], …`): torch/torchaudio's default,
    /// librosa < 0.10. Needs more than `n_fft / 2` samples.
    Reflect,
    /// Zeros (librosa ≥ 0.10's default `pad_mode="constant"`).
    Zero,
}

/// What each STFT bin holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpectrumValue {
    /// `|X|`.
    Magnitude,
    /// `|X|²`.
    Power,
}

/// STFT settings. The window is always a periodic Hann of length `n_fft`, `w[n] = 0.5 − 0.5·cos(2πn/n_fft)`,
/// and frames are centred: `1 + ⌊len / hop⌋` frames for `len` samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StftConfig {
    /// FFT length = window length, samples.
    pub n_fft: usize,
    /// Hop between frames, samples.
    pub hop: usize,
    /// Edge padding.
    pub pad: PadMode,
}

impl StftConfig {
    /// Checks `1 ≤ n_fft ≤` [`MAX_FFT_LEN`] and `hop ≥ 1`.
    pub fn check(&self) -> Result<()> {
        check_fft_len("n_fft", self.n_fft)?;
        if self.hop == 0 {
            return Err(FeatureError::Zero { name: "hop" });
        }
        Ok(())
    }

    /// A stable text naming every setting.
    pub fn key(&self) -> String {
        format!(
            "n_fft={},hop={},pad={:?},window=hann-periodic,center",
            self.n_fft, self.hop, self.pad
        )
    }

    /// Number of frames for `n_samples` input samples: `1 + ⌊n_samples / hop⌋`.
    pub fn n_frames(&self, n_samples: usize) -> usize {
        1 + n_samples / self.hop
    }

    /// Number of one-sided bins: `n_fft / 2 + 1`.
    pub fn n_bins(&self) -> usize {
        self.n_fft / 2 + 1
    }
}

/// A planned STFT: the window and the FFT plan are built once; each call uses its own scratch buffers.
///
/// Two consecutive real frames `x`, `y` share one complex `n_fft`-point FFT of `z = x + i·y`; their spectra
/// are separated by conjugate symmetry, `X[k] = (Z[k] + Z*[n−k]) / 2` and `Y[k] = (Z[k] − Z*[n−k]) / 2i`.
#[derive(Clone)]
pub struct Stft {
    config: StftConfig,
    window: Vec<f32>,
    fft: Arc<dyn Fft<f32>>,
}

impl std::fmt::Debug for Stft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stft")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Stft {
    /// Plans the FFT and builds the window.
    pub fn new(config: StftConfig) -> Result<Self> {
        config.check()?;
        let n = config.n_fft;
        let window = (0..n)
            .map(|i| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n as f64).cos()) as f32)
            .collect();
        let fft = FftPlanner::<f32>::new().plan_fft_forward(n);
        Ok(Self { config, window, fft })
    }

    /// The settings.
    pub fn config(&self) -> &StftConfig {
        &self.config
    }

    /// Runs the STFT of `wave` in blocks of consecutive frames: each block's one-sided power spectra `|X|²` are
    /// gathered as `[n_fft / 2 + 1, block]` (bin-major, so per-bin rows are contiguous) and handed to
    /// `per_block` with the matching columns `[rows, block]` of `out` (`[rows, frames]`). Blocks run in
    /// parallel on rayon, each with its own buffers. Callers have checked that `out` has one column per frame
    /// ([`check_output`] against their `output_shape`); a wrong width would leave columns unwritten.
    pub(crate) fn map_blocks<F>(&self, wave: &[f32], mut out: ArrayViewMut2<'_, f32>, per_block: F) -> Result<()>
    where
        F: Fn(ArrayView2<'_, f32>, ArrayViewMut2<'_, f32>) + Sync,
    {
        let half = self.config.n_fft / 2;
        if self.config.pad == PadMode::Reflect && wave.len() <= half {
            return Err(FeatureError::TooShort {
                what: "reflect padding",
                needed: half + 1,
                got: wave.len(),
            });
        }
        let n_bins = self.config.n_bins();
        out.axis_chunks_iter_mut(Axis(1), FRAMES_PER_TASK)
            .into_par_iter()
            .enumerate()
            .for_each(|(task, block)| {
                BUFFERS.with_borrow_mut(|buffers| {
                    block_power(self, wave, task * FRAMES_PER_TASK, block.ncols(), buffers);
                    let power =
                        ArrayView2::from_shape((n_bins, block.ncols()), &buffers.power).expect("n_bins · width cells"); // ok: block_power leaves exactly that many
                    per_block(power, block);
                })
            });
        Ok(())
    }

    /// Writes the windowed frame centred on sample `centre` into `frame`, padding outside `wave`.
    #[inline(always)]
    fn fill_frame(&self, wave: &[f32], centre: usize, frame: &mut [f32]) {
        let half = self.config.n_fft / 2;
        let n = wave.len();
        if centre >= half && centre - half + self.config.n_fft <= n {
            let src = &wave[centre - half..centre - half + self.config.n_fft];
            for ((f, &x), &w) in frame.iter_mut().zip(src).zip(&self.window) {
                *f = x * w;
            }
            return;
        }
        for (j, (f, &w)) in frame.iter_mut().zip(&self.window).enumerate() {
            // position in the unpadded signal, as a signed offset
            let pos = (centre + j) as isize - half as isize;
            let x = match self.config.pad {
                PadMode::Zero => usize::try_from(pos)
                    .ok()
                    .and_then(|p| wave.get(p))
                    .copied()
                    .unwrap_or(0.0),
                PadMode::Reflect => wave[reflect_index(pos, n)],
            };
            *f = x * w;
        }
    }
}

/// Checks `1 ≤ len ≤` [`MAX_FFT_LEN`] for the FFT-length setting `name`.
pub(crate) fn check_fft_len(name: &'static str, len: usize) -> Result<()> {
    match len {
        0 => Err(FeatureError::Zero { name }),
        _ if len > MAX_FFT_LEN => Err(FeatureError::TooLarge {
            name,
            value: len,
            max: MAX_FFT_LEN,
        }),
        _ => Ok(()),
    }
}

/// Index of padded position `pos` under reflection without edge repeat; `n > 1` and `|pos|` within one
/// reflection (`n > n_fft / 2` is checked before any frame is built).
fn reflect_index(pos: isize, n: usize) -> usize {
    let last = n as isize - 1;
    let p = if pos < 0 {
        -pos
    } else if pos > last {
        2 * last - pos
    } else {
        pos
    };
    p as usize // ok: 0 ≤ p ≤ last since the pad is shorter than the signal
}

/// The STFT front end: `[bins, frames]` of `|X|` or `|X|²`.
#[derive(Clone, Debug)]
pub struct Spectrogram {
    stft: Stft,
    value: SpectrumValue,
}

impl Spectrogram {
    /// Builds the front end (plans the FFT).
    pub fn new(config: StftConfig, value: SpectrumValue) -> Result<Self> {
        Ok(Self {
            stft: Stft::new(config)?,
            value,
        })
    }
}

impl Frontend for Spectrogram {
    /// `[n_fft / 2 + 1, 1 + ⌊len / hop⌋]`: bin `k` is `k · sample_rate / n_fft` Hz.
    fn extract(&self, wave: &[f32]) -> Result<Array2<f32>> {
        extract_by_writing(self, wave)
    }

    fn extract_into(&self, wave: &[f32], out: ArrayViewMut2<'_, f32>) -> Result<()> {
        check_wave(wave)?;
        check_output(self.output_shape(wave.len()), &out)?;
        let value = self.value;
        self.stft.map_blocks(wave, out, |power, mut out| {
            out.assign(&power);
            if value == SpectrumValue::Magnitude {
                out.mapv_inplace(f32::sqrt);
            }
        })
    }

    fn output_shape(&self, n_samples: usize) -> (usize, usize) {
        (self.stft.config.n_bins(), self.stft.config.n_frames(n_samples))
    }

    fn cache_key(&self) -> String {
        format!("stft:{},value={:?}", self.stft.config.key(), self.value)
    }
}

wide_fn! {
    /// Power spectra of the frames `first .. first + width` of `wave` into `buffers.power` (`[n_bins, width]`,
    /// bin-major), two real frames per complex FFT (see [`Stft`]).
    fn block_power(stft: &Stft, wave: &[f32], first: usize, width: usize, buffers: &mut Buffers) {
        let (n, n_bins, hop) = (stft.config.n_fft, stft.config.n_bins(), stft.config.hop);
        let Buffers {
            frames,
            packed,
            scratch,
            power,
        } = buffers;
        // frame first + 2p in the real part of pair p, frame first + 2p + 1 (or zeros) in the imaginary part
        frames.resize(2 * n, 0.0);
        packed.clear();
        for pair in 0..width.div_ceil(2) {
            let (even, odd) = frames.split_at_mut(n);
            let t = first + 2 * pair;
            stft.fill_frame(wave, t * hop, even);
            if 2 * pair + 1 < width {
                stft.fill_frame(wave, (t + 1) * hop, odd);
            } else {
                odd.fill(0.0);
            }
            packed.extend(even.iter().zip(odd.iter()).map(|(&x, &y)| Complex32::new(x, y)));
        }
        scratch.resize(stft.fft.get_inplace_scratch_len(), Complex32::default());
        // every pair in one call: the length is a multiple of n by construction
        stft.fft.process_with_scratch(packed, scratch);
        power.resize(n_bins * width, 0.0);
        // |X[k]|² = |a + b*|² / 4 and |Y[k]|² = |a − b*|² / 4 for a = Z[k], b = Z[n − k], written straight into
        // columns 2·pair and 2·pair + 1 of each bin's row (a lone last frame has no odd column); bins go in
        // tiles so that the rows being filled stay in the L1 cache across pairs
        for tile in (0..n_bins).step_by(BIN_TILE) {
            let bins = tile..(tile + BIN_TILE).min(n_bins);
            for (pair, z) in packed.chunks_exact(n).enumerate() {
                let lone = 2 * pair + 1 == width;
                let rows = power[tile * width + 2 * pair..].chunks_mut(width);
                for (cells, k) in rows.zip(bins.clone()) {
                    let (a, b) = (z[k], z[if k == 0 { 0 } else { n - k }]);
                    let (sr, si) = (a.re + b.re, a.im - b.im);
                    cells[0] = (sr * sr + si * si) * 0.25;
                    if !lone {
                        let (dr, di) = (a.re - b.re, a.im + b.im);
                        cells[1] = (dr * dr + di * di) * 0.25;
                    }
                }
            }
        }
    }
}

//! TFgramNet (Huang, Fang, He, ICASSP 2025, seed 002; os_scl.md §3.2): a learned time–frequency image of the raw
//! waveform, on the log-Mel's frame grid, whose 128 channels stand in for the frequency axis (no transpose). Only
//! the layers the reference's forward pass runs are built (§3.7: the PANN leftovers of its class are not):
//!
//! ```text
//! wave [B, 160000] ─ Conv1d 1→64 k11 s5 p5 ─ BN ─ ReLU ─► [B, 64, 32000]
//!   ─ block 64→64 ─ MaxPool1d(4) ─► [B, 64, 8000]
//!   ─ block 64→128 ─ adaptive max pool ─► [B, 128, 626]
//!   ─ block 128→128 ─ adaptive max pool ─► [B, 128, 313]
//! block = Conv1d k3 p1 ─ BN ─ ReLU ─ Conv1d k3 p2 dilation 2 ─ BN ─ ReLU
//! ```
//!
//! The convolutions run through this crate's Flex fast paths (`flex::conv::conv1d`: the fused evaluation kernel,
//! and in training the dense weight gradient), as TgramNet's do.

use crate::blocks::conv_block::torch_batch_norm as batch_norm;
use crate::count::{self, Count, LayerRole, LayerRow};
use crate::error::Error;
use crate::init;
use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::{BatchNorm, PaddingConfig1d};
use burn::tensor::activation::relu;
use burn::tensor::module::max_pool1d;
use burn::tensor::ops::MaxPoolOptions;
use burn::tensor::{Device, Int, Tensor, TensorData, assert_shape};

/// Channels of the stem and the first block, then of the second and third blocks ([code waveq.py], os_scl.md §3.2
/// and §9 item 1: the paper's Table I says 64 for block 2, the code 64 → 128).
pub const TFGRAM_CHANNELS: [usize; 2] = [64, 128];
/// The stem convolution: kernel 11, stride 5, padding 5 ([code waveq.py] `pre_conv0`).
pub const TFGRAM_STEM: [usize; 3] = [11, 5, 5];
/// Kernel of every block convolution; the second of each block is dilated by [`TFGRAM_DILATION`] with padding 2.
pub const TFGRAM_BLOCK_KERNEL: usize = 3;
/// Dilation of each block's second convolution ([code waveq.py]).
pub const TFGRAM_DILATION: usize = 2;
/// Kernel (and stride) of the max pool after the first block ([code waveq.py] `F.max_pool1d(x, 4)`).
pub const TFGRAM_FIRST_POOL: usize = 4;
/// Samples of a 10-s clip at 16 kHz, the reference's input.
pub const TFGRAM_SAMPLES: usize = 160_000;
/// Frames of the output: the log-Mel's 1 + 160000 / 512 (os_scl.md §3.2).
pub const TFGRAM_FRAMES: usize = 313;

/// Settings of [`TfgramNet`]: the input length and the output frames (the reference's 160 000 and 313; the
/// second pool goes to twice the frames, os_scl.md §3.2).
#[derive(Config, Debug)]
pub struct TfgramNetConfig {
    /// Samples of the waveform input.
    #[config(default = "TFGRAM_SAMPLES")]
    pub samples: usize,
    /// Frames of the output `[batch, 128, frames]`.
    #[config(default = "TFGRAM_FRAMES")]
    pub frames: usize,
}

impl TfgramNetConfig {
    /// Checks that the input is long enough for the stem and the first pool to leave at least `2 · frames` steps
    /// for the adaptive pools; returns that length (8000 for the reference).
    ///
    /// # Errors
    /// [`Error::Config`] naming `{what}.samples` or `{what}.frames`.
    pub fn check(&self, what: &str) -> crate::Result<usize> {
        if self.frames == 0 {
            return Err(Error::Config {
                field: format!("{what}.frames"),
                reason: "must be at least 1".into(),
            });
        }
        let [kernel, stride, padding] = TFGRAM_STEM;
        let pooled = count::conv_out_len(self.samples, kernel, stride, 1, 2 * padding).map(|n| n / TFGRAM_FIRST_POOL);
        match pooled {
            Some(n) if n >= 2 * self.frames => Ok(n),
            _ => Err(Error::Config {
                field: format!("{what}.samples"),
                reason: format!(
                    "{} samples leave fewer than {} steps after the stem and the first pool",
                    self.samples,
                    2 * self.frames
                ),
            }),
        }
    }

    /// Builds the network with the reference's initialisation: Xavier-uniform convolutions, BatchNorm γ 1, β 0.
    ///
    /// # Errors
    /// As [`TfgramNetConfig::check`].
    pub fn init(&self, device: &Device) -> crate::Result<TfgramNet> {
        self.check("tfgram")?;
        let [c1, c2] = TFGRAM_CHANNELS;
        let [kernel, stride, padding] = TFGRAM_STEM;
        Ok(TfgramNet {
            pre_conv0: Conv1dConfig::new(1, c1, kernel)
                .with_stride(stride)
                .with_padding(PaddingConfig1d::Explicit(padding, padding))
                .with_bias(false)
                .with_initializer(init::xavier_uniform())
                .init(device),
            pre_bn0: batch_norm(c1, device),
            pre_block1: TfgramBlock::new(c1, c1, device),
            pre_block2: TfgramBlock::new(c1, c2, device),
            pre_block3: TfgramBlock::new(c2, c2, device),
            samples: self.samples,
            frames: self.frames,
        })
    }
}

/// One block: Conv1d k3 p1 → BN → ReLU → Conv1d k3 p2 dilation 2 → BN → ReLU (the paper's "Convblock"). Field
/// names are the reference's state-dict names.
#[derive(Module, Debug)]
pub struct TfgramBlock {
    /// First convolution.
    pub conv1: Conv1d,
    /// Its BatchNorm.
    pub bn1: BatchNorm,
    /// Second, dilated convolution.
    pub conv2: Conv1d,
    /// Its BatchNorm.
    pub bn2: BatchNorm,
}

impl TfgramBlock {
    fn new(c_in: usize, c_out: usize, device: &Device) -> Self {
        let conv = |c_in, dilation: usize| {
            Conv1dConfig::new(c_in, c_out, TFGRAM_BLOCK_KERNEL)
                .with_dilation(dilation)
                .with_padding(PaddingConfig1d::Explicit(dilation, dilation))
                .with_bias(false)
                .with_initializer(init::xavier_uniform())
                .init(device)
        };
        Self {
            conv1: conv(c_in, 1),
            bn1: batch_norm(c_out, device),
            conv2: conv(c_out, TFGRAM_DILATION),
            bn2: batch_norm(c_out, device),
        }
    }

    /// `[batch, c_in, length]` → `[batch, c_out, length]`.
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let x = relu(crate::flex::conv::batch_norm1d(
            &self.bn1,
            crate::flex::conv::conv1d(&self.conv1, x),
        ));
        relu(crate::flex::conv::batch_norm1d(
            &self.bn2,
            crate::flex::conv::conv1d(&self.conv2, x),
        ))
    }

    fn count(&self, length: usize) -> Count {
        let (first, length) = count::conv1d(&self.conv1, length);
        let (second, _) = count::conv1d(&self.conv2, length);
        let norms = [&self.bn1, &self.bn2]
            .iter()
            .map(|bn| 2 * bn.gamma.shape().num_elements())
            .sum();
        first + second + Count { params: norms, macs: 0 }
    }
}

/// TFgramNet (module docs). Field names are the reference's state-dict names under `TFgramNet.`.
#[derive(Module, Debug)]
pub struct TfgramNet {
    /// The stem convolution.
    pub pre_conv0: Conv1d,
    /// Its BatchNorm.
    pub pre_bn0: BatchNorm,
    /// Block 64 → 64, then the max pool of 4.
    pub pre_block1: TfgramBlock,
    /// Block 64 → 128, then the adaptive max pool to twice the frames.
    pub pre_block2: TfgramBlock,
    /// Block 128 → 128, then the adaptive max pool to the frames.
    pub pre_block3: TfgramBlock,
    /// Samples of the input.
    samples: usize,
    /// Frames of the output.
    frames: usize,
}

/// The windows of PyTorch's adaptive max pooling from `len` to `out` steps: output i covers input
/// `[⌊i·len/out⌋, ⌈(i+1)·len/out⌉)` (os_scl.md §3.2), as one index list of `out · width` entries, where `width` is
/// the longest window and a shorter window repeats its last index (which leaves its maximum unchanged).
fn adaptive_windows(len: usize, out: usize) -> (Vec<i64>, usize) {
    let bounds: Vec<(usize, usize)> = (0..out)
        .map(|i| ((i * len) / out, ((i + 1) * len).div_ceil(out)))
        .collect();
    let width = bounds.iter().map(|(a, b)| b - a).max().unwrap_or(1);
    let indices = bounds
        .iter()
        .flat_map(|&(a, b)| (0..width).map(move |k| (a + k).min(b - 1) as i64))
        .collect();
    (indices, width)
}

/// PyTorch's `AdaptiveMaxPool1d(out)` on `[batch, channels, len]`: output i is the maximum over input
/// `[⌊i·len/out⌋, ⌈(i+1)·len/out⌉)`, gathered along time (differentiable: the gradient goes to each window's
/// maximum).
///
/// # Panics
/// If `out` is 0 or larger than the input length.
pub fn adaptive_max_pool1d(x: Tensor<3>, out: usize) -> Tensor<3> {
    let [batch, channels, len] = x.dims();
    assert!(out > 0 && out <= len, "adaptive max pool from {len} to {out} steps");
    let (indices, width) = adaptive_windows(len, out);
    let device = x.device();
    let index = Tensor::<1, Int>::from_data(TensorData::new(indices, [out * width]), &device);
    x.select(2, index)
        .reshape([batch, channels, out, width])
        .max_dim(3)
        .reshape([batch, channels, out])
}

impl TfgramNet {
    /// Frames of the output.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// The TFgram of `wave`, with the intermediate maps the golden fixture checks.
    ///
    /// # Shapes
    /// - `wave`: `[batch, samples]`; output `[batch, 128, frames]`
    ///
    /// # Panics
    /// If the input length differs from the configuration.
    pub fn forward(&self, wave: Tensor<2>) -> Tensor<3> {
        self.stages(wave).tfgram
    }

    /// The stem's output, the first block's after its pool, the second's after its pool, and the TFgram.
    ///
    /// # Shapes
    /// - `wave`: `[batch, samples]`; see [`TfgramStages`]
    ///
    /// # Panics
    /// As [`TfgramNet::forward`].
    pub fn stages(&self, wave: Tensor<2>) -> TfgramStages {
        assert_shape!(wave, [_, self.samples]);
        let stem = relu(crate::flex::conv::batch_norm1d(
            &self.pre_bn0,
            crate::flex::conv::conv1d(&self.pre_conv0, wave.unsqueeze_dim(1)),
        ));
        let block1 = max_pool1d(
            self.pre_block1.forward(stem.clone()),
            MaxPoolOptions::new([TFGRAM_FIRST_POOL]).with_stride([TFGRAM_FIRST_POOL]),
        );
        let block2 = adaptive_max_pool1d(self.pre_block2.forward(block1.clone()), 2 * self.frames);
        let tfgram = adaptive_max_pool1d(self.pre_block3.forward(block2.clone()), self.frames);
        TfgramStages {
            stem,
            block1,
            block2,
            tfgram,
        }
    }

    /// The layer table (`asd info`): the stem and the three blocks, with their output shapes.
    pub fn layers(&self, prefix: &str) -> Vec<LayerRow> {
        let [c1, c2] = TFGRAM_CHANNELS;
        let (stem, length) = count::conv1d(&self.pre_conv0, self.samples);
        let stem = stem
            + Count {
                params: 2 * c1,
                macs: 0,
            };
        let pooled = length / TFGRAM_FIRST_POOL;
        let row = |name: &str, shape: Vec<usize>, count| {
            LayerRow::new(format!("{prefix}.{name}"), shape, count, LayerRole::Network)
        };
        vec![
            row("pre_conv0", vec![c1, length], stem),
            row("pre_block1", vec![c1, pooled], self.pre_block1.count(length)),
            row("pre_block2", vec![c2, 2 * self.frames], self.pre_block2.count(pooled)),
            row(
                "pre_block3",
                vec![c2, self.frames],
                self.pre_block3.count(2 * self.frames),
            ),
        ]
    }

    /// Parameters and MACs: 198 720 and 1 460 322 304 for a 10-s clip (os_scl.md §7–8).
    pub fn count(&self) -> Count {
        count::total(&self.layers("tfgram"))
    }
}

/// The intermediate maps of [`TfgramNet::stages`].
#[derive(Clone, Debug)]
pub struct TfgramStages {
    /// ReLU(BN(stem conv)) `[batch, 64, samples / 5]`.
    pub stem: Tensor<3>,
    /// The first block after its max pool `[batch, 64, samples / 20]`.
    pub block1: Tensor<3>,
    /// The second block after its adaptive pool `[batch, 128, 2 · frames]`.
    pub block2: Tensor<3>,
    /// The TFgram `[batch, 128, frames]`.
    pub tfgram: Tensor<3>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Criterion (os_scl.md §3.2): 8000 → 626 windows are 13 or 14 long (140 of 13, 486 of 14), start (0, 13),
    /// (12, 26), (25, 39), (38, 52), end at 8000; 626 → 313 is a kernel-2, stride-2 pool.
    #[test]
    fn adaptive_windows_are_pytorchs() {
        let (indices, width) = adaptive_windows(8000, 626);
        assert_eq!(width, 14);
        let window = |i: usize| &indices[i * 14..(i + 1) * 14];
        assert_eq!((window(0)[0], window(0)[13]), (0, 12), "(0, 13) repeats its last index");
        assert_eq!((window(1)[0], window(1)[13]), (12, 25));
        assert_eq!((window(2)[0], window(3)[0]), (25, 38));
        assert_eq!(*indices.last().expect("indices"), 7999);
        let short = (0..626).filter(|&i| window(i)[12] == window(i)[13]).count();
        assert_eq!(short, 140);
        let (halves, width) = adaptive_windows(626, 313);
        assert_eq!(width, 2);
        assert!(halves.iter().enumerate().all(|(k, &i)| i == k as i64));
    }
}

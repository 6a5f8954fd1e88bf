//! MobileFaceNet as used by STgram-MFN, LogMel-MFN and SpecMFN (stgram_mfn.md §4): both bottleneck settings,
//! variant A (the original MobileFaceNet table, 15 bottlenecks, behind the STgram-MFN paper's results) and variant B
//! (the 2023 setting, 6 bottlenecks), chosen by [`MfnVariant`] (decisions.md §5). Input: an image
//! `[batch, channels, freq, time]` with 1, 2 or 3 channels; output: a 128-d embedding. The global depthwise layer
//! (linear7, "GDC") gets a kernel equal to the final feature map, so any input size works.

use crate::blocks::bottleneck::{Bottleneck, BottleneckConfig};
use crate::blocks::conv_block::{ConvBlock, ConvBlockConfig, Flow};
use crate::count::{self, Count, LayerRole, LayerRow};
use crate::error::Error;
use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor, assert_shape};

/// Bottleneck setting (t, c, n, s) of variant A: the original MobileFaceNet table, `Mobilefacenet_bottleneck_setting`
/// of STgram-MFN `model.py` (2021–2022, the paper's results; stgram_mfn.md §4.3).
pub const MFN_A_SETTING: [[usize; 4]; 5] = [
    [2, 64, 5, 2],
    [4, 128, 1, 2],
    [2, 128, 6, 1],
    [4, 128, 1, 2],
    [2, 128, 2, 1],
];
/// Bottleneck setting (t, c, n, s) of variant B: STgram-MFN `net.py` at d6c8865 ("refer to DCASE2022 Task2 Top-1").
pub const MFN_B_SETTING: [[usize; 4]; 3] = [[2, 128, 2, 2], [4, 128, 2, 2], [4, 128, 2, 2]];

/// Which MobileFaceNet bottleneck setting to build (stgram_mfn.md §4.3, decisions.md §5). Serialises as `"A"` /
/// `"B"`.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum MfnVariant {
    /// [`MFN_A_SETTING`]: 15 bottlenecks (STgram-MFN paper, presets `stgram-mfn` and `logmel-mfn`).
    A,
    /// [`MFN_B_SETTING`]: 6 bottlenecks (STgram-MFN 2023 code, SpecMFN, the attention net, OS-SCL).
    B,
}

impl MfnVariant {
    /// Bottleneck blocks of the variant (15 for A, 6 for B).
    pub fn n_blocks(self) -> usize {
        self.setting().iter().map(|[_, _, n, _]| n).sum()
    }

    /// The variant with `n_blocks` bottleneck blocks, if one has that many.
    pub fn with_blocks(n_blocks: usize) -> Option<MfnVariant> {
        [MfnVariant::A, MfnVariant::B]
            .into_iter()
            .find(|v| v.n_blocks() == n_blocks)
    }

    /// The bottleneck setting, one `[t, c, n, s]` per group (expansion, output channels, repeats, first stride).
    pub fn setting(self) -> Vec<[usize; 4]> {
        match self {
            MfnVariant::A => MFN_A_SETTING.to_vec(),
            MfnVariant::B => MFN_B_SETTING.to_vec(),
        }
    }
}

/// Channels of the stem convolutions conv1 and dw_conv1 (STgram-MFN `net.py`).
pub const MFN_STEM_CHANNELS: usize = 64;
/// Channels of conv2 and of the global depthwise linear7 (STgram-MFN `net.py`).
pub const MFN_CONV2_CHANNELS: usize = 512;
/// Embedding width of linear1 (STgram-MFN `net.py`).
pub const MFN_EMBEDDING_DIM: usize = 128;

/// Key renames from the reference PyTorch MobileFaceNet to [`MobileFaceNet`]'s field paths, whatever the prefix:
/// bottleneck `conv.0`–`conv.7` (an `nn.Sequential`) to named blocks, and PReLU `weight` to Burn's `alpha`.
pub(crate) const MFN_TORCH_KEY_MAP: [(&str, &str); 9] = [
    (r"\.conv\.0\.", ".expand.conv."),
    (r"\.conv\.1\.", ".expand.bn."),
    (r"\.conv\.2\.weight$", ".expand.prelu.weight"),
    (r"\.conv\.3\.", ".depthwise.conv."),
    (r"\.conv\.4\.", ".depthwise.bn."),
    (r"\.conv\.5\.weight$", ".depthwise.prelu.weight"),
    (r"\.conv\.6\.", ".project.conv."),
    (r"\.conv\.7\.", ".project.bn."),
    (r"\.prelu\.weight$", ".prelu.alpha"),
];

/// Configuration of a [`MobileFaceNet`].
#[derive(Config, Debug)]
pub struct MobileFaceNetConfig {
    /// Input image size `[F, T]`; fixes the kernel of the global depthwise layer linear7.
    pub input_size: [usize; 2],
    /// Input channels (1 for a spectrogram-like image, 2 for STgram-MFN's log-Mel + Tgram, 3 for OS-SCL's TF-STgram).
    #[config(default = 1)]
    pub in_channels: usize,
    /// Bottleneck setting, one `[t, c, n, s]` per group: expansion, output channels, repeats, first stride; usually
    /// [`MfnVariant::setting`]. Default: variant B.
    #[config(default = "MFN_B_SETTING.to_vec()")]
    pub setting: Vec<[usize; 4]>,
    /// Channels of conv1 and dw_conv1.
    #[config(default = "MFN_STEM_CHANNELS")]
    pub stem_channels: usize,
    /// Channels of conv2 and linear7.
    #[config(default = "MFN_CONV2_CHANNELS")]
    pub conv2_channels: usize,
    /// Embedding width (linear1).
    #[config(default = "MFN_EMBEDDING_DIM")]
    pub embedding_dim: usize,
}

/// Size after a 3×3 convolution with padding 1 and stride `s`: ⌊(n − 1)/s⌋ + 1.
fn strided(size: [usize; 2], stride: usize) -> [usize; 2] {
    size.map(|n| (n - 1) / stride + 1)
}

impl MobileFaceNetConfig {
    /// Checks the settings; returns the feature-map size `[F', T']` reaching linear7 (its kernel).
    ///
    /// # Errors
    /// [`Error::Config`] for a zero size, width, expansion, repeat count or stride.
    pub fn check(&self) -> crate::Result<[usize; 2]> {
        let invalid = |field: String| Error::Config {
            field,
            reason: "must be at least 1".into(),
        };
        let named = [
            ("mfn.input_size", self.input_size.iter().min().copied().unwrap_or(0)),
            ("mfn.in_channels", self.in_channels),
            ("mfn.stem_channels", self.stem_channels),
            ("mfn.conv2_channels", self.conv2_channels),
            ("mfn.embedding_dim", self.embedding_dim),
        ];
        if let Some((field, _)) = named.iter().find(|(_, value)| *value == 0) {
            return Err(invalid(field.to_string()));
        }
        if self.setting.is_empty() {
            return Err(Error::Config {
                field: "mfn.setting".into(),
                reason: "needs at least one group".into(),
            });
        }
        let mut size = strided(self.input_size, 2);
        for (group, &[t, c, n, s]) in self.setting.iter().enumerate() {
            if t == 0 || c == 0 || n == 0 || s == 0 {
                return Err(invalid(format!("mfn.setting[{group}]")));
            }
            size = strided(size, s);
        }
        Ok(size)
    }

    /// Checks the configuration and builds the network (reference initialisation, see [`ConvBlockConfig::init`]).
    ///
    /// # Errors
    /// As [`check`](Self::check).
    pub fn init(&self, device: &Device) -> crate::Result<MobileFaceNet> {
        let final_size = self.check()?;
        let stem = self.stem_channels;
        let mut in_channels = stem;
        let mut blocks = Vec::new();
        for &[t, c, n, s] in &self.setting {
            for i in 0..n {
                let stride = if i == 0 { s } else { 1 };
                blocks.push(BottleneckConfig::new(in_channels, c, stride, t).init(device));
                in_channels = c;
            }
        }
        let wide = self.conv2_channels;
        Ok(MobileFaceNet {
            conv1: ConvBlockConfig::new(self.in_channels, stem, [3, 3])
                .with_stride([2, 2])
                .with_padding([1, 1])
                .init(device),
            dw_conv1: ConvBlockConfig::new(stem, stem, [3, 3])
                .with_padding([1, 1])
                .with_groups(stem)
                .init(device),
            blocks,
            conv2: ConvBlockConfig::new(in_channels, wide, [1, 1]).init(device),
            linear7: ConvBlockConfig::new(wide, wide, final_size)
                .with_groups(wide)
                .with_linear(true)
                .init(device),
            linear1: ConvBlockConfig::new(wide, self.embedding_dim, [1, 1])
                .with_linear(true)
                .init(device),
            input_size: self.input_size,
        })
    }
}

/// MobileFaceNet (either variant) without the reference's `fc_out`, whose role the classification heads of
/// [`crate::head`] take.
#[derive(Module, Debug)]
pub struct MobileFaceNet {
    /// 3×3 stride-2 conv → BN → PReLU.
    pub conv1: ConvBlock,
    /// 3×3 depthwise conv → BN → PReLU.
    pub dw_conv1: ConvBlock,
    /// The bottlenecks, in order.
    pub blocks: Vec<Bottleneck>,
    /// 1×1 conv to `conv2_channels` → BN → PReLU.
    pub conv2: ConvBlock,
    /// Global depthwise conv over the whole remaining map → BN (no activation).
    pub linear7: ConvBlock,
    /// 1×1 conv to the embedding width → BN (no activation).
    pub linear1: ConvBlock,
    /// Input image size `[F, T]` the network was built for.
    pub input_size: [usize; 2],
}

/// In training on the CPU, a bottleneck's expansion output holding at least 1/`RECOMPUTED_SHARE` as many values as
/// the stem's output is computed again in the backward pass instead of kept ([`Bottleneck::flow`]): the widest
/// tensors of the network (with variant A on a 128 × 313 input, blocks 0–5 and 12, 5.5 stem outputs' worth at the
/// cost of 10 % more multiply-adds per step; `docs/performance.md`, "Memory").
const RECOMPUTED_SHARE: usize = 2;

/// One stage of the network, in forward order.
enum Stage<'a> {
    Conv(&'a ConvBlock),
    Block(&'a Bottleneck),
}

impl<'a> Stage<'a> {
    /// The stage on a [`Flow`] ([`ConvBlock::flow`]); a bottleneck recomputes its expansion when told
    /// ([`Bottleneck::flow`]).
    fn flow(&self, x: Flow<'a>, recompute_expansion: bool) -> Flow<'a> {
        match self {
            Stage::Conv(block) => block.flow(x),
            Stage::Block(block) => block.flow(x, recompute_expansion),
        }
    }

    /// Values per item of a bottleneck's expansion output on an input of `size` (0 for a convolution block).
    fn expansion_values(&self, size: [usize; 2]) -> usize {
        match self {
            Stage::Conv(_) => 0,
            Stage::Block(block) => block.expand.conv.weight.dims()[0] * size[0] * size[1],
        }
    }

    /// Count and output size for an input of `size`, and the output channels.
    fn count(&self, size: [usize; 2]) -> (Count, [usize; 2], usize) {
        let (count, out) = match self {
            Stage::Conv(block) => block.count(size),
            Stage::Block(block) => block.count(size),
        };
        let last = match self {
            Stage::Conv(block) => block,
            Stage::Block(block) => &block.project,
        };
        (count, out, last.conv.weight.shape().dims::<4>()[0])
    }
}

impl MobileFaceNet {
    /// The stages with their field paths, in forward order.
    fn stages(&self) -> impl Iterator<Item = (String, Stage<'_>)> {
        let conv = |name: &str, block| (name.to_string(), Stage::Conv(block));
        [conv("conv1", &self.conv1), conv("dw_conv1", &self.dw_conv1)]
            .into_iter()
            .chain(
                self.blocks
                    .iter()
                    .enumerate()
                    .map(|(i, block)| (format!("blocks.{i}"), Stage::Block(block))),
            )
            .chain([
                conv("conv2", &self.conv2),
                conv("linear7", &self.linear7),
                conv("linear1", &self.linear1),
            ])
    }

    /// The embedding of each image.
    ///
    /// # Shapes
    /// - `image`: `[batch, in_channels, F, T]` with `[F, T]` = `input_size`; output `[batch, embedding_dim]`
    ///
    /// # Panics
    /// If the image size differs from `input_size` or the channel count from the configuration.
    pub fn forward(&self, image: Tensor<4>) -> Tensor<2> {
        let [f, t] = self.input_size;
        assert_shape!(image, [_, _, f, t]);
        // in training, an expansion of at least 1/RECOMPUTED_SHARE of the stem output's values is not kept
        let stem = self.conv1.conv.weight.dims()[0] * strided(self.input_size, 2).iter().product::<usize>();
        let (out, _) = self
            .stages()
            .fold((Flow::Ready(image), self.input_size), |(x, size), (_, stage)| {
                let wide = RECOMPUTED_SHARE * stage.expansion_values(size) >= stem;
                (stage.flow(x, wide), stage.count(size).1)
            });
        out.resolve().flatten(1, 3)
    }

    /// Every stage's output in forward order: conv1, dw_conv1, each bottleneck, conv2, linear7, linear1 (the names
    /// of [`layers`](Self::layers)).
    ///
    /// # Shapes
    /// As [`forward`](Self::forward); each output is `[batch, channels, height, width]`.
    ///
    /// # Panics
    /// As [`forward`](Self::forward).
    pub fn activations(&self, image: Tensor<4>) -> Vec<Tensor<4>> {
        let [f, t] = self.input_size;
        assert_shape!(image, [_, _, f, t]);
        let mut x = image;
        self.stages()
            .map(|(_, stage)| {
                x = stage.flow(Flow::Ready(x.clone()), false).resolve();
                x.clone()
            })
            .collect()
    }

    /// The layer table of one image of `input_size`: one [`Network`](LayerRole::Network) row per stage (named
    /// `{prefix}.conv1`, …, `{prefix}.blocks.{i}`, …, `{prefix}.linear1`, output `[channels, height, width]`).
    pub fn layers(&self, prefix: &str) -> Vec<LayerRow> {
        let mut size = self.input_size;
        self.stages()
            .map(|(name, stage)| {
                let (count, out, channels) = stage.count(size);
                size = out;
                LayerRow::new(
                    format!("{prefix}.{name}"),
                    vec![channels, out[0], out[1]],
                    count,
                    LayerRole::Network,
                )
            })
            .collect()
    }

    /// Parameters (conv weights, BN γ/β, PReLU) and MACs of one image of `input_size`: the sum of
    /// [`layers`](Self::layers).
    pub fn count(&self) -> Count {
        count::total(&self.layers("mfn"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Criterion: asdnet_specmfn.md §3.4 table, sum of the `mfn.*` rows without fc_out on a 128×36 image:
    /// params 800 128 (= 1 047 040 − SpecNet's 246 912) and MACs 82 526 208 (= 184 037 376 − 101 511 168);
    /// linear7's kernel is 8×3.
    #[test]
    fn counts_on_the_specmfn_image_match_the_spec() {
        let device = Device::flex();
        let config = MobileFaceNetConfig::new([128, 36]);
        assert_eq!(config.check().ok(), Some([8, 3]));
        let mfn = config.init(&device).expect("valid");
        let count = mfn.count();
        assert_eq!(count.params, 800_128);
        assert_eq!(count.macs, 82_526_208);
    }

    /// Criterion: variant A follows stgram_mfn.md §4.3: 15 bottlenecks with residual connections exactly on
    /// b1–b4, b6–b11, b13–b14, and the spec's block widths (b0 64→64 h128, b5 64→128 h256, b12 128→128 h512).
    #[test]
    fn variant_a_has_the_spec_blocks() {
        let device = Device::flex();
        let mfn = MobileFaceNetConfig::new([128, 313])
            .with_setting(MfnVariant::A.setting())
            .init(&device)
            .expect("valid");
        assert_eq!(mfn.blocks.len(), 15);
        let residual: Vec<usize> = (0..15).filter(|&i| mfn.blocks[i].residual).collect();
        assert_eq!(residual, [1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 13, 14]);
        let widths = |i: usize| {
            let [hidden, inp, _, _] = mfn.blocks[i].expand.conv.weight.shape().dims();
            let [out, ..] = mfn.blocks[i].project.conv.weight.shape().dims::<4>();
            (inp, hidden, out)
        };
        assert_eq!(widths(0), (64, 128, 64));
        assert_eq!(widths(5), (64, 256, 128));
        assert_eq!(widths(12), (128, 512, 128));
    }

    /// Criterion: the initialisation of stgram_mfn.md §4.5 — conv weights N(0, σ²) with σ = √(2/(kh·kw·C_out)),
    /// depthwise and GDC included: sample standard deviation within 5 % of σ (standard error ≤ 1.1 % for the
    /// ≥ 4 608 draws used) and |mean| below 5 standard errors; every BatchNorm γ = 1, β = 0, running mean 0 and
    /// variance 1; every PReLU slope 0.25.
    #[test]
    fn init_follows_the_reference() {
        let device = Device::flex();
        let mfn = crate::init::seeded(&device, 5, |d| {
            MobileFaceNetConfig::new([128, 313])
                .with_in_channels(2)
                .with_setting(MfnVariant::A.setting())
                .init(d)
        })
        .expect("valid");
        let values = |t: Tensor<1>| t.into_data().try_to_vec::<f32>().expect("f32"); // ok: test
        let convs = [
            (&mfn.conv2, 0.0625),
            (&mfn.linear7, (2.0 / (8.0 * 20.0 * 512.0_f64)).sqrt()),
            (&mfn.blocks[12].depthwise, (2.0 / (9.0 * 512.0_f64)).sqrt()),
            (&mfn.linear1, 0.125),
        ];
        for (i, (block, sigma)) in convs.into_iter().enumerate() {
            let w = values(block.conv.weight.val().flatten(0, 3));
            let n = w.len() as f64;
            let mean = w.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
            let std = (w.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n).sqrt();
            assert!((std / sigma - 1.0).abs() < 0.05, "conv {i}: std {std} vs {sigma}");
            assert!(mean.abs() < 5.0 * sigma / n.sqrt(), "conv {i}: mean {mean}");
        }
        let blocks = mfn.blocks.iter().flat_map(|b| [&b.expand, &b.depthwise, &b.project]);
        let all = [&mfn.conv1, &mfn.dw_conv1, &mfn.conv2, &mfn.linear7, &mfn.linear1]
            .into_iter()
            .chain(blocks);
        for block in all {
            let bn = &block.bn;
            assert!(values(bn.gamma.val()).iter().all(|&g| g == 1.0));
            assert!(values(bn.beta.val()).iter().all(|&b| b == 0.0));
            assert!(values(bn.running_mean.value()).iter().all(|&m| m == 0.0));
            assert!(values(bn.running_var.value()).iter().all(|&v| v == 1.0));
            if let Some(prelu) = &block.prelu {
                assert!(values(prelu.alpha.val()).iter().all(|&a| a == 0.25));
            }
        }
    }
}

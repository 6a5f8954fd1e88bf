//! MobileFaceNet as used by STgram-MFN and SpecMFN: variant B of stgram_mfn.md §4, the 2022 bottleneck setting
//! (asdnet_specmfn.md §3.3, decisions.md §5). Input: a one-channel image `[batch, 1, F, T]`; output: a 128-d
//! embedding.

use crate::blocks::bottleneck::{Bottleneck, BottleneckConfig};
use crate::blocks::conv_block::{ConvBlock, ConvBlockConfig};
use crate::count::Count;
use crate::error::Error;
use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor, assert_shape};

/// Bottleneck setting (t, c, n, s) of variant B: STgram-MFN `net.py` at d6c8865 ("refer to DCASE2022 Task2 Top-1").
pub const MFN_B_SETTING: [[usize; 4]; 3] = [[2, 128, 2, 2], [4, 128, 2, 2], [4, 128, 2, 2]];
/// Channels of the stem convolutions conv1 and dw_conv1 (STgram-MFN `net.py`).
pub const MFN_STEM_CHANNELS: usize = 64;
/// Channels of conv2 and of the global depthwise linear7 (STgram-MFN `net.py`).
pub const MFN_CONV2_CHANNELS: usize = 512;
/// Embedding width of linear1 (STgram-MFN `net.py`).
pub const MFN_EMBEDDING_DIM: usize = 128;

/// Configuration of a [`MobileFaceNet`].
#[derive(Config, Debug)]
pub struct MobileFaceNetConfig {
    /// Input image size `[F, T]`; fixes the kernel of the global depthwise layer linear7.
    pub input_size: [usize; 2],
    /// Input channels (1 for a spectrogram-like image).
    #[config(default = 1)]
    pub in_channels: usize,
    /// Bottleneck setting, one `[t, c, n, s]` per group: expansion, output channels, repeats, first stride.
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

/// MobileFaceNet (variant B) without the unused `fc_out` of the reference.
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

/// One stage of the network, in forward order.
enum Stage<'a> {
    Conv(&'a ConvBlock),
    Block(&'a Bottleneck),
}

impl Stage<'_> {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        match self {
            Stage::Conv(block) => block.forward(x),
            Stage::Block(block) => block.forward(x),
        }
    }

    fn count(&self, size: [usize; 2]) -> (Count, [usize; 2]) {
        match self {
            Stage::Conv(block) => block.count(size),
            Stage::Block(block) => block.count(size),
        }
    }
}

impl MobileFaceNet {
    fn stages(&self) -> impl Iterator<Item = Stage<'_>> {
        [Stage::Conv(&self.conv1), Stage::Conv(&self.dw_conv1)]
            .into_iter()
            .chain(self.blocks.iter().map(Stage::Block))
            .chain([
                Stage::Conv(&self.conv2),
                Stage::Conv(&self.linear7),
                Stage::Conv(&self.linear1),
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
        self.stages().fold(image, |x, stage| stage.forward(x)).flatten(1, 3)
    }

    /// Every stage's output in forward order: conv1, dw_conv1, each bottleneck, conv2, linear7, linear1.
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
            .map(|stage| {
                x = stage.forward(x.clone());
                x.clone()
            })
            .collect()
    }

    /// Parameters (conv weights, BN γ/β, PReLU) and MACs of one image of `input_size`.
    pub fn count(&self) -> Count {
        self.stages()
            .fold((Count::default(), self.input_size), |(total, size), stage| {
                let (count, out) = stage.count(size);
                (total + count, out)
            })
            .0
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
}

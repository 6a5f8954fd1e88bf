//! SE-ResNet18, the embedding network of the DCASE 2025 first-shot system (seed 003; firstshot2025.md §7): a
//! ResNet-18 layout (7 × 7 stem with max-pooling, four stages of two basic blocks) whose blocks end in a
//! squeeze-and-excitation gate (reduction 16) on the residual branch, global average pooling, then BatchNorm1d and a
//! Linear projection to the 256-value embedding `[a (128) | c (128)]`. Convolutions and the projection have no bias;
//! every BatchNorm has ε 1e-5 and momentum 0.1 (PyTorch's defaults). On a 1 × 128 × 313 log-Mel: 11 389 376
//! parameters and 1 411 130 368 conv + linear MACs.

use crate::blocks::conv_block::torch_batch_norm;
use crate::count::{self, Count, LayerRole, LayerRow};
use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, Initializer, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;
use burn::tensor::{Device, Tensor, assert_shape};

/// Channels of the four stages (ResNet-18, He et al. 2016; firstshot2025.md §7).
pub const SE_RESNET_WIDTHS: [usize; 4] = [64, 128, 256, 512];
/// Squeeze-and-excitation reduction ratio (Hu et al. 2018; firstshot2025.md §7).
pub const SE_REDUCTION: usize = 16;
/// Embedding width: two 128-value halves for FeatEx (firstshot2025.md §6.4, §7).
pub const SE_RESNET_EMBEDDING: usize = 256;
/// Stem kernel, stride and padding (ResNet-18).
const STEM: (usize, usize, usize) = (7, 2, 3);
/// Max-pooling kernel, stride and padding after the stem (ResNet-18).
const POOL: (usize, usize, usize) = (3, 2, 1);
/// Kaiming-normal gain for ReLU, √2 (torchvision ResNet's `kaiming_normal_(mode="fan_out", nonlinearity="relu")`;
/// firstshot2025.md §7).
const RELU_GAIN: f64 = std::f64::consts::SQRT_2;

/// Settings of [`SeResNet`]; the defaults are firstshot2025.md §7's.
#[derive(Config, Debug)]
pub struct SeResNetConfig {
    /// Channels of the four stages.
    #[config(default = "SE_RESNET_WIDTHS")]
    pub widths: [usize; 4],
    /// Squeeze-and-excitation reduction ratio: a gate of `c` channels has `c / reduction` hidden units.
    #[config(default = "SE_REDUCTION")]
    pub reduction: usize,
    /// Embedding width.
    #[config(default = "SE_RESNET_EMBEDDING")]
    pub embedding_dim: usize,
}

impl SeResNetConfig {
    /// Checks that every width is at least 1 and that each stage keeps at least one gate unit.
    ///
    /// # Errors
    /// [`crate::Error::Config`] naming the setting.
    pub fn check(&self) -> crate::Result<()> {
        let bad = |field: &str, reason: String| {
            Err(crate::Error::Config {
                field: format!("se-resnet.{field}"),
                reason,
            })
        };
        if self.reduction == 0 {
            return bad("reduction", "must be at least 1".into());
        }
        if self.embedding_dim == 0 {
            return bad("embedding_dim", "must be at least 1".into());
        }
        if let Some(&w) = self.widths.iter().find(|&&w| w < self.reduction) {
            return bad(
                "widths",
                format!(
                    "a stage of {w} channels leaves no gate unit at reduction {}",
                    self.reduction
                ),
            );
        }
        Ok(())
    }

    /// Builds the network: convolution and Linear weights Kaiming-normal (fan out, ReLU gain), BatchNorm γ 1, β 0.
    ///
    /// # Errors
    /// As [`SeResNetConfig::check`].
    pub fn init(&self, device: &Device) -> crate::Result<SeResNet> {
        self.check()?;
        let [w1, w2, w3, w4] = self.widths;
        let stage = |c_in: usize, c: usize, stride: usize| {
            vec![self.block(c_in, c, stride, device), self.block(c, c, 1, device)]
        };
        let (k, s, p) = STEM;
        Ok(SeResNet {
            conv1: conv(1, w1, k, s, p, device),
            bn1: torch_batch_norm(w1, device),
            layer1: stage(w1, w1, 1),
            layer2: stage(w1, w2, 2),
            layer3: stage(w2, w3, 2),
            layer4: stage(w3, w4, 2),
            head_bn: torch_batch_norm(w4, device),
            head: linear(w4, self.embedding_dim, device),
        })
    }

    fn block(&self, c_in: usize, c: usize, stride: usize, device: &Device) -> SeBasicBlock {
        SeBasicBlock {
            conv1: conv(c_in, c, 3, stride, 1, device),
            bn1: torch_batch_norm(c, device),
            conv2: conv(c, c, 3, 1, 1, device),
            bn2: torch_batch_norm(c, device),
            se: SqueezeExcite {
                fc1: linear(c, c / self.reduction, device),
                fc2: linear(c / self.reduction, c, device),
            },
            downsample: (stride != 1 || c_in != c).then(|| Downsample {
                conv: conv(c_in, c, 1, stride, 0, device),
                bn: torch_batch_norm(c, device),
            }),
        }
    }
}

/// The Kaiming-normal initialiser of §7 (fan out, ReLU gain).
fn kaiming_fan_out() -> Initializer {
    Initializer::KaimingNormal {
        gain: RELU_GAIN,
        fan_out_only: true,
    }
}

/// A square convolution without bias.
fn conv(c_in: usize, c_out: usize, kernel: usize, stride: usize, padding: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([c_in, c_out], [kernel, kernel])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(padding, padding, padding, padding))
        .with_bias(false)
        .with_initializer(kaiming_fan_out())
        .init(device)
}

/// A Linear layer without bias.
fn linear(d_in: usize, d_out: usize, device: &Device) -> Linear {
    LinearConfig::new(d_in, d_out)
        .with_bias(false)
        .with_initializer(kaiming_fan_out())
        .init(device)
}

/// The squeeze-and-excitation gate: channel means → Linear → ReLU → Linear → sigmoid, multiplied into the map.
#[derive(Module, Debug)]
pub struct SqueezeExcite {
    /// `c → c / reduction`, no bias.
    pub fc1: Linear,
    /// `c / reduction → c`, no bias.
    pub fc2: Linear,
}

impl SqueezeExcite {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [batch, channels, _, _] = x.dims();
        let squeezed = x.clone().mean_dim(3).mean_dim(2).reshape([batch, channels]);
        let gate = sigmoid(self.fc2.forward(relu(self.fc1.forward(squeezed))));
        x * gate.reshape([batch, channels, 1, 1])
    }

    fn count(&self) -> Count {
        count::linear(&self.fc1) + count::linear(&self.fc2)
    }
}

/// The projection shortcut of a block that changes the stride or the width: 1 × 1 convolution and BatchNorm.
#[derive(Module, Debug)]
pub struct Downsample {
    /// 1 × 1 convolution with the block's stride, no bias.
    pub conv: Conv2d,
    /// Its BatchNorm.
    pub bn: BatchNorm,
}

/// A basic block with a squeeze-and-excitation gate on its residual branch before the addition.
#[derive(Module, Debug)]
pub struct SeBasicBlock {
    /// 3 × 3 convolution with the block's stride.
    pub conv1: Conv2d,
    /// BatchNorm after `conv1`.
    pub bn1: BatchNorm,
    /// 3 × 3 convolution, stride 1.
    pub conv2: Conv2d,
    /// BatchNorm after `conv2`.
    pub bn2: BatchNorm,
    /// The gate.
    pub se: SqueezeExcite,
    /// The projection shortcut; `None` for the identity.
    pub downsample: Option<Downsample>,
}

/// A convolution followed by its BatchNorm, on the Flex fast paths where they serve (the stem, over one channel,
/// takes the im2col route too: `flex::conv::conv2d_im2col`).
fn conv_bn(conv: &Conv2d, bn: &BatchNorm, x: Tensor<4>) -> Tensor<4> {
    crate::flex::conv::batch_norm2d(bn, crate::flex::conv::conv2d(conv, x))
}

impl SeBasicBlock {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let y = relu(conv_bn(&self.conv1, &self.bn1, x.clone()));
        let y = self.se.forward(conv_bn(&self.conv2, &self.bn2, y));
        let shortcut = match &self.downsample {
            Some(d) => conv_bn(&d.conv, &d.bn, x),
            None => x,
        };
        relu(y + shortcut)
    }

    /// Parameters and MACs for an input of `[height, width]`; also returns the output size.
    fn count(&self, size: [usize; 2]) -> (Count, [usize; 2]) {
        let bn = |bn: &BatchNorm| Count {
            params: 2 * bn.gamma.shape().num_elements(),
            macs: 0,
        };
        let (c1, out) = count::conv2d(&self.conv1, size);
        let (c2, _) = count::conv2d(&self.conv2, out);
        let shortcut = self
            .downsample
            .as_ref()
            .map_or(Count::default(), |d| count::conv2d(&d.conv, size).0 + bn(&d.bn));
        (
            c1 + bn(&self.bn1) + c2 + bn(&self.bn2) + self.se.count() + shortcut,
            out,
        )
    }
}

/// SE-ResNet18 (module docs).
#[derive(Module, Debug)]
pub struct SeResNet {
    /// The 7 × 7 stem convolution, stride 2.
    pub conv1: Conv2d,
    /// The stem's BatchNorm.
    pub bn1: BatchNorm,
    /// Stage 1: two blocks at the first width, stride 1.
    pub layer1: Vec<SeBasicBlock>,
    /// Stage 2: stride 2.
    pub layer2: Vec<SeBasicBlock>,
    /// Stage 3: stride 2.
    pub layer3: Vec<SeBasicBlock>,
    /// Stage 4: stride 2.
    pub layer4: Vec<SeBasicBlock>,
    /// BatchNorm1d over the pooled features.
    pub head_bn: BatchNorm,
    /// The projection to the embedding, no bias.
    pub head: Linear,
}

impl SeResNet {
    fn stages(&self) -> [(&'static str, &[SeBasicBlock]); 4] {
        [
            ("layer1", &self.layer1),
            ("layer2", &self.layer2),
            ("layer3", &self.layer3),
            ("layer4", &self.layer4),
        ]
    }

    /// Embeds a batch of log-Mel images (BatchNorm on batch statistics in training, running ones otherwise).
    ///
    /// # Shapes
    /// - `input`: `[batch, 1, n_mels, frames]`; output `[batch, embedding_dim]`
    ///
    /// # Panics
    /// If the input has not one channel, or is too small for the stem.
    pub fn forward(&self, input: Tensor<4>) -> Tensor<2> {
        assert_shape!(input, [_, 1, _, _]);
        let (k, s, p) = POOL;
        let stem = crate::flex::conv::conv2d_im2col(&self.conv1, input);
        let x = relu(crate::flex::conv::batch_norm2d(&self.bn1, stem));
        let x = max_pool2d(x, MaxPoolOptions::new([k, k]).with_stride([s, s]).with_padding([p, p]));
        let x = self
            .stages()
            .into_iter()
            .flat_map(|(_, blocks)| blocks)
            .fold(x, |x, block| block.forward(x));
        let [batch, channels, _, _] = x.dims();
        let pooled = x.mean_dim(3).mean_dim(2).reshape([batch, channels]);
        self.head
            .forward(crate::flex::conv::batch_norm_vectors(&self.head_bn, pooled))
    }

    /// The layer table for an input of `[n_mels, frames]`: the stem, each block, the head; MACs per image.
    pub fn layers(&self, size: [usize; 2]) -> Vec<LayerRow> {
        let (stem, out) = count::conv2d(&self.conv1, size);
        let [c1, ..] = self.conv1.weight.dims();
        let stem = stem
            + Count {
                params: 2 * c1,
                macs: 0,
            };
        let (k, s, p) = POOL;
        let pool = |n: usize| count::conv_out_len(n, k, s, 1, 2 * p).unwrap_or(0);
        let mut size = [pool(out[0]), pool(out[1])];
        let mut rows = vec![LayerRow::new(
            "conv1",
            vec![c1, out[0], out[1]],
            stem,
            LayerRole::Network,
        )];
        for (name, blocks) in self.stages() {
            for (i, block) in blocks.iter().enumerate() {
                let (c, next) = block.count(size);
                let [channels, ..] = block.conv2.weight.dims();
                rows.push(LayerRow::new(
                    format!("{name}.{i}"),
                    vec![channels, next[0], next[1]],
                    c,
                    LayerRole::Network,
                ));
                size = next;
            }
        }
        let [_, embedding] = self.head.weight.dims();
        let head = count::linear(&self.head)
            + Count {
                params: 2 * self.head_bn.gamma.shape().num_elements(),
                macs: 0,
            };
        rows.push(LayerRow::new("head", vec![embedding], head, LayerRole::Network));
        rows
    }

    /// Parameters and MACs for an input of `[n_mels, frames]`.
    pub fn count(&self, size: [usize; 2]) -> Count {
        count::total(&self.layers(size))
    }

    /// Σ‖W‖² over every convolution and Linear weight (the stem, the blocks' convolutions, shortcuts and gates, the
    /// projection; not BatchNorm): the L2 term of firstshot2025.md §8.3, `[1]`, tracked for gradients.
    pub fn weight_square_sum(&self) -> Tensor<1> {
        let square = |w: Tensor<4>| w.square().sum();
        let dense = |l: &Linear| l.weight.val().square().sum();
        let mut total = square(self.conv1.weight.val()) + dense(&self.head);
        for (_, blocks) in self.stages() {
            for block in blocks {
                total = total
                    + square(block.conv1.weight.val())
                    + square(block.conv2.weight.val())
                    + dense(&block.se.fc1)
                    + dense(&block.se.fc2);
                if let Some(d) = &block.downsample {
                    total = total + square(d.conv.weight.val());
                }
            }
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Criterion (firstshot2025.md §7): 11 389 376 parameters and 1 411 130 368 conv + linear MACs on a
    /// 128 × 313 log-Mel; the table's per-block parameters (74 496 in stage 1, 232 192 + 297 472 in stage 2, …).
    #[test]
    fn counts_are_the_specs() {
        let model = SeResNetConfig::new().init(&Device::flex()).expect("paper sizes");
        let count = model.count([128, 313]);
        assert_eq!((count.params, count.macs), (11_389_376, 1_411_130_368));
        let blocks: Vec<usize> = model.layers([128, 313])[1..9].iter().map(|r| r.count.params).collect();
        assert_eq!(
            blocks,
            [
                74_496, 74_496, 232_192, 297_472, 927_232, 1_188_864, 3_705_856, 4_753_408
            ]
        );
        assert_eq!(model.layers([128, 313])[8].output_shape, [512, 4, 10]);
    }

    #[test]
    fn a_width_below_the_reduction_is_refused() {
        let bad = SeResNetConfig::new().with_widths([8, 16, 32, 64]);
        assert!(bad.check().is_err());
    }
}

//! MobileFaceNet's `ConvBlock`: Conv2d (no bias) → BatchNorm → PReLU, or Conv2d → BatchNorm when "linear"
//! (asdnet_specmfn.md §3.3, STgram-MFN `net.py`).

use crate::count::Count;
use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Initializer, PRelu, PReluConfig, PaddingConfig2d};
use burn::tensor::{Device, Tensor};

/// BatchNorm2d ε (PyTorch default, asdnet_specmfn.md §3.3).
pub const BN_EPSILON: f64 = 1e-5;
/// BatchNorm2d momentum (PyTorch default, asdnet_specmfn.md §3.3).
pub const BN_MOMENTUM: f64 = 0.1;
/// A BatchNorm over `channels` with PyTorch's defaults ([`BN_EPSILON`], [`BN_MOMENTUM`]; γ 1, β 0), 1-D or 2-D alike.
pub fn torch_batch_norm(channels: usize, device: &Device) -> BatchNorm {
    BatchNormConfig::new(channels)
        .with_epsilon(BN_EPSILON)
        .with_momentum(BN_MOMENTUM)
        .init(device)
}

/// Initial PReLU slope (PyTorch default `init=0.25`).
pub const PRELU_INIT: f64 = 0.25;

/// Configuration of a [`ConvBlock`].
#[derive(Config, Debug)]
pub struct ConvBlockConfig {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Kernel `[height, width]`.
    pub kernel: [usize; 2],
    /// Stride `[height, width]`.
    #[config(default = "[1, 1]")]
    pub stride: [usize; 2],
    /// Zero padding `[height, width]`, on both sides.
    #[config(default = "[0, 0]")]
    pub padding: [usize; 2],
    /// Groups; `in_channels` for a depthwise convolution.
    #[config(default = 1)]
    pub groups: usize,
    /// `true` for conv → BN only (MobileFaceNet's "linear" blocks), `false` for conv → BN → PReLU.
    #[config(default = false)]
    pub linear: bool,
}

impl ConvBlockConfig {
    /// Builds the block with the reference initialisation: conv weights ~ N(0, √(2/(kh·kw·C_out))) (STgram-MFN
    /// `MobileFaceNet.__init__`, depthwise included), BN γ = 1, β = 0, running mean 0 and variance 1, PReLU 0.25.
    ///
    /// # Panics
    /// If a channel count, kernel size or stride is 0 or the channels are not divisible by `groups`.
    pub fn init(&self, device: &Device) -> ConvBlock {
        let [kh, kw] = self.kernel;
        let std = (2.0 / (kh * kw * self.out_channels) as f64).sqrt();
        let [ph, pw] = self.padding;
        let conv = Conv2dConfig::new([self.in_channels, self.out_channels], self.kernel)
            .with_stride(self.stride)
            .with_padding(PaddingConfig2d::Explicit(ph, pw, ph, pw))
            .with_groups(self.groups)
            .with_bias(false)
            .with_initializer(Initializer::Normal { mean: 0.0, std })
            .init(device);
        let bn = BatchNormConfig::new(self.out_channels)
            .with_epsilon(BN_EPSILON)
            .with_momentum(BN_MOMENTUM)
            .init(device);
        let prelu = (!self.linear).then(|| {
            PReluConfig::new()
                .with_num_parameters(self.out_channels)
                .with_alpha(PRELU_INIT)
                .init(device)
        });
        ConvBlock { conv, bn, prelu }
    }
}

/// Conv2d → BatchNorm (→ PReLU). Parameters stored as `conv.weight`, `bn.*`, `prelu.alpha`.
#[derive(Module, Debug)]
pub struct ConvBlock {
    /// The convolution (no bias).
    pub conv: Conv2d,
    /// Batch normalisation (running statistics are used on a non-autodiff device).
    pub bn: BatchNorm,
    /// Per-channel PReLU; `None` for a linear block.
    pub prelu: Option<PRelu>,
}

impl ConvBlock {
    /// Applies the block.
    ///
    /// # Shapes
    /// - `input`: `[batch, in_channels, height, width]`; output `[batch, out_channels, height', width']`
    ///
    /// # Panics
    /// If the channel axis differs from `in_channels`.
    pub fn forward(&self, input: Tensor<4>) -> Tensor<4> {
        self.flow(Flow::Ready(input)).resolve()
    }

    /// Applies the block to a [`Flow`], leaving its BatchNorm and PReLU pending when it trains on the CPU, so that
    /// the next block's convolution computes them as one operation with itself and keeps only this block's
    /// convolution output for the backward pass (`crate::flex::norm`). Chain the blocks of a network through
    /// `flow` and [`Flow::resolve`] the end; the values and gradients are those of [`ConvBlock::forward`] one
    /// after another, bit for bit.
    ///
    /// # Shapes
    /// As [`ConvBlock::forward`].
    ///
    /// # Panics
    /// As [`ConvBlock::forward`].
    pub fn flow<'a>(&'a self, input: Flow<'a>) -> Flow<'a> {
        let y = match input {
            Flow::Pending { conv_out, block } => {
                let fused = block
                    .prelu
                    .as_ref()
                    .and_then(|prelu| crate::flex::conv::norm_act_conv2d(&block.bn, prelu, &conv_out, &self.conv));
                match fused {
                    Some(y) => y,
                    None => crate::flex::conv::conv2d(&self.conv, block.finish(conv_out)),
                }
            }
            Flow::Ready(x) => crate::flex::conv::conv2d(&self.conv, x),
        };
        if self.prelu.is_some() && crate::flex::norm::trains(&self.bn, &y) {
            Flow::Pending {
                conv_out: y,
                block: self,
            }
        } else {
            Flow::Ready(self.finish(y))
        }
    }

    /// The block's BatchNorm and PReLU (if any) applied to its convolution's output.
    fn finish(&self, x: Tensor<4>) -> Tensor<4> {
        if crate::flex::eval::serves(&x) {
            return crate::flex::eval::norm_act(&self.bn, self.prelu.as_ref(), x);
        }
        let x = crate::flex::conv::batch_norm2d(&self.bn, x);
        match &self.prelu {
            Some(prelu) => crate::flex::norm::prelu(prelu, &x).unwrap_or_else(|| prelu.forward(x)),
            None => x,
        }
    }

    /// Parameters (conv, BN γ and β, PReLU) and MACs for an input of `[height, width]`; also returns the output size.
    pub fn count(&self, size: [usize; 2]) -> (Count, [usize; 2]) {
        let (conv, out) = crate::count::conv2d(&self.conv, size);
        let bn = 2 * self.bn.gamma.shape().num_elements();
        let prelu = self.prelu.as_ref().map_or(0, |p| p.alpha.shape().num_elements());
        (
            conv + Count {
                params: bn + prelu,
                macs: 0,
            },
            out,
        )
    }
}

/// A feature map passed from one [`ConvBlock`] to the next (see [`ConvBlock::flow`]).
#[derive(Debug)]
pub enum Flow<'a> {
    /// Final values.
    Ready(Tensor<4>),
    /// A block's convolution output whose BatchNorm and PReLU are still to be applied.
    Pending {
        /// The convolution's output, `[batch, out_channels, height, width]`.
        conv_out: Tensor<4>,
        /// The block whose BatchNorm and PReLU are pending.
        block: &'a ConvBlock,
    },
}

impl Flow<'_> {
    /// The values: a pending BatchNorm and PReLU applied.
    pub fn resolve(self) -> Tensor<4> {
        match self {
            Flow::Ready(x) => x,
            Flow::Pending { conv_out, block } => block.finish(conv_out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Distribution, TensorData};

    /// Criterion: in training, two blocks chained through [`ConvBlock::flow`] (the first block's BatchNorm and
    /// PReLU fused into the second block's convolution) give the output, every parameter's gradient and the
    /// running statistics of the two blocks' `forward` one after the other, bit for bit, over two steps: a
    /// pointwise block feeding a depthwise stride-2 one, and a depthwise block feeding a pointwise one.
    #[test]
    fn chained_blocks_equal_separate_blocks_bit_for_bit() {
        let device = Device::flex().autodiff();
        let x = Tensor::<4>::random([3, 4, 7, 9], Distribution::Normal(0.0, 1.0), &device);
        let pointwise = ConvBlockConfig::new(4, 6, [1, 1]);
        let depthwise = ConvBlockConfig::new(6, 6, [3, 3])
            .with_stride([2, 2])
            .with_padding([1, 1])
            .with_groups(6);
        let pointwise_after = ConvBlockConfig::new(6, 5, [1, 1]).with_linear(true);
        let configs = [pointwise, depthwise, pointwise_after];
        let initial: Vec<ConvBlock> = configs.iter().map(|c| c.init(&device)).collect();
        // fresh blocks (own running statistics) with the same initial values
        let build = || {
            configs
                .iter()
                .zip(&initial)
                .map(|(c, block)| c.init(&device).load_record(block.clone().into_record()))
                .collect::<Vec<ConvBlock>>()
        };
        let run = |chained: bool| {
            let blocks = build();
            let mut values: Vec<TensorData> = Vec::new();
            for step in 0..2 {
                let input = (x.clone() * (step + 1) as f32).require_grad();
                let out = if chained {
                    blocks
                        .iter()
                        .fold(Flow::Ready(input.clone()), |flow, block| block.flow(flow))
                        .resolve()
                } else {
                    blocks.iter().fold(input.clone(), |x, block| block.forward(x))
                };
                let probe = Tensor::<4>::ones(out.shape(), &device).cumsum(3).sin();
                let grads = (out.clone() * probe).sum().backward();
                values.push(out.detach().into_data());
                values.push(input.grad(&grads).expect("input gradient").into_data());
                for block in &blocks {
                    values.push(block.conv.weight.val().grad(&grads).expect("filter").into_data());
                    values.push(block.bn.gamma.val().grad(&grads).expect("γ").into_data());
                    values.push(block.bn.beta.val().grad(&grads).expect("β").into_data());
                    if let Some(prelu) = &block.prelu {
                        values.push(prelu.alpha.val().grad(&grads).expect("slopes").into_data());
                    }
                    values.push(block.bn.running_mean.value_sync().into_data());
                    values.push(block.bn.running_var.value_sync().into_data());
                }
            }
            values
        };
        let (chained, separate) = (run(true), run(false));
        assert_eq!(chained.len(), separate.len());
        for (i, (a, b)) in chained.iter().zip(&separate).enumerate() {
            assert_eq!(
                a.as_slice::<f32>().expect("f32"),
                b.as_slice::<f32>().expect("f32"),
                "value {i}"
            );
        }
    }
}

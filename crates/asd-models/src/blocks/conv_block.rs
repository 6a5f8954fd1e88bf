//! MobileFaceNet's `ConvBlock`: Conv2d (no bias) → BatchNorm → PReLU, or Conv2d → BatchNorm when "linear"
//! (asdnet_specmfn.md §3.3, STgram-MFN `net.py`).

use crate::count::Count;
use crate::flex::norm::{Norm, Stage};
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
            Flow::Pending {
                input,
                blocks,
                convolved,
            } => {
                // the pending layers, then this block's convolution, as stages of one operation
                let plain = (!convolved).then_some(blocks.first().map(|b| &b.conv)).flatten();
                let convs = blocks.iter().skip(1).map(|b| &b.conv).chain([&self.conv]);
                let norms = blocks
                    .iter()
                    .map(|b| b.prelu.as_ref().map(|prelu| Norm { bn: &b.bn, prelu }));
                let stages: Vec<Stage> = plain
                    .map(|conv| Stage { norm: None, conv })
                    .into_iter()
                    .chain(norms.zip(convs).map(|(norm, conv)| Stage { norm, conv }))
                    .collect();
                let complete = stages
                    .iter()
                    .skip(usize::from(plain.is_some()))
                    .all(|s| s.norm.is_some());
                let fused = complete
                    .then(|| crate::flex::norm::norm_act_chain(&input, &stages))
                    .flatten();
                match fused {
                    Some(y) => y,
                    None => {
                        let pending = Flow::Pending {
                            input,
                            blocks,
                            convolved,
                        };
                        crate::flex::conv::conv2d(&self.conv, pending.resolve())
                    }
                }
            }
            Flow::Ready(x) => crate::flex::conv::conv2d(&self.conv, x),
        };
        if self.defers(&y) {
            Flow::Pending {
                input: y,
                blocks: vec![self],
                convolved: true,
            }
        } else {
            Flow::Ready(self.finish(y))
        }
    }

    /// [`ConvBlock::flow`] that in training keeps nothing of this block: its convolution, BatchNorm and PReLU are
    /// left pending and computed by the next block's convolution in one operation (with the pending layers before
    /// it, if any), which computes this block's convolution output again in its backward pass instead of keeping
    /// it. For a block with a wide output and a cheap convolution (MobileFaceNet's widest expansions). The values
    /// and gradients are [`ConvBlock::flow`]'s, bit for bit.
    ///
    /// # Shapes
    /// As [`ConvBlock::forward`].
    ///
    /// # Panics
    /// As [`ConvBlock::forward`].
    pub fn flow_recomputed<'a>(&'a self, input: Flow<'a>) -> Flow<'a> {
        match input {
            Flow::Ready(x) if self.defers(&x) => Flow::Pending {
                input: x,
                blocks: vec![self],
                convolved: false,
            },
            Flow::Pending {
                input,
                mut blocks,
                convolved: true,
            } if blocks.len() == 1 && self.defers(&input) => {
                blocks.push(self);
                Flow::Pending {
                    input,
                    blocks,
                    convolved: true,
                }
            }
            input => self.flow(input),
        }
    }

    /// Whether the block's BatchNorm and PReLU may be left pending on its convolution output `y`: it has a PReLU,
    /// and trains on the CPU.
    fn defers(&self, y: &Tensor<4>) -> bool {
        self.prelu.is_some() && crate::flex::norm::trains(&self.bn, y)
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
    /// `input` with `blocks` still to be applied: the first block's convolution (unless `convolved`), BatchNorm
    /// and PReLU, then each further block whole.
    Pending {
        /// The first block's input, or its convolution's output when `convolved`; `[batch, channels, height,
        /// width]`.
        input: Tensor<4>,
        /// The pending blocks, in order.
        blocks: Vec<&'a ConvBlock>,
        /// Whether the first block's convolution has been applied.
        convolved: bool,
    },
}

impl Flow<'_> {
    /// The values: the pending layers applied.
    pub fn resolve(self) -> Tensor<4> {
        match self {
            Flow::Ready(x) => x,
            Flow::Pending {
                input,
                blocks,
                convolved,
            } => blocks.into_iter().enumerate().fold(input, |x, (i, b)| {
                let y = if i == 0 && convolved {
                    x
                } else {
                    crate::flex::conv::conv2d(&b.conv, x)
                };
                b.finish(y)
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Distribution, TensorData};

    /// Criterion: in training, three blocks chained through [`ConvBlock::flow`] (each block's BatchNorm and PReLU
    /// fused into the next block's convolution), or with the middle or the first block through
    /// [`ConvBlock::flow_recomputed`] (two blocks in one operation), give the output, every parameter's gradient and the running statistics of
    /// the blocks' `forward` one after the other, bit for bit, over two steps: a pointwise block feeding a
    /// depthwise stride-2 one feeding a linear pointwise one.
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
        // 0: each block's forward; 1: chained through flow; 2: the middle block, 3: the first block through
        // flow_recomputed
        let run = |mode: usize| {
            let blocks = build();
            let mut values: Vec<TensorData> = Vec::new();
            for step in 0..2 {
                let input = (x.clone() * (step + 1) as f32).require_grad();
                let out = if mode == 0 {
                    blocks.iter().fold(input.clone(), |x, block| block.forward(x))
                } else {
                    let first = if mode == 3 {
                        blocks[0].flow_recomputed(Flow::Ready(input.clone()))
                    } else {
                        blocks[0].flow(Flow::Ready(input.clone()))
                    };
                    let middle = if mode == 2 {
                        blocks[1].flow_recomputed(first)
                    } else {
                        blocks[1].flow(first)
                    };
                    blocks[2].flow(middle).resolve()
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
        let separate = run(0);
        for mode in [1, 2, 3] {
            let chained = run(mode);
            assert_eq!(chained.len(), separate.len());
            for (i, (a, b)) in chained.iter().zip(&separate).enumerate() {
                assert_eq!(
                    a.as_slice::<f32>().expect("f32"),
                    b.as_slice::<f32>().expect("f32"),
                    "mode {mode}, value {i}"
                );
            }
        }
    }
}

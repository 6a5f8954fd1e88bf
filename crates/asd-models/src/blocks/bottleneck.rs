//! MobileFaceNet's inverted-residual bottleneck (asdnet_specmfn.md §3.3): 1×1 expand → 3×3 depthwise → 1×1
//! project, with a residual connection when the stride is 1 and the widths match.

use crate::blocks::conv_block::{ConvBlock, ConvBlockConfig, Flow};
use crate::count::Count;
use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor};

/// Configuration of a [`Bottleneck`].
#[derive(Config, Debug)]
pub struct BottleneckConfig {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Stride of the depthwise convolution (both axes).
    pub stride: usize,
    /// Expansion factor t: the hidden width is `in_channels · t`.
    pub expansion: usize,
}

impl BottleneckConfig {
    /// Builds the block (reference initialisation, see [`ConvBlockConfig::init`]).
    ///
    /// # Panics
    /// If a width, the stride or the expansion is 0.
    pub fn init(&self, device: &Device) -> Bottleneck {
        let hidden = self.in_channels * self.expansion;
        Bottleneck {
            expand: ConvBlockConfig::new(self.in_channels, hidden, [1, 1]).init(device),
            depthwise: ConvBlockConfig::new(hidden, hidden, [3, 3])
                .with_stride([self.stride, self.stride])
                .with_padding([1, 1])
                .with_groups(hidden)
                .init(device),
            project: ConvBlockConfig::new(hidden, self.out_channels, [1, 1])
                .with_linear(true)
                .init(device),
            residual: self.stride == 1 && self.in_channels == self.out_channels,
        }
    }
}

/// Inverted-residual bottleneck; parameters stored as `expand.*`, `depthwise.*`, `project.*` (the reference's
/// `conv.0`–`conv.7` are renamed when loading).
#[derive(Module, Debug)]
pub struct Bottleneck {
    /// 1×1 conv → BN → PReLU, widening to the hidden width.
    pub expand: ConvBlock,
    /// 3×3 depthwise conv (stride s, pad 1) → BN → PReLU.
    pub depthwise: ConvBlock,
    /// 1×1 conv → BN back to the output width, no activation.
    pub project: ConvBlock,
    /// Whether the input is added to the output (stride 1 and equal widths).
    pub residual: bool,
}

impl Bottleneck {
    /// Applies the block.
    ///
    /// # Shapes
    /// - `input`: `[batch, in_channels, height, width]`; output `[batch, out_channels, height', width']` with
    ///   height' = ⌊(height − 1)/s⌋ + 1 (the same for width)
    ///
    /// # Panics
    /// If the channel axis differs from `in_channels`.
    pub fn forward(&self, input: Tensor<4>) -> Tensor<4> {
        self.flow(Flow::Ready(input), false).resolve()
    }

    /// [`Bottleneck::forward`] on a [`Flow`] ([`ConvBlock::flow`]): a pending input is fused into the expanding
    /// convolution unless the residual connection needs its values. With `recompute_expansion`, the expansion's
    /// output is not kept for the backward pass but computed again there ([`ConvBlock::flow_recomputed`]).
    ///
    /// # Shapes
    /// As [`Bottleneck::forward`].
    pub fn flow<'a>(&'a self, input: Flow<'a>, recompute_expansion: bool) -> Flow<'a> {
        let expand = |x: Flow<'a>| {
            if recompute_expansion {
                self.expand.flow_recomputed(x)
            } else {
                self.expand.flow(x)
            }
        };
        let chain = |x: Flow<'a>| self.project.flow(self.depthwise.flow(expand(x)));
        if self.residual {
            let input = input.resolve();
            Flow::Ready(input.clone().add(chain(Flow::Ready(input)).resolve()))
        } else {
            chain(input)
        }
    }

    /// Parameters and MACs for an input of `[height, width]`; also returns the output size.
    pub fn count(&self, size: [usize; 2]) -> (Count, [usize; 2]) {
        [&self.expand, &self.depthwise, &self.project]
            .iter()
            .fold((Count::default(), size), |(total, size), block| {
                let (count, out) = block.count(size);
                (total + count, out)
            })
    }
}

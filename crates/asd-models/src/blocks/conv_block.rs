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
        let x = crate::flex::conv::conv2d(&self.conv, input);
        if crate::flex::eval::serves(&x) {
            return crate::flex::eval::norm_act(&self.bn, self.prelu.as_ref(), x);
        }
        let x = crate::flex::conv::batch_norm2d(&self.bn, x);
        match &self.prelu {
            Some(prelu) => crate::flex::backward::prelu(prelu, &x).unwrap_or_else(|| prelu.forward(x)),
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

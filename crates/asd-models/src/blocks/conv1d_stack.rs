//! A stack of Conv1d + ReLU layers: the body of ASDNet (asdnet_specmfn.md §2.1) and of SpecNet (§3.4).

use crate::count::{self, Count, LayerRole, LayerRow};
use crate::error::Error;
use crate::init;
use burn::config::Config;
use burn::module::Module;
use burn::nn::PaddingConfig1d;
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::tensor::{Device, Tensor};

/// Padding rule of every layer of a [`Conv1dStack`] (asdnet_specmfn.md §2.4 `padding`).
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum StackPadding {
    /// No padding: L_out = ⌊(L_in − k)/s⌋ + 1. The reconstruction's default.
    None,
    /// ⌊k/2⌋ zeros on both sides (the `same_half` alternative of Table 7's fit).
    SameHalf,
}

/// Configuration of a [`Conv1dStack`]: layers `[out_channels, kernel, stride]`, each followed by ReLU.
#[derive(Config, Debug)]
pub struct Conv1dStackConfig {
    /// Channels of the input `[batch, in_channels, length]` (1 for a spectrum).
    pub in_channels: usize,
    /// One `[out_channels, kernel, stride]` per layer, in order.
    pub layers: Vec<[usize; 3]>,
    /// Padding of every layer.
    #[config(default = "StackPadding::None")]
    pub padding: StackPadding,
    /// Whether every convolution has a bias (the paper's layer equation has b_k).
    #[config(default = true)]
    pub bias: bool,
}

impl Conv1dStackConfig {
    /// Checks every layer setting and that an input of `input_len` samples survives all layers; returns the output
    /// length.
    ///
    /// # Errors
    /// [`Error::Config`] for an empty stack or a zero channel count, kernel or stride (`field` is prefixed with
    /// `what`); [`Error::InputTooShort`] when a kernel is longer than the (padded) length reaching it.
    pub fn check(&self, what: &str, input_len: usize) -> crate::Result<usize> {
        let invalid = |field: String, reason: &str| Error::Config {
            field,
            reason: reason.to_string(),
        };
        if self.in_channels == 0 {
            return Err(invalid(format!("{what}.in_channels"), "must be at least 1"));
        }
        if self.layers.is_empty() {
            return Err(invalid(format!("{what}.layers"), "needs at least one layer"));
        }
        let mut len = input_len;
        for (layer, &[channels, kernel, stride]) in self.layers.iter().enumerate() {
            if channels == 0 || kernel == 0 || stride == 0 {
                return Err(invalid(
                    format!("{what}.layers[{layer}]"),
                    "out_channels, kernel and stride must all be at least 1",
                ));
            }
            let pad = 2 * self.half_padding(kernel);
            len = count::conv_out_len(len, kernel, stride, 1, pad).ok_or(Error::InputTooShort {
                input_len,
                layer,
                kernel,
                len_there: len + pad,
            })?;
        }
        Ok(len)
    }

    /// Channels of the last layer's output (the stack's input channels when it has no layer).
    pub fn out_channels(&self) -> usize {
        self.layers.last().map_or(self.in_channels, |layer| layer[0])
    }

    fn half_padding(&self, kernel: usize) -> usize {
        match self.padding {
            StackPadding::None => 0,
            StackPadding::SameHalf => kernel / 2,
        }
    }

    /// Builds the stack with PyTorch-default weights (decisions.md §7).
    ///
    /// # Panics
    /// If a channel count, kernel or stride is 0 (excluded by [`check`](Self::check)).
    pub fn init(&self, device: &Device) -> Conv1dStack {
        let mut in_channels = self.in_channels;
        let convs = self
            .layers
            .iter()
            .map(|&[channels, kernel, stride]| {
                let half = self.half_padding(kernel);
                let conv = Conv1dConfig::new(in_channels, channels, kernel)
                    .with_stride(stride)
                    .with_padding(PaddingConfig1d::Explicit(half, half))
                    .with_bias(self.bias)
                    .with_initializer(init::torch_default())
                    .init(device);
                in_channels = channels;
                conv
            })
            .collect();
        Conv1dStack { convs }
    }
}

/// Conv1d + ReLU layers applied in sequence. Built by [`Conv1dStackConfig::init`]; parameters are stored under
/// `convs.{i}.weight` / `convs.{i}.bias` as in PyTorch's `nn.ModuleList` named `convs`.
#[derive(Module, Debug)]
pub struct Conv1dStack {
    /// The convolutions, in order; a ReLU follows each.
    pub convs: Vec<Conv1d>,
}

impl Conv1dStack {
    /// Applies every layer.
    ///
    /// # Shapes
    /// - `input`: `[batch, in_channels, length]`
    /// - output: `[batch, out_channels, length_out]` (post-ReLU)
    ///
    /// # Panics
    /// If the channel axis differs from the first layer's input channels, or the input is shorter than the stack
    /// accepts ([`Conv1dStackConfig::check`] gives the minimum as an error instead).
    pub fn forward(&self, input: Tensor<3>) -> Tensor<3> {
        self.convs.iter().fold(input, |x, conv| Self::layer(conv, x))
    }

    /// Applies every layer and keeps each layer's post-ReLU output (for inspection and golden tests).
    ///
    /// # Shapes
    /// As [`forward`](Self::forward); one `[batch, channels_i, length_i]` tensor per layer.
    ///
    /// # Panics
    /// As [`forward`](Self::forward).
    pub fn activations(&self, input: Tensor<3>) -> Vec<Tensor<3>> {
        let mut x = input;
        self.convs
            .iter()
            .map(|conv| {
                x = Self::layer(conv, x.clone());
                x.clone()
            })
            .collect()
    }

    fn layer(conv: &Conv1d, x: Tensor<3>) -> Tensor<3> {
        crate::flex::conv::conv1d_relu(conv, x)
    }

    /// Parameters and MACs for an input of `len_in` samples; also returns the output length.
    pub fn count(&self, len_in: usize) -> (Count, usize) {
        let rows = self.layers("convs", len_in);
        let len_out = rows.last().map_or(len_in, |row| row.output_shape[1]);
        (count::total(&rows), len_out)
    }

    /// One [`Network`](LayerRole::Network) row per layer, named `{prefix}.{i}`, with output shape
    /// `[channels, length]` for an input of `len_in` samples.
    pub fn layers(&self, prefix: &str, len_in: usize) -> Vec<LayerRow> {
        let mut len = len_in;
        self.convs
            .iter()
            .enumerate()
            .map(|(i, conv)| {
                let (layer, len_out) = count::conv1d(conv, len);
                len = len_out;
                let channels = conv.weight.shape().dims::<3>()[0];
                LayerRow::new(
                    format!("{prefix}.{i}"),
                    vec![channels, len_out],
                    layer,
                    LayerRole::Network,
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asdnet_layers() -> Vec<[usize; 3]> {
        vec![
            [128, 9, 6],
            [128, 7, 5],
            [128, 5, 3],
            [128, 5, 3],
            [128, 3, 2],
            [128, 3, 2],
            [128, 3, 2],
            [128, 3, 2],
        ]
    }

    /// Criterion: the Table 1 stack on 16 001 bins ends at length 2 (asdnet_specmfn.md §2.1); with ⌊k/2⌋ padding at
    /// length 4 (§2.3 MAC table, "k//2" row, L₈ = 4).
    #[test]
    fn check_gives_the_spec_output_lengths() {
        let config = Conv1dStackConfig::new(1, asdnet_layers());
        assert_eq!(config.check("asdnet", 16_001).ok(), Some(2));
        let padded = config.clone().with_padding(StackPadding::SameHalf);
        assert_eq!(padded.check("asdnet", 16_001).ok(), Some(4));
    }

    /// Criterion: bad settings are typed errors naming the setting, not panics.
    #[test]
    fn check_rejects_bad_settings() {
        let config = Conv1dStackConfig::new(1, asdnet_layers());
        assert!(matches!(
            config.check("asdnet", 100),
            Err(Error::InputTooShort {
                layer: 2,
                kernel: 5,
                len_there: 2,
                ..
            })
        ));
        let zero_stride = Conv1dStackConfig::new(1, vec![[8, 3, 0]]);
        assert!(matches!(zero_stride.check("x", 10), Err(Error::Config { field, .. }) if field == "x.layers[0]"));
        assert!(matches!(
            Conv1dStackConfig::new(1, vec![]).check("x", 10),
            Err(Error::Config { .. })
        ));
    }
}

//! TgramNet (Liu et al., ICASSP 2022, Table 1; stgram_mfn.md §2): a learnable temporal feature ("Tgram") from the
//! raw waveform, on the same frame grid as the centred log-Mel. A strided Conv1d turns `[batch, samples]` into
//! `[batch, channels, frames]`, then each of three blocks applies LayerNorm over time → LeakyReLU → Conv1d.

use crate::count::{self, Count, LayerRole, LayerRow};
use crate::error::Error;
use crate::init;
use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::{LayerNorm, LayerNormConfig, PaddingConfig1d};
use burn::tensor::activation::leaky_relu;
use burn::tensor::{Device, Tensor, assert_shape};

/// Output channels of the first conv = the log-Mel's mel bins (paper Table 1 "M"; code `c_dim=128`).
pub const TGRAM_CHANNELS: usize = 128;
/// Kernel of the first conv = the STFT window length (paper Table 1 "W"; code `win_len=1024`).
pub const TGRAM_WIN_LENGTH: usize = 1024;
/// Stride of the first conv = the STFT hop (paper Table 1 "H"; code `hop_len=512`).
pub const TGRAM_HOP_LENGTH: usize = 512;
/// Number of LayerNorm → LeakyReLU → Conv1d blocks (code `num_layer=3`).
pub const TGRAM_BLOCKS: usize = 3;
/// Negative slope of TgramNet's LeakyReLU (code `nn.LeakyReLU(0.2, inplace=True)`; Burn's default is 0.01).
pub const TGRAM_LEAKY_SLOPE: f64 = 0.2;
/// Kernel of the block convolutions (code `nn.Conv1d(c, c, 3, 1, 1, bias=False)`).
pub const TGRAM_BLOCK_KERNEL: usize = 3;
/// LayerNorm ε (PyTorch default `eps=1e-5`).
pub const LAYER_NORM_EPSILON: f64 = 1e-5;
/// Samples of one 10-s clip at 16 kHz, the input the reference crops to (stgram_mfn.md §1.1).
pub const CLIP_SAMPLES: usize = 160_000;

/// Configuration of a [`TgramNet`]; [`TgramNetConfig::new`] gives the paper's network for 10-s clips.
#[derive(Config, Debug)]
pub struct TgramNetConfig {
    /// Samples of one input waveform (16 kHz); fixes the frame count and thus the LayerNorm width.
    #[config(default = "CLIP_SAMPLES")]
    pub samples: usize,
    /// Output channels (equal to the log-Mel's mel bins when fused with it).
    #[config(default = "TGRAM_CHANNELS")]
    pub channels: usize,
    /// Kernel of the first conv; it is zero-padded by ⌊win_length/2⌋ samples on both sides.
    #[config(default = "TGRAM_WIN_LENGTH")]
    pub win_length: usize,
    /// Stride of the first conv.
    #[config(default = "TGRAM_HOP_LENGTH")]
    pub hop_length: usize,
    /// Number of LayerNorm → LeakyReLU → Conv1d blocks.
    #[config(default = "TGRAM_BLOCKS")]
    pub blocks: usize,
    /// Negative slope of the LeakyReLU.
    #[config(default = "TGRAM_LEAKY_SLOPE")]
    pub leaky_slope: f64,
}

impl TgramNetConfig {
    /// Checks the settings; returns the number of output frames, ⌊(samples + 2·⌊W/2⌋ − W)/H⌋ + 1 (313 for
    /// 160 000 samples, W 1024, H 512), which is also the LayerNorm width.
    ///
    /// # Errors
    /// [`Error::Config`] (fields prefixed with `what`) for a zero sample count, channel count, window, hop or block
    /// count, or a negative or non-finite slope. (With ⌊W/2⌋ padding on both sides the window always fits.)
    pub fn check(&self, what: &str) -> crate::Result<usize> {
        let named = [
            ("samples", self.samples),
            ("channels", self.channels),
            ("win_length", self.win_length),
            ("hop_length", self.hop_length),
            ("blocks", self.blocks),
        ];
        if let Some((field, _)) = named.iter().find(|(_, value)| *value == 0) {
            return Err(Error::Config {
                field: format!("{what}.{field}"),
                reason: "must be at least 1".into(),
            });
        }
        if !(self.leaky_slope.is_finite() && self.leaky_slope >= 0.0) {
            return Err(Error::Config {
                field: format!("{what}.leaky_slope"),
                reason: "must be finite and non-negative".into(),
            });
        }
        let pad = 2 * self.padding();
        let frames = count::conv_out_len(self.samples, self.win_length, self.hop_length, 1, pad);
        frames.ok_or(Error::InputTooShort {
            input_len: self.samples,
            layer: 0,
            kernel: self.win_length,
            len_there: self.samples + pad,
        })
    }

    /// Zero padding of the first conv on each side: ⌊win_length/2⌋ (code `padding=win_len // 2`).
    fn padding(&self) -> usize {
        self.win_length / 2
    }

    /// Checks the configuration and builds the network with PyTorch's default initialisation (stgram_mfn.md §2:
    /// conv weights U(±1/√fan_in), LayerNorm γ = 1, β = 0).
    ///
    /// # Errors
    /// As [`check`](Self::check) (with fields prefixed `tgram`).
    pub fn init(&self, device: &Device) -> crate::Result<TgramNet> {
        let frames = self.check("tgram")?;
        let c = self.channels;
        let pad = self.padding();
        let half = TGRAM_BLOCK_KERNEL / 2;
        let blocks = (0..self.blocks)
            .map(|_| TgramBlock {
                norm: LayerNormConfig::new(frames)
                    .with_epsilon(LAYER_NORM_EPSILON)
                    .init(device),
                conv: Conv1dConfig::new(c, c, TGRAM_BLOCK_KERNEL)
                    .with_padding(PaddingConfig1d::Explicit(half, half))
                    .with_bias(false)
                    .with_initializer(init::torch_default())
                    .init(device),
            })
            .collect();
        Ok(TgramNet {
            conv_extractor: Conv1dConfig::new(1, c, self.win_length)
                .with_stride(self.hop_length)
                .with_padding(PaddingConfig1d::Explicit(pad, pad))
                .with_bias(false)
                .with_initializer(init::torch_default())
                .init(device),
            blocks,
            leaky_slope: self.leaky_slope,
            samples: self.samples,
        })
    }
}

/// One TgramNet block: LayerNorm over the time axis (γ, β of width `frames`) → LeakyReLU → Conv1d (k 3, pad 1,
/// no bias). No residual connection.
#[derive(Module, Debug)]
pub struct TgramBlock {
    /// LayerNorm over the last (time) axis, one γ and β per frame.
    pub norm: LayerNorm,
    /// Conv1d channels → channels, kernel 3, padding 1, no bias.
    pub conv: Conv1d,
}

/// TgramNet: waveform `[batch, samples]` → Tgram `[batch, channels, frames]`. Parameters are stored as
/// `conv_extractor.weight`, `blocks.{i}.norm.{gamma,beta}`, `blocks.{i}.conv.weight` (the reference's
/// `conv_extrctor` and `conv_encoder.{i}.{0,2}` are renamed when loading).
#[derive(Module, Debug)]
pub struct TgramNet {
    /// Conv1d 1 → channels, kernel win_length, stride hop_length, zero padding win_length/2, no bias.
    pub conv_extractor: Conv1d,
    /// The LayerNorm → LeakyReLU → Conv1d blocks.
    pub blocks: Vec<TgramBlock>,
    /// Negative slope of the LeakyReLU.
    pub leaky_slope: f64,
    /// Samples of one input waveform.
    pub samples: usize,
}

impl TgramNet {
    /// Output frames (the LayerNorm width).
    pub fn frames(&self) -> usize {
        self.layers("tgram")[0].output_shape[1]
    }

    /// The Tgram of each waveform.
    ///
    /// # Shapes
    /// - `wave`: `[batch, samples]` (16 kHz, un-normalised); output `[batch, channels, frames]`
    ///
    /// # Panics
    /// If the waveform length differs from `samples` of the configuration.
    pub fn forward(&self, wave: Tensor<2>) -> Tensor<3> {
        assert_shape!(wave, [_, self.samples]);
        let x = crate::flex::conv::conv1d(&self.conv_extractor, wave.unsqueeze_dim(1));
        self.blocks.iter().fold(x, |x, block| {
            crate::flex::conv::conv1d(&block.conv, leaky_relu(block.norm.forward(x), self.leaky_slope))
        })
    }

    /// The layer table: `{prefix}.conv_extractor` and one row per block `{prefix}.blocks.{i}` (LayerNorm γ/β +
    /// conv), all [`Network`](LayerRole::Network), output `[channels, frames]`.
    pub fn layers(&self, prefix: &str) -> Vec<LayerRow> {
        let (first, frames) = count::conv1d(&self.conv_extractor, self.samples);
        let channels = self.conv_extractor.weight.shape().dims::<3>()[0];
        let row = |name: String, count| LayerRow::new(name, vec![channels, frames], count, LayerRole::Network);
        let blocks = self.blocks.iter().enumerate().map(|(i, block)| {
            let (conv, _) = count::conv1d(&block.conv, frames);
            let norm = block.norm.gamma.shape().num_elements()
                + block.norm.beta.as_ref().map_or(0, |b| b.shape().num_elements());
            let count = conv + Count { params: norm, macs: 0 };
            row(format!("{prefix}.blocks.{i}"), count)
        });
        std::iter::once(row(format!("{prefix}.conv_extractor"), first))
            .chain(blocks)
            .collect()
    }

    /// Parameters and MACs of one waveform: the sum of [`layers`](Self::layers).
    pub fn count(&self) -> Count {
        count::total(&self.layers("tgram"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Criterion: stgram_mfn.md §2 — 313 frames for 160 000 samples; TgramNet total 280 406 parameters
    /// (131 072 + 3 × (626 + 49 152)) and 87 179 264 MACs (= N·M·W + 9·N·M² for M 128, W 1024, N 313).
    #[test]
    fn paper_network_has_the_spec_counts() {
        let device = Device::flex();
        let config = TgramNetConfig::new();
        assert_eq!(config.check("tgram").ok(), Some(313));
        let net = config.init(&device).expect("valid");
        assert_eq!(net.frames(), 313);
        assert_eq!(
            net.count(),
            Count {
                params: 280_406,
                macs: 87_179_264
            }
        );
        let rows = net.layers("tgram");
        assert_eq!(rows[0].count.params, 131_072);
        assert_eq!(rows[1].count.params, 49_778);
    }

    /// Criterion: the general formulas of stgram_mfn.md §2 for other sizes: params = M·W + 3·(2N + 3M²),
    /// MACs = N·M·W + 9·N·M², with N = ⌊L/H⌋ + 1 (2-s input, 32 000 samples: N = 63, the code comment's width).
    #[test]
    fn counts_follow_the_general_formulas() {
        let device = Device::flex();
        let net = TgramNetConfig::new().with_samples(32_000).init(&device).expect("valid");
        let (m, w, n) = (128, 1024, 63);
        assert_eq!(net.frames(), n);
        assert_eq!(net.count().params, m * w + 3 * (2 * n + 3 * m * m));
        assert_eq!(net.count().macs, (n * m * w + 9 * n * m * m) as u64);
    }

    /// Criterion: PyTorch default init (stgram_mfn.md §2): conv_extractor weights within ±1/√1024 = ±0.03125 and
    /// block conv weights within ±1/√384, each with the largest |w| above 0.99 of the bound; LayerNorm γ = 1, β = 0.
    #[test]
    fn init_follows_pytorch_defaults() {
        let device = Device::flex();
        let net = crate::init::seeded(&device, 3, |d| TgramNetConfig::new().init(d)).expect("valid");
        let max_abs = |t: Tensor<3>| {
            t.into_data()
                .try_to_vec::<f32>()
                .expect("f32") // ok: test
                .iter()
                .fold(0.0_f32, |m, v| m.max(v.abs()))
        };
        let bound = 1.0 / 1024_f32.sqrt();
        let first = max_abs(net.conv_extractor.weight.val());
        assert!(first <= bound * 1.000_001 && first > 0.99 * bound, "{first} vs {bound}");
        let bound = 1.0 / 384_f32.sqrt();
        let block = max_abs(net.blocks[0].conv.weight.val());
        assert!(block <= bound * 1.000_001 && block > 0.99 * bound, "{block} vs {bound}");
        let gamma = net.blocks[2]
            .norm
            .gamma
            .val()
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32"); // ok: test
        assert!(gamma.iter().all(|&g| g == 1.0));
        let beta = net.blocks[2].norm.beta.as_ref().expect("affine").val(); // ok: test
        assert!(
            beta.into_data()
                .try_to_vec::<f32>()
                .expect("f32")
                .iter()
                .all(|&b| b == 0.0)
        ); // ok: test
    }

    /// Criterion: bad settings are typed errors naming the setting.
    #[test]
    fn check_rejects_bad_settings() {
        let field_of = |config: TgramNetConfig| match config.check("tgram") {
            Err(Error::Config { field, .. }) => field,
            other => panic!("expected a config error, got {other:?}"),
        };
        assert_eq!(field_of(TgramNetConfig::new().with_hop_length(0)), "tgram.hop_length");
        assert_eq!(
            field_of(TgramNetConfig::new().with_leaky_slope(f64::NAN)),
            "tgram.leaky_slope"
        );
        assert_eq!(field_of(TgramNetConfig::new().with_blocks(0)), "tgram.blocks");
        assert_eq!(field_of(TgramNetConfig::new().with_samples(0)), "tgram.samples");
    }
}

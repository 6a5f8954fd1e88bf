//! The attention + separable-convolution net of seed 001 (Neri & Carli, IEEE Sensors Letters 2024;
//! neri_attention.md): a learned Wavegram beside the log-Mel, an attention module of separable convolutions that
//! weights the two-channel time–frequency image, MobileFaceNet (variant B, 2 input channels), ArcFace (s 40,
//! m 0.7).
//!
//! ```text
//! waveform [B, 160000] ──► Wavegram (SeparableConv1d 1→128, k 1024, s 512) ──► G [B, 128, 313] ─┐
//! log-Mel [B, 128, 313] (HTK, Slaney norm, 10·log10(· + 1e-8)) ─────────────────────────────────┴► X [B, 2, 128, 313]
//! X ──► attention (3 SeparableConv2d, BN, ELU, sigmoid) ──► A ∈ [0.5, 1) ──► MobileFaceNet(X ⊙ A) ──► embedding [B, 128]
//! ```
//!
//! The separable convolutions are the `separableconv-torch` layers with that package's defaults (spec §3.2, §4):
//! depthwise conv → BatchNorm → ReLU → pointwise 1×1 conv → BatchNorm → ReLU. Their convolutions run through this
//! crate's Flex fast paths (`flex::conv`: depthwise and pointwise 2-D convs, dense Conv1d), as MobileFaceNet's do.

use crate::backbone::asdnet::DCASE2020_CLASSES;
use crate::backbone::mfn_classifier::{MFN_FRAMES, MFN_N_MELS, MfnClassifier, MfnClassifierConfig};
use crate::backbone::mobilefacenet::MfnVariant;
use crate::backbone::stgram_mfn::StgramInput;
use crate::blocks::conv_block::torch_batch_norm as batch_norm;
use crate::count::{self, Count, LayerRole, LayerRow, ModelCount};
use crate::error::Error;
use crate::frontend::tgramnet::CLIP_SAMPLES;
use crate::head::HeadConfig;
use crate::{Embedder, ModelOutput, weights};
use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv1d, Conv1dConfig, Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, PaddingConfig1d, PaddingConfig2d};
use burn::tensor::activation::{elu, relu, sigmoid};
use burn::tensor::{Device, Int, Tensor, assert_shape};
use std::path::Path;

/// ArcFace scale s of the attention net ([R-model] `ArcMarginProduct(..., s=40, m=0.7)`, spec §1).
pub const NERI_ARCFACE_SCALE: f64 = 40.0;
/// ArcFace margin m of the attention net (spec §1).
pub const NERI_ARCFACE_MARGIN: f64 = 0.7;
/// Input channels of its MobileFaceNet: log-Mel and Wavegram (spec §3.3).
pub const NERI_CHANNELS: usize = 2;
/// The Wavegram's strided filter: kernel 1024, stride 512, zero padding 512 ([R-model], spec §3.2).
pub const WAVEGRAM_KERNEL: usize = 1024;
/// See [`WAVEGRAM_KERNEL`].
pub const WAVEGRAM_STRIDE: usize = 512;
/// See [`WAVEGRAM_KERNEL`].
pub const WAVEGRAM_PADDING: usize = 512;
/// Channels of the attention module's first two separable convolutions (spec §4: 2 → 16 → 64 → 2).
pub const ATTENTION_CHANNELS: [usize; 2] = [16, 64];
/// ELU α of the attention module (PyTorch default, spec §0).
pub const ELU_ALPHA: f64 = 1.0;

/// `separableconv-torch`'s `SeparableConv1d` with its defaults (depth multiplier 1, BatchNorm and ReLU after both
/// convolutions). Field names are the reference's state-dict names.
#[derive(Module, Debug)]
pub struct SeparableConv1d {
    /// Depthwise convolution (`groups` = input channels).
    pub dwconv: Conv1d,
    /// BatchNorm after it.
    pub dwconv_normalization: BatchNorm,
    /// Pointwise (kernel 1) convolution.
    pub pwconv: Conv1d,
    /// BatchNorm after it.
    pub pwconv_normalization: BatchNorm,
}

impl SeparableConv1d {
    /// `in_channels → out_channels` with a depthwise kernel, stride and zero padding, biases as `bias`; PyTorch's
    /// default initialisation.
    fn new(
        [in_channels, out_channels]: [usize; 2],
        [kernel, stride, padding]: [usize; 3],
        bias: bool,
        device: &Device,
    ) -> Self {
        Self {
            dwconv: Conv1dConfig::new(in_channels, in_channels, kernel)
                .with_stride(stride)
                .with_padding(PaddingConfig1d::Explicit(padding, padding))
                .with_groups(in_channels)
                .with_bias(bias)
                .init(device),
            dwconv_normalization: batch_norm(in_channels, device),
            pwconv: Conv1dConfig::new(in_channels, out_channels, 1)
                .with_bias(bias)
                .init(device),
            pwconv_normalization: batch_norm(out_channels, device),
        }
    }

    /// # Shapes
    /// - `input`: `[batch, in_channels, length]`; output `[batch, out_channels, length']`
    pub fn forward(&self, input: Tensor<3>) -> Tensor<3> {
        let x = crate::flex::conv::conv1d(&self.dwconv, input);
        let x = relu(crate::flex::conv::batch_norm1d(&self.dwconv_normalization, x));
        let x = crate::flex::conv::conv1d(&self.pwconv, x);
        relu(crate::flex::conv::batch_norm1d(&self.pwconv_normalization, x))
    }

    /// Parameters and MACs for an input of `length`, and the output length.
    fn count(&self, length: usize) -> (Count, usize) {
        let (dw, length) = count::conv1d(&self.dwconv, length);
        let (pw, length) = count::conv1d(&self.pwconv, length);
        (
            dw + pw + norms(&[&self.dwconv_normalization, &self.pwconv_normalization]),
            length,
        )
    }
}

/// γ and β of BatchNorms as parameters (no MACs).
fn norms(bns: &[&BatchNorm]) -> Count {
    Count {
        params: bns.iter().map(|bn| 2 * bn.gamma.shape().num_elements()).sum(),
        macs: 0,
    }
}

/// `separableconv-torch`'s `SeparableConv2d` with its defaults (depth multiplier 1, BatchNorm and ReLU after both
/// convolutions), stride 1, "same" zero padding.
#[derive(Module, Debug)]
pub struct SeparableConv2d {
    /// Depthwise convolution (`groups` = input channels).
    pub dwconv: Conv2d,
    /// BatchNorm after it.
    pub dwconv_normalization: BatchNorm,
    /// Pointwise 1×1 convolution.
    pub pwconv: Conv2d,
    /// BatchNorm after it.
    pub pwconv_normalization: BatchNorm,
}

impl SeparableConv2d {
    /// `in_channels → out_channels` with a square depthwise `kernel` (odd) and "same" padding; biases as `bias`.
    fn new([in_channels, out_channels]: [usize; 2], kernel: usize, bias: bool, device: &Device) -> Self {
        let pad = kernel / 2;
        Self {
            dwconv: Conv2dConfig::new([in_channels, in_channels], [kernel, kernel])
                .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
                .with_groups(in_channels)
                .with_bias(bias)
                .init(device),
            dwconv_normalization: batch_norm(in_channels, device),
            pwconv: Conv2dConfig::new([in_channels, out_channels], [1, 1])
                .with_bias(bias)
                .init(device),
            pwconv_normalization: batch_norm(out_channels, device),
        }
    }

    /// # Shapes
    /// - `input`: `[batch, in_channels, height, width]`; output `[batch, out_channels, height, width]`
    pub fn forward(&self, input: Tensor<4>) -> Tensor<4> {
        let x = crate::flex::conv::conv2d(&self.dwconv, input);
        let x = relu(crate::flex::conv::batch_norm2d(&self.dwconv_normalization, x));
        let x = crate::flex::conv::conv2d(&self.pwconv, x);
        relu(crate::flex::conv::batch_norm2d(&self.pwconv_normalization, x))
    }

    /// Parameters and MACs for an input of `[height, width]`.
    fn count(&self, size: [usize; 2]) -> Count {
        let (dw, size) = count::conv2d(&self.dwconv, size);
        let (pw, _) = count::conv2d(&self.pwconv, size);
        dw + pw + norms(&[&self.dwconv_normalization, &self.pwconv_normalization])
    }
}

/// The attention module f_ATT (spec §4, the reference's `heatmap` Sequential): separable 3×3 2 → 16, BatchNorm,
/// ELU, separable 3×3 16 → 64, BatchNorm, ELU, separable 1×1 64 → 2 (with biases), sigmoid. Because the last
/// separable block ends in a ReLU, the map is in [0.5, 1).
#[derive(Module, Debug)]
pub struct AttentionModule {
    /// `heatmap.0`.
    pub sep0: SeparableConv2d,
    /// `heatmap.1`.
    pub bn1: BatchNorm,
    /// `heatmap.3`.
    pub sep3: SeparableConv2d,
    /// `heatmap.4`.
    pub bn4: BatchNorm,
    /// `heatmap.6`.
    pub sep6: SeparableConv2d,
}

impl AttentionModule {
    fn new(channels: usize, device: &Device) -> Self {
        let [c1, c2] = ATTENTION_CHANNELS;
        Self {
            sep0: SeparableConv2d::new([channels, c1], 3, false, device),
            bn1: batch_norm(c1, device),
            sep3: SeparableConv2d::new([c1, c2], 3, false, device),
            bn4: batch_norm(c2, device),
            sep6: SeparableConv2d::new([c2, channels], 1, true, device),
        }
    }

    /// The attention map.
    ///
    /// # Shapes
    /// - `input`: `[batch, channels, height, width]`; output the same shape, values in [0.5, 1)
    pub fn forward(&self, input: Tensor<4>) -> Tensor<4> {
        let x = elu(
            crate::flex::conv::batch_norm2d(&self.bn1, self.sep0.forward(input)),
            ELU_ALPHA,
        );
        let x = elu(
            crate::flex::conv::batch_norm2d(&self.bn4, self.sep3.forward(x)),
            ELU_ALPHA,
        );
        sigmoid(self.sep6.forward(x))
    }

    /// Parameters and MACs for an input of `[height, width]`.
    fn count(&self, size: [usize; 2]) -> Count {
        self.sep0.count(size) + self.sep3.count(size) + self.sep6.count(size) + norms(&[&self.bn1, &self.bn4])
    }
}

/// Configuration of [`NeriAttention`]; defaults are the paper's (spec §1).
#[derive(Config, Debug)]
pub struct NeriAttentionConfig {
    /// Mel bins of the log-Mel input; also the Wavegram's channels (the image height).
    #[config(default = "MFN_N_MELS")]
    pub n_mels: usize,
    /// Frames of the log-Mel input (the image width); the Wavegram must give as many.
    #[config(default = "MFN_FRAMES")]
    pub frames: usize,
    /// Samples of the waveform input (16 kHz).
    #[config(default = "CLIP_SAMPLES")]
    pub samples: usize,
    /// MobileFaceNet bottleneck setting (the reference's `mobilenet.py` is variant B).
    #[config(default = "MfnVariant::B")]
    pub variant: MfnVariant,
    /// Number of classes.
    #[config(default = "DCASE2020_CLASSES")]
    pub n_classes: usize,
    /// Classification head.
    #[config(default = "HeadConfig::ArcFace { scale: NERI_ARCFACE_SCALE, margin: NERI_ARCFACE_MARGIN }")]
    pub head: HeadConfig,
}

impl NeriAttentionConfig {
    fn classifier(&self) -> MfnClassifierConfig {
        MfnClassifierConfig::new(
            [self.n_mels, self.frames],
            NERI_CHANNELS,
            self.variant,
            self.n_classes,
            self.head.clone(),
        )
    }

    /// Frames the Wavegram gives for `samples`: ⌊(samples + 2·512 − 1024) / 512⌋ + 1.
    pub fn wavegram_frames(&self) -> Option<usize> {
        (self.samples + 2 * WAVEGRAM_PADDING)
            .checked_sub(WAVEGRAM_KERNEL)
            .map(|n| n / WAVEGRAM_STRIDE + 1)
    }

    /// Checks every setting, including that the Wavegram's frame count equals `frames`.
    ///
    /// # Errors
    /// [`Error::Config`] naming the field (`neri_attention.n_mels`, `.frames`, the MobileFaceNet and head fields).
    pub fn check(&self) -> crate::Result<()> {
        if self.n_mels == 0 {
            return Err(Error::Config {
                field: "neri_attention.n_mels".into(),
                reason: "must be at least 1".into(),
            });
        }
        if self.wavegram_frames() != Some(self.frames) {
            return Err(Error::Config {
                field: "neri_attention.frames".into(),
                reason: format!(
                    "the Wavegram gives {:?} frames for {} samples, the log-Mel input has {}",
                    self.wavegram_frames(),
                    self.samples,
                    self.frames
                ),
            });
        }
        self.classifier().check("neri_attention")
    }

    /// Checks the configuration and builds the network with PyTorch's default initialisation for the Wavegram
    /// and the attention module, the reference's for MobileFaceNet and the head.
    ///
    /// # Errors
    /// As [`check`](Self::check).
    pub fn init(&self, device: &Device) -> crate::Result<NeriAttention> {
        self.check()?;
        Ok(NeriAttention {
            wavegram: SeparableConv1d::new(
                [1, self.n_mels],
                [WAVEGRAM_KERNEL, WAVEGRAM_STRIDE, WAVEGRAM_PADDING],
                true,
                device,
            ),
            attention: AttentionModule::new(NERI_CHANNELS, device),
            classifier: self.classifier().init("neri_attention", device)?,
            samples: self.samples,
        })
    }
}

/// Key renames from the reference's `heatmap` Sequential to [`AttentionModule`]'s fields, and its MobileFaceNet
/// (`classifier.*`) to the `mobilefacenet.*` names [`MfnClassifier`] maps.
const NERI_TORCH_KEY_MAP: [(&str, &str); 6] = [
    (r"^heatmap\.0\.", "attention.sep0."),
    (r"^heatmap\.1\.", "attention.bn1."),
    (r"^heatmap\.3\.", "attention.sep3."),
    (r"^heatmap\.4\.", "attention.bn4."),
    (r"^heatmap\.6\.", "attention.sep6."),
    (r"^classifier\.", "mobilefacenet."),
];

/// The reference's torchaudio buffers (window and Mel filterbank): our front end computes the log-Mel.
const NERI_TORCH_UNUSED: [&str; 2] = ["transform_tf.spectrogram.window", "transform_tf.mel_scale.fb"];

/// The attention net (module docs): Wavegram, attention module and MobileFaceNet with its head.
#[derive(Module, Debug)]
pub struct NeriAttention {
    /// The learned Wavegram front end.
    pub wavegram: SeparableConv1d,
    /// The attention module.
    pub attention: AttentionModule,
    /// MobileFaceNet (2 input channels) and head.
    pub classifier: MfnClassifier,
    /// Samples of the waveform input.
    samples: usize,
}

/// The attention net's intermediate maps of one batch (for golden tests and attention pictures).
#[derive(Clone, Debug)]
pub struct NeriMaps {
    /// The Wavegram `[batch, n_mels, frames]`.
    pub wavegram: Tensor<3>,
    /// The stacked input `[batch, 2, n_mels, frames]` (channel 0 log-Mel, channel 1 Wavegram).
    pub features: Tensor<4>,
    /// The attention map `[batch, 2, n_mels, frames]`, in [0.5, 1).
    pub attention: Tensor<4>,
}

impl NeriAttention {
    /// Input size of the log-Mel `[n_mels, frames]`.
    pub fn input_size(&self) -> [usize; 2] {
        self.classifier.mfn.input_size
    }

    /// The Wavegram, the stacked input and the attention map.
    ///
    /// # Shapes
    /// - `input.wave`: `[batch, samples]`, `input.mel`: `[batch, n_mels, frames]`; see [`NeriMaps`]
    ///
    /// # Panics
    /// If a shape differs from the configuration or the batch sizes differ.
    pub fn maps(&self, input: StgramInput) -> NeriMaps {
        let [n_mels, frames] = self.input_size();
        let [batch, _] = input.wave.dims();
        assert_shape!(input.wave, [batch, self.samples]);
        assert_shape!(input.mel, [batch, n_mels, frames]);
        let wavegram = self.wavegram.forward(input.wave.unsqueeze_dim(1));
        let features = Tensor::cat(vec![input.mel.unsqueeze_dim(1), wavegram.clone().unsqueeze_dim(1)], 1);
        let attention = self.attention.forward(features.clone());
        NeriMaps {
            wavegram,
            features,
            attention,
        }
    }

    /// Loads weights saved from the reference PyTorch module (`golden/neri/model.safetensors` layout:
    /// `wavegram.*`, `heatmap.*`, `classifier.*`, `arcface.weight`; the torchaudio buffers are skipped), from a
    /// `torch.save` checkpoint, a Lightning `.ckpt` (keys prefixed `model.`) or safetensors
    /// ([`weights::load_torch`]).
    ///
    /// # Errors
    /// [`Error::WeightFile`] if the file cannot be read, [`Error::WeightMismatch`] if a tensor is missing, unused
    /// or of the wrong shape.
    pub fn load_torch(self, path: &Path) -> crate::Result<Self> {
        let (map, mut unused) = self.classifier.torch_keys(&NERI_TORCH_KEY_MAP);
        unused.extend(NERI_TORCH_UNUSED);
        weights::load_torch(self, path, &map, &unused)
    }

    /// The layer table (`asd info`), in forward order: the Wavegram, the attention module, MobileFaceNet stages, the
    /// head, and with an ArcFace head the reference's unused `fc_out`.
    pub fn layers(&self) -> Vec<LayerRow> {
        let [n_mels, frames] = self.input_size();
        let (wavegram, _) = self.wavegram.count(self.samples);
        let mut rows = vec![
            LayerRow::new("wavegram", vec![n_mels, frames], wavegram, LayerRole::Network),
            LayerRow::new(
                "attention",
                vec![NERI_CHANNELS, n_mels, frames],
                self.attention.count([n_mels, frames]),
                LayerRole::Network,
            ),
        ];
        rows.extend(self.classifier.layers("classifier"));
        rows
    }

    /// Parameters and MACs (decisions.md §9; neri_attention.md §7–8): `params` 879 087 without the unused
    /// `fc_out`, `params_paper` 884 376 with it, 755 273 216 conv + linear MACs per 10-s clip.
    pub fn count(&self) -> ModelCount {
        ModelCount::from_layers(&self.layers(), true)
    }
}

impl Embedder for NeriAttention {
    type Input = StgramInput;

    /// # Shapes
    /// As [`NeriAttention::maps`]; embedding `[batch, 128]`, logits `[batch, n_classes]`.
    fn forward(&self, input: StgramInput) -> ModelOutput {
        let maps = self.maps(input);
        self.classifier.forward(maps.features * maps.attention)
    }

    fn margin_logits(&self, logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<2> {
        self.classifier.margin_logits(logits, labels)
    }
}

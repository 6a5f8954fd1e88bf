//! STgram-MFN (Liu et al., ICASSP 2022; stgram_mfn.md): the log-Mel (Sgram) and TgramNet's learnable temporal
//! feature (Tgram) stacked as a two-channel image, MobileFaceNet, and an ArcFace head (m 0.7, s 30) by default.

use crate::backbone::asdnet::DCASE2020_CLASSES;
use crate::backbone::mfn_classifier::{
    MFN_FRAMES, MFN_N_MELS, MfnClassifier, MfnClassifierConfig, STGRAM_ARCFACE_MARGIN, STGRAM_ARCFACE_SCALE,
};
use crate::backbone::mobilefacenet::MfnVariant;
use crate::count::{LayerRow, ModelCount};
use crate::error::Error;
use crate::frontend::tgramnet::{
    CLIP_SAMPLES, TGRAM_BLOCKS, TGRAM_HOP_LENGTH, TGRAM_LEAKY_SLOPE, TGRAM_WIN_LENGTH, TgramNet, TgramNetConfig,
};
use crate::head::HeadConfig;
use crate::{Embedder, ModelOutput, weights};
use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, assert_shape};
use std::path::Path;

/// Image channels of STgram-MFN: 0 = log-Mel, 1 = Tgram (code `cat((x_mel, x_t), dim=1)`).
pub const STGRAM_CHANNELS: usize = 2;

/// Configuration of [`StgramMfn`]; [`StgramMfnConfig::new`] gives the `stgram-mfn` preset (decisions.md §5, §9):
/// 10-s clips (160 000 samples, 128 × 313 log-Mel), TgramNet of the paper, MobileFaceNet variant A, ArcFace
/// m 0.7 s 30, 41 classes.
#[derive(Config, Debug)]
pub struct StgramMfnConfig {
    /// Mel bins of the log-Mel input; also TgramNet's channels (the image height).
    #[config(default = "MFN_N_MELS")]
    pub n_mels: usize,
    /// Frames of the log-Mel input (the image width); TgramNet must give as many.
    #[config(default = "MFN_FRAMES")]
    pub frames: usize,
    /// Samples of the waveform input (16 kHz).
    #[config(default = "CLIP_SAMPLES")]
    pub samples: usize,
    /// Kernel of TgramNet's first conv (the STFT window).
    #[config(default = "TGRAM_WIN_LENGTH")]
    pub win_length: usize,
    /// Stride of TgramNet's first conv (the STFT hop).
    #[config(default = "TGRAM_HOP_LENGTH")]
    pub hop_length: usize,
    /// TgramNet's LayerNorm → LeakyReLU → Conv1d blocks.
    #[config(default = "TGRAM_BLOCKS")]
    pub tgram_blocks: usize,
    /// TgramNet's LeakyReLU slope.
    #[config(default = "TGRAM_LEAKY_SLOPE")]
    pub leaky_slope: f64,
    /// MobileFaceNet bottleneck setting.
    #[config(default = "MfnVariant::A")]
    pub variant: MfnVariant,
    /// Number of classes.
    #[config(default = "DCASE2020_CLASSES")]
    pub n_classes: usize,
    /// Classification head.
    #[config(default = "HeadConfig::ArcFace { scale: STGRAM_ARCFACE_SCALE, margin: STGRAM_ARCFACE_MARGIN }")]
    pub head: HeadConfig,
}

impl StgramMfnConfig {
    fn tgram(&self) -> TgramNetConfig {
        TgramNetConfig::new()
            .with_samples(self.samples)
            .with_channels(self.n_mels)
            .with_win_length(self.win_length)
            .with_hop_length(self.hop_length)
            .with_blocks(self.tgram_blocks)
            .with_leaky_slope(self.leaky_slope)
    }

    fn classifier(&self) -> MfnClassifierConfig {
        MfnClassifierConfig::new(
            [self.n_mels, self.frames],
            STGRAM_CHANNELS,
            self.variant,
            self.n_classes,
            self.head.clone(),
        )
    }

    /// Checks every setting, including that TgramNet's frame count equals `frames`.
    ///
    /// # Errors
    /// [`Error::Config`] for a zero size, a bad TgramNet setting (fields `stgram_mfn.tgram.*`), a TgramNet frame
    /// count other than `frames` (`stgram_mfn.frames`), a bad MobileFaceNet or head setting.
    pub fn check(&self) -> crate::Result<()> {
        if self.n_mels == 0 {
            return Err(Error::Config {
                field: "stgram_mfn.n_mels".into(),
                reason: "must be at least 1".into(),
            });
        }
        let tgram_frames = self.tgram().check("stgram_mfn.tgram")?;
        if tgram_frames != self.frames {
            return Err(Error::Config {
                field: "stgram_mfn.frames".into(),
                reason: format!(
                    "TgramNet gives {tgram_frames} frames for {} samples (hop {}), the log-Mel input has {}",
                    self.samples, self.hop_length, self.frames
                ),
            });
        }
        self.classifier().check("stgram_mfn")
    }

    /// Checks the configuration and builds the network: TgramNet with PyTorch-default weights, MobileFaceNet with
    /// the reference initialisation, the head as [`HeadConfig::init`].
    ///
    /// # Errors
    /// As [`check`](Self::check).
    pub fn init(&self, device: &Device) -> crate::Result<StgramMfn> {
        self.check()?;
        Ok(StgramMfn {
            tgram: self.tgram().init(device)?,
            classifier: self.classifier().init("stgram_mfn", device)?,
        })
    }
}

/// A batch of STgram-MFN inputs: the same clips as waveform and as log-Mel.
#[derive(Clone, Debug)]
pub struct StgramInput {
    /// Waveforms `[batch, samples]` at 16 kHz, un-normalised (the same crop as the log-Mel).
    pub wave: Tensor<2>,
    /// Log-Mel spectrograms `[batch, n_mels, frames]` in dB (stgram_mfn.md §1).
    pub mel: Tensor<3>,
}

impl From<(Tensor<2>, Tensor<3>)> for StgramInput {
    /// `(wave [batch, samples], mel [batch, n_mels, frames])`, e.g. a batch of a paired data source.
    fn from((wave, mel): (Tensor<2>, Tensor<3>)) -> Self {
        Self { wave, mel }
    }
}

/// STgram-MFN: waveform → TgramNet → Tgram `[batch, n_mels, frames]`; stacked with the log-Mel as the image
/// `[batch, 2, n_mels, frames]` (channel 0 log-Mel, channel 1 Tgram) → MobileFaceNet → embedding `[batch, 128]`
/// → head logits `[batch, n_classes]`. On a non-autodiff device BatchNorm uses its running statistics (eval mode).
#[derive(Module, Debug)]
pub struct StgramMfn {
    /// TgramNet front end.
    pub tgram: TgramNet,
    /// MobileFaceNet (2 input channels) and head.
    pub classifier: MfnClassifier,
}

/// Key renames from the reference's TgramNet (`tgramnet.conv_extrctor`, spelled so in the code, and
/// `tgramnet.conv_encoder.{i}.{0 = LayerNorm, 2 = Conv1d}`) to [`StgramMfn`]'s field paths.
pub(crate) const TGRAM_TORCH_KEY_MAP: [(&str, &str); 3] = [
    (r"^tgramnet\.conv_extrctor\.", "tgram.conv_extractor."),
    (r"^tgramnet\.conv_encoder\.(\d+)\.0\.", "tgram.blocks.$1.norm."),
    (r"^tgramnet\.conv_encoder\.(\d+)\.2\.", "tgram.blocks.$1.conv."),
];

impl StgramMfn {
    /// Input size of the log-Mel `[n_mels, frames]`.
    pub fn input_size(&self) -> [usize; 2] {
        self.classifier.mfn.input_size
    }

    /// The fused two-channel image.
    ///
    /// # Shapes
    /// - `input.wave`: `[batch, samples]`, `input.mel`: `[batch, n_mels, frames]`; output
    ///   `[batch, 2, n_mels, frames]`, channel 0 = log-Mel, channel 1 = Tgram
    ///
    /// # Panics
    /// If a shape differs from the configuration or the batch sizes differ.
    pub fn fused(&self, input: StgramInput) -> Tensor<4> {
        let [n_mels, frames] = self.input_size();
        let [batch, _] = input.wave.dims();
        assert_shape!(input.mel, [batch, n_mels, frames]);
        let tgram = self.tgram.forward(input.wave);
        Tensor::cat(vec![input.mel.unsqueeze_dim(1), tgram.unsqueeze_dim(1)], 1)
    }

    /// Loads weights saved from the reference PyTorch module (`golden/stgram_mfn/model_head/model.safetensors`
    /// layout, or the paper-era `model_paper/` one with its duplicate `mobilefacenet.arcface.weight`; BatchNorm
    /// running statistics included). With an ArcFace head `mobilefacenet.fc_out.*` is skipped; with the Linear
    /// head it is loaded and `arcface.weight` is skipped. The file is a `torch.save` checkpoint (`.pt`, `.pth`)
    /// or safetensors ([`weights::load_torch`]).
    ///
    /// # Errors
    /// [`Error::WeightFile`] if the file cannot be read, [`Error::WeightMismatch`] if a tensor is missing, unused
    /// or of the wrong shape.
    pub fn load_torch(self, path: &Path) -> crate::Result<Self> {
        let (map, unused) = self.classifier.torch_keys(&TGRAM_TORCH_KEY_MAP);
        weights::load_torch(self, path, &map, &unused)
    }

    /// The layer table (`asd info`), in forward order: TgramNet, MobileFaceNet stages, the head, and with an
    /// ArcFace head the reference's unused `fc_out`.
    pub fn layers(&self) -> Vec<LayerRow> {
        let mut rows = self.tgram.layers("tgram");
        rows.extend(self.classifier.layers("classifier"));
        rows
    }

    /// Parameters and MACs (decisions.md §9; stgram_mfn.md §8): `params` = TgramNet + MobileFaceNet + head
    /// (1 345 046 for the preset); `params_paper` adds the reference's `fc_out` when the head is ArcFace
    /// (1 350 335); `macs` = TgramNet + MobileFaceNet + head (797 684 864; the reference runs `fc_out`, our
    /// ArcFace cosine product has the same 128·41 MACs).
    pub fn count(&self) -> ModelCount {
        ModelCount::from_layers(&self.layers(), true)
    }
}

impl Embedder for StgramMfn {
    type Input = StgramInput;

    /// # Shapes
    /// As [`StgramMfn::fused`]; embedding `[batch, 128]`, logits `[batch, n_classes]`.
    fn forward(&self, input: StgramInput) -> ModelOutput {
        self.classifier.forward(self.fused(input))
    }

    fn margin_logits(&self, logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<2> {
        self.classifier.margin_logits(logits, labels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Criterion: the frame-count rule and the typed errors of `check` (field names as documented).
    #[test]
    fn check_names_the_bad_setting() {
        let field_of = |config: StgramMfnConfig| match config.check() {
            Err(Error::Config { field, .. }) => field,
            other => panic!("expected a config error, got {other:?}"),
        };
        assert!(StgramMfnConfig::new().check().is_ok());
        assert_eq!(field_of(StgramMfnConfig::new().with_frames(312)), "stgram_mfn.frames");
        assert_eq!(field_of(StgramMfnConfig::new().with_n_mels(0)), "stgram_mfn.n_mels");
        assert_eq!(
            field_of(StgramMfnConfig::new().with_hop_length(0)),
            "stgram_mfn.tgram.hop_length"
        );
        assert_eq!(
            field_of(StgramMfnConfig::new().with_n_classes(0)),
            "stgram_mfn.head.n_classes"
        );
        assert_eq!(
            field_of(StgramMfnConfig::new().with_head(HeadConfig::ArcFace {
                scale: 30.0,
                margin: -0.1
            })),
            "stgram_mfn.head.arcface_margin"
        );
        // 2-s input: 32 000 samples give 63 frames (the reference's comment).
        assert!(
            StgramMfnConfig::new()
                .with_samples(32_000)
                .with_frames(63)
                .check()
                .is_ok()
        );
    }

    /// Criterion: the configuration survives a JSON round trip (serde), with the variant and the head readable.
    #[test]
    fn config_round_trips_through_json() {
        let config = StgramMfnConfig::new().with_variant(MfnVariant::B);
        let json = burn::config::config_to_json(&config);
        assert!(json.contains("\"variant\": \"B\""), "{json}");
        assert!(json.contains("ArcFace"), "{json}");
        let back = StgramMfnConfig::load_binary(json.as_bytes()).expect("parses"); // ok: test
        assert_eq!(back.variant, MfnVariant::B);
        assert_eq!(back.head, config.head);
        assert_eq!(burn::config::config_to_json(&back), json);
    }
}

//! LogMel-MFN (Liu et al., ICASSP 2022, §3.3 ablation; stgram_mfn.md §3): MobileFaceNet on the one-channel
//! log-Mel image, with a Linear ("CEE") head by default (paper Table 4).

use crate::backbone::asdnet::DCASE2020_CLASSES;
use crate::backbone::mfn_classifier::{MFN_FRAMES, MFN_N_MELS, MfnClassifier, MfnClassifierConfig};
use crate::backbone::mobilefacenet::MfnVariant;
use crate::count::{LayerRow, ModelCount};
use crate::head::HeadConfig;
use crate::{Embedder, ModelOutput, weights};
use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, assert_shape};
use std::path::Path;

/// Configuration of [`LogMelMfn`]; [`LogMelMfnConfig::new`] gives the `logmel-mfn` preset (decisions.md §5, §9):
/// 128 × 313 log-Mel, MobileFaceNet variant A, Linear head, 41 classes.
#[derive(Config, Debug)]
pub struct LogMelMfnConfig {
    /// Mel bins of the input (image height).
    #[config(default = "MFN_N_MELS")]
    pub n_mels: usize,
    /// Frames of the input (image width); fixes the GDC kernel.
    #[config(default = "MFN_FRAMES")]
    pub frames: usize,
    /// MobileFaceNet bottleneck setting.
    #[config(default = "MfnVariant::A")]
    pub variant: MfnVariant,
    /// Number of classes.
    #[config(default = "DCASE2020_CLASSES")]
    pub n_classes: usize,
    /// Classification head.
    #[config(default = "HeadConfig::Linear")]
    pub head: HeadConfig,
}

impl LogMelMfnConfig {
    fn classifier(&self) -> MfnClassifierConfig {
        MfnClassifierConfig::new(
            [self.n_mels, self.frames],
            1,
            self.variant,
            self.n_classes,
            self.head.clone(),
        )
    }

    /// Checks every setting.
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) for a zero size or class count (fields `mfn.*`, `logmel_mfn.head.*`)
    /// or bad ArcFace settings.
    pub fn check(&self) -> crate::Result<()> {
        self.classifier().check("logmel_mfn")
    }

    /// Checks the configuration and builds the network (MobileFaceNet with the reference initialisation, the head
    /// as [`HeadConfig::init`]).
    ///
    /// # Errors
    /// As [`check`](Self::check).
    pub fn init(&self, device: &Device) -> crate::Result<LogMelMfn> {
        Ok(LogMelMfn {
            classifier: self.classifier().init("logmel_mfn", device)?,
        })
    }
}

/// LogMel-MFN: log-Mel `[batch, n_mels, frames]` → image `[batch, 1, n_mels, frames]` → MobileFaceNet → embedding
/// `[batch, 128]` → head logits `[batch, n_classes]`. On a non-autodiff device BatchNorm uses its running
/// statistics (eval mode).
#[derive(Module, Debug)]
pub struct LogMelMfn {
    /// MobileFaceNet (1 input channel) and head.
    pub classifier: MfnClassifier,
}

impl LogMelMfn {
    /// Input size `[n_mels, frames]`.
    pub fn input_size(&self) -> [usize; 2] {
        self.classifier.mfn.input_size
    }

    /// Loads weights saved from a reference MobileFaceNet (`mobilefacenet.*` with a one-channel `conv1`, plus
    /// `arcface.weight` for an ArcFace head or `mobilefacenet.fc_out.*` for the Linear head; BatchNorm running
    /// statistics included). The tensor the head does not use (`fc_out` or `arcface.weight`) may be present. The
    /// file is a `torch.save` checkpoint (`.pt`, `.pth`) or safetensors ([`weights::load_torch`]).
    ///
    /// # Errors
    /// [`Error::WeightFile`](crate::Error::WeightFile) if the file cannot be read,
    /// [`Error::WeightMismatch`](crate::Error::WeightMismatch) if a tensor is missing, unused or of the wrong shape.
    pub fn load_torch(self, path: &Path) -> crate::Result<Self> {
        let (map, unused) = self.classifier.torch_keys(&[]);
        weights::load_torch(self, path, &map, &unused)
    }

    /// The layer table (`asd info`), in forward order: MobileFaceNet stages, the head, and with an ArcFace head the
    /// reference's unused `fc_out`.
    pub fn layers(&self) -> Vec<LayerRow> {
        self.classifier.layers("classifier")
    }

    /// Parameters and MACs (decisions.md §9; stgram_mfn.md §8): `params` = MobileFaceNet + head; `params_paper`
    /// adds the reference's `fc_out` when the head is ArcFace; `macs` = MobileFaceNet + head (the reference runs
    /// `fc_out`), 704 717 952 for the preset.
    pub fn count(&self) -> ModelCount {
        ModelCount::from_layers(&self.layers(), true)
    }
}

impl Embedder for LogMelMfn {
    type Input = Tensor<3>;

    /// # Shapes
    /// - `input`: log-Mel `[batch, n_mels, frames]` (dB); embedding `[batch, 128]`, logits `[batch, n_classes]`
    fn forward(&self, input: Tensor<3>) -> ModelOutput {
        let [n_mels, frames] = self.input_size();
        assert_shape!(input, [_, n_mels, frames]);
        self.classifier.forward(input.unsqueeze_dim(1))
    }

    fn margin_logits(&self, logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<2> {
        self.classifier.margin_logits(logits, labels)
    }
}

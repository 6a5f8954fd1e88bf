//! The networks of OS-SCL (Huang, Fang, He, ICASSP 2025, seed 002; os_scl.md §3): MobileFaceNet B on the log-Mel
//! alone or on the TFSTgram fusion, then the feature-perturbation head and ArcFace (s 30) on its unit output.
//!
//! ```text
//! TFSTgram: [log-Mel, TgramNet(wave), TFgramNet(wave)] ─► X [B, 3, 128, 313]
//! log-Mel:   log-Mel ─► X [B, 1, 128, 313]            (the Tgram and TFgram branches are not built, §9 item 18)
//! X ─► MobileFaceNet B ─► e [B, 128] ─► FPH ─► z [B, 128], ‖z‖ = 1 ─► ArcFace ─► logits [B, n_classes]
//! ```
//!
//! The embedding the scorers and the contrastive loss see is z. MobileFaceNet's `fc_out` of the reference is not
//! built (its output is thrown away there); it only counts in `params_paper`.

use crate::backbone::asdnet::DCASE2020_CLASSES;
use crate::backbone::mfn_classifier::{MFN_FRAMES, MFN_N_MELS, reference_fc_out};
use crate::backbone::mobilefacenet::{MFN_TORCH_KEY_MAP, MfnVariant, MobileFaceNet, MobileFaceNetConfig};
use crate::backbone::stgram_mfn::TGRAM_TORCH_KEY_MAP;
use crate::count::{self, LayerRole, LayerRow, ModelCount};
use crate::error::Error;
use crate::frontend::tfgramnet::{TfgramNet, TfgramNetConfig};
use crate::frontend::tgramnet::{CLIP_SAMPLES, TgramNet, TgramNetConfig};
use crate::head::arcface::{ArcFace, ArcFaceConfig};
use crate::head::fph::{FeaturePerturbationHead, FphActivation, FphConfig, FphOutput};
use crate::{Embedder, ModelOutput, weights};
use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, assert_shape};
use std::path::Path;

/// ArcFace scale s of both variants ([code net.py] default `s=30`, os_scl.md §1).
pub const OS_SCL_ARCFACE_SCALE: f64 = 30.0;
/// ArcFace margin of the TFSTgram variant ([config.yaml] `--m 0.4`, os_scl.md §1).
pub const OS_SCL_MARGIN_TFSTGRAM: f64 = 0.4;
/// ArcFace margin of the log-Mel variant ([paper §III-A], os_scl.md §1).
pub const OS_SCL_MARGIN_LOGMEL: f64 = 0.7;

/// What MobileFaceNet reads: the TFSTgram fusion (3 channels) or the log-Mel alone (1 channel). Serialises as
/// `"TfStgram"` / `"LogMel"`.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum OsSclFusion {
    /// [log-Mel, Tgram, TFgram] stacked on the channel axis, in that order (os_scl.md §3.3; `fussion = 1`).
    TfStgram,
    /// The log-Mel alone (`fussion = 2`).
    LogMel,
}

impl OsSclFusion {
    /// Input channels of MobileFaceNet.
    pub fn channels(self) -> usize {
        match self {
            Self::TfStgram => 3,
            Self::LogMel => 1,
        }
    }
}

/// Settings of [`OsScl`]; [`OsSclConfig::tfstgram`] and [`OsSclConfig::logmel`] are the paper's two variants.
#[derive(Config, Debug)]
pub struct OsSclConfig {
    /// What MobileFaceNet reads.
    #[config(default = "OsSclFusion::TfStgram")]
    pub fusion: OsSclFusion,
    /// Mel bins of the log-Mel input (also the Tgram's and TFgram's channels).
    #[config(default = "MFN_N_MELS")]
    pub n_mels: usize,
    /// Frames of the log-Mel input; the learned front ends give as many.
    #[config(default = "MFN_FRAMES")]
    pub frames: usize,
    /// Samples of the waveform input (TFSTgram only).
    #[config(default = "CLIP_SAMPLES")]
    pub samples: usize,
    /// Number of classes.
    #[config(default = "DCASE2020_CLASSES")]
    pub n_classes: usize,
    /// The FPH's activation.
    #[config(default = "FphActivation::Relu")]
    pub activation: FphActivation,
    /// ArcFace scale s.
    #[config(default = "OS_SCL_ARCFACE_SCALE")]
    pub scale: f64,
    /// ArcFace margin m (radians).
    #[config(default = "OS_SCL_MARGIN_TFSTGRAM")]
    pub margin: f64,
}

impl OsSclConfig {
    /// TFSTgram(OS-SCL): the fusion, ReLU head, m 0.4 (os_scl.md §1).
    pub fn tfstgram() -> Self {
        Self::new()
    }

    /// Log-Mel(OS-SCL): the log-Mel alone, LeakyReLU head, m 0.7 (os_scl.md §1, §9 item 14).
    pub fn logmel() -> Self {
        Self::new()
            .with_fusion(OsSclFusion::LogMel)
            .with_activation(FphActivation::LeakyRelu)
            .with_margin(OS_SCL_MARGIN_LOGMEL)
    }

    fn mfn(&self) -> MobileFaceNetConfig {
        MobileFaceNetConfig::new([self.n_mels, self.frames])
            .with_in_channels(self.fusion.channels())
            .with_setting(MfnVariant::B.setting())
    }

    fn arcface(&self) -> ArcFaceConfig {
        ArcFaceConfig::new(self.mfn().embedding_dim, self.n_classes)
            .with_scale(self.scale)
            .with_margin(self.margin)
    }

    /// Checks every setting (fields named under `model.`).
    ///
    /// # Errors
    /// [`Error::Config`] naming the setting: a MobileFaceNet, ArcFace or front-end size that does not fit.
    pub fn check(&self) -> crate::Result<()> {
        self.mfn().check()?;
        self.arcface().check("model")?;
        if self.fusion == OsSclFusion::TfStgram {
            let frames = TgramNetConfig::new().with_samples(self.samples).check("model.tgram")?;
            if frames != self.frames {
                return Err(Error::Config {
                    field: "model.samples".into(),
                    reason: format!(
                        "{} samples give {frames} Tgram frames, the log-Mel has {}",
                        self.samples, self.frames
                    ),
                });
            }
            self.tfgram().check("model.tfgram")?;
        }
        Ok(())
    }

    fn tfgram(&self) -> TfgramNetConfig {
        TfgramNetConfig::new()
            .with_samples(self.samples)
            .with_frames(self.frames)
    }

    /// Builds the network with the reference's initialisation (each part's own).
    ///
    /// # Errors
    /// As [`OsSclConfig::check`].
    pub fn init(&self, device: &Device) -> crate::Result<OsScl> {
        self.check()?;
        let fused = self.fusion == OsSclFusion::TfStgram;
        let tgram = TgramNetConfig::new().with_samples(self.samples);
        Ok(OsScl {
            tgram: fused.then(|| tgram.init(device)).transpose()?,
            tfgram: fused.then(|| self.tfgram().init(device)).transpose()?,
            mfn: self.mfn().init(device)?,
            head: FphConfig::new()
                .with_embedding_dim(self.mfn().embedding_dim)
                .with_activation(self.activation)
                .init(device),
            arcface: self.arcface().init(device),
            samples: self.samples,
        })
    }
}

/// A batch for [`OsScl`]: the log-Mel `[batch, n_mels, frames]` and, for the TFSTgram variant, the waveform
/// `[batch, samples]`.
#[derive(Clone, Debug)]
pub struct OsSclInput {
    /// The log-Mel.
    pub mel: Tensor<3>,
    /// The waveform; `None` for the log-Mel variant.
    pub wave: Option<Tensor<2>>,
}

impl From<(Tensor<2>, Tensor<3>)> for OsSclInput {
    /// `(wave, mel)`, as a paired data source batches them.
    fn from((wave, mel): (Tensor<2>, Tensor<3>)) -> Self {
        Self { mel, wave: Some(wave) }
    }
}

impl From<Tensor<3>> for OsSclInput {
    /// The log-Mel alone.
    fn from(mel: Tensor<3>) -> Self {
        Self { mel, wave: None }
    }
}

/// OS-SCL's network (module docs). Field names follow the reference's state dict (renamed by
/// [`OsScl::load_torch`]).
#[derive(Module, Debug)]
pub struct OsScl {
    /// TgramNet (TFSTgram only).
    pub tgram: Option<TgramNet>,
    /// TFgramNet (TFSTgram only).
    pub tfgram: Option<TfgramNet>,
    /// MobileFaceNet B.
    pub mfn: MobileFaceNet,
    /// The feature-perturbation head.
    pub head: FeaturePerturbationHead,
    /// The ArcFace head on z.
    pub arcface: ArcFace,
    /// Samples of the waveform input.
    samples: usize,
}

/// Every intermediate output of [`OsScl::outputs`].
#[derive(Clone, Debug)]
pub struct OsSclOutputs {
    /// The Tgram and TFgram `[batch, n_mels, frames]` (TFSTgram only).
    pub learned: Option<(Tensor<3>, Tensor<3>)>,
    /// MobileFaceNet's embedding e `[batch, 128]`.
    pub embedding: Tensor<2>,
    /// The FPH's output, before and after normalisation.
    pub fph: FphOutput,
    /// s·cos(z, W_j) `[batch, n_classes]`, without margin.
    pub logits: Tensor<2>,
}

/// Key renames from the reference's (pruned) state dict to field paths: TFgramNet, the FPH (`head.head.{0,2,3,5}`),
/// ArcFace, then TgramNet's and MobileFaceNet's own.
const OS_SCL_TORCH_KEY_MAP: [(&str, &str); 6] = [
    (r"^TFgramNet\.", "tfgram."),
    (r"^head\.head\.0\.", "head.fc1."),
    (r"^head\.head\.2\.", "head.bn1."),
    (r"^head\.head\.3\.", "head.fc2."),
    (r"^head\.head\.5\.", "head.bn2."),
    (r"^mobilefacenet\.", "mfn."),
];

/// The reference's MobileFaceNet `fc_out` (computed there, its output thrown away), after renaming.
const OS_SCL_TORCH_UNUSED: [&str; 2] = ["mfn.fc_out.weight", "mfn.fc_out.bias"];

impl OsScl {
    /// Input size of the log-Mel `[n_mels, frames]`.
    pub fn input_size(&self) -> [usize; 2] {
        self.mfn.input_size
    }

    /// The image MobileFaceNet reads, and the Tgram and TFgram when the variant fuses them.
    ///
    /// # Panics
    /// If a shape differs from the configuration, or the TFSTgram variant gets no waveform.
    fn image(&self, input: OsSclInput) -> (Tensor<4>, Option<(Tensor<3>, Tensor<3>)>) {
        let [n_mels, frames] = self.input_size();
        let [batch, _, _] = input.mel.dims();
        assert_shape!(input.mel, [batch, n_mels, frames]);
        let mel = input.mel.unsqueeze_dim(1);
        match (&self.tgram, &self.tfgram) {
            (Some(tgram), Some(tfgram)) => {
                let wave = input.wave.expect("the TFSTgram variant reads the waveform"); // ok: the system pairs them
                assert_shape!(wave, [batch, self.samples]);
                let t = tgram.forward(wave.clone());
                let tf = tfgram.forward(wave);
                let image = Tensor::cat(vec![mel, t.clone().unsqueeze_dim(1), tf.clone().unsqueeze_dim(1)], 1);
                (image, Some((t, tf)))
            }
            _ => (mel, None),
        }
    }

    /// Every intermediate output of a batch (golden tests, `asd explain`).
    ///
    /// # Shapes
    /// See [`OsSclInput`] and [`OsSclOutputs`].
    ///
    /// # Panics
    /// If a shape differs from the configuration, or the TFSTgram variant gets no waveform.
    pub fn outputs(&self, input: OsSclInput) -> OsSclOutputs {
        let (image, learned) = self.image(input);
        let embedding = self.mfn.forward(image);
        let fph = self.head.forward(embedding.clone());
        let logits = self.arcface.forward(fph.z.clone());
        OsSclOutputs {
            learned,
            embedding,
            fph,
            logits,
        }
    }

    /// Loads weights saved from the reference PyTorch module (`golden/os_scl/*_model.safetensors` layout: the
    /// pruned state dict with `TFgramNet.*`, `tgramnet.*`, `mobilefacenet.*`, `head.head.*`, `arcface.weight`), from a
    /// `torch.save` checkpoint or safetensors ([`weights::load_torch`]); `mobilefacenet.fc_out.*` is skipped.
    ///
    /// # Errors
    /// [`Error::WeightFile`] if the file cannot be read, [`Error::WeightMismatch`] if a tensor is missing, unused
    /// or of the wrong shape.
    pub fn load_torch(self, path: &Path) -> crate::Result<Self> {
        let mut map = TGRAM_TORCH_KEY_MAP.to_vec();
        map.extend(OS_SCL_TORCH_KEY_MAP);
        map.extend(MFN_TORCH_KEY_MAP);
        weights::load_torch(self, path, &map, &OS_SCL_TORCH_UNUSED)
    }

    /// The layer table (`asd info`), in forward order: TgramNet and TFgramNet (TFSTgram), MobileFaceNet, the FPH,
    /// ArcFace, and the reference's unused `fc_out` (counted in `params_paper` only).
    pub fn layers(&self) -> Vec<LayerRow> {
        let mut rows = Vec::new();
        if let Some(tgram) = &self.tgram {
            rows.extend(tgram.layers("tgram"));
        }
        if let Some(tfgram) = &self.tfgram {
            rows.extend(tfgram.layers("tfgram"));
        }
        rows.extend(self.mfn.layers("mfn"));
        rows.push(self.head.layer("head"));
        let [n_classes, dim] = self.arcface.weight.dims();
        rows.push(LayerRow::new(
            "arcface",
            vec![n_classes],
            count::dense(dim, n_classes, false),
            LayerRole::Head,
        ));
        rows.push(reference_fc_out(dim, n_classes));
        rows
    }

    /// Parameters and MACs (decisions.md §9; os_scl.md §7–8): TFSTgram 1 372 246 (1 377 535 with `fc_out`),
    /// log-Mel 891 968 (897 257).
    pub fn count(&self) -> ModelCount {
        ModelCount::from_layers(&self.layers(), true)
    }
}

impl Embedder for OsScl {
    type Input = OsSclInput;

    /// z (the FPH's unit output) as the embedding, ArcFace's logits on it.
    fn forward(&self, input: OsSclInput) -> ModelOutput {
        let out = self.outputs(input);
        ModelOutput::new(out.fph.z, out.logits)
    }

    fn margin_logits(&self, logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<2> {
        self.arcface.apply_margin(logits, labels)
    }
}

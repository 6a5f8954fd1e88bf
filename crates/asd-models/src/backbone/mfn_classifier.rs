//! MobileFaceNet + classification head: the part LogMel-MFN and STgram-MFN share (stgram_mfn.md §3–5). Both
//! whole models hold one [`MfnClassifier`] under the field `classifier` and differ only in how they build its input
//! image.

use crate::ModelOutput;
use crate::backbone::mobilefacenet::{MFN_TORCH_KEY_MAP, MfnVariant, MobileFaceNet, MobileFaceNetConfig};
use crate::count::{self, LayerRole, LayerRow};
use crate::head::{Head, HeadConfig};
use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor};

/// Mel bins of the STgram-MFN log-Mel (stgram_mfn.md §1.1, `n_mels=128`).
pub const MFN_N_MELS: usize = 128;
/// Frames of a 10-s clip: 1 + ⌊160 000/512⌋ = 313 (stgram_mfn.md §1.2; the reference's `LayerNorm(313)`).
pub const MFN_FRAMES: usize = 313;
/// ArcFace margin m of STgram-MFN (paper §3.1; config-2022 `margin: 0.7`, config-HEAD `m: 0.7`).
pub const STGRAM_ARCFACE_MARGIN: f64 = 0.7;
/// ArcFace scale s of STgram-MFN (paper §3.1; config-2022 `scale: 30`).
pub const STGRAM_ARCFACE_SCALE: f64 = 30.0;

/// What a reference MobileFaceNet checkpoint's tensors say about its settings ([`ReferenceSettings::read`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReferenceSettings {
    /// The variant, from the number of bottleneck blocks `mobilefacenet.blocks.{i}`.
    pub variant: MfnVariant,
    /// Classes: the rows of `arcface.weight` or of `mobilefacenet.fc_out.weight`.
    pub n_classes: usize,
    /// Whether the checkpoint has an ArcFace head (`arcface.weight`); otherwise its head is `fc_out`.
    pub arcface: bool,
    /// Input channels of `mobilefacenet.conv1` (1: log-Mel only, 2: log-Mel and Tgram).
    pub in_channels: usize,
}

impl ReferenceSettings {
    /// Reads the settings from a reference checkpoint's tensor names and shapes ([`crate::weights::tensor_shapes`]).
    ///
    /// # Errors
    /// [`crate::Error::Config`] naming the setting the tensors do not tell: no MobileFaceNet blocks, a block count
    /// of neither variant, no head, or heads of different class counts.
    pub fn read(tensors: &[(String, Vec<usize>)]) -> crate::Result<Self> {
        let config = |field: &str, reason: String| crate::Error::Config {
            field: field.into(),
            reason,
        };
        let shape = |name: &str| tensors.iter().find(|(n, _)| n == name).map(|(_, s)| s.as_slice());
        let blocks: std::collections::BTreeSet<usize> = tensors
            .iter()
            .filter_map(|(n, _)| n.strip_prefix("mobilefacenet.blocks.")?.split('.').next()?.parse().ok())
            .collect();
        let variant = MfnVariant::with_blocks(blocks.len()).ok_or_else(|| {
            config(
                "variant",
                format!(
                    "the weights have {} MobileFaceNet bottleneck blocks; variant A has {}, B {}",
                    blocks.len(),
                    MfnVariant::A.n_blocks(),
                    MfnVariant::B.n_blocks()
                ),
            )
        })?;
        let rows = |name: &str| shape(name).and_then(|s| s.first().copied());
        let (arcface, fc_out) = (rows("arcface.weight"), rows("mobilefacenet.fc_out.weight"));
        let n_classes = match (arcface, fc_out) {
            (Some(a), Some(f)) if a != f => {
                return Err(config(
                    "n_classes",
                    format!("arcface.weight has {a} classes, mobilefacenet.fc_out.weight {f}"),
                ));
            }
            (Some(n), _) | (None, Some(n)) => n,
            (None, None) => {
                return Err(config(
                    "head",
                    "the weights have neither arcface.weight nor mobilefacenet.fc_out.weight".into(),
                ));
            }
        };
        let in_channels = shape("mobilefacenet.conv1.conv.weight")
            .and_then(|s| s.get(1).copied())
            .ok_or_else(|| {
                config(
                    "in_channels",
                    "the weights have no mobilefacenet.conv1.conv.weight".into(),
                )
            })?;
        Ok(Self {
            variant,
            n_classes,
            arcface: arcface.is_some(),
            in_channels,
        })
    }
}

/// Configuration of an [`MfnClassifier`].
#[derive(Config, Debug)]
pub struct MfnClassifierConfig {
    /// Input image size `[freq, time]` (mel bins, frames); fixes the GDC kernel.
    pub input_size: [usize; 2],
    /// Input image channels (1 for LogMel-MFN, 2 for STgram-MFN).
    pub in_channels: usize,
    /// MobileFaceNet bottleneck setting.
    pub variant: MfnVariant,
    /// Number of classes.
    pub n_classes: usize,
    /// Classification head.
    pub head: HeadConfig,
}

impl MfnClassifierConfig {
    fn mfn(&self) -> MobileFaceNetConfig {
        MobileFaceNetConfig::new(self.input_size)
            .with_in_channels(self.in_channels)
            .with_setting(self.variant.setting())
    }

    /// Checks the MobileFaceNet and the head; head fields are prefixed with `{what}.head`.
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) from [`MobileFaceNetConfig::check`] or [`HeadConfig::check`].
    pub fn check(&self, what: &str) -> crate::Result<()> {
        let mfn = self.mfn();
        mfn.check()?;
        self.head
            .check(&format!("{what}.head"), mfn.embedding_dim, self.n_classes)
    }

    /// Checks the configuration and builds the network (MobileFaceNet with the reference initialisation of
    /// stgram_mfn.md §4.5, the head as [`HeadConfig::init`]).
    ///
    /// # Errors
    /// As [`check`](Self::check).
    pub fn init(&self, what: &str, device: &Device) -> crate::Result<MfnClassifier> {
        self.check(what)?;
        let mfn = self.mfn();
        Ok(MfnClassifier {
            head: self.head.init(mfn.embedding_dim, self.n_classes, device),
            mfn: mfn.init(device)?,
        })
    }
}

/// MobileFaceNet → embedding `[batch, 128]` → head logits `[batch, n_classes]`.
#[derive(Module, Debug)]
pub struct MfnClassifier {
    /// The MobileFaceNet trunk.
    pub mfn: MobileFaceNet,
    /// The classification head.
    pub head: Head,
}

/// Name of the reference's `fc_out` in layer tables when the head is ArcFace (the reference builds it anyway).
const REFERENCE_FC_OUT: &str = "mobilefacenet.fc_out";

/// The layer-table row of the reference MobileFaceNet's `fc_out` (`dim` → `n_classes` with bias), which the
/// reference computes beside an ArcFace head and throws away: [`ReferenceOnly`](LayerRole::ReferenceOnly), counted
/// in `params_paper` only.
pub(crate) fn reference_fc_out(dim: usize, n_classes: usize) -> LayerRow {
    LayerRow::new(
        REFERENCE_FC_OUT,
        vec![n_classes],
        count::dense(dim, n_classes, true),
        LayerRole::ReferenceOnly,
    )
}

impl MfnClassifier {
    /// Embedding and logits (without margin) of each image.
    ///
    /// # Shapes
    /// - `image`: `[batch, in_channels, freq, time]`; embedding `[batch, 128]`, logits `[batch, n_classes]`
    ///
    /// # Panics
    /// If the image shape differs from the configuration.
    pub fn forward(&self, image: Tensor<4>) -> ModelOutput {
        let embedding = self.mfn.forward(image);
        let logits = self.head.forward(embedding.clone());
        ModelOutput::new(embedding, logits)
    }

    /// Training logits (see [`Head::margin_logits`]).
    ///
    /// # Panics
    /// As [`Head::margin_logits`].
    pub fn margin_logits(&self, logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<2> {
        self.head.margin_logits(logits, labels)
    }

    /// The layer table: MobileFaceNet rows (`{prefix}.mfn.*`), the head (`{prefix}.head`), and with an ArcFace head
    /// the reference's unused `fc_out` (128 → n_classes with bias) as [`ReferenceOnly`](LayerRole::ReferenceOnly),
    /// named `mobilefacenet.fc_out` (stgram_mfn.md §4.2, §8.1).
    pub fn layers(&self, prefix: &str) -> Vec<LayerRow> {
        let mut rows = self.mfn.layers(&format!("{prefix}.mfn"));
        rows.push(self.head.layer(&format!("{prefix}.head")));
        if let Head::ArcFace(_) = self.head {
            rows.push(reference_fc_out(self.head.embedding_dim(), self.head.n_classes()));
        }
        rows
    }

    /// Key renames from the reference STgram-MFN `state_dict` (`mobilefacenet.*`, `arcface.weight`) to field paths
    /// under `classifier`, and the renamed reference keys that may stay unused: the paper-era duplicate
    /// `mobilefacenet.arcface.weight`, `mobilefacenet.fc_out.*` with an ArcFace head, `arcface.weight` with a
    /// Linear head (which takes `fc_out`). `extra_map` (the model's other tensors, e.g. TgramNet) comes first.
    pub(crate) fn torch_keys(
        &self,
        extra_map: &[(&'static str, &'static str)],
    ) -> (Vec<(&'static str, &'static str)>, Vec<&'static str>) {
        let mut map = extra_map.to_vec();
        let mut unused = vec!["classifier.mfn.arcface.weight"];
        match self.head {
            Head::ArcFace(_) => {
                map.push((r"^arcface\.weight$", "classifier.head.ArcFace.weight"));
                unused.extend(["classifier.mfn.fc_out.weight", "classifier.mfn.fc_out.bias"]);
            }
            Head::Linear(_) => {
                map.push((r"^mobilefacenet\.fc_out\.", "classifier.head.Linear."));
                unused.push("arcface.weight");
            }
        }
        map.push((r"^mobilefacenet\.", "classifier.mfn."));
        map.extend(MFN_TORCH_KEY_MAP);
        (map, unused)
    }
}

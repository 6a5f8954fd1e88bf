//! SpecMFN (Kong et al. 2025, §2.3.2): SpecNet, a Conv1d + ReLU stack on the magnitude spectrum whose output
//! `[batch, 128, T']` becomes a one-channel image, then MobileFaceNet (variant B), as reconstructed in
//! asdnet_specmfn.md §3.4 (decisions.md §5–6).

use crate::backbone::asdnet::{DCASE2020_CLASSES, SPECTRUM_BINS};
use crate::backbone::mobilefacenet::{MFN_TORCH_KEY_MAP, MobileFaceNet, MobileFaceNetConfig};
use crate::blocks::conv1d_stack::{Conv1dStack, Conv1dStackConfig, StackPadding};
use crate::count::{self, LayerRole, LayerRow, ModelCount};
use crate::head::arcface::{ARCFACE_MARGIN, ARCFACE_SCALE, ArcFace, ArcFaceConfig};
use crate::{Embedder, ModelOutput, weights};
use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, assert_shape};
use std::path::Path;

/// Reconstructed SpecNet (asdnet_specmfn.md §3.4, candidate A): six Conv1d layers `[out_channels, kernel, stride]`.
pub const SPECNET_LAYERS: [[usize; 3]; 6] = [
    [128, 3, 4],
    [128, 3, 3],
    [128, 3, 3],
    [128, 3, 3],
    [128, 3, 2],
    [128, 3, 2],
];

/// Configuration of [`SpecMfn`]; [`SpecMfnConfig::new`] gives the reconstructed default.
#[derive(Config, Debug)]
pub struct SpecMfnConfig {
    /// SpecNet layers `[out_channels, kernel, stride]`; the last width becomes the image height F.
    #[config(default = "SPECNET_LAYERS.to_vec()")]
    pub specnet_layers: Vec<[usize; 3]>,
    /// SpecNet padding.
    #[config(default = "StackPadding::None")]
    pub specnet_padding: StackPadding,
    /// Spectrum bins of one input segment; fixes the image width T' and the MobileFaceNet's linear7 kernel.
    #[config(default = "SPECTRUM_BINS")]
    pub input_bins: usize,
    /// Classes of the ArcFace head (and of the reference's unused `fc_out`, counted in `params_paper`).
    #[config(default = "DCASE2020_CLASSES")]
    pub n_classes: usize,
    /// ArcFace scale s.
    #[config(default = "ARCFACE_SCALE")]
    pub arcface_scale: f64,
    /// ArcFace margin m (radians).
    #[config(default = "ARCFACE_MARGIN")]
    pub arcface_margin: f64,
}

impl SpecMfnConfig {
    fn specnet(&self) -> Conv1dStackConfig {
        Conv1dStackConfig::new(1, self.specnet_layers.clone()).with_padding(self.specnet_padding)
    }

    fn mfn(&self) -> crate::Result<MobileFaceNetConfig> {
        let specnet = self.specnet();
        let width = specnet.check("specnet", self.input_bins)?;
        Ok(MobileFaceNetConfig::new([specnet.out_channels(), width]))
    }

    /// Checks every setting.
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) / [`Error::InputTooShort`](crate::Error::InputTooShort) for SpecNet
    /// or MobileFaceNet settings, a zero class count, a non-positive ArcFace scale or a margin outside [0, π/2).
    pub fn check(&self) -> crate::Result<()> {
        let mfn = self.mfn()?;
        mfn.check()?;
        self.arcface(mfn.embedding_dim).check("specmfn")
    }

    fn arcface(&self, embedding_dim: usize) -> ArcFaceConfig {
        ArcFaceConfig::new(embedding_dim, self.n_classes)
            .with_scale(self.arcface_scale)
            .with_margin(self.arcface_margin)
    }

    /// Checks the configuration and builds the network: SpecNet with PyTorch-default weights, MobileFaceNet with the
    /// reference initialisation, Xavier-uniform ArcFace weights.
    ///
    /// # Errors
    /// As [`check`](Self::check).
    pub fn init(&self, device: &Device) -> crate::Result<SpecMfn> {
        self.check()?;
        let mfn = self.mfn()?;
        Ok(SpecMfn {
            specnet: self.specnet().init(device),
            arcface: self.arcface(mfn.embedding_dim).init(device),
            mfn: mfn.init(device)?,
            input_bins: self.input_bins,
        })
    }
}

/// SpecMFN: spectrum `[batch, bins]` → SpecNet `[batch, 128, T']` → image `[batch, 1, 128, T']` → MobileFaceNet
/// → embedding → ArcFace logits. On a non-autodiff device (e.g. `Device::flex()`) BatchNorm uses its running
/// statistics (eval mode).
#[derive(Module, Debug)]
pub struct SpecMfn {
    /// SpecNet: Conv1d + ReLU layers.
    pub specnet: Conv1dStack,
    /// MobileFaceNet back end.
    pub mfn: MobileFaceNet,
    /// ArcFace classification head.
    pub arcface: ArcFace,
    /// Spectrum bins the network was built for.
    pub input_bins: usize,
}

/// Tensors of the reference file that [`SpecMfn`] does not have: the unused `fc_out` (decisions.md §9).
const TORCH_UNUSED: [&str; 2] = ["mfn.fc_out.weight", "mfn.fc_out.bias"];

impl SpecMfn {
    /// SpecNet's output as the MobileFaceNet's input image.
    ///
    /// # Shapes
    /// - `spectrum`: `[batch, input_bins]`; output `[batch, 1, 128, T']`
    ///
    /// # Panics
    /// If the spectrum length differs from `input_bins`.
    pub fn image(&self, spectrum: Tensor<2>) -> Tensor<4> {
        assert_shape!(spectrum, [_, self.input_bins]);
        self.specnet.forward(spectrum.unsqueeze_dim(1)).unsqueeze_dim(1)
    }

    /// Loads weights saved from the reference PyTorch module (`golden/asdnet/specmfn/model.safetensors` layout,
    /// BatchNorm running statistics included; `fc_out` is skipped), from a `torch.save` checkpoint or safetensors
    /// ([`weights::load_torch`]).
    ///
    /// # Errors
    /// [`Error::WeightFile`](crate::Error::WeightFile) if the file cannot be read,
    /// [`Error::WeightMismatch`](crate::Error::WeightMismatch) if a tensor is missing, unused or
    /// of the wrong shape.
    pub fn load_torch(self, path: &Path) -> crate::Result<Self> {
        weights::load_torch(self, path, &MFN_TORCH_KEY_MAP, &TORCH_UNUSED)
    }

    /// The layer table (`asd info`), in forward order: SpecNet `specnet.convs.{i}` (`[channels, length]`),
    /// MobileFaceNet `mfn.*` (`[channels, height, width]`), the ArcFace head `arcface`, and the reference's unused
    /// `mfn.fc_out` (128 → n_classes with bias) as [`ReferenceOnly`](LayerRole::ReferenceOnly).
    pub fn layers(&self) -> Vec<LayerRow> {
        let mut rows = self.specnet.layers("specnet.convs", self.input_bins);
        rows.extend(self.mfn.layers("mfn"));
        rows.push(self.arcface.layer("arcface"));
        let [n_classes, dim] = self.arcface.weight.shape().dims();
        rows.push(LayerRow::new(
            "mfn.fc_out",
            vec![n_classes],
            count::dense(dim, n_classes, true),
            LayerRole::ReferenceOnly,
        ));
        rows
    }

    /// Parameters and MACs (decisions.md §9), from [`layers`](Self::layers): `params` = SpecNet + MobileFaceNet +
    /// ArcFace W; `params_paper` adds the reference's unused `fc_out` instead of ArcFace W; `macs` = SpecNet +
    /// MobileFaceNet up to the embedding.
    pub fn count(&self) -> ModelCount {
        ModelCount::from_layers(&self.layers(), false)
    }
}

impl Embedder for SpecMfn {
    type Input = Tensor<2>;

    /// # Shapes
    /// - `input`: `[batch, input_bins]`; embedding `[batch, 128]`, logits `[batch, n_classes]`
    fn forward(&self, input: Tensor<2>) -> ModelOutput {
        let embedding = self.mfn.forward(self.image(input));
        let logits = self.arcface.forward(embedding.clone());
        ModelOutput::new(embedding, logits)
    }

    fn margin_logits(&self, logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<2> {
        self.arcface.apply_margin(logits, labels)
    }
}

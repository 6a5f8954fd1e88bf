//! SpecMFN (Kong et al. 2025, §2.3.2): SpecNet, a Conv1d + ReLU stack on the magnitude spectrum whose output
//! `[batch, 128, T']` becomes a one-channel image, then MobileFaceNet (variant B), as reconstructed in
//! asdnet_specmfn.md §3.4 (decisions.md §5–6).

use crate::backbone::asdnet::{DCASE2020_CLASSES, SPECTRUM_BINS};
use crate::backbone::mobilefacenet::{MobileFaceNet, MobileFaceNetConfig};
use crate::blocks::conv1d_stack::{Conv1dStack, Conv1dStackConfig, StackPadding};
use crate::count::{self, ModelCount};
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

/// Key renames from the reference PyTorch module to [`SpecMfn`]'s field paths: bottleneck `conv.0`–`conv.7`
/// (an `nn.Sequential`) to named blocks, and PReLU `weight` to Burn's `alpha`.
const TORCH_KEY_MAP: [(&str, &str); 9] = [
    (r"\.conv\.0\.", ".expand.conv."),
    (r"\.conv\.1\.", ".expand.bn."),
    (r"\.conv\.2\.weight$", ".expand.prelu.weight"),
    (r"\.conv\.3\.", ".depthwise.conv."),
    (r"\.conv\.4\.", ".depthwise.bn."),
    (r"\.conv\.5\.weight$", ".depthwise.prelu.weight"),
    (r"\.conv\.6\.", ".project.conv."),
    (r"\.conv\.7\.", ".project.bn."),
    (r"\.prelu\.weight$", ".prelu.alpha"),
];
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
    /// BatchNorm running statistics included; `fc_out` is skipped).
    ///
    /// # Errors
    /// [`Error::WeightFile`](crate::Error::WeightFile) if the file cannot be read,
    /// [`Error::WeightMismatch`](crate::Error::WeightMismatch) if a tensor is missing, unused or
    /// of the wrong shape.
    pub fn load_torch_safetensors(self, path: &Path) -> crate::Result<Self> {
        weights::load_torch_safetensors(self, path, &TORCH_KEY_MAP, &TORCH_UNUSED)
    }

    /// Parameters and MACs (decisions.md §9): `params` = SpecNet + MobileFaceNet + ArcFace W; `params_paper` adds
    /// the reference's unused `fc_out` (128 → n_classes, with bias) instead of ArcFace W; `macs` = SpecNet +
    /// MobileFaceNet up to the embedding.
    pub fn count(&self) -> ModelCount {
        let (specnet, _) = self.specnet.count(self.input_bins);
        let network = specnet + self.mfn.count();
        let [n_classes, dim] = self.arcface.weight.shape().dims();
        let fc_out = count::dense(dim, n_classes, true);
        ModelCount {
            params: network.params + n_classes * dim,
            params_paper: network.params + fc_out.params,
            macs: network.macs,
        }
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

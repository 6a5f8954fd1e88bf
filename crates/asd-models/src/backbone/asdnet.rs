//! ASDNet (Kong et al., Appl. Sci. 2025, 15, 584): eight Conv1d + ReLU layers on the magnitude spectrum of a 2-s
//! segment, then an embedding head, as reconstructed in asdnet_specmfn.md §2 (decisions.md §6).

use crate::blocks::conv1d_stack::{Conv1dStack, Conv1dStackConfig, StackPadding};
use crate::count::{self, LayerRole, LayerRow, ModelCount};
use crate::head::arcface::{ARCFACE_MARGIN, ARCFACE_SCALE, ArcFace, ArcFaceConfig};
use crate::{Embedder, ModelOutput, weights};
use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Int, Tensor, assert_shape};
use std::path::Path;

/// Table 1 of the paper: `[out_channels, kernel, stride]` of the eight Conv1d layers.
pub const ASDNET_LAYERS: [[usize; 3]; 8] = [
    [128, 9, 6],
    [128, 7, 5],
    [128, 5, 3],
    [128, 5, 3],
    [128, 3, 2],
    [128, 3, 2],
    [128, 3, 2],
    [128, 3, 2],
];
/// One-sided spectrum bins of a 2-s segment at 16 kHz: rfft of 32 000 samples (asdnet_specmfn.md §1).
pub const SPECTRUM_BINS: usize = 16_001;
/// Embedding width (asdnet_specmfn.md §2.1: Linear(256 → 128)).
pub const EMBEDDING_DIM: usize = 128;
/// Classes of DCASE 2020 Task 2, machine type × ID (asdnet_specmfn.md §1).
pub const DCASE2020_CLASSES: usize = 41;

/// How the last conv output `[batch, C₈, L₈]` becomes the embedding (asdnet_specmfn.md §2.3–2.4 `head`).
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum AsdNetHead {
    /// Channel-major flatten, then Linear(C₈·L₈ → embedding_dim), no activation (design D2, the default).
    FlattenLinear,
    /// Mean over time, then Linear(C₈ → embedding_dim) (design D3).
    GapLinear,
    /// The flattened C₈·L₈ vector itself is the embedding (`embedding_dim` is ignored).
    Flatten,
}

/// Configuration of [`AsdNet`]; [`AsdNetConfig::new`] gives the paper's network (asdnet_specmfn.md §2.4).
#[derive(Config, Debug)]
pub struct AsdNetConfig {
    /// `[out_channels, kernel, stride]` per Conv1d layer (Table 1).
    #[config(default = "ASDNET_LAYERS.to_vec()")]
    pub layers: Vec<[usize; 3]>,
    /// Padding of every conv layer.
    #[config(default = "StackPadding::None")]
    pub padding: StackPadding,
    /// Whether the convolutions have a bias.
    #[config(default = true)]
    pub conv_bias: bool,
    /// Embedding head.
    #[config(default = "AsdNetHead::FlattenLinear")]
    pub head: AsdNetHead,
    /// Embedding width of the Linear heads.
    #[config(default = "EMBEDDING_DIM")]
    pub embedding_dim: usize,
    /// Spectrum bins of one input segment; fixes the Linear input width C₈·L₈.
    #[config(default = "SPECTRUM_BINS")]
    pub input_bins: usize,
    /// Classes of the ArcFace head.
    #[config(default = "DCASE2020_CLASSES")]
    pub n_classes: usize,
    /// ArcFace scale s.
    #[config(default = "ARCFACE_SCALE")]
    pub arcface_scale: f64,
    /// ArcFace margin m (radians).
    #[config(default = "ARCFACE_MARGIN")]
    pub arcface_margin: f64,
}

impl AsdNetConfig {
    fn stack(&self) -> Conv1dStackConfig {
        Conv1dStackConfig::new(1, self.layers.clone())
            .with_padding(self.padding)
            .with_bias(self.conv_bias)
    }

    /// Checks every setting; returns the embedding width.
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) for a zero width, class count or layer setting, a non-positive or
    /// non-finite ArcFace scale or a margin outside [0, π/2); [`Error::InputTooShort`](crate::Error::InputTooShort)
    /// when `input_bins` does not survive the layers.
    pub fn check(&self) -> crate::Result<usize> {
        let stack = self.stack();
        let len = stack.check("asdnet", self.input_bins)?;
        let embedding_dim = match self.head {
            AsdNetHead::Flatten => stack.out_channels() * len,
            AsdNetHead::FlattenLinear | AsdNetHead::GapLinear => self.embedding_dim,
        };
        self.arcface(embedding_dim).check("asdnet")?;
        Ok(embedding_dim)
    }

    fn arcface(&self, embedding_dim: usize) -> ArcFaceConfig {
        ArcFaceConfig::new(embedding_dim, self.n_classes)
            .with_scale(self.arcface_scale)
            .with_margin(self.arcface_margin)
    }

    /// Checks the configuration and builds the network with PyTorch-default weights (decisions.md §7) and a
    /// Xavier-uniform ArcFace head.
    ///
    /// # Errors
    /// As [`check`](Self::check).
    pub fn init(&self, device: &Device) -> crate::Result<AsdNet> {
        let embedding_dim = self.check()?;
        let stack = self.stack();
        let len = stack.check("asdnet", self.input_bins)?;
        let channels = stack.out_channels();
        let fc_input = match self.head {
            AsdNetHead::FlattenLinear => Some(channels * len),
            AsdNetHead::GapLinear => Some(channels),
            AsdNetHead::Flatten => None,
        };
        let fc = fc_input.map(|d_input| {
            LinearConfig::new(d_input, embedding_dim)
                .with_initializer(crate::init::torch_default())
                .init(device)
        });
        Ok(AsdNet {
            stack: stack.init(device),
            fc,
            arcface: self.arcface(embedding_dim).init(device),
            head: self.head,
            input_bins: self.input_bins,
        })
    }
}

/// ASDNet: spectrum `[batch, bins]` → Conv1d stack → embedding head → ArcFace logits.
#[derive(Module, Debug)]
pub struct AsdNet {
    /// The eight Conv1d + ReLU layers.
    pub stack: Conv1dStack,
    /// Embedding Linear layer (`None` for [`AsdNetHead::Flatten`]).
    pub fc: Option<Linear>,
    /// ArcFace classification head (training and the PROB scorer).
    pub arcface: ArcFace,
    /// Embedding head kind.
    #[module(skip)]
    pub head: AsdNetHead,
    /// Spectrum bins the network was built for.
    pub input_bins: usize,
}

/// Key renames from the reference PyTorch module (`convs.{i}`, `fc`, `arcface`) to [`AsdNet`]'s field paths.
const TORCH_KEY_MAP: [(&str, &str); 1] = [(r"^convs\.", "stack.convs.")];

impl AsdNet {
    /// The embedding of each spectrum.
    ///
    /// # Shapes
    /// - `spectrum`: `[batch, input_bins]` magnitude spectra; output `[batch, embedding_dim]`
    ///
    /// # Panics
    /// If the spectrum length differs from `input_bins` of the configuration.
    pub fn embedding(&self, spectrum: Tensor<2>) -> Tensor<2> {
        assert_shape!(spectrum, [_, self.input_bins]);
        let features = self.stack.forward(spectrum.unsqueeze_dim(1));
        let pooled: Tensor<2> = match self.head {
            AsdNetHead::GapLinear => features.mean_dim(2).squeeze_dim(2),
            AsdNetHead::FlattenLinear | AsdNetHead::Flatten => features.flatten(1, 2),
        };
        match &self.fc {
            Some(fc) => fc.forward(pooled),
            None => pooled,
        }
    }

    /// Loads weights saved from the reference PyTorch module (`convs.{i}.weight|bias`, `fc.weight|bias`,
    /// `arcface.weight`, as in `golden/asdnet/asdnet/model.safetensors`); Linear weights are transposed. The file
    /// is a `torch.save` checkpoint (`.pt`, `.pth`) or safetensors ([`weights::load_torch`]).
    ///
    /// # Errors
    /// [`Error::WeightFile`](crate::Error::WeightFile) if the file cannot be read,
    /// [`Error::WeightMismatch`](crate::Error::WeightMismatch) if a tensor is missing, unused or
    /// of the wrong shape.
    pub fn load_torch(self, path: &Path) -> crate::Result<Self> {
        weights::load_torch(self, path, &TORCH_KEY_MAP, &[])
    }

    /// The layer table (`asd info`), in forward order: the conv layers `stack.convs.{i}` (`[channels, length]`),
    /// the embedding Linear `fc` (`[embedding_dim]`, absent for the flatten head) and the ArcFace head `arcface`.
    pub fn layers(&self) -> Vec<LayerRow> {
        let mut rows = self.stack.layers("stack.convs", self.input_bins);
        if let Some(fc) = &self.fc {
            let width = fc.weight.shape().dims::<2>()[1];
            rows.push(LayerRow::new("fc", vec![width], count::linear(fc), LayerRole::Network));
        }
        rows.push(self.arcface.layer("arcface"));
        rows
    }

    /// Parameters and MACs (decisions.md §9), from [`layers`](Self::layers): `params` includes the ArcFace
    /// weights, `params_paper` and `macs` do not (the paper counts the network only).
    pub fn count(&self) -> ModelCount {
        ModelCount::from_layers(&self.layers(), false)
    }
}

impl Embedder for AsdNet {
    type Input = Tensor<2>;

    /// # Shapes
    /// - `input`: `[batch, input_bins]`; embedding `[batch, embedding_dim]`, logits `[batch, n_classes]`
    fn forward(&self, input: Tensor<2>) -> ModelOutput {
        let embedding = self.embedding(input);
        let logits = self.arcface.forward(embedding.clone());
        ModelOutput::new(embedding, logits)
    }

    fn margin_logits(&self, logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<2> {
        self.arcface.apply_margin(logits, labels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    /// Criterion: each rule of `check` is a typed error naming its setting; the heads give their documented widths
    /// (flatten: C₈·L₈ = 128·2 = 256 on 16 001 bins).
    #[test]
    fn check_names_the_bad_setting_and_gives_the_embedding_width() {
        let field_of = |config: AsdNetConfig| match config.check() {
            Err(Error::Config { field, .. }) => field,
            other => panic!("expected a config error, got {other:?}"),
        };
        assert_eq!(field_of(AsdNetConfig::new().with_n_classes(0)), "asdnet.n_classes");
        assert_eq!(
            field_of(AsdNetConfig::new().with_arcface_scale(f64::NAN)),
            "asdnet.arcface_scale"
        );
        assert_eq!(
            field_of(AsdNetConfig::new().with_arcface_margin(2.0)),
            "asdnet.arcface_margin"
        );
        assert_eq!(
            field_of(AsdNetConfig::new().with_embedding_dim(0)),
            "asdnet.embedding_dim"
        );
        assert!(matches!(
            AsdNetConfig::new().with_input_bins(50).check(),
            Err(Error::InputTooShort { .. })
        ));
        assert_eq!(AsdNetConfig::new().check().ok(), Some(128));
        assert_eq!(
            AsdNetConfig::new().with_head(AsdNetHead::Flatten).check().ok(),
            Some(256)
        );
    }

    /// Criterion: the global-average-pooling head (design D3) gives `[batch, embedding_dim]` and the parameter count
    /// of asdnet_specmfn.md §2.3 (D3, pad 0, 128 channels: 0.494 M network = 477 312 conv, the Table 1 column sum,
    /// + 16 512 Linear).
    #[test]
    fn gap_head_has_the_spec_parameter_count() {
        let device = Device::flex();
        let model = AsdNetConfig::new()
            .with_head(AsdNetHead::GapLinear)
            .init(&device)
            .expect("valid");
        assert_eq!(model.count().params_paper, 477_312 + 16_512);
        let out = model.forward(Tensor::<2>::zeros([3, SPECTRUM_BINS], &device));
        assert_eq!(out.embedding.dims(), [3, 128]);
    }
}

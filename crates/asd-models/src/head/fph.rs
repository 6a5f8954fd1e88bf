//! OS-SCL's feature-perturbation head (FPH; seed 002, os_scl.md §3.5): a bottleneck MLP between the embedding and
//! the ArcFace head, Linear E→R → act → BN → Linear R→E → act → BN, then L2 normalisation. Trained on mixed batches
//! with the contrastive loss, it moves ("perturbs") the embedding before the classifier sees it. As coded, with an
//! activation and a BatchNorm after the second Linear too (the paper's Linear → act → Linear → L2 is not what ran;
//! §9 item 3).

use crate::blocks::conv_block::torch_batch_norm;
use crate::count::{Count, LayerRole, LayerRow};
use burn::config::Config;
use burn::module::Module;
use burn::nn::{BatchNorm, Linear, LinearConfig};
use burn::tensor::activation::leaky_relu;
use burn::tensor::{Device, Tensor, assert_shape};

/// Bottleneck width R ([code net.py] hard-coded 64; os_scl.md §1).
pub const FPH_BOTTLENECK: usize = 64;
/// Negative slope of the LeakyReLU head ([code net.py] `LeakyReLUHead`, os_scl.md §9 item 4).
pub const FPH_LEAKY_SLOPE: f64 = 0.01;
/// The floor of the norm in the L2 normalisation (`F.normalize`'s eps).
pub const FPH_NORM_EPSILON: f64 = 1e-12;

/// The head's activation: ReLU (the TFSTgram variant, `ht = basic`) or LeakyReLU 0.01 (the log-Mel variant).
/// Serialises as `"Relu"` / `"LeakyRelu"`.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum FphActivation {
    /// max(0, x).
    Relu,
    /// max(0, x) + 0.01·min(0, x).
    LeakyRelu,
}

impl FphActivation {
    /// The negative slope: 0 for ReLU.
    fn slope(self) -> f64 {
        match self {
            Self::Relu => 0.0,
            Self::LeakyRelu => FPH_LEAKY_SLOPE,
        }
    }
}

/// Settings of [`FeaturePerturbationHead`].
#[derive(Config, Debug)]
pub struct FphConfig {
    /// Width E of the embedding in and out.
    #[config(default = 128)]
    pub embedding_dim: usize,
    /// Bottleneck width R.
    #[config(default = "FPH_BOTTLENECK")]
    pub bottleneck: usize,
    /// The activation after each Linear.
    #[config(default = "FphActivation::Relu")]
    pub activation: FphActivation,
}

impl FphConfig {
    /// Builds the head with PyTorch's default Linear initialisation and BatchNorms (γ 1, β 0, ε 1e-5, momentum 0.1).
    pub fn init(&self, device: &Device) -> FeaturePerturbationHead {
        let linear = |d_in, d_out| {
            LinearConfig::new(d_in, d_out)
                .with_initializer(crate::init::torch_default())
                .init(device)
        };
        FeaturePerturbationHead {
            fc1: linear(self.embedding_dim, self.bottleneck),
            bn1: torch_batch_norm(self.bottleneck, device),
            fc2: linear(self.bottleneck, self.embedding_dim),
            bn2: torch_batch_norm(self.embedding_dim, device),
            slope: self.activation.slope(),
        }
    }
}

/// The feature-perturbation head (module docs).
#[derive(Module, Debug)]
pub struct FeaturePerturbationHead {
    /// Linear E → R (the reference's `head.head.0`).
    pub fc1: Linear,
    /// BatchNorm over R (`head.head.2`).
    pub bn1: BatchNorm,
    /// Linear R → E (`head.head.3`).
    pub fc2: Linear,
    /// BatchNorm over E (`head.head.5`).
    pub bn2: BatchNorm,
    /// Negative slope of the activation (0: ReLU).
    slope: f64,
}

/// The head's output before and after the L2 normalisation.
#[derive(Clone, Debug)]
pub struct FphOutput {
    /// h = BN(act(Linear(BN(act(Linear(e)))))) `[batch, E]`.
    pub prenorm: Tensor<2>,
    /// z = h / max(‖h‖₂, 1e-12) `[batch, E]`: unit rows, what the ArcFace head and the contrastive loss take.
    pub z: Tensor<2>,
}

impl FeaturePerturbationHead {
    /// The perturbed, normalised embedding of `embedding`.
    ///
    /// # Shapes
    /// - `embedding`: `[batch, E]`; see [`FphOutput`]
    ///
    /// # Panics
    /// If the width differs from the head's.
    pub fn forward(&self, embedding: Tensor<2>) -> FphOutput {
        let [d_in, _] = self.fc1.weight.dims();
        assert_shape!(embedding, [_, d_in]);
        let bn = crate::flex::conv::batch_norm_vectors;
        let h = bn(&self.bn1, leaky_relu(self.fc1.forward(embedding), self.slope));
        let prenorm = bn(&self.bn2, leaky_relu(self.fc2.forward(h), self.slope));
        let norm = prenorm.clone().square().sum_dim(1).sqrt().clamp_min(FPH_NORM_EPSILON);
        FphOutput {
            z: prenorm.clone().div(norm),
            prenorm,
        }
    }

    /// One row of the layer table: parameters (16 960 for E 128, R 64) and MACs (16 384) per example.
    pub fn layer(&self, name: &str) -> LayerRow {
        let [d_in, r] = self.fc1.weight.dims();
        let linear =
            |l: &Linear| l.weight.shape().num_elements() + l.bias.as_ref().map_or(0, |b| b.shape().num_elements());
        let params = linear(&self.fc1) + linear(&self.fc2) + 2 * r + 2 * d_in;
        let count = Count {
            params,
            macs: 2 * (d_in * r) as u64,
        };
        LayerRow::new(name, vec![d_in], count, LayerRole::Network)
    }
}

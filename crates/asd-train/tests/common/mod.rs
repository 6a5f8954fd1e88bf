//! Shared pieces of the integration tests: a tiny model with BatchNorm and seeded in-memory data.
#![allow(dead_code)] // each test binary uses part of it

use asd_models::burn;
use asd_models::burn::module::{Module, ModuleVisitor, Param};
use asd_models::burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, Relu};
use asd_models::burn::tensor::{Device, Int, Tensor};
use asd_models::head::arcface::{ArcFace, ArcFaceConfig};
use asd_models::{Embedder, ModelOutput};
use ndarray::Array3;

#[path = "../../../asd-models/tests/common/device.rs"]
mod device;
pub use device::test_device;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Linear → BatchNorm → ReLU → Linear embedding, ArcFace head: small, but with running statistics to checkpoint
/// and a train/eval difference.
#[derive(Module, Debug)]
pub struct TinyBn {
    pub fc1: Linear,
    pub bn: BatchNorm,
    pub relu: Relu,
    pub fc2: Linear,
    pub head: ArcFace,
}

impl TinyBn {
    pub fn new(inputs: usize, embedding: usize, classes: usize, device: &Device) -> Self {
        Self {
            fc1: LinearConfig::new(inputs, 16).init(device),
            bn: BatchNormConfig::new(16).init(device),
            relu: Relu::new(),
            fc2: LinearConfig::new(16, embedding).init(device),
            head: ArcFaceConfig::new(embedding, classes).init(device),
        }
    }
}

impl Embedder for TinyBn {
    type Input = Tensor<2>;

    fn forward(&self, input: Tensor<2>) -> ModelOutput {
        let hidden = self.relu.forward(self.bn.forward(self.fc1.forward(input)));
        let embedding = self.fc2.forward(hidden);
        let logits = self.head.forward(embedding.clone());
        ModelOutput::new(embedding, logits)
    }

    fn margin_logits(&self, logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<2> {
        self.head.apply_margin(logits, labels)
    }
}

/// Every float tensor of a module (parameters and running statistics), in visiting order.
pub fn tensors<M: Module>(model: &M) -> Vec<Vec<f32>> {
    struct Collect(Vec<Vec<f32>>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0
                .push(param.val().into_data().try_to_vec::<f32>().unwrap_or_default());
        }
    }
    let mut collect = Collect(Vec::new());
    model.visit(&mut collect);
    collect.0
}

/// `clips` clips of `rows` × `cols` features with labels `clip % classes`: a class-dependent mean pattern plus
/// uniform noise, from a seeded generator.
pub fn data(clips: usize, rows: usize, cols: usize, classes: usize, seed: u64) -> (Array3<f32>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let labels: Vec<usize> = (0..clips).map(|c| c % classes).collect();
    let features = Array3::from_shape_fn((clips, rows, cols), |(c, _, k)| {
        let signal = if k % classes == labels[c] { 1.0 } else { 0.0 };
        signal + rng.random::<f32>()
    });
    (features, labels)
}

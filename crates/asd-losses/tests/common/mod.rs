//! Helpers shared by the golden tests: fixture tensors, a head-only model, and tolerance checks that print the
//! measured margin (`--nocapture`).
#![allow(dead_code)] // each test binary uses a different subset

pub mod neri;

use asd_models::burn::module::Param;
use asd_models::burn::tensor::{Int, Tensor};
use asd_models::head::arcface::ArcFace;
use asd_models::{Embedder, ModelOutput};
use ndarray::ArrayD;

#[path = "../../../asd-models/tests/common/device.rs"]
mod device;
#[path = "../../../asd-models/tests/common/fixture.rs"]
mod fixture;

#[allow(unused_imports)] // the f64 test binary stays on Flex
pub use device::{device_atol, test_device};
pub use fixture::{Fixture, to_array};

/// Integer tensor `key` of `fixture` (i64 in the files) as `usize` values.
pub fn indices(fixture: &mut Fixture, key: &str) -> Vec<usize> {
    let values = fixture.data(key).try_to_vec_as::<i64>().expect("integer tensor");
    values
        .into_iter()
        .map(|v| usize::try_from(v).expect("non-negative index"))
        .collect()
}

/// An ArcFace head with the given class weights `[n_classes, dim]`, scale and margin: the real head code.
pub fn arcface(weight: Tensor<2>, scale: f64, margin: f64) -> ArcFace {
    ArcFace {
        weight: Param::from_tensor(weight),
        scale,
        margin,
    }
}

/// The smallest model: its input is the embedding, its head an ArcFace. Lets the tests call the public
/// `training_loss` / `anomaly_score` exactly as the trainer does.
pub struct HeadOnly(pub ArcFace);

impl Embedder for HeadOnly {
    type Input = Tensor<2>;

    fn forward(&self, embedding: Tensor<2>) -> ModelOutput {
        let logits = self.0.forward(embedding.clone());
        ModelOutput::new(embedding, logits)
    }

    fn margin_logits(&self, logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<2> {
        self.0.apply_margin(logits, labels)
    }
}

/// Criterion |actual − expected| ≤ atol + rtol·|expected| element-wise (NaN fails), with `atol` widened for the test
/// device by [`device_atol`]; prints the margin (see [`asd_testkit::assert_allclose`]).
pub fn assert_close(actual: &ArrayD<f64>, expected: &ArrayD<f64>, atol: f64, rtol: f64, what: &str) {
    asd_testkit::assert_allclose(
        actual,
        expected,
        device_atol(atol, asd_testkit::max_abs(expected)),
        rtol,
        what,
    );
}

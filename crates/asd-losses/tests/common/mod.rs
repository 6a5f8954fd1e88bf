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
pub use device::test_device;
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

/// Criterion |actual − expected| ≤ atol + rtol·|expected| element-wise (NaN fails). Prints the largest |Δ|, the
/// largest relative |Δ| / |expected| and the largest |Δ| / tolerance, so the margin shows in `--nocapture` runs;
/// returns the largest |Δ| / tolerance.
pub fn assert_close(actual: &ArrayD<f64>, expected: &ArrayD<f64>, atol: f64, rtol: f64, what: &str) -> f64 {
    assert_eq!(actual.shape(), expected.shape(), "{what}: shape");
    let (mut max_abs, mut max_rel, mut max_ratio) = (0.0_f64, 0.0_f64, 0.0_f64);
    for (&a, &e) in actual.iter().zip(expected.iter()) {
        let diff = (a - e).abs();
        max_abs = max_abs.max(diff);
        if e != 0.0 {
            max_rel = max_rel.max(diff / e.abs());
        }
        max_ratio = max_ratio.max(diff / (atol + rtol * e.abs()));
    }
    println!("{what}: max |Δ| = {max_abs:.3e}, max |Δ|/|ref| = {max_rel:.3e}, max |Δ|/tol = {max_ratio:.3}");
    asd_testkit::assert_allclose(actual, expected, atol, rtol, what);
    max_ratio
}

/// Largest magnitude of an array (for absolute floors relative to a tensor's scale).
pub fn max_abs(values: &ArrayD<f64>) -> f64 {
    values.iter().fold(0.0_f64, |m, v| m.max(v.abs()))
}

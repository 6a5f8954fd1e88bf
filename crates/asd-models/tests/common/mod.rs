//! Helpers shared by the golden tests: reading tensors from the fixtures' safetensors files and comparing.

use asd_models::burn::tensor::Tensor;
use asd_models::burn::tensor::activation::log_softmax;
use asd_models::head::arcface::ArcFace;
use asd_models::{Embedder, ModelOutput};
use ndarray::ArrayD;

mod device;
mod fixture;

pub use device::{device_atol, test_device};
pub use fixture::{Fixture, to_array};

/// Criterion |actual − expected| ≤ atol + rtol·|expected| element-wise, with `atol` widened for the test device by
/// [`device_atol`]; prints the margin (see [`asd_testkit::assert_allclose`]).
pub fn assert_close<const D: usize>(actual: Tensor<D>, expected: &ArrayD<f32>, atol: f64, rtol: f64, what: &str) {
    let actual: ArrayD<f32> = to_array(actual.into_data());
    let atol = device_atol(atol, asd_testkit::max_abs(expected));
    asd_testkit::assert_allclose(&actual, expected, atol, rtol, what);
}

/// README §5: `cosine` ≤ 1e-5 absolute.
pub const COSINE_ATOL: f64 = 1e-5;
/// README §5: `arcface_logits`, `logits_scaled` ≤ 5e-4 absolute.
pub const LOGITS_ATOL: f64 = 5e-4;
/// README §5: `prob_score_*` ≤ 1e-4 relative.
pub const SCORE_RTOL: f64 = 1e-4;

/// Checks a model's output for `inputs.safetensors:spectrum` against `io`: `embedding` (within `atol` + `rtol`·|ref|),
/// `cosine`, `logits_scaled`, `arcface_logits` (margin on `labels`) and the PROB scores −log softmax(ℓ)[label] with
/// and without the margin (asdnet_specmfn.md §7.1), each within README §5's tolerance.
pub fn check_embedding_and_head<E: Embedder>(
    model: &E,
    arcface: &ArcFace,
    out: ModelOutput,
    inputs: &mut Fixture,
    io: &mut Fixture,
    atol: f64,
    rtol: f64,
) {
    let device = out.embedding.device();
    assert_close(out.embedding.clone(), &io.array("embedding"), atol, rtol, "embedding");
    assert_close(
        arcface.cosine(out.embedding),
        &io.array("cosine"),
        COSINE_ATOL,
        0.0,
        "cosine",
    );
    assert_close(
        out.logits.clone(),
        &io.array("logits_scaled"),
        LOGITS_ATOL,
        0.0,
        "logits_scaled",
    );
    let labels = inputs.int_tensor::<1>("labels", &device);
    let arc = model.margin_logits(out.logits.clone(), labels.clone());
    assert_close(
        arc.clone(),
        &io.array("arcface_logits"),
        LOGITS_ATOL,
        0.0,
        "arcface_logits",
    );
    let target = |logits: Tensor<2>| -> Tensor<1> {
        log_softmax(logits, 1)
            .gather(1, labels.clone().unsqueeze_dim(1))
            .neg()
            .squeeze_dim(1)
    };
    assert_close(
        target(arc),
        &io.array("prob_score_margin"),
        0.0,
        SCORE_RTOL,
        "prob_score_margin",
    );
    assert_close(
        target(out.logits),
        &io.array("prob_score_nomargin"),
        0.0,
        SCORE_RTOL,
        "prob_score_nomargin",
    );
}

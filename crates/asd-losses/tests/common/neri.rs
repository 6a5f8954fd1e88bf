//! The checks against `golden/neri/losses.{safetensors,json}` (losses_arcmix.md §11: B = 8, C = 41, d = 128,
//! λ = 0.35 and the stored permutation, s = 40 and 30, m = 0.7; sample 7 on the fallback branch), shared by the
//! float64 and float32 test binaries, which differ in the device's float type and the tolerances.

use super::{Fixture, HeadOnly, arcface, assert_close, to_array};
use asd_losses::{Mix, MixupLoss, anomaly_score, training_loss};
use asd_models::Embedder;
use asd_models::burn::tensor::{DType, Device, Int, Tensor};
use asd_testkit::max_abs;
use ndarray::ArrayD;

/// ArcFace margin of both codes (losses_arcmix.md §2 table).
pub const MARGIN: f64 = 0.7;
/// Neri & Carli's scale, the one of the fixture's logits, scores and gradients (losses_arcmix.md §2).
pub const SCALE_NERI: f64 = 40.0;
/// Noisy-ArcMix's scale (losses_arcmix.md §2).
pub const SCALE_NOISY_ARCMIX: f64 = 30.0;

/// Tolerances of one precision: |Δ| ≤ atol + rtol·|ref| element-wise.
#[derive(Clone, Copy, Debug)]
pub struct Tolerance {
    /// Relative bound on losses, scores, cosines and logits.
    pub value_rtol: f64,
    /// Absolute bound on the same (cosines and logits cross zero).
    pub value_atol: f64,
    /// Relative bound on gradients.
    pub grad_rtol: f64,
    /// Absolute bound on gradients, as a fraction of the tensor's largest magnitude.
    pub grad_atol_of_max: f64,
    /// Absolute bound on gradients, fixed.
    pub grad_atol: f64,
}

/// The fixture's tensors on `device`.
pub struct Case {
    fixture: Fixture,
    json: serde_json::Value,
    embeddings: Tensor<2>,
    weight: Tensor<2>,
    labels: Tensor<1, Int>,
    mix: Mix,
}

impl Case {
    /// Loads the fixture onto `device` and checks that its floats have type `dtype`.
    pub fn load(device: &Device, dtype: DType) -> Self {
        let mut fixture = Fixture::open("neri/losses.safetensors");
        let json = asd_testkit::json(asd_testkit::golden("neri/losses.json"));
        let embeddings: Tensor<2> = fixture.tensor("embeddings", device);
        assert_eq!(embeddings.dtype(), dtype, "the test runs in {dtype:?}");
        let weight = fixture.tensor("weight", device);
        let labels = fixture.int_tensor("labels_a", device);
        let lambda = json["lambda"].as_f64().expect("lambda in losses.json");
        let mix = Mix {
            lambda,
            perm: super::indices(&mut fixture, "perm"),
        };
        Self {
            fixture,
            json,
            embeddings,
            weight,
            labels,
            mix,
        }
    }

    fn head(&self, scale: f64) -> HeadOnly {
        HeadOnly(arcface(self.weight.clone().detach(), scale, MARGIN))
    }
}

fn values<const D: usize>(t: Tensor<D>) -> ArrayD<f64> {
    to_array(t.into_data())
}

/// Cosine matrix, margin logits at y_a and at y_b = y_a[perm] (s = 40), and the partner labels against
/// `cosine`, `logits_a_s40`, `logits_b_s40`, `labels_b`.
pub fn check_cosine_and_margin_logits(c: &mut Case, tol: Tolerance) {
    let head = c.head(SCALE_NERI);
    let partner = c.mix.partner_labels(c.labels.clone());
    let partner_values = partner.to_data().try_to_vec_as::<i64>().expect("ints");
    let expected_partner = c.fixture.data("labels_b").try_to_vec_as::<i64>().expect("ints");
    assert_eq!(partner_values, expected_partner, "labels_b");

    let cosine = c.fixture.array::<f64>("cosine");
    let got = values(head.0.cosine(c.embeddings.clone()));
    assert_close(&got, &cosine, tol.value_atol, tol.value_rtol, "cosine");

    let logits = head.forward(c.embeddings.clone()).logits;
    for (labels, key) in [(c.labels.clone(), "logits_a_s40"), (partner, "logits_b_s40")] {
        let expected = c.fixture.array::<f64>(key);
        let got = values(head.margin_logits(logits.clone(), labels));
        assert_close(&got, &expected, tol.value_atol, tol.value_rtol, key);
    }
}

/// Batch-mean losses for s = 40 and 30 against `losses.json`: ArcFace (no mix), ArcMix, Noisy-ArcMix, and the
/// soft-target form against the Neri one-hot value.
pub fn check_losses(c: &Case, tol: Tolerance) {
    for (scale, key) in [(SCALE_NERI, "s40_m0.7"), (SCALE_NOISY_ARCMIX, "s30_m0.7")] {
        let head = c.head(scale);
        let logits = head.forward(c.embeddings.clone()).logits;
        let cases = [
            ("arcface", MixupLoss::ArcMix, None),
            ("arcmix", MixupLoss::ArcMix, Some(&c.mix)),
            ("noisy_arcmix", MixupLoss::NoisyArcMix, Some(&c.mix)),
            ("neri_onehot", MixupLoss::SoftTarget, Some(&c.mix)),
        ];
        for (name, kind, mix) in cases {
            let expected = c.json["s_m"][key][name].as_f64().expect("loss in losses.json");
            let got = values(training_loss(kind, &head, logits.clone(), c.labels.clone(), mix));
            let expected = ArrayD::from_elem(vec![1], expected);
            assert_close(
                &got,
                &expected,
                0.0,
                tol.value_rtol,
                &format!("{key} {name} ({kind:?})"),
            );
        }
    }
}

/// Per-sample anomaly scores (s = 40) against `score_s40`, from the safetensors file and from the JSON.
pub fn check_scores(c: &mut Case, tol: Tolerance) {
    let head = c.head(SCALE_NERI);
    let logits = head.forward(c.embeddings.clone()).logits;
    let got = values(anomaly_score(&head, logits, c.labels.clone()));
    let expected = c.fixture.array::<f64>("score_s40");
    assert_close(&got, &expected, 0.0, tol.value_rtol, "score_s40");
    let from_json: Vec<f64> = c.json["score_s40"]
        .as_array()
        .expect("score_s40 in losses.json")
        .iter()
        .map(|v| v.as_f64().expect("number"))
        .collect();
    let from_json = ArrayD::from_shape_vec(vec![from_json.len()], from_json).expect("a vector");
    assert_close(&got, &from_json, 0.0, tol.value_rtol, "score_s40 (losses.json)");
}

/// Gradients (s = 40) of each loss with respect to the embeddings and the class weights against
/// `grad_emb_*_s40` / `grad_weight_*_s40`; the soft-target loss against Noisy-ArcMix's gradients. `device` must
/// have autodiff. `expected_factor(scale)` is the factor by which the implementation's gradients are known to
/// differ from the oracle (1 when none).
pub fn check_gradients(c: &mut Case, tol: Tolerance, expected_factor: impl Fn(f64) -> f64) {
    let mix = c.mix.clone();
    let cases = [
        ("arcface", MixupLoss::ArcMix, None),
        ("arcmix", MixupLoss::ArcMix, Some(&mix)),
        ("noisy_arcmix", MixupLoss::NoisyArcMix, Some(&mix)),
        ("noisy_arcmix", MixupLoss::SoftTarget, Some(&mix)),
    ];
    for (name, kind, mix) in cases {
        let embeddings = c.embeddings.clone().detach().require_grad();
        let head = c.head(SCALE_NERI);
        let logits = head.forward(embeddings.clone()).logits;
        let loss = training_loss(kind, &head, logits, c.labels.clone(), mix);
        let grads = loss.backward();
        let grad_emb = embeddings.grad(&grads).expect("gradient of the embeddings");
        let grad_weight = head.0.weight.val().grad(&grads).expect("gradient of the weight");
        let factor = expected_factor(SCALE_NERI);
        for (grad, key) in [
            (grad_emb, format!("grad_emb_{name}_s40")),
            (grad_weight, format!("grad_weight_{name}_s40")),
        ] {
            let expected = c.fixture.array::<f64>(&key).mapv(|g| g * factor);
            let atol = tol.grad_atol + tol.grad_atol_of_max * max_abs(&expected);
            let got = values(grad);
            assert_close(&got, &expected, atol, tol.grad_rtol, &format!("{key} ({kind:?})"));
        }
    }
}

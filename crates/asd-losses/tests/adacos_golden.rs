//! AdaCos (firstshot2025.md §8) against `tests/fixtures/adacos/fixture.json` (float64 values from its
//! `make_fixture.py`, written from the spec's formulas, gradients checked by finite differences; README there): the
//! cosines, the dynamic scale update, the loss at the reference scale and its gradients with respect to the
//! embeddings and the centres, for one-hot and soft targets, two consecutive steps, the sub-cluster variant, both
//! branches of the update's min(π/4, θ_med), and the fixed scale.

use asd_losses::adacos::{adacos_loss, initial_scale, updated_scale};
use asd_models::burn::tensor::{Device, Tensor, TensorData};
use asd_models::head::adacos::cosine;
use asd_testkit::{assert_allclose, json, json_floats, json_indices};
use ndarray::ArrayD;
use serde_json::Value;
use std::path::Path;

/// README: a float32 implementation within 1e-5 relative (measured f32 gaps: scale 8e-8, loss 4.3e-7).
const RTOL: f64 = 1e-5;
/// README: element-wise, plus 1e-6 of the tensor's largest value (cosines and gradients cross zero).
const ATOL_OF_MAX: f64 = 1e-6;

fn cases() -> Value {
    json(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/adacos/fixture.json"))["cases"].clone()
}

fn array(v: &Value) -> ArrayD<f64> {
    ArrayD::from_shape_vec(json_indices(&v["shape"]), json_floats(v)).expect("shape and data agree")
}

fn scalar(v: &Value) -> f64 {
    v.as_f64().expect("a number")
}

fn tensor(v: &Value, device: &Device) -> Tensor<2> {
    let a = array(v);
    let values: Vec<f32> = a.iter().map(|&x| x as f32).collect();
    Tensor::from_data(TensorData::new(values, a.shape().to_vec()), device)
}

fn host(t: Tensor<2>) -> ArrayD<f64> {
    let shape = t.dims().to_vec();
    let values: Vec<f64> = t
        .into_data()
        .try_to_vec::<f32>()
        .expect("f32")
        .into_iter()
        .map(f64::from)
        .collect();
    ArrayD::from_shape_vec(shape, values).expect("shape")
}

fn close(ours: f64, reference: f64, what: &str) {
    assert!(
        (ours - reference).abs() <= RTOL * reference.abs(),
        "{what}: {ours} vs {reference}"
    );
}

fn allclose(ours: &ArrayD<f64>, reference: &ArrayD<f64>, what: &str) {
    let atol = ATOL_OF_MAX * reference.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    assert_allclose(ours, reference, atol, RTOL, what);
}

/// One step of a case: from its `e`, the centres `centres`, its targets and previous scale, the cosines, the new
/// scale, and the loss with its gradients at the reference's new scale (so that a scale error cannot hide in the
/// loss). `suffix` selects the second step's keys of case C.
#[allow(clippy::too_many_arguments)] // a case's keys
fn check_step(
    case: &Value,
    centres: &Value,
    name: &str,
    k: usize,
    targets: &str,
    suffix: &str,
    s_prev: f64,
    s_new_key: &str,
) {
    let device = Device::flex().autodiff();
    let key = |base: &str| format!("{base}{suffix}");
    let e = tensor(&case[key("e")], &device).require_grad();
    let w = tensor(centres, &device).require_grad();
    let t = tensor(&case[targets], &device);
    let [_, n_classes] = t.dims();
    let cos = cosine(e.clone(), w.clone());
    allclose(
        &host(cos.clone()),
        &array(&case[key("cos")]),
        &format!("{name}: cosines"),
    );
    let cos_host: Vec<f32> = cos.clone().into_data().try_to_vec().expect("f32");
    let t_host: Vec<f32> = t.clone().into_data().try_to_vec().expect("f32");
    let s_ref = scalar(&case[s_new_key]);
    close(
        updated_scale(s_prev, &cos_host, &t_host, n_classes, k),
        s_ref,
        &format!("{name}: scale"),
    );
    let loss = adacos_loss(cos, t, s_ref, k);
    let value = f64::from(loss.clone().into_scalar::<f32>());
    let loss_key = if suffix.is_empty() {
        "loss".to_string()
    } else {
        format!("loss{suffix}")
    };
    close(value, scalar(&case[loss_key.as_str()]), &format!("{name}: loss"));
    let grads = loss.backward();
    allclose(
        &host(e.grad(&grads).expect("e gradient")),
        &array(&case[key("grad_e")]),
        &format!("{name}: ∂/∂e"),
    );
    allclose(
        &host(w.grad(&grads).expect("W gradient")),
        &array(&case[key("grad_W")]),
        &format!("{name}: ∂/∂W"),
    );
}

/// Criterion (§8.1): one-hot targets (A), soft targets (B), and a small median angle, where the update divides by
/// cos θ_med rather than cos π/4 (G).
#[test]
fn adacos_scale_loss_and_gradients_are_the_references() {
    let cases = cases();
    for name in ["A_onehot", "B_soft", "G_onehot_small_angle"] {
        let case = &cases[name];
        check_step(case, &case["W"], name, 1, "w", "", scalar(&case["s_prev"]), "s_new");
    }
}

/// Criterion (§8.1): the scale carries over: A's new scale is the previous one of a second batch (C).
#[test]
fn the_scale_carries_from_step_to_step() {
    let cases = cases();
    let case = &cases["C_two_steps"];
    let s1 = scalar(&case["s1"]);
    close(s1, scalar(&cases["A_onehot"]["s_new"]), "step 1");
    check_step(case, &cases["A_onehot"]["W"], "C step 2", 1, "w2", "2", s1, "s2");
}

/// Criterion (§8.2): three sub-centres per class with soft targets (D) and, with a small median angle, one-hot (H).
#[test]
fn subcluster_adacos_is_the_references() {
    let cases = cases();
    for name in ["D_subcluster", "H_subcluster_small_angle"] {
        let case = &cases[name];
        check_step(case, &case["W"], name, 3, "w", "", scalar(&case["s_prev"]), "s_new");
    }
}

/// Criterion (§8.1, §8.2): the fixed scale √2·ln(n − 1) for 5 and 12 centres; case A's loss at the fixed scale.
#[test]
fn the_fixed_scale_is_the_references() {
    let cases = cases();
    let fixed = &cases["E_fixed_scale"];
    close(initial_scale(5), scalar(&fixed["s_fixed_N5"]), "N = 5");
    close(initial_scale(12), scalar(&fixed["s_fixed_NK12"]), "N·K = 12");
    let device = Device::flex();
    let a = &cases["A_onehot"];
    let cos = cosine(tensor(&a["e"], &device), tensor(&a["W"], &device));
    let loss = adacos_loss(cos, tensor(&a["w"], &device), initial_scale(5), 1);
    close(
        f64::from(loss.into_scalar::<f32>()),
        scalar(&fixed["A_loss_fixed"]),
        "loss at the fixed scale",
    );
}

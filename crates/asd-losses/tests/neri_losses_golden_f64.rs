//! ArcFace, ArcMix, Noisy-ArcMix and soft-target losses, scores and gradients in float64 against the float64
//! PyTorch oracle `golden/neri/losses.*` (losses_arcmix.md §11, README tolerance: relative 1e-9).
//!
//! Burn's Flex backend computes in f64 when f64 is the device's default float type; this test binary sets it
//! once, before any tensor exists. Entries that cross zero (cosines, logits, gradients) get an absolute floor of
//! 1e-9 × the tensor's largest magnitude, since a relative bound alone cannot hold for a value that is zero up to
//! rounding.
//!
//! Gradients: Burn 0.22.1's autodiff computes the backward of `div_scalar` as `grad · (1 / rhs as f32)`
//! (burn-autodiff `ops/tensor.rs`, `float_div_scalar`), and `ArcFace::apply_margin` divides the logits by s there,
//! so every gradient comes out multiplied by s·f32(1/s) (1 + 1.49e-8 for s = 40) whatever the float type. The
//! gradients are compared with the oracle's times that factor at relative 1e-9.

mod common;

use asd_models::burn::tensor::{DType, Device, FloatDType};
use common::neri::{Case, Tolerance, check_cosine_and_margin_logits, check_gradients, check_losses, check_scores};
use std::sync::OnceLock;

/// README "Tolerances", loss fixture in float64: relative 1e-9.
const RTOL_F64: f64 = 1e-9;

const TOLERANCE: Tolerance = Tolerance {
    value_rtol: RTOL_F64,
    value_atol: 1e-12,
    grad_rtol: RTOL_F64,
    grad_atol_of_max: RTOL_F64,
    grad_atol: 0.0,
};

/// The Flex CPU device with f64 as its default float type (set once per test binary), with autodiff.
fn device() -> Device {
    static F64: OnceLock<()> = OnceLock::new();
    F64.get_or_init(|| {
        let mut device = Device::flex();
        device
            .configure(FloatDType::F64)
            .expect("Flex accepts f64 as its default float type before any tensor exists");
    });
    Device::flex().autodiff()
}

/// The factor s·f32(1/s) that Burn 0.22.1's `div_scalar` backward puts on every gradient (module docs).
fn div_scalar_backward_factor(scale: f64) -> f64 {
    f64::from(1.0 / scale as f32) * scale
}

/// Criterion: cosines and the margin logits at y_a and y_b within relative 1e-9 (absolute 1e-12 for entries near
/// zero), and y_b = y_a[perm] equals the stored `labels_b`.
#[test]
fn cosine_and_margin_logits_match() {
    check_cosine_and_margin_logits(&mut Case::load(&device(), DType::F64), TOLERANCE);
}

/// Criterion: for s = 40 and s = 30 (m = 0.7) the ArcFace, ArcMix and Noisy-ArcMix batch-mean losses equal
/// `losses.json` within relative 1e-9, and the soft-target loss equals the Neri one-hot value.
#[test]
fn losses_match_for_both_scales() {
    check_losses(&Case::load(&device(), DType::F64), TOLERANCE);
}

/// Criterion: the per-sample anomaly scores (s = 40; sample 7 on the fallback branch) equal `score_s40` within
/// relative 1e-9.
#[test]
fn anomaly_scores_match() {
    check_scores(&mut Case::load(&device(), DType::F64), TOLERANCE);
}

/// Criterion: the gradients of the ArcFace, ArcMix, Noisy-ArcMix and soft-target losses (s = 40) with respect to
/// the embeddings and the class weights equal the oracle's times s·f32(1/s) (module docs) within relative 1e-9,
/// with an absolute floor of 1e-9 × the tensor's largest magnitude; the soft-target loss has Noisy-ArcMix's
/// gradients (the fixture records that the Neri one-hot form's gradients equal them exactly).
#[test]
fn gradients_match() {
    check_gradients(
        &mut Case::load(&device(), DType::F64),
        TOLERANCE,
        div_scalar_backward_factor,
    );
}

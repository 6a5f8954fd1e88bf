//! The float64 oracle `golden/neri/losses.*` (losses_arcmix.md §11) checked in float32, the precision training
//! runs in, at the README's float32 tolerances: values relative 1e-4 (absolute 1e-4 for cosines and logits near
//! zero, losses_arcmix.md §11), gradients relative 1e-3 or absolute 1e-5.

mod common;

use asd_models::burn::tensor::DType;
use common::neri::{Case, Tolerance, check_cosine_and_margin_logits, check_gradients, check_losses, check_scores};
use common::test_device;

/// README "Tolerances", loss fixture in float32.
const TOLERANCE: Tolerance = Tolerance {
    value_rtol: 1e-4,
    value_atol: 1e-4,
    grad_rtol: 1e-3,
    grad_atol_of_max: 0.0,
    grad_atol: 1e-5,
};

/// Criterion: cosines and margin logits within 1e-4 absolute + 1e-4 relative; y_b = y_a[perm] = `labels_b`.
#[test]
fn cosine_and_margin_logits_match() {
    check_cosine_and_margin_logits(&mut Case::load(&test_device(), DType::F32), TOLERANCE);
}

/// Criterion: the four batch-mean losses for s = 40 and 30 within relative 1e-4 of `losses.json`.
#[test]
fn losses_match_for_both_scales() {
    check_losses(&Case::load(&test_device(), DType::F32), TOLERANCE);
}

/// Criterion: the per-sample scores within relative 1e-4 of `score_s40`.
#[test]
fn anomaly_scores_match() {
    check_scores(&mut Case::load(&test_device(), DType::F32), TOLERANCE);
}

/// Criterion: every gradient element within 1e-5 absolute + 1e-3 relative of the oracle's.
#[test]
fn gradients_match() {
    check_gradients(
        &mut Case::load(&test_device().autodiff(), DType::F32),
        TOLERANCE,
        |_| 1.0,
    );
}

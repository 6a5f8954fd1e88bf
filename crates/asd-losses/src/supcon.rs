//! The noisy supervised contrastive loss of OS-SCL (seed 002, os_scl.md §4.1): supervised contrastive learning on
//! one view of each example, every example an anchor, positives the other examples with the same label. "Noisy":
//! OS-SCL computes it on mixed batches with the labels of the first mixup partner (y_a), so the label of a mixed
//! example is partly wrong.
//!
//! For unit embeddings z (`[batch, dim]`), S_ij = z_i·z_j / τ; for anchor i with positives P(i) = {p ≠ i :
//! y_p = y_i}, ℓ_i = −(1/|P(i)|) Σ_{p∈P(i)} (S_ip − log Σ_{a≠i} exp S_ia), and ℓ_i = 0 when P(i) is empty. The
//! loss is (τ/τ_b) · (1/B) Σ_i ℓ_i: the mean over **all** B anchors, scaled by τ/τ_b, as the reference code has it
//! (the paper's Eq. 1 sums over anchors without the factor; os_scl.md §9 item 5).

use asd_models::burn::tensor::{Int, Tensor, assert_shape};
use serde::{Deserialize, Serialize};

/// SupCon temperature τ ([code losses.py] `SupConLoss(temperature=0.02)`, os_scl.md §1).
pub const SUPCON_TEMPERATURE: f64 = 0.02;
/// SupCon base temperature τ_b: the loss is scaled by τ/τ_b ([code losses.py]; not in the paper, os_scl.md §1).
pub const SUPCON_BASE_TEMPERATURE: f64 = 0.07;

/// Settings of [`supcon_loss`]. TOML: `temperature`, `base_temperature`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupConConfig {
    /// τ: the similarities are divided by it. Default [`SUPCON_TEMPERATURE`].
    pub temperature: f64,
    /// τ_b: the loss is scaled by τ/τ_b. Default [`SUPCON_BASE_TEMPERATURE`].
    pub base_temperature: f64,
}

impl Default for SupConConfig {
    fn default() -> Self {
        Self {
            temperature: SUPCON_TEMPERATURE,
            base_temperature: SUPCON_BASE_TEMPERATURE,
        }
    }
}

impl SupConConfig {
    /// Checks that both temperatures are finite and positive.
    ///
    /// # Errors
    /// [`crate::Error::Config`] naming `temperature` or `base_temperature`.
    pub fn check(&self) -> crate::Result<()> {
        for (field, value) in [
            ("temperature", self.temperature),
            ("base_temperature", self.base_temperature),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return Err(crate::Error::Config {
                    field,
                    reason: format!("must be finite and positive, got {value}"),
                });
            }
        }
        Ok(())
    }
}

/// The supervised contrastive loss of `features` (module docs), as the reference code computes it: each row's
/// largest similarity (its own, for unit rows) is subtracted before the exponentials, which changes nothing but
/// the rounding, and is not differentiated.
///
/// # Shapes
/// - `features`: `[batch, dim]`, expected L2-normalised; `labels`: `[batch]`; output `[1]` (nats)
///
/// # Panics
/// If the batch sizes differ.
pub fn supcon_loss(features: Tensor<2>, labels: Tensor<1, Int>, config: &SupConConfig) -> Tensor<1> {
    let [batch] = labels.dims();
    assert_shape!(features, [batch, _]);
    let device = features.device();
    let similarity = features
        .clone()
        .matmul(features.transpose())
        .div_scalar(config.temperature);
    let similarity = similarity.clone() - similarity.max_dim(1).detach();
    // Every pair but an example with itself.
    let eye = Tensor::<2>::eye(batch, &device);
    let others = Tensor::<2>::ones([batch, batch], &device) - eye.clone();
    // The denominator's log-sum-exp is taken around the largest similarity to another example (not differentiated):
    // after the self-similarity's shift the others' exponentials can underflow to 0 (in a batch of two, BatchNorm
    // makes the head's outputs opposite, S = −2/τ = −100, and the CPU's exp flushes e⁻¹⁰⁰ to 0), and ln 0 would
    // make the loss infinite. Mathematically the same value as the reference's.
    let self_pairs = eye.equal_elem(1.0);
    let shift = similarity
        .clone()
        .mask_fill(self_pairs.clone(), f32::NEG_INFINITY)
        .max_dim(1)
        .detach();
    let shift = shift.clone().mask_fill(shift.equal_elem(f32::NEG_INFINITY), 0.0); // a batch of one
    // The self pairs are masked before the exponential: shifted by the others' maximum they could overflow.
    let log_denominator = (similarity.clone() - shift.clone())
        .mask_fill(self_pairs, f32::NEG_INFINITY)
        .exp()
        .sum_dim(1)
        .log()
        + shift;
    let log_prob = similarity - log_denominator;
    let rows = labels.clone().reshape([batch, 1]).expand([batch, batch]);
    let columns = labels.reshape([1, batch]).expand([batch, batch]);
    let positives = rows.equal(columns).float().mul(others);
    let counts = positives.clone().sum_dim(1);
    // An anchor without positives has an empty sum: dividing by 1 instead of 0 makes its ℓ_i zero.
    let counts = counts.clone().mask_fill(counts.equal_elem(0.0), 1.0);
    // Pairs that are not positives are masked out, not multiplied by 0 (0 · ∞ would be NaN for a lone example).
    let mean_log_prob_pos = log_prob
        .mask_fill(positives.equal_elem(0.0), 0.0)
        .sum_dim(1)
        .div(counts);
    mean_log_prob_pos
        .mul_scalar(-config.temperature / config.base_temperature)
        .mean()
}

#[cfg(test)]
mod tests {
    use super::*;
    use asd_models::burn::tensor::{Device, TensorData};

    /// Criterion, by hand: two unit vectors e₁, e₁ with one label and e₂ alone, τ = τ_b = 1. Anchor 0: S = [1, 1, 0]
    /// minus the row maximum 1 → [0, 0, −1]; the denominator over the others is e⁰ + e⁻¹, so
    /// ℓ₀ = −(0 − ln(1 + e⁻¹)) = ln(1 + e⁻¹) = 0.31326169; anchor 1 the same; anchor 2 has no positive: 0. The
    /// loss is the mean over all three anchors, 2·0.31326169/3 = 0.20884113.
    #[test]
    fn matches_hand_values() {
        let device = Device::flex();
        let features = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 0.0, 1.0, 0.0, 0.0, 1.0], [3, 2]), &device);
        let labels = Tensor::<1, Int>::from_data(TensorData::from([4_i64, 4, 9]), &device);
        let config = SupConConfig {
            temperature: 1.0,
            base_temperature: 1.0,
        };
        let loss = supcon_loss(features, labels, &config).into_scalar::<f32>();
        assert!((f64::from(loss) - 0.208_841_13).abs() < 1e-6, "{loss}");
    }

    /// Criterion (found training OS-SCL with a last batch of two): BatchNorm makes a batch of two opposite head
    /// outputs, S₀₁ = −1/τ = −50 and, after the self-similarity's shift, −100, whose exponential the CPU flushes to
    /// 0. With the preset's τ the loss is 0 (each anchor's only other example is its only candidate, ln 1 = 0) and
    /// its gradient finite, for one label or two; a batch of one has loss 0 too.
    #[test]
    fn opposite_pairs_and_single_examples_stay_finite() {
        let device = Device::flex().autodiff();
        let config = SupConConfig::default();
        for (labels, rows) in [(vec![3_i64, 3], 2), (vec![3, 5], 2), (vec![3], 1)] {
            let values: Vec<f32> = [0.6f32, -0.8, -0.6, 0.8][..2 * rows].to_vec();
            let features = Tensor::<2>::from_data(TensorData::new(values, [rows, 2]), &device).require_grad();
            let labels = Tensor::<1, Int>::from_data(TensorData::new(labels, [rows]), &device);
            let loss = supcon_loss(features.clone(), labels, &config);
            let value = loss.clone().into_scalar::<f32>();
            assert_eq!(value, 0.0, "{rows} rows");
            let gradients = loss.backward();
            let grad = features
                .grad(&gradients)
                .expect("a gradient")
                .into_data()
                .try_to_vec::<f32>()
                .unwrap_or_default();
            assert!(grad.iter().all(|g| g.is_finite()), "{grad:?}");
        }
    }

    #[test]
    fn temperatures_must_be_positive() {
        assert!(SupConConfig::default().check().is_ok());
        let bad = SupConConfig {
            temperature: 0.0,
            ..SupConConfig::default()
        };
        assert!(matches!(bad.check(), Err(crate::Error::Config { field, .. }) if field == "temperature"));
    }
}

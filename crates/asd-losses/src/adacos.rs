//! The AdaCos loss with its dynamic scale (Zhang et al., CVPR 2019; firstshot2025.md §8.1) and Wilkinghoff's
//! sub-cluster variant (§8.2), on the cosines of an [`AdaCos`](asd_models::head::adacos::AdaCos) head and soft
//! targets (rows summing to 1: one-hot labels, or mixed ones after mixup).
//!
//! The scale is state of the training step: it starts at [`initial_scale`], and before each batch's logits it is
//! updated from that batch's cosines and targets without a gradient ([`updated_scale`]); evaluation keeps it fixed.

use asd_models::burn::tensor::activation::log_softmax;
use asd_models::burn::tensor::{Tensor, TensorData, assert_shape};

/// The constant Wilkinghoff's sub-cluster update adds to the new scale (firstshot2025.md §8.2, `+ 1e-7`).
pub const SUBCLUSTER_SCALE_EPS: f64 = 1e-7;

/// AdaCos's fixed (and initial) scale for `n_centres` centres: √2 · ln(n_centres − 1) (Zhang et al., eq. 12; §8.1).
/// NaN below 2 centres, −∞ at 2 (the head refuses fewer than 3).
pub fn initial_scale(n_centres: usize) -> f64 {
    std::f64::consts::SQRT_2 * (n_centres as f64 - 1.0).ln()
}

/// The median of `values` (the mean of the two middle ones for an even count); NaN for none.
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => values[n / 2],
        _ => 0.5 * (values[n / 2 - 1] + values[n / 2]),
    }
}

/// ln Σ exp(x) over `values`, computed around their largest; −∞ for none.
fn log_sum_exp(values: impl Iterator<Item = f64> + Clone) -> f64 {
    let max = values.clone().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        return max;
    }
    max + values.map(|v| (v - max).exp()).sum::<f64>().ln()
}

/// The scale after one batch, from the previous one (`scale`): `cos` holds the batch's clipped cosines `[batch,
/// n_classes · n_subclusters]` row-major (sub-centre j of class k at column k·K + j) and `targets` its target rows
/// `[batch, n_classes]`.
///
/// - K = 1 (§8.1): ln B_avg = logsumexp of s·cos over the entries whose target is exactly 0, minus ln batch;
///   θ_b = Σ_k w_bk·arccos(cos_bk); s ← ln B_avg / cos(min(π/4, median θ)).
/// - K > 1 (§8.2, as Wilkinghoff codes it): m = max s·cos; B' = mean over rows of Σ_j exp(s·cos_bj − m) (targets
///   included); θ_b = Σ_j w̄_bj·arccos(cos_bj) times the number of non-zero targets of row b (w̄: each class's target
///   repeated over its K centres); s ← (m + ln B') / cos(min(π/4, median θ)) + 1e-7.
///
/// # Panics
/// If the lengths do not fit `batch` rows of `n_classes` targets and `n_classes · n_subclusters` cosines.
pub fn updated_scale(scale: f64, cos: &[f32], targets: &[f32], n_classes: usize, n_subclusters: usize) -> f64 {
    let k = n_subclusters.max(1);
    let (width, batch) = (n_classes * k, targets.len() / n_classes.max(1));
    assert_eq!(targets.len(), batch * n_classes, "targets: {batch} rows of {n_classes}");
    assert_eq!(cos.len(), batch * width, "cosines: {batch} rows of {width}");
    let cos_at = |b: usize, j: usize| f64::from(cos[b * width + j]);
    let target = |b: usize, class: usize| f64::from(targets[b * n_classes + class]);
    let angles: Vec<f64> = (0..batch)
        .map(|b| {
            let weighted: f64 = (0..width).map(|j| target(b, j / k) * cos_at(b, j).acos()).sum();
            if k == 1 {
                weighted
            } else {
                let nonzero = (0..n_classes).filter(|&c| target(b, c) != 0.0).count();
                weighted * nonzero as f64
            }
        })
        .collect();
    let denominator = median(angles).min(std::f64::consts::FRAC_PI_4).cos();
    let logits = (0..batch).flat_map(|b| (0..width).map(move |j| (b, j)));
    if k == 1 {
        let others = logits
            .filter(|&(b, j)| target(b, j) == 0.0)
            .map(|(b, j)| scale * cos_at(b, j));
        (log_sum_exp(others) - (batch as f64).ln()) / denominator
    } else {
        let all = logits.map(|(b, j)| scale * cos_at(b, j));
        let m = all.clone().fold(f64::NEG_INFINITY, f64::max);
        let b_avg = all.map(|v| (v - m).exp()).sum::<f64>() / batch as f64;
        (m + b_avg.ln()) / denominator + SUBCLUSTER_SCALE_EPS
    }
}

/// The AdaCos loss at scale `scale`: mean over the batch of −Σ_k w_bk · log p_bk, where p_bk is the softmax of
/// s·cos summed over class k's centres (for K = 1 the softmax itself).
///
/// # Shapes
/// - `cos`: `[batch, n_classes · n_subclusters]`, `targets`: `[batch, n_classes]`; output `[1]` (nats)
///
/// # Panics
/// If the shapes disagree.
pub fn adacos_loss(cos: Tensor<2>, targets: Tensor<2>, scale: f64, n_subclusters: usize) -> Tensor<1> {
    let [batch, n_classes] = targets.dims();
    let k = n_subclusters.max(1);
    assert_shape!(cos, [batch, n_classes * k]);
    let logits = cos.mul_scalar(scale);
    let per_class = if k == 1 {
        logits
    } else {
        // ln Σ_{j ∈ class} exp(logit_j), around each class's largest logit.
        let grouped = logits.reshape([batch, n_classes, k]);
        let max = grouped.clone().max_dim(2).detach();
        ((grouped - max.clone()).exp().sum_dim(2).log() + max).reshape([batch, n_classes])
    };
    (log_softmax(per_class, 1) * targets).sum_dim(1).mean().neg()
}

/// The scale of one AdaCos head during training (firstshot2025.md §8.1): dynamic (updated from each training batch
/// before its loss) or fixed at [`initial_scale`]. It is state of the system's training step: [`AdaCosScale::loss`]
/// moves it, and the step saves it in checkpoints as JSON (serde) so that a resumed run continues with it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdaCosScale {
    /// The current scale s.
    pub scale: f64,
    /// Whether each training batch updates it.
    pub dynamic: bool,
    /// Centres per class of the head it scales.
    pub n_subclusters: usize,
}

impl AdaCosScale {
    /// The initial scale of a head of `n_classes` × `n_subclusters` centres.
    pub fn new(n_classes: usize, n_subclusters: usize, dynamic: bool) -> Self {
        Self {
            scale: initial_scale(n_classes * n_subclusters.max(1)),
            dynamic,
            n_subclusters: n_subclusters.max(1),
        }
    }

    /// The loss of a batch from its cosines `[batch, n_classes · n_subclusters]` and target rows (`targets`, row-major
    /// `[batch, n_classes]` on the host): in training (`train`) a dynamic scale is first updated from the batch
    /// ([`updated_scale`]); evaluation leaves it as it is.
    ///
    /// # Panics
    /// If the shapes disagree.
    pub fn loss(&mut self, cos: Tensor<2>, targets: &[f32], train: bool) -> Tensor<1> {
        let [batch, width] = cos.dims();
        let n_classes = width / self.n_subclusters;
        if train && self.dynamic {
            let host: Vec<f32> = cos
                .clone()
                .into_data()
                .convert::<f32>()
                .try_into_vec()
                .expect("float32 data after the conversion"); // ok: `convert` made it float32
            self.scale = updated_scale(self.scale, &host, targets, n_classes, self.n_subclusters);
        }
        let targets = Tensor::<2>::from_data(TensorData::new(targets.to_vec(), [batch, n_classes]), &cos.device());
        adacos_loss(cos, targets, self.scale, self.n_subclusters)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Criterion: a dynamic scale moves as [`updated_scale`] says in training and stays in evaluation; a fixed one
    /// never moves; the state reads back from JSON as it was.
    #[test]
    fn the_scale_moves_only_when_it_should_and_round_trips() {
        let device = asd_models::burn::tensor::Device::flex();
        let cos = Tensor::<2>::from_data([[0.9_f32, 0.1, -0.2], [0.0, 0.8, 0.3]], &device);
        let targets = [1.0_f32, 0.0, 0.0, 0.0, 1.0, 0.0];
        let mut dynamic = AdaCosScale::new(3, 1, true);
        let start = dynamic.scale;
        let expected = updated_scale(start, &[0.9, 0.1, -0.2, 0.0, 0.8, 0.3], &targets, 3, 1);
        let _ = dynamic.loss(cos.clone(), &targets, true);
        assert_eq!(dynamic.scale, expected);
        let _ = dynamic.loss(cos.clone(), &targets, false);
        assert_eq!(dynamic.scale, expected);
        let mut fixed = AdaCosScale::new(3, 1, false);
        let _ = fixed.loss(cos, &targets, true);
        assert_eq!(fixed.scale, start);
        let saved = serde_json::to_value(&dynamic).expect("JSON");
        assert_eq!(
            serde_json::from_value::<AdaCosScale>(saved).expect("read back"),
            dynamic
        );
    }

    /// Criterion: the median of an even count is the mean of the middle two; the initial scale for 5 centres is
    /// √2·ln 4 (firstshot2025.md §8.1).
    #[test]
    fn median_and_initial_scale_by_hand() {
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert!((initial_scale(5) - std::f64::consts::SQRT_2 * 4f64.ln()).abs() < 1e-15);
    }
}

//! Wilkinghoff's self-supervised label expansion, as the DCASE 2025 first-shot system uses it (firstshot2025.md
//! §6.2–6.4): per item of a batch, with probability ½ each, mixup of the waveforms, StatEx of the log-Mel (each frame's
//! mean and standard deviation over the bands exchanged with the partner's) and FeatEx of the embedding (its second
//! half taken from the partner). The partner of item b of a batch of B is r(b) = B − 1 − b, the reversed batch. The
//! targets grow with them: C classes for mixup, 3C after StatEx, 9C after FeatEx (spec Appendix B).
//!
//! Targets are host rows (`[batch, classes]` row-major f32) because the draws are made on the host; the tensors are
//! changed on the device.

use asd_models::burn::tensor::{Int, Tensor, TensorData};
use rand::RngExt;

/// Probability of each augmentation per item ([W24] `mixup_layer`, `statex`, `featex`: 0.5; firstshot2025.md §6).
pub const SSL_PROBABILITY: f64 = 0.5;

/// The ε added to a frame's standard deviation before dividing by it (firstshot2025.md §6.3, `1e−16`).
pub const STATEX_EPS: f32 = 1e-16;

/// One batch's draws: which items are mixed (with their λ), which exchange statistics, which exchange features.
#[derive(Clone, Debug, PartialEq)]
pub struct SslDraws {
    /// λ of each mixed item; `None` for an item left as it is.
    pub mixup: Vec<Option<f32>>,
    /// Whether each item's log-Mel takes its partner's frame statistics.
    pub statex: Vec<bool>,
    /// Whether each item's embedding takes its partner's second half.
    pub featex: Vec<bool>,
}

/// The partner of item `b` in a batch of `batch`: the reversed batch.
pub fn partner(b: usize, batch: usize) -> usize {
    batch - 1 - b
}

impl SslDraws {
    /// Draws for a batch of `batch` items: each augmentation with probability [`SSL_PROBABILITY`] per item, λ ~ U(0, 1)
    /// for a mixed item, in the order mixup (all items), StatEx, FeatEx.
    pub fn draw(batch: usize, rng: &mut impl rand::Rng) -> Self {
        let mut mixup = Vec::with_capacity(batch);
        for _ in 0..batch {
            let mixed = rng.random::<f64>() < SSL_PROBABILITY;
            mixup.push(if mixed { Some(rng.random::<f32>()) } else { None });
        }
        let statex = (0..batch).map(|_| rng.random::<f64>() < SSL_PROBABILITY).collect();
        let featex = (0..batch).map(|_| rng.random::<f64>() < SSL_PROBABILITY).collect();
        Self { mixup, statex, featex }
    }

    fn batch(&self) -> usize {
        self.mixup.len()
    }

    /// The mixed rows of `x` (`[batch, …]`): x'_b = λ_b·x_b + (1 − λ_b)·x_{r(b)} for a mixed item, x_b otherwise.
    ///
    /// # Panics
    /// If the batch sizes differ.
    pub fn mix<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let batch = self.batch();
        assert_eq!(x.dims()[0], batch, "one draw per item");
        let weights: Vec<f32> = self.mixup.iter().map(|l| l.unwrap_or(1.0)).collect();
        let device = x.device();
        let mut shape = [1; D];
        shape[0] = batch;
        let lambda = Tensor::<1>::from_data(TensorData::new(weights, [batch]), &device).reshape(shape);
        let reversed = x.clone().select(0, reversed(batch, &device));
        x * lambda.clone() + reversed * lambda.neg().add_scalar(1.0)
    }

    /// The mixup targets y' `[batch, classes]` from one-hot (or any) targets `y`.
    ///
    /// # Panics
    /// If `y` is not `batch` rows of `classes`.
    pub fn mixup_targets(&self, y: &[f32], classes: usize) -> Vec<f32> {
        let batch = self.batch();
        assert_eq!(y.len(), batch * classes, "targets of the batch");
        let row = |b: usize| &y[b * classes..(b + 1) * classes];
        (0..batch)
            .flat_map(|b| {
                let (own, other) = (row(b), row(partner(b, batch)));
                let lambda = self.mixup[b].unwrap_or(1.0);
                (0..classes).map(move |c| lambda * own[c] + (1.0 - lambda) * other[c])
            })
            .collect()
    }

    /// The StatEx targets z `[batch, 3·classes]` from the mixup targets `y` `[batch, classes]`: `[0, ½y'_b, ½y'_{r(b)}]`
    /// for an item whose statistics were exchanged, `[y'_b, 0, 0]` otherwise.
    pub fn statex_targets(&self, y: &[f32], classes: usize) -> Vec<f32> {
        expand(y, classes, &self.statex)
    }

    /// The FeatEx targets w `[batch, 9·classes]` from the StatEx targets `z` `[batch, 3·classes]`, as
    /// [`statex_targets`](Self::statex_targets) one level up.
    pub fn featex_targets(&self, z: &[f32], classes: usize) -> Vec<f32> {
        expand(z, 3 * classes, &self.featex)
    }

    /// StatEx of log-Mels `[batch, bands, frames]`: for an exchanged item, each frame is standardised by its own mean
    /// and (population) standard deviation over the bands, then given the partner's (of the partner's features
    /// before any exchange).
    ///
    /// # Panics
    /// If the batch sizes differ.
    pub fn statex(&self, features: Tensor<3>) -> Tensor<3> {
        let [batch, _, _] = features.dims();
        assert_eq!(batch, self.batch(), "one draw per item");
        let device = features.device();
        let mean = features.clone().mean_dim(1);
        let std = (features.clone() - mean.clone()).square().mean_dim(1).sqrt();
        let order = reversed(batch, &device);
        let exchanged = (features.clone() - mean.clone()) / std.clone().add_scalar(STATEX_EPS)
            * std.select(0, order.clone())
            + mean.select(0, order);
        select_rows(&self.statex, exchanged, features)
    }

    /// FeatEx of embeddings `[batch, 2·half]`: an exchanged item keeps its first half and takes its partner's second.
    ///
    /// # Panics
    /// If the batch sizes differ or the width is odd.
    pub fn featex(&self, embedding: Tensor<2>) -> Tensor<2> {
        let [batch, width] = embedding.dims();
        assert_eq!(batch, self.batch(), "one draw per item");
        assert_eq!(width % 2, 0, "an embedding of two halves");
        let half = width / 2;
        let other = embedding.clone().select(0, reversed(batch, &embedding.device()));
        let exchanged = Tensor::cat(
            vec![
                embedding.clone().slice([0..batch, 0..half]),
                other.slice([0..batch, half..width]),
            ],
            1,
        );
        select_rows(&self.featex, exchanged, embedding)
    }
}

/// The indices of the reversed batch.
fn reversed(batch: usize, device: &asd_models::burn::tensor::Device) -> Tensor<1, Int> {
    let order: Vec<i64> = (0..batch).rev().map(|b| b as i64).collect();
    Tensor::from_data(TensorData::new(order, [batch]), device)
}

/// Row b of `yes` where `pick[b]`, of `no` elsewhere.
fn select_rows<const D: usize>(pick: &[bool], yes: Tensor<D>, no: Tensor<D>) -> Tensor<D> {
    let mut shape = [1; D];
    shape[0] = pick.len();
    let mask: Vec<f32> = pick.iter().map(|&p| if p { 1.0 } else { 0.0 }).collect();
    let mask = Tensor::<1>::from_data(TensorData::new(mask, [pick.len()]), &yes.device()).reshape(shape);
    yes * mask.clone() + no * mask.neg().add_scalar(1.0)
}

/// `[0, ½t_b, ½t_{r(b)}]` for a picked item, `[t_b, 0, 0]` otherwise, rows of `width`.
fn expand(t: &[f32], width: usize, pick: &[bool]) -> Vec<f32> {
    let batch = pick.len();
    assert_eq!(t.len(), batch * width, "targets of the batch");
    let row = |b: usize| &t[b * width..(b + 1) * width];
    let zeros = vec![0.0; width];
    (0..batch)
        .flat_map(|b| {
            let parts: [Vec<f32>; 3] = if pick[b] {
                [
                    zeros.clone(),
                    row(b).iter().map(|v| 0.5 * v).collect(),
                    row(partner(b, batch)).iter().map(|v| 0.5 * v).collect(),
                ]
            } else {
                [row(b).to_vec(), zeros.clone(), zeros.clone()]
            };
            parts.concat()
        })
        .collect()
}

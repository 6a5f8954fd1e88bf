//! The AdaCos head (Zhang et al., CVPR 2019; firstshot2025.md §8): class centres without bias, whose cosines to an
//! embedding, times a scale that the loss adapts during training, are the logits. With `n_subclusters` K > 1 each
//! class has K centres (Wilkinghoff's sub-cluster AdaCos, §8.2). The centres are trainable, or fixed at their random
//! initial values (the first-shot system's main head, §8.3). The scale and the loss are in `asd_losses::adacos`.

use crate::count::{LayerRole, LayerRow};
use crate::error::Error;
use crate::init;
use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor, assert_shape};

/// The margin kept from ±1 when cosines are clipped before `arccos` and the logits (firstshot2025.md §8.1).
pub const ADACOS_COS_CLIP: f64 = 1e-7;
/// The smallest norm an embedding or centre is divided by (PyTorch's `F.normalize` ε).
const NORM_EPS: f64 = 1e-12;

/// Settings of an [`AdaCos`] head.
#[derive(Config, Debug)]
pub struct AdaCosConfig {
    /// Width of the embeddings.
    pub embedding_dim: usize,
    /// Classes.
    pub n_classes: usize,
    /// Centres per class (1: plain AdaCos).
    #[config(default = 1)]
    pub n_subclusters: usize,
    /// Whether the centres are trained (`false`: fixed at their random initial values).
    #[config(default = true)]
    pub trainable: bool,
}

impl AdaCosConfig {
    /// Checks that every count is at least 1 and that there are at least two centres (the initial scale
    /// √2·ln(centres − 1) needs them).
    ///
    /// # Errors
    /// [`Error::Config`] naming the setting, prefixed by `what`.
    pub fn check(&self, what: &str) -> crate::Result<()> {
        let invalid = |field: &str, reason: &str| {
            Err(Error::Config {
                field: format!("{what}.{field}"),
                reason: reason.into(),
            })
        };
        if self.embedding_dim == 0 {
            return invalid("embedding_dim", "must be at least 1");
        }
        if self.n_subclusters == 0 {
            return invalid("n_subclusters", "must be at least 1");
        }
        if self.n_classes * self.n_subclusters < 3 {
            return invalid(
                "n_classes",
                "AdaCos needs at least 3 centres (its initial scale is √2·ln(centres − 1))",
            );
        }
        Ok(())
    }

    /// Builds the head: centres Glorot-uniform U(±√(6/(D + N·K))) (firstshot2025.md §8.3), fixed unless
    /// `trainable`.
    pub fn init(&self, device: &Device) -> AdaCos {
        let centres = self.n_classes * self.n_subclusters;
        let weight = init::xavier_uniform().init_with(
            [self.embedding_dim, centres],
            Some(self.embedding_dim),
            Some(centres),
            device,
        );
        AdaCos {
            centres: weight.set_require_grad(self.trainable),
            n_subclusters: self.n_subclusters,
        }
    }
}

/// An AdaCos head (module docs). Centres are the columns of `centres` `[embedding_dim, n_classes · n_subclusters]`,
/// sub-centre j of class k at column `k · n_subclusters + j`.
#[derive(Module, Debug)]
pub struct AdaCos {
    /// The centres, one per column.
    pub centres: Param<Tensor<2>>,
    /// Centres per class.
    pub n_subclusters: usize,
}

/// cos θ between each row of `embedding` `[batch, D]` and each column of `centres` `[D, M]`, both scaled to unit
/// length, clipped to [−1 + 1e-7, 1 − 1e-7]: `[batch, M]`.
///
/// # Panics
/// If the widths differ.
pub fn cosine(embedding: Tensor<2>, centres: Tensor<2>) -> Tensor<2> {
    let [d, _] = centres.dims();
    assert_shape!(embedding, [_, d]);
    let unit_rows = embedding.clone() / embedding.square().sum_dim(1).sqrt().clamp_min(NORM_EPS);
    let unit_columns = centres.clone() / centres.square().sum_dim(0).sqrt().clamp_min(NORM_EPS);
    unit_rows
        .matmul(unit_columns)
        .clamp(-1.0 + ADACOS_COS_CLIP, 1.0 - ADACOS_COS_CLIP)
}

impl AdaCos {
    /// Number of classes.
    pub fn n_classes(&self) -> usize {
        self.n_centres() / self.n_subclusters.max(1)
    }

    /// Number of centres (classes × sub-clusters).
    pub fn n_centres(&self) -> usize {
        self.centres.dims()[1]
    }

    /// The cosines of a batch to every centre ([`cosine`]).
    ///
    /// # Shapes
    /// - `embedding`: `[batch, embedding_dim]`; output `[batch, n_classes · n_subclusters]`
    ///
    /// # Panics
    /// If the embedding width differs from the head's.
    pub fn forward(&self, embedding: Tensor<2>) -> Tensor<2> {
        cosine(embedding, self.centres.val())
    }

    /// The head's row of a layer table: D·N·K centres (trained or not) and as many MACs per embedding.
    pub fn layer(&self, name: &str) -> LayerRow {
        let [d, m] = self.centres.dims();
        LayerRow::new(name, vec![m], crate::count::dense(d, m, false), LayerRole::Head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Criterion: cosines by hand (e = (3, 4) against the axes: 0.6 and 0.8; a parallel centre clips to 1 − 1e-7);
    /// fixed centres take no gradient; too few centres are refused.
    #[test]
    fn cosines_by_hand_and_fixed_centres() {
        let device = Device::flex();
        let e = Tensor::<2>::from_data([[3.0_f32, 4.0]], &device);
        let w = Tensor::<2>::from_data([[1.0_f32, 0.0, 3.0], [0.0, 1.0, 4.0]], &device);
        let cos: Vec<f32> = cosine(e, w).into_data().try_to_vec().expect("f32");
        assert!((cos[0] - 0.6).abs() < 1e-6 && (cos[1] - 0.8).abs() < 1e-6, "{cos:?}");
        assert!(cos[2] < 1.0, "{cos:?}");
        let fixed = AdaCosConfig::new(4, 5).with_trainable(false).init(&device);
        assert!(!fixed.centres.is_require_grad());
        assert_eq!((fixed.n_classes(), fixed.n_centres()), (5, 5));
        let sub = AdaCosConfig::new(4, 5).with_n_subclusters(3).init(&device);
        assert_eq!((sub.n_classes(), sub.n_centres()), (5, 15));
        assert!(AdaCosConfig::new(4, 2).check("head").is_err());
    }
}

//! ArcFace (additive angular margin) head, as coded in STgram-MFN's `ArcMarginProduct` with `easy_margin = False`
//! (asdnet_specmfn.md §4.1).

use crate::count::{self, LayerRole, LayerRow};
use crate::error::Error;
use crate::init;
use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{Device, Int, Tensor, assert_shape};

/// ArcFace scale s (asdnet_specmfn.md §4.1; decisions.md §10: s 30 for ASDNet and SpecMFN).
pub const ARCFACE_SCALE: f64 = 30.0;
/// ArcFace margin m in radians (ASDNet paper §2.3.1: m = 0.5; the reference code's default is 0.7).
pub const ARCFACE_MARGIN: f64 = 0.5;
/// Lower bound of a vector norm when normalising (PyTorch `F.normalize` default `eps=1e-12`).
pub const NORMALIZE_EPS: f64 = 1e-12;

/// Configuration of an [`ArcFace`] head.
#[derive(Config, Debug)]
pub struct ArcFaceConfig {
    /// Width of the embeddings fed to the head.
    pub embedding_dim: usize,
    /// Number of classes (41 for DCASE 2020).
    pub n_classes: usize,
    /// Scale s applied to the cosines.
    #[config(default = "ARCFACE_SCALE")]
    pub scale: f64,
    /// Angular margin m (radians) added to the target class's angle.
    #[config(default = "ARCFACE_MARGIN")]
    pub margin: f64,
}

impl ArcFaceConfig {
    /// Checks the head's settings; `what` prefixes the field names in errors (e.g. `"asdnet"`).
    ///
    /// # Errors
    /// [`Error::Config`] for a zero width or class count, a non-positive or non-finite scale, or a margin outside
    /// [0, π/2) radians.
    pub fn check(&self, what: &str) -> crate::Result<()> {
        let invalid = |field: &str, reason: &str| Error::Config {
            field: format!("{what}.{field}"),
            reason: reason.into(),
        };
        if self.embedding_dim == 0 {
            return Err(invalid("embedding_dim", "must be at least 1"));
        }
        if self.n_classes == 0 {
            return Err(invalid("n_classes", "must be at least 1"));
        }
        if !(self.scale.is_finite() && self.scale > 0.0) {
            return Err(invalid("arcface_scale", "must be finite and positive"));
        }
        if !(0.0..std::f64::consts::FRAC_PI_2).contains(&self.margin) {
            return Err(invalid("arcface_margin", "must lie in [0, π/2) radians"));
        }
        Ok(())
    }

    /// Builds the head; class weights ~ Xavier-uniform, U(±√(6/(dim + n_classes))) (asdnet_specmfn.md §2.2).
    pub fn init(&self, device: &Device) -> ArcFace {
        let weight = init::xavier_uniform().init_with(
            [self.n_classes, self.embedding_dim],
            Some(self.embedding_dim),
            Some(self.n_classes),
            device,
        );
        ArcFace {
            weight,
            scale: self.scale,
            margin: self.margin,
        }
    }
}

/// ArcFace head: class weights W `[n_classes, embedding_dim]`, stored as `weight` (PyTorch layout).
#[derive(Module, Debug)]
pub struct ArcFace {
    /// Class weight vectors, one row per class.
    pub weight: Param<Tensor<2>>,
    /// Scale s.
    pub scale: f64,
    /// Margin m (radians).
    pub margin: f64,
}

/// Rows divided by their L2 norm, the norm bounded below by [`NORMALIZE_EPS`] (PyTorch `F.normalize`).
fn l2_normalise(x: Tensor<2>) -> Tensor<2> {
    let norm = x.clone().powf_scalar(2.0).sum_dim(1).sqrt().clamp_min(NORMALIZE_EPS);
    x.div(norm)
}

impl ArcFace {
    /// Number of classes.
    pub fn n_classes(&self) -> usize {
        self.weight.shape().dims::<2>()[0]
    }

    /// The head's row of a layer table, named `name`, role [`Head`](LayerRole::Head), output `[n_classes]`:
    /// n_classes·embedding_dim weights and as many MACs (the cosine product).
    pub fn layer(&self, name: &str) -> LayerRow {
        let [n_classes, dim] = self.weight.shape().dims();
        LayerRow::new(
            name,
            vec![n_classes],
            count::dense(dim, n_classes, false),
            LayerRole::Head,
        )
    }

    /// Cosine between each embedding and each class weight vector.
    ///
    /// # Shapes
    /// - `embedding`: `[batch, embedding_dim]`; output `[batch, n_classes]`
    ///
    /// # Panics
    /// If the embedding width differs from the head's.
    pub fn cosine(&self, embedding: Tensor<2>) -> Tensor<2> {
        let [_, dim] = self.weight.shape().dims();
        assert_shape!(embedding, [_, dim]);
        l2_normalise(embedding).matmul(l2_normalise(self.weight.val()).transpose())
    }

    /// Logits without margin, s·cos(z, W_j): what the model reports in
    /// [`ModelOutput::logits`](crate::ModelOutput).
    ///
    /// # Shapes
    /// - `embedding`: `[batch, embedding_dim]`; output `[batch, n_classes]`
    ///
    /// # Panics
    /// As [`cosine`](Self::cosine).
    pub fn forward(&self, embedding: Tensor<2>) -> Tensor<2> {
        self.cosine(embedding).mul_scalar(self.scale)
    }

    /// Puts the angular margin on each row's target class: from logits s·cos_j (the output of
    /// [`forward`](Self::forward)) to ArcFace logits, s·φ for j = label and s·cos_j otherwise, with
    /// φ = cos·cos m − sin·sin m when cos > cos(π − m), else cos − m·sin(π − m) (the reference's fallback), and
    /// sin = √max(1 − cos², 0) (decisions.md §8).
    ///
    /// # Shapes
    /// - `logits`: `[batch, n_classes]`, `labels`: `[batch]` class indices; output `[batch, n_classes]`
    ///
    /// # Panics
    /// If the shapes disagree or a label is not below `n_classes`.
    pub fn apply_margin(&self, logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<2> {
        let [batch] = labels.dims();
        assert_shape!(logits, [batch, self.n_classes()]);
        let cos = logits.div_scalar(self.scale);
        let sin = cos.clone().powf_scalar(2.0).neg().add_scalar(1.0).clamp_min(0.0).sqrt();
        let (cos_m, sin_m) = (self.margin.cos(), self.margin.sin());
        let threshold = (std::f64::consts::PI - self.margin).cos();
        let fallback_shift = (std::f64::consts::PI - self.margin).sin() * self.margin;
        let rotated = cos.clone().mul_scalar(cos_m).sub(sin.mul_scalar(sin_m));
        let phi = cos
            .clone()
            .sub_scalar(fallback_shift)
            .mask_where(cos.clone().greater_elem(threshold), rotated);
        let target = labels.one_hot::<2>(self.n_classes()).equal_elem(1);
        cos.mask_where(target, phi).mul_scalar(self.scale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    /// Criterion: asdnet_specmfn.md §4.1 worked by hand with its constants for m = 0.5 (cos m = 0.8775825619,
    /// sin m = 0.4794255386, cos(π − m) = −0.8775825619, m·sin(π − m) = 0.2397127693), s = 30:
    /// target cos 0.6 → 30·(0.6·cos m − 0.8·sin m) = 4.2902732; target cos −0.95 (below cos(π − m), the fallback)
    /// → 30·(−0.95 − 0.2397127693) = −35.6913831; non-target logits unchanged; all within 1e-4.
    #[test]
    fn margin_uses_rotation_above_threshold_and_fallback_below() {
        let device = Device::flex();
        let head = ArcFaceConfig::new(2, 3).init(&device);
        let logits = Tensor::<2>::from_data(TensorData::from([[18.0, 3.0, -28.5], [3.0, -28.5, 6.0]]), &device);
        let labels = Tensor::<1, Int>::from_data(TensorData::from([0_i64, 1]), &device);
        let out = head
            .apply_margin(logits, labels)
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32"); // ok: test
        let expected = [4.290_273_2, 3.0, -28.5, 3.0, -35.691_383, 6.0];
        for (got, want) in out.iter().zip(expected) {
            assert!((f64::from(*got) - want).abs() < 1e-4, "{out:?} vs {expected:?}");
        }
    }

    /// Criterion: 1 − cos² is clamped at 0 (decisions.md §8): |cos| slightly above 1 from rounding gives a finite
    /// logit, not NaN.
    #[test]
    fn margin_is_finite_for_cosines_beyond_one() {
        let device = Device::flex();
        let head = ArcFaceConfig::new(2, 2).init(&device);
        let logits = Tensor::<2>::from_data(TensorData::from([[30.0001_f32, -30.0001]]), &device);
        let labels = Tensor::<1, Int>::from_data(TensorData::from([0_i64]), &device);
        let out = head
            .apply_margin(logits, labels)
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32"); // ok: test
        assert!(out.iter().all(|v| v.is_finite()), "{out:?}");
    }
}

//! Classification heads used during training (and by the PROB scorer): [`arcface::ArcFace`] and a plain Linear
//! layer (the "CEE" head of STgram-MFN, stgram_mfn.md §5.2), chosen by [`HeadConfig`] and held by [`Head`]; and
//! [`adacos::AdaCos`], whose scale the loss adapts (the DCASE 2025 first-shot system).

pub mod adacos;
pub mod arcface;
pub mod fph;

use crate::count::{self, Count, LayerRole, LayerRow};
use crate::init;
use arcface::{ArcFace, ArcFaceConfig};
use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Int, Tensor, assert_shape};

/// Which classification head a model puts on its embedding. Serialises as `{ ArcFace = { scale, margin } }` or
/// `"Linear"`.
#[derive(Config, Debug, PartialEq)]
pub enum HeadConfig {
    /// ArcFace: logits s·cos(z, W_j), with the angular margin m (radians) on the target class in training
    /// ([`ArcFace`]).
    ArcFace {
        /// Scale s.
        scale: f64,
        /// Angular margin m (radians), in [0, π/2).
        margin: f64,
    },
    /// Linear(embedding_dim → n_classes) with bias, PyTorch-default initialisation, trained with plain
    /// cross-entropy (the reference's `fc_out`, "CEE").
    Linear,
}

impl HeadConfig {
    /// Checks the head for `embedding_dim`-wide embeddings and `n_classes` classes; `what` prefixes the field names
    /// in errors (e.g. `"stgram_mfn.head"`).
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) for a zero width or class count, a non-positive or non-finite
    /// ArcFace scale or a margin outside [0, π/2).
    pub fn check(&self, what: &str, embedding_dim: usize, n_classes: usize) -> crate::Result<()> {
        self.arcface(embedding_dim, n_classes)
            .unwrap_or_else(|| ArcFaceConfig::new(embedding_dim, n_classes))
            .check(what)
    }

    fn arcface(&self, embedding_dim: usize, n_classes: usize) -> Option<ArcFaceConfig> {
        match *self {
            HeadConfig::ArcFace { scale, margin } => Some(
                ArcFaceConfig::new(embedding_dim, n_classes)
                    .with_scale(scale)
                    .with_margin(margin),
            ),
            HeadConfig::Linear => None,
        }
    }

    /// Builds the head: Xavier-uniform ArcFace weights, or a Linear layer with PyTorch-default weights and bias
    /// (U(±1/√embedding_dim), decisions.md §7). Call [`check`](Self::check) first.
    ///
    /// # Panics
    /// If `embedding_dim` or `n_classes` is 0.
    pub fn init(&self, embedding_dim: usize, n_classes: usize, device: &Device) -> Head {
        match self.arcface(embedding_dim, n_classes) {
            Some(config) => Head::ArcFace(config.init(device)),
            None => Head::Linear(
                LinearConfig::new(embedding_dim, n_classes)
                    .with_initializer(init::torch_default())
                    .init(device),
            ),
        }
    }
}

/// A classification head on `[batch, embedding_dim]` embeddings. Weights are stored under `ArcFace.weight`
/// (`[n_classes, embedding_dim]`) or `Linear.weight` (`[embedding_dim, n_classes]`, Burn's layout) and
/// `Linear.bias`.
#[derive(Module, Debug)]
pub enum Head {
    /// ArcFace head.
    ArcFace(ArcFace),
    /// Linear ("CEE") head.
    Linear(Linear),
}

impl Head {
    /// Number of classes.
    pub fn n_classes(&self) -> usize {
        match self {
            Head::ArcFace(head) => head.n_classes(),
            Head::Linear(linear) => linear.weight.shape().dims::<2>()[1],
        }
    }

    /// Width of the embeddings the head takes.
    pub fn embedding_dim(&self) -> usize {
        match self {
            Head::ArcFace(head) => head.weight.shape().dims::<2>()[1],
            Head::Linear(linear) => linear.weight.shape().dims::<2>()[0],
        }
    }

    /// Logits without margin: s·cos(z, W_j) for ArcFace, W·z + b for Linear (what
    /// [`ModelOutput::logits`](crate::ModelOutput) holds).
    ///
    /// # Shapes
    /// - `embedding`: `[batch, embedding_dim]`; output `[batch, n_classes]`
    ///
    /// # Panics
    /// If the embedding width differs from the head's.
    pub fn forward(&self, embedding: Tensor<2>) -> Tensor<2> {
        assert_shape!(embedding, [_, self.embedding_dim()]);
        match self {
            Head::ArcFace(head) => head.forward(embedding),
            Head::Linear(linear) => linear.forward(embedding),
        }
    }

    /// Training logits: ArcFace's margin on each row's target class ([`ArcFace::apply_margin`]); the logits
    /// unchanged for the Linear head.
    ///
    /// # Shapes
    /// - `logits`: `[batch, n_classes]`, `labels`: `[batch]` class indices; output `[batch, n_classes]`
    ///
    /// # Panics
    /// If the shapes disagree or (ArcFace) a label is not below `n_classes`.
    pub fn margin_logits(&self, logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<2> {
        match self {
            Head::ArcFace(head) => head.apply_margin(logits, labels),
            Head::Linear(_) => {
                let [batch] = labels.dims();
                assert_shape!(logits, [batch, self.n_classes()]);
                logits
            }
        }
    }

    /// The head's row of a layer table, named `name`, role [`Head`](LayerRole::Head), output `[n_classes]`: ArcFace
    /// has n_classes·embedding_dim weights and as many MACs (the cosine product), Linear adds n_classes biases.
    pub fn layer(&self, name: &str) -> LayerRow {
        match self {
            Head::ArcFace(head) => head.layer(name),
            Head::Linear(linear) => LayerRow::new(name, vec![self.n_classes()], count::linear(linear), LayerRole::Head),
        }
    }

    /// Parameters and MACs of the head for one embedding (the count of [`layer`](Self::layer)).
    pub fn count(&self) -> Count {
        self.layer("head").count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use burn::tensor::TensorData;

    /// Criterion: ArcFace settings are checked with typed errors naming the setting (as `ArcFaceConfig::check`);
    /// the Linear head needs only non-zero widths.
    #[test]
    fn check_names_the_bad_setting() {
        let field_of = |result: crate::Result<()>| match result {
            Err(Error::Config { field, .. }) => field,
            other => panic!("expected a config error, got {other:?}"),
        };
        let arc = |scale, margin| HeadConfig::ArcFace { scale, margin };
        assert_eq!(field_of(arc(0.0, 0.7).check("m.head", 128, 41)), "m.head.arcface_scale");
        assert_eq!(
            field_of(arc(30.0, 2.0).check("m.head", 128, 41)),
            "m.head.arcface_margin"
        );
        assert_eq!(field_of(HeadConfig::Linear.check("m.head", 128, 0)), "m.head.n_classes");
        assert!(arc(30.0, 0.7).check("m.head", 128, 41).is_ok());
        assert!(HeadConfig::Linear.check("m.head", 128, 41).is_ok());
    }

    /// Criterion: the Linear head computes W·z + b (worked by hand after setting W and b), leaves logits unchanged
    /// in `margin_logits`, and counts 128·41 + 41 = 5 289 parameters and 5 248 MACs (stgram_mfn.md §4.2 fc_out).
    #[test]
    fn linear_head_is_an_affine_map_without_margin() {
        let device = Device::flex();
        let Head::Linear(mut linear) = HeadConfig::Linear.init(2, 3, &device) else {
            panic!("expected a Linear head");
        };
        let weight = Tensor::<2>::from_data(TensorData::from([[1.0_f32, 2.0, 3.0], [4.0, 5.0, 6.0]]), &device);
        linear.weight = burn::module::Param::from_tensor(weight);
        linear.bias = Some(burn::module::Param::from_tensor(Tensor::<1>::from_data(
            TensorData::from([0.5_f32, -0.5, 1.0]),
            &device,
        )));
        let head = Head::Linear(linear);
        let z = Tensor::<2>::from_data(TensorData::from([[1.0_f32, -1.0]]), &device);
        let logits = head.forward(z);
        let labels = Tensor::<1, Int>::from_data(TensorData::from([2_i64]), &device);
        let out = head
            .margin_logits(logits, labels)
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32"); // ok: test
        assert_eq!(out, vec![-2.5, -3.5, -2.0]);
        let big = HeadConfig::Linear.init(128, 41, &device);
        assert_eq!(
            big.count(),
            Count {
                params: 5_289,
                macs: 5_248
            }
        );
    }
}

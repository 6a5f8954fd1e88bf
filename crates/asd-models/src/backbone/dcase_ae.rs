//! The DCASE 2023–2026 Task 2 autoencoder baseline (`nttcslab/dcase2023_task2_baseline_ae`, `AENet`;
//! docs/dcase_ae.md §1): an MLP that reconstructs vectors of 5 stacked log-Mel frames (640 values) through an
//! 8-value bottleneck. Encoder: Linear 640→128, three Linear 128→128, Linear 128→8, each followed by BatchNorm
//! (ε 1e-3, momentum 0.01) and ReLU (the bottleneck is rectified too); decoder: Linear 8→128 and three Linear
//! 128→128, each with BatchNorm and ReLU, then Linear 128→640 without activation. Every Linear has a bias and
//! PyTorch's default initialisation. 267 928 parameters for 640 inputs.
//!
//! The anomaly scores (the reconstruction error's mean square, and the baseline's "selective Mahalanobis" distance
//! of the mean error block) are computed from the error `input − reconstruction` outside the module.

use crate::count::{self, Count, LayerRole, LayerRow, ModelCount};
use crate::weights;
use burn::config::Config;
use burn::module::Module;
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Int, Tensor, TensorData, assert_shape};
use std::path::Path;

/// Input width: 5 frames × 128 Mel bands (baseline.yaml `frames: 5`, `n_mels: 128`).
pub const DCASE_AE_INPUT: usize = 640;
/// Hidden width of every layer but the bottleneck (network.py, `h_size` 128).
pub const DCASE_AE_HIDDEN: usize = 128;
/// Bottleneck width (network.py, `z_size` 8).
pub const DCASE_AE_BOTTLENECK: usize = 8;
/// Linear 128→128 layers on each side of the bottleneck (network.py).
pub const DCASE_AE_HIDDEN_LAYERS: usize = 3;
/// BatchNorm1d ε of every layer (network.py, `eps=1e-3`).
pub const DCASE_AE_BN_EPSILON: f64 = 1e-3;
/// BatchNorm1d momentum of every layer, PyTorch's convention (network.py, `momentum=0.01`).
pub const DCASE_AE_BN_MOMENTUM: f64 = 0.01;

/// Settings of [`DcaseAe`]; the defaults are the baseline's.
#[derive(Config, Debug)]
pub struct DcaseAeConfig {
    /// Values per input vector (frames × Mel bands).
    #[config(default = "DCASE_AE_INPUT")]
    pub input_dim: usize,
    /// Hidden width.
    #[config(default = "DCASE_AE_HIDDEN")]
    pub hidden: usize,
    /// Bottleneck width.
    #[config(default = "DCASE_AE_BOTTLENECK")]
    pub bottleneck: usize,
}

impl DcaseAeConfig {
    /// Checks that every width is at least 1.
    ///
    /// # Errors
    /// [`crate::Error::Config`] naming the width.
    pub fn check(&self) -> crate::Result<()> {
        for (field, value) in [
            ("input_dim", self.input_dim),
            ("hidden", self.hidden),
            ("bottleneck", self.bottleneck),
        ] {
            if value == 0 {
                return Err(crate::Error::Config {
                    field: format!("dcase-ae.{field}"),
                    reason: "must be at least 1".into(),
                });
            }
        }
        Ok(())
    }

    /// The widths of the encoder's and the decoder's blocks, `(in, out)` each.
    fn widths(&self) -> (Vec<Widths>, Vec<Widths>) {
        let hidden = std::iter::repeat_n((self.hidden, self.hidden), DCASE_AE_HIDDEN_LAYERS);
        let encoder = std::iter::once((self.input_dim, self.hidden))
            .chain(hidden.clone())
            .chain(std::iter::once((self.hidden, self.bottleneck)))
            .collect();
        let decoder = std::iter::once((self.bottleneck, self.hidden)).chain(hidden).collect();
        (encoder, decoder)
    }

    /// Builds the network with PyTorch's default initialisation (Linear U(±1/√fan_in); BatchNorm γ 1, β 0).
    ///
    /// # Errors
    /// As [`DcaseAeConfig::check`].
    pub fn init(&self, device: &Device) -> crate::Result<DcaseAe> {
        self.check()?;
        let linear = |d_in, d_out| {
            LinearConfig::new(d_in, d_out)
                .with_initializer(crate::init::torch_default())
                .init(device)
        };
        let block = |(d_in, d_out)| DenseBlock {
            linear: linear(d_in, d_out),
            bn: BatchNormConfig::new(d_out)
                .with_epsilon(DCASE_AE_BN_EPSILON)
                .with_momentum(DCASE_AE_BN_MOMENTUM)
                .init(device),
        };
        let (encoder, decoder) = self.widths();
        Ok(DcaseAe {
            encoder: encoder.into_iter().map(block).collect(),
            decoder: decoder.into_iter().map(block).collect(),
            output: linear(self.hidden, self.input_dim),
        })
    }
}

/// A block's input and output widths.
type Widths = (usize, usize);

impl DcaseAeConfig {
    /// `n_models` autoencoders of these settings, one per class ([`DcaseAeBank`]), drawn in order.
    ///
    /// # Errors
    /// As [`DcaseAeConfig::check`]; [`crate::Error::Config`] (`dcase-ae.n_classes`) for no model.
    pub fn init_bank(&self, n_models: usize, device: &Device) -> crate::Result<DcaseAeBank> {
        if n_models == 0 {
            return Err(crate::Error::Config {
                field: "dcase-ae.n_classes".into(),
                reason: "must be at least 1 (one autoencoder per machine type)".into(),
            });
        }
        Ok(DcaseAeBank {
            models: (0..n_models).map(|_| self.init(device)).collect::<crate::Result<_>>()?,
        })
    }
}

/// Linear → BatchNorm → ReLU.
#[derive(Module, Debug)]
pub struct DenseBlock {
    /// The Linear layer.
    pub linear: Linear,
    /// The BatchNorm over its outputs.
    pub bn: BatchNorm,
}

impl DenseBlock {
    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        relu(crate::flex::conv::batch_norm_vectors(&self.bn, self.linear.forward(x)))
    }

    fn count(&self) -> Count {
        let [_, width] = self.linear.weight.dims();
        let linear = count::linear(&self.linear);
        Count {
            params: linear.params + 2 * width,
            macs: linear.macs,
        }
    }
}

/// The autoencoder (module docs).
#[derive(Module, Debug)]
pub struct DcaseAe {
    /// The encoder's blocks, the last one the bottleneck.
    pub encoder: Vec<DenseBlock>,
    /// The decoder's blocks.
    pub decoder: Vec<DenseBlock>,
    /// The last Linear, back to the input width, without activation.
    pub output: Linear,
}

/// What [`DcaseAe::forward`] gives.
#[derive(Clone, Debug)]
pub struct DcaseAeOutput {
    /// The reconstruction `[batch, input_dim]`.
    pub reconstruction: Tensor<2>,
    /// The bottleneck code `[batch, bottleneck]` (after its ReLU).
    pub code: Tensor<2>,
}

impl DcaseAe {
    /// Values per input vector.
    pub fn input_dim(&self) -> usize {
        self.output.weight.dims()[1]
    }

    /// Encodes and decodes a batch of vectors (BatchNorm on batch statistics in training, running ones otherwise).
    ///
    /// # Shapes
    /// - `input`: `[batch, input_dim]`; see [`DcaseAeOutput`]
    ///
    /// # Panics
    /// If the width differs from the network's.
    pub fn forward(&self, input: Tensor<2>) -> DcaseAeOutput {
        assert_shape!(input, [_, self.input_dim()]);
        let code = self.encoder.iter().fold(input, |x, block| block.forward(x));
        let hidden = self.decoder.iter().fold(code.clone(), |x, block| block.forward(x));
        DcaseAeOutput {
            reconstruction: self.output.forward(hidden),
            code,
        }
    }

    /// The layer table: each block (Linear + BatchNorm), then the output Linear; MACs per input vector.
    pub fn layers(&self) -> Vec<LayerRow> {
        let block_row = |side: &str, i: usize, block: &DenseBlock| {
            let width = block.linear.weight.dims()[1];
            LayerRow::new(format!("{side}.{i}"), vec![width], block.count(), LayerRole::Network)
        };
        let mut rows: Vec<LayerRow> = self
            .encoder
            .iter()
            .enumerate()
            .map(|(i, b)| block_row("encoder", i, b))
            .collect();
        rows.extend(self.decoder.iter().enumerate().map(|(i, b)| block_row("decoder", i, b)));
        rows.push(LayerRow::new(
            "output",
            vec![self.input_dim()],
            count::linear(&self.output),
            LayerRole::Network,
        ));
        rows
    }

    /// Parameters and MACs per input vector (267 928 and 264 192 for the baseline's sizes).
    pub fn count(&self) -> ModelCount {
        ModelCount::from_layers(&self.layers(), true)
    }

    /// Loads the baseline's PyTorch state dict (`encoder.{0,3,…,12}` Linear and `encoder.{1,4,…,13}` BatchNorm
    /// entries, the decoder's alike, `decoder.12` the output Linear); its `cov_source` / `cov_target` belong to the
    /// Mahalanobis scorer and are not read here.
    ///
    /// # Errors
    /// [`crate::Error::WeightFile`] / [`crate::Error::WeightMismatch`] naming `path`.
    pub fn load_torch(self, path: &Path) -> crate::Result<Self> {
        let map = torch_key_map(self.encoder.len(), self.decoder.len());
        let map: Vec<(&str, &str)> = map.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        weights::load_torch(self, path, &map, &DCASE_AE_TORCH_UNUSED)
    }
}

/// One [`DcaseAe`] per class (machine type): the baseline trains one autoencoder per type (docs/dcase_ae.md §1),
/// and every vector goes through the autoencoder of its class. Trained on batches of one class each, every
/// autoencoder sees exactly what the baseline's model of that type sees (its BatchNorm statistics included); a
/// batch of several classes is split by class, each part normalised on its own statistics.
#[derive(Module, Debug)]
pub struct DcaseAeBank {
    /// The autoencoder of each class, by class index.
    pub models: Vec<DcaseAe>,
}

impl DcaseAeBank {
    /// Values per input vector.
    pub fn input_dim(&self) -> usize {
        self.models.first().map_or(0, DcaseAe::input_dim)
    }

    /// The reconstruction of each vector by the autoencoder of its class, rows in the input's order.
    ///
    /// # Shapes
    /// - `input`: `[batch, input_dim]`, `classes`: `batch` class indices; output `[batch, input_dim]`
    ///
    /// # Panics
    /// If the width differs from the network's, `classes` has not one entry per row, or a class has no model.
    pub fn forward(&self, input: Tensor<2>, classes: &[usize]) -> Tensor<2> {
        let [batch, _] = input.dims();
        assert_eq!(classes.len(), batch, "one class per vector");
        if let Some(&first) = classes.first()
            && classes.iter().all(|&c| c == first)
        {
            return self.models[first].forward(input).reconstruction;
        }
        let device = input.device();
        let rows = |indices: &[usize]| {
            let values: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
            Tensor::<1, Int>::from_data(TensorData::new(values, [indices.len()]), &device)
        };
        let mut order: Vec<usize> = (0..batch).collect();
        order.sort_by_key(|&i| classes[i]);
        let parts: Vec<Tensor<2>> = order
            .chunk_by(|&a, &b| classes[a] == classes[b])
            .map(|run| {
                self.models[classes[run[0]]]
                    .forward(input.clone().select(0, rows(run)))
                    .reconstruction
            })
            .collect();
        let mut position = vec![0; batch];
        for (k, &i) in order.iter().enumerate() {
            position[i] = k;
        }
        Tensor::cat(parts, 0).select(0, rows(&position))
    }

    /// The layer table: each autoencoder's ([`DcaseAe::layers`]), named `models.<class>.…`.
    pub fn layers(&self) -> Vec<LayerRow> {
        self.models
            .iter()
            .enumerate()
            .flat_map(|(i, model)| {
                model.layers().into_iter().map(move |mut row| {
                    row.name = format!("models.{i}.{}", row.name);
                    row
                })
            })
            .collect()
    }

    /// Parameters of every autoencoder; MACs per input vector, which goes through one of them.
    pub fn count(&self) -> ModelCount {
        let counts: Vec<ModelCount> = self.models.iter().map(DcaseAe::count).collect();
        ModelCount {
            params: counts.iter().map(|c| c.params).sum(),
            params_paper: counts.iter().map(|c| c.params_paper).sum(),
            macs: counts.iter().map(|c| c.macs).max().unwrap_or(0),
        }
    }
}

/// Entries of the baseline's state dict that the network does not hold.
const DCASE_AE_TORCH_UNUSED: [&str; 2] = ["cov_source", "cov_target"];

/// The key remapping from the baseline's `nn.Sequential` indices (Linear, BatchNorm, ReLU per block) to ours.
fn torch_key_map(encoder: usize, decoder: usize) -> Vec<(String, String)> {
    let mut map = Vec::new();
    for (side, blocks) in [("encoder", encoder), ("decoder", decoder)] {
        for i in 0..blocks {
            map.push((format!(r"^{side}\.{}\.", 3 * i), format!("{side}.{i}.linear.")));
            map.push((format!(r"^{side}\.{}\.", 3 * i + 1), format!("{side}.{i}.bn.")));
        }
    }
    map.push((format!(r"^decoder\.{}\.", 3 * decoder), "output.".to_string()));
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Criterion (docs/dcase_ae.md §1): 267 928 parameters; MACs per vector 640·128 + 3·128² + 128·8 (encoder) +
    /// 8·128 + 3·128² + 128·640 (decoder) = 264 192.
    #[test]
    fn counts_are_the_baselines() {
        let model = DcaseAeConfig::new().init(&Device::flex()).expect("baseline sizes");
        let count = model.count();
        assert_eq!(count.params, 267_928);
        assert_eq!(count.macs, 264_192);
        assert_eq!(model.layers().len(), 10);
    }

    /// Criterion: a batch of two classes, in eval mode, equals each class's autoencoder on its own rows, row for
    /// row (within 1e-5); a one-class batch is that class's forward; the bank counts each model's parameters and one model's MACs.
    #[test]
    fn a_bank_routes_each_vector_to_its_class() {
        let device = Device::flex();
        device.seed(3);
        let config = DcaseAeConfig::new().with_input_dim(6).with_hidden(4).with_bottleneck(2);
        let bank = config.init_bank(2, &device).expect("two models");
        let x = Tensor::<2>::random([5, 6], burn::tensor::Distribution::Default, &device);
        let classes = [1, 0, 1, 1, 0];
        let mixed: Vec<f32> = bank.forward(x.clone(), &classes).into_data().try_to_vec().expect("f32");
        for (row, &class) in classes.iter().enumerate() {
            let own: Vec<f32> = bank.models[class]
                .forward(x.clone().slice(row..row + 1))
                .reconstruction
                .into_data()
                .try_to_vec()
                .expect("f32");
            // One row at a time may round differently from a batch in the matrix products.
            let close = mixed[row * 6..(row + 1) * 6]
                .iter()
                .zip(&own)
                .all(|(a, b)| (a - b).abs() <= 1e-5);
            assert!(close, "row {row}");
        }
        let ones: Vec<f32> = bank.forward(x.clone(), &[0; 5]).into_data().try_to_vec().expect("f32");
        let first: Vec<f32> = bank.models[0]
            .forward(x)
            .reconstruction
            .into_data()
            .try_to_vec()
            .expect("f32");
        assert_eq!(ones, first);
        let (one, both) = (bank.models[0].count(), bank.count());
        assert_eq!((both.params, both.macs), (2 * one.params, one.macs));
        assert!(config.init_bank(0, &device).is_err());
    }

    #[test]
    fn zero_widths_are_refused() {
        let bad = DcaseAeConfig::new().with_bottleneck(0);
        assert!(matches!(bad.check(), Err(crate::Error::Config { field, .. }) if field == "dcase-ae.bottleneck"));
    }
}

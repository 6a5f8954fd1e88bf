//! The DCASE Task 2 autoencoder baseline (`nttcslab/dcase2023_task2_baseline_ae`, the 2023–2026 official baseline;
//! docs/dcase_ae.md): vectors of 5 stacked log-Mel frames (640 values), one MLP autoencoder per machine type
//! ([`DcaseAeBank`]) trained on its own type's vectors with the mean squared reconstruction error, Adam 1e-3, batches
//! of 256 vectors of one type, 100 epochs, 10 % of the vectors held out for validation. The embedding of a vector is
//! its reconstruction error `x − x̂`; the scorers are the baseline's two modes: `mse` (a clip's mean squared error)
//! and `domain-mahalanobis` (the selective Mahalanobis distance of a clip's mean error block), each with the gamma
//! threshold at the 0.9 quantile.

use super::{EmbedJob, Network, Recipe, SystemDef, TrainJob, model_config, model_table};
use crate::config::{ClassSource, RunConfig};
use crate::scoring::ExampleOutputs;
use crate::{Error, Result};
use asd_features::{FeatureKind, FeatureSpec, FrontendPreset};
use asd_losses::LossConfig;
use asd_models::backbone::dcase_ae::{
    DCASE_AE_BOTTLENECK, DCASE_AE_HIDDEN, DCASE_AE_HIDDEN_LAYERS, DCASE_AE_INPUT, DcaseAeBank, DcaseAeConfig,
};
use asd_models::burn::module::Module;
use asd_models::burn::tensor::{Device, Tensor};
use asd_models::count::{LayerRow, ModelCount};
use asd_scorers::{ScorerConfig, ScorerKind};
use asd_train::{
    Batch, EpochLog, Examples, ModelSelection, OptimizerConfig, Rows, Schedule, StepOutput, TrainConfig, TrainStep,
    ValidationConfig, check_labels,
};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Epochs (baseline.yaml L28, docs/dcase_ae.md §2).
pub const DCASE_AE_EPOCHS: usize = 100;
/// Vectors per batch (baseline.yaml L27).
pub const DCASE_AE_BATCH_SIZE: usize = 256;
/// Adam's learning rate, constant (baseline.yaml L29).
pub const DCASE_AE_LR: f64 = 1e-3;
/// Fraction of each type's vectors held out for validation (datasets.py L61, `test_size=0.1`).
pub const DCASE_AE_VALIDATION_FRACTION: f64 = 0.1;
/// The smallest batch trained on: the baseline skips batches of one vector (dcase2023t2_ae.py L76–77).
pub const DCASE_AE_MIN_BATCH: usize = 2;

/// The `dcase-ae` system.
pub(super) struct DcaseAe;

/// The `[model]` table of `dcase-ae`: the autoencoder's widths and the number of autoencoders.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DcaseAeSettings {
    /// Autoencoders, one per class (machine type); set from the data.
    pub n_classes: usize,
    /// Values per input vector: the front end's frames × Mel bands.
    pub input_dim: usize,
    /// Hidden width.
    pub hidden: usize,
    /// Bottleneck width.
    pub bottleneck: usize,
}

impl Default for DcaseAeSettings {
    /// The baseline's sizes, one autoencoder (the model of one machine type).
    fn default() -> Self {
        Self {
            n_classes: 1,
            input_dim: DCASE_AE_INPUT,
            hidden: DCASE_AE_HIDDEN,
            bottleneck: DCASE_AE_BOTTLENECK,
        }
    }
}

impl DcaseAeSettings {
    /// The settings of each autoencoder.
    fn network(&self) -> DcaseAeConfig {
        DcaseAeConfig::new()
            .with_input_dim(self.input_dim)
            .with_hidden(self.hidden)
            .with_bottleneck(self.bottleneck)
    }
}

/// The training step: each vector reconstructed by its class's autoencoder, the mean squared error over the batch.
struct ReconstructionStep;

impl ReconstructionStep {
    fn loss(model: &DcaseAeBank, batch: Batch<Tensor<2>>) -> asd_train::Result<Tensor<1>> {
        check_labels(&batch.examples, &batch.label_values, model.models.len())?;
        let reconstruction = model.forward(batch.input.clone(), &batch.label_values);
        Ok(asd_losses::reconstruction_loss(batch.input, reconstruction))
    }
}

impl TrainStep<DcaseAeBank, Tensor<2>> for ReconstructionStep {
    fn step(
        &mut self,
        model: &DcaseAeBank,
        batch: Batch<Tensor<2>>,
        _: &mut ChaCha8Rng,
    ) -> asd_train::Result<StepOutput> {
        Ok(StepOutput {
            loss: Self::loss(model, batch)?,
            predicted: None,
        })
    }

    fn validation_loss(&self, model: &DcaseAeBank, batch: Batch<Tensor<2>>) -> asd_train::Result<Tensor<1>> {
        Self::loss(model, batch)
    }
}

/// The autoencoders as a [`Network`].
struct AeNetwork(DcaseAeBank);

impl Network for AeNetwork {
    fn count(&self) -> ModelCount {
        self.0.count()
    }

    fn layers(&self) -> Vec<LayerRow> {
        self.0.layers()
    }

    /// The loss kind was checked with the configuration ([`RunConfig::check`]): the step has nothing to read from it.
    fn train(self: Box<Self>, job: &TrainJob<'_>) -> Result<(Box<dyn Network>, Vec<EpochLog>)> {
        let examples = Rows::new(&job.inputs[0], job.labels)?;
        let trained = asd_train::train(
            self.0,
            &examples,
            &mut ReconstructionStep,
            &job.config.train,
            job.device,
            &job.session,
        )?;
        Ok((Box::new(AeNetwork(trained.model)), trained.history))
    }

    /// Each vector's reconstruction error `x − x̂` by its clip's autoencoder, in evaluation mode.
    fn embed(&self, job: &EmbedJob<'_>) -> Result<ExampleOutputs> {
        let labels = job.labels.ok_or_else(|| Error::Setting {
            field: "classes".into(),
            reason: "dcase-ae reconstructs each clip with the autoencoder of its machine type, and a clip's type \
                     has none (a type the run did not train on)"
                .into(),
        })?;
        let rows = Rows::new(&job.inputs[0], labels)?;
        let device = job.device.clone().without_autodiff();
        let bank = self.0.valid().to_device(&device);
        let (n, width) = (rows.len(), bank.input_dim());
        let mut embeddings = Vec::with_capacity(n * width);
        let indices: Vec<usize> = (0..n).collect();
        for chunk in indices.chunks(crate::pipeline::EXTRACT_BATCH) {
            let classes: Vec<usize> = chunk.iter().map(|&i| rows.label(i)).collect();
            check_labels(chunk, &classes, bank.models.len())?;
            let x = rows.batch(chunk, &device)?;
            let error = x.clone() - bank.forward(x, &classes);
            let values = error
                .into_data()
                .convert::<f32>()
                .try_into_vec::<f32>()
                .map_err(|e| asd_train::Error::Burn(format!("reconstruction readback: {e:?}")))?;
            embeddings.extend(values.into_iter().map(f64::from));
            (job.progress)(chunk.last().map_or(0, |&i| i + 1), n);
        }
        let embeddings = ndarray::Array2::from_shape_vec((n, width), embeddings)
            .map_err(|e| asd_train::Error::Burn(format!("reconstruction readback: {e}")))?;
        Ok(ExampleOutputs {
            embeddings,
            class_scores: None,
            logits: None,
            clip: (0..n).map(|i| rows.clip_of(i)).collect(),
        })
    }

    fn save(&self, path: &Path) -> Result<()> {
        Ok(asd_models::weights::save_burnpack(&self.0, path)?)
    }

    fn load(self: Box<Self>, path: &Path) -> Result<Box<dyn Network>> {
        Ok(Box::new(AeNetwork(asd_models::weights::load_burnpack(self.0, path)?)))
    }

    /// The baseline saves one model per machine type: its state dict fills a network of one autoencoder.
    fn load_reference(self: Box<Self>, path: &Path) -> Result<Box<dyn Network>> {
        let DcaseAeBank { models } = self.0;
        let [model] = <[_; 1]>::try_from(models).map_err(|models: Vec<_>| Error::File {
            path: path.into(),
            reason: format!(
                "the baseline's file holds one machine type's autoencoder, this network has {}",
                models.len()
            ),
        })?;
        Ok(Box::new(AeNetwork(DcaseAeBank {
            models: vec![model.load_torch(path)?],
        })))
    }
}

/// The `[model]` settings a baseline state dict fixes: one autoencoder, its input, hidden and bottleneck widths
/// from `encoder.0.weight` `[hidden, input]` and the bottleneck Linear `encoder.12.weight` `[bottleneck, hidden]`.
fn settings_from_state_dict(tensors: &[(String, Vec<usize>)]) -> Result<DcaseAeSettings> {
    let shape = |key: &str| {
        tensors
            .iter()
            .find(|(name, _)| name == key)
            .and_then(|(_, shape)| <[usize; 2]>::try_from(shape.as_slice()).ok())
            .ok_or_else(|| Error::Setting {
                field: "model".into(),
                reason: format!("the weights have no 2-d {key}, which the baseline's AENet has"),
            })
    };
    let [hidden, input_dim] = shape("encoder.0.weight")?;
    let bottleneck_key = format!("encoder.{}.weight", 3 * (DCASE_AE_HIDDEN_LAYERS + 1));
    let [bottleneck, _] = shape(&bottleneck_key)?;
    Ok(DcaseAeSettings {
        n_classes: 1,
        input_dim,
        hidden,
        bottleneck,
    })
}

/// The front end's vectors `(per clip, width)` for clips of `config.clip_seconds`.
fn vectors(config: &RunConfig) -> Result<(usize, usize)> {
    Ok(config.features.build()?.output_shape(config.clip_samples()))
}

impl SystemDef for DcaseAe {
    fn name(&self) -> &'static str {
        "dcase-ae"
    }

    fn source(&self) -> &'static str {
        "DCASE 2023–2026 Task 2 autoencoder baseline (Harada et al.; nttcslab/dcase2023_task2_baseline_ae)"
    }

    /// docs/dcase_ae.md §2–5: 5 × 128 log-Mel vectors (n_fft 1024, hop 512), Adam 1e-3 (constant), 100 epochs,
    /// batches of 256 vectors of one type (a batch of one skipped), 10 % of each type's vectors for validation, the
    /// last epoch's model; MSE, then the selective Mahalanobis score.
    fn recipe(&self) -> Recipe {
        Recipe {
            features: FeatureSpec::new(FeatureKind::StackedLogMel).with_preset(FrontendPreset::DcaseAe),
            model: Some(model_table(self.name(), &DcaseAeSettings::default()).unwrap_or_default()),
            train: TrainConfig {
                epochs: DCASE_AE_EPOCHS,
                batch_size: DCASE_AE_BATCH_SIZE,
                min_last_batch: DCASE_AE_MIN_BATCH,
                optimizer: OptimizerConfig::adam(DCASE_AE_LR),
                schedule: Schedule::Constant {},
                validation: Some(ValidationConfig {
                    fraction: DCASE_AE_VALIDATION_FRACTION,
                    select: ModelSelection::Last,
                }),
                batch_by_class: true,
                ..TrainConfig::default()
            },
            loss: LossConfig::reconstruction(),
            scorers: [ScorerKind::Mse, ScorerKind::DomainMahalanobis]
                .map(ScorerConfig::new)
                .to_vec(),
        }
    }

    fn count_notes(&self) -> Vec<String> {
        vec![
            "one autoencoder per machine type, as the baseline trains them: a run of N types trains N times these \
             parameters (the preset's count is one type's model); each vector goes through one of them"
                .to_string(),
        ]
    }

    /// One autoencoder per machine type.
    fn classes(&self) -> ClassSource {
        ClassSource::Type
    }

    fn has_logits(&self) -> bool {
        false
    }

    fn describe_input(&self, config: &RunConfig) -> Result<String> {
        let c: DcaseAeSettings = model_config(config)?;
        let frames = config.features.frames.unwrap_or(asd_features::DCASE_AE_FRAMES);
        Ok(format!("{frames} stacked log-Mel frames [{}]", c.input_dim))
    }

    fn check(&self, config: &RunConfig) -> Result<()> {
        super::require_features(config, &[FeatureKind::StackedLogMel])?;
        let c: DcaseAeSettings = model_config(config)?;
        c.network().check()?;
        let (per_clip, width) = vectors(config)?;
        if width != c.input_dim {
            return Err(Error::Setting {
                field: "model.input_dim".into(),
                reason: format!("is {}, but the front end gives vectors of {width} values", c.input_dim),
            });
        }
        if per_clip == 0 {
            return Err(Error::Setting {
                field: "clip_seconds".into(),
                reason: format!(
                    "clips of {} s give no vector of {} frames",
                    config.clip_seconds,
                    config.features.frames.unwrap_or(asd_features::DCASE_AE_FRAMES)
                ),
            });
        }
        Ok(())
    }

    fn examples_per_clip(&self, config: &RunConfig) -> Result<usize> {
        Ok(vectors(config)?.0)
    }

    /// One machine type's autoencoder and its widths (the baseline's `.pth` of that type).
    fn settings_from_weights(&self, config: &mut RunConfig, tensors: &[(String, Vec<usize>)]) -> Result<()> {
        config.model = Some(model_table(self.name(), &settings_from_state_dict(tensors)?)?);
        Ok(())
    }

    fn build(&self, config: &RunConfig, device: &Device) -> Result<Box<dyn Network>> {
        let c: DcaseAeSettings = model_config(config)?;
        // One model's size times the count, refused before the models are built (a mistyped count).
        let one = asd_models::init::parameter_count(&c.network().init(device)?);
        let total = one.saturating_mul(c.n_classes as u64);
        if total > asd_models::init::MAX_PARAMETERS {
            return Err(Error::Setting {
                field: "model.n_classes".into(),
                reason: format!(
                    "{} autoencoders of {one} parameters are {total} parameters, more than the {} allowed",
                    c.n_classes,
                    asd_models::init::MAX_PARAMETERS
                ),
            });
        }
        let bank = c.network().init_bank(c.n_classes, device)?;
        Ok(Box::new(AeNetwork(asd_models::init::draw_now(bank))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use asd_models::backbone::dcase_ae::DcaseAe as Autoencoder;

    /// Every weight and BatchNorm statistic of one autoencoder, in visiting order.
    fn values(model: &Autoencoder) -> Vec<Vec<f32>> {
        let read = |t: Tensor<1>| t.into_data().convert::<f32>().try_into_vec::<f32>().expect("f32");
        let mut out = Vec::new();
        for block in model.encoder.iter().chain(&model.decoder) {
            out.push(read(block.linear.weight.val().reshape([-1])));
            out.push(read(block.bn.gamma.val()));
            out.push(read(block.bn.running_mean.value_sync()));
            out.push(read(block.bn.running_var.value_sync()));
        }
        out.push(read(model.output.weight.val().reshape([-1])));
        out
    }

    /// Criterion (docs/dcase_ae.md §1: one model per machine type, trained on its type alone): trained on vectors
    /// of class 0 only, with batches by class, the autoencoder of class 1 keeps every weight and BatchNorm
    /// statistic, while class 0's changes and its loss falls.
    #[test]
    fn each_autoencoder_learns_from_its_own_type_only() {
        let device = Device::flex();
        device.seed(1);
        let settings = DcaseAeSettings {
            n_classes: 2,
            input_dim: 6,
            hidden: 4,
            bottleneck: 2,
        };
        let bank = asd_models::init::draw_now(settings.network().init_bank(2, &device).expect("two models"));
        let (zero, one) = (values(&bank.models[0]), values(&bank.models[1]));
        let features = ndarray::Array3::from_shape_fn((4, 5, 6), |(c, r, k)| ((c * 7 + r * 3 + k) % 5) as f32);
        let labels = [0; 4];
        let examples = Rows::new(&features, &labels).expect("one label per clip");
        let config = TrainConfig {
            epochs: 5,
            batch_size: 8,
            min_last_batch: DCASE_AE_MIN_BATCH,
            optimizer: OptimizerConfig::adam(DCASE_AE_LR),
            schedule: Schedule::Constant {},
            batch_by_class: true,
            ..TrainConfig::default()
        };
        let session = asd_train::Session::new();
        let trained =
            asd_train::train(bank, &examples, &mut ReconstructionStep, &config, &device, &session).expect("training");
        assert_eq!(values(&trained.model.models[1]), one, "class 1's autoencoder untouched");
        assert_ne!(values(&trained.model.models[0]), zero, "class 0's autoencoder trained");
        let losses: Vec<f64> = trained.history.iter().map(|l| l.loss).collect();
        assert!(losses[4] < losses[0], "{losses:?}");
    }
}

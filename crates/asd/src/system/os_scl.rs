//! OS-SCL (Huang, Fang, He, ICASSP 2025, seed 002; os_scl.md): MobileFaceNet B on the log-Mel (`os-scl-logmel`) or
//! on the TFSTgram fusion of log-Mel, Tgram and TFgram (`os-scl-tfstgram`), the feature-perturbation head, ArcFace
//! on its unit output; trained with Noisy-ArcMix (λ ~ Beta(0.5, 0.5) on waveform and log-Mel alike) plus the noisy
//! supervised contrastive loss, an EMA of the weights (with the reference's extra decay of the online model), and
//! the EMA model of the epoch with the lowest validation cross-entropy on a stratified 5 % of the training clips.
//! That selection uses no test data, so it is the preset's default (decisions.md §3).

use super::margin::{self, MarginNetwork};
use super::stgram_mfn::{check_image, embed_wave_and_mel, fit_wave_and_mel, frames, wave_and_mel_inputs};
use super::{EmbedJob, Network, Recipe, SystemDef, TrainJob, model_config, model_table};
use crate::config::RunConfig;
use crate::scoring::ExampleOutputs;
use crate::{Error, Result};
use asd_features::{FeatureKind, FeatureSpec, FrontendPreset};
use asd_losses::{LossConfig, MIXUP_ALPHA_NOISY_ARCMIX, MarginLossConfig, MixupLoss, SupConConfig};
use asd_models::backbone::os_scl::{OsScl as Model, OsSclConfig};
use asd_models::burn::tensor::Device;
use asd_scorers::{ScorerConfig, ScorerKind};
use asd_train::{Clips, EmaConfig, EpochLog, ModelSelection, OptimizerConfig, Schedule, TrainConfig, ValidationConfig};

/// Epochs ([config.yaml], os_scl.md §1).
pub const OS_SCL_EPOCHS: usize = 300;
/// Batch size ([config.yaml], os_scl.md §1).
pub const OS_SCL_BATCH_SIZE: usize = 64;
/// AdamW learning rate ([trainer.py] default 1e-4; weight decay 0.01, PyTorch's default).
pub const OS_SCL_LR: f64 = 1e-4;
/// EMA decay per step ([losses.py] WeightEMA, os_scl.md §5).
pub const OS_SCL_EMA_DECAY: f64 = 0.9999;
/// The extra decay of the online model per step ([losses.py] WeightEMA: `param.mul_(1 - 2e-6)`, os_scl.md §5).
pub const OS_SCL_ONLINE_DECAY: f64 = 2e-6;
/// Fraction of each class's training clips held out for validation ([utils.py] `dataset_split(0.95)`).
pub const OS_SCL_VALIDATION_FRACTION: f64 = 0.05;
/// The smallest last batch trained on: BatchNorm cannot normalise a batch of one (os_scl.md §5).
pub const OS_SCL_MIN_LAST_BATCH: usize = 2;

/// One of OS-SCL's two variants.
pub(super) struct OsScl {
    /// TFSTgram (`true`) or log-Mel (`false`).
    tfstgram: bool,
}

/// `os-scl-logmel`.
pub(super) const LOGMEL: OsScl = OsScl { tfstgram: false };
/// `os-scl-tfstgram`.
pub(super) const TFSTGRAM: OsScl = OsScl { tfstgram: true };

impl OsScl {
    /// The variant's network settings.
    fn paper_model(&self) -> OsSclConfig {
        if self.tfstgram {
            OsSclConfig::tfstgram()
        } else {
            OsSclConfig::logmel()
        }
    }

    /// The variant's `[model]` table read from `config`, checked to be of this variant.
    fn model(&self, config: &RunConfig) -> Result<OsSclConfig> {
        let c: OsSclConfig = model_config(config)?;
        let expected = self.paper_model().fusion;
        if c.fusion != expected {
            return Err(Error::Setting {
                field: "model.fusion".into(),
                reason: format!("{} reads {expected:?}, the table says {:?}", self.name(), c.fusion),
            });
        }
        Ok(c)
    }
}

fn fit_logmel(model: Model, job: &TrainJob<'_>) -> Result<(Model, Vec<EpochLog>)> {
    margin::fit(model, &Clips::new(&job.inputs[0], job.labels)?, job)
}

fn embed_logmel(model: &Model, job: &EmbedJob<'_>) -> Result<ExampleOutputs> {
    let labels = job.labels_or_zeros();
    margin::embed(model, &Clips::new(&job.inputs[0], &labels)?, 1, job)
}

impl SystemDef for OsScl {
    fn name(&self) -> &'static str {
        if self.tfstgram {
            "os-scl-tfstgram"
        } else {
            "os-scl-logmel"
        }
    }

    fn source(&self) -> &'static str {
        "Huang, Fang, He, ICASSP 2025 (seed 002)"
    }

    /// os_scl.md §1, §5: the reference's log-Mel (n_fft 2048, Slaney scale and norm), AdamW 1e-4 (decay 0.01), cosine
    /// to 1e-5 over 300 epochs, batches of 64 (a last batch of one skipped), Noisy-ArcMix α 0.5 + SupCon (τ 0.02,
    /// τ_b 0.07), EMA 0.9999 with the online decay 2e-6, the best validation loss of the EMA model on 5 % of the
    /// training clips; scored by PROB with the margin (the paper's), then KNN and GMM on z.
    fn recipe(&self) -> Recipe {
        Recipe {
            features: FeatureSpec::new(FeatureKind::LogMel).with_preset(FrontendPreset::OsScl),
            model: Some(model_table(self.name(), &self.paper_model()).unwrap_or_default()),
            train: TrainConfig {
                epochs: OS_SCL_EPOCHS,
                batch_size: OS_SCL_BATCH_SIZE,
                min_last_batch: OS_SCL_MIN_LAST_BATCH,
                optimizer: OptimizerConfig::adamw(OS_SCL_LR),
                schedule: Schedule::Cosine {
                    t_max: OS_SCL_EPOCHS,
                    eta_min: asd_train::COSINE_ETA_MIN,
                    start_epoch: 0,
                },
                ema: Some(EmaConfig {
                    decay: OS_SCL_EMA_DECAY,
                    online_decay: OS_SCL_ONLINE_DECAY,
                }),
                validation: Some(ValidationConfig {
                    fraction: OS_SCL_VALIDATION_FRACTION,
                    select: ModelSelection::BestLoss,
                }),
                ..TrainConfig::default()
            },
            loss: LossConfig::Margin(MarginLossConfig {
                supcon: Some(SupConConfig::default()),
                ..MarginLossConfig::mixup(MIXUP_ALPHA_NOISY_ARCMIX, MixupLoss::NoisyArcMix)
            }),
            scorers: [ScorerKind::Prob, ScorerKind::Knn, ScorerKind::Gmm]
                .map(ScorerConfig::new)
                .to_vec(),
        }
    }

    /// os_scl.md §7–8: the MACs leave out the reference's dead `fc_out`; the paper's 0.88 M for the log-Mel variant
    /// counts no feature-perturbation head.
    fn count_notes(&self) -> Vec<String> {
        let mut notes = vec![
            "MACs leave out the reference's MobileFaceNet fc_out (5,248), which it computes and throws away; this \
             network does not run it"
                .to_string(),
        ];
        if !self.tfstgram {
            notes.push(
                "the paper's 0.88 M parameters cannot be reproduced: it counts no feature-perturbation head \
                 (os_scl.md §7); 897,257 is the same count as its 1.38 M for TFSTgram"
                    .to_string(),
            );
        }
        notes
    }

    /// The reference scores one AUC over all clips of each machine type (os_scl.md §6).
    fn paper_pool(&self) -> asd_metrics::Pool {
        asd_metrics::Pool::Type
    }

    /// The log-Mel (`config.features`), and for TFSTgram the waveform of the same crop.
    fn inputs(&self, config: &RunConfig) -> Vec<FeatureSpec> {
        if self.tfstgram {
            wave_and_mel_inputs(config)
        } else {
            vec![config.features.clone()]
        }
    }

    fn describe_input(&self, config: &RunConfig) -> Result<String> {
        let c = self.model(config)?;
        Ok(if self.tfstgram {
            format!(
                "waveform [{}] and log-Mel [{}, {}] of a clip",
                c.samples, c.n_mels, c.frames
            )
        } else {
            format!("log-Mel [{}, {}] of a clip", c.n_mels, c.frames)
        })
    }

    fn check(&self, config: &RunConfig) -> Result<()> {
        let c = self.model(config)?;
        c.check()?;
        check_image(config, c.n_mels, c.frames)?;
        if self.tfstgram && c.samples != config.clip_samples() {
            return Err(Error::Setting {
                field: "model.samples".into(),
                reason: format!(
                    "{}'s Tgram and TFgram expect {} samples, clips are {} samples",
                    self.name(),
                    c.samples,
                    config.clip_samples()
                ),
            });
        }
        Ok(())
    }

    fn fit_clip_length(&self, config: &mut RunConfig) -> Result<()> {
        let c = self
            .model(config)?
            .with_frames(frames(config)?)
            .with_samples(config.clip_samples());
        config.model = Some(model_table(self.name(), &c)?);
        Ok(())
    }

    /// The class count from the rows of `arcface.weight`.
    fn settings_from_weights(&self, config: &mut RunConfig, tensors: &[(String, Vec<usize>)]) -> Result<()> {
        super::asdnet::set_arcface_classes(self, config, tensors)
    }

    fn build(&self, config: &RunConfig, device: &Device) -> Result<Box<dyn Network>> {
        let model = self.model(config)?.init(device)?;
        let network = if self.tfstgram {
            MarginNetwork::new(model, Model::count, Model::layers, fit_wave_and_mel, embed_wave_and_mel)?
        } else {
            MarginNetwork::new(model, Model::count, Model::layers, fit_logmel, embed_logmel)?
        };
        Ok(network.with_reference(Model::load_torch))
    }
}

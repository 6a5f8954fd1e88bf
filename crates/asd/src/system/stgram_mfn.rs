//! STgram-MFN (Liu et al., ICASSP 2022, seed 004; stgram_mfn.md): the log-Mel and TgramNet's learnable Tgram of
//! the waveform stacked into MobileFaceNet, ArcFace. Also the MobileFaceNet recipe LogMel-MFN shares.

use super::margin::{self, MarginNetwork};
use super::{EmbedJob, Network, Recipe, SystemDef, TrainJob, model_config, model_table};
use crate::config::RunConfig;
use crate::paper::{PaperResults, STGRAM_MFN_PAPER};
use crate::{Error, Result};
use asd_features::{FeatureKind, FeatureSpec, FrontendPreset};
use asd_losses::LossConfig;
use asd_models::Embedder;
use asd_models::backbone::mfn_classifier::{ReferenceSettings, STGRAM_ARCFACE_MARGIN, STGRAM_ARCFACE_SCALE};
use asd_models::backbone::stgram_mfn::{STGRAM_CHANNELS, StgramMfn as Model, StgramMfnConfig};
use asd_models::burn::module::Module;
use asd_models::burn::tensor::{Device, Tensor};
use asd_models::head::HeadConfig;
use asd_scorers::{ScorerConfig, ScorerKind};
use asd_train::{Clips, EpochLog, Paired, Rows, Schedule, TrainConfig};

/// STgram-MFN / LogMel-MFN epochs (seed 004 §3.1; decisions.md §10).
pub const MFN_EPOCHS: usize = 200;
/// STgram-MFN / LogMel-MFN batch size (seed 004 §3.1).
pub const MFN_BATCH_SIZE: usize = 128;
/// Epochs of constant learning rate before STgram-MFN's cosine schedule starts (stgram_mfn.md §6,
/// `start_scheduler_epoch`).
pub const MFN_SCHEDULE_START_EPOCH: usize = 20;

/// The STgram-MFN system.
pub(super) struct StgramMfn;

/// Seed 004's recipe around a network: torchaudio's log-Mel 128 × 313 of the 10-s clip, Adam 1e-4, 200 epochs of
/// batches of 128, constant for 20 epochs then cosine to 1e-5, no mixup; scored by PROB (seed 004).
pub(super) fn mfn_recipe(model: toml::Table) -> Recipe {
    Recipe {
        features: FeatureSpec::new(FeatureKind::LogMel).with_preset(FrontendPreset::StgramMfn),
        model: Some(model),
        train: TrainConfig {
            epochs: MFN_EPOCHS,
            batch_size: MFN_BATCH_SIZE,
            schedule: Schedule::Cosine {
                t_max: MFN_EPOCHS,
                eta_min: asd_train::COSINE_ETA_MIN,
                start_epoch: MFN_SCHEDULE_START_EPOCH,
            },
            ..TrainConfig::default()
        },
        loss: LossConfig::default(),
        scorers: vec![ScorerConfig::new(ScorerKind::Prob)],
    }
}

/// The MobileFaceNet systems read a log-Mel image `[n_mels, frames]` of the whole clip.
pub(super) fn check_image(config: &RunConfig, n_mels: usize, frames: usize) -> Result<()> {
    super::require_features(config, &[FeatureKind::LogMel, FeatureKind::HpfLogMel])?;
    let (rows, cols) = config.features.build()?.output_shape(config.clip_samples());
    margin::check_input_shape(config, [n_mels, frames], [rows, cols])
}

/// Sets the `[model]` variant, class count and head of a MobileFaceNet system (STgram-MFN, LogMel-MFN) from a
/// reference checkpoint's tensors, checked to have `channels` input channels.
///
/// # Errors
/// A setting the tensors contradict or do not tell (named), or a `[model]` table without a valid head.
pub(super) fn set_mfn_settings(
    system: &dyn SystemDef,
    config: &mut RunConfig,
    tensors: &[(String, Vec<usize>)],
    channels: usize,
) -> Result<()> {
    let settings = reference_settings(system.name(), tensors, channels)?;
    let invalid = |field: &str, reason: String| Error::Setting {
        field: format!("model.{field}"),
        reason,
    };
    let model = config.model.get_or_insert_default();
    let head: HeadConfig = match model.get("head") {
        Some(value) => value.clone().try_into().map_err(|e| invalid("head", format!("{e}")))?,
        None => HeadConfig::ArcFace {
            scale: STGRAM_ARCFACE_SCALE,
            margin: STGRAM_ARCFACE_MARGIN,
        },
    };
    let head = reference_head(&head, settings.arcface);
    let to_value =
        |field: &str, value: Result<toml::Value, toml::ser::Error>| value.map_err(|e| invalid(field, e.to_string()));
    model.insert(
        "variant".into(),
        to_value("variant", toml::Value::try_from(settings.variant))?,
    );
    model.insert("n_classes".into(), toml::Value::Integer(settings.n_classes as i64));
    model.insert("head".into(), to_value("head", toml::Value::try_from(head))?);
    Ok(())
}

/// What a reference MobileFaceNet checkpoint says about its network, checked to have `channels` input channels
/// (2: STgram-MFN, 1: LogMel-MFN).
fn reference_settings(system: &str, tensors: &[(String, Vec<usize>)], channels: usize) -> Result<ReferenceSettings> {
    let settings = ReferenceSettings::read(tensors).map_err(|e| match e {
        asd_models::Error::Config { field, reason } => Error::Setting {
            field: format!("model.{field}"),
            reason,
        },
        other => other.into(),
    })?;
    if settings.in_channels != channels {
        return Err(Error::Setting {
            field: "system".into(),
            reason: format!(
                "the weights' MobileFaceNet reads {} input channels, {system}'s reads {channels} (STgram-MFN 2, \
                 LogMel-MFN 1)",
                settings.in_channels
            ),
        });
    }
    Ok(settings)
}

/// The head a reference checkpoint has: `current` when it agrees (keeping its scale and margin), ArcFace with
/// STgram-MFN's s and m when the checkpoint has `arcface.weight` but `current` is Linear, Linear otherwise.
fn reference_head(current: &HeadConfig, arcface: bool) -> HeadConfig {
    match (current, arcface) {
        (HeadConfig::ArcFace { .. }, true) | (HeadConfig::Linear, false) => current.clone(),
        (HeadConfig::Linear, true) => HeadConfig::ArcFace {
            scale: STGRAM_ARCFACE_SCALE,
            margin: STGRAM_ARCFACE_MARGIN,
        },
        (HeadConfig::ArcFace { .. }, false) => HeadConfig::Linear,
    }
}

/// The front end's frame count for the configured clip length.
pub(super) fn frames(config: &RunConfig) -> Result<usize> {
    Ok(config.features.build()?.output_shape(config.clip_samples()).1)
}

/// Trains a waveform + log-Mel model (STgram-MFN, TFSTgram(OS-SCL)) on each clip's cached waveform (`inputs[1]`)
/// and log-Mel (`inputs[0]`), batched as pairs that mixup blends alike.
pub(super) fn fit_wave_and_mel<M>(model: M, job: &TrainJob<'_>) -> Result<(M, Vec<EpochLog>)>
where
    M: Embedder + Module,
    (Tensor<2>, Tensor<3>): Into<M::Input>,
{
    let examples = Paired::new(
        Rows::new(&job.inputs[1], job.labels)?,
        Clips::new(&job.inputs[0], job.labels)?,
    )?;
    margin::fit(model, &examples, job)
}

/// Embeds the clips of a waveform + log-Mel system (STgram-MFN, the attention net, TFSTgram(OS-SCL)) from their
/// cached log-Mel (`inputs[0]`) and waveform (`inputs[1]`).
pub(super) fn embed_wave_and_mel<M>(model: &M, job: &EmbedJob<'_>) -> Result<crate::scoring::ExampleOutputs>
where
    M: Embedder + Module,
    (Tensor<2>, Tensor<3>): Into<M::Input>,
{
    let labels = job.labels_or_zeros();
    let examples = Paired::new(
        Rows::new(&job.inputs[1], &labels)?,
        Clips::new(&job.inputs[0], &labels)?,
    )?;
    margin::embed(model, &examples, 1, job)
}

/// The inputs of a waveform + log-Mel system: the log-Mel (`config.features`), then the waveform `[1, samples]`
/// of the same crop.
pub(super) fn wave_and_mel_inputs(config: &RunConfig) -> Vec<FeatureSpec> {
    vec![config.features.clone(), FeatureSpec::new(FeatureKind::Waveform)]
}

/// One input example of a waveform + log-Mel system, in words.
pub(super) fn describe_wave_and_mel(samples: usize, n_mels: usize, frames: usize) -> String {
    format!("waveform [{samples}] and log-Mel [{n_mels}, {frames}] of a 10-s clip")
}

/// Checks a waveform + log-Mel system's input sizes: the log-Mel image, and `samples` (what `front` — TgramNet,
/// the Wavegram — of `system` expects) against the clip length.
pub(super) fn check_wave_and_mel(config: &RunConfig, [samples, n_mels, frames]: [usize; 3], front: &str) -> Result<()> {
    check_image(config, n_mels, frames)?;
    if samples != config.clip_samples() {
        return Err(Error::Setting {
            field: "model.samples".into(),
            reason: format!(
                "{}'s {front} expects {samples} samples, clips are {} samples",
                config.system,
                config.clip_samples()
            ),
        });
    }
    Ok(())
}

impl SystemDef for StgramMfn {
    fn name(&self) -> &'static str {
        "stgram-mfn"
    }

    fn source(&self) -> &'static str {
        "Liu et al., ICASSP 2022 (seed 004)"
    }

    fn recipe(&self) -> Recipe {
        mfn_recipe(model_table(self.name(), &StgramMfnConfig::new()).unwrap_or_default())
    }

    fn paper(&self) -> Option<PaperResults> {
        Some(STGRAM_MFN_PAPER)
    }

    /// The log-Mel (`config.features`), then the waveform `[1, samples]` of the same crop.
    fn inputs(&self, config: &RunConfig) -> Vec<FeatureSpec> {
        wave_and_mel_inputs(config)
    }

    fn describe_input(&self, config: &RunConfig) -> Result<String> {
        let c: StgramMfnConfig = model_config(config)?;
        Ok(describe_wave_and_mel(c.samples, c.n_mels, c.frames))
    }

    fn check(&self, config: &RunConfig) -> Result<()> {
        let c: StgramMfnConfig = model_config(config)?;
        c.check()?;
        check_wave_and_mel(config, [c.samples, c.n_mels, c.frames], "TgramNet")
    }

    fn fit_clip_length(&self, config: &mut RunConfig) -> Result<()> {
        let c: StgramMfnConfig = model_config(config)?;
        let c = c.with_frames(frames(config)?).with_samples(config.clip_samples());
        config.model = Some(model_table(self.name(), &c)?);
        Ok(())
    }

    fn settings_from_weights(&self, config: &mut RunConfig, tensors: &[(String, Vec<usize>)]) -> Result<()> {
        set_mfn_settings(self, config, tensors, STGRAM_CHANNELS)
    }

    fn build(&self, config: &RunConfig, device: &Device) -> Result<Box<dyn Network>> {
        let model: Model = model_config::<StgramMfnConfig>(config)?.init(device)?;
        Ok(
            MarginNetwork::new(model, Model::count, Model::layers, fit_wave_and_mel, embed_wave_and_mel)?
                .with_reference(Model::load_torch),
        )
    }
}

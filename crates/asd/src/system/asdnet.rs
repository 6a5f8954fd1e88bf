//! ASDNet (Kong et al. 2025, seed 000; asdnet_specmfn.md): Conv1d layers on the magnitude spectrum of 2-s
//! segments, ArcFace. Also the recipe of seed 000 that SpecMFN shares.

use super::margin::{self, MarginNetwork};
use super::{EmbedJob, Network, Recipe, SystemDef, TrainJob, model_config, model_table};
use crate::Result;
use crate::config::RunConfig;
use crate::paper::{ASDNET_PAPER, PaperResults};
use asd_features::{FeatureKind, FeatureSpec};
use asd_losses::{LossConfig, MIXUP_ALPHA_NOISY_ARCMIX, MixupLoss};
use asd_models::backbone::asdnet::{AsdNet as Model, AsdNetConfig};
use asd_models::burn::tensor::Device;
use asd_scorers::{ScorerConfig, ScorerKind};
use asd_train::{EpochLog, Rows, TrainConfig};

/// The ASDNet system.
pub(super) struct AsdNet;

/// Seed 000's recipe around a network: `|rfft|` of the 2-s segments, Adam 1e-4 with cosine annealing to 1e-5 over
/// 300 epochs, batches of 64 segments, mixup α 0.5 scored by ArcMix (asdnet_specmfn.md §4.2, §5; decisions.md §10);
/// scorers K-Means (the headline), PROB, COS, GMM, LOF (seed 000 Table 4), each clip scored by its mean segment
/// score.
pub(super) fn segment_recipe(model: toml::Table) -> Recipe {
    Recipe {
        features: FeatureSpec::new(FeatureKind::Spectrum),
        model: Some(model),
        train: TrainConfig::default(),
        loss: LossConfig::mixup(MIXUP_ALPHA_NOISY_ARCMIX, MixupLoss::ArcMix),
        scorers: [
            ScorerKind::Kmeans,
            ScorerKind::Prob,
            ScorerKind::Cos,
            ScorerKind::Gmm,
            ScorerKind::Lof,
        ]
        .map(ScorerConfig::new)
        .to_vec(),
    }
}

/// Seed 000's systems read the spectrum of each 2-s segment: the network's `input_bins` must be the front end's
/// width.
pub(super) fn check_segments(config: &RunConfig, input_bins: usize) -> Result<()> {
    super::require_features(config, &[FeatureKind::Spectrum])?;
    let (_, cols) = config.features.build()?.output_shape(config.clip_samples());
    margin::check_input_shape(config, [1, input_bins], [1, cols])
}

/// Sets the class count of `config`'s `[model]` table from the rows of a reference checkpoint's `arcface.weight`
/// (ASDNet and SpecMFN: the only setting their weights fix that a preset does not).
///
/// # Errors
/// [`Error::Setting`](crate::Error::Setting) when the checkpoint has no `arcface.weight`.
pub(super) fn set_arcface_classes(
    system: &dyn SystemDef,
    config: &mut RunConfig,
    tensors: &[(String, Vec<usize>)],
) -> Result<()> {
    let rows = tensors
        .iter()
        .find(|(name, _)| name == "arcface.weight")
        .and_then(|(_, shape)| shape.first().copied())
        .ok_or_else(|| crate::Error::Setting {
            field: "model.n_classes".into(),
            reason: format!(
                "the weights have no arcface.weight, which {}'s head needs",
                system.name()
            ),
        })?;
    if let Some(model) = &mut config.model {
        system.set_classes(model, rows);
    }
    Ok(())
}

/// Segments per clip: the rows of the spectrum front end for a clip of `config.clip_seconds`.
pub(super) fn segments_per_clip(config: &RunConfig) -> Result<usize> {
    Ok(config.features.build()?.output_shape(config.clip_samples()).0)
}

/// Trains a segment model: every segment of every clip is an example (the first input's rows).
pub(super) fn fit_rows<M>(model: M, job: &TrainJob<'_>) -> Result<(M, Vec<EpochLog>)>
where
    M: asd_models::Embedder<Input = asd_models::burn::tensor::Tensor<2>> + asd_models::burn::module::Module,
{
    margin::fit(model, &Rows::new(&job.inputs[0], job.labels)?, job)
}

/// Embeds every segment of every clip; a clip's segments are consecutive rows.
pub(super) fn embed_rows<M>(model: &M, job: &EmbedJob<'_>) -> Result<crate::scoring::ExampleOutputs>
where
    M: asd_models::Embedder<Input = asd_models::burn::tensor::Tensor<2>> + asd_models::burn::module::Module,
{
    let labels = job.labels_or_zeros();
    let rows = Rows::new(&job.inputs[0], &labels)?;
    margin::embed(model, &rows, rows.rows_per_clip(), job)
}

impl SystemDef for AsdNet {
    fn name(&self) -> &'static str {
        "asdnet"
    }

    fn source(&self) -> &'static str {
        "Kong et al., 2025 (seed 000)"
    }

    fn recipe(&self) -> Recipe {
        segment_recipe(model_table(self.name(), &AsdNetConfig::new()).unwrap_or_default())
    }

    fn paper(&self) -> Option<PaperResults> {
        Some(ASDNET_PAPER)
    }

    fn describe_input(&self, config: &RunConfig) -> Result<String> {
        let c: AsdNetConfig = model_config(config)?;
        Ok(format!("spectrum of a 2-s segment [{}]", c.input_bins))
    }

    fn check(&self, config: &RunConfig) -> Result<()> {
        let c: AsdNetConfig = model_config(config)?;
        c.check()?;
        check_segments(config, c.input_bins)
    }

    fn examples_per_clip(&self, config: &RunConfig) -> Result<usize> {
        segments_per_clip(config)
    }

    fn settings_from_weights(&self, config: &mut RunConfig, tensors: &[(String, Vec<usize>)]) -> Result<()> {
        set_arcface_classes(self, config, tensors)
    }

    fn build(&self, config: &RunConfig, device: &Device) -> Result<Box<dyn Network>> {
        let model: Model = model_config::<AsdNetConfig>(config)?.init(device)?;
        Ok(
            MarginNetwork::new(model, Model::count, Model::layers, fit_rows, embed_rows)?
                .with_reference(Model::load_torch),
        )
    }
}

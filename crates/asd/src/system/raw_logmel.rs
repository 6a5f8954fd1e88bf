//! The training-free baseline: each clip's log-Mel frames summarised over time ([`Pooling`]) are its embedding
//! (spec/synthetic.md's baseline); scored by KNN.

use super::{EmbedJob, Network, Recipe, SystemDef, TrainJob};
use crate::config::{Pooling, RunConfig};
use crate::scoring::ExampleOutputs;
use crate::{Error, Result};
use asd_data::FeatureCache;
use asd_features::{FeatureKind, FeatureSpec, FrontendPreset};
use asd_losses::LossConfig;
use asd_models::burn::tensor::Device;
use asd_models::count::{LayerRow, ModelCount};
use asd_scorers::{ScorerConfig, ScorerKind};
use asd_train::{EpochLog, TrainConfig};
use ndarray::{Array2, Axis};
use std::path::Path;

/// The raw-logmel system.
pub(super) struct RawLogMel;

/// The pooling of [`RawLogMel`]: no weights, nothing to train or save.
struct Pooled(Pooling);

impl Network for Pooled {
    fn count(&self) -> ModelCount {
        ModelCount::from_layers(&[], false)
    }

    fn layers(&self) -> Vec<LayerRow> {
        Vec::new()
    }

    fn train(self: Box<Self>, _: &TrainJob<'_>) -> Result<(Box<dyn Network>, Vec<EpochLog>)> {
        Ok((self, Vec::new()))
    }

    fn embed(&self, job: &EmbedJob<'_>) -> Result<ExampleOutputs> {
        let cache = job.inputs.first().ok_or_else(|| Error::Setting {
            field: "features".into(),
            reason: "raw-logmel needs one feature cache".into(),
        })?;
        Ok(ExampleOutputs::per_clip(pooled_embeddings(cache, self.0), None))
    }

    fn save(&self, _: &Path) -> Result<()> {
        Ok(())
    }

    fn load(self: Box<Self>, _: &Path) -> Result<Box<dyn Network>> {
        Ok(self)
    }
}

/// Each clip's feature rows summarised over time: `[n_clips, rows, cols]` → `[n_clips, rows]` (mean) or
/// `[n_clips, 2 · rows]` (mean, then population standard deviation), in f64.
fn pooled_embeddings(cache: &FeatureCache, pooling: Pooling) -> Array2<f64> {
    let (rows, _) = cache.feature_shape();
    let width = match pooling {
        Pooling::Mean => rows,
        Pooling::MeanStd => 2 * rows,
    };
    let mut out = Array2::zeros((cache.len(), width));
    for (i, mut e) in out.axis_iter_mut(Axis(0)).enumerate() {
        let f = cache.get(i).mapv(f64::from);
        let mean = f.mean_axis(Axis(1)).unwrap_or_else(|| ndarray::Array1::zeros(rows)); // ok: cols ≥ 1
        e.slice_mut(ndarray::s![..rows]).assign(&mean);
        if pooling == Pooling::MeanStd {
            e.slice_mut(ndarray::s![rows..]).assign(&f.std_axis(Axis(1), 0.0));
        }
    }
    out
}

impl SystemDef for RawLogMel {
    fn name(&self) -> &'static str {
        "raw-logmel"
    }

    fn source(&self) -> &'static str {
        "training-free log-Mel statistics"
    }

    /// seed 004's log-Mel front end, KNN; no network.
    fn recipe(&self) -> Recipe {
        Recipe {
            features: FeatureSpec::new(FeatureKind::LogMel).with_preset(FrontendPreset::StgramMfn),
            model: None,
            train: TrainConfig::default(),
            loss: LossConfig::default(),
            scorers: vec![ScorerConfig::new(ScorerKind::Knn)],
        }
    }

    fn trains(&self) -> bool {
        false
    }

    /// Pooling works per row: two channels' stacked features pool into one embedding of twice the length.
    fn reads_two_channels(&self) -> bool {
        true
    }

    fn describe_input(&self, config: &RunConfig) -> Result<String> {
        Ok(format!("{} frames of a clip, pooled", config.features.kind.name()))
    }

    fn check(&self, config: &RunConfig) -> Result<()> {
        super::require_features(config, &[FeatureKind::LogMel, FeatureKind::HpfLogMel])?;
        if config.model.is_some() {
            return Err(Error::Setting {
                field: "model".into(),
                reason: "raw-logmel has no network: remove the [model] table".into(),
            });
        }
        Ok(())
    }

    fn build(&self, config: &RunConfig, _: &Device) -> Result<Box<dyn Network>> {
        Ok(Box::new(Pooled(config.pooling)))
    }
}

//! LogMel-MFN (Liu et al. 2022, seed 004 §3.3; stgram_mfn.md): MobileFaceNet on the 10-s log-Mel, Linear ("CEE")
//! head; seed 004's recipe ([`super::stgram_mfn::mfn_recipe`]).

use super::margin::{self, MarginNetwork};
use super::stgram_mfn::{check_image, frames, mfn_recipe, set_mfn_settings};
use super::{EmbedJob, Network, Recipe, SystemDef, TrainJob, model_config, model_table};
use crate::Result;
use crate::config::RunConfig;
use crate::paper::{LOGMEL_MFN_PAPER, PaperResults};
use asd_models::backbone::logmel_mfn::{LogMelMfn as Model, LogMelMfnConfig};
use asd_models::burn::tensor::Device;
use asd_train::{Clips, EpochLog};

/// The LogMel-MFN system.
pub(super) struct LogMelMfn;

fn fit(model: Model, job: &TrainJob<'_>) -> Result<(Model, Vec<EpochLog>)> {
    margin::fit(model, &Clips::new(&job.inputs[0], job.labels)?, job)
}

fn embed(model: &Model, job: &EmbedJob<'_>) -> Result<crate::scoring::ExampleOutputs> {
    let labels = job.labels_or_zeros();
    let clips = Clips::new(&job.inputs[0], &labels)?;
    margin::embed(model, &clips, 1, job)
}

impl SystemDef for LogMelMfn {
    fn name(&self) -> &'static str {
        "logmel-mfn"
    }

    fn source(&self) -> &'static str {
        "Liu et al., ICASSP 2022 (seed 004)"
    }

    fn recipe(&self) -> Recipe {
        mfn_recipe(model_table(self.name(), &LogMelMfnConfig::new()).unwrap_or_default())
    }

    fn paper(&self) -> Option<PaperResults> {
        Some(LOGMEL_MFN_PAPER)
    }

    fn describe_input(&self, config: &RunConfig) -> Result<String> {
        let c: LogMelMfnConfig = model_config(config)?;
        Ok(format!("log-Mel of a 10-s clip [{}, {}]", c.n_mels, c.frames))
    }

    fn check(&self, config: &RunConfig) -> Result<()> {
        let c: LogMelMfnConfig = model_config(config)?;
        c.check()?;
        check_image(config, c.n_mels, c.frames)
    }

    fn fit_clip_length(&self, config: &mut RunConfig) -> Result<()> {
        let c: LogMelMfnConfig = model_config(config)?;
        config.model = Some(model_table(self.name(), &c.with_frames(frames(config)?))?);
        Ok(())
    }

    /// A one-channel MobileFaceNet: log-Mel only.
    fn settings_from_weights(&self, config: &mut RunConfig, tensors: &[(String, Vec<usize>)]) -> Result<()> {
        set_mfn_settings(self, config, tensors, 1)
    }

    fn build(&self, config: &RunConfig, device: &Device) -> Result<Box<dyn Network>> {
        let model: Model = model_config::<LogMelMfnConfig>(config)?.init(device)?;
        Ok(MarginNetwork::new(model, Model::count, Model::layers, fit, embed)?.with_reference(Model::load_torch))
    }
}

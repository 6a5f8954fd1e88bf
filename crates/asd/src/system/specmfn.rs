//! SpecMFN (seed 000; asdnet_specmfn.md): SpecNet's Conv1d layers shape the spectrum of a 2-s segment into an
//! image for MobileFaceNet, ArcFace; seed 000's recipe ([`super::asdnet::segment_recipe`]).

use super::asdnet::{check_segments, embed_rows, fit_rows, segment_recipe, segments_per_clip, set_arcface_classes};
use super::margin::MarginNetwork;
use super::{Network, Recipe, SystemDef, model_config, model_table};
use crate::Result;
use crate::config::RunConfig;
use crate::paper::{PaperResults, SPECMFN_PAPER};
use asd_models::backbone::specmfn::{SpecMfn as Model, SpecMfnConfig};
use asd_models::burn::tensor::Device;

/// The SpecMFN system.
pub(super) struct SpecMfn;

impl SystemDef for SpecMfn {
    fn name(&self) -> &'static str {
        "specmfn"
    }

    fn source(&self) -> &'static str {
        "Kong et al., 2025 (seed 000)"
    }

    fn recipe(&self) -> Recipe {
        segment_recipe(model_table(self.name(), &SpecMfnConfig::new()).unwrap_or_default())
    }

    fn paper(&self) -> Option<PaperResults> {
        Some(SPECMFN_PAPER)
    }

    fn describe_input(&self, config: &RunConfig) -> Result<String> {
        let c: SpecMfnConfig = model_config(config)?;
        Ok(format!("spectrum of a 2-s segment [{}]", c.input_bins))
    }

    fn check(&self, config: &RunConfig) -> Result<()> {
        let c: SpecMfnConfig = model_config(config)?;
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
        let model: Model = model_config::<SpecMfnConfig>(config)?.init(device)?;
        Ok(
            MarginNetwork::new(model, Model::count, Model::layers, fit_rows, embed_rows)?
                .with_reference(Model::load_torch),
        )
    }
}

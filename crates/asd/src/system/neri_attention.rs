//! The attention + separable-convolution net of seed 001 (Neri & Carli 2024; neri_attention.md): the log-Mel and a
//! learned Wavegram weighted by an attention map, MobileFaceNet B, ArcFace (s 40, m 0.7), trained with
//! Noisy-ArcMix on raw waveforms.
//!
//! Mixup blends the **waveforms** (losses_arcmix.md §3 for this system): a training batch carries the waveforms
//! and the front end, and the log-Mel of the blended waveforms is computed after mixing ([`WaveBatch`]), as the
//! reference computes it inside its module. Embedding uses the cached log-Mel of each clip, which is the same
//! front end on the unmixed waveform.

use super::margin::{self, MarginNetwork};
use super::stgram_mfn::{check_wave_and_mel, describe_wave_and_mel, embed_wave_and_mel, frames, wave_and_mel_inputs};
use super::{EmbedJob, Network, NetworkMap, Recipe, SystemDef, TrainJob, model_config, model_table};
use crate::Result;
use crate::config::RunConfig;
use asd_features::{FeatureKind, FeatureSpec, Frontend, FrontendPreset};
use asd_losses::{LossConfig, MIXUP_ALPHA_NERI, Mix, Mixable, MixupLoss};
use asd_models::backbone::neri_attention::{NeriAttention as Model, NeriAttentionConfig};
use asd_models::backbone::stgram_mfn::StgramInput;
use asd_models::burn::tensor::{Device, Tensor, TensorData};
use asd_scorers::{ScorerConfig, ScorerKind};
use asd_train::{Clips, EpochLog, Examples, FeatureStore, OptimizerConfig, Paired, Rows, Schedule, TrainConfig};
use ndarray::{Array2, Array3};
use std::sync::Arc;

/// Epochs of the reference's training ([R-train] `--epochs 300`, neri_attention.md §10).
pub const NERI_EPOCHS: usize = 300;
/// Batch size ([R-train] `--batch_size 64`).
pub const NERI_BATCH_SIZE: usize = 64;
/// AdamW learning rate ([R-train] `--lr 1e-4`; weight decay 0.01, PyTorch's AdamW default).
pub const NERI_LR: f64 = 1e-4;

/// The attention-net system.
pub(super) struct NeriAttention;

/// A training batch: waveforms `[batch, samples]` and the front end that turns them into the log-Mel once mixup
/// has blended them.
pub struct WaveBatch {
    wave: Tensor<2>,
    frontend: Arc<dyn Frontend>,
}

impl Mixable for WaveBatch {
    fn batch_size(&self) -> usize {
        self.wave.batch_size()
    }

    /// Blends the waveforms only; the log-Mel is computed from the result.
    fn mix(self, mix: &Mix) -> Self {
        Self {
            wave: self.wave.mix(mix),
            frontend: self.frontend,
        }
    }
}

impl From<WaveBatch> for StgramInput {
    /// The (mixed) waveforms and their log-Mel, computed on the host by the run's front end.
    ///
    /// # Panics
    /// Only if the front end refuses waveforms of the length it was checked for at configuration time.
    fn from(batch: WaveBatch) -> Self {
        let device = batch.wave.device();
        let [n, samples] = batch.wave.dims();
        let host: Vec<f32> = batch
            .wave
            .clone()
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .expect("float32 data after the conversion"); // ok: `convert` made it float32
        let waves: Vec<&[f32]> = host.chunks_exact(samples.max(1)).collect();
        let mel = asd_features::extract_batch(batch.frontend.as_ref(), &waves)
            .expect("the configured front end accepts the configured clip length"); // ok: checked by `check`
        let (_, rows, cols) = mel.dim();
        let data: Vec<f32> = mel.into_iter().collect();
        debug_assert_eq!(data.len(), n * rows * cols);
        StgramInput {
            wave: batch.wave,
            mel: Tensor::from_data(TensorData::new(data, [n, rows, cols]), &device),
        }
    }
}

/// The training examples: each clip's waveform, batched with the front end ([`WaveBatch`]).
struct WaveExamples<'a> {
    waves: Rows<'a>,
    frontend: Arc<dyn Frontend>,
}

impl Examples for WaveExamples<'_> {
    type Input = WaveBatch;

    fn len(&self) -> usize {
        self.waves.len()
    }

    fn label(&self, i: usize) -> usize {
        self.waves.label(i)
    }

    fn batch(&self, indices: &[usize], device: &Device) -> asd_train::Result<WaveBatch> {
        Ok(WaveBatch {
            wave: self.waves.batch(indices, device)?,
            frontend: Arc::clone(&self.frontend),
        })
    }
}

fn fit(model: Model, job: &TrainJob<'_>) -> Result<(Model, Vec<EpochLog>)> {
    let frontend: Arc<dyn Frontend> = Arc::from(job.config.features.build()?);
    let examples = WaveExamples {
        waves: Rows::new(&job.inputs[1] as &dyn FeatureStore, job.labels)?,
        frontend,
    };
    margin::fit(model, &examples, job)
}

/// The Wavegram and the attention map on each of the two channels for the first clip of `job`
/// ([`Model::maps`]), each `[n_mels, frames]`.
fn maps(model: &Model, job: &EmbedJob<'_>) -> Result<Vec<NetworkMap>> {
    let labels = job.labels_or_zeros();
    let examples = Paired::new(
        Rows::new(&job.inputs[1], &labels)?,
        Clips::new(&job.inputs[0], &labels)?,
    )?;
    let maps = model.maps(StgramInput::from(examples.batch(&[0], job.device)?));
    let host = |t: Tensor<3>| -> Result<Array3<f32>> {
        let [c, rows, cols] = t.dims();
        let values = t
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .map_err(|e| crate::Error::Mismatch(format!("the attention net's maps cannot be read back: {e:?}")))?;
        Array3::from_shape_vec((c, rows, cols), values).map_err(|e| crate::Error::Mismatch(e.to_string()))
    };
    let wavegram = host(maps.wavegram)?;
    let attention = host(maps.attention.squeeze_dim::<3>(0))?;
    let channels = Some("Wavegram channel".to_string());
    let map = |name: &str, values: Array2<f32>, rows: &Option<String>, attention| NetworkMap {
        name: name.into(),
        values,
        rows: rows.clone(),
        attention,
    };
    Ok(vec![
        map(
            "Wavegram",
            wavegram.index_axis_move(ndarray::Axis(0), 0),
            &channels,
            false,
        ),
        map(
            "attention on the log-Mel",
            attention.index_axis(ndarray::Axis(0), 0).to_owned(),
            &None,
            true,
        ),
        map(
            "attention on the Wavegram",
            attention.index_axis(ndarray::Axis(0), 1).to_owned(),
            &channels,
            true,
        ),
    ])
}

impl SystemDef for NeriAttention {
    fn name(&self) -> &'static str {
        "neri-attention"
    }

    fn source(&self) -> &'static str {
        "Neri & Carli, IEEE Sensors Letters 2024 (seed 001)"
    }

    /// neri_attention.md §10: the log-Mel of the reference's torchaudio transform (HTK, Slaney norm), AdamW 1e-4
    /// (decay 0.01), cosine to 1e-5 over 300 epochs stepped per epoch, batches of 64, Noisy-ArcMix with
    /// λ ~ Beta(0.2, 0.2) on waveforms; scored by the class confidence with margin (PROB), then KNN, GMM and LOF.
    fn recipe(&self) -> Recipe {
        Recipe {
            features: FeatureSpec::new(FeatureKind::LogMel).with_preset(FrontendPreset::NeriAttention),
            model: Some(model_table(self.name(), &NeriAttentionConfig::new()).unwrap_or_default()),
            train: TrainConfig {
                epochs: NERI_EPOCHS,
                batch_size: NERI_BATCH_SIZE,
                optimizer: OptimizerConfig::adamw(NERI_LR),
                schedule: Schedule::Cosine {
                    t_max: NERI_EPOCHS,
                    eta_min: asd_train::COSINE_ETA_MIN,
                    start_epoch: 0,
                },
                ..TrainConfig::default()
            },
            loss: LossConfig::mixup(MIXUP_ALPHA_NERI, MixupLoss::NoisyArcMix),
            scorers: [ScorerKind::Prob, ScorerKind::Knn, ScorerKind::Gmm, ScorerKind::Lof]
                .map(ScorerConfig::new)
                .to_vec(),
        }
    }

    /// The reference reports one AUC over all clips of each machine type (neri_attention.md §11).
    fn paper_pool(&self) -> asd_metrics::Pool {
        asd_metrics::Pool::Type
    }

    /// The log-Mel (`config.features`), then the waveform `[1, samples]` of the same crop.
    fn inputs(&self, config: &RunConfig) -> Vec<FeatureSpec> {
        wave_and_mel_inputs(config)
    }

    fn describe_input(&self, config: &RunConfig) -> Result<String> {
        let c: NeriAttentionConfig = model_config(config)?;
        Ok(describe_wave_and_mel(c.samples, c.n_mels, c.frames))
    }

    fn check(&self, config: &RunConfig) -> Result<()> {
        let c: NeriAttentionConfig = model_config(config)?;
        c.check()?;
        check_wave_and_mel(config, [c.samples, c.n_mels, c.frames], "Wavegram")
    }

    fn fit_clip_length(&self, config: &mut RunConfig) -> Result<()> {
        let c: NeriAttentionConfig = model_config(config)?;
        let c = c.with_frames(frames(config)?).with_samples(config.clip_samples());
        config.model = Some(model_table(self.name(), &c)?);
        Ok(())
    }

    /// The class count from the rows of `arcface.weight` (the variant and the head are fixed by the paper).
    fn settings_from_weights(&self, config: &mut RunConfig, tensors: &[(String, Vec<usize>)]) -> Result<()> {
        super::asdnet::set_arcface_classes(self, config, tensors)
    }

    fn build(&self, config: &RunConfig, device: &Device) -> Result<Box<dyn Network>> {
        let model: Model = model_config::<NeriAttentionConfig>(config)?.init(device)?;
        Ok(
            MarginNetwork::new(model, Model::count, Model::layers, fit, embed_wave_and_mel)?
                .with_reference(Model::load_torch)
                .with_maps(maps),
        )
    }
}

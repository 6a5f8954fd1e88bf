//! The first-shot system's training examples and step (firstshot2025.md §6, §8.3). A training example is a
//! waveform: a normal training clip, a raw supplemental clip, or a clean supplemental clip that the step mixes with a
//! noise-only one into a simulated clip (§6.1). Per batch, in order: the simulation draws, then per item mixup on the
//! waveforms, the log-Mel of the result (the run's front end, computed on the host), StatEx on it, the network's
//! embedding, FeatEx on that; the loss is the main head's AdaCos on the mixup targets, plus the self-supervised head's
//! on the 9C expanded targets, plus the L2 term. Both heads' scales are state saved in checkpoints.

use asd_features::Frontend;
use asd_losses::adacos::AdaCosScale;
use asd_losses::ssl::SslDraws;
use asd_models::backbone::firstshot::FirstShot;
use asd_models::burn::tensor::{Device, Int, Tensor, TensorData};
use asd_train::{Batch, Examples, FeatureStore, StepOutput, TrainStep, check_labels};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

/// The signal-to-noise ratios of a simulated clip, dB, drawn uniformly ([Z25], firstshot2025.md §6.1).
pub const SIMULATION_SNR_DB: [f64; 4] = [5.0, 10.0, 15.0, 20.0];
/// The peak a simulated clip is scaled down to when it exceeds it (§6.1).
pub const SIMULATION_PEAK: f32 = 0.99;

/// One training example: a clip of the waveform store, its class, and whether the step simulates it (mixes noise
/// into it).
#[derive(Clone, Copy, Debug)]
pub(super) struct Item {
    /// The clip in the waveform store.
    pub clip: usize,
    /// Its class.
    pub label: usize,
    /// A clean supplemental clip to mix with noise (§6.1).
    pub simulate: bool,
}

/// A batch of waveforms on the host `[batch, samples]`, with the items to simulate.
#[derive(Clone, Debug)]
pub struct WaveBatch {
    samples: Vec<f32>,
    len: usize,
    simulate: Vec<bool>,
}

/// The training examples: [`Item`]s over a waveform store (the training clips, then the supplemental ones).
pub(super) struct WaveItems<'a> {
    pub waves: &'a dyn FeatureStore,
    pub items: Vec<Item>,
}

impl Examples for WaveItems<'_> {
    type Input = WaveBatch;

    fn len(&self) -> usize {
        self.items.len()
    }

    fn label(&self, i: usize) -> usize {
        self.items[i].label
    }

    fn batch(&self, indices: &[usize], _: &Device) -> asd_train::Result<WaveBatch> {
        if let Some(&index) = indices.iter().find(|&&i| i >= self.items.len()) {
            return Err(asd_train::Error::IndexOutOfRange {
                index,
                len: self.items.len(),
            });
        }
        let (_, len) = self.waves.feature_shape();
        let mut samples = Vec::with_capacity(indices.len() * len);
        for &i in indices {
            samples.extend(self.waves.clip(self.items[i].clip).iter());
        }
        Ok(WaveBatch {
            samples,
            len,
            simulate: indices.iter().map(|&i| self.items[i].simulate).collect(),
        })
    }
}

/// The training step (module docs).
pub(super) struct FirstShotStep<'a> {
    /// The run's front end (the high-pass log-Mel).
    pub frontend: Arc<dyn Frontend>,
    /// Classes C of the main head.
    pub n_classes: usize,
    /// Weight of the L2 term.
    pub l2: f64,
    /// The main head's scale.
    pub main: AdaCosScale,
    /// The self-supervised head's scale.
    pub ssl: AdaCosScale,
    /// The waveform store the noise clips are read from.
    pub waves: &'a dyn FeatureStore,
    /// The noise-only supplemental clips of the store (§6.1's pool).
    pub noise: Vec<usize>,
}

impl FirstShotStep<'_> {
    /// Mixes a noise clip of the pool into each item to simulate (§6.1): a uniform pool clip read from a uniform
    /// start offset (wrapping round), scaled to a uniform SNR of [`SIMULATION_SNR_DB`], the sum scaled down to
    /// [`SIMULATION_PEAK`] when it exceeds it.
    fn simulate(&self, batch: &mut WaveBatch, rng: &mut ChaCha8Rng) {
        let len = batch.len;
        if self.noise.is_empty() || len == 0 {
            return;
        }
        let power = |x: &[f32]| x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len() as f64;
        let simulated: Vec<usize> = (0..batch.simulate.len()).filter(|&b| batch.simulate[b]).collect();
        for b in simulated {
            let noise = self.waves.clip(self.noise[rng.random_range(0..self.noise.len())]);
            let offset = rng.random_range(0..len);
            let snr = SIMULATION_SNR_DB[rng.random_range(0..SIMULATION_SNR_DB.len())];
            let noise: Vec<f32> = noise.iter().cycle().skip(offset).take(len).copied().collect();
            let clip = &mut batch.samples[b * len..(b + 1) * len];
            let (p_clip, p_noise) = (power(clip), power(&noise));
            if p_noise == 0.0 {
                continue;
            }
            let gain = (p_clip / (p_noise * 10f64.powf(snr / 10.0))).sqrt() as f32;
            for (x, n) in clip.iter_mut().zip(&noise) {
                *x += gain * n;
            }
            let peak = clip.iter().fold(0.0_f32, |m, v| m.max(v.abs()));
            if peak > SIMULATION_PEAK {
                let scale = SIMULATION_PEAK / peak;
                clip.iter_mut().for_each(|x| *x *= scale);
            }
        }
    }

    /// The log-Mel `[batch, n_mels, frames]` of waveforms `[batch, samples]` by the run's front end.
    fn logmel(&self, wave: Tensor<2>) -> asd_train::Result<Tensor<3>> {
        let device = wave.device();
        let [_, len] = wave.dims();
        let host: Vec<f32> = wave
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .map_err(|e| asd_train::Error::Burn(format!("waveform readback: {e:?}")))?;
        let waves: Vec<&[f32]> = host.chunks_exact(len.max(1)).collect();
        let mel = asd_features::extract_batch(self.frontend.as_ref(), &waves)
            .map_err(|e| asd_train::Error::Burn(format!("the log-Mel of a training batch: {e}")))?;
        let (n, rows, cols) = mel.dim();
        Ok(Tensor::from_data(
            TensorData::new(mel.into_iter().collect(), [n, rows, cols]),
            &device,
        ))
    }

    /// One-hot rows `[batch, n_classes]` of `labels`.
    fn one_hot(&self, labels: &[usize]) -> Vec<f32> {
        let mut y = vec![0.0; labels.len() * self.n_classes];
        for (b, &label) in labels.iter().enumerate() {
            y[b * self.n_classes + label] = 1.0;
        }
        y
    }

    /// The predicted class of each row of the main head's cosines `[batch, C·K]`: `[batch, 1]`.
    fn predicted(&self, cos: Tensor<2>) -> Tensor<2, Int> {
        cos.argmax(1).div_scalar(self.main.n_subclusters as i64)
    }

    /// The waveforms of a batch as a tensor on `device`.
    fn waves(batch: WaveBatch, device: &Device) -> Tensor<2> {
        let n = batch.simulate.len();
        Tensor::from_data(TensorData::new(batch.samples, [n, batch.len]), device)
    }
}

impl TrainStep<FirstShot, WaveBatch> for FirstShotStep<'_> {
    fn step(
        &mut self,
        model: &FirstShot,
        batch: Batch<WaveBatch>,
        rng: &mut ChaCha8Rng,
    ) -> asd_train::Result<StepOutput> {
        check_labels(&batch.examples, &batch.label_values, self.n_classes)?;
        let Batch {
            mut input,
            labels,
            label_values,
            ..
        } = batch;
        self.simulate(&mut input, rng);
        let n = label_values.len();
        let draws = SslDraws::draw(n, rng);
        let device = labels.device();
        let mel = draws.statex(self.logmel(draws.mix(Self::waves(input, &device)))?);
        let embedding = model.embed(mel);
        let c = self.n_classes;
        let mixed = draws.mixup_targets(&self.one_hot(&label_values), c);
        let expanded = draws.featex_targets(&draws.statex_targets(&mixed, c), c);
        let cos = model.main.forward(embedding.clone());
        let predicted = self.predicted(cos.clone());
        let main = self.main.loss(cos, &mixed, true);
        let ssl = self
            .ssl
            .loss(model.ssl.forward(draws.featex(embedding)), &expanded, true);
        let l2 = model.backbone.weight_square_sum().mul_scalar(self.l2).reshape([1]);
        Ok(StepOutput {
            loss: main + ssl + l2,
            predicted: Some(predicted.reshape([n, 1])),
        })
    }

    /// The loss without augmentation (nothing simulated, mixed or exchanged) at the current scales.
    fn validation_loss(&self, model: &FirstShot, batch: Batch<WaveBatch>) -> asd_train::Result<Tensor<1>> {
        check_labels(&batch.examples, &batch.label_values, self.n_classes)?;
        let device = batch.labels.device();
        let mel = self.logmel(Self::waves(batch.input, &device))?;
        let embedding = model.embed(mel);
        let y = self.one_hot(&batch.label_values);
        // No draw: the expanded targets are [y, 0, …, 0].
        let n = batch.label_values.len();
        let none = SslDraws {
            mixup: vec![None; n],
            statex: vec![false; n],
            featex: vec![false; n],
        };
        let c = self.n_classes;
        let expanded = none.featex_targets(&none.statex_targets(&y, c), c);
        let main = self.main.clone().loss(model.main.forward(embedding.clone()), &y, false);
        let ssl = self.ssl.clone().loss(model.ssl.forward(embedding), &expanded, false);
        let l2 = model.backbone.weight_square_sum().mul_scalar(self.l2).reshape([1]);
        Ok(main + ssl + l2)
    }

    fn settings(&self) -> serde_json::Value {
        serde_json::json!({
            "loss": "adacos",
            "l2": self.l2,
            "dynamic_scale": self.main.dynamic,
            "n_subclusters": self.main.n_subclusters,
            "noise_clips": self.noise.len(),
        })
    }

    /// The two heads' scales.
    fn state(&self) -> serde_json::Value {
        serde_json::json!({ "main": self.main, "ssl": self.ssl })
    }

    fn load_state(&mut self, state: &serde_json::Value) -> Result<(), String> {
        let scale = |key: &str| -> Result<AdaCosScale, String> {
            serde_json::from_value(state.get(key).cloned().unwrap_or_default())
                .map_err(|e| format!("the {key} head's AdaCos scale: {e}"))
        };
        let (main, ssl) = (scale("main")?, scale("ssl")?);
        if (main.dynamic, main.n_subclusters) != (self.main.dynamic, self.main.n_subclusters) {
            return Err("the checkpoint's AdaCos heads have other settings".into());
        }
        self.main = main;
        self.ssl = ssl;
        Ok(())
    }
}

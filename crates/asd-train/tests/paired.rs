//! Two feature sources over the same clips (STgram-MFN's waveform + log-Mel): the pair is batched, mixed with one
//! draw, converted into the model's own input type, trained and embedded.

mod common;

use asd_losses::{MarginLossConfig, MarginStep, MixupLoss};
use asd_models::burn::module::Module;
use asd_models::burn::tensor::{Int, Tensor};
use asd_models::{Embedder, ModelOutput, burn};
use asd_train::{Clips, OptimizerConfig, Paired, Rows, Schedule, Session, TrainConfig, embed, train};
use common::{TinyBn, data, test_device};

/// A model input struct like `StgramInput`: a waveform and an image of the same clips.
#[derive(Clone, Debug)]
struct WaveAndImage {
    wave: Tensor<2>,
    image: Tensor<3>,
}

impl From<(Tensor<2>, Tensor<3>)> for WaveAndImage {
    fn from((wave, image): (Tensor<2>, Tensor<3>)) -> Self {
        Self { wave, image }
    }
}

/// Concatenates the waveform and the flattened image, then [`TinyBn`].
#[derive(Module, Debug)]
struct Fused {
    inner: TinyBn,
}

impl Embedder for Fused {
    type Input = WaveAndImage;

    fn forward(&self, input: WaveAndImage) -> ModelOutput {
        let flat: Tensor<2> = input.image.flatten(1, 2);
        self.inner.forward(Tensor::cat(vec![input.wave, flat], 1))
    }

    fn margin_logits(&self, logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<2> {
        self.inner.margin_logits(logits, labels)
    }
}

/// Criterion: a `Paired(Rows over [1, 4] waveforms, Clips over [2, 4] images)` source trains a model whose input is
/// its own struct (via `From`), with mixup on both parts; extraction gives one row per clip.
#[test]
fn paired_sources_train_a_model_with_its_own_input_type() {
    let device = test_device();
    let (waves, labels) = data(12, 1, 4, 3, 7);
    let (images, image_labels) = data(12, 2, 4, 3, 8);
    assert_eq!(labels, image_labels);
    let source = Paired::new(
        Rows::new(&waves, &labels).unwrap(),
        Clips::new(&images, &labels).unwrap(),
    )
    .unwrap();
    let model = Fused {
        inner: asd_models::init::seeded(&device, 2, |d| asd_models::init::draw_now(TinyBn::new(4 + 8, 4, 3, d))),
    };
    let config = TrainConfig {
        epochs: 3,
        batch_size: 4,
        optimizer: OptimizerConfig::adam(1e-2),
        schedule: Schedule::Constant {},
        ..TrainConfig::default()
    };
    let mut step = MarginStep::new(MarginLossConfig::mixup(0.5, MixupLoss::NoisyArcMix));
    let trained = train(model, &source, &mut step, &config, &device, &Session::new()).unwrap();
    assert_eq!(trained.history.len(), 3);
    assert!(trained.history.iter().all(|l| l.loss.is_finite()));
    let out = embed(
        &trained.model,
        &source,
        5,
        &device,
        Some(&|m: &Fused, z, y| asd_losses::anomaly_score(m, z, y)),
        &|_, _| {},
    )
    .unwrap();
    assert_eq!((out.embeddings.dim(), out.logits.dim()), ((12, 4), (12, 3)));
}

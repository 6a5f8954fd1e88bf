//! The system-owned training step: random draws inside the step, step state, EMA weights and a validation split
//! all survive a cancellation in the middle of an epoch — the resumed run ends with the same weights, EMA,
//! selected epoch, log and step state as an uninterrupted one.

mod common;

use asd_losses::{MarginLossConfig, MarginStep, MixupLoss};
use asd_models::burn::tensor::{Device, Tensor};
use asd_models::init::{draw_now, seeded};
use asd_train::{
    Batch, EmaConfig, Error, ModelSelection, Observer, OptimizerConfig, Rows, Schedule, Session, StepOutput,
    TrainConfig, TrainEvent, TrainStep, Trained, ValidationConfig, train,
};
use common::{TinyBn, data, tensors, test_device};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use std::cell::Cell;
use std::path::Path;

const CLASSES: usize = 3;

/// A step with state and its own random draw: each step draws u ~ U(0, 1) from the trainer's generator, moves its
/// gain towards 0.5 + u, and scales the batch's input by the gain before the margin loss (with mixup, whose draws
/// come from the same generator). A resumed run that lost the gain or the generator's position would diverge.
struct GainStep {
    inner: MarginStep,
    gain: f64,
}

impl GainStep {
    fn new() -> Self {
        Self {
            inner: MarginStep::new(MarginLossConfig::mixup(0.5, MixupLoss::ArcMix)),
            gain: 1.0,
        }
    }
}

impl TrainStep<TinyBn, Tensor<2>> for GainStep {
    fn step(&mut self, model: &TinyBn, batch: Batch<Tensor<2>>, rng: &mut ChaCha8Rng) -> asd_train::Result<StepOutput> {
        let u: f64 = rng.random();
        self.gain = 0.5 * self.gain + 0.5 * (0.5 + u);
        let gain = self.gain;
        self.inner.step(model, batch.map(|x| x.mul_scalar(gain)), rng)
    }

    fn validation_loss(&self, model: &TinyBn, batch: Batch<Tensor<2>>) -> asd_train::Result<Tensor<1>> {
        let gain = self.gain;
        TrainStep::<TinyBn, Tensor<2>>::validation_loss(&self.inner, model, batch.map(|x| x.mul_scalar(gain)))
    }

    fn settings(&self) -> serde_json::Value {
        serde_json::json!({ "gain": TrainStep::<TinyBn, Tensor<2>>::settings(&self.inner) })
    }

    fn state(&self) -> serde_json::Value {
        serde_json::json!(self.gain)
    }

    fn load_state(&mut self, state: &serde_json::Value) -> Result<(), String> {
        self.gain = state
            .as_f64()
            .ok_or_else(|| format!("expected a number, got {state}"))?;
        Ok(())
    }
}

/// Asks to stop once `after` steps have been taken.
struct StopAfter {
    after: usize,
    steps: Cell<usize>,
}

impl Observer for StopAfter {
    fn event(&self, event: TrainEvent) {
        if let TrainEvent::Step { .. } = event {
            self.steps.set(self.steps.get() + 1);
        }
    }

    fn cancelled(&self) -> bool {
        self.steps.get() >= self.after
    }
}

/// 3 epochs of batches of 4 (6 steps) over 21 of the 24 examples (a sixth of each class's 8, rounded: one, held
/// out), EMA 0.9 with the online model shrunk by 1e-3 per step (OS-SCL's kind of EMA), the epoch of the lowest
/// validation loss returned.
fn config(ema: bool) -> TrainConfig {
    TrainConfig {
        epochs: 3,
        batch_size: 4,
        seed: 5,
        optimizer: OptimizerConfig::adamw(1e-2),
        schedule: Schedule::Constant {},
        ema: ema.then_some(EmaConfig {
            decay: 0.9,
            online_decay: 1e-3,
        }),
        validation: Some(ValidationConfig {
            fraction: 1.0 / 6.0,
            select: ModelSelection::BestLoss,
        }),
        ..TrainConfig::default()
    }
}

/// The model's initial weights from `seed` (each test uses its own seed).
fn model(seed: u64, device: &Device) -> TinyBn {
    seeded(device, seed, |d| draw_now(TinyBn::new(12, 4, CLASSES, d)))
}

fn fit(
    seed: u64,
    step: &mut GainStep,
    config: &TrainConfig,
    dir: Option<&Path>,
    resume: bool,
    observer: &dyn Observer,
) -> Result<Trained<TinyBn>, Error> {
    let device = test_device();
    let (features, labels) = data(12, 2, 12, CLASSES, 4);
    let examples = Rows::new(&features, &labels)?; // 24 examples
    let session = Session {
        run_dir: dir,
        resume,
        observer,
    };
    train(model(seed, &device), &examples, step, config, &device, &session)
}

type Log = Vec<(usize, f64, f64, f64, Option<f64>)>;

fn log(trained: &Trained<TinyBn>) -> Log {
    trained
        .history
        .iter()
        .map(|l| (l.epoch, l.lr, l.loss, l.accuracy, l.val_loss))
        .collect()
}

/// Criterion (issue: exact resume covers EMA, head state and RNG draws): cancelling after step 7 (the first step of
/// epoch 1, of 6 steps per epoch) writes a checkpoint and returns `Cancelled`; resuming gives bit-identical weights (the
/// selected EMA model), the same selected epoch, log and step state as the uninterrupted run.
#[test]
fn a_run_cancelled_mid_epoch_resumes_exactly() {
    let whole_dir = tempfile::tempdir().unwrap();
    let mut whole_step = GainStep::new();
    let whole = fit(3, &mut whole_step, &config(true), Some(whole_dir.path()), false, &()).unwrap();
    assert_eq!(whole.history.len(), 3);
    assert!(whole.history.iter().all(|l| l.val_loss.is_some_and(f64::is_finite)));
    let best = (0..3)
        .min_by(|&a, &b| {
            whole.history[a]
                .val_loss
                .unwrap()
                .total_cmp(&whole.history[b].val_loss.unwrap())
        })
        .unwrap();
    assert_eq!(whole.epoch, best, "the epoch of the lowest validation loss is returned");

    let split_dir = tempfile::tempdir().unwrap();
    let stop = StopAfter {
        after: 7,
        steps: Cell::new(0),
    };
    let mut first_step = GainStep::new();
    let err = fit(3, &mut first_step, &config(true), Some(split_dir.path()), false, &stop).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Cancelled {
                checkpoint: Some(_),
                epoch: 1,
                step: 1
            }
        ),
        "{err}"
    );
    let mut resumed_step = GainStep::new();
    let resumed = fit(3, &mut resumed_step, &config(true), Some(split_dir.path()), true, &()).unwrap();

    assert_eq!(log(&whole), log(&resumed));
    assert_eq!(whole.epoch, resumed.epoch);
    assert_eq!(
        tensors(&whole.model),
        tensors(&resumed.model),
        "weights differ after resume"
    );
    assert_eq!(whole_step.gain.to_bits(), resumed_step.gain.to_bits(), "step state");
    assert_ne!(whole_step.gain, 1.0, "the step's state changed during training");

    // The EMA is what is returned: without it the same run ends elsewhere.
    let plain = fit(3, &mut GainStep::new(), &config(false), None, false, &()).unwrap();
    assert_ne!(tensors(&plain.model), tensors(&whole.model));
}

/// Criterion: a resumed run must have the step's settings. (Runs beside the test above: the models' weights are
/// drawn inside `seeded`, so two trainings at once in one process do not disturb each other.)
#[test]
fn resume_refuses_other_step_settings() {
    let dir = tempfile::tempdir().unwrap();
    let mut one_epoch = config(false);
    one_epoch.epochs = 1;
    fit(7, &mut GainStep::new(), &one_epoch, Some(dir.path()), false, &()).unwrap();
    let mut other = GainStep::new();
    other.inner = MarginStep::new(MarginLossConfig::mixup(0.2, MixupLoss::ArcMix));
    let err = fit(7, &mut other, &config(false), Some(dir.path()), true, &()).unwrap_err();
    assert!(matches!(err, Error::CheckpointMismatch { .. }), "{err}");
}

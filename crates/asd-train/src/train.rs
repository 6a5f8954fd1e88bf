//! The training loop: seeded shuffling, the system's [`TrainStep`], Adam/AdamW steps, EMA, a validation split,
//! per-epoch checkpoints, log, cancellation and resume. It knows no loss, head or system.

use crate::checkpoint::{
    CHECKPOINT_DIR, Checkpoint, CheckpointInfo, EpochPosition, FINAL_CHECKPOINT, FORMAT_VERSION, LATEST_CHECKPOINT,
    Records, checkpoint_path, write_atomic,
};
use crate::config::{ModelSelection, TrainConfig};
use crate::error::{Error, Result};
use crate::examples::Examples;
use crate::step::{Batch, TrainStep};
use asd_models::burn::module::Module;
use asd_models::burn::optim::GradientsParams;
use asd_models::burn::store::ModuleRecord;
use asd_models::burn::tensor::{Bytes, Device, Int, Tensor, TensorData};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// File name of the per-epoch log inside a run directory.
pub const TRAIN_LOG: &str = "train_log.csv";
/// Header line of [`TRAIN_LOG`].
const LOG_HEADER: &str = "epoch,lr,loss,accuracy,seconds,val_loss";

/// What one epoch did: a line of `train_log.csv`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpochLog {
    /// 0-based epoch.
    pub epoch: usize,
    /// Learning rate of the epoch.
    pub lr: f64,
    /// Mean training loss over the epoch's examples (each batch's mean loss weighted by its size), in nats.
    pub loss: f64,
    /// Training accuracy in [0, 1]: the fraction of examples whose predicted class ([`StepOutput::predicted`](
    /// crate::StepOutput), e.g. the argmax of the margin-free logits) is the example's own label, computed on the
    /// (mixed, when mixup is on) training batches in training mode; NaN when the step predicts no class (written as
    /// `null` in a checkpoint's JSON, read back as NaN).
    #[serde(deserialize_with = "nan_when_null")]
    pub accuracy: f64,
    /// Wall-clock time of the epoch's batches in seconds (without validation and the checkpoint).
    pub seconds: f64,
    /// Mean validation loss after the epoch (evaluation mode; the EMA model when there is one), in nats; `None`
    /// without a validation split.
    #[serde(default)]
    pub val_loss: Option<f64>,
}

/// A number that JSON stores as `null` when it is NaN (serde_json writes NaN so).
fn nan_when_null<'de, D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::NAN))
}

impl EpochLog {
    /// The CSV line (no newline), in the order of the header `epoch,lr,loss,accuracy,seconds,val_loss` (the last
    /// field empty without validation).
    fn csv_line(&self) -> String {
        format!(
            "{},{},{},{},{:.3},{}",
            self.epoch,
            self.lr,
            self.loss,
            self.accuracy,
            self.seconds,
            self.val_loss.map_or_else(String::new, |v| v.to_string())
        )
    }
}

/// Progress of [`train`], for a caller that shows it (the library prints nothing).
#[derive(Clone, Debug, PartialEq)]
pub enum TrainEvent {
    /// Training continues from a checkpoint after `epochs_done` completed epochs.
    Resumed {
        /// Epochs already completed.
        epochs_done: usize,
    },
    /// An epoch begins.
    EpochStart {
        /// 0-based epoch.
        epoch: usize,
        /// Total epochs of the run.
        epochs: usize,
        /// Its learning rate.
        lr: f64,
        /// Optimiser steps (batches) in the epoch.
        steps: usize,
    },
    /// One optimiser step was taken.
    Step {
        /// 0-based epoch.
        epoch: usize,
        /// 1-based step within the epoch.
        step: usize,
        /// Steps in the epoch.
        steps: usize,
        /// The batch's mean loss (nats).
        loss: f64,
    },
    /// An epoch ended (after its checkpoint was written).
    EpochEnd(EpochLog),
    /// A checkpoint was written.
    Checkpoint {
        /// The file.
        path: PathBuf,
    },
}

/// Watches a training run: receives its [`TrainEvent`]s and may ask it to stop.
///
/// Any `Fn(TrainEvent)` closure is an observer that never cancels; `()` ignores everything.
pub trait Observer {
    /// One event of the run.
    fn event(&self, event: TrainEvent);

    /// Polled after every optimiser step: `true` makes the run finish the step, write a checkpoint (with a run
    /// directory) and return [`Error::Cancelled`]. Default `false`.
    fn cancelled(&self) -> bool {
        false
    }
}

impl<F: Fn(TrainEvent)> Observer for F {
    fn event(&self, event: TrainEvent) {
        self(event);
    }
}

impl Observer for () {
    fn event(&self, _: TrainEvent) {}
}

/// Where a training run keeps its files, whether it resumes, and who watches it.
#[derive(Clone, Copy)]
pub struct Session<'a> {
    /// Run directory for checkpoints and `train_log.csv`; `None` keeps nothing on disk.
    pub run_dir: Option<&'a Path>,
    /// Continue from `run_dir/checkpoints/latest.ckpt` instead of starting over.
    pub resume: bool,
    /// Receives the events and is polled for cancellation.
    pub observer: &'a dyn Observer,
}

impl std::fmt::Debug for Session<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("run_dir", &self.run_dir)
            .field("resume", &self.resume)
            .finish_non_exhaustive()
    }
}

impl Default for Session<'_> {
    fn default() -> Self {
        Self {
            run_dir: None,
            resume: false,
            observer: &(),
        }
    }
}

impl<'a> Session<'a> {
    /// Nothing on disk, no resume, no observer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checkpoints and the log in `dir`.
    pub fn with_run_dir(self, dir: &'a Path) -> Self {
        Self {
            run_dir: Some(dir),
            ..self
        }
    }

    /// Resume (`true`) or start over.
    pub fn with_resume(self, resume: bool) -> Self {
        Self { resume, ..self }
    }

    /// Events to `observer`.
    pub fn with_observer(self, observer: &'a dyn Observer) -> Self {
        Self { observer, ..self }
    }
}

/// A trained model and its training log.
#[derive(Debug)]
pub struct Trained<M> {
    /// The selected model ([`TrainConfig::validation`]: the last epoch's by default; the EMA weights when there
    /// is an EMA), in evaluation mode (no autodiff; BatchNorm on running statistics), on the device given to
    /// [`train`].
    pub model: M,
    /// The 0-based epoch whose model this is.
    pub epoch: usize,
    /// One entry per epoch of the whole run (resumed runs included), in order.
    pub history: Vec<EpochLog>,
}

/// The generator of 0-based `epoch` (shuffling, then the step's draws): `ChaCha8Rng` seeded with `seed`, on
/// stream `epoch`.
///
/// Deriving each epoch's generator from `(seed, epoch)` makes a resumed run draw exactly what an uninterrupted
/// one would.
fn epoch_rng(seed: u64, epoch: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(epoch as u64);
    rng
}

/// Stream of the validation split's generator (above every epoch's stream).
const VALIDATION_STREAM: u64 = u64::MAX;

/// Values of a tensor read back to the host as `T`.
pub(crate) fn host<const D: usize, K: asd_models::burn::tensor::kind::Basic, T: asd_models::burn::tensor::Element>(
    tensor: Tensor<D, K>,
) -> Result<Vec<T>> {
    let data = tensor.try_into_data().map_err(|e| Error::Burn(format!("{e:?}")))?;
    data.try_into_vec_as::<T>().map_err(|e| Error::Burn(format!("{e:?}")))
}

/// The batch of the examples `indices` on `device`: input, labels as a tensor and on the host.
pub(crate) fn make_batch<E: Examples + ?Sized>(
    examples: &E,
    indices: &[usize],
    device: &Device,
) -> Result<Batch<E::Input>> {
    let input = examples.batch(indices, device)?;
    let label_values: Vec<usize> = indices.iter().map(|&i| examples.label(i)).collect();
    let values: Vec<i64> = label_values.iter().map(|&l| l as i64).collect();
    let labels = Tensor::<1, Int>::from_data(TensorData::new(values, [indices.len()]), device);
    Ok(Batch {
        input,
        labels,
        label_values,
        examples: indices.to_vec(),
    })
}

/// The examples trained on and those held out for validation (stratified by label, see
/// [`ValidationConfig`](crate::ValidationConfig)), each in ascending order.
fn split_examples(labels: &[usize], config: &TrainConfig) -> (Vec<usize>, Vec<usize>) {
    let n = labels.len();
    let held = validation_split(labels, config);
    let mut is_held = vec![false; n];
    for &i in &held {
        is_held[i] = true;
    }
    ((0..n).filter(|&i| !is_held[i]).collect(), held)
}

/// The examples [`train`] holds out for validation when `config` has a [`ValidationConfig`](crate::ValidationConfig)
/// (ascending; empty without one), given the label of each example in the order the data source lists them: a
/// seeded, stratified draw, so that the held-out examples can be told after training (the facade calibrates
/// decision thresholds on them, which the network never trained on).
pub fn validation_split(labels: &[usize], config: &TrainConfig) -> Vec<usize> {
    let Some(validation) = &config.validation else {
        return Vec::new();
    };
    let mut by_label: std::collections::BTreeMap<usize, Vec<usize>> = std::collections::BTreeMap::new();
    for (i, &label) in labels.iter().enumerate() {
        by_label.entry(label).or_default().push(i);
    }
    let mut rng = epoch_rng(config.seed, 0);
    rng.set_stream(VALIDATION_STREAM);
    let mut held = Vec::new();
    for members in by_label.values_mut() {
        if members.len() < 2 {
            continue;
        }
        members.shuffle(&mut rng);
        let k = ((members.len() as f64 * validation.fraction).round() as usize).clamp(1, members.len() - 1);
        held.extend_from_slice(&members[..k]);
    }
    held.sort_unstable();
    held
}

/// Mean loss of `step.validation_loss` over `indices` in batches of `batch_size` (each batch weighted by its size).
fn validation_loss<M, E, S>(
    model: &M,
    step: &S,
    examples: &E,
    indices: &[usize],
    batch_size: usize,
    device: &Device,
) -> Result<f64>
where
    E: Examples + ?Sized,
    S: TrainStep<M, E::Input>,
{
    let mut sum = 0.0;
    for chunk in indices.chunks(batch_size.max(1)) {
        let loss = step.validation_loss(model, make_batch(examples, chunk, device)?)?;
        sum += host::<1, _, f64>(loss)?.first().copied().unwrap_or(f64::NAN) * chunk.len() as f64;
    }
    Ok(sum / indices.len().max(1) as f64)
}

/// A module's weights (and BatchNorm statistics) as record bytes.
fn record_bytes<M: Module>(model: M, what: &str) -> Result<Vec<u8>> {
    model
        .into_record()
        .into_bytes()
        .map(|bytes| bytes.to_vec())
        .map_err(|e| Error::Burn(format!("{what} record: {e}")))
}

/// `skeleton` with the weights of the record `bytes` (saved by [`record_bytes`]).
fn load_record<M: Module>(skeleton: M, bytes: Vec<u8>, path: &Path, what: &str) -> Result<M> {
    let mismatch = |reason: String| Error::CheckpointMismatch {
        path: path.to_path_buf(),
        reason,
    };
    let record =
        ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes)).map_err(|e| mismatch(format!("{what} record: {e}")))?;
    skeleton
        .try_load_record(record)
        .map_err(|e| mismatch(format!("{what}: {e}")))
}

/// What a run has done that a checkpoint keeps besides the online model and the optimiser.
struct Done<M> {
    /// The EMA model, with an EMA.
    ema: Option<M>,
    /// The epoch and model kept by validation-loss selection so far.
    best: Option<(usize, M)>,
    /// One entry per completed epoch.
    history: Vec<EpochLog>,
    /// Optimiser steps taken.
    steps_done: u64,
}

impl<M: Module> Done<M> {
    /// The model evaluation uses: the EMA model with an EMA, else the online `model`, as an independent copy.
    fn evaluated(&self, model: &M) -> M {
        self.ema.as_ref().unwrap_or(model).valid()
    }
}

/// Sums of an epoch's steps.
#[derive(Clone, Copy, Debug, Default)]
struct Tally {
    loss_sum: f64,
    correct: usize,
    seen: usize,
    /// Steps whose output predicted no class.
    without_predictions: usize,
}

/// Trains `model` on `examples` with the system's `step` as `config` says, and returns the selected model in
/// evaluation mode with its log.
///
/// Before the first epoch, a [`validation`](TrainConfig::validation) split (if any) is drawn per class from the
/// generator `(config.seed, stream u64::MAX)`. Each epoch e (0-based) uses the learning rate
/// [`TrainConfig::learning_rate`]`(e)`, shuffles the training examples with the epoch's generator (`ChaCha8Rng`, seed
/// `config.seed`, stream e), cuts them into batches of `config.batch_size` ([`TrainConfig::epoch_batches`]: the last
/// partial one dropped with `drop_last`; with `batch_by_class`, one class per batch, the batches shuffled) and, per
/// batch: reads the inputs and labels, asks `step` for the loss in training mode (autodiff on
/// `device`; BatchNorm on batch statistics) handing it the same generator for its draws (mixup, noise), takes one
/// Adam / AdamW step, and updates the [EMA](TrainConfig::ema) if there is one. After the epoch the validation loss
/// is computed in evaluation mode (on the EMA model when there is one).
///
/// With a run directory (`session.run_dir`), every epoch ends by writing `run_dir/checkpoints/latest.ckpt`
/// (models, optimiser state, step state, position; see [`crate::checkpoint`]) atomically and appending a line to
/// `run_dir/train_log.csv` (`epoch,lr,loss,accuracy,seconds,val_loss`); the last epoch also writes
/// `checkpoints/final.ckpt`; with [`TrainConfig::snapshot_every`], every that many epochs the model is also saved as
/// a snapshot. A fresh run starts a new log and removes old checkpoints and snapshots. With `session.resume`,
/// training continues from `latest.ckpt` (weights, EMA, optimiser moments, step state, epoch and, for a checkpoint
/// written on cancellation, the position inside the epoch) and reaches the same weights as an uninterrupted run; the
/// log is rewritten from the checkpoint's history and appended to. `config.epochs` may be larger than in the
/// resumed run (to train longer); every other setting, and the step's settings, must be the same.
///
/// After every step `session.observer` is asked whether to stop: if so, the run writes `latest.ckpt` at that
/// point (with a run directory) and returns [`Error::Cancelled`]; `resume` then continues exactly.
///
/// `model` holds the initial weights (any device, evaluation or training mode); when resuming, it only supplies
/// the architecture and its weights are replaced by the checkpoint's.
///
/// # Errors
/// - [`Error::Config`] for an invalid `config`; [`Error::NoBatches`] when there is no batch to train on;
/// - [`Error::IndexOutOfRange`] from the data, and whatever the step returns (e.g. [`Error::LabelOutOfRange`]);
/// - [`Error::NonFiniteLoss`] when the loss becomes NaN or infinite;
/// - [`Error::NoCheckpoint`] when resuming without a run directory or checkpoint, [`Error::CorruptCheckpoint`] for
///   a damaged one, [`Error::CheckpointMismatch`] for one of another model, data size or settings;
/// - [`Error::Cancelled`] when the observer asked to stop;
/// - [`Error::Io`] naming a file or folder that cannot be written; [`Error::Burn`] if Burn cannot read a result
///   back or encode the model or optimiser state.
///
/// # Panics
/// If the inputs do not have the shape the model was configured for (a programming error, as in Burn).
pub fn train<M, E, S>(
    model: M,
    examples: &E,
    step: &mut S,
    config: &TrainConfig,
    device: &Device,
    session: &Session<'_>,
) -> Result<Trained<M>>
where
    M: Module,
    E: Examples + ?Sized,
    S: TrainStep<M, E::Input>,
{
    config.check()?;
    let labels: Vec<usize> = (0..examples.len()).map(|i| examples.label(i)).collect();
    let (train_set, valid_set) = split_examples(&labels, config);
    let n = examples.len();
    let steps = config
        .epoch_batches(&train_set, &labels, &mut epoch_rng(config.seed, 0))
        .len();
    if steps == 0 {
        return Err(Error::NoBatches {
            examples: train_set.len(),
            batch_size: config.batch_size,
            drop_last: config.drop_last,
        });
    }
    let (run_dir, observer) = (session.run_dir, session.observer);
    let train_device = device.clone().autodiff();
    let eval_device = device.clone().without_autodiff();
    let mut model = model.valid().to_device(&eval_device);
    // `valid` gives copies with their own BatchNorm statistics (a clone would share them).
    let mut done = Done {
        ema: config.ema.as_ref().map(|_| model.valid()),
        best: None,
        history: Vec::new(),
        steps_done: 0,
    };
    let mut optimizer = config.optimizer.build();
    let mut position: Option<EpochPosition> = None;

    if let Some(dir) = run_dir {
        let checkpoints = dir.join(CHECKPOINT_DIR);
        fs::create_dir_all(&checkpoints).map_err(Error::io(&checkpoints))?;
    }
    match (run_dir, session.resume) {
        (None, true) => {
            return Err(Error::NoCheckpoint {
                path: PathBuf::new(),
                reason: "resuming needs a run directory".into(),
            });
        }
        (Some(dir), true) => {
            let path = checkpoint_path(dir, LATEST_CHECKPOINT);
            let Checkpoint { info, records } = Checkpoint::read(&path)?;
            check_compatible(&path, &info, config, n, &step.settings())?;
            let mismatch = |reason: String| Error::CheckpointMismatch {
                path: path.clone(),
                reason,
            };
            if done.ema.is_some() {
                done.ema = Some(load_record(model.valid(), records.ema, &path, "EMA model")?);
            }
            if let Some(epoch) = info.best_epoch {
                done.best = Some((
                    epoch,
                    load_record(model.valid(), records.best, &path, "selected model")?,
                ));
            }
            model = load_record(model, records.model, &path, "model")?;
            optimizer = optimizer
                .from_bytes(Bytes::from_bytes_vec(records.optimizer))
                .map_err(|e| mismatch(format!("optimiser state: {e}")))?;
            step.load_state(&info.step_state)
                .map_err(|e| mismatch(format!("training step state: {e}")))?;
            done.history = info.history;
            done.steps_done = info.steps_done;
            position = info.position;
            rewrite_log(dir, &done.history)?;
            observer.event(TrainEvent::Resumed {
                epochs_done: info.epochs_done,
            });
        }
        (Some(dir), false) => {
            for name in [LATEST_CHECKPOINT, FINAL_CHECKPOINT] {
                let path = checkpoint_path(dir, name);
                match fs::remove_file(&path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(Error::io(&path)(e)),
                    _ => {}
                }
            }
            rewrite_log(dir, &done.history)?;
            let snapshots = dir.join(crate::config::SNAPSHOT_DIR);
            match fs::remove_dir_all(&snapshots) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(Error::io(&snapshots)(e)),
                _ => {}
            }
        }
        (None, false) => {}
    }

    let mut model = model.train().fork(&train_device);
    // Everything a checkpoint needs besides the models.
    let checkpoint = |model: &M,
                      optimizer: &asd_models::burn::optim::ModuleOptimizer,
                      done: &Done<M>,
                      step: &S,
                      position: Option<EpochPosition>,
                      names: &[&str]|
     -> Result<PathBuf> {
        let Some(dir) = run_dir else {
            return Ok(PathBuf::new());
        };
        let epochs_done = done.history.len();
        let info = CheckpointInfo {
            format: FORMAT_VERSION,
            epochs_done,
            rng_seed: config.seed,
            rng_stream: epochs_done as u64,
            steps_done: done.steps_done,
            examples: n,
            config: config.clone(),
            history: done.history.clone(),
            step_settings: step.settings(),
            step_state: step.state(),
            position,
            best_epoch: done.best.as_ref().map(|b| b.0),
        };
        let records = Records {
            model: record_bytes(model.valid(), "model")?,
            optimizer: optimizer
                .into_bytes()
                .map(|bytes| bytes.to_vec())
                .map_err(|e| Error::Burn(format!("optimiser record: {e}")))?,
            ema: done
                .ema
                .as_ref()
                .map_or(Ok(Vec::new()), |m| record_bytes(m.valid(), "EMA model"))?,
            best: done
                .best
                .as_ref()
                .map_or(Ok(Vec::new()), |b| record_bytes(b.1.valid(), "selected model"))?,
        };
        let mut last = PathBuf::new();
        for name in names {
            last = checkpoint_path(dir, name);
            Checkpoint::write(&last, &info, &records)?;
            observer.event(TrainEvent::Checkpoint { path: last.clone() });
        }
        Ok(last)
    };

    for epoch in done.history.len()..config.epochs {
        let resumed = position.take();
        let started = Instant::now();
        let lr = config.learning_rate(epoch);
        observer.event(TrainEvent::EpochStart {
            epoch,
            epochs: config.epochs,
            lr,
            steps,
        });
        let mut rng = epoch_rng(config.seed, epoch);
        let mut order = train_set.clone();
        order.shuffle(&mut rng);
        let batches = config.epoch_batches(&order, &labels, &mut rng);
        let (mut tally, first_step, earlier_seconds) = match &resumed {
            Some(p) => {
                rng.set_word_pos((u128::from(p.rng_word_pos[0]) << 64) | u128::from(p.rng_word_pos[1]));
                let tally = Tally {
                    loss_sum: p.loss_sum,
                    correct: p.correct,
                    seen: p.seen,
                    without_predictions: 0,
                };
                (tally, p.steps, p.seconds)
            }
            None => (Tally::default(), 0, 0.0),
        };
        for (step_index, indices) in batches.iter().enumerate().skip(first_step) {
            let batch = make_batch(examples, indices, &train_device)?;
            let labels = batch.label_values.clone();
            let out = step.step(&model, batch, &mut rng)?;
            let loss_value = host::<1, _, f64>(out.loss.clone())?
                .first()
                .copied()
                .unwrap_or(f64::NAN);
            if !loss_value.is_finite() {
                return Err(Error::NonFiniteLoss {
                    epoch,
                    step: step_index,
                    loss: loss_value,
                });
            }
            match out.predicted {
                Some(predicted) => {
                    let predicted: Vec<i64> = host(predicted)?;
                    tally.correct += predicted.iter().zip(&labels).filter(|&(&p, &l)| p == l as i64).count();
                }
                None => tally.without_predictions += 1,
            }
            let grads = GradientsParams::from_grads(out.loss.backward(), &model);
            model = optimizer.step(lr, model, grads);
            if let (Some(average), Some(settings)) = (done.ema.take(), &config.ema) {
                done.ema = Some(crate::ema::update(average, &model.valid(), settings.decay));
                if settings.online_decay > 0.0 {
                    model = crate::ema::shrink(model, 1.0 - settings.online_decay);
                }
            }
            done.steps_done += 1;
            tally.loss_sum += loss_value * indices.len() as f64;
            tally.seen += indices.len();
            observer.event(TrainEvent::Step {
                epoch,
                step: step_index + 1,
                steps,
                loss: loss_value,
            });
            if observer.cancelled() && step_index + 1 < steps {
                let word_pos = rng.get_word_pos();
                let here = EpochPosition {
                    steps: step_index + 1,
                    rng_word_pos: [(word_pos >> 64) as u64, word_pos as u64],
                    loss_sum: tally.loss_sum,
                    correct: tally.correct,
                    seen: tally.seen,
                    seconds: earlier_seconds + started.elapsed().as_secs_f64(),
                };
                let path = checkpoint(&model, &optimizer, &done, step, Some(here), &[LATEST_CHECKPOINT])?;
                return Err(Error::Cancelled {
                    checkpoint: run_dir.map(|_| path),
                    epoch,
                    step: step_index + 1,
                });
            }
        }
        let seconds = earlier_seconds + started.elapsed().as_secs_f64();
        let val_loss = if valid_set.is_empty() {
            None
        } else {
            Some(validation_loss(
                &done.evaluated(&model),
                step,
                examples,
                &valid_set,
                config.batch_size,
                &eval_device,
            )?)
        };
        let log = EpochLog {
            epoch,
            lr,
            loss: tally.loss_sum / tally.seen as f64,
            accuracy: if tally.without_predictions > 0 {
                f64::NAN
            } else {
                tally.correct as f64 / tally.seen as f64
            },
            seconds,
            val_loss,
        };
        let select_best = config
            .validation
            .as_ref()
            .is_some_and(|v| v.select == ModelSelection::BestLoss);
        // The kept epoch's loss is in the log; ties keep the earlier epoch.
        let best_loss = done
            .best
            .as_ref()
            .and_then(|b| done.history.get(b.0))
            .and_then(|l| l.val_loss);
        if let (true, Some(loss)) = (select_best, val_loss)
            && best_loss.is_none_or(|b| loss < b)
        {
            done.best = Some((epoch, done.evaluated(&model)));
        }
        done.history.push(log.clone());
        let last = epoch + 1 == config.epochs;
        let names: &[&str] = if last {
            &[LATEST_CHECKPOINT, FINAL_CHECKPOINT]
        } else {
            &[LATEST_CHECKPOINT]
        };
        let path = checkpoint(&model, &optimizer, &done, step, None, names)?;
        if let Some(dir) = run_dir {
            append_log(dir, &log)?;
            if config
                .snapshot_every
                .is_some_and(|every| done.history.len() % every == 0)
            {
                save_snapshot(&done.evaluated(&model), dir, done.history.len())?;
            }
        }
        observer.event(TrainEvent::EpochEnd(log));
        if !last && observer.cancelled() {
            return Err(Error::Cancelled {
                checkpoint: run_dir.map(|_| path),
                epoch: epoch + 1,
                step: 0,
            });
        }
    }
    let (epoch, model) = match done.best {
        Some(best) => best,
        None => (
            done.history.len().saturating_sub(1),
            done.ema.unwrap_or_else(|| model.valid()),
        ),
    };
    Ok(Trained {
        model,
        epoch,
        history: done.history,
    })
}

/// Saves `model` (evaluation mode) as the snapshot after `epochs_done` epochs ([`crate::config::snapshot_path`]).
fn save_snapshot<M: Module>(model: &M, run_dir: &Path, epochs_done: usize) -> Result<()> {
    let path = crate::config::snapshot_path(run_dir, epochs_done);
    let folder = run_dir.join(crate::config::SNAPSHOT_DIR);
    fs::create_dir_all(&folder).map_err(Error::io(&folder))?;
    asd_models::weights::save_burnpack(model, &path)
        .map_err(|e| Error::Burn(format!("snapshot {}: {e}", path.display())))
}

/// Checks that a checkpoint belongs to this run: same settings (except a larger `epochs`), same data size.
fn check_compatible(
    path: &Path,
    info: &CheckpointInfo,
    config: &TrainConfig,
    examples: usize,
    step_settings: &serde_json::Value,
) -> Result<()> {
    let mismatch = |reason: String| {
        Err(Error::CheckpointMismatch {
            path: path.to_path_buf(),
            reason,
        })
    };
    if info.history.len() != info.epochs_done {
        return Err(Error::CorruptCheckpoint {
            path: path.to_path_buf(),
            reason: format!(
                "{} epochs done but {} log entries",
                info.epochs_done,
                info.history.len()
            ),
        });
    }
    if info.examples != examples {
        return mismatch(format!(
            "it was trained on {} examples, this run has {examples}",
            info.examples
        ));
    }
    if info.epochs_done > config.epochs {
        return mismatch(format!(
            "it already ran {} epochs, more than the {} asked for",
            info.epochs_done, config.epochs
        ));
    }
    let saved = TrainConfig {
        epochs: config.epochs,
        ..info.config.clone()
    };
    if &saved != config {
        return mismatch(format!(
            "other settings (checkpoint: {:?}; this run: {config:?})",
            info.config
        ));
    }
    if &info.step_settings != step_settings {
        return mismatch(format!(
            "other training-step settings (checkpoint: {}; this run: {step_settings})",
            info.step_settings
        ));
    }
    Ok(())
}

/// Writes `run_dir/train_log.csv` afresh (atomically): the header and one line per entry of `history`.
fn rewrite_log(run_dir: &Path, history: &[EpochLog]) -> Result<()> {
    let mut text = format!("{LOG_HEADER}\n");
    for log in history {
        text.push_str(&log.csv_line());
        text.push('\n');
    }
    write_atomic(&run_dir.join(TRAIN_LOG), text.as_bytes())
}

/// Appends one line to `run_dir/train_log.csv`.
fn append_log(run_dir: &Path, log: &EpochLog) -> Result<()> {
    let path = run_dir.join(TRAIN_LOG);
    let mut file = fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .map_err(Error::io(&path))?;
    writeln!(file, "{}", log.csv_line()).map_err(Error::io(&path))
}

//! The training loop: seeded shuffling, mixup, loss, Adam/AdamW steps, per-epoch checkpoints, log and resume.

use crate::checkpoint::{
    CHECKPOINT_DIR, Checkpoint, CheckpointInfo, FINAL_CHECKPOINT, FORMAT_VERSION, LATEST_CHECKPOINT, checkpoint_path,
    write_atomic,
};
use crate::config::TrainConfig;
use crate::error::{Error, Result};
use crate::examples::Examples;
use asd_losses::{Mixable, training_loss};
use asd_models::Embedder;
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
const LOG_HEADER: &str = "epoch,lr,loss,accuracy,seconds";

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
    /// Training accuracy in [0, 1]: the fraction of examples whose margin-free logits
    /// ([`ModelOutput::logits`](asd_models::ModelOutput)) have their argmax at the example's own label, computed
    /// on the (mixed, when mixup is on) training batches in training mode.
    pub accuracy: f64,
    /// Wall-clock time of the epoch's batches in seconds (without writing the checkpoint).
    pub seconds: f64,
}

impl EpochLog {
    /// The CSV line (no newline), in the order of the header `epoch,lr,loss,accuracy,seconds`.
    fn csv_line(&self) -> String {
        format!(
            "{},{},{},{},{:.3}",
            self.epoch, self.lr, self.loss, self.accuracy, self.seconds
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

/// A trained model and its training log.
#[derive(Debug)]
pub struct Trained<M> {
    /// The model after the last epoch, in evaluation mode (no autodiff; BatchNorm on running statistics), on the
    /// device given to [`train`].
    pub model: M,
    /// One entry per epoch of the whole run (resumed runs included), in order.
    pub history: Vec<EpochLog>,
}

/// The shuffling and mixup generator of 0-based `epoch`: `ChaCha8Rng` seeded with `seed`, on stream `epoch`.
///
/// Deriving each epoch's generator from `(seed, epoch)` makes a resumed run draw exactly what an uninterrupted
/// one would.
fn epoch_rng(seed: u64, epoch: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(epoch as u64);
    rng
}

/// Values of a tensor read back to the host as `T`.
pub(crate) fn host<const D: usize, K: asd_models::burn::tensor::kind::Basic, T: asd_models::burn::tensor::Element>(
    tensor: Tensor<D, K>,
) -> Result<Vec<T>> {
    let data = tensor.try_into_data().map_err(|e| Error::Burn(format!("{e:?}")))?;
    data.try_into_vec_as::<T>().map_err(|e| Error::Burn(format!("{e:?}")))
}

/// The labels of `indices` as an index tensor `[batch]`, after checking each against `n_classes`.
pub(crate) fn label_tensor<E: Examples + ?Sized>(
    examples: &E,
    indices: &[usize],
    n_classes: usize,
    device: &Device,
) -> Result<(Vec<usize>, Tensor<1, Int>)> {
    let labels: Vec<usize> = indices.iter().map(|&i| examples.label(i)).collect();
    if let Some((&example, &label)) = indices.iter().zip(&labels).find(|&(_, &l)| l >= n_classes) {
        return Err(Error::LabelOutOfRange {
            example,
            label,
            n_classes,
        });
    }
    let values: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
    let tensor = Tensor::from_data(TensorData::new(values, [indices.len()]), device);
    Ok((labels, tensor))
}

/// Trains `model` on `examples` as `config` says and returns it in evaluation mode with its log.
///
/// Each epoch e (0-based) uses the learning rate [`TrainConfig::learning_rate`]`(e)`, shuffles the example order
/// with the epoch's generator (`ChaCha8Rng`, seed `config.seed`, stream e), cuts it into batches of
/// `config.batch_size` (the last partial one dropped with `drop_last`) and, per batch: reads the inputs, draws the
/// mixup (λ, permutation) from the same generator when `config.loss.mixup_alpha > 0` and mixes the inputs, runs the
/// model in training mode (autodiff on `device`; BatchNorm on batch statistics), computes
/// [`asd_losses::training_loss`] and takes one Adam / AdamW step.
///
/// With `run_dir`, every epoch ends by writing `run_dir/checkpoints/latest.ckpt` (model, optimiser state,
/// position; see [`crate::checkpoint`]) atomically and appending a line to `run_dir/train_log.csv`
/// (`epoch,lr,loss,accuracy,seconds`); the last epoch also writes `checkpoints/final.ckpt`. A fresh run
/// (`resume = false`) starts a new log and removes old checkpoints. With `resume = true`, training continues from
/// `latest.ckpt` (weights, optimiser moments, epoch) and reaches the same weights as an uninterrupted run; the log
/// is rewritten from the checkpoint's history (dropping any line of an epoch the checkpoint does not hold) and
/// appended to. `config.epochs` may be larger than in the resumed run (to train longer); every other setting must
/// be the same.
///
/// `model` holds the initial weights (any device, evaluation or training mode); when resuming, it only supplies
/// the architecture and its weights are replaced by the checkpoint's. The source's batches are mixed as they come
/// (`E::Input: Mixable`, e.g. a tensor or a pair of tensors mixed with one draw) and then converted into the
/// model's input (`Into<M::Input>`; the identity when both are the same type).
///
/// # Errors
/// - [`Error::Config`] for an invalid `config`; [`Error::NoBatches`] when there is no batch to train on;
/// - [`Error::IndexOutOfRange`] / [`Error::LabelOutOfRange`] from the data (a label not below the model's number of
///   classes);
/// - [`Error::NonFiniteLoss`] when the loss becomes NaN or infinite;
/// - [`Error::NoCheckpoint`] when resuming without a run directory or checkpoint, [`Error::CorruptCheckpoint`] for
///   a damaged one, [`Error::CheckpointMismatch`] for one of another model, data size or settings;
/// - [`Error::Io`] naming a file or folder that cannot be written; [`Error::Burn`] if Burn cannot read a result
///   back or encode the model or optimiser state.
///
/// # Panics
/// If the inputs do not have the shape the model was configured for (a programming error, as in Burn).
pub fn train<M, E>(
    model: M,
    examples: &E,
    config: &TrainConfig,
    device: &Device,
    run_dir: Option<&Path>,
    resume: bool,
    progress: &dyn Fn(TrainEvent),
) -> Result<Trained<M>>
where
    M: Embedder + Module,
    E: Examples + ?Sized,
    E::Input: Mixable + Into<M::Input>,
{
    config.check()?;
    let n = examples.len();
    let steps = config.steps_per_epoch(n);
    if steps == 0 {
        return Err(Error::NoBatches {
            examples: n,
            batch_size: config.batch_size,
            drop_last: config.drop_last,
        });
    }
    let train_device = device.clone().autodiff();
    let mut model = model.valid().to_device(&device.clone().without_autodiff());
    let mut optimizer = config.optimizer.build();
    let mut history = Vec::new();
    let mut steps_done = 0u64;

    if let Some(dir) = run_dir {
        let checkpoints = dir.join(CHECKPOINT_DIR);
        fs::create_dir_all(&checkpoints).map_err(Error::io(&checkpoints))?;
    }
    match (run_dir, resume) {
        (None, true) => {
            return Err(Error::NoCheckpoint {
                path: PathBuf::new(),
                reason: "resuming needs a run directory".into(),
            });
        }
        (Some(dir), true) => {
            let path = checkpoint_path(dir, LATEST_CHECKPOINT);
            let checkpoint = Checkpoint::read(&path)?;
            check_compatible(&path, &checkpoint.info, config, n)?;
            let mismatch = |reason: String| Error::CheckpointMismatch {
                path: path.clone(),
                reason,
            };
            let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(checkpoint.model))
                .map_err(|e| mismatch(format!("model record: {e}")))?;
            model = model
                .try_load_record(record)
                .map_err(|e| mismatch(format!("model: {e}")))?;
            optimizer = optimizer
                .from_bytes(Bytes::from_bytes_vec(checkpoint.optimizer))
                .map_err(|e| mismatch(format!("optimiser state: {e}")))?;
            history = checkpoint.info.history;
            steps_done = checkpoint.info.steps_done;
            rewrite_log(dir, &history)?;
            progress(TrainEvent::Resumed {
                epochs_done: checkpoint.info.epochs_done,
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
            rewrite_log(dir, &history)?;
        }
        (None, false) => {}
    }

    let mut model = model.train().fork(&train_device);
    for epoch in history.len()..config.epochs {
        let started = Instant::now();
        let lr = config.learning_rate(epoch);
        progress(TrainEvent::EpochStart {
            epoch,
            epochs: config.epochs,
            lr,
            steps,
        });
        let mut rng = epoch_rng(config.seed, epoch);
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut rng);
        let (mut loss_sum, mut correct, mut seen) = (0.0, 0usize, 0usize);
        for (step, indices) in order.chunks(config.batch_size).take(steps).enumerate() {
            let input = examples.batch(indices, &train_device)?;
            let mix = config.loss.draw_mix(indices.len(), &mut rng);
            let input = match &mix {
                Some(mix) => input.mix(mix),
                None => input,
            };
            let out = model.forward(input.into());
            let [_, n_classes] = out.logits.dims();
            let (labels, label_tensor) = label_tensor(examples, indices, n_classes, &train_device)?;
            let predicted: Vec<i64> = host(out.logits.clone().argmax(1))?;
            let loss = training_loss(config.loss.mixup_loss, &model, out.logits, label_tensor, mix.as_ref());
            let loss_value = host::<1, _, f64>(loss.clone())?.first().copied().unwrap_or(f64::NAN);
            if !loss_value.is_finite() {
                return Err(Error::NonFiniteLoss {
                    epoch,
                    step,
                    loss: loss_value,
                });
            }
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optimizer.step(lr, model, grads);
            steps_done += 1;
            loss_sum += loss_value * indices.len() as f64;
            correct += predicted.iter().zip(&labels).filter(|&(&p, &l)| p == l as i64).count();
            seen += indices.len();
            progress(TrainEvent::Step {
                epoch,
                step: step + 1,
                steps,
                loss: loss_value,
            });
        }
        let log = EpochLog {
            epoch,
            lr,
            loss: loss_sum / seen as f64,
            accuracy: correct as f64 / seen as f64,
            seconds: started.elapsed().as_secs_f64(),
        };
        history.push(log.clone());
        if let Some(dir) = run_dir {
            let info = CheckpointInfo {
                format: FORMAT_VERSION,
                epochs_done: epoch + 1,
                rng_seed: config.seed,
                rng_stream: (epoch + 1) as u64,
                steps_done,
                examples: n,
                config: config.clone(),
                history: history.clone(),
            };
            let model_bytes = model
                .valid()
                .into_record()
                .into_bytes()
                .map_err(|e| Error::Burn(format!("model record: {e}")))?;
            let optimizer_bytes = optimizer
                .into_bytes()
                .map_err(|e| Error::Burn(format!("optimiser record: {e}")))?;
            let last = epoch + 1 == config.epochs;
            let names: &[&str] = if last {
                &[LATEST_CHECKPOINT, FINAL_CHECKPOINT]
            } else {
                &[LATEST_CHECKPOINT]
            };
            for name in names {
                let path = checkpoint_path(dir, name);
                Checkpoint::write(&path, &info, &model_bytes, &optimizer_bytes)?;
                progress(TrainEvent::Checkpoint { path });
            }
            append_log(dir, &log)?;
        }
        progress(TrainEvent::EpochEnd(log));
    }
    Ok(Trained {
        model: model.valid(),
        history,
    })
}

/// Checks that a checkpoint belongs to this run: same settings (except a larger `epochs`), same data size.
fn check_compatible(path: &Path, info: &CheckpointInfo, config: &TrainConfig, examples: usize) -> Result<()> {
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

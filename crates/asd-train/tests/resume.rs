//! Checkpoints and resume: an interrupted and resumed run reaches the same weights as an uninterrupted one, and a
//! missing, damaged or foreign checkpoint is a typed error naming the file.

mod common;

use asd_losses::{MarginLossConfig, MarginStep, MixupLoss};
use asd_models::burn::tensor::Device;
use asd_models::init::{draw_now, seeded};
use asd_train::{
    CHECKPOINT_DIR, Error, Examples, FINAL_CHECKPOINT, LATEST_CHECKPOINT, OptimizerConfig, Rows, Schedule, Session,
    TRAIN_LOG, TrainConfig, TrainEvent, Trained, embed, train,
};
use common::{TinyBn, data, tensors, test_device};
use std::cell::RefCell;
use std::path::Path;

const CLASSES: usize = 3;

/// 3 epochs of batches of 5 (the last one partial) with mixup (ArcMix), AdamW and a cosine schedule that starts
/// after epoch 0: every piece of state that resume must restore is exercised.
fn config(epochs: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size: 5,
        drop_last: false,
        seed: 11,
        optimizer: OptimizerConfig::adamw(1e-2),
        schedule: Schedule::Cosine {
            t_max: 3,
            eta_min: 1e-3,
            start_epoch: 1,
        },
        ..TrainConfig::default()
    }
}

/// The margin step with mixup (ArcMix): its draws come from the trainer's generator.
fn step() -> MarginStep {
    MarginStep::new(MarginLossConfig::mixup(0.5, MixupLoss::ArcMix))
}

/// [`train`] with [`step`], laid out as the trainer's arguments used to be.
fn fit<E: Examples<Input = asd_models::burn::tensor::Tensor<2>>>(
    model: TinyBn,
    examples: &E,
    config: &TrainConfig,
    device: &Device,
    run_dir: Option<&Path>,
    resume: bool,
    observer: &dyn Fn(TrainEvent),
) -> Result<Trained<TinyBn>, Error> {
    let session = Session {
        run_dir,
        resume,
        observer: &observer,
    };
    train(model, examples, &mut step(), config, device, &session)
}

fn model(seed: u64, device: &Device) -> TinyBn {
    seeded(device, seed, |d| draw_now(TinyBn::new(12, 4, CLASSES, d)))
}

fn log_lines(run: &Path) -> Vec<String> {
    std::fs::read_to_string(run.join(TRAIN_LOG))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Criterion (brief item 4): train 3 epochs vs 2 epochs + resume 1 → every parameter and BatchNorm running
/// statistic bit-identical, the same history (seconds aside), the log appended to 3 lines, and `final.ckpt`
/// written. The resumed call starts from a model with other initial weights, so the weights must come from the
/// checkpoint.
#[test]
fn resumed_run_reaches_the_weights_of_an_uninterrupted_run() {
    let device = test_device();
    let (features, labels) = data(8, 2, 12, CLASSES, 1);
    let examples = Rows::new(&features, &labels).unwrap(); // 16 examples → batches 5, 5, 5, 1
    let whole = tempfile::tempdir().unwrap();
    let split = tempfile::tempdir().unwrap();

    let initial = tensors(&model(3, &device));
    let full = fit(
        model(3, &device),
        &examples,
        &config(3),
        &device,
        Some(whole.path()),
        false,
        &|_| {},
    )
    .unwrap();
    assert_ne!(tensors(&full.model), initial, "training changed nothing");
    // BatchNorm ran in training mode: only its training path updates the running mean (initially 0).
    let running_mean = full
        .model
        .bn
        .running_mean
        .value()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    assert!(running_mean.iter().any(|m| m.abs() > 1e-3), "{running_mean:?}");

    let first = fit(
        model(3, &device),
        &examples,
        &config(2),
        &device,
        Some(split.path()),
        false,
        &|_| {},
    )
    .unwrap();
    assert_eq!(first.history.len(), 2);
    assert!(
        split.path().join(CHECKPOINT_DIR).join(FINAL_CHECKPOINT).exists(),
        "a finished run has final.ckpt"
    );
    let events = RefCell::new(Vec::new());
    let resumed = fit(
        model(99, &device),
        &examples,
        &config(3),
        &device,
        Some(split.path()),
        true,
        &|e| events.borrow_mut().push(e),
    )
    .unwrap();

    let (a, b) = (tensors(&full.model), tensors(&resumed.model));
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert_eq!(x, y, "tensor {i} differs");
    }
    let strip = |h: &[asd_train::EpochLog]| {
        h.iter()
            .map(|l| (l.epoch, l.lr, l.loss, l.accuracy))
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&full.history), strip(&resumed.history));
    assert_eq!(full.history[0].lr, 1e-2);
    assert!(
        full.history
            .iter()
            .all(|l| l.loss.is_finite() && (0.0..=1.0).contains(&l.accuracy))
    );

    let events = events.into_inner();
    assert_eq!(events[0], TrainEvent::Resumed { epochs_done: 2 });
    let steps: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            TrainEvent::Step { epoch, step, steps, .. } => Some((*epoch, *step, *steps)),
            _ => None,
        })
        .collect();
    assert_eq!(steps, [(2, 1, 4), (2, 2, 4), (2, 3, 4), (2, 4, 4)]);

    for run in [whole.path(), split.path()] {
        let lines = log_lines(run);
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert_eq!(lines[0], "epoch,lr,loss,accuracy,seconds,val_loss");
        assert!(lines[3].starts_with("2,"));
        assert!(run.join(CHECKPOINT_DIR).join(LATEST_CHECKPOINT).exists());
        assert!(run.join(CHECKPOINT_DIR).join(FINAL_CHECKPOINT).exists());
    }

    // Evaluation mode: BatchNorm on running statistics, so an example's embedding does not depend on its batch.
    let score = |m: &TinyBn, logits, labels| asd_losses::anomaly_score(m, logits, labels);
    let by_3 = embed(&resumed.model, &examples, 3, &device, Some(&score), &|_, _| {}).unwrap();
    let by_16 = embed(&resumed.model, &examples, 16, &device, Some(&score), &|_, _| {}).unwrap();
    assert_eq!(by_3.embeddings.dim(), (16, 4));
    assert!((&by_3.embeddings - &by_16.embeddings).iter().all(|d| d.abs() < 1e-5));
    let scores = by_3.scores.unwrap();
    assert!(scores.iter().all(|s| s.is_finite() && *s >= 0.0));
}

/// Criterion: resuming with no run directory, no checkpoint, a damaged checkpoint, other settings, other data or
/// another architecture is a typed error (naming the file where there is one), never a panic.
#[test]
fn bad_checkpoints_are_typed_errors() {
    let device = test_device();
    let (features, labels) = data(4, 2, 12, CLASSES, 2);
    let examples = Rows::new(&features, &labels).unwrap();
    let run = tempfile::tempdir().unwrap();
    let latest = run.path().join(CHECKPOINT_DIR).join(LATEST_CHECKPOINT);
    let resume = |model: TinyBn, config: &TrainConfig, examples: &Rows<'_, ndarray::Array3<f32>>| {
        fit(model, examples, config, &device, Some(run.path()), true, &|_| {}).map(|t| t.history.len())
    };

    let err = fit(model(1, &device), &examples, &config(1), &device, None, true, &|_| {}).unwrap_err();
    assert!(matches!(err, Error::NoCheckpoint { .. }));
    let err = resume(model(1, &device), &config(2), &examples).unwrap_err();
    assert!(
        matches!(&err, Error::NoCheckpoint { path, .. } if path == &latest),
        "{err}"
    );

    fit(
        model(1, &device),
        &examples,
        &config(1),
        &device,
        Some(run.path()),
        false,
        &|_| {},
    )
    .unwrap();
    assert_eq!(resume(model(1, &device), &config(2), &examples).unwrap(), 2);

    let mut other_seed = config(3);
    other_seed.seed = 12;
    let err = resume(model(1, &device), &other_seed, &examples).unwrap_err();
    assert!(
        matches!(&err, Error::CheckpointMismatch { path, .. } if path == &latest),
        "{err}"
    );
    let err = resume(model(1, &device), &config(1), &examples).unwrap_err();
    assert!(
        matches!(err, Error::CheckpointMismatch { .. }),
        "fewer epochs than done: {err}"
    );
    let (more, more_labels) = data(5, 2, 12, CLASSES, 2);
    let err = resume(model(1, &device), &config(3), &Rows::new(&more, &more_labels).unwrap()).unwrap_err();
    assert!(
        matches!(err, Error::CheckpointMismatch { .. }),
        "other data size: {err}"
    );
    let wider = seeded(&device, 1, |d| draw_now(TinyBn::new(12, 6, CLASSES, d)));
    let err = resume(wider, &config(3), &examples).unwrap_err();
    assert!(
        matches!(&err, Error::CheckpointMismatch { path, .. } if path == &latest),
        "other model: {err}"
    );

    let bytes = std::fs::read(&latest).unwrap();
    for damage in [bytes[..bytes.len() / 2].to_vec(), {
        let mut b = bytes.clone();
        b[bytes.len() / 3] ^= 1;
        b
    }] {
        std::fs::write(&latest, damage).unwrap();
        let err = resume(model(1, &device), &config(3), &examples).unwrap_err();
        assert!(
            matches!(&err, Error::CorruptCheckpoint { path, .. } if path == &latest),
            "{err}"
        );
        assert!(err.to_string().contains(LATEST_CHECKPOINT));
    }
}

/// Criterion: a label beyond the model's classes and an empty epoch are typed errors; without a run directory
/// nothing is written and the history is still returned.
#[test]
fn data_errors_are_typed() {
    let device = test_device();
    let (features, _) = data(4, 1, 12, CLASSES, 3);
    let bad_labels = [0, 1, 2, 3];
    let examples = Rows::new(&features, &bad_labels).unwrap();
    let err = fit(model(1, &device), &examples, &config(1), &device, None, false, &|_| {}).unwrap_err();
    assert!(
        matches!(
            err,
            Error::LabelOutOfRange {
                label: 3,
                n_classes: 3,
                ..
            }
        ),
        "{err}"
    );

    let labels = [0, 1, 2, 0];
    let examples = Rows::new(&features, &labels).unwrap();
    let mut big_batch = config(1);
    big_batch.batch_size = 8;
    big_batch.drop_last = true;
    let err = fit(model(1, &device), &examples, &big_batch, &device, None, false, &|_| {}).unwrap_err();
    assert!(matches!(
        err,
        Error::NoBatches {
            examples: 4,
            batch_size: 8,
            drop_last: true
        }
    ));
    let trained = fit(model(1, &device), &examples, &config(2), &device, None, false, &|_| {}).unwrap();
    assert_eq!(trained.history.len(), 2);
}

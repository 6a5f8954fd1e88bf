//! The training loop of `asd`: how a model of stage 3 (feature → **model** → embedding) learns, and how its
//! embeddings are extracted for the scorers.
//!
//! - [`Examples`]: labelled examples streamed batch by batch from a [`FeatureStore`] (the memory-mapped
//!   [`asd_data::FeatureCache`] or an in-memory array): [`Rows`] (every row of every clip is an example, e.g. the
//!   2-s segment spectra of ASDNet, `Tensor<2>` `[batch, cols]`), [`Clips`] (every clip is an example, e.g.
//!   log-Mel images, `Tensor<3>` `[batch, rows, cols]`) and [`Paired`] (two sources over the same clips, e.g.
//!   STgram-MFN's waveform and log-Mel).
//! - [`TrainStep`]: the loss of one batch, owned by the system (as Burn's `TrainStep`). The trainer gives it the
//!   batch ([`Batch`]) and the epoch's seeded generator for its random draws (mixup, noise in the forward pass);
//!   the step returns a [`StepOutput`] (a loss built from any weighted terms, on logits or embeddings), may keep
//!   state saved in checkpoints, and gives the validation loss. `asd_losses::MarginStep` is the margin systems'.
//! - [`TrainConfig`]: optimiser (Adam / AdamW with PyTorch's defaults, decisions.md §8b), learning-rate schedule
//!   (constant, or cosine annealing per epoch with a delayed start), epochs, batches, seed, [EMA](EmaConfig) and a
//!   [validation split](ValidationConfig) with model selection; TOML / serde, `check()` with typed errors naming
//!   the setting.
//! - [`train()`]: our own short loop (not burn-train's learner) that knows no loss, head or system: seeded
//!   shuffling per epoch, the step, one optimiser step per batch, the EMA update; atomic per-epoch checkpoints
//!   ([`checkpoint`]) from which `resume` reaches the same weights as an uninterrupted run; `train_log.csv`;
//!   progress and cancellation through an [`Observer`] ([`Session`]).
//! - [`embed()`]: embeddings, logits and (with a score function) anomaly scores in evaluation mode, batch by batch
//!   ([`Extracted`]).
//!
//! Training runs on `device.autodiff()`, where BatchNorm normalises with batch statistics (PyTorch's training
//! mode); the trained model comes back without autodiff, where BatchNorm uses its running statistics, and
//! [`embed()`] always runs that way.
//!
//! ```
//! use asd_losses::{MarginLossConfig, MarginStep, MixupLoss};
//! use asd_models::backbone::asdnet::AsdNetConfig;
//! use asd_models::burn::tensor::Device;
//! use asd_train::{OptimizerConfig, Rows, Schedule, Session, TrainConfig, embed, train};
//! use ndarray::Array3;
//!
//! let device = Device::flex();
//! device.seed(0);
//! // 6 clips of 2 rows ("segments") of 64 bins; class 0 is loud at low bins, class 1 at high bins.
//! let features = Array3::from_shape_fn((6, 2, 64), |(c, _, k)| if (k < 32) == (c % 2 == 0) { 1.0 } else { 0.1 });
//! let labels = [0, 1, 0, 1, 0, 1];
//! let examples = Rows::new(&features, &labels)?; // 12 examples, [batch, 64] each
//! let model = AsdNetConfig::new()
//!     .with_layers(vec![[4, 5, 2], [4, 3, 2]])
//!     .with_input_bins(64)
//!     .with_embedding_dim(8)
//!     .with_n_classes(2)
//!     .init(&device)?;
//! let config = TrainConfig {
//!     epochs: 2,
//!     batch_size: 4,
//!     optimizer: OptimizerConfig::adam(1e-3),
//!     schedule: Schedule::Constant {},
//!     ..TrainConfig::default()
//! };
//! // The system's step: ArcFace with mixup α 0.5 scored by ArcMix.
//! let mut step = MarginStep::new(MarginLossConfig::mixup(0.5, MixupLoss::ArcMix));
//! let trained = train(model, &examples, &mut step, &config, &device, &Session::new())?;
//! assert_eq!(trained.history.len(), 2);
//! let score = |m: &asd_models::backbone::asdnet::AsdNet, logits, labels| asd_losses::anomaly_score(m, logits, labels);
//! let out = embed(&trained.model, &examples, 5, &device, Some(&score), &|_, _| {})?;
//! assert_eq!(out.embeddings.dim(), (12, 8));
//! assert_eq!(out.logits.dim(), (12, 2));
//! assert!(out.scores.is_some_and(|s| s.iter().all(|v| v.is_finite())));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Feature flags
//! - `cuda` (off by default): forwards to `asd-models/cuda` (Burn's CUDA backend); pass `Device::cuda(0)`. Its
//!   build downloads an LLVM bundle unless `tools/cubecl-llvm-offline` is patched in (`benches/cuda.sh`).
//!
//! # Errors
//! One enum, [`Error`]: invalid settings (naming the setting), data that does not fit (label counts, labels beyond
//! the model's classes, paired sources that disagree), a non-finite loss, and checkpoints that are missing,
//! damaged or from another run (naming the file). Inputs of a shape the model was not configured for are
//! programming errors and panic inside the model, as in Burn.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod checkpoint;
mod config;
mod ema;
mod embed;
mod error;
mod examples;
mod step;
mod train;

pub use checkpoint::{CHECKPOINT_DIR, CheckpointInfo, EpochPosition, FINAL_CHECKPOINT, LATEST_CHECKPOINT};
pub use config::{
    ADAM_BETAS, ADAM_EPSILON, ADAM_WEIGHT_DECAY, ADAMW_WEIGHT_DECAY, BATCH_SIZE, COSINE_ETA_MIN, COSINE_T_MAX, EPOCHS,
    EmaConfig, LEARNING_RATE, ModelSelection, OptimizerConfig, SNAPSHOT_DIR, Schedule, TrainConfig, ValidationConfig,
    snapshot_path,
};
pub use embed::{Extracted, ScoreFn, embed};
pub use error::{Error, Result};
pub use examples::{Chained, Clips, Examples, FeatureStore, Paired, Rows};
pub use step::{Batch, StepOutput, TrainStep, check_labels};
pub use train::{EpochLog, Observer, Session, TRAIN_LOG, TrainEvent, Trained, train, validation_split};

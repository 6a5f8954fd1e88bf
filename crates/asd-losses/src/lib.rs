//! Training objectives of `asd` on Burn 0.22: how a model learns, beside stage 3 of the pipeline
//! (feature → model → embedding). Used by `asd-train`; the anomaly score of the ArcFace systems lives here too.
//!
//! - [`cross_entropy`], [`cross_entropy_per_sample`], [`cross_entropy_soft`]: cross-entropy on logits.
//! - [`Mix`] and [`Mixable`]: input-level mixup, λ ~ Beta(α, α) and one permutation per batch, applied alike to
//!   every input tensor of a batch (losses_arcmix.md §3).
//! - [`training_loss`]: the loss of one batch from a model's logits without margin: ArcFace (margin on the label,
//!   through [`Embedder::margin_logits`](asd_models::Embedder::margin_logits)) and, for a mixed batch, ArcMix,
//!   Noisy-ArcMix or soft-target cross-entropy ([`MixupLoss`], losses_arcmix.md §5–6, asdnet_specmfn.md §4.2).
//! - [`anomaly_score`]: −log softmax of the margin logits at the example's class (losses_arcmix.md §8).
//! - [`supcon_loss`]: OS-SCL's noisy supervised contrastive loss on unit embeddings (os_scl.md §4.1), which it adds
//!   to Noisy-ArcMix.
//! - [`adacos`]: the AdaCos loss with its dynamic scale, and the sub-cluster variant (the DCASE 2025 first-shot
//!   system).
//! - [`ssl`]: Wilkinghoff's self-supervised label expansion (mixup, StatEx, FeatEx with their 3C / 9C targets), as
//!   the DCASE 2025 first-shot system trains.
//! - [`reconstruction_loss`]: an autoencoder's mean squared reconstruction error (the DCASE autoencoder baseline).
//! - [`LossConfig`]: the serde settings, tagged by `kind` (`margin`: mixup α, [`MixupLoss`]; `reconstruction`);
//!   `check()` gives typed errors.
//! - [`MarginStep`]: the [`asd_train::TrainStep`] of the margin-classification systems (mixup drawn from the
//!   trainer's generator, then [`training_loss`]).
//!
//! The margin itself (ArcFace's cos(θ + m) with the reference's fallback and the clamp of 1 − cos², decisions.md §8)
//! is [`asd_models::head::arcface::ArcFace::apply_margin`]; this crate only combines margin logits into losses.
//! Every function also has a `*_with` form taking the margin as a closure, for a head used without a model.
//!
//! ```
//! use asd_losses::{MarginLossConfig, Mixable, MixupLoss, anomaly_score, training_loss};
//! use asd_models::backbone::asdnet::AsdNetConfig;
//! use asd_models::burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
//! use asd_models::Embedder;
//! use rand::SeedableRng;
//!
//! let device = Device::flex().autodiff();
//! device.seed(0);
//! // A small ASDNet (200 spectrum bins, 8-d embeddings, 3 classes) and a batch of 4 spectra.
//! let model = AsdNetConfig::new()
//!     .with_layers(vec![[4, 9, 6], [4, 5, 3]])
//!     .with_input_bins(200)
//!     .with_embedding_dim(8)
//!     .with_n_classes(3)
//!     .init(&device)?;
//! let spectra = Tensor::<2>::random([4, 200], Distribution::Uniform(0.0, 1.0), &device);
//! let labels = Tensor::<1, Int>::from_data(TensorData::from([0_i64, 1, 2, 1]), &device);
//!
//! // One training step's loss: mixup with α = 0.5 scored by ArcMix.
//! let config = MarginLossConfig::mixup(0.5, MixupLoss::ArcMix);
//! config.check()?;
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
//! let mix = config.draw_mix(4, &mut rng); // Some(Mix { lambda, perm })
//! let input = match &mix { Some(mix) => spectra.clone().mix(mix), None => spectra.clone() };
//! let out = model.forward(input);
//! let loss = training_loss(config.mixup_loss, &model, out.logits, labels.clone(), mix.as_ref());
//! assert_eq!(loss.dims(), [1]);
//! let _gradients = loss.backward();
//!
//! // Anomaly scores of unmixed inputs: one per example, in nats.
//! let scores = anomaly_score(&model, model.forward(spectra).logits, labels);
//! let scores = scores.into_data().try_to_vec_as::<f64>().unwrap_or_default();
//! assert!(scores.len() == 4 && scores.iter().all(|s| *s >= 0.0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Errors
//! One enum, [`Error`]: a setting of [`LossConfig`] out of range, with the setting's name. Shape mismatches of the
//! tensors passed to the loss functions are programming errors and panic, as in Burn; each function documents
//! them under `# Panics`.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod adacos;
mod config;
mod cross_entropy;
mod error;
mod mixup;
mod objective;
mod reconstruction;
pub mod ssl;
mod step;
mod supcon;

pub use config::{
    ADACOS_L2, AdaCosLossConfig, LossConfig, MIXUP_ALPHA_NERI, MIXUP_ALPHA_NOISY_ARCMIX, MarginLossConfig, MixupLoss,
    ReconstructionLossConfig,
};
pub use cross_entropy::{cross_entropy, cross_entropy_per_sample, cross_entropy_soft};
pub use error::{Error, Result};
pub use mixup::{ALPHA_POINT_MASS, Mix, Mixable};
pub use objective::{anomaly_score, anomaly_score_with, training_loss, training_loss_with};
pub use reconstruction::{reconstruction_error_per_row, reconstruction_loss};
pub use step::MarginStep;
pub use supcon::{SUPCON_BASE_TEMPERATURE, SUPCON_TEMPERATURE, SupConConfig, supcon_loss};

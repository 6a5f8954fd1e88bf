//! Neural models of `asd` on Burn 0.22: stage 3 of the pipeline, feature → **model** → embedding → scorer.
//!
//! A model maps one input example (a magnitude spectrum, a log-Mel image, a waveform) to an embedding and to
//! classification logits over the machine classes used for self-supervised training. Models follow Burn's pattern:
//! an `XConfig` (paper values by default, `check()` for typed errors) → `init(&Device)` → a `#[derive(Module)]`
//! struct → `forward`. Every model implements [`Embedder`] and returns a [`ModelOutput`].
//!
//! - [`backbone`]: whole networks:
//!   - [`backbone::asdnet::AsdNet`] and [`backbone::specmfn::SpecMfn`] (Kong et al. 2025, reconstructed in
//!     `asdnet_specmfn.md`), on magnitude spectra `[batch, bins]`;
//!   - [`backbone::logmel_mfn::LogMelMfn`] (log-Mel `[batch, n_mels, frames]`, Linear head) and
//!     [`backbone::stgram_mfn::StgramMfn`] (waveform + log-Mel in a [`backbone::stgram_mfn::StgramInput`],
//!     ArcFace head) of Liu et al. 2022 (`stgram_mfn.md`), sharing [`backbone::mfn_classifier::MfnClassifier`];
//!   - [`backbone::neri_attention::NeriAttention`] (Neri & Carli 2024, `neri_attention.md`): log-Mel and Wavegram
//!     weighted by an attention map of separable convolutions;
//!   - [`backbone::os_scl::OsScl`] (Huang et al. 2025, `os_scl.md`): MobileFaceNet on the log-Mel or the TFSTgram
//!     fusion, the feature-perturbation head, ArcFace on its unit output;
//!   - [`backbone::mobilefacenet::MobileFaceNet`], variant A or B ([`backbone::mobilefacenet::MfnVariant`]).
//! - [`frontend`]: learnable front ends on the waveform ([`frontend::tgramnet::TgramNet`],
//!   [`frontend::tfgramnet::TfgramNet`]).
//! - [`blocks`]: layers shared by backbones ([`blocks::conv1d_stack::Conv1dStack`],
//!   [`blocks::conv_block::ConvBlock`], [`blocks::bottleneck::Bottleneck`]).
//! - [`head`]: classification heads ([`head::arcface::ArcFace`], a Linear layer), chosen by
//!   [`head::HeadConfig`]; OS-SCL's feature-perturbation head ([`head::fph::FeaturePerturbationHead`]).
//! - [`count`]: parameter and MAC counts as the papers count them, and the layer table behind them: every whole
//!   model has `layers()` (rows name, output shape, params, MACs, in forward order) and `count()` (totals
//!   `params`, `params_paper`, `macs` summed from those rows).
//! - [`flex`]: the CPU fast paths: convolutions, BatchNorm and PReLU computed by our own kernels and custom
//!   backward passes on Burn's Flex backend, which layers reach through [`flex::conv`]; its docs list which layers
//!   have one and how a new layer gets one.
//! - [`init`]: PyTorch's default initialisation as Burn initialisers, and [`init::seeded`], which makes initial
//!   weights depend on a seed alone even when other threads initialise at the same time.
//! - [`weights`]: loading PyTorch `state_dict`s from `torch.save` checkpoints (`.pt`, `.pth`: a bare state dict
//!   or a training checkpoint holding one, read by a pickle reader that executes nothing) or safetensors; saving
//!   and loading any module in Burn's burnpack format.
//!
//! ```
//! use asd_models::backbone::asdnet::AsdNetConfig;
//! use asd_models::burn::tensor::{Device, Distribution, Tensor};
//! use asd_models::Embedder;
//!
//! let device = Device::flex();
//! // A small ASDNet: two conv layers on 200 spectrum bins, 8-d embeddings, 3 classes.
//! let config = AsdNetConfig::new()
//!     .with_layers(vec![[4, 9, 6], [4, 5, 3]])
//!     .with_input_bins(200)
//!     .with_embedding_dim(8)
//!     .with_n_classes(3);
//! let model = asd_models::init::seeded(&device, 0, |d| config.init(d))?; // initial weights from seed 0
//! let spectra = Tensor::<2>::random([2, 200], Distribution::Uniform(0.0, 1.0), &device);
//! let out = model.forward(spectra);
//! assert_eq!(out.embedding.dims(), [2, 8]);
//! assert_eq!(out.logits.dims(), [2, 3]);
//! // 4·1·9 + 4 + 4·4·5 + 4 conv parameters, 40·8 + 8 in the Linear head, 3·8 ArcFace weights.
//! assert_eq!(model.count().params, 40 + 84 + 328 + 24);
//! # Ok::<(), asd_models::Error>(())
//! ```
//!
//! Evaluation (embedding extraction) runs on a plain device such as `Device::flex()`, where BatchNorm uses its
//! running statistics; on an autodiff device (`Device::flex().autodiff()`) BatchNorm normalises with batch
//! statistics, as PyTorch's training mode does.
//!
//! # Feature flags
//! - `cuda` (off by default): NVIDIA GPUs through Burn's CUDA backend (`Device::cuda(0)`), kernels compiled at run
//!   time from CUDA C++ by NVRTC. The default build runs on the CPU with Burn's Flex backend (`Device::flex()`,
//!   x86-v4 kernels). [`parse_device`] turns the names `cpu`, `cuda`, `cuda:<index>` into a device. Building
//!   with `cuda` downloads an LLVM bundle for a dependency; offline, see `tools/cubecl-llvm-offline`.
//!
//! # Errors
//! One enum, [`Error`]: invalid configurations (with the setting's name), inputs too short for a layer stack, device
//! names this build cannot open, and weight files that cannot be read or do not fit (with the file's path). Shape
//! mismatches of tensors passed to `forward` are programming errors and panic, as in Burn; each such method
//! documents it under `# Panics`.

#![warn(missing_docs)]

pub mod backbone;
pub mod blocks;
pub mod count;
mod device;
mod error;
pub mod flex;
pub mod frontend;
pub mod head;
pub mod init;
pub mod weights;

pub use device::parse_device;
pub use error::{Error, Result};

/// The Burn version this crate is built with, re-exported so that callers use the same tensor and device types.
pub use burn;

use burn::tensor::{Int, Tensor, assert_shape};

/// What a model returns for a batch of inputs.
#[derive(Clone, Debug)]
pub struct ModelOutput {
    /// Embeddings `[batch, embedding_dim]`: what the scorers fit on.
    pub embedding: Tensor<2>,
    /// Class logits `[batch, n_classes]` without any training margin (for ArcFace: s·cos(z, W_j)).
    pub logits: Tensor<2>,
}

impl ModelOutput {
    /// Pairs an embedding and logits.
    ///
    /// # Panics
    /// If the two batch sizes differ.
    pub fn new(embedding: Tensor<2>, logits: Tensor<2>) -> Self {
        let [batch, _] = embedding.dims();
        assert_shape!(logits, [batch, _]);
        Self { embedding, logits }
    }
}

/// A network that maps a batch of inputs to embeddings and class logits; what the trainer and the pipeline use.
pub trait Embedder {
    /// The batched input, e.g. `Tensor<2>` spectra `[batch, bins]`.
    type Input;

    /// Embeddings and logits (without margin) of a batch.
    ///
    /// # Panics
    /// If the input shape differs from the one the model was configured for (documented by each model).
    fn forward(&self, input: Self::Input) -> ModelOutput;

    /// Training logits: `logits` from [`forward`](Self::forward) with the head's margin put on each row's target
    /// class `labels` `[batch]` (the logits unchanged for heads without a margin).
    ///
    /// # Panics
    /// If shapes disagree or a label is not below the number of classes.
    fn margin_logits(&self, logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<2>;
}

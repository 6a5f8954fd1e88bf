//! The training step a system owns (as Burn's `TrainStep`): the trainer hands it a batch and its seeded
//! generator, the step returns the loss. The trainer itself knows no loss, head or system.

use crate::error::{Error, Result};
use asd_models::burn::tensor::{Int, Tensor};
use rand_chacha::ChaCha8Rng;

/// One batch as the trainer gives it to a [`TrainStep`].
#[derive(Clone, Debug)]
pub struct Batch<I> {
    /// The batch's input on the training device, as the [`Examples`](crate::Examples) source built it.
    pub input: I,
    /// Class labels `[batch]` on the same device.
    pub labels: Tensor<1, Int>,
    /// The same labels on the host, in batch order.
    pub label_values: Vec<usize>,
    /// The source's index of each example, in batch order (for error messages).
    pub examples: Vec<usize>,
}

impl<I> Batch<I> {
    /// The same batch with its input replaced by `f(input)` (e.g. a mixed or converted input).
    pub fn map<J>(self, f: impl FnOnce(I) -> J) -> Batch<J> {
        Batch {
            input: f(self.input),
            labels: self.labels,
            label_values: self.label_values,
            examples: self.examples,
        }
    }
}

/// Checks that each label (of the example in the same place of `examples`) is below `n_classes`.
///
/// # Errors
/// [`Error::LabelOutOfRange`] naming the first example whose label is not.
pub fn check_labels(examples: &[usize], labels: &[usize], n_classes: usize) -> Result<()> {
    match examples.iter().zip(labels).find(|&(_, &l)| l >= n_classes) {
        Some((&example, &label)) => Err(Error::LabelOutOfRange {
            example,
            label,
            n_classes,
        }),
        None => Ok(()),
    }
}

/// What a [`TrainStep`] computed for a batch.
#[derive(Clone, Debug)]
pub struct StepOutput {
    /// The loss to minimise, `[1]`, tracked for gradients: any sum of weighted terms (on logits, on embeddings).
    pub loss: Tensor<1>,
    /// The predicted class of each example, `[batch, 1]` (the argmax of its logits), compared with the labels
    /// for the logged training accuracy; `None` when the step has no class scores (the accuracy is then NaN).
    pub predicted: Option<Tensor<2, Int>>,
}

/// The loss of one batch, owned by a system: what [`train`](crate::train()) asks for at every step.
///
/// `M` is the model (on the autodiff device in [`step`](Self::step), without it in
/// [`validation_loss`](Self::validation_loss)); `I` the batch input of the [`Examples`](crate::Examples) source.
/// A step may keep state that changes during training (a head's dynamic scale, a running statistic): the trainer
/// saves [`state`](Self::state) in every checkpoint and gives it back through [`load_state`](Self::load_state) on
/// resume. Random draws (mixup λ and pairing, noise added in the forward pass) come from the `rng` the trainer
/// passes, seeded per epoch, so a run is reproducible and a resumed run draws what an uninterrupted one would.
pub trait TrainStep<M, I> {
    /// The loss of `batch` under `model` in training mode.
    ///
    /// # Errors
    /// An [`Error`] of the data (e.g. from [`check_labels`]).
    fn step(&mut self, model: &M, batch: Batch<I>, rng: &mut ChaCha8Rng) -> Result<StepOutput>;

    /// The loss of `batch` under `model` in evaluation mode, with no random draw: the validation loss.
    ///
    /// # Errors
    /// As [`step`](Self::step).
    fn validation_loss(&self, model: &M, batch: Batch<I>) -> Result<Tensor<1>>;

    /// The step's settings, compared with a checkpoint's on resume (a run resumes only with the same loss).
    fn settings(&self) -> serde_json::Value {
        serde_json::Value::Null
    }

    /// State that changes during training, saved in checkpoints (`null` for none).
    fn state(&self) -> serde_json::Value {
        serde_json::Value::Null
    }

    /// Restores the state saved by [`state`](Self::state).
    ///
    /// # Errors
    /// A message saying what does not fit.
    fn load_state(&mut self, state: &serde_json::Value) -> std::result::Result<(), String> {
        match state {
            serde_json::Value::Null => Ok(()),
            _ => Err("this step keeps no state".into()),
        }
    }
}

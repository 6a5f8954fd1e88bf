//! The training step of the margin-classification systems (ASDNet, SpecMFN, LogMel-MFN, STgram-MFN, the attention
//! net, OS-SCL): mixup of the inputs when asked for, then the head's margin loss ([`training_loss`]) and, for
//! OS-SCL, the noisy supervised contrastive loss on the embeddings ([`crate::supcon_loss`]).

use crate::config::MarginLossConfig;
use crate::mixup::Mixable;
use crate::objective::training_loss;
use asd_models::Embedder;
use asd_models::burn::tensor::{Int, Tensor};
use asd_train::{Batch, StepOutput, TrainStep};
use rand_chacha::ChaCha8Rng;

/// [`TrainStep`] of a model with a margin head: draws the batch's mixup (λ, permutation) from the trainer's
/// generator when `mixup_alpha > 0`, mixes the inputs, and returns [`training_loss`] of the model's logits with
/// their argmax for the training accuracy. Validation: the same loss without mixup, in evaluation mode.
///
/// The source's batches are mixed as they come (`I: Mixable`, e.g. a tensor or a pair of tensors mixed with one
/// draw) and then converted into the model's input (`Into<M::Input>`; the identity when both are the same type).
#[derive(Clone, Debug, PartialEq)]
pub struct MarginStep {
    config: MarginLossConfig,
}

impl MarginStep {
    /// The step with these loss settings (checked by [`MarginLossConfig::check`] beforehand).
    pub fn new(config: MarginLossConfig) -> Self {
        Self { config }
    }
}

impl<M, I> TrainStep<M, I> for MarginStep
where
    M: Embedder,
    I: Mixable + Into<M::Input>,
{
    fn step(&mut self, model: &M, batch: Batch<I>, rng: &mut ChaCha8Rng) -> asd_train::Result<StepOutput> {
        let mix = self.config.draw_mix(batch.label_values.len(), rng);
        let batch = batch.map(|input| match &mix {
            Some(mix) => input.mix(mix),
            None => input,
        });
        let (loss, predicted) = margin_loss(&self.config, model, batch, mix.as_ref(), true)?;
        Ok(StepOutput {
            loss,
            predicted: Some(predicted),
        })
    }

    fn validation_loss(&self, model: &M, batch: Batch<I>) -> asd_train::Result<Tensor<1>> {
        Ok(margin_loss(&self.config, model, batch, None, false)?.0)
    }

    fn settings(&self) -> serde_json::Value {
        serde_json::to_value(&self.config).unwrap_or_default()
    }
}

/// The loss of a (mixed) batch and the predicted class of each example `[batch, 1]`; with `contrastive`, the
/// configured SupCon term on the embeddings is added (training, not validation).
fn margin_loss<M: Embedder, I: Into<M::Input>>(
    config: &MarginLossConfig,
    model: &M,
    batch: Batch<I>,
    mix: Option<&crate::Mix>,
    contrastive: bool,
) -> asd_train::Result<(Tensor<1>, Tensor<2, Int>)> {
    let Batch {
        input,
        labels,
        label_values,
        examples,
    } = batch;
    let out = model.forward(input.into());
    let [_, n_classes] = out.logits.dims();
    asd_train::check_labels(&examples, &label_values, n_classes)?;
    let predicted = out.logits.clone().argmax(1);
    let supcon = config
        .supcon
        .filter(|_| contrastive)
        .map(|supcon| crate::supcon_loss(out.embedding, labels.clone(), &supcon));
    let loss = training_loss(config.mixup_loss, model, out.logits, labels, mix);
    let loss = match supcon {
        Some(supcon) => loss + supcon,
        None => loss,
    };
    Ok((loss, predicted))
}

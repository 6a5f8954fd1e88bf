//! The training loss of one batch (ArcFace, ArcMix, Noisy-ArcMix, soft target) and the anomaly score of
//! STgram-MFN and Noisy-ArcMix, built on a model's margin logits (losses_arcmix.md §4–8).

use crate::config::MixupLoss;
use crate::cross_entropy::{cross_entropy, cross_entropy_per_sample, cross_entropy_soft};
use crate::mixup::Mix;
use asd_models::Embedder;
use asd_models::burn::tensor::{Int, Tensor, assert_shape};

/// The training loss of one batch of `model`'s logits.
///
/// Without a mix (or with λ = 1) this is the ArcFace loss CE(margin_logits(logits, y), y), mean over the batch
/// (losses_arcmix.md §4; plain cross-entropy for a head without margin). With a mix, `logits` must come from the
/// mixed inputs and `kind` says how the two targets y and y\[perm\] are combined (losses_arcmix.md §5–6,
/// asdnet_specmfn.md §4.2):
/// - [`MixupLoss::ArcMix`]: λ·CE(m(y), y) + (1 − λ)·CE(m(y\[perm\]), y\[perm\]), two margin logit sets;
/// - [`MixupLoss::NoisyArcMix`]: λ·CE(m(y), y) + (1 − λ)·CE(m(y), y\[perm\]), one set with the margin on y;
/// - [`MixupLoss::SoftTarget`]: CE(m(y), λ·e_y + (1 − λ)·e_y\[perm\]) (equal to Noisy-ArcMix),
///
/// where m(t) = `model.margin_logits(logits, t)`. Gradients flow through `logits` (and the head weights used by
/// `margin_logits`) when they are tracked.
///
/// # Shapes
/// - `logits`: `[batch, n_classes]` without margin ([`ModelOutput::logits`](asd_models::ModelOutput)),
///   `labels`: `[batch]` class indices; output `[1]`, the mean loss in nats
///
/// # Panics
/// If the shapes disagree, `mix` is for another batch size, or a label is not below `n_classes`.
pub fn training_loss<E: Embedder + ?Sized>(
    kind: MixupLoss,
    model: &E,
    logits: Tensor<2>,
    labels: Tensor<1, Int>,
    mix: Option<&Mix>,
) -> Tensor<1> {
    training_loss_with(kind, |z, y| model.margin_logits(z, y), logits, labels, mix)
}

/// [`training_loss`] with the margin given as a function (`margin(logits, labels)` → logits with each row's margin
/// on its label), for a head used without an [`Embedder`], e.g.
/// `|z, y| head.apply_margin(z, y)` with [`ArcFace`](asd_models::head::arcface::ArcFace).
///
/// # Shapes
/// As [`training_loss`].
///
/// # Panics
/// As [`training_loss`].
pub fn training_loss_with<M>(
    kind: MixupLoss,
    margin: M,
    logits: Tensor<2>,
    labels: Tensor<1, Int>,
    mix: Option<&Mix>,
) -> Tensor<1>
where
    M: Fn(Tensor<2>, Tensor<1, Int>) -> Tensor<2>,
{
    let [batch] = labels.dims();
    let [_, n_classes] = logits.dims();
    assert_shape!(logits, [batch, n_classes]);
    let mix = match mix {
        Some(mix) if !mix.is_identity() => mix,
        // λ = 1: every form reduces to the ArcFace loss of the original labels (the second term has weight 0).
        _ => return cross_entropy(margin(logits, labels.clone()), labels),
    };
    assert!(
        mix.perm.len() == batch,
        "mixup draw for batch {} used on a batch of {batch}",
        mix.perm.len()
    );
    let (lambda, partner) = (mix.lambda, mix.partner_labels(labels.clone()));
    match kind {
        MixupLoss::ArcMix => {
            let own = cross_entropy(margin(logits.clone(), labels.clone()), labels);
            let other = cross_entropy(margin(logits, partner.clone()), partner);
            own.mul_scalar(lambda).add(other.mul_scalar(1.0 - lambda))
        }
        MixupLoss::NoisyArcMix => {
            let z = margin(logits, labels.clone());
            let own = cross_entropy(z.clone(), labels);
            let other = cross_entropy(z, partner);
            own.mul_scalar(lambda).add(other.mul_scalar(1.0 - lambda))
        }
        MixupLoss::SoftTarget => {
            let z = margin(logits, labels.clone());
            let target = labels
                .one_hot::<2>(n_classes)
                .float()
                .mul_scalar(lambda)
                .add(partner.one_hot::<2>(n_classes).float().mul_scalar(1.0 - lambda));
            cross_entropy_soft(z, target)
        }
    }
}

/// The anomaly score of each example: −log softmax(margin_logits(logits, y))_y, the cross-entropy with the margin
/// on the example's own (machine-ID) class; larger = more anomalous (losses_arcmix.md §8, STgram-MFN and
/// Noisy-ArcMix test scores). Use eval-mode logits of unmixed inputs.
///
/// # Shapes
/// - `logits`: `[batch, n_classes]` without margin, `labels`: `[batch]`; output `[batch]` (nats)
///
/// # Panics
/// If the shapes disagree or a label is not below `n_classes`.
pub fn anomaly_score<E: Embedder + ?Sized>(model: &E, logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
    anomaly_score_with(|z, y| model.margin_logits(z, y), logits, labels)
}

/// [`anomaly_score`] with the margin given as a function, as in [`training_loss_with`].
///
/// # Shapes
/// As [`anomaly_score`].
///
/// # Panics
/// As [`anomaly_score`].
pub fn anomaly_score_with<M>(margin: M, logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1>
where
    M: Fn(Tensor<2>, Tensor<1, Int>) -> Tensor<2>,
{
    let [batch] = labels.dims();
    assert_shape!(logits, [batch, _]);
    cross_entropy_per_sample(margin(logits, labels.clone()), labels)
}

//! Extraction: embeddings, logits and anomaly scores of every example, in evaluation mode and in batches.

use crate::error::{Error, Result};
use crate::examples::Examples;
use crate::step::{Batch, check_labels};
use crate::train::{host, make_batch};
use asd_models::Embedder;
use asd_models::burn::module::Module;
use asd_models::burn::tensor::{Device, Int, Tensor};
use ndarray::{Array1, Array2};

/// What [`embed`] returns, one row per example in the source's order.
#[derive(Clone, Debug, PartialEq)]
pub struct Extracted {
    /// Embeddings `[examples, embedding_dim]`: what the scorers fit on.
    pub embeddings: Array2<f32>,
    /// Logits without margin `[examples, n_classes]` (for ArcFace: s·cos).
    pub logits: Array2<f32>,
    /// Anomaly scores `[examples]` from the logits and each example's label, by the score function given to
    /// [`embed`] (e.g. −log softmax of the margin logits at the label, in nats; larger = more anomalous); `None`
    /// unless asked for.
    pub scores: Option<Array1<f32>>,
}

/// An anomaly score from a model's logits `[batch, n_classes]` and labels `[batch]`: `[batch]`, larger = more
/// anomalous.
pub type ScoreFn<M> = dyn Fn(&M, Tensor<2>, Tensor<1, Int>) -> Tensor<1>;

/// Rows of a `[batch, width]` tensor appended to `out` (row-major); returns the width.
fn append_rows(tensor: Tensor<2>, out: &mut Vec<f32>) -> Result<usize> {
    let [_, width] = tensor.dims();
    out.extend(host::<2, _, f32>(tensor)?);
    Ok(width)
}

/// Embeds every example of `examples` with `model` in evaluation mode (no autodiff, BatchNorm on running
/// statistics, no mixup), `batch_size` examples at a time on `device` (its autodiff setting is ignored). Each
/// batch of the source is converted into the model's input (`Into<M::Input>`, the identity for the same type).
///
/// With `score`, also computes each example's anomaly score from its logits and label, `score(model, logits
/// [batch, n_classes], labels [batch]) → [batch]` (the system's class-confidence score, e.g.
/// `asd_losses::anomaly_score`, losses_arcmix.md §8). `progress(done, total)` is called after each batch with
/// counts of examples.
///
/// # Errors
/// [`Error::Config`] (`batch_size`) for a batch size of 0; [`Error::LabelOutOfRange`] when `score` is given and a
/// label is not below the model's number of classes; [`Error::Burn`] if reading results back fails.
///
/// # Panics
/// If the inputs do not have the shape the model was configured for (a programming error, as in Burn).
pub fn embed<M, E>(
    model: &M,
    examples: &E,
    batch_size: usize,
    device: &Device,
    score: Option<&ScoreFn<M>>,
    progress: &dyn Fn(usize, usize),
) -> Result<Extracted>
where
    M: Embedder + Module,
    E: Examples + ?Sized,
    E::Input: Into<M::Input>,
{
    if batch_size == 0 {
        return Err(Error::config("batch_size", "must be ≥ 1"));
    }
    let device = device.clone().without_autodiff();
    let model = model.valid().to_device(&device);
    let n = examples.len();
    let (mut embeddings, mut logits, mut score_values) = (Vec::new(), Vec::new(), Vec::new());
    let (mut dim, mut classes) = (0, 0);
    let indices: Vec<usize> = (0..n).collect();
    for chunk in indices.chunks(batch_size) {
        let Batch {
            input,
            labels,
            label_values,
            ..
        } = make_batch(examples, chunk, &device)?;
        let out = model.forward(input.into());
        if let Some(score) = score {
            let [_, n_classes] = out.logits.dims();
            check_labels(chunk, &label_values, n_classes)?;
            score_values.extend(host::<1, _, f32>(score(&model, out.logits.clone(), labels))?);
        }
        dim = append_rows(out.embedding, &mut embeddings)?;
        classes = append_rows(out.logits, &mut logits)?;
        progress(chunk.last().map_or(0, |&i| i + 1), n);
    }
    let shaped = |values: Vec<f32>, width: usize| {
        Array2::from_shape_vec((n, width), values).map_err(|e| Error::Burn(format!("readback shape: {e}")))
    };
    Ok(Extracted {
        embeddings: shaped(embeddings, dim)?,
        logits: shaped(logits, classes)?,
        scores: score.map(|_| Array1::from_vec(score_values)),
    })
}

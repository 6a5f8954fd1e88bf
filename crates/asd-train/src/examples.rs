//! Streaming data sources for the trainer and the extractor: labelled examples read batch by batch from a
//! feature store (the memory-mapped [`FeatureCache`] or an in-memory array), never all at once.

use crate::error::{Error, Result};
use asd_data::FeatureCache;
use asd_models::burn::tensor::{Device, Tensor, TensorData};
use ndarray::{Array3, ArrayView2, Axis};

/// Per-clip features, `[rows, cols]` f32 for every clip: what the sources read from.
///
/// Implemented for the on-disk [`FeatureCache`] (memory-mapped; what training at scale uses) and for an
/// in-memory `Array3<f32>` `[clips, rows, cols]` (small data, tests).
pub trait FeatureStore: Sync {
    /// Number of clips.
    fn len(&self) -> usize;
    /// Whether there is no clip.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// `(rows, cols)` of one clip's features.
    fn feature_shape(&self) -> (usize, usize);
    /// The features of clip `i`, `[rows, cols]`.
    ///
    /// # Panics
    /// When `i >= len()` (the sources check indices before calling it).
    fn clip(&self, i: usize) -> ArrayView2<'_, f32>;
}

impl FeatureStore for FeatureCache {
    fn len(&self) -> usize {
        FeatureCache::len(self)
    }
    fn feature_shape(&self) -> (usize, usize) {
        FeatureCache::feature_shape(self)
    }
    fn clip(&self, i: usize) -> ArrayView2<'_, f32> {
        self.get(i)
    }
}

impl FeatureStore for Array3<f32> {
    fn len(&self) -> usize {
        self.dim().0
    }
    fn feature_shape(&self) -> (usize, usize) {
        let (_, rows, cols) = self.dim();
        (rows, cols)
    }
    fn clip(&self, i: usize) -> ArrayView2<'_, f32> {
        self.index_axis(Axis(0), i)
    }
}

/// Labelled examples that the trainer and the extractor read in batches.
///
/// Example indices run over `0..len()`; a batch is built on demand from the indices of its examples, so a
/// source never holds more than one batch in memory.
pub trait Examples: Sync {
    /// The batched model input, e.g. `Tensor<2>` `[batch, cols]`.
    type Input;

    /// Number of examples.
    fn len(&self) -> usize;

    /// Whether there is no example.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The class label of example `i` (a machine class index of the model's head).
    ///
    /// # Panics
    /// When `i >= len()`.
    fn label(&self, i: usize) -> usize;

    /// The model input of the examples `indices`, in that order, on `device`.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] for an index not below [`len`](Self::len).
    fn batch(&self, indices: &[usize], device: &Device) -> Result<Self::Input>;
}

/// Checks that each index is below `len`.
fn check_indices(indices: &[usize], len: usize) -> Result<()> {
    match indices.iter().find(|&&i| i >= len) {
        Some(&index) => Err(Error::IndexOutOfRange { index, len }),
        None => Ok(()),
    }
}

/// Checks that there is one label per clip.
fn check_labels(labels: &[usize], clips: usize) -> Result<()> {
    if labels.len() == clips {
        Ok(())
    } else {
        Err(Error::LabelCount {
            labels: labels.len(),
            clips,
        })
    }
}

/// Several stores of features of the same shape read as one, clip after clip (e.g. the training clips, then extra
/// training-only clips such as DCASE 2025's supplemental ones).
#[derive(Clone, Copy)]
pub struct Chained<'a> {
    first: &'a dyn FeatureStore,
    second: &'a dyn FeatureStore,
}

impl std::fmt::Debug for Chained<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Chained({} + {} clips of {:?})",
            self.first.len(),
            self.second.len(),
            self.feature_shape()
        )
    }
}

impl<'a> Chained<'a> {
    /// The clips of `first`, then those of `second`; an empty `second` may have any shape.
    ///
    /// # Errors
    /// [`Error::PairMismatch`] when both hold clips and their feature shapes differ.
    pub fn new(first: &'a dyn FeatureStore, second: &'a dyn FeatureStore) -> Result<Self> {
        if !second.is_empty() && first.feature_shape() != second.feature_shape() {
            return Err(Error::PairMismatch(format!(
                "chained feature stores of shapes {:?} and {:?}",
                first.feature_shape(),
                second.feature_shape()
            )));
        }
        Ok(Self { first, second })
    }
}

impl FeatureStore for Chained<'_> {
    fn len(&self) -> usize {
        self.first.len() + self.second.len()
    }
    fn feature_shape(&self) -> (usize, usize) {
        self.first.feature_shape()
    }
    fn clip(&self, i: usize) -> ArrayView2<'_, f32> {
        match i.checked_sub(self.first.len()) {
            Some(j) => self.second.clip(j),
            None => self.first.clip(i),
        }
    }
}

/// Every row of every clip is one example: `[batch, cols]` (`Tensor<2>`), labelled with its clip's label.
///
/// Example `i` is row `i % rows` of clip `i / rows`. This is ASDNet's and SpecMFN's training set: a cache of
/// segment spectra `[segments, bins]` per clip gives one example per 2-s segment (asdnet_specmfn.md §5). A
/// cache with one row per clip (e.g. raw waveforms `[1, samples]`) gives one example per clip.
#[derive(Clone, Copy, Debug)]
pub struct Rows<'a, S: ?Sized = dyn FeatureStore + 'a> {
    store: &'a S,
    labels: &'a [usize],
}

impl<'a, S: FeatureStore + ?Sized> Rows<'a, S> {
    /// The rows of `store`, with `labels[c]` the label of clip `c`.
    ///
    /// # Errors
    /// [`Error::LabelCount`] unless there is one label per clip.
    pub fn new(store: &'a S, labels: &'a [usize]) -> Result<Self> {
        check_labels(labels, store.len())?;
        Ok(Self { store, labels })
    }

    /// Rows per clip.
    pub fn rows_per_clip(&self) -> usize {
        self.store.feature_shape().0
    }

    /// The clip that example `i` comes from (to pool per-row scores into clip scores).
    pub fn clip_of(&self, i: usize) -> usize {
        i / self.rows_per_clip().max(1)
    }
}

impl<S: FeatureStore + ?Sized> Examples for Rows<'_, S> {
    type Input = Tensor<2>;

    fn len(&self) -> usize {
        self.store.len() * self.rows_per_clip()
    }

    fn label(&self, i: usize) -> usize {
        self.labels[self.clip_of(i)]
    }

    /// # Shapes
    /// `[indices.len(), cols]`.
    fn batch(&self, indices: &[usize], device: &Device) -> Result<Tensor<2>> {
        check_indices(indices, self.len())?;
        let (rows, cols) = self.store.feature_shape();
        let mut data: Vec<f32> = Vec::with_capacity(indices.len() * cols);
        for &i in indices {
            data.extend(self.store.clip(i / rows).row(i % rows).iter());
        }
        Ok(Tensor::from_data(TensorData::new(data, [indices.len(), cols]), device))
    }
}

/// Every clip is one example: `[batch, rows, cols]` (`Tensor<3>`), e.g. log-Mel images `[batch, n_mels,
/// frames]` for LogMel-MFN and STgram-MFN.
#[derive(Clone, Copy, Debug)]
pub struct Clips<'a, S: ?Sized = dyn FeatureStore + 'a> {
    store: &'a S,
    labels: &'a [usize],
}

impl<'a, S: FeatureStore + ?Sized> Clips<'a, S> {
    /// The clips of `store`, with `labels[c]` the label of clip `c`.
    ///
    /// # Errors
    /// [`Error::LabelCount`] unless there is one label per clip.
    pub fn new(store: &'a S, labels: &'a [usize]) -> Result<Self> {
        check_labels(labels, store.len())?;
        Ok(Self { store, labels })
    }
}

impl<S: FeatureStore + ?Sized> Examples for Clips<'_, S> {
    type Input = Tensor<3>;

    fn len(&self) -> usize {
        self.store.len()
    }

    fn label(&self, i: usize) -> usize {
        self.labels[i]
    }

    /// # Shapes
    /// `[indices.len(), rows, cols]`.
    fn batch(&self, indices: &[usize], device: &Device) -> Result<Tensor<3>> {
        check_indices(indices, self.len())?;
        let (rows, cols) = self.store.feature_shape();
        let mut data: Vec<f32> = Vec::with_capacity(indices.len() * rows * cols);
        for &i in indices {
            data.extend(self.store.clip(i).iter());
        }
        Ok(Tensor::from_data(
            TensorData::new(data, [indices.len(), rows, cols]),
            device,
        ))
    }
}

/// Two sources over the same examples, batched together: `(A::Input, B::Input)`, e.g. STgram-MFN's
/// waveform `[batch, samples]` and log-Mel `[batch, n_mels, frames]` of the same clips.
#[derive(Clone, Copy, Debug)]
pub struct Paired<A, B> {
    first: A,
    second: B,
}

impl<A: Examples, B: Examples> Paired<A, B> {
    /// Pairs `first` and `second`, which must have the same length and the same label for every example.
    ///
    /// # Errors
    /// [`Error::PairMismatch`] naming the first difference.
    pub fn new(first: A, second: B) -> Result<Self> {
        if first.len() != second.len() {
            return Err(Error::PairMismatch(format!(
                "{} examples in the first source, {} in the second",
                first.len(),
                second.len()
            )));
        }
        if let Some(i) = (0..first.len()).find(|&i| first.label(i) != second.label(i)) {
            return Err(Error::PairMismatch(format!(
                "example {i} has label {} in the first source and {} in the second",
                first.label(i),
                second.label(i)
            )));
        }
        Ok(Self { first, second })
    }

    /// The two sources.
    pub fn parts(&self) -> (&A, &B) {
        (&self.first, &self.second)
    }
}

impl<A: Examples, B: Examples> Examples for Paired<A, B> {
    type Input = (A::Input, B::Input);

    fn len(&self) -> usize {
        self.first.len()
    }

    fn label(&self, i: usize) -> usize {
        self.first.label(i)
    }

    fn batch(&self, indices: &[usize], device: &Device) -> Result<Self::Input> {
        Ok((self.first.batch(indices, device)?, self.second.batch(indices, device)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 3 clips × 2 rows × 4 cols, value = 100·clip + 10·row + col.
    fn store() -> Array3<f32> {
        Array3::from_shape_fn((3, 2, 4), |(c, r, k)| (100 * c + 10 * r + k) as f32)
    }

    fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().unwrap_or_default()
    }

    /// Criterion: rows are numbered clip-major, carry their clip's label, and batch in the order asked.
    #[test]
    fn rows_are_clip_major_examples_with_their_clips_label() {
        let store = store();
        let labels = [7, 8, 9];
        let rows = Rows::new(&store, &labels).unwrap();
        assert_eq!(rows.len(), 6);
        assert_eq!((0..6).map(|i| rows.label(i)).collect::<Vec<_>>(), [7, 7, 8, 8, 9, 9]);
        let batch = rows.batch(&[5, 0], &Device::flex()).unwrap();
        assert_eq!(batch.dims(), [2, 4]);
        assert_eq!(values(batch), [210.0, 211.0, 212.0, 213.0, 0.0, 1.0, 2.0, 3.0]);
        assert!(matches!(
            rows.batch(&[6], &Device::flex()),
            Err(Error::IndexOutOfRange { index: 6, len: 6 })
        ));
    }

    /// Criterion: a clip source batches whole clips `[batch, rows, cols]`; label counts are checked.
    #[test]
    fn clips_batch_whole_clips_and_label_counts_are_checked() {
        let store = store();
        let labels = [0, 1, 2];
        let clips = Clips::new(&store, &labels).unwrap();
        assert_eq!((clips.len(), clips.label(2)), (3, 2));
        let batch = clips.batch(&[1], &Device::flex()).unwrap();
        assert_eq!(batch.dims(), [1, 2, 4]);
        assert_eq!(values(batch)[4..], [110.0, 111.0, 112.0, 113.0]);
        assert!(matches!(
            Clips::new(&store, &[0, 1]),
            Err(Error::LabelCount { labels: 2, clips: 3 })
        ));
        assert!(matches!(
            Rows::new(&store, &[0; 4]),
            Err(Error::LabelCount { labels: 4, clips: 3 })
        ));
    }

    /// Criterion: a pair batches both sources on the same indices; length and label differences are errors.
    #[test]
    fn pairs_batch_together_and_reject_mismatches() {
        let store = store();
        let one_row = Array3::from_shape_fn((3, 1, 2), |(c, _, k)| (c * 10 + k) as f32);
        let labels = [0, 1, 2];
        let pair = Paired::new(
            Rows::new(&one_row, &labels).unwrap(),
            Clips::new(&store, &labels).unwrap(),
        )
        .unwrap();
        let (wave, image) = pair.batch(&[2, 1], &Device::flex()).unwrap();
        assert_eq!((wave.dims(), image.dims()), ([2, 2], [2, 2, 4]));
        assert_eq!(values(wave), [20.0, 21.0, 10.0, 11.0]);

        let other = [0, 5, 2];
        let err = Paired::new(
            Clips::new(&store, &labels).unwrap(),
            Clips::new(&store, &other).unwrap(),
        );
        assert!(matches!(err, Err(Error::PairMismatch(m)) if m.contains("example 1")));
        let err = Paired::new(
            Rows::new(&store, &labels).unwrap(),
            Clips::new(&store, &labels).unwrap(),
        );
        assert!(matches!(err, Err(Error::PairMismatch(m)) if m.contains("6 examples")));
    }
}

//! Exact brute-force k-nearest-neighbour search, blocked and parallel over query rows.
//!
//! linfa-nn's indices (linear scan, k-d tree, ball tree) compute one pair at a time; in 64–256 dimensions
//! trees prune almost nothing, so the search here is a linear scan whose Euclidean and cosine distances come
//! from matrix products (`‖q‖² + ‖t‖² − 2 q·t`), with the selected neighbours' Euclidean distances recomputed
//! directly. The other four metrics are evaluated pair by pair.

use ndarray::{Array1, Array2, ArrayView2, Axis, s};
use rayon::prelude::*;

use crate::linalg::{flat, row_norms, standard, unit_rows};
use crate::metric::Metric;

/// Query rows per parallel task.
const QUERY_BLOCK: usize = 64;

/// Training points prepared for a metric.
#[derive(Clone, Debug)]
pub(crate) struct Index {
    metric: Metric,
    /// The training rows (unit rows for cosine), standard layout.
    data: Array2<f64>,
    /// Squared norms of `data` (Euclidean only; empty otherwise).
    sq_norms: Array1<f64>,
}

/// The `k` nearest training rows of each query row, nearest first (ties by lower index).
pub(crate) struct Neighbours {
    /// `[n_query, k]` training-row indices.
    pub index: Array2<usize>,
    /// `[n_query, k]` distances.
    pub dist: Array2<f64>,
}

impl Index {
    /// Prepares `train` (`[n, dim]`, finite; non-zero rows for cosine) for queries under `metric`.
    pub(crate) fn new(train: ArrayView2<'_, f64>, metric: Metric) -> Self {
        let data = match metric {
            Metric::Cosine => unit_rows(train),
            _ => standard(train).into_owned(),
        };
        let sq_norms = match metric {
            Metric::Euclidean => row_norms(data.view()).mapv(|n| n * n),
            _ => Array1::zeros(0),
        };
        Self { metric, data, sq_norms }
    }

    /// Number of training rows.
    pub(crate) fn len(&self) -> usize {
        self.data.nrows()
    }

    /// Width of the training rows.
    pub(crate) fn dim(&self) -> usize {
        self.data.ncols()
    }

    /// The metric.
    pub(crate) fn metric(&self) -> Metric {
        self.metric
    }

    /// The `k` nearest training rows of every query row (`k ≤ len`, or `len − 1` with `exclude_self`).
    /// With `exclude_self`, query row `i` is training row `i` and is skipped (scikit-learn's
    /// `kneighbors()` without an argument).
    pub(crate) fn query(&self, query: ArrayView2<'_, f64>, k: usize, exclude_self: bool) -> Neighbours {
        let query = match self.metric {
            Metric::Cosine => unit_rows(query).into(),
            _ => standard(query),
        };
        let (dim, qflat) = (self.data.ncols(), flat(&query));
        let mut index = Array2::<usize>::zeros((query.nrows(), k));
        let mut dist = Array2::<f64>::zeros((query.nrows(), k));
        index
            .axis_chunks_iter_mut(Axis(0), QUERY_BLOCK)
            .into_par_iter()
            .zip(dist.axis_chunks_iter_mut(Axis(0), QUERY_BLOCK))
            .enumerate()
            .for_each(|(b, (mut index, mut dist))| {
                let start = b * QUERY_BLOCK;
                let q = query.slice(s![start..start + index.nrows(), ..]);
                let block = self.block_distances(q);
                for (r, (mut irow, mut drow)) in index.outer_iter_mut().zip(dist.outer_iter_mut()).enumerate() {
                    let skip = if exclude_self { start + r } else { usize::MAX };
                    let mut best = select_k(block.row(r).iter().copied(), k, skip);
                    if self.metric == Metric::Euclidean {
                        // Exact distances for the chosen few; then re-sort.
                        let qrow = &qflat[(start + r) * dim..(start + r + 1) * dim];
                        for e in &mut best {
                            e.0 = Metric::Euclidean.eval(qrow, self.row(e.1));
                        }
                        best.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                    }
                    for (j, (d, i)) in best.into_iter().enumerate() {
                        drow[j] = d;
                        irow[j] = i;
                    }
                }
            });
        Neighbours { index, dist }
    }

    fn row(&self, i: usize) -> &[f64] {
        let dim = self.data.ncols();
        &self.data.as_slice().expect("standard layout")[i * dim..(i + 1) * dim] // ok: built standard in `new`
    }

    /// `[n_query, len]` distances, or squared Euclidean distances, from each query row to each training row.
    fn block_distances(&self, q: ArrayView2<'_, f64>) -> Array2<f64> {
        match self.metric {
            Metric::Euclidean => {
                let mut g = q.dot(&self.data.t());
                let qn = row_norms(q).mapv(|n| n * n);
                for (mut row, &qq) in g.outer_iter_mut().zip(&qn) {
                    row.zip_mut_with(&self.sq_norms, |v, &tt| *v = (qq + tt - 2.0 * *v).max(0.0));
                }
                g
            }
            Metric::Cosine => q.dot(&self.data.t()).mapv_into(|c| 1.0 - c),
            metric => {
                let mut out = Array2::zeros((q.nrows(), self.len()));
                for (mut orow, qrow) in out.outer_iter_mut().zip(q.outer_iter()) {
                    let qrow = qrow.to_vec();
                    for (o, i) in orow.iter_mut().zip(0..) {
                        *o = metric.eval(&qrow, self.row(i));
                    }
                }
                out
            }
        }
    }
}

/// The `k` smallest `(value, index)` pairs of `values` (ties by lower index), skipping index `skip`.
fn select_k(values: impl Iterator<Item = f64>, k: usize, skip: usize) -> Vec<(f64, usize)> {
    let mut best: Vec<(f64, usize)> = Vec::with_capacity(k + 1);
    for (i, v) in values.enumerate() {
        if i == skip || (best.len() == k && v >= best[k - 1].0) {
            continue;
        }
        let at = best.partition_point(|e| e.0 <= v);
        best.insert(at, (v, i));
        best.truncate(k);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use linfa_nn::{LinearSearch, NearestNeighbour};

    fn data(n: usize, seed: usize) -> Array2<f64> {
        Array2::from_shape_fn((n, 5), |(i, j)| (((i + seed) * 31 + j * 17) as f64 * 0.37).sin() + 0.2 * j as f64)
    }

    #[test]
    fn select_k_orders_and_skips() {
        let v = [3.0, 1.0, 2.0, 1.0, 0.5];
        assert_eq!(select_k(v.into_iter(), 3, 4), vec![(1.0, 1), (1.0, 3), (2.0, 2)]);
    }

    /// Cross-check: our blocked search agrees with linfa-nn's linear scan for every metric.
    #[test]
    fn agrees_with_linfa_nn_linear_search() {
        let (train, test) = (data(150, 0), data(70, 1000));
        for metric in [
            Metric::Euclidean,
            Metric::Manhattan,
            Metric::Chebyshev,
            Metric::Cosine,
            Metric::Canberra,
            Metric::BrayCurtis,
        ] {
            let ours = Index::new(train.view(), metric).query(test.view(), 4, false);
            let linfa = LinearSearch::new().from_batch(&train, metric).unwrap();
            for (r, q) in test.outer_iter().enumerate() {
                let theirs = linfa.k_nearest(q, 4).unwrap();
                for (j, (_, i)) in theirs.iter().enumerate() {
                    assert_eq!(ours.index[[r, j]], *i, "{metric:?} row {r}");
                    let d = metric.eval(&q.to_vec(), &train.row(*i).to_vec());
                    assert!((ours.dist[[r, j]] - d).abs() <= 1e-12 * d.max(1.0), "{metric:?}");
                }
            }
        }
    }

    #[test]
    fn exclude_self_skips_the_query_row() {
        let train = data(40, 0);
        let nb = Index::new(train.view(), Metric::Manhattan).query(train.view(), 3, true);
        assert!(nb.index.outer_iter().enumerate().all(|(i, row)| !row.iter().any(|&j| j == i)));
    }
}

//! Exact k-nearest-neighbour search, blocked and parallel over query rows.
//!
//! linfa-nn's indices (linear scan, k-d tree, ball tree) compute one pair at a time, and in 64–256
//! dimensions its trees prune little, so the search here is our own. For Euclidean and cosine distances the
//! training rows are split into compact clusters (a few Lloyd iterations), distances come from matrix
//! products (`‖q‖² + ‖t‖² − 2 q·t`) between a block of query rows and one cluster, and a cluster is
//! skipped when the triangle inequality proves none of its rows can enter any block row's k nearest
//! (`‖q − t‖ ≥ ‖q − c‖ − radius`). The selected neighbours' distances are then recomputed directly, so the
//! result is the exact brute-force answer. The other four metrics scan all pairs.

use linfa_nn::distance::Distance;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis, s};
use rayon::prelude::*;

use crate::kmeans::{assign, update_centres};
use crate::linalg::{par_dot, row_norms, standard, unit_rows};
use crate::metric::Metric;

/// Query rows per parallel task.
const QUERY_BLOCK: usize = 64;
/// Target training rows per pruning cluster.
const CLUSTER_SIZE: usize = 256;
/// At most this many pruning clusters.
const MAX_CLUSTERS: usize = 64;
/// Lloyd iterations that shape the pruning clusters (any partition is exact; this only tunes speed).
const CLUSTER_ITERS: usize = 2;
/// Relative slack on the pruning test, far above the rounding of the product-form distances.
const PRUNE_SLACK: f64 = 1e-8;

/// Training points prepared for a metric, reordered so that each pruning cluster is contiguous.
#[derive(Clone, Debug)]
pub(crate) struct Index {
    metric: Metric,
    /// Training rows (unit rows for cosine) in cluster order, standard layout.
    data: Array2<f64>,
    /// Original row index of each row of `data`.
    order: Vec<usize>,
    /// Squared norms of `data` (Euclidean and cosine).
    sq_norms: Array1<f64>,
    /// Row ranges of the clusters in `data`: cluster `c` is `bounds[c]..bounds[c + 1]`.
    bounds: Vec<usize>,
    /// Cluster centres `[n_clusters, dim]` and radii (largest Euclidean member distance; ∞: never prune).
    centres: Array2<f64>,
    radius: Vec<f64>,
}

/// A query row and its neighbours: `(row, [(distance, training row)])`, nearest first.
type RowNeighbours = (usize, Vec<(f64, usize)>);

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
        let prepared = match metric {
            Metric::Cosine => unit_rows(train).into(),
            _ => standard(train),
        };
        let n = prepared.nrows();
        let n_clusters = if metric_uses_products(metric) {
            (n / CLUSTER_SIZE).clamp(1, MAX_CLUSTERS)
        } else {
            1
        };
        let (labels, centres) = partition(prepared.view(), n_clusters);
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| labels[i]);
        let data = prepared.select(Axis(0), &order);
        let mut bounds = vec![0; n_clusters + 1];
        for &l in &labels {
            bounds[l + 1] += 1;
        }
        for c in 0..n_clusters {
            bounds[c + 1] += bounds[c];
        }
        let radius = (0..n_clusters)
            .map(|c| {
                if !metric_uses_products(metric) {
                    return f64::INFINITY;
                }
                let members = data.slice(s![bounds[c]..bounds[c + 1], ..]);
                members
                    .outer_iter()
                    .map(|r| euclid(r, centres.row(c)))
                    .fold(0.0, f64::max)
            })
            .collect();
        let sq_norms = row_norms(data.view()).mapv(|v| v * v);
        Self {
            metric,
            data,
            order,
            sq_norms,
            bounds,
            centres,
            radius,
        }
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
        let nq = query.nrows();
        // Distance from every query row to every cluster centre; queries are processed grouped by their
        // nearest centre so that a block's rows share their pruning.
        let mut to_centre = par_dot(query.view(), self.centres.t());
        let c_sq = row_norms(self.centres.view()).mapv(|v| v * v);
        for (mut row, q) in to_centre.outer_iter_mut().zip(query.outer_iter()) {
            let qq = q.dot(&q);
            row.zip_mut_with(&c_sq, |v, &cc| *v = (qq + cc - 2.0 * *v).max(0.0).sqrt());
        }
        let nearest: Vec<usize> = to_centre
            .outer_iter()
            .map(|r| {
                r.iter()
                    .enumerate()
                    .fold((0, f64::INFINITY), |b, (c, &d)| if d < b.1 { (c, d) } else { b })
                    .0
            })
            .collect();
        // Blocks never mix nearest clusters, so each block visits only what its own rows need.
        let mut by_cluster: Vec<Vec<usize>> = vec![Vec::new(); self.centres.nrows()];
        for (q, &c) in nearest.iter().enumerate() {
            by_cluster[c].push(q);
        }
        let row_blocks: Vec<&[usize]> = by_cluster.iter().flat_map(|rows| rows.chunks(QUERY_BLOCK)).collect();
        let blocks: Vec<Vec<RowNeighbours>> = row_blocks
            .into_par_iter()
            .map(|rows| self.query_block(query.view(), rows, &to_centre, k, exclude_self))
            .collect();
        let mut index = Array2::<usize>::zeros((nq, k));
        let mut dist = Array2::<f64>::zeros((nq, k));
        for (q, best) in blocks.into_iter().flatten() {
            for (j, (d, i)) in best.into_iter().enumerate() {
                dist[[q, j]] = d;
                index[[q, j]] = i;
            }
        }
        Neighbours { index, dist }
    }

    /// Neighbours of the query rows `rows` (indices into `query`): `(row, [(distance, train index)])`.
    fn query_block(
        &self,
        query: ArrayView2<'_, f64>,
        rows: &[usize],
        to_centre: &Array2<f64>,
        k: usize,
        exclude_self: bool,
    ) -> Vec<RowNeighbours> {
        let q = query.select(Axis(0), rows);
        let qn = row_norms(q.view()).mapv(|v| v * v);
        let max_tn = self.sq_norms.iter().copied().fold(0.0, f64::max);
        // Per row: current best (rdist, row of `data`), sorted.
        let mut best: Vec<Vec<(f64, usize)>> = vec![Vec::with_capacity(k + 1); rows.len()];
        let mut clusters: Vec<usize> = (0..self.centres.nrows()).collect();
        let closeness = |c: usize| rows.iter().map(|&r| to_centre[[r, c]]).fold(f64::INFINITY, f64::min);
        clusters.sort_by(|&a, &b| closeness(a).total_cmp(&closeness(b)));
        for c in clusters {
            let (lo, hi) = (self.bounds[c], self.bounds[c + 1]);
            if lo == hi {
                continue;
            }
            let needed = rows.iter().zip(&best).zip(&qn).any(|((&r, b), &qq)| {
                if b.len() < k {
                    return true;
                }
                let lb = to_centre[[r, c]] - self.radius[c];
                let kth = b[k - 1].0;
                !(lb > 0.0 && lb * lb > kth + PRUNE_SLACK * (kth + qq + max_tn))
            });
            if !needed {
                continue;
            }
            let block = self.block_rdist(q.view(), &qn, lo, hi);
            for ((&r, b), vals) in rows.iter().zip(&mut best).zip(block.outer_iter()) {
                let skip = if exclude_self { Some(r) } else { None };
                for (j, &v) in (lo..hi).zip(vals) {
                    if (b.len() == k && v >= b[k - 1].0) || Some(self.order[j]) == skip {
                        continue;
                    }
                    let at = b.partition_point(|e| e.0 <= v);
                    b.insert(at, (v, j));
                    b.truncate(k);
                }
            }
        }
        rows.iter()
            .zip(best)
            .zip(q.outer_iter())
            .map(|((&r, b), qrow)| {
                let mut out: Vec<(f64, usize)> = b
                    .into_iter()
                    .map(|(v, j)| (self.final_distance(qrow, j, v), self.order[j]))
                    .collect();
                out.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                (r, out)
            })
            .collect()
    }

    /// `[n_rows(q), hi − lo]` ranking distances from the rows of `q` to training rows `lo..hi` of `data`:
    /// squared Euclidean distances between prepared rows (Euclidean, cosine), the distance itself otherwise.
    fn block_rdist(&self, q: ArrayView2<'_, f64>, qn: &Array1<f64>, lo: usize, hi: usize) -> Array2<f64> {
        let t = self.data.slice(s![lo..hi, ..]);
        if metric_uses_products(self.metric) {
            let mut g = q.dot(&t.t());
            let tn = self.sq_norms.slice(s![lo..hi]);
            for (mut row, &qq) in g.outer_iter_mut().zip(qn) {
                row.zip_mut_with(&tn, |v, &tt| *v = (qq + tt - 2.0 * *v).max(0.0));
            }
            g
        } else {
            Array2::from_shape_fn((q.nrows(), hi - lo), |(i, j)| self.metric.distance(q.row(i), t.row(j)))
        }
    }

    /// The exact distance from `qrow` (prepared) to row `j` of `data`, whose ranking distance was `rdist`.
    fn final_distance(&self, qrow: ArrayView1<'_, f64>, j: usize, rdist: f64) -> f64 {
        match self.metric {
            Metric::Euclidean => euclid(qrow, self.data.row(j)),
            Metric::Cosine => 1.0 - qrow.dot(&self.data.row(j)),
            _ => rdist,
        }
    }
}

/// Whether the metric's neighbour search runs on matrix products and can prune (Euclidean, cosine).
fn metric_uses_products(metric: Metric) -> bool {
    matches!(metric, Metric::Euclidean | Metric::Cosine)
}

/// ‖a − b‖₂.
fn euclid(a: ArrayView1<'_, f64>, b: ArrayView1<'_, f64>) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>().sqrt()
}

/// Labels and centres of `n_clusters` compact clusters of `x`: evenly spaced rows as initial centres,
/// then a few Lloyd iterations (deterministic; any partition keeps the search exact).
fn partition(x: ArrayView2<'_, f64>, n_clusters: usize) -> (Vec<usize>, Array2<f64>) {
    if n_clusters == 1 {
        let centre = x.mean_axis(Axis(0)).unwrap_or_else(|| Array1::zeros(x.ncols()));
        return (vec![0; x.nrows()], centre.insert_axis(Axis(0)));
    }
    let chosen: Vec<usize> = (0..n_clusters).map(|c| c * x.nrows() / n_clusters).collect();
    let mut centres = x.select(Axis(0), &chosen);
    let mut labels = assign(x, centres.view());
    for _ in 0..CLUSTER_ITERS {
        centres = update_centres(x, &labels, &centres);
        labels = assign(x, centres.view());
    }
    (labels, centres)
}

#[cfg(test)]
mod tests {
    use super::*;
    use linfa_nn::{LinearSearch, NearestNeighbour};
    use ndarray::Array2;

    /// Four offset groups of rows, so that the search forms several clusters and prunes.
    fn data(n: usize, seed: usize) -> Array2<f64> {
        Array2::from_shape_fn((n, 5), |(i, j)| {
            (((i + seed) * 31 + j * 17) as f64 * 0.37).sin() + 0.2 * j as f64 + 4.0 * ((i % 4) == j % 4) as u8 as f64
        })
    }

    /// Cross-check: our blocked, pruned search agrees with linfa-nn's linear scan for every metric.
    #[test]
    fn agrees_with_linfa_nn_linear_search() {
        let (train, test) = (data(1100, 0), data(70, 1000));
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
        assert!(
            nb.index
                .outer_iter()
                .enumerate()
                .all(|(i, row)| !row.iter().any(|&j| j == i))
        );
    }
}

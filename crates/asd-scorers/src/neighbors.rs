//! Exact k-nearest-neighbour search, blocked and parallel over query rows.
//!
//! linfa-nn's indices (linear scan, k-d tree, ball tree) compute one pair at a time, and in 64–256
//! dimensions its trees prune little, so the search here is our own. For Euclidean and cosine distances the
//! training rows are split into compact clusters (a few Lloyd iterations), and a cluster is skipped when the
//! triangle inequality proves none of its rows can enter any block row's k nearest
//! (`‖q − t‖ ≥ ‖q − c‖ − radius`). Within the clusters that remain, candidates come from float32 matrix
//! products (`‖q‖² + ‖t‖² − 2 q·t` on rows centred on the training mean, about twice the speed of float64):
//! every training row whose float32 value lies within a proven rounding bound of the k-th smallest is kept,
//! the kept rows' distances are recomputed directly in float64, and the k smallest of those (ties by lower
//! index) are the answer, so the result is the exact float64 brute-force answer. The other four metrics scan
//! all pairs in float64.

use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2, ArrayView2, Axis, s};
use rayon::prelude::*;

use crate::kmeans::assign_sum;
use crate::linalg::{dot, par_dot, row_norms, sq_euclid, standard, unit_rows};
use crate::metric::Metric;

/// Query rows per parallel task.
const QUERY_BLOCK: usize = 128;
/// Target training rows per pruning cluster.
const CLUSTER_SIZE: usize = 256;
/// At most this many pruning clusters.
const MAX_CLUSTERS: usize = 64;
/// Lloyd iterations that shape the pruning clusters (any partition is exact; this only tunes speed).
const CLUSTER_ITERS: usize = 2;
/// Relative slack on the pruning test, far above the rounding of the float64 centre distances.
const PRUNE_SLACK: f64 = 1e-8;
/// Unit roundoff of float32 (2⁻²⁴).
const F32_UNIT: f64 = f32::EPSILON as f64 / 2.0;
/// A row's candidate list is compacted once it holds this many more entries than k.
const COMPACT_EXTRA: usize = 64;
/// Training rows tested together for any hit before any is pushed ([`Index::scan_products`]).
const SCAN_RUN: usize = 16;

/// Training points prepared for a metric, reordered so that each pruning cluster is contiguous.
#[derive(Clone, Debug)]
pub(crate) struct Index {
    metric: Metric,
    /// Training rows (unit rows for cosine) in cluster order, standard layout.
    data: Array2<f64>,
    /// Original row index of each row of `data`.
    order: Vec<usize>,
    /// Largest squared norm of a row of `data`.
    max_sq_norm: f64,
    /// Euclidean and cosine: the mean of the rows of `data`, subtracted before rounding to float32.
    shift: Array1<f64>,
    /// Euclidean and cosine: `data − shift` rounded to float32 (`[n, dim]`); `[0, dim]` otherwise.
    data32: Array2<f32>,
    /// Squared norms of the rows of `data32`, summed in float64.
    sq_norms32: Vec<f64>,
    /// Largest of `sq_norms32` (0 without float32 rows).
    max_sq_norm32: f64,
    /// Bound on |float32 ranking value − exact squared distance| relative to `‖q‖² + ‖t‖²` of the centred
    /// float32 rows ([`f32_margin`]); 0 for the metrics computed directly in float64.
    margin: f64,
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

/// Bound `m` with |v − ‖q − t‖²| ≤ m (‖q̃‖² + ‖t̃‖²) for the ranking value `v = ‖q̃‖² + ‖t̃‖² − 2 q̃·t̃`
/// of rows rounded to float32 (`q̃`, `t̃`; norms summed in float64, dot product in float32 over `dim`
/// terms): the dot product errs by at most γ_dim ‖q̃‖‖t̃‖ (γ_n = n u / (1 − n u), u = 2⁻²⁴, any summation
/// order), the rounding of the inputs moves ‖q − t‖² by at most about 4u (‖q‖² + ‖t‖²), and the float64
/// arithmetic adds far less; the sum is doubled for safety. ∞ when `dim · u` is not small.
fn f32_margin(dim: usize) -> f64 {
    let nu = dim as f64 * F32_UNIT;
    if nu >= 0.5 {
        return f64::INFINITY;
    }
    2.0 * (nu / (1.0 - nu) + 5.0 * F32_UNIT)
}

/// `x − shift` rounded to float32, and the squared norms of the rounded rows summed in float64.
fn centred_f32(x: ArrayView2<'_, f64>, shift: &Array1<f64>) -> (Array2<f32>, Array1<f64>) {
    let mut out = Array2::<f32>::zeros(x.raw_dim());
    let mut norms = Array1::<f64>::zeros(x.nrows());
    for ((mut o, r), n) in out.outer_iter_mut().zip(x.outer_iter()).zip(&mut norms) {
        *n = o.iter_mut().zip(r).zip(shift).fold(0.0, |acc, ((o, &v), &m)| {
            *o = (v - m) as f32;
            let w = f64::from(*o);
            acc + w * w
        });
    }
    (out, norms)
}

/// One query row's candidates: the k smallest ranking values so far, and every training row whose value is
/// within twice the rounding bound of the k-th of them. Rows are pushed in batches and folded in by
/// [`Candidates::update`] (a selection, not a sorted insertion per row).
struct Candidates {
    k: usize,
    /// Bound on |ranking value − exact ranking distance| for this row (0 when values are exact).
    err: f64,
    /// The k smallest values folded in so far; after an update, `best[k − 1]` is the k-th smallest.
    best: Vec<f64>,
    /// `(value, row of data)` of every pushed row that may still be among the exact k nearest.
    list: Vec<(f64, usize)>,
    /// Entries of `list` from here on are not yet folded into `best`.
    pending: usize,
    /// Values above this cannot be among the exact k nearest: k-th smallest + 2 err (∞ before k rows).
    limit: f64,
    /// `list` is compacted when it grows past this length.
    cap: usize,
}

impl Candidates {
    fn new(k: usize, err: f64) -> Self {
        Self {
            k,
            err,
            best: Vec::with_capacity(k + COMPACT_EXTRA),
            list: Vec::with_capacity(2 * k + COMPACT_EXTRA),
            pending: 0,
            limit: f64::INFINITY,
            cap: 2 * k + COMPACT_EXTRA,
        }
    }

    /// Pushes training row `j` (of `data`) with ranking value `v`; callers skip values above `limit`.
    fn push(&mut self, v: f64, j: usize) {
        self.list.push((v, j));
        if self.list.len() - self.pending >= self.k + COMPACT_EXTRA {
            self.update();
        }
    }

    /// Folds the pushed rows into the k smallest values, lowers the limit, and drops rows above it.
    fn update(&mut self) {
        if self.pending == self.list.len() {
            return;
        }
        self.best.extend(self.list[self.pending..].iter().map(|e| e.0));
        if self.best.len() >= self.k {
            self.best.select_nth_unstable_by(self.k - 1, f64::total_cmp);
            self.best.truncate(self.k);
            self.limit = self.best[self.k - 1] + 2.0 * self.err;
            if self.list.len() > self.cap {
                let limit = self.limit;
                self.list.retain(|e| e.0 <= limit);
                // Many rows tied within the bound: grow instead of compacting on every update.
                self.cap = self.cap.max(2 * self.list.len());
            }
        }
        self.pending = self.list.len();
    }

    /// An upper bound on the exact k-th smallest ranking distance (∞ before k rows); call after `update`.
    fn kth_bound(&self) -> f64 {
        match self.best.get(self.k - 1) {
            Some(&b) => b + self.err,
            None => f64::INFINITY,
        }
    }

    /// The rows that may be among the exact k nearest, as `(value, row of data)`.
    fn into_rows(mut self) -> impl Iterator<Item = (f64, usize)> {
        self.update();
        let limit = self.limit;
        self.list.into_iter().filter(move |e| e.0 <= limit)
    }
}

/// Row `j` of a standard-layout matrix as a slice.
fn row_slice<T>(x: &Array2<T>, j: usize) -> &[T] {
    let d = x.ncols();
    &x.as_slice().expect("standard layout")[j * d..(j + 1) * d] // ok: every caller's matrix is built standard
}

impl Index {
    /// Prepares `train` (`[n, dim]`, finite; non-zero rows for cosine) for queries under `metric`.
    pub(crate) fn new(train: ArrayView2<'_, f64>, metric: Metric) -> Self {
        Self::from_prepared(prepare(train, metric), metric)
    }

    /// The index of rows already prepared for `metric` (unit rows for cosine), as [`Index::prepared_rows`] gives
    /// them: rebuilding from those gives this index exactly.
    pub(crate) fn from_prepared(prepared: Array2<f64>, metric: Metric) -> Self {
        let prepared = prepared.as_standard_layout().into_owned();
        let (n, dim) = prepared.dim();
        let products = metric_uses_products(metric);
        let n_clusters = if products {
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
                if !products {
                    return f64::INFINITY;
                }
                (bounds[c]..bounds[c + 1])
                    .map(|j| sq_euclid(row_slice(&data, j), row_slice(&centres, c)).sqrt())
                    .fold(0.0, f64::max)
            })
            .collect();
        let max_sq_norm = row_norms(data.view()).iter().fold(0.0_f64, |m, &v| m.max(v * v));
        let (shift, data32, sq_norms32, margin) = if products {
            let shift = data.mean_axis(Axis(0)).unwrap_or_else(|| Array1::zeros(dim));
            let (data32, sq_norms32) = centred_f32(data.view(), &shift);
            (shift, data32, sq_norms32.to_vec(), f32_margin(dim))
        } else {
            (Array1::zeros(dim), Array2::zeros((0, dim)), Vec::new(), 0.0)
        };
        let max_sq_norm32 = sq_norms32.iter().copied().fold(0.0, f64::max);
        Self {
            metric,
            data,
            order,
            max_sq_norm,
            shift,
            data32,
            sq_norms32,
            max_sq_norm32,
            margin,
            bounds,
            centres,
            radius,
        }
    }

    /// The training rows as prepared for the metric (unit rows for cosine), in their original order, `[n, dim]`.
    pub(crate) fn prepared_rows(&self) -> Array2<f64> {
        let mut out = Array2::zeros(self.data.raw_dim());
        for (row, &original) in self.data.outer_iter().zip(&self.order) {
            out.row_mut(original).assign(&row);
        }
        out
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
        self.query_prepared(prepare(query, self.metric), k, exclude_self)
    }

    /// The `k` nearest other training rows of every training row (`k ≤ len − 1`): `query(train, k, true)` on the
    /// rows this index was built from, without preparing them a second time.
    pub(crate) fn query_training(&self, k: usize) -> Neighbours {
        self.query_prepared(self.prepared_rows(), k, true)
    }

    fn query_prepared(&self, query: Array2<f64>, k: usize, exclude_self: bool) -> Neighbours {
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
            .map(|rows| self.query_block(&query, rows, &to_centre, k, exclude_self))
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

    /// Neighbours of the query rows `rows` (indices into the prepared `query`): `(row, [(distance, train
    /// index)])`.
    fn query_block(
        &self,
        query: &Array2<f64>,
        rows: &[usize],
        to_centre: &Array2<f64>,
        k: usize,
        exclude_self: bool,
    ) -> Vec<RowNeighbours> {
        let q = query.select(Axis(0), rows);
        let qn = row_norms(q.view()).mapv(|v| v * v);
        let products = metric_uses_products(self.metric);
        let (q32, qn32) = if products {
            centred_f32(q.view(), &self.shift)
        } else {
            (Array2::zeros((0, self.dim())), Array1::zeros(rows.len()))
        };
        let mut cands: Vec<Candidates> = qn32
            .iter()
            .map(|&qq| Candidates::new(k, self.margin * (qq + self.max_sq_norm32)))
            .collect();
        let widest = self.bounds.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
        let mut g = Array2::<f32>::zeros((if products { rows.len() } else { 0 }, widest));
        let mut clusters: Vec<usize> = (0..self.centres.nrows()).collect();
        let closeness = |c: usize| rows.iter().map(|&r| to_centre[[r, c]]).fold(f64::INFINITY, f64::min);
        clusters.sort_by(|&a, &b| closeness(a).total_cmp(&closeness(b)));
        for c in clusters {
            let (lo, hi) = (self.bounds[c], self.bounds[c + 1]);
            if lo == hi {
                continue;
            }
            let needed = rows.iter().zip(&cands).zip(&qn).any(|((&r, cand), &qq)| {
                let kth = cand.kth_bound();
                let lb = to_centre[[r, c]] - self.radius[c];
                !(lb > 0.0 && lb * lb > kth + PRUNE_SLACK * (kth + qq + self.max_sq_norm))
            });
            if !needed {
                continue;
            }
            if products {
                let width = hi - lo;
                general_mat_mul(
                    1.0,
                    &q32,
                    &self.data32.slice(s![lo..hi, ..]).t(),
                    0.0,
                    &mut g.slice_mut(s![.., ..width]),
                );
                for (i, ((&r, cand), &qq)) in rows.iter().zip(&mut cands).zip(&qn32).enumerate() {
                    let skip = exclude_self.then_some(r);
                    self.scan_products(cand, qq, &row_slice(&g, i)[..width], lo, skip);
                    cand.update();
                }
            } else {
                for (i, (&r, cand)) in rows.iter().zip(&mut cands).enumerate() {
                    let qrow = row_slice(&q, i);
                    for j in lo..hi {
                        let v = self.metric.eval(qrow, row_slice(&self.data, j));
                        if v <= cand.limit && !(exclude_self && self.order[j] == r) {
                            cand.push(v, j);
                        }
                    }
                    cand.update();
                }
            }
        }
        rows.iter()
            .zip(cands)
            .enumerate()
            .map(|(i, (&r, cand))| {
                let qrow = row_slice(&q, i);
                let mut out: Vec<(f64, usize)> = cand
                    .into_rows()
                    .map(|(v, j)| (self.exact_distance(qrow, j, v), self.order[j]))
                    .collect();
                out.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                out.truncate(k);
                (r, out)
            })
            .collect()
    }

    /// Pushes to `cand` the training rows `lo..lo + g.len()` (except original row `skip`) whose value is
    /// within its limit, given their float32 products `g` with a query row whose centred float32 squared
    /// norm is `qq`. Once the limit is tight almost no row passes, so each run of [`SCAN_RUN`] rows is first
    /// tested as a whole (a vectorised comparison without stores) and only runs with a hit are pushed.
    fn scan_products(&self, cand: &mut Candidates, qq: f64, g: &[f32], lo: usize, skip: Option<usize>) {
        let tn = &self.sq_norms32[lo..lo + g.len()];
        let value = |g: f32, t: f64| qq + t - 2.0 * f64::from(g);
        for (run, (gr, tr)) in g.chunks(SCAN_RUN).zip(tn.chunks(SCAN_RUN)).enumerate() {
            let limit = cand.limit;
            let hit = gr.iter().zip(tr).fold(false, |h, (&g, &t)| h | (value(g, t) <= limit));
            if !hit {
                continue;
            }
            for (i, (&g, &t)) in gr.iter().zip(tr).enumerate() {
                let (v, j) = (value(g, t), lo + run * SCAN_RUN + i);
                if v <= limit && skip != Some(self.order[j]) {
                    cand.push(v, j);
                }
            }
        }
    }

    /// The distance from the prepared query row `qrow` to row `j` of `data`, whose ranking value was `v`:
    /// recomputed directly in float64 for Euclidean and cosine, `v` itself (already exact) otherwise.
    fn exact_distance(&self, qrow: &[f64], j: usize, v: f64) -> f64 {
        match self.metric {
            Metric::Euclidean => sq_euclid(qrow, row_slice(&self.data, j)).sqrt(),
            Metric::Cosine => 1.0 - dot(qrow, row_slice(&self.data, j)),
            _ => v,
        }
    }
}

/// `x` prepared for `metric` in standard layout: unit rows for cosine, the rows themselves otherwise.
fn prepare(x: ArrayView2<'_, f64>, metric: Metric) -> Array2<f64> {
    match metric {
        Metric::Cosine => unit_rows(x),
        _ => standard(x).into_owned(),
    }
}

/// Whether the metric's neighbour search runs on matrix products and can prune (Euclidean, cosine).
fn metric_uses_products(metric: Metric) -> bool {
    matches!(metric, Metric::Euclidean | Metric::Cosine)
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
    let mut a = assign_sum(x, centres.view());
    for _ in 0..CLUSTER_ITERS {
        centres = a.centres(&centres);
        a = assign_sum(x, centres.view());
    }
    (a.labels, centres)
}

#[cfg(test)]
mod tests {
    use super::*;
    use linfa_nn::{LinearSearch, NearestNeighbour};
    use ndarray::{Array1, Array2};

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

    /// Near-ties below float32 resolution: training rows at distances 1 + i·1e-10 (and angles growing as
    /// finely) from a query, perpendicular to it, plus an exact duplicate and far rows. The float32
    /// candidate search must still return the float64 brute-force order, ties to the lower index.
    #[test]
    fn float32_candidates_rerank_near_ties_exactly() {
        let dim = 6;
        let p0 = Array1::from(vec![50.0, -20.0, 30.0, 10.0, 0.0, 5.0]);
        let unit = |v: Array1<f64>| {
            let v = &v - &(&p0 * (v.dot(&p0) / p0.dot(&p0)));
            &v / v.dot(&v).sqrt()
        };
        let mut train = Array2::<f64>::zeros((600, dim));
        for (i, mut row) in train.outer_iter_mut().enumerate() {
            let dir = unit(Array1::from_shape_fn(dim, |j| ((i * 7 + j * 13) as f64 * 0.61).sin()));
            row.assign(&if i < 300 {
                &p0 + &(dir * (1.0 + i as f64 * 1e-10))
            } else {
                &p0 * 0.3 + &(dir * 40.0)
            });
        }
        let dup = train.row(4).to_owned();
        train.row_mut(2).assign(&dup); // rows 2 and 4 tie exactly
        let queries = ndarray::stack![Axis(0), p0.view(), train.row(310), (&p0 * 1.5).view()];
        let k = 5;
        for metric in [Metric::Euclidean, Metric::Cosine] {
            let ours = Index::new(train.view(), metric).query(queries.view(), k, false);
            for (r, q) in queries.outer_iter().enumerate() {
                let q = q.to_vec();
                let mut brute: Vec<(f64, usize)> = train
                    .outer_iter()
                    .enumerate()
                    .map(|(i, t)| (metric.eval(&q, &t.to_vec()), i))
                    .collect();
                brute.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                for (j, &(d, i)) in brute.iter().take(k).enumerate() {
                    assert_eq!(ours.index[[r, j]], i, "{metric:?} query {r} rank {j}");
                    assert!(
                        (ours.dist[[r, j]] - d).abs() <= 1e-12 * d.max(1.0),
                        "{metric:?} query {r}"
                    );
                }
            }
            // Rows 0, 1, 3 lie at 1, 1 + 1e-10, 1 + 3e-10 from the first query, then the duplicates 2 and 4.
            assert_eq!(ours.index.row(0).to_vec(), [0, 1, 3, 2, 4], "{metric:?}");
        }
    }

    #[test]
    fn f32_margin_covers_the_dot_product_bound() {
        // 128-d: γ_128 ≈ 7.6e-6, doubled with the input rounding term.
        let m = f32_margin(128);
        assert!(m > 2.0 * 128.0 * F32_UNIT && m < 2e-5, "{m}");
        assert_eq!(f32_margin(1 << 23), f64::INFINITY);
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

//! K-Means: k centroids per group, score −ln max_j |cos(z, μ_j)| (seed 000 §2.4.2, Algorithm 1).
//!
//! Our own Lloyd iteration, not linfa-clustering's `KMeans`: linfa stops when the Frobenius distance between
//! successive centroid sets drops strictly below an absolute tolerance and never compares assignments, while
//! scikit-learn (which the goldens and the spec follow) stops when the assignments repeat or when the summed
//! squared centre shift is at most `tol × mean feature variance`; the iteration counts and hence the
//! centres differ. Our assignment step also runs as a matrix product over row blocks in parallel.

use ndarray::{Array1, Array2, ArrayView2, Axis, Zip};
use rand::{Rng, RngExt};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::cos::neg_log_max_abs_cos;
use crate::linalg::{ROW_BLOCK, check_matrix, check_rows, dot, row_norms, sq_euclid_rows, standard};
use crate::{Error, Fit, Result, Score};

/// k = 4 clusters per class: the only k shown in seed 000 (Fig. 3; asdnet_specmfn.md §7.3).
pub const KMEANS_N_CLUSTERS: usize = 4;
/// 10 k-means++ restarts: scikit-learn's default up to 1.3 (asdnet_specmfn.md §7.3).
pub const KMEANS_N_INIT: usize = 10;
/// At most 300 Lloyd iterations: scikit-learn's default (asdnet_specmfn.md §7.3).
pub const KMEANS_MAX_ITER: usize = 300;
/// Relative tolerance 1e-4 on the centre shift: scikit-learn's default (asdnet_specmfn.md §7.3).
pub const KMEANS_TOL: f64 = 1e-4;

/// How the initial centres are drawn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum KMeansInit {
    /// Greedy k-means++ as scikit-learn runs it (2 + ⌊ln k⌋ candidates per centre, keep the one that lowers
    /// the potential most).
    #[default]
    #[serde(rename = "kmeans++")]
    KMeansPlusPlus,
    /// k distinct training rows drawn uniformly (Forgy).
    #[serde(rename = "random")]
    Random,
}

/// K-Means scorer settings; defaults are seed 000's (k = 4, k-means++, 10 restarts, 300 iterations, tol 1e-4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KMeansParams {
    /// Number of centres k.
    pub n_clusters: usize,
    /// Initialisation.
    pub init: KMeansInit,
    /// Restarts; the run with the lowest inertia is kept.
    pub n_init: usize,
    /// Maximum Lloyd iterations per run.
    pub max_iter: usize,
    /// Tolerance, relative to the mean per-feature variance of the training data.
    pub tol: f64,
}

impl Default for KMeansParams {
    fn default() -> Self {
        Self {
            n_clusters: KMEANS_N_CLUSTERS,
            init: KMeansInit::default(),
            n_init: KMEANS_N_INIT,
            max_iter: KMEANS_MAX_ITER,
            tol: KMEANS_TOL,
        }
    }
}

impl KMeansParams {
    /// `n_clusters` centres, other settings at their defaults.
    pub fn new(n_clusters: usize) -> Self {
        Self {
            n_clusters,
            ..Self::default()
        }
    }
    /// Sets the initialisation.
    pub fn with_init(mut self, init: KMeansInit) -> Self {
        self.init = init;
        self
    }
    /// Sets the number of restarts.
    pub fn with_n_init(mut self, n_init: usize) -> Self {
        self.n_init = n_init;
        self
    }
    /// Sets the maximum number of iterations.
    pub fn with_max_iter(mut self, max_iter: usize) -> Self {
        self.max_iter = max_iter;
        self
    }
    /// Sets the relative tolerance.
    pub fn with_tol(mut self, tol: f64) -> Self {
        self.tol = tol;
        self
    }

    /// Checks: `n_clusters`, `n_init`, `max_iter` ≥ 1; `tol` ≥ 0 and finite.
    pub fn check(&self) -> Result<()> {
        for (param, v) in [
            ("n_clusters", self.n_clusters),
            ("n_init", self.n_init),
            ("max_iter", self.max_iter),
        ] {
            if v == 0 {
                return Err(Error::Zero { param });
            }
        }
        if !(self.tol >= 0.0 && self.tol.is_finite()) {
            return Err(Error::OutOfRange {
                param: "tol",
                value: self.tol,
                expected: "finite and ≥ 0",
            });
        }
        Ok(())
    }

    /// One Lloyd run from given initial centres `init` (`[n_clusters, dim]`), as scikit-learn's
    /// `KMeans(init=array, n_init=1)`; `n_init` and `init` of the parameters are not used.
    pub fn fit_from(&self, train: ArrayView2<'_, f64>, init: ArrayView2<'_, f64>) -> Result<KMeans> {
        self.check_train(train)?;
        let expected = vec![self.n_clusters, train.ncols()];
        if init.shape() != expected.as_slice() {
            return Err(Error::InitShape {
                what: "centres",
                expected,
                found: init.shape().to_vec(),
            });
        }
        check_matrix(init, "initial centres")?;
        let x = standard(train);
        Ok(self.lloyd(x.view(), init.to_owned()))
    }

    fn check_train(&self, train: ArrayView2<'_, f64>) -> Result<()> {
        self.check()?;
        check_matrix(train, "train")?;
        check_rows(self.min_rows(), train.nrows())?;
        Ok(())
    }

    /// Lloyd's algorithm as scikit-learn 1.x runs it (see the module docs); empty clusters keep their previous
    /// centre (seed 000 Algorithm 1). Each iteration is one pass over `x` (assignment and sums together).
    fn lloyd(&self, x: ArrayView2<'_, f64>, mut centres: Array2<f64>) -> KMeans {
        let tol_abs = self.tol * mean_variance(x);
        let mut labels = vec![usize::MAX; x.nrows()];
        let mut n_iter = 0;
        for _ in 0..self.max_iter {
            n_iter += 1;
            let a = assign_sum(x, centres.view());
            let new_centres = a.centres(&centres);
            let shift: f64 = (&new_centres - &centres).mapv(|v| v * v).sum();
            centres = new_centres;
            if a.labels == labels {
                break;
            }
            labels = a.labels;
            if shift <= tol_abs {
                break;
            }
        }
        // The final labels are the nearest centres of the final centres (after a repeat of the labels the
        // centres did not move, so these are those labels), and the inertia is measured against them.
        let inertia = assign_sum(x, centres.view()).inertia;
        KMeans {
            centres,
            inertia,
            n_iter,
        }
    }

    /// Initial centres drawn with `rng`.
    fn init_centres(&self, x: ArrayView2<'_, f64>, rng: &mut impl Rng) -> Array2<f64> {
        let (n, k) = (x.nrows(), self.n_clusters);
        match self.init {
            KMeansInit::Random => {
                let rows = rand::seq::index::sample(rng, n, k).into_vec();
                x.select(Axis(0), &rows)
            }
            KMeansInit::KMeansPlusPlus => {
                let x_sq = row_norms(x).mapv(|v| v * v);
                let n_trials = 2 + (k as f64).ln() as usize;
                let mut chosen = vec![rng.random_range(0..n)];
                let mut closest: Vec<f64> = sq_dists_to(x, &x_sq, &chosen).column(0).to_vec();
                while chosen.len() < k {
                    let pot: f64 = closest.iter().sum();
                    let cumsum: Vec<f64> = closest
                        .iter()
                        .scan(0.0, |s, &d| {
                            *s += d;
                            Some(*s)
                        })
                        .collect();
                    let candidates: Vec<usize> = (0..n_trials)
                        .map(|_| {
                            let target = rng.random::<f64>() * pot;
                            cumsum.partition_point(|&c| c < target).min(n - 1)
                        })
                        .collect();
                    let d = sq_dists_to(x, &x_sq, &candidates);
                    let merged = |t: usize| {
                        d.column(t)
                            .iter()
                            .zip(&closest)
                            .map(|(a, b)| a.min(*b))
                            .collect::<Vec<f64>>()
                    };
                    let pots: Vec<f64> = (0..n_trials).map(|t| merged(t).iter().sum()).collect();
                    let best = (0..n_trials).fold(0, |b, t| if pots[t] < pots[b] { t } else { b });
                    chosen.push(candidates[best]);
                    closest = merged(best);
                }
                x.select(Axis(0), &chosen)
            }
        }
    }
}

/// `[n, len(rows)]` squared Euclidean distances from every row of `x` to the rows `rows` of `x`, in the
/// matrix-product form (as scikit-learn's k-means++ computes them); `x_sq` are the squared row norms.
fn sq_dists_to(x: ArrayView2<'_, f64>, x_sq: &Array1<f64>, rows: &[usize]) -> Array2<f64> {
    let c = x.select(Axis(0), rows);
    let mut d = Array2::zeros((x.nrows(), rows.len()));
    d.axis_chunks_iter_mut(Axis(0), ROW_BLOCK)
        .into_par_iter()
        .zip(x.axis_chunks_iter(Axis(0), ROW_BLOCK))
        .zip(x_sq.axis_chunks_iter(Axis(0), ROW_BLOCK))
        .for_each(|((mut d, xb), xs)| {
            d.assign(&block_products(xb, c.view()));
            for (mut row, &xx) in d.outer_iter_mut().zip(&xs) {
                for (v, &r) in row.iter_mut().zip(rows) {
                    *v = (xx + x_sq[r] - 2.0 * *v).max(0.0);
                }
            }
        });
    d
}

/// Mean over the columns of `x` of their population variance (scikit-learn's tolerance scale), two-pass.
fn mean_variance(x: ArrayView2<'_, f64>) -> f64 {
    let n = x.nrows() as f64;
    let Some(mean) = x.mean_axis(Axis(0)) else {
        return 0.0;
    };
    let mut sq = Array1::<f64>::zeros(x.ncols());
    for row in x.outer_iter() {
        Zip::from(&mut sq)
            .and(&row)
            .and(&mean)
            .for_each(|s, &v, &m| *s += (v - m) * (v - m));
    }
    sq.sum() / n / x.ncols() as f64
}

/// Centres above this many are compared with rows through a matrix product; fewer, row by row (a matrix
/// product would spend most of its time packing the rows).
const DIRECT_MAX_CENTRES: usize = 8;

/// `[rows(x), rows(c)]` products `x · cᵀ`.
pub(crate) fn block_products(x: ArrayView2<'_, f64>, c: ArrayView2<'_, f64>) -> Array2<f64> {
    let d = x.ncols();
    match (x.as_slice(), c.as_slice()) {
        (Some(xs), Some(cs)) if c.nrows() <= DIRECT_MAX_CENTRES && d > 0 => {
            let mut out = Array2::zeros((x.nrows(), c.nrows()));
            for (mut o, xr) in out.outer_iter_mut().zip(xs.chunks_exact(d)) {
                for (o, cr) in o.iter_mut().zip(cs.chunks_exact(d)) {
                    *o = dot(xr, cr);
                }
            }
            out
        }
        _ => x.dot(&c.t()),
    }
}

/// One assignment pass: the nearest centre of every row (squared Euclidean, ties to the lower index), the
/// sum and count of each centre's rows, and Σ ‖x − nearest centre‖².
pub(crate) struct Assignment {
    /// Nearest centre per row.
    pub labels: Vec<usize>,
    sums: Array2<f64>,
    counts: Vec<usize>,
    /// Sum of the squared distances to the nearest centres.
    pub inertia: f64,
}

impl Assignment {
    /// The mean of each centre's rows; a centre without rows keeps its row of `old`.
    pub(crate) fn centres(&self, old: &Array2<f64>) -> Array2<f64> {
        let mut out = self.sums.clone();
        Zip::from(out.rows_mut())
            .and(old.rows())
            .and(&Array1::from(self.counts.clone()))
            .for_each(|mut s, o, &c| {
                if c == 0 {
                    s.assign(&o);
                } else {
                    s /= c as f64;
                }
            });
        out
    }
}

/// [`Assignment`] of the rows of `x` to `centres`, over row blocks in parallel.
pub(crate) fn assign_sum(x: ArrayView2<'_, f64>, centres: ArrayView2<'_, f64>) -> Assignment {
    let x = standard(x);
    let c = standard(centres);
    let cn = row_norms(c.view()).mapv(|n| n * n);
    let (k, d) = c.dim();
    let parts: Vec<Assignment> = x
        .axis_chunks_iter(Axis(0), ROW_BLOCK)
        .into_par_iter()
        .map(|xb| {
            let g = block_products(xb, c.view());
            let mut part = Assignment {
                labels: Vec::with_capacity(xb.nrows()),
                sums: Array2::zeros((k, d)),
                counts: vec![0; k],
                inertia: 0.0,
            };
            for (row, grow) in xb.outer_iter().zip(g.outer_iter()) {
                let (l, _) = grow
                    .iter()
                    .zip(&cn)
                    .map(|(&g, &cc)| cc - 2.0 * g)
                    .enumerate()
                    .fold((0, f64::INFINITY), |b, (j, v)| if v < b.1 { (j, v) } else { b });
                let mut sum = part.sums.row_mut(l);
                sum += &row;
                part.inertia += sq_euclid_rows(row, c.row(l));
                part.counts[l] += 1;
                part.labels.push(l);
            }
            part
        })
        .collect();
    let mut all = Assignment {
        labels: Vec::with_capacity(x.nrows()),
        sums: Array2::zeros((k, d)),
        counts: vec![0; k],
        inertia: 0.0,
    };
    for p in parts {
        all.labels.extend(p.labels);
        all.sums += &p.sums;
        all.counts.iter_mut().zip(&p.counts).for_each(|(a, b)| *a += b);
        all.inertia += p.inertia;
    }
    all
}

/// Fitted K-Means scorer: centres μ_j; score(z) = −ln max(max_j |cos(z, μ_j)|, 1e-12). Serialised as its
/// centres, inertia and iteration count; deserialising refuses non-finite or zero centres.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(into = "KMeansFile", try_from = "KMeansFile")]
pub struct KMeans {
    centres: Array2<f64>,
    inertia: f64,
    n_iter: usize,
}

/// A [`KMeans`] as saved.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KMeansFile {
    centres: Array2<f64>,
    inertia: f64,
    n_iter: usize,
}

impl From<KMeans> for KMeansFile {
    fn from(k: KMeans) -> Self {
        Self {
            centres: k.centres,
            inertia: k.inertia,
            n_iter: k.n_iter,
        }
    }
}

impl TryFrom<KMeansFile> for KMeans {
    type Error = Error;

    fn try_from(file: KMeansFile) -> Result<Self> {
        crate::cos::check_centres(file.centres.view(), "centres")?;
        Ok(KMeans {
            centres: file.centres,
            inertia: file.inertia,
            n_iter: file.n_iter,
        })
    }
}

impl KMeans {
    /// Centres, `[n_clusters, dim]`.
    pub fn centres(&self) -> &Array2<f64> {
        &self.centres
    }
    /// Σ ‖x − nearest centre‖² over the training rows.
    pub fn inertia(&self) -> f64 {
        self.inertia
    }
    /// Lloyd iterations of the kept run.
    pub fn n_iter(&self) -> usize {
        self.n_iter
    }
    /// Index of the nearest centre of each row of `x` (`[n, dim]`, finite).
    pub(crate) fn labels(&self, x: ArrayView2<'_, f64>) -> Array1<usize> {
        Array1::from(assign_sum(x, self.centres.view()).labels)
    }
}

impl Fit for KMeansParams {
    type Fitted = KMeans;

    /// `n_init` runs from centres drawn with `rng`; the lowest inertia wins (the first on ties). Errors on
    /// bad parameters, an empty or non-finite `train`, or fewer rows than `n_clusters`. Duplicate rows are
    /// allowed; a cluster that ends up empty keeps its centre.
    fn fit(&self, train: ArrayView2<'_, f64>, rng: &mut impl Rng) -> Result<KMeans> {
        self.check_train(train)?;
        let x = standard(train);
        let mut best: Option<KMeans> = None;
        for _ in 0..self.n_init {
            let run = self.lloyd(x.view(), self.init_centres(x.view(), rng));
            if best.as_ref().is_none_or(|b| run.inertia < b.inertia) {
                best = Some(run);
            }
        }
        best.ok_or(Error::Zero { param: "n_init" })
    }

    fn min_rows(&self) -> (&'static str, usize) {
        ("n_clusters", self.n_clusters)
    }
}

impl Score for KMeans {
    fn score(&self, test: ArrayView2<'_, f64>) -> Result<Array1<f64>> {
        neg_log_max_abs_cos(test, self.centres.view())
    }
}

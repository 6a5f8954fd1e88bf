//! LOF: the local outlier factor of a test embedding against a group's training embeddings
//! (seed 000 §2.4.4, §4.2), as scikit-learn's `LocalOutlierFactor(novelty=True)` computes it.

use ndarray::{Array1, ArrayView2, Axis, Zip};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::linalg::{check_matrix, check_nonzero_rows, check_rows, check_test};
use crate::metric::Metric;
use crate::neighbors::{Index, Neighbours};
use crate::{Error, Fit, Result, Score};

/// n_neighbors = 20: scikit-learn's default, which seed 000 leaves in place (asdnet_specmfn.md §7.5).
pub const LOF_N_NEIGHBORS: usize = 20;
/// scikit-learn adds 1e-10 to the mean reachability distance, so duplicates give a large finite density.
const LRD_EPS: f64 = 1e-10;

/// LOF scorer settings; defaults are seed 000's (20 neighbours, Euclidean).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LofParams {
    /// Neighbours k; a group with n ≤ k training points uses k = n − 1, as scikit-learn does.
    pub n_neighbors: usize,
    /// Distance.
    pub metric: Metric,
}

impl Default for LofParams {
    fn default() -> Self {
        Self {
            n_neighbors: LOF_N_NEIGHBORS,
            metric: Metric::Euclidean,
        }
    }
}

impl LofParams {
    /// `n_neighbors` neighbours, Euclidean.
    pub fn new(n_neighbors: usize) -> Self {
        Self {
            n_neighbors,
            ..Self::default()
        }
    }
    /// Sets the metric.
    pub fn with_metric(mut self, metric: Metric) -> Self {
        self.metric = metric;
        self
    }
    /// Checks: `n_neighbors` ≥ 1.
    pub fn check(&self) -> Result<()> {
        if self.n_neighbors == 0 {
            return Err(Error::Zero { param: "n_neighbors" });
        }
        Ok(())
    }
}

/// Fitted LOF scorer: the training points with their k-distances and local reachability densities.
///
/// score(z) = LOF(z) = mean_{p ∈ N_k(z)} lrd(p) / lrd(z), with
/// lrd(x) = 1 / (mean_{p ∈ N_k(x)} max(d(x, p), k-dist(p)) + 1e-10): about 1 for inliers, larger for
/// outliers (= −`score_samples` of scikit-learn). Duplicated training points get k-distance 0 and a density
/// near 1e10 through the 1e-10 guard, exactly as in scikit-learn; their neighbourhood then dominates.
#[derive(Clone, Debug)]
pub struct Lof {
    index: Index,
    k: usize,
    k_dist: Array1<f64>,
    lrd: Array1<f64>,
}

impl Lof {
    /// The k actually used (`min(n_neighbors, n − 1)`).
    pub fn n_neighbors(&self) -> usize {
        self.k
    }
    /// Local reachability density of each training point, `[n]`.
    pub fn train_lrd(&self) -> &Array1<f64> {
        &self.lrd
    }
}

/// lrd from neighbour lists and the training k-distances.
fn reach_lrd(nb: &Neighbours, k_dist: &Array1<f64>) -> Array1<f64> {
    let mut out = Array1::zeros(nb.dist.nrows());
    Zip::from(&mut out)
        .and(nb.dist.rows())
        .and(nb.index.rows())
        .par_for_each(|o, d, i| {
            let reach: f64 = d.iter().zip(i).map(|(&d, &i)| d.max(k_dist[i])).sum::<f64>() / d.len() as f64;
            *o = 1.0 / (reach + LRD_EPS);
        });
    out
}

impl Fit for LofParams {
    type Fitted = Lof;

    /// Errors on bad parameters, an empty or non-finite `train`, fewer than 2 rows, or (cosine) a zero row.
    fn fit(&self, train: ArrayView2<'_, f64>, _rng: &mut impl Rng) -> Result<Lof> {
        self.check()?;
        check_matrix(train, "train")?;
        check_rows(self.min_rows(), train.nrows())?;
        if self.metric == Metric::Cosine {
            check_nonzero_rows(train, "train")?;
        }
        let k = self.n_neighbors.min(train.nrows() - 1);
        let index = Index::new(train, self.metric);
        let nb = index.query(train, k, true);
        let k_dist = nb.dist.index_axis(Axis(1), k - 1).to_owned();
        let lrd = reach_lrd(&nb, &k_dist);
        Ok(Lof { index, k, k_dist, lrd })
    }

    /// Two rows: a point needs one neighbour besides itself (`n_neighbors` is capped at the rows − 1).
    fn min_rows(&self) -> (&'static str, usize) {
        ("n_neighbors", 2)
    }
}

impl Score for Lof {
    fn score(&self, test: ArrayView2<'_, f64>) -> Result<Array1<f64>> {
        check_test(test, self.index.dim())?;
        if self.index.metric() == Metric::Cosine {
            check_nonzero_rows(test, "test")?;
        }
        let nb = self.index.query(test, self.k, false);
        let lrd = reach_lrd(&nb, &self.k_dist);
        let mut out = Array1::zeros(test.nrows());
        Zip::from(&mut out)
            .and(&lrd)
            .and(nb.index.rows())
            .par_for_each(|o, &l, i| {
                *o = i.iter().map(|&i| self.lrd[i]).sum::<f64>() / i.len() as f64 / l;
            });
        Ok(out)
    }
}

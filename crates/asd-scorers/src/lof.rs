//! LOF: the local outlier factor of a test embedding against a group's training embeddings
//! (seed 000 §2.4.4, §4.2), as scikit-learn's `LocalOutlierFactor(novelty=True)` computes it.

use ndarray::{Array1, Array2, ArrayView2, Axis, Zip};
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
///
/// Serialised as the k used, the metric and the prepared training rows; deserialising checks them and computes
/// the same neighbourhoods again.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(into = "LofFile", try_from = "LofFile")]
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

impl Lof {
    /// The training points' neighbourhoods in `index` (`k` ≤ rows − 1).
    fn from_index(index: Index, k: usize) -> Lof {
        let nb = index.query_training(k);
        let k_dist = nb.dist.index_axis(Axis(1), k - 1).to_owned();
        let lrd = reach_lrd(&nb, &k_dist);
        Lof { index, k, k_dist, lrd }
    }
}

/// A [`Lof`] as saved: the k used, the metric and the training rows as prepared for it.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LofFile {
    k: usize,
    metric: Metric,
    rows: Array2<f64>,
}

impl From<Lof> for LofFile {
    fn from(lof: Lof) -> Self {
        Self {
            k: lof.k,
            metric: lof.index.metric(),
            rows: lof.index.prepared_rows(),
        }
    }
}

impl TryFrom<LofFile> for Lof {
    type Error = Error;

    fn try_from(file: LofFile) -> Result<Self> {
        let params = LofParams {
            n_neighbors: file.k,
            metric: file.metric,
        };
        params.check_train(file.rows.view())?;
        if file.k >= file.rows.nrows() {
            return Err(Error::TooFewPoints {
                param: "k",
                needed: file.k + 1,
                found: file.rows.nrows(),
            });
        }
        Ok(Lof::from_index(Index::from_prepared(file.rows, file.metric), file.k))
    }
}

impl LofParams {
    /// Checks the settings and that `train` can be fitted: finite, at least 2 rows, no zero row for cosine.
    fn check_train(&self, train: ArrayView2<'_, f64>) -> Result<()> {
        self.check()?;
        check_matrix(train, "train")?;
        check_rows(self.min_rows(), train.nrows())?;
        if self.metric == Metric::Cosine {
            check_nonzero_rows(train, "train")?;
        }
        Ok(())
    }
}

impl Fit for LofParams {
    type Fitted = Lof;

    /// Errors on bad parameters, an empty or non-finite `train`, fewer than 2 rows, or (cosine) a zero row.
    fn fit(&self, train: ArrayView2<'_, f64>, _rng: &mut impl Rng) -> Result<Lof> {
        self.check_train(train)?;
        let k = self.n_neighbors.min(train.nrows() - 1);
        Ok(Lof::from_index(Index::new(train, self.metric), k))
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

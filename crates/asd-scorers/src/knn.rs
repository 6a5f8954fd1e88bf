//! KNN: distance to the k nearest training embeddings (seed 003 §2.4, the DCASE 2023–25 inlier model),
//! and its domain-wise form (separate source and target models, minimum of the two scores).

use ndarray::{Array1, Array2, ArrayView2, Axis, Zip};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::linalg::{check_matrix, check_nonzero_rows, check_rows, check_test};
use crate::metric::Metric;
use crate::neighbors::Index;
use crate::{Error, Fit, Result, Score};

/// k = 1 neighbour: the ASDKit default that seed 003 follows (firstshot2025.md §9.3).
pub const KNN_K: usize = 1;

/// How the k neighbour distances become one score.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KnnAggregate {
    /// Mean of the k distances (seed 003; scikit-learn `kneighbors` then `mean`).
    #[default]
    Mean,
    /// The k-th distance alone.
    Kth,
}

/// KNN scorer settings; defaults are seed 003's (k = 1, cosine distance 1 − cos, mean).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KnnParams {
    /// Neighbours k; a group needs at least k training points.
    pub k: usize,
    /// Distance (any of the six; seed 003 uses cosine, euclidean is the other common choice).
    pub metric: Metric,
    /// Mean or k-th distance.
    pub aggregate: KnnAggregate,
}

impl Default for KnnParams {
    fn default() -> Self {
        Self {
            k: KNN_K,
            metric: Metric::Cosine,
            aggregate: KnnAggregate::Mean,
        }
    }
}

impl KnnParams {
    /// `k` neighbours, cosine distance, mean.
    pub fn new(k: usize) -> Self {
        Self { k, ..Self::default() }
    }
    /// Sets the metric.
    pub fn with_metric(mut self, metric: Metric) -> Self {
        self.metric = metric;
        self
    }
    /// Sets the aggregation.
    pub fn with_aggregate(mut self, aggregate: KnnAggregate) -> Self {
        self.aggregate = aggregate;
        self
    }
    /// Checks: `k` ≥ 1.
    pub fn check(&self) -> Result<()> {
        if self.k == 0 {
            return Err(Error::Zero { param: "k" });
        }
        Ok(())
    }
}

/// Fitted KNN scorer: the training embeddings, prepared for the metric. Serialised as its settings and the
/// prepared training rows; deserialising checks them and rebuilds the same index.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(into = "KnnFile", try_from = "KnnFile")]
pub struct Knn {
    index: Index,
    params: KnnParams,
}

impl Knn {
    /// Number of training embeddings.
    pub fn n_train(&self) -> usize {
        self.index.len()
    }
}

/// A [`Knn`] as saved: settings and training rows as prepared for the metric.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KnnFile {
    params: KnnParams,
    rows: Array2<f64>,
}

impl From<Knn> for KnnFile {
    fn from(knn: Knn) -> Self {
        Self {
            rows: knn.index.prepared_rows(),
            params: knn.params,
        }
    }
}

impl TryFrom<KnnFile> for Knn {
    type Error = Error;

    fn try_from(file: KnnFile) -> Result<Self> {
        file.params.check_train(file.rows.view())?;
        Ok(Knn {
            index: Index::from_prepared(file.rows, file.params.metric),
            params: file.params,
        })
    }
}

impl Fit for KnnParams {
    type Fitted = Knn;

    /// Errors on bad parameters, an empty or non-finite `train`, fewer than `k` rows, or (cosine) a zero row.
    /// Deterministic: `rng` is not drawn from.
    fn fit(&self, train: ArrayView2<'_, f64>, _rng: &mut impl Rng) -> Result<Knn> {
        self.fit_train(train)
    }

    fn min_rows(&self) -> (&'static str, usize) {
        ("k", self.k)
    }
}

impl KnnParams {
    /// Checks the settings and that `train` can be fitted: finite, at least `k` rows, no zero row for cosine.
    fn check_train(&self, train: ArrayView2<'_, f64>) -> Result<()> {
        self.check()?;
        check_matrix(train, "train")?;
        check_rows(self.min_rows(), train.nrows())?;
        if self.metric == Metric::Cosine {
            check_nonzero_rows(train, "train")?;
        }
        Ok(())
    }

    fn fit_train(&self, train: ArrayView2<'_, f64>) -> Result<Knn> {
        self.check_train(train)?;
        Ok(Knn {
            index: Index::new(train, self.metric),
            params: self.clone(),
        })
    }
}

impl Score for Knn {
    fn score(&self, test: ArrayView2<'_, f64>) -> Result<Array1<f64>> {
        check_test(test, self.index.dim())?;
        if self.params.metric == Metric::Cosine {
            check_nonzero_rows(test, "test")?;
        }
        let nb = self.index.query(test, self.params.k, false);
        Ok(match self.params.aggregate {
            KnnAggregate::Mean => nb
                .dist
                .mean_axis(Axis(1))
                .unwrap_or_else(|| Array1::zeros(test.nrows())),
            KnnAggregate::Kth => nb.dist.index_axis(Axis(1), self.params.k - 1).to_owned(),
        })
    }
}

/// Domain-wise KNN settings (DCASE 2023–25 systems, firstshot2025.md §9.3): one KNN model on the source-domain
/// training embeddings, one on the target-domain ones; the score is the smaller of the two.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DomainKnnParams {
    /// Settings of the source-domain model.
    pub source: KnnParams,
    /// Settings of the target-domain model.
    pub target: KnnParams,
}

impl DomainKnnParams {
    /// The same settings for both domains.
    pub fn new(params: KnnParams) -> Self {
        Self {
            source: params.clone(),
            target: params,
        }
    }

    /// Checks both models' settings.
    pub fn check(&self) -> Result<()> {
        self.source.check()?;
        self.target.check()
    }

    /// Fits the two models: `source` and `target` are `[n_s, dim]` and `[n_t, dim]` training embeddings.
    pub fn fit(&self, source: ArrayView2<'_, f64>, target: ArrayView2<'_, f64>) -> Result<DomainKnn> {
        let (source, target) = (self.source.fit_train(source)?, self.target.fit_train(target)?);
        if source.index.dim() != target.index.dim() {
            return Err(Error::DimensionMismatch {
                what: "target",
                expected: source.index.dim(),
                found: target.index.dim(),
            });
        }
        Ok(DomainKnn { source, target })
    }
}

/// Fitted domain-wise KNN: score(z) = min(source score, target score).
#[derive(Clone, Debug)]
pub struct DomainKnn {
    source: Knn,
    target: Knn,
}

impl DomainKnn {
    /// The source-domain model.
    pub fn source(&self) -> &Knn {
        &self.source
    }
    /// The target-domain model.
    pub fn target(&self) -> &Knn {
        &self.target
    }
}

impl Score for DomainKnn {
    fn score(&self, test: ArrayView2<'_, f64>) -> Result<Array1<f64>> {
        let mut s = self.source.score(test)?;
        let t = self.target.score(test)?;
        Zip::from(&mut s).and(&t).for_each(|s, &t| *s = s.min(t));
        Ok(s)
    }
}

//! Anomaly scorers fitted on the normal embeddings of one group (machine ID, section or domain).
//!
//! Stage 5 of the pipeline: audio → features → model → embedding → **scorer** → score → metrics. No Burn;
//! every scorer works on any `[n, dim]` `f64` array and computes in `f64` (decisions §15). The flow follows
//! linfa: a serde parameter struct `XParams` (defaults = the papers' values) → `check()` → [`Fit::fit`] on
//! the training embeddings `[n_train, dim]` with an explicit generator → a fitted `X` → [`Score::score`] on
//! test embeddings `[n_test, dim]` → `[n_test]` scores, **higher = more anomalous**. [`Grouped`] and
//! [`score_grouped`] fit one model per group (in parallel) and route each test row to its group's model.
//!
//! ```
//! use asd_scorers::{Fit, KnnParams, Metric, Score};
//! use rand::SeedableRng;
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
//! let train = ndarray::array![[0.0, 1.0], [0.1, 0.9], [0.2, 1.1]];
//! let knn = KnnParams::new(1).with_metric(Metric::Euclidean).fit(train.view(), &mut rng)?;
//! let s = knn.score(ndarray::array![[0.0, 1.0], [-3.0, -3.0]].view())?;
//! assert!(s[1] > s[0]);
//! # Ok::<(), asd_scorers::Error>(())
//! ```
//!
//! # Scorers
//!
//! | kind | score of a test embedding z (class/group c) | parameters (default) | source |
//! |---|---|---|---|
//! | `prob` | −ln softmax(ℓ)_c = logsumexp(ℓ) − ℓ_c; or ArcFace cosines with margin m at c, scale s | `input` (`logits`) | seed 000 §2.4, STgram-MFN, OS-SCL |
//! | `cos` | −ln max(\|cos(z, μ_c)\|, 1e-12), μ_c the class mean | — | seed 000 §2.4.1 |
//! | `kmeans` | −ln max_j \|cos(z, μ_c,j)\| over k Lloyd centres | `n_clusters` (4), `init` (k-means++), `n_init` (10), `max_iter` (300), `tol` (1e-4) | seed 000 §2.4.2; scikit-learn `KMeans` |
//! | `gmm` | −ln p(z) = −logsumexp_k(ln w_k + ln N(z \| μ_k, Σ_k)); or −max_k ln N | `n_components` (4), `covariance` (full), `reg_covar` (1e-6), `max_iter` (100), `tol` (1e-3), `score` (mixture) | seed 000 §2.4.3; scikit-learn `GaussianMixture` |
//! | `lof` | LOF(z) = mean_{p∈N_k(z)} lrd(p) / lrd(z) | `n_neighbors` (20), `metric` (euclidean; six metrics) | seed 000 §2.4.4, §4.2; scikit-learn `LocalOutlierFactor(novelty=True)` |
//! | `knn` | mean (or k-th) of the k smallest d(z, r), r in the training set | `k` (1), `metric` (cosine), `aggregate` (mean) | seed 003 §2.4; ASDKit; scikit-learn `NearestNeighbors` |
//! | `domain-knn` | min(KNN score against the group's source rows, against its target rows) | `source`, `target`: KNN settings (as `knn`) | firstshot2025.md §9.3 (DCASE 2023–25 systems) |
//! | `domain-mahalanobis` | min over the domains of d̄ᵀ Σ⁻¹ d̄, d̄ the row's mean `block`-value block, Σ the domain's block covariance centred batch by batch | `block` (128), `batch` (256), `shuffle` (true) | the DCASE 2023–26 autoencoder baseline (docs/dcase_ae.md §4) |
//! | `mse` | Σ_j z_j² / dim (an autoencoder's error `x − x̂`: its mean squared reconstruction error) | — | the DCASE autoencoder baselines (docs/dcase_ae.md §4) |
//!
//! PROB and MSE fit nothing ([`ScorerKind::fits`]): they score what the network computed for each row. A clip of
//! several rows is scored by the mean of its rows' scores, except by `domain-mahalanobis`, which scores the clip's
//! mean row ([`ScorerKind::scores_clip_mean`]), as the baseline scores a clip by its mean error block.
//!
//! The domain-wise scorers ([`DomainKnnParams`], [`MahalanobisParams`]) need the domain of each training row:
//! through the grouped entry point [`score_grouped_with_domains`]; a group with training rows in one domain only is
//! scored by that domain's model alone.
//!
//! # Clustering for pseudo labels
//! [`clustering`] has the silhouette score, the adjusted Rand index and [`clustering::PseudoLabels`], the k-search
//! that labels a machine type's clips by clusters of a per-clip feature (the DCASE 2025 first-shot system's pseudo
//! attributes; checked against scikit-learn).
//!
//! # Saved scorers and thresholds
//! [`ScorerConfig::fit`] returns a [`FittedScorer`] (every group's model), which scores new embeddings and is saved
//! and loaded as a versioned JSON file ([`FittedScorer::save`], [`FittedScorer::load`]; loading checks every
//! model). [`Threshold`] turns a group's normal scores into a decision threshold: the DCASE baseline's gamma fit
//! (bit-compatible with `scipy.stats.gamma.fit`), an empirical percentile, or a conformal false-alarm rate.
//!
//! # Edge cases (all tested)
//! - Empty or non-finite (NaN, ±∞) input: [`Error::Empty`], [`Error::NonFinite`] naming row and column.
//! - A group smaller than the model: K-Means and GMM need `n ≥ k` and KNN `n ≥ k` ([`Error::TooFewPoints`]);
//!   LOF uses `k = min(n_neighbors, n − 1)` as scikit-learn does and needs `n ≥ 2`.
//! - Zero vectors: cosine-based scores and metrics reject them ([`Error::ZeroVector`]).
//! - Duplicate points: allowed everywhere. LOF keeps scikit-learn's 1e-10 guard (duplicates get a large
//!   finite density); an empty K-Means cluster keeps its previous centre (seed 000 Algorithm 1).
//! - Ill-conditioned GMM: see [`gmm`](crate::gmm#ill-conditioning); a covariance that is not positive definite is
//!   [`Error::IllConditioned`], which names what to change.
//!
//! # Determinism and threads
//! Fits that draw (k-means++, GMM's k-means start) take `rng: &mut impl Rng` (rand 0.10); no generator is
//! stored or defaulted. [`score_grouped`] gives group `g` the generator [`group_rng`]`(seed, g)`. Test rows
//! and groups are processed in parallel with rayon; results do not depend on the thread count.
//!
//! # Errors
//! One enum, [`Error`]; errors from one group of a grouped fit are wrapped in [`Error::Group`].

pub mod clustering;
pub mod cos;
mod error;
pub mod gmm;
mod grouped;
pub mod kmeans;
pub mod knn;
mod linalg;
pub mod lof;
pub mod mahalanobis;
mod metric;
pub mod mse;
mod neighbors;
pub mod prob;
pub mod threshold;

pub use cos::{Cos, CosParams};
pub use error::{Error, Result};
pub use gmm::{Covariance, Gmm, GmmParams, GmmScore, GmmStart};
pub use grouped::{
    FittedScorer, Grouped, SCORER_FILE_VERSION, ScorerConfig, ScorerKind, group_rng, score_grouped,
    score_grouped_with_domains,
};
pub use kmeans::{KMeans, KMeansInit, KMeansParams};
pub use knn::{DomainKnn, DomainKnnParams, Knn, KnnAggregate, KnnParams};
pub use lof::{Lof, LofParams};
pub use mahalanobis::{MAHALANOBIS_BATCH, MAHALANOBIS_BLOCK, Mahalanobis, MahalanobisParams, SelectiveMahalanobis};
pub use metric::Metric;
pub use mse::MseParams;
pub use prob::{ProbInput, ProbParams};
pub use threshold::{GammaFit, Threshold};

use ndarray::{Array1, ArrayView2};

/// Unfitted scorer settings that can be fitted on one group's training embeddings.
pub trait Fit {
    /// The fitted scorer.
    type Fitted: Score;

    /// Fits on `train`, `[n_train, dim]` normal embeddings of one group; `rng` seeds any random
    /// initialisation (scorers without one ignore it).
    fn fit(&self, train: ArrayView2<'_, f64>, rng: &mut impl rand::Rng) -> Result<Self::Fitted>;

    /// The fewest training rows one group needs, and the parameter that sets the need (`k`, `n_clusters`, …):
    /// [`Fit::fit`] refuses fewer with [`Error::TooFewPoints`], and [`ScorerConfig::check_group`] tells it
    /// before any embedding exists.
    fn min_rows(&self) -> (&'static str, usize);
}

/// A fitted scorer.
pub trait Score: Send + Sync {
    /// Scores `test`, `[n_test, dim]`, returning `[n_test]`, higher = more anomalous. Errors on a width that
    /// differs from the training width, on non-finite values, and (cosine-based) on zero rows.
    fn score(&self, test: ArrayView2<'_, f64>) -> Result<Array1<f64>>;
}

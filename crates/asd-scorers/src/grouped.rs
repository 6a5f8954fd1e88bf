//! One model per group (machine ID, section or domain), the CLI's scorer configuration, and the grouped
//! entry point `score_grouped`.

use std::collections::BTreeMap;

use ndarray::{Array1, ArrayView2, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{
    CosParams, DomainKnnParams, Error, Fit, GmmParams, KMeansParams, KnnParams, LofParams, MahalanobisParams,
    ProbParams, Result, Score,
};
use std::path::Path;

/// The generator a group's fit draws from: ChaCha8 seeded with `seed`, stream = the group id, so results
/// do not depend on thread count or on which other groups exist.
pub fn group_rng(seed: u64, group: i64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(group as u64);
    rng
}

/// Fitted models, one per group id. Serialised as a map from group id to model.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Grouped<S> {
    models: BTreeMap<i64, S>,
}

impl<S: Score> Grouped<S> {
    /// Fits `params` on the rows of `train` (`[n, dim]`) of each group in `train_groups` (one id per row),
    /// groups in parallel, each with [`group_rng`]`(seed, group)`. An error names its group.
    pub fn fit<P>(params: &P, train: ArrayView2<'_, f64>, train_groups: &[i64], seed: u64) -> Result<Self>
    where
        P: Fit<Fitted = S> + Sync,
    {
        Self::fit_by(train, train_groups, seed, |x, _, rng| params.fit(x, rng))
    }

    /// Fits `fit(rows of the group, their indices in train, generator)` per group, groups in parallel, each with
    /// [`group_rng`]`(seed, group)`. An error names its group.
    fn fit_by(
        train: ArrayView2<'_, f64>,
        train_groups: &[i64],
        seed: u64,
        fit: impl Fn(ArrayView2<'_, f64>, &[usize], &mut ChaCha8Rng) -> Result<S> + Sync,
    ) -> Result<Self>
    where
        S: Send,
    {
        let rows = rows_by_group(train_groups, train.nrows(), "train_groups")?;
        let models = rows
            .into_par_iter()
            .map(|(group, rows)| {
                let x = train.select(Axis(0), &rows);
                fit(x.view(), &rows, &mut group_rng(seed, group))
                    .map(|m| (group, m))
                    .map_err(|e| Error::Group {
                        group,
                        source: Box::new(e),
                    })
            })
            .collect::<Result<_>>()?;
        Ok(Self { models })
    }

    /// The model of `group`.
    pub fn get(&self, group: i64) -> Option<&S> {
        self.models.get(&group)
    }

    /// The group ids, ascending.
    pub fn groups(&self) -> impl Iterator<Item = i64> + '_ {
        self.models.keys().copied()
    }

    /// Scores each row of `test` (`[n, dim]`) with the model of its group (`test_groups`, one id per row).
    /// Returns `[n]`; a group without a model is [`Error::MissingGroup`].
    pub fn score(&self, test: ArrayView2<'_, f64>, test_groups: &[i64]) -> Result<Array1<f64>> {
        let rows = rows_by_group(test_groups, test.nrows(), "test_groups")?;
        let scored = rows
            .into_par_iter()
            .map(|(group, rows)| {
                let model = self.models.get(&group).ok_or(Error::MissingGroup { group })?;
                let s = model
                    .score(test.select(Axis(0), &rows).view())
                    .map_err(|e| Error::Group {
                        group,
                        source: Box::new(e),
                    })?;
                Ok((rows, s))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut out = Array1::zeros(test.nrows());
        for (rows, s) in scored {
            for (r, v) in rows.into_iter().zip(s) {
                out[r] = v;
            }
        }
        Ok(out)
    }
}

impl Grouped<crate::SelectiveMahalanobis> {
    /// Fits the selective Mahalanobis scorer per group on its rows of both domains (`target`: one flag per row),
    /// groups in parallel, each with [`group_rng`]`(seed, group)`. An error names its group.
    fn fit_selective(
        params: &MahalanobisParams,
        train: ArrayView2<'_, f64>,
        train_groups: &[i64],
        target: &[bool],
        seed: u64,
    ) -> Result<Self> {
        Self::fit_by(train, train_groups, seed, |x, rows, rng| {
            let flags: Vec<bool> = rows.iter().map(|&r| target[r]).collect();
            params.fit(x, &flags, rng)
        })
    }
}

/// Row indices of each group id, after checking there is one id per row.
fn rows_by_group(groups: &[i64], n_rows: usize, what: &'static str) -> Result<BTreeMap<i64, Vec<usize>>> {
    if groups.len() != n_rows {
        return Err(Error::LengthMismatch {
            what,
            expected: n_rows,
            found: groups.len(),
        });
    }
    let mut map: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
    for (row, &g) in groups.iter().enumerate() {
        map.entry(g).or_default().push(row);
    }
    Ok(map)
}

/// The scorers, with the CLI's names (`asd scorer --kind …`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScorerKind {
    /// −log softmax probability of the clip's class.
    Prob,
    /// Cosine to the class mean.
    Cos,
    /// Cosine to the nearest of k K-Means centres.
    Kmeans,
    /// Negative Gaussian-mixture log-likelihood.
    Gmm,
    /// Local outlier factor.
    Lof,
    /// Distance to the k nearest training embeddings.
    Knn,
    /// The smaller of a source-domain and a target-domain KNN score (DCASE 2023–25 systems).
    #[serde(rename = "domain-knn")]
    DomainKnn,
    /// The smaller of a source-domain and a target-domain Mahalanobis score of the mean error block (the DCASE
    /// autoencoder baseline's "selective Mahalanobis").
    #[serde(rename = "domain-mahalanobis")]
    DomainMahalanobis,
    /// Mean square of the embedding (an autoencoder's error vector: its mean squared reconstruction error).
    Mse,
}

impl ScorerKind {
    /// Every kind, in the order above.
    pub const ALL: [ScorerKind; 9] = [
        ScorerKind::Prob,
        ScorerKind::Cos,
        ScorerKind::Kmeans,
        ScorerKind::Gmm,
        ScorerKind::Lof,
        ScorerKind::Knn,
        ScorerKind::DomainKnn,
        ScorerKind::DomainMahalanobis,
        ScorerKind::Mse,
    ];

    /// Whether the scorer fits one model per domain and needs each training row's domain.
    pub fn is_domain_wise(self) -> bool {
        matches!(self, ScorerKind::DomainKnn | ScorerKind::DomainMahalanobis)
    }

    /// Whether the scorer fits a model on the training embeddings: `false` for PROB and MSE, which score each row by
    /// what the network computed for it (so a network's training rows give in-sample scores however the scorer is
    /// fitted).
    pub fn fits(self) -> bool {
        !matches!(self, ScorerKind::Prob | ScorerKind::Mse)
    }

    /// Whether a clip of several rows is scored by its mean row (`domain-mahalanobis`: the baseline's distance of a
    /// clip's mean error block) rather than by the mean of its rows' scores (every other scorer).
    pub fn scores_clip_mean(self) -> bool {
        self == ScorerKind::DomainMahalanobis
    }
}

/// A scorer with its parameters, as read from TOML:
/// `kind = "lof"` followed by that kind's fields (`n_neighbors = 20`, `metric = "cosine"`); missing fields
/// take the papers' defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ScorerConfig {
    /// PROB.
    Prob(ProbParams),
    /// COS.
    Cos(CosParams),
    /// K-Means.
    Kmeans(KMeansParams),
    /// GMM.
    Gmm(GmmParams),
    /// LOF.
    Lof(LofParams),
    /// KNN.
    Knn(KnnParams),
    /// Domain-wise KNN (`kind = "domain-knn"`, then `[source]` / `[target]` tables of KNN settings).
    #[serde(rename = "domain-knn")]
    DomainKnn(DomainKnnParams),
    /// Domain-wise Mahalanobis (`kind = "domain-mahalanobis"`, then `block`, `batch`, `shuffle`).
    #[serde(rename = "domain-mahalanobis")]
    DomainMahalanobis(MahalanobisParams),
    /// MSE (no settings).
    Mse(crate::MseParams),
}

impl ScorerConfig {
    /// The kind with its default parameters (the papers' values).
    pub fn new(kind: ScorerKind) -> Self {
        match kind {
            ScorerKind::Prob => Self::Prob(ProbParams::default()),
            ScorerKind::Cos => Self::Cos(CosParams::default()),
            ScorerKind::Kmeans => Self::Kmeans(KMeansParams::default()),
            ScorerKind::Gmm => Self::Gmm(GmmParams::default()),
            ScorerKind::Lof => Self::Lof(LofParams::default()),
            ScorerKind::Knn => Self::Knn(KnnParams::default()),
            ScorerKind::DomainKnn => Self::DomainKnn(DomainKnnParams::default()),
            ScorerKind::DomainMahalanobis => Self::DomainMahalanobis(MahalanobisParams::default()),
            ScorerKind::Mse => Self::Mse(crate::MseParams::default()),
        }
    }

    /// Which scorer this is.
    pub fn kind(&self) -> ScorerKind {
        match self {
            Self::Prob(_) => ScorerKind::Prob,
            Self::Cos(_) => ScorerKind::Cos,
            Self::Kmeans(_) => ScorerKind::Kmeans,
            Self::Gmm(_) => ScorerKind::Gmm,
            Self::Lof(_) => ScorerKind::Lof,
            Self::Knn(_) => ScorerKind::Knn,
            Self::DomainKnn(_) => ScorerKind::DomainKnn,
            Self::DomainMahalanobis(_) => ScorerKind::DomainMahalanobis,
            Self::Mse(_) => ScorerKind::Mse,
        }
    }

    /// Whether one group's training rows are enough to fit this scorer: `source_rows` rows outside the target
    /// domain (all rows of a layout without domains) and `target_rows` in it. Call it before training, with the
    /// row counts the embeddings will have, so a setting that cannot fit a group (more clusters than clips)
    /// is found before hours of training.
    ///
    /// # Errors
    /// [`Error::TooFewPoints`] naming the parameter.
    pub fn check_group(&self, source_rows: usize, target_rows: usize) -> Result<()> {
        let fits = crate::linalg::check_rows;
        let all = source_rows + target_rows;
        match self {
            Self::Prob(_) | Self::Mse(_) => Ok(()),
            Self::Cos(p) => fits(p.min_rows(), all),
            Self::Kmeans(p) => fits(p.min_rows(), all),
            Self::Gmm(p) => fits(p.min_rows(), all),
            Self::Lof(p) => fits(p.min_rows(), all),
            Self::Knn(p) => fits(p.min_rows(), all),
            // Each domain's model is fitted on the group's rows of that domain, when it has any.
            Self::DomainKnn(p) => [(&p.source, source_rows), (&p.target, target_rows)]
                .into_iter()
                .filter(|&(_, rows)| rows > 0)
                .try_for_each(|(params, rows)| fits(params.min_rows(), rows)),
            Self::DomainMahalanobis(p) => fits(p.min_rows(), source_rows.max(target_rows)),
        }
    }

    /// Checks the parameters (call at config load, before any decoding or training).
    pub fn check(&self) -> Result<()> {
        match self {
            Self::Prob(p) => p.check(),
            Self::Cos(p) => p.check(),
            Self::Kmeans(p) => p.check(),
            Self::Gmm(p) => p.check(),
            Self::Lof(p) => p.check(),
            Self::Knn(p) => p.check(),
            Self::DomainKnn(p) => p.check(),
            Self::DomainMahalanobis(p) => p.check(),
            Self::Mse(p) => p.check(),
        }
    }
}

/// Fits one model per group on `train` and scores every `test` row with its group's model.
///
/// - `train`: `[n_train, dim]` normal embeddings, `train_groups` their group ids (one per row);
/// - `test`: `[n_test, dim]`, `test_groups` one id per row; returns `[n_test]` scores, higher = more
///   anomalous;
/// - `seed`: each group draws from [`group_rng`]`(seed, group)`, so the result is the same for any thread
///   count;
/// - `prob`: nothing is fitted; `test` holds logits (`[n_test, n_classes]`), `test_groups` the class
///   index of each row, and `train`/`train_groups` are not read.
///
/// The domain-wise KNN needs the domain of each training row: use [`score_grouped_with_domains`].
///
/// Errors: invalid parameters; a test group without training rows ([`Error::MissingGroup`], checked
/// before any fit); any fit or score error, wrapped in [`Error::Group`] with its group id;
/// [`Error::NeedsDomains`] for `domain-knn`.
pub fn score_grouped(
    config: &ScorerConfig,
    train: ArrayView2<'_, f64>,
    train_groups: &[i64],
    test: ArrayView2<'_, f64>,
    test_groups: &[i64],
    seed: u64,
) -> Result<Array1<f64>> {
    score(config, train, train_groups, None, test, test_groups, seed)
}

/// As [`score_grouped`], with `train_target[i]` telling whether training row `i` comes from the target
/// domain (`false`: source). Only the domain-wise KNN reads it: per group it fits one KNN model on the group's
/// source rows and one on its target rows, and a test row's score is the smaller of its group's two scores. A
/// group with training rows in one domain only is scored by that domain's model alone (so on a layout without
/// domains, where every row is `false`, the domain-wise KNN equals the plain KNN with the source settings).
pub fn score_grouped_with_domains(
    config: &ScorerConfig,
    train: ArrayView2<'_, f64>,
    train_groups: &[i64],
    train_target: &[bool],
    test: ArrayView2<'_, f64>,
    test_groups: &[i64],
    seed: u64,
) -> Result<Array1<f64>> {
    score(config, train, train_groups, Some(train_target), test, test_groups, seed)
}

fn score(
    config: &ScorerConfig,
    train: ArrayView2<'_, f64>,
    train_groups: &[i64],
    train_target: Option<&[bool]>,
    test: ArrayView2<'_, f64>,
    test_groups: &[i64],
    seed: u64,
) -> Result<Array1<f64>> {
    if config.kind().fits() {
        check_groups(train_groups, train.nrows(), test_groups)?;
    }
    config
        .fit(train, train_groups, train_target, seed)?
        .score(test, test_groups)
}

impl ScorerConfig {
    /// Fits one model per group on `train` (`[n_train, dim]` normal embeddings, `train_groups` one id per row),
    /// each group drawing from [`group_rng`]`(seed, group)`. `train_target` (one flag per row, `true` = target
    /// domain) is read by the domain-wise KNN only, which needs it. PROB fits nothing: its fitted form keeps its
    /// settings.
    ///
    /// # Errors
    /// Invalid parameters; any fit error, wrapped in [`Error::Group`] with its group id; [`Error::NeedsDomains`]
    /// for `domain-knn` without `train_target`.
    pub fn fit(
        &self,
        train: ArrayView2<'_, f64>,
        train_groups: &[i64],
        train_target: Option<&[bool]>,
        seed: u64,
    ) -> Result<FittedScorer> {
        self.check()?;
        if let Some(target) = train_target {
            if target.len() != train.nrows() {
                return Err(Error::LengthMismatch {
                    what: "train_target",
                    expected: train.nrows(),
                    found: target.len(),
                });
            }
        }
        let (x, g) = (train, train_groups);
        Ok(match self {
            Self::Prob(p) => FittedScorer::Prob { params: p.clone() },
            Self::Mse(p) => FittedScorer::Mse { params: p.clone() },
            Self::Cos(p) => FittedScorer::Cos {
                groups: Grouped::fit(p, x, g, seed)?,
            },
            Self::Kmeans(p) => FittedScorer::Kmeans {
                groups: Grouped::fit(p, x, g, seed)?,
            },
            Self::Gmm(p) => FittedScorer::Gmm {
                groups: Grouped::fit(p, x, g, seed)?,
            },
            Self::Lof(p) => FittedScorer::Lof {
                groups: Grouped::fit(p, x, g, seed)?,
            },
            Self::Knn(p) => FittedScorer::Knn {
                groups: Grouped::fit(p, x, g, seed)?,
            },
            Self::DomainKnn(p) => {
                let target = train_target.ok_or(Error::NeedsDomains)?;
                FittedScorer::DomainKnn {
                    source: fit_domain(&p.source, train, train_groups, target, false, seed)?,
                    target: fit_domain(&p.target, train, train_groups, target, true, seed)?,
                }
            }
            Self::DomainMahalanobis(p) => {
                let target = train_target.ok_or(Error::NeedsDomains)?;
                FittedScorer::DomainMahalanobis {
                    groups: Grouped::fit_selective(p, train, train_groups, target, seed)?,
                }
            }
        })
    }
}

/// Format name written into every scorer file.
const FILE_FORMAT: &str = "asd-scorer";
/// Version of the scorer file layout; bumped whenever a fitted scorer's saved form changes.
pub const SCORER_FILE_VERSION: u32 = 1;
/// The largest scorer file [`FittedScorer::load`] reads (a KNN or LOF model holds its training rows: a million
/// 128-d rows as JSON is about 3 GB).
const MAX_SCORER_FILE_BYTES: u64 = 4 << 30;

/// One scorer fitted on every group: what [`ScorerConfig::fit`] returns, [`FittedScorer::score`] scores with, and
/// [`FittedScorer::save`] / [`FittedScorer::load`] keep in a file. PROB fits nothing and keeps its settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FittedScorer {
    /// PROB (scores logits; nothing fitted).
    Prob {
        /// Its settings.
        params: ProbParams,
    },
    /// COS: one class mean per group.
    Cos {
        /// The model of each group.
        groups: Grouped<crate::Cos>,
    },
    /// K-Means: centres per group.
    Kmeans {
        /// The model of each group.
        groups: Grouped<crate::KMeans>,
    },
    /// GMM: a mixture per group.
    Gmm {
        /// The model of each group.
        groups: Grouped<crate::Gmm>,
    },
    /// LOF: the training rows and their densities per group.
    Lof {
        /// The model of each group.
        groups: Grouped<crate::Lof>,
    },
    /// KNN: the training rows per group.
    Knn {
        /// The model of each group.
        groups: Grouped<crate::Knn>,
    },
    /// Domain-wise KNN: a source and a target model per group (a group may lack one of them).
    #[serde(rename = "domain-knn")]
    DomainKnn {
        /// Models of the source-domain rows.
        source: Grouped<crate::Knn>,
        /// Models of the target-domain rows.
        target: Grouped<crate::Knn>,
    },
    /// Selective Mahalanobis: a source-domain and a target-domain model per group.
    #[serde(rename = "domain-mahalanobis")]
    DomainMahalanobis {
        /// The models of each group.
        groups: Grouped<crate::SelectiveMahalanobis>,
    },
    /// MSE (scores each row by itself; nothing fitted).
    Mse {
        /// Its settings.
        params: crate::MseParams,
    },
}

impl FittedScorer {
    /// Which scorer this is.
    pub fn kind(&self) -> ScorerKind {
        match self {
            Self::Prob { .. } => ScorerKind::Prob,
            Self::Cos { .. } => ScorerKind::Cos,
            Self::Kmeans { .. } => ScorerKind::Kmeans,
            Self::Gmm { .. } => ScorerKind::Gmm,
            Self::Lof { .. } => ScorerKind::Lof,
            Self::Knn { .. } => ScorerKind::Knn,
            Self::DomainKnn { .. } => ScorerKind::DomainKnn,
            Self::DomainMahalanobis { .. } => ScorerKind::DomainMahalanobis,
            Self::Mse { .. } => ScorerKind::Mse,
        }
    }

    /// Scores each row of `test` (`[n, dim]`) with the model of its group (`test_groups`, one id per row);
    /// returns `[n]`, higher = more anomalous. PROB reads `test` as logits `[n, n_classes]` and `test_groups` as
    /// the class index of each row.
    ///
    /// # Errors
    /// A group without a model ([`Error::MissingGroup`]); any score error, with its group.
    pub fn score(&self, test: ArrayView2<'_, f64>, test_groups: &[i64]) -> Result<Array1<f64>> {
        match self {
            Self::Prob { params } => params.score(test, test_groups),
            Self::Cos { groups } => groups.score(test, test_groups),
            Self::Kmeans { groups } => groups.score(test, test_groups),
            Self::Gmm { groups } => groups.score(test, test_groups),
            Self::Lof { groups } => groups.score(test, test_groups),
            Self::Knn { groups } => groups.score(test, test_groups),
            Self::DomainKnn { source, target } => domain_wise(source, target, test, test_groups),
            Self::DomainMahalanobis { groups } => groups.score(test, test_groups),
            Self::Mse { params } => params.score(test),
        }
    }

    /// Writes this scorer as JSON at `path` (atomically: [`asd_io::write`]), in an envelope naming the format and
    /// [`SCORER_FILE_VERSION`]. Floats are written so that [`FittedScorer::load`] reads back the same bits.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file.
    pub fn save(&self, path: &Path) -> Result<()> {
        let io = |source| Error::Io {
            path: path.into(),
            source,
        };
        let envelope = serde_json::json!({
            "format": FILE_FORMAT,
            "version": SCORER_FILE_VERSION,
            "scorer": self,
        });
        let text = serde_json::to_vec(&envelope).map_err(|e| io(std::io::Error::other(e)))?;
        asd_io::write(path, &text).map_err(io)
    }

    /// Reads a scorer saved by [`FittedScorer::save`], checking every model (shapes, finite values, enough rows)
    /// before it can score.
    ///
    /// # Errors
    /// [`Error::Io`] for a file that cannot be read (or is not a regular file, or is over 4 GiB);
    /// [`Error::File`] for one that is not a scorer file, is of another version (both named), or holds a model
    /// that does not check.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = asd_io::read_limited(path, MAX_SCORER_FILE_BYTES).map_err(|source| Error::Io {
            path: path.into(),
            source,
        })?;
        let bad = |reason: String| Error::File {
            path: path.into(),
            reason,
        };
        let mut envelope: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| bad(format!("not a scorer file: {e}")))?;
        if envelope["format"] != FILE_FORMAT {
            return Err(bad(format!("not a scorer file (no `\"format\": \"{FILE_FORMAT}\"`)")));
        }
        match envelope["version"].as_u64() {
            Some(v) if v == u64::from(SCORER_FILE_VERSION) => {}
            found => {
                return Err(bad(format!(
                    "a scorer file of version {}, this build reads version {SCORER_FILE_VERSION}; fit the scorers \
                     again with `asd score`",
                    found.map_or_else(|| "?".to_string(), |v| v.to_string())
                )));
            }
        }
        serde_json::from_value(envelope["scorer"].take()).map_err(|e| bad(format!("invalid scorer: {e}")))
    }
}

/// Checks one group id per training row and that every test group has training rows, before any fit.
fn check_groups(train_groups: &[i64], n_train: usize, test_groups: &[i64]) -> Result<()> {
    let have = rows_by_group(train_groups, n_train, "train_groups")?;
    match test_groups.iter().find(|g| !have.contains_key(g)) {
        Some(&group) => Err(Error::MissingGroup { group }),
        None => Ok(()),
    }
}

/// The domain-wise KNN of [`score_grouped_with_domains`]: per group, the smaller of its source and target models'
/// scores (one of them alone when the group has rows in one domain only).
/// Fits `params` per group on the training rows of one domain (`target[r] == domain`).
fn fit_domain<P>(
    params: &P,
    train: ArrayView2<'_, f64>,
    train_groups: &[i64],
    target: &[bool],
    domain: bool,
    seed: u64,
) -> Result<Grouped<P::Fitted>>
where
    P: Fit + Sync,
    P::Fitted: Send,
{
    let rows: Vec<usize> = (0..train.nrows()).filter(|&r| target[r] == domain).collect();
    let groups: Vec<i64> = rows.iter().map(|&r| train_groups[r]).collect();
    Grouped::fit(params, train.select(Axis(0), &rows).view(), &groups, seed)
}

/// The smaller of each row's source-domain and target-domain scores (the one model a group has, when it lacks the
/// other).
fn domain_wise<S: Score>(
    source: &Grouped<S>,
    target: &Grouped<S>,
    test: ArrayView2<'_, f64>,
    test_groups: &[i64],
) -> Result<Array1<f64>> {
    let rows = rows_by_group(test_groups, test.nrows(), "test_groups")?;
    let mut out = Array1::zeros(test.nrows());
    for (group, rows) in rows {
        let x = test.select(Axis(0), &rows);
        let score = |model: Option<&S>| {
            model.map(|m| m.score(x.view())).transpose().map_err(|e| Error::Group {
                group,
                source: Box::new(e),
            })
        };
        let s = match (score(source.get(group))?, score(target.get(group))?) {
            (Some(s), Some(t)) => ndarray::Zip::from(&s).and(&t).map_collect(|&s, &t| s.min(t)),
            (Some(s), None) | (None, Some(s)) => s,
            (None, None) => return Err(Error::MissingGroup { group }),
        };
        for (r, v) in rows.into_iter().zip(s) {
            out[r] = v;
        }
    }
    Ok(out)
}

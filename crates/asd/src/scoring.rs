//! From example-level model outputs to clip scores, reports and run-folder files, for several scorers in one go.
//!
//! A model sees *examples* (a 2-s segment for ASDNet, a whole clip for STgram-MFN); the metrics see *clips*.
//! [`score_clips`] fits every scorer of a [`ScoringConfig`] per group (machine type × ID / section) on the
//! normal training examples, scores the test examples, pools them per clip ([`ClipPooling`]) and adds the
//! [`Ensemble`] of the scorers when asked. It also calibrates each scorer's decision threshold per group on the
//! normal training clips ([`ScoringConfig::threshold`]), on out-of-fold scores where the scorer has seen those
//! clips ([`Calibration`]), and returns every fitted scorer with its thresholds ([`CalibratedScorer`]): the
//! detector a run folder keeps. [`write_reports`] turns the clip scores into DCASE score and decision CSVs, a
//! metrics report per scorer and the Markdown results table (seed 000 Table 4 is one such run: five scorers on one
//! set of embeddings).

use crate::run_folder::create_dir;
use crate::{Error, Result};
use asd_data::Clip;
use asd_metrics::{ClipTruth, EvalOptions, GroupScores, Pool, Report, ScoredClip};
use asd_scorers::{FittedScorer, ScorerConfig, ScorerKind, Threshold};
use ndarray::{Array1, Array2, Axis};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How the outputs of a clip's examples (segments) become one clip score.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClipPooling {
    /// Score every example, then average the scores of a clip (asdnet_specmfn.md §6, the default).
    #[default]
    MeanSegmentScore,
    /// Average the embeddings (and logits) of a clip's examples, then score the mean once; the scorers are fitted
    /// on clip-mean training embeddings as well.
    MeanSegmentEmbedding,
}

/// How several scorers' clip scores are combined into one more score (seed 000 §5 suggests combining
/// scorers where false alarms are costly).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ensemble {
    /// Within each group, each scorer's test scores are replaced by their ranks (ties share the mean rank),
    /// divided by the number of test clips; the ensemble score is the mean of these over the scorers. Ranking
    /// removes the scorers' different scales. It needs the group's test clips together (batch evaluation).
    RankAverage,
}

impl Ensemble {
    /// The name under which the ensemble's scores and report are written.
    pub fn name(self) -> &'static str {
        match self {
            Ensemble::RankAverage => "rank-average",
        }
    }
}

/// The scorers of a run and how their scores are pooled and combined.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScoringConfig {
    /// Scorers, each fitted per group on the normal training embeddings; the first is the run's headline
    /// (`metrics.json`, the printed table). PROB scores the model's class logits instead of embeddings.
    pub scorers: Vec<ScorerConfig>,
    /// Segment-to-clip pooling.
    pub clip_pooling: ClipPooling,
    /// An ensemble of all the scorers, reported beside them (needs at least two scorers). It ranks the test
    /// clips against each other, so it has no threshold and no decisions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ensemble: Option<Ensemble>,
    /// How each scorer's decision threshold is set per group from the normal training clips' scores (default: the
    /// DCASE baseline's gamma fit at the 0.9 quantile).
    pub threshold: Threshold,
    /// Folds of the out-of-fold training scores the thresholds are calibrated on (at least 2).
    pub calibration_folds: usize,
    /// How AUCs are grouped in the reports (decisions.md §2): DCASE's per ID / section (`group`, the default), or
    /// also pooled over all clips of each machine type (`type`, the attention-net and OS-SCL papers' convention),
    /// reported beside DCASE's and named as such.
    pub pool: Pool,
    /// Reproduction only (decisions.md §3): after training, score every snapshot (`train.snapshot_every`) and the
    /// final model on the **test** clips and keep the one with the best headline test AUC, as the attention net's
    /// reference code does. Every output then says so. Default `false`: the final model.
    pub select_by_test_auc: bool,
}

/// A group calibrates on its held-out clips only when it has at least 5 of them (our choice: a threshold from
/// fewer scores is mostly noise; the out-of-fold scores of all its clips serve better then).
pub const MIN_HELD_OUT: usize = 5;

/// Five folds: each fold's scorer is fitted on 80 % of a group's training clips and scores the other 20 % (our
/// choice; the usual k of k-fold cross-validation).
pub const CALIBRATION_FOLDS: usize = 5;

impl Default for ScoringConfig {
    fn default() -> Self {
        Self::single(ScorerConfig::new(ScorerKind::Knn))
    }
}

impl ScoringConfig {
    /// One scorer, mean segment scores, no ensemble.
    pub fn single(scorer: ScorerConfig) -> Self {
        Self::many(vec![scorer])
    }

    /// Several scorers, mean segment scores, no ensemble.
    pub fn many(scorers: Vec<ScorerConfig>) -> Self {
        Self {
            scorers,
            clip_pooling: ClipPooling::default(),
            ensemble: None,
            threshold: Threshold::default(),
            calibration_folds: CALIBRATION_FOLDS,
            pool: Pool::Group,
            select_by_test_auc: false,
        }
    }

    /// Checks every scorer; `has_logits` says whether the system produces class logits (PROB needs them).
    ///
    /// # Errors
    /// [`Error::Setting`] for no scorer, PROB without logits, or an ensemble of fewer than two scorers;
    /// [`Error::Scorers`] for a scorer's bad parameters.
    pub fn check(&self, has_logits: bool, system: &str) -> Result<()> {
        if self.scorers.is_empty() {
            return Err(Error::Setting {
                field: "scoring.scorers".into(),
                reason: "needs at least one scorer".into(),
            });
        }
        for scorer in &self.scorers {
            scorer.check()?;
            if scorer.kind() == ScorerKind::Prob && !has_logits {
                return Err(Error::Setting {
                    field: "scoring.scorers".into(),
                    reason: format!("scorer prob needs class logits, which system {system} does not produce"),
                });
            }
        }
        if self.ensemble.is_some() && self.scorers.len() < 2 {
            return Err(Error::Setting {
                field: "scoring.ensemble".into(),
                reason: "needs at least two scorers".into(),
            });
        }
        if self.calibration_folds < 2 {
            return Err(Error::Setting {
                field: "scoring.calibration_folds".into(),
                reason: format!("is {}, needs at least 2", self.calibration_folds),
            });
        }
        self.threshold.check().map_err(|e| Error::Setting {
            field: "scoring.threshold".into(),
            reason: e.to_string(),
        })
    }

    /// One distinct name per scorer (`gmm`, then `gmm-2` for a second GMM, …), then the ensemble's: the names of
    /// the score folders and reports, in the order [`score_clips`] returns them.
    pub fn names(&self) -> Vec<String> {
        let mut seen: std::collections::HashMap<ScorerKind, usize> = std::collections::HashMap::new();
        let mut names: Vec<String> = self
            .scorers
            .iter()
            .map(|s| {
                let kind = s.kind();
                let n = seen.entry(kind).or_insert(0);
                *n += 1;
                let base = serde_name(kind);
                if *n == 1 { base } else { format!("{base}-{n}") }
            })
            .collect();
        names.extend(self.ensemble.map(|e| e.name().to_string()));
        names
    }
}

/// The kebab-case name serde gives a unit enum variant.
fn serde_name<T: Serialize>(value: T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// A model's outputs for a list of examples, and the clip each example belongs to.
#[derive(Clone, Debug)]
pub struct ExampleOutputs {
    /// Embeddings `[n_examples, dim]`.
    pub embeddings: Array2<f64>,
    /// PROB's score of each example `[n_examples]`: −log softmax of the classifier's logits at the clip's own
    /// class, with the head's margin at that class (asdnet_specmfn.md §7.1, stgram_mfn.md §7.1), when the
    /// system has a classifier.
    pub class_scores: Option<Array1<f64>>,
    /// The classifier's logits without margin `[n_examples, n_classes]` (ArcFace: s·cos), when the system has a
    /// classifier.
    pub logits: Option<Array2<f32>>,
    /// Clip index of each example (ascending, every clip present).
    pub clip: Vec<usize>,
}

impl ExampleOutputs {
    /// One example per clip (a training-free embedding or a whole-clip model).
    pub fn per_clip(embeddings: Array2<f64>, class_scores: Option<Array1<f64>>) -> Self {
        let clip = (0..embeddings.nrows()).collect();
        Self {
            embeddings,
            class_scores,
            logits: None,
            clip,
        }
    }

    /// Number of clips.
    pub fn n_clips(&self) -> usize {
        self.clip.last().map_or(0, |&c| c + 1)
    }

    fn check(&self, what: &str) -> Result<()> {
        let n = self.embeddings.nrows();
        let scores_ok = self.class_scores.as_ref().is_none_or(|l| l.len() == n)
            && self.logits.as_ref().is_none_or(|l| l.nrows() == n);
        let ordered = self.clip.windows(2).all(|w| w[1] == w[0] || w[1] == w[0] + 1) && self.clip.first() == Some(&0);
        if self.clip.len() != n || !scores_ok || !ordered {
            return Err(Error::Mismatch(format!(
                "{what} outputs: {n} embeddings, {} clip indices and {:?} class scores do not line up",
                self.clip.len(),
                self.class_scores.as_ref().map(|l| l.len())
            )));
        }
        Ok(())
    }

    /// The examples' embeddings (and class scores) averaged per clip.
    pub(crate) fn clip_means(&self) -> Self {
        let mut out = Array2::<f64>::zeros((self.n_clips(), self.embeddings.ncols()));
        let mut counts = vec![0.0; self.n_clips()];
        for (row, &c) in self.embeddings.axis_iter(Axis(0)).zip(&self.clip) {
            let mut target = out.row_mut(c);
            target += &row;
            counts[c] += 1.0;
        }
        for (mut row, n) in out.axis_iter_mut(Axis(0)).zip(counts) {
            row /= n;
        }
        let scores = self
            .class_scores
            .as_ref()
            .map(|s| mean_per_clip(s, &self.clip, self.n_clips()));
        let logits = self.logits.as_ref().map(|l| {
            let columns = l
                .columns()
                .into_iter()
                .map(|c| mean_per_clip(&c.mapv(f64::from), &self.clip, self.n_clips()));
            let mut out = Array2::<f32>::zeros((self.n_clips(), l.ncols()));
            for (mut o, c) in out.columns_mut().into_iter().zip(columns) {
                o.assign(&c.mapv(|v| v as f32));
            }
            out
        });
        Self {
            logits,
            ..Self::per_clip(out, scores)
        }
    }
}

/// How a group's threshold was calibrated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Calibration {
    /// On the clips the training held out for validation (`[train.validation]`), which the network never trained
    /// on, scored by a scorer fitted on the group's other clips: the scores new normal clips get.
    HeldOut,
    /// On out-of-fold scores: each training clip scored by a scorer fitted on the group's other folds.
    OutOfFold,
    /// On the scores of the clips the scorer (or, for PROB, the network) was fitted on: optimistic (lower scores
    /// than new normal clips get, so more false alarms than the rule's target). Used for PROB, and for a group
    /// whose folds are too small to fit the scorer on.
    InSample,
}

/// One group's decision threshold: a clip scoring above it is called anomalous.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupThreshold {
    /// The threshold, in the scorer's units.
    pub threshold: f64,
    /// What it was calibrated on.
    pub calibration: Calibration,
    /// How many normal training clips' scores it was calibrated on.
    pub clips: usize,
}

/// A scorer fitted on every group's normal training examples, with each group's threshold.
#[derive(Clone, Debug)]
pub struct CalibratedScorer {
    /// Its name ([`ScoringConfig::names`]).
    pub name: String,
    /// The fitted models.
    pub scorer: FittedScorer,
    /// Threshold of each scorer group id.
    pub thresholds: BTreeMap<i64, GroupThreshold>,
}

/// What [`score_clips`] returns.
#[derive(Clone, Debug)]
pub struct ScoredClips {
    /// Clip scores of every scorer, then of the ensemble, in the order of [`ScoringConfig::names`]; each
    /// `[n_test_clips]`, higher = more anomalous.
    pub scores: Vec<Array1<f64>>,
    /// Every scorer (not the ensemble), fitted and calibrated, in the same order.
    pub calibrated: Vec<CalibratedScorer>,
}

/// Scores of every example of `outputs` with `fitted` (PROB: the outputs' class scores), `[n_examples]`;
/// `groups` holds the scorer group of each clip.
///
/// # Errors
/// PROB without class scores; any scorer error.
pub fn example_scores(fitted: &FittedScorer, outputs: &ExampleOutputs, groups: &[i64]) -> Result<Array1<f64>> {
    if let FittedScorer::Prob { .. } = fitted {
        // The classifier's own score: nothing to fit (the PROB scorer of `asd scorer` computes the same
        // −log softmax from logits).
        return outputs.class_scores.clone().ok_or_else(|| {
            Error::Mismatch("scorer prob needs the class score of every clip (a group unseen in training?)".into())
        });
    }
    Ok(fitted.score(outputs.embeddings.view(), &per_example(groups, outputs))?)
}

/// Clip scores of `outputs` by `fitted` (`groups`: the scorer group of each clip), `[n_clips]`: the mean of each
/// clip's example scores, or for a scorer that scores a clip's mean embedding
/// ([`ScorerKind::scores_clip_mean`]: the selective Mahalanobis distance of a clip's mean error block) the score of
/// that mean.
///
/// # Errors
/// As [`example_scores`].
pub fn clip_scores(fitted: &FittedScorer, outputs: &ExampleOutputs, groups: &[i64]) -> Result<Array1<f64>> {
    if fitted.kind().scores_clip_mean() && outputs.clip.len() != outputs.n_clips() {
        return example_scores(fitted, &outputs.clip_means(), groups);
    }
    let scores = example_scores(fitted, outputs, groups)?;
    Ok(mean_per_clip(&scores, &outputs.clip, outputs.n_clips()))
}

/// One value per example from one value per clip.
fn per_example<T: Copy>(per_clip: &[T], outputs: &ExampleOutputs) -> Vec<T> {
    outputs.clip.iter().map(|&c| per_clip[c]).collect()
}

/// Clip scores of every scorer of `config`, then of its ensemble, and every scorer fitted on all training examples
/// with its decision thresholds per group ([`ScoredClips`]): [`calibrate`], then [`score_test`].
///
/// `train` holds the normal training examples, `test` the test examples; `*_groups` the scorer group of each
/// clip (machine type × ID / section: one fitted model and one threshold per group; `group_names[id]` names group
/// `id` in messages); `train_target` whether each training clip is from the target domain (all `false` for
/// layouts without domains), which only the domain-wise KNN reads.
///
/// # Errors
/// As [`calibrate`] and [`score_test`].
#[allow(clippy::too_many_arguments)] // the two clip lists with their groups, the names, the seed
pub fn score_clips(
    config: &ScoringConfig,
    train: &ExampleOutputs,
    train_groups: &[i64],
    train_target: &[bool],
    test: &ExampleOutputs,
    test_groups: &[i64],
    group_names: &[String],
    seed: u64,
) -> Result<ScoredClips> {
    let calibrated = calibrate(config, train, train_groups, train_target, None, group_names, seed)?;
    let scores = score_test(config, &calibrated, test, test_groups)?;
    Ok(ScoredClips { scores, calibrated })
}

/// The outputs as the scorers see them: per example, or averaged per clip ([`ClipPooling`]).
fn pooled<'a>(config: &ScoringConfig, outputs: &'a ExampleOutputs) -> std::borrow::Cow<'a, ExampleOutputs> {
    match config.clip_pooling {
        ClipPooling::MeanSegmentScore => std::borrow::Cow::Borrowed(outputs),
        ClipPooling::MeanSegmentEmbedding => std::borrow::Cow::Owned(outputs.clip_means()),
    }
}

/// Fits every scorer of `config` per group on the normal training examples and calibrates its threshold per group
/// ([`ScoringConfig::threshold`]) on the clips training held out (`held_out`, one flag per training clip) where a
/// group has enough of them, else on out-of-fold clip scores where it can ([`Calibration`]). Other arguments as
/// [`score_clips`].
///
/// # Errors
/// Outputs whose lengths disagree, PROB without class scores, any scorer error (with its group), or a threshold
/// that cannot be calibrated (named by scorer and group).
#[allow(clippy::too_many_arguments)] // the clips with their groups, domains and held-out flags, the names, the seed
pub fn calibrate(
    config: &ScoringConfig,
    train: &ExampleOutputs,
    train_groups: &[i64],
    train_target: &[bool],
    held_out: Option<&[bool]>,
    group_names: &[String],
    seed: u64,
) -> Result<Vec<CalibratedScorer>> {
    train.check("training")?;
    if train.n_clips() != train_groups.len()
        || train.n_clips() != train_target.len()
        || held_out.is_some_and(|h| h.len() != train.n_clips())
    {
        return Err(Error::Mismatch(format!(
            "{} training clips but {} group ids and {} training domains",
            train.n_clips(),
            train_groups.len(),
            train_target.len()
        )));
    }
    let train = pooled(config, train);
    let train = train.as_ref();
    let mut calibrated = Vec::with_capacity(config.scorers.len());
    for (scorer, name) in config.scorers.iter().zip(config.names()) {
        let fitted = if scorer.kind() == ScorerKind::Prob {
            scorer.fit(Array2::zeros((0, 0)).view(), &[], None, seed)?
        } else {
            let target = per_example(train_target, train);
            scorer.fit(
                train.embeddings.view(),
                &per_example(train_groups, train),
                Some(&target),
                seed,
            )?
        };
        let calibration = Calibrate {
            config,
            scorer,
            fitted: &fitted,
            train,
            train_groups,
            train_target,
            held_out,
            seed,
        };
        let thresholds = calibration.thresholds().map_err(|(group, e)| Error::Setting {
            field: "scoring.threshold".into(),
            reason: format!(
                "scorer {name}: the threshold of {} cannot be calibrated: {e}",
                group_names.get(group as usize).map_or("?", String::as_str)
            ),
        })?;
        calibrated.push(CalibratedScorer {
            name,
            scorer: fitted,
            thresholds,
        });
    }
    Ok(calibrated)
}

/// Clip scores of the test examples by every calibrated scorer, then the ensemble of `config` when it has one, in
/// the order of [`ScoringConfig::names`]; each `[n_test_clips]`.
///
/// # Errors
/// Outputs that do not line up, PROB without class scores, a test group without a model, a scorer error.
pub fn score_test(
    config: &ScoringConfig,
    calibrated: &[CalibratedScorer],
    test: &ExampleOutputs,
    test_groups: &[i64],
) -> Result<Vec<Array1<f64>>> {
    test.check("test")?;
    if test.n_clips() != test_groups.len() {
        return Err(Error::Mismatch(format!(
            "{} test clips but {} group ids",
            test.n_clips(),
            test_groups.len()
        )));
    }
    let test = pooled(config, test);
    let test = test.as_ref();
    let mut scores = calibrated
        .iter()
        .map(|c| clip_scores(&c.scorer, test, test_groups))
        .collect::<Result<Vec<_>>>()?;
    if let Some(Ensemble::RankAverage) = config.ensemble {
        let ranked: Vec<Array1<f64>> = scores.iter().map(|s| group_ranks(s, test_groups)).collect();
        let n = ranked.len() as f64;
        let mean = ranked
            .iter()
            .fold(Array1::zeros(test_groups.len()), |acc: Array1<f64>, r| acc + r)
            / n;
        scores.push(mean);
    }
    Ok(scores)
}

/// The calibration of one scorer's thresholds on the training clips.
struct Calibrate<'a> {
    config: &'a ScoringConfig,
    scorer: &'a ScorerConfig,
    fitted: &'a FittedScorer,
    train: &'a ExampleOutputs,
    train_groups: &'a [i64],
    train_target: &'a [bool],
    held_out: Option<&'a [bool]>,
    seed: u64,
}

impl Calibrate<'_> {
    /// The threshold of every group, groups in parallel; an error comes with its group id.
    fn thresholds(&self) -> std::result::Result<BTreeMap<i64, GroupThreshold>, (i64, Error)> {
        let mut clips: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
        for (c, &g) in self.train_groups.iter().enumerate() {
            clips.entry(g).or_default().push(c);
        }
        clips
            .into_par_iter()
            .map(|(group, clips)| {
                let (scores, calibration) = if let Some(scores) = self.held_out(group, &clips) {
                    (scores, Calibration::HeldOut)
                } else if let Some(scores) = self.out_of_fold(group, &clips) {
                    (scores, Calibration::OutOfFold)
                } else {
                    (
                        self.in_sample(group, &clips).map_err(|e| (group, e))?,
                        Calibration::InSample,
                    )
                };
                let threshold = self.config.threshold.fit(&scores).map_err(|e| (group, e.into()))?;
                Ok((
                    group,
                    GroupThreshold {
                        threshold,
                        calibration,
                        clips: scores.len(),
                    },
                ))
            })
            .collect()
    }

    /// The examples of `clips` as their own outputs (clip indices renumbered from 0).
    fn subset(&self, clips: &[usize]) -> ExampleOutputs {
        let rows: Vec<usize> = (0..self.train.clip.len())
            .filter(|&r| clips.binary_search(&self.train.clip[r]).is_ok())
            .collect();
        let renumber = |c: usize| clips.partition_point(|&x| x < c);
        ExampleOutputs {
            embeddings: self.train.embeddings.select(Axis(0), &rows),
            class_scores: self.train.class_scores.as_ref().map(|s| s.select(Axis(0), &rows)),
            logits: None,
            clip: rows.iter().map(|&r| renumber(self.train.clip[r])).collect(),
        }
    }

    /// Clip scores of the group's held-out clips by the scorer fitted on its other clips (PROB: their class scores),
    /// or `None` without held-out clips, with fewer than [`MIN_HELD_OUT`] or than the threshold rule needs, or when
    /// the scorer cannot be fitted on the others.
    fn held_out(&self, group: i64, clips: &[usize]) -> Option<Vec<f64>> {
        let held_out = self.held_out?;
        let (held, fit): (Vec<usize>, Vec<usize>) = clips.iter().partition(|&&c| held_out[c]);
        if held.len() < self.config.threshold.min_scores().max(MIN_HELD_OUT) || fit.is_empty() {
            return None;
        }
        let held_outputs = self.subset(&held);
        let fitted = if !self.scorer.kind().fits() {
            self.fitted.clone()
        } else {
            let fit_outputs = self.subset(&fit);
            let target: Vec<bool> = fit.iter().map(|&c| self.train_target[c]).collect();
            self.scorer
                .fit(
                    fit_outputs.embeddings.view(),
                    &vec![group; fit_outputs.clip.len()],
                    Some(&per_example(&target, &fit_outputs)),
                    self.seed,
                )
                .ok()?
        };
        let s = clip_scores(&fitted, &held_outputs, &vec![group; held.len()]).ok()?;
        Some(s.to_vec())
    }

    /// The clip scores of the group's training clips by the scorer fitted on all of them.
    fn in_sample(&self, group: i64, clips: &[usize]) -> Result<Vec<f64>> {
        let outputs = self.subset(clips);
        Ok(clip_scores(self.fitted, &outputs, &vec![group; clips.len()])?.to_vec())
    }

    /// Out-of-fold clip scores of the group's training clips (clip `i` of the group in fold `i mod k`), or `None`
    /// for a scorer that fits nothing (PROB, MSE: the network saw every clip) and when a fold's scorer cannot be
    /// fitted on the other folds.
    fn out_of_fold(&self, group: i64, clips: &[usize]) -> Option<Vec<f64>> {
        let k = self.config.calibration_folds.min(clips.len());
        if !self.scorer.kind().fits() || k < 2 {
            return None;
        }
        let mut scores = vec![0.0; clips.len()];
        for fold in 0..k {
            let (held, fit): (Vec<usize>, Vec<usize>) = (0..clips.len()).partition(|i| i % k == fold);
            let fit_clips: Vec<usize> = fit.iter().map(|&i| clips[i]).collect();
            let held_clips: Vec<usize> = held.iter().map(|&i| clips[i]).collect();
            let fit_outputs = self.subset(&fit_clips);
            let target: Vec<bool> = fit_clips.iter().map(|&c| self.train_target[c]).collect();
            let fitted = self
                .scorer
                .fit(
                    fit_outputs.embeddings.view(),
                    &vec![group; fit_outputs.clip.len()],
                    Some(&per_example(&target, &fit_outputs)),
                    self.seed,
                )
                .ok()?;
            let held_outputs = self.subset(&held_clips);
            let s = clip_scores(&fitted, &held_outputs, &vec![group; held.len()]).ok()?;
            for (i, v) in held.iter().zip(s) {
                scores[*i] = v;
            }
        }
        Some(scores)
    }
}

/// Mean of the example scores of each clip.
pub(crate) fn mean_per_clip(example_scores: &Array1<f64>, clip: &[usize], n_clips: usize) -> Array1<f64> {
    let mut sum = Array1::<f64>::zeros(n_clips);
    let mut count = vec![0.0; n_clips];
    for (&s, &c) in example_scores.iter().zip(clip) {
        sum[c] += s;
        count[c] += 1.0;
    }
    sum.iter_mut().zip(count).for_each(|(s, n)| *s /= n);
    sum
}

/// Within each group, the rank of each score (1 = lowest; ties share their mean rank) divided by the group's size.
fn group_ranks(scores: &Array1<f64>, groups: &[i64]) -> Array1<f64> {
    let mut members: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
    for (i, &g) in groups.iter().enumerate() {
        members.entry(g).or_default().push(i);
    }
    let mut out = Array1::zeros(scores.len());
    for rows in members.values() {
        let mut order = rows.clone();
        order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
        let n = order.len() as f64;
        let mut start = 0;
        while start < order.len() {
            let mut end = start + 1;
            while end < order.len() && scores[order[end]] == scores[order[start]] {
                end += 1;
            }
            // Ranks start+1 ..= end share their mean.
            let rank = (start + 1 + end) as f64 / 2.0;
            order[start..end].iter().for_each(|&i| out[i] = rank / n);
            start = end;
        }
    }
    out
}

/// The files and report of one scorer (or the ensemble).
#[derive(Debug)]
pub struct ScorerReport {
    /// The scorer's name ([`ScoringConfig::names`]).
    pub name: String,
    /// Its evaluation on the labelled test clips; `None` when no test clip has a label (an evaluation set).
    pub report: Option<Report>,
    /// `scores/<name>/`: DCASE score CSVs of every test clip, labelled or not.
    pub scores_dir: PathBuf,
}

/// The labelled test clips of each (machine type, group), with the score `score` and the decision `decision`
/// give each (by index into `test`); groups without a labelled clip are left out.
pub(crate) fn labelled_groups(
    test: &[Clip],
    score: impl Fn(usize) -> f64,
    decision: impl Fn(usize) -> Option<bool>,
) -> Vec<GroupScores> {
    let mut groups: BTreeMap<(&str, &str), Vec<ScoredClip>> = BTreeMap::new();
    for (i, clip) in test.iter().enumerate() {
        let Some(label) = clip.condition.label() else {
            continue;
        };
        groups
            .entry((&clip.machine_type, &clip.group))
            .or_default()
            .push(ScoredClip {
                file: clip.file_name.clone(),
                score: score(i),
                truth: ClipTruth {
                    anomaly: label == 1,
                    domain: clip.domain.map(crate::metrics_domain),
                },
                decision: decision(i),
            });
    }
    groups
        .into_iter()
        .map(|((machine_type, group), clips)| GroupScores {
            machine_type: machine_type.to_string(),
            group: group.to_string(),
            clips,
        })
        .collect()
}

/// One scorer's (or the ensemble's) scores of the test clips, with their decisions when it has thresholds.
#[derive(Clone, Debug)]
pub struct NamedScores {
    /// The scorer's name ([`ScoringConfig::names`]).
    pub name: String,
    /// The score of each test clip.
    pub scores: Array1<f64>,
    /// The decision of each test clip (`true`: its score is above its group's threshold, called anomalous);
    /// `None` for the ensemble.
    pub decisions: Option<Vec<bool>>,
}

/// Writes, for each named clip-score vector, `out/scores/<name>/anomaly_score_<type>_<group>.csv` for every test
/// clip (labelled or not: evaluation-set names are scored for submission) and, with decisions,
/// `decision_result_<type>_<group>.csv` beside it; then evaluates it on the labelled clips (with precision, recall
/// and F1 of the decisions), writing `out/metrics/<name>.json` and `out/roc/<name>/` when there are any.
///
/// # Errors
/// A score or decision vector of the wrong length, a labelled group the evaluator refuses, or a file that cannot
/// be written (named).
///
/// `pool` groups the AUCs ([`ScoringConfig::pool`]).
pub fn write_reports(out: &Path, test: &[Clip], named_scores: &[NamedScores], pool: Pool) -> Result<Vec<ScorerReport>> {
    named_scores
        .iter()
        .map(|named| {
            let NamedScores {
                name,
                scores,
                decisions,
            } = named;
            if scores.len() != test.len() || decisions.as_ref().is_some_and(|d| d.len() != test.len()) {
                return Err(Error::Mismatch(format!(
                    "{name}: {} scores and {:?} decisions for {} test clips",
                    scores.len(),
                    decisions.as_ref().map(Vec::len),
                    test.len()
                )));
            }
            let scores_dir = out.join("scores").join(name);
            create_dir(&scores_dir)?;
            let mut files: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
            for (i, clip) in test.iter().enumerate() {
                files.entry((&clip.machine_type, &clip.group)).or_default().push(i);
            }
            for ((machine_type, group), rows) in files {
                let file = |i: usize| test[i].file_name.as_str();
                let score_rows: Vec<(&str, f64)> = rows.iter().map(|&i| (file(i), scores[i])).collect();
                asd_metrics::write_scores(
                    &scores_dir.join(asd_metrics::score_file_name(machine_type, group)),
                    &score_rows,
                )?;
                if let Some(decisions) = decisions {
                    let decision_rows: Vec<(&str, bool)> = rows.iter().map(|&i| (file(i), decisions[i])).collect();
                    asd_metrics::write_decisions(
                        &scores_dir.join(asd_metrics::decision_file_name(machine_type, group)),
                        &decision_rows,
                    )?;
                }
            }
            let groups = labelled_groups(test, |i| scores[i], |i| decisions.as_ref().map(|d| d[i]));
            let report = if groups.is_empty() {
                None
            } else {
                let report = asd_metrics::evaluate(&groups, &EvalOptions::default().with_pool(pool))?;
                let metrics_dir = out.join("metrics");
                create_dir(&metrics_dir)?;
                report.write_json(&metrics_dir.join(format!("{name}.json")))?;
                asd_metrics::write_roc_pngs(&report, &out.join("roc").join(name))?;
                Some(report)
            };
            Ok(ScorerReport {
                name: name.clone(),
                report,
                scores_dir,
            })
        })
        .collect()
}

/// One cell of a summary table: AUC and pAUC of a report for a machine type (`None`: the average), if it has them.
type Cell<'a> = dyn Fn(&Report, Option<&String>) -> Option<(f64, f64)> + 'a;

/// A Markdown table with one row per evaluated scorer: AUC / pAUC (percent) per machine type and on average
/// (empty when nothing was evaluated); with reports pooled per type ([`Pool::Type`]), a second table of the pooled
/// values, named as the papers' convention.
pub fn summary_table(reports: &[ScorerReport]) -> String {
    let evaluated: Vec<(&str, &Report)> = reports
        .iter()
        .filter_map(|r| r.report.as_ref().map(|report| (r.name.as_str(), report)))
        .collect();
    let Some(&(_, first)) = evaluated.first() else {
        return String::new();
    };
    let types: Vec<&String> = first.types.keys().collect();
    let table = |heading: &str, cell: &Cell<'_>| {
        let mut table = format!("| {heading} |");
        types.iter().for_each(|t| table.push_str(&format!(" {t} |")));
        table.push_str(" average |\n|---|");
        table.push_str(&"---|".repeat(types.len() + 1));
        table.push('\n');
        for (name, report) in &evaluated {
            table.push_str(&format!("| {name} |"));
            for t in types.iter().copied().map(Some).chain([None]) {
                match cell(report, t) {
                    Some((auc, pauc)) => table.push_str(&format!(" {:.2} / {:.2} |", 100.0 * auc, 100.0 * pauc)),
                    None => table.push_str(" – |"),
                }
            }
            table.push('\n');
        }
        table
    };
    let mut text = table("scorer", &|report, t| match t {
        Some(t) => report.types.get(t).map(|tr| (tr.auc, tr.pauc)),
        None => Some((report.average.auc, report.average.pauc)),
    });
    if first.average.pooled_auc.is_some() {
        text.push_str(
            "\nPooled per machine type (the attention-net and OS-SCL papers' convention: one AUC over all clips of a \
             type, IDs / sections pooled; not DCASE's):\n\n",
        );
        text.push_str(&table("scorer (pooled)", &|report, t| match t {
            Some(t) => report.types.get(t)?.pooled.map(|p| (p.auc, p.pauc)),
            None => report.average.pooled_auc.zip(report.average.pooled_pauc),
        }));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn ranks_are_per_group_with_shared_ties() {
        let scores = array![3.0, 1.0, 2.0, 2.0, 10.0, -5.0];
        let groups = [0, 0, 0, 0, 1, 1];
        // group 0: 1.0 → 1, 2.0 twice → 2.5, 3.0 → 4, over 4 clips; group 1: −5 → 1, 10 → 2, over 2 clips.
        let r = group_ranks(&scores, &groups);
        assert_eq!(r, array![1.0, 0.25, 0.625, 0.625, 1.0, 0.5]);
    }

    #[test]
    fn segment_scores_average_per_clip_and_embeddings_can_be_pooled_first() {
        let outputs = ExampleOutputs {
            embeddings: array![[1.0, 0.0], [3.0, 2.0], [5.0, 5.0]],
            class_scores: None,
            logits: None,
            clip: vec![0, 0, 1],
        };
        assert_eq!(
            mean_per_clip(&array![1.0, 2.0, 7.0], &outputs.clip, 2),
            array![1.5, 7.0]
        );
        assert_eq!(outputs.clip_means().embeddings, array![[2.0, 1.0], [5.0, 5.0]]);
        assert_eq!(outputs.n_clips(), 2);
    }

    #[test]
    fn names_are_distinct_and_the_ensemble_comes_last() {
        let mut config = ScoringConfig::many(vec![
            ScorerConfig::new(ScorerKind::Gmm),
            ScorerConfig::new(ScorerKind::Kmeans),
            ScorerConfig::new(ScorerKind::Gmm),
        ]);
        config.ensemble = Some(Ensemble::RankAverage);
        assert_eq!(config.names(), ["gmm", "kmeans", "gmm-2", "rank-average"]);
        assert!(config.check(false, "x").is_ok());
        config.scorers.push(ScorerConfig::new(ScorerKind::Prob));
        assert!(matches!(config.check(false, "x"), Err(Error::Setting { .. })));
        assert!(config.check(true, "x").is_ok());
        let lonely = ScoringConfig {
            ensemble: Some(Ensemble::RankAverage),
            ..ScoringConfig::default()
        };
        assert!(matches!(lonely.check(true, "x"), Err(Error::Setting { .. })));
    }

    /// Criterion: a group's threshold is the rule applied to the held-out clips' scores by a scorer fitted on its
    /// other clips (checked against a COS model fitted here on those clips alone); a group with fewer held-out
    /// clips than the rule needs falls back to out-of-fold scores.
    #[test]
    fn thresholds_use_the_held_out_clips_where_a_group_has_enough() {
        use asd_scorers::{CosParams, Fit, Score};
        let rows: Vec<[f64; 2]> = (0..12)
            .map(|i| [1.0 + 0.1 * f64::from(i), 0.3 * f64::from(i % 4)])
            .collect();
        let embeddings = Array2::from_shape_fn((12, 2), |(i, j)| rows[i][j]);
        let train = ExampleOutputs::per_clip(embeddings.clone(), None);
        // Group 0: clips 0..8, five of them held out; group 1: clips 8..12, one held out (fewer than MIN_HELD_OUT).
        let groups: Vec<i64> = (0..12).map(|i| i64::from(i >= 8)).collect();
        let held: Vec<bool> = (0..12).map(|i| [1, 3, 4, 6, 7, 9].contains(&i)).collect();
        let mut config = ScoringConfig::single(ScorerConfig::new(ScorerKind::Cos));
        config.threshold = Threshold::Percentile { percentile: 50.0 };
        config.calibration_folds = 2;
        let names = ["a".to_string(), "b".to_string()];
        let calibrated = calibrate(&config, &train, &groups, &[false; 12], Some(&held), &names, 0).unwrap();
        let t = &calibrated[0].thresholds;
        let fit_rows = [0, 2, 5];
        let cos = CosParams::default()
            .fit(
                embeddings.select(Axis(0), &fit_rows).view(),
                &mut asd_scorers::group_rng(0, 0),
            )
            .unwrap();
        let held_scores = cos.score(embeddings.select(Axis(0), &[1, 3, 4, 6, 7]).view()).unwrap();
        let expected = Threshold::Percentile { percentile: 50.0 }
            .fit(held_scores.as_slice().unwrap())
            .unwrap();
        assert_eq!(t[&0].calibration, Calibration::HeldOut);
        assert_eq!((t[&0].threshold, t[&0].clips), (expected, 5));
        assert_eq!((t[&1].calibration, t[&1].clips), (Calibration::OutOfFold, 4));
    }

    /// Criterion: with two groups whose test clips are ordered by hand, COS on one-hot embeddings and the
    /// rank-average of two identical scorers keep the order (the ensemble of equal rankings is that ranking).
    #[test]
    fn scorers_fit_per_group_and_the_ensemble_preserves_agreed_order() {
        let train = ExampleOutputs::per_clip(array![[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.1, 1.0]], None);
        let train_groups = [0, 0, 1, 1];
        // Group 0 is normal along x: the second test clip points away from it.
        let test = ExampleOutputs::per_clip(array![[1.0, 0.05], [0.3, 1.0], [0.05, 1.0], [1.0, 0.2]], None);
        let test_groups = train_groups;
        let mut config = ScoringConfig::many(vec![
            ScorerConfig::new(ScorerKind::Cos),
            ScorerConfig::new(ScorerKind::Cos),
        ]);
        config.ensemble = Some(Ensemble::RankAverage);
        // Two training clips per group: the gamma fit needs three scores.
        config.threshold = Threshold::Percentile { percentile: 90.0 };
        let names = ["a".to_string(), "b".to_string()];
        let scores = score_clips(
            &config,
            &train,
            &train_groups,
            &[false; 4],
            &test,
            &test_groups,
            &names,
            0,
        )
        .unwrap()
        .scores;
        assert_eq!(scores.len(), 3);
        assert!(scores[0][1] > scores[0][0] && scores[0][3] > scores[0][2]);
        assert_eq!(scores[2], array![0.5, 1.0, 0.5, 1.0]);
    }
}

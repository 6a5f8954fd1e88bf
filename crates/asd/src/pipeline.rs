//! The run pipeline: dataset → features (cached) → embeddings → scorer per group → score CSVs → metrics.
//!
//! [`run`] drives every stage for a [`RunConfig`] and writes a run folder:
//!
//! | path | content |
//! |---|---|
//! | `config.toml` | the resolved configuration (written first) |
//! | `cache/` | memory-mapped feature caches (reused by the next run on the same clips and front end) |
//! | `scores/anomaly_score_<type>_<group>.csv` | DCASE-format score CSVs (`file,score`, higher = more anomalous) |
//! | `metrics.json` | the report of `asd evaluate --json` |
//! | `results.md` | the results table (per type and ID / section: AUC, pAUC, pAUC-raw, mAUC; averages) |
//! | `roc/roc_<type>.png` | ROC curves |
//!
//! The embedder today is the training-free [`System::RawLogMel`]: each clip's log-Mel frames summarised over
//! time ([`Pooling`]: mean and standard deviation, `[2 · n_mels]`, or the mean alone, `[n_mels]`), the "raw
//! feature" front end of ASD toolkits.
//! Trained systems plug in at the same place: anything that turns a clip into a fixed-size embedding.

use crate::{Error, Result};
use asd_data::{Clip, Condition, Dataset, FeatureCache, LengthPolicy, Selection, Split};
use asd_features::{FeatureKind, FeatureSpec};
use asd_metrics::{ClipTruth, EvalOptions, GroupScores, Report, ScoredClip};
use asd_scorers::{ScorerConfig, ScorerKind};
use ndarray::{Array2, Axis};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Clip length of every DCASE 2020 reference system, seconds (dcase_protocols.md §1.3: clips are cropped to
/// their first 10 s).
pub const DEFAULT_CLIP_SECONDS: f32 = 10.0;

/// The systems [`run`] can build.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum System {
    /// No training: the mean and standard deviation over time of each log-Mel band, `[2 · n_mels]`.
    #[default]
    RawLogMel,
}

impl System {
    /// The name used on the command line and in `config.toml`.
    pub fn name(self) -> &'static str {
        match self {
            System::RawLogMel => "raw-logmel",
        }
    }
}

/// How a clip's feature frames `[rows, frames]` become one embedding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pooling {
    /// Mean and (population) standard deviation over frames: `[2 · rows]`.
    #[default]
    MeanStd,
    /// Mean over frames: `[rows]` (the baseline of `spec/synthetic.md`).
    Mean,
}

/// Everything a run needs besides the data; saved as `RUN/config.toml`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunConfig {
    /// Which system turns clips into embeddings.
    pub system: System,
    /// The front end (default: the STgram-MFN / torchaudio log-Mel).
    pub features: FeatureSpec,
    /// How feature frames are summarised into an embedding.
    pub pooling: Pooling,
    /// Clip length, seconds: longer clips are cropped to their start, shorter ones repeat-padded
    /// (decisions.md §11).
    pub clip_seconds: f32,
    /// The scorer fitted per machine type × ID / section on the normal training embeddings.
    pub scorer: ScorerConfig,
    /// Seed of every random draw (scorer initialisations).
    pub seed: u64,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            system: System::default(),
            features: FeatureSpec::new(FeatureKind::LogMel),
            pooling: Pooling::default(),
            clip_seconds: DEFAULT_CLIP_SECONDS,
            scorer: ScorerConfig::new(ScorerKind::Knn),
            seed: 0,
        }
    }
}

impl RunConfig {
    /// Checks every setting before any decoding.
    ///
    /// # Errors
    /// [`Error::Features`] / [`Error::Scorers`] for bad front-end or scorer settings, [`Error::Config`] for the
    /// rest (a non-positive clip length, a scorer that needs class logits).
    pub fn check(&self) -> Result<()> {
        self.features.build()?;
        self.scorer.check()?;
        if !(self.clip_seconds > 0.0 && self.clip_seconds.is_finite()) {
            return Err(Error::Config(format!(
                "clip_seconds must be positive, got {}",
                self.clip_seconds
            )));
        }
        if self.features.kind != FeatureKind::LogMel && self.features.kind != FeatureKind::HpfLogMel {
            return Err(Error::Config(format!(
                "system {} needs a log-Mel front end (features.kind = \"logmel\" or \"hpf-logmel\")",
                self.system.name()
            )));
        }
        if self.scorer.kind() == ScorerKind::Prob {
            return Err(Error::Config(format!(
                "scorer prob needs class logits, which system {} does not produce",
                self.system.name()
            )));
        }
        Ok(())
    }
}

/// Which stage a progress report is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Decoding and feature extraction of the training clips.
    TrainFeatures,
    /// Decoding and feature extraction of the test clips.
    TestFeatures,
}

/// What [`run`] produced.
#[derive(Debug)]
pub struct RunOutput {
    /// The evaluation report.
    pub report: Report,
    /// The files written, by role.
    pub scores_dir: PathBuf,
    /// `RUN/metrics.json`.
    pub metrics_json: PathBuf,
    /// `RUN/results.md`.
    pub results_md: PathBuf,
}

/// Runs the whole pipeline on the dataset at `data` and writes the run folder `out` (see the module docs).
///
/// `progress(stage, done, total)` is called from worker threads while features are extracted.
///
/// # Errors
/// A bad configuration ([`RunConfig::check`]), a dataset that cannot be opened, an unreadable clip (named),
/// a group with test clips but no normal training clips, or an I/O error naming the file.
pub fn run(
    config: &RunConfig,
    data: &Path,
    out: &Path,
    progress: &(dyn Fn(Stage, usize, usize) + Sync),
) -> Result<RunOutput> {
    config.check()?;
    std::fs::create_dir_all(out).map_err(|source| Error::Io {
        path: out.into(),
        source,
    })?;
    let config_path = out.join("config.toml");
    let text = toml::to_string_pretty(config).map_err(|e| Error::Config(e.to_string()))?;
    std::fs::write(&config_path, text).map_err(|source| Error::Io {
        path: config_path,
        source,
    })?;

    let dataset = Dataset::open(data)?;
    let train: Vec<Clip> = dataset.select(
        &Selection::new()
            .with_split(Split::Train)
            .with_condition(Condition::Normal),
    );
    let test: Vec<Clip> = dataset
        .select(&Selection::new().with_split(Split::Test))
        .into_iter()
        .filter(|c| c.condition != Condition::Unknown)
        .collect();
    if test.is_empty() {
        return Err(Error::Config(format!(
            "{}: no labelled test clips to evaluate",
            data.display()
        )));
    }

    let frontend = config.features.build()?;
    let policy = LengthPolicy::new((config.clip_seconds * asd_audio::TARGET_SAMPLE_RATE as f32).round() as usize);
    let cache_dir = out.join("cache");
    let embed = |clips: &[Clip], stage: Stage| -> Result<Array2<f64>> {
        let cache = FeatureCache::open_or_build(&cache_dir, clips, frontend.as_ref(), &policy, &|d, t| {
            progress(stage, d, t)
        })?;
        Ok(pooled_embeddings(&cache, config.pooling))
    };
    let train_embeddings = embed(&train, Stage::TrainFeatures)?;
    let test_embeddings = embed(&test, Stage::TestFeatures)?;

    // One integer per (machine type, group), in sorted order.
    let keys: BTreeMap<(String, String), i64> = train
        .iter()
        .chain(&test)
        .map(|c| (c.machine_type.clone(), c.group.clone()))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .zip(0..)
        .collect();
    let group_of = |c: &Clip| keys[&(c.machine_type.clone(), c.group.clone())];
    let train_groups: Vec<i64> = train.iter().map(group_of).collect();
    let test_groups: Vec<i64> = test.iter().map(group_of).collect();
    let scores = asd_scorers::score_grouped(
        &config.scorer,
        train_embeddings.view(),
        &train_groups,
        test_embeddings.view(),
        &test_groups,
        config.seed,
    )?;

    let mut groups: BTreeMap<(String, String), Vec<ScoredClip>> = BTreeMap::new();
    for (clip, &score) in test.iter().zip(scores.iter()) {
        let truth = ClipTruth {
            anomaly: clip.condition == Condition::Anomaly,
            domain: clip.domain.map(crate::metrics_domain),
        };
        groups
            .entry((clip.machine_type.clone(), clip.group.clone()))
            .or_default()
            .push(ScoredClip {
                file: clip.file_name.clone(),
                score,
                truth,
                decision: None,
            });
    }
    let scores_dir = out.join("scores");
    std::fs::create_dir_all(&scores_dir).map_err(|source| Error::Io {
        path: scores_dir.clone(),
        source,
    })?;
    let mut group_scores = Vec::with_capacity(groups.len());
    for ((machine_type, group), clips) in groups {
        let rows: Vec<(&str, f64)> = clips.iter().map(|c| (c.file.as_str(), c.score)).collect();
        asd_metrics::write_scores(
            &scores_dir.join(asd_metrics::score_file_name(&machine_type, &group)),
            &rows,
        )?;
        group_scores.push(GroupScores {
            machine_type,
            group,
            clips,
        });
    }

    let report = asd_metrics::evaluate(&group_scores, &EvalOptions::default())?;
    let metrics_json = out.join("metrics.json");
    report.write_json(&metrics_json)?;
    let results_md = out.join("results.md");
    let table = format!(
        "# {} on {}\n\nScorer: {:?}. Values in percent.\n\n{}",
        config.system.name(),
        data.display(),
        config.scorer.kind(),
        report.to_table()
    );
    std::fs::write(&results_md, table).map_err(|source| Error::Io {
        path: results_md.clone(),
        source,
    })?;
    asd_metrics::write_roc_pngs(&report, &out.join("roc"))?;
    Ok(RunOutput {
        report,
        scores_dir,
        metrics_json,
        results_md,
    })
}

/// Each clip's feature rows summarised over time: `[n_clips, rows, cols]` → `[n_clips, rows]` (mean) or
/// `[n_clips, 2 · rows]` (mean, then population standard deviation), in f64.
fn pooled_embeddings(cache: &FeatureCache, pooling: Pooling) -> Array2<f64> {
    let (rows, _) = cache.feature_shape();
    let width = match pooling {
        Pooling::Mean => rows,
        Pooling::MeanStd => 2 * rows,
    };
    let mut out = Array2::zeros((cache.len(), width));
    for (i, mut e) in out.axis_iter_mut(Axis(0)).enumerate() {
        let f = cache.get(i).mapv(f64::from);
        let mean = f.mean_axis(Axis(1)).unwrap_or_else(|| ndarray::Array1::zeros(rows)); // ok: cols ≥ 1
        e.slice_mut(ndarray::s![..rows]).assign(&mean);
        if pooling == Pooling::MeanStd {
            e.slice_mut(ndarray::s![rows..]).assign(&f.std_axis(Axis(1), 0.0));
        }
    }
    out
}

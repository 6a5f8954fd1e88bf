//! The run pipeline: dataset → features (cached) → train → embeddings → scorers per group → score CSVs → metrics.
//!
//! [`run`] is [`train`] followed by [`score`]; each also stands alone (`asd train`, `asd score`). What each writes
//! into the run folder is listed in [`crate::run_folder`]. Everything system-specific (inputs, network, training
//! step) comes from the configuration's [`System`](crate::System); a training-free system's embeddings need no
//! training.

use crate::config::RunConfig;
use crate::progress::{Event, Progress, TrainObserver};
use crate::run_folder::{
    CONFIG_FILE, MODEL_FILE, create_dir, read_classes, write_classes, write_embeddings, write_file,
};
use crate::scoring::{self, ExampleOutputs, ScorerReport, ScoringConfig};
use crate::system::{EmbedJob, Network, TrainJob};
use crate::{Error, Result};
use asd_data::{ClassMap, Clip, Condition, Dataset, Domain, FeatureCache, LengthPolicy, Selection, Split};
use asd_metrics::Report;
use asd_models::burn::tensor::Device;
/// Device names of `--device` (`cpu`, `cuda`, `cuda:<index>`); see [`asd_models::parse_device`].
pub use asd_models::parse_device;
use ndarray::Array1;
use std::path::{Path, PathBuf};

/// Examples per forward pass when extracting embeddings (memory only; results do not depend on it).
pub const EXTRACT_BATCH: usize = 64;

/// Where and how to compute: the device, and whether training resumes from the run's checkpoint.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Device of the network (default the CPU, `Device::flex()`).
    pub device: Device,
    /// Continue training from `RUN/checkpoints/` instead of starting over.
    pub resume: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            device: Device::flex(),
            resume: false,
        }
    }
}

/// The clips a run uses: normal training clips and labelled test clips.
struct RunClips {
    train: Vec<Clip>,
    test: Vec<Clip>,
}

fn open_data(data: &Path) -> Result<RunClips> {
    let dataset = Dataset::open(data)?;
    let train = dataset.select(
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
        return Err(Error::File {
            path: data.into(),
            reason: "no labelled test clips to evaluate".into(),
        });
    }
    // Every test group needs training clips to fit its scorers on: found here, before any decoding or training,
    // all of them at once, each named by machine type and group.
    let trained: std::collections::BTreeSet<(&str, &str)> = train
        .iter()
        .map(|c| (c.machine_type.as_str(), c.group.as_str()))
        .collect();
    let missing: std::collections::BTreeSet<String> = test
        .iter()
        .filter(|c| !trained.contains(&(c.machine_type.as_str(), c.group.as_str())))
        .map(|c| format!("{} {}", c.machine_type, c.group))
        .collect();
    if !missing.is_empty() {
        return Err(Error::File {
            path: data.into(),
            reason: format!(
                "test groups without normal training clips to fit their scorers on: {}",
                missing.into_iter().collect::<Vec<_>>().join(", ")
            ),
        });
    }
    Ok(RunClips { train, test })
}

/// The feature caches of one clip list, one per input of the system, in the order it lists them.
fn caches(
    config: &RunConfig,
    out: &Path,
    clips: &[Clip],
    split: Split,
    progress: Progress<'_>,
) -> Result<Vec<FeatureCache>> {
    let policy = LengthPolicy::new(config.clip_samples());
    let dir = out.join("cache");
    let report = |done, total| progress.event(Event::Features { split, done, total });
    config
        .system
        .def()
        .inputs(config)
        .iter()
        .map(|spec| {
            Ok(FeatureCache::open_or_build(
                &dir,
                clips,
                spec.build()?.as_ref(),
                &policy,
                &report,
            )?)
        })
        .collect()
}

/// What [`train`] produced.
pub struct TrainOutput {
    /// The configuration as saved in the run folder (the network's class count set from the data).
    pub config: RunConfig,
    /// The trained network (evaluation mode).
    pub network: Box<dyn Network>,
    /// The classes it was trained on.
    pub classes: ClassMap,
    /// One entry per epoch.
    pub history: Vec<asd_train::EpochLog>,
    /// `RUN/model.bpk`.
    pub model_path: PathBuf,
}

impl std::fmt::Debug for TrainOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrainOutput")
            .field("system", &self.config.system)
            .field("classes", &self.classes.len())
            .field("epochs", &self.history.len())
            .field("model_path", &self.model_path)
            .finish_non_exhaustive()
    }
}

/// Trains the system's network on the normal training clips of `data` and writes `config.toml`,
/// `classes.json`, the checkpoints, `train_log.csv` and `model.bpk` into the run folder `out`.
///
/// # Errors
/// A bad configuration ([`RunConfig::check`]) or a training-free system; a dataset that cannot be opened or
/// has fewer than two classes; an unreadable clip (named); a training or checkpoint error, or
/// [`asd_train::Error::Cancelled`] when `progress` asked to stop (the checkpoint continues it with `resume`); a
/// file that cannot be written (named).
pub fn train(
    config: &RunConfig,
    data: &Path,
    out: &Path,
    options: &RunOptions,
    progress: Progress<'_>,
) -> Result<TrainOutput> {
    config.check()?;
    let system = config.system.def();
    if !system.trains() {
        return Err(Error::Setting {
            field: "system".into(),
            reason: format!("system {} has no network to train", config.system),
        });
    }
    let split = open_data(data)?;
    let classes = system.class_map(config, &split.train, &split.test)?;
    let mut config = config.clone();
    if let Some(model) = &mut config.model {
        system.set_classes(model, classes.len());
    }
    config.check()?;
    create_dir(out)?;
    config.save(&out.join(CONFIG_FILE))?;
    write_classes(out, &classes)?;

    let labels = class_indices(&classes, &split.train)?;
    let inputs = caches(&config, out, &split.train, Split::Train, progress)?;
    let network = asd_models::init::seeded(&options.device, config.seed, |d| system.build(&config, d))?;
    let observer = TrainObserver(progress);
    let job = TrainJob {
        config: &config,
        inputs: &inputs,
        labels: &labels,
        device: &options.device,
        session: asd_train::Session {
            run_dir: Some(out),
            resume: options.resume,
            observer: &observer,
        },
    };
    let (network, history) = network.train(&job)?;
    let model_path = out.join(MODEL_FILE);
    network.save(&model_path)?;
    Ok(TrainOutput {
        config,
        network,
        classes,
        history,
        model_path,
    })
}

/// Class index of each clip.
fn class_indices(classes: &ClassMap, clips: &[Clip]) -> Result<Vec<usize>> {
    clips
        .iter()
        .map(|c| {
            classes.class_of(c).ok_or_else(|| Error::File {
                path: c.path.clone(),
                reason: "its class (machine type, ID / section, attributes) is not among the training classes".into(),
            })
        })
        .collect()
}

/// Embeddings (and class scores) of every example of a clip list, with the clip of each example.
fn extract(
    network: &dyn Network,
    inputs: &[FeatureCache],
    labels: Option<&[usize]>,
    split: Split,
    options: &RunOptions,
    progress: Progress<'_>,
) -> Result<ExampleOutputs> {
    let report = |done, total| progress.event(Event::Embed { split, done, total });
    network.embed(&EmbedJob {
        inputs,
        labels,
        device: &options.device,
        progress: &report,
    })
}

/// What [`score`] produced.
#[derive(Debug)]
pub struct ScoreOutput {
    /// One report per scorer (then the ensemble), in the order of [`ScoringConfig::names`].
    pub reports: Vec<ScorerReport>,
    /// `OUT/metrics.json`: the first scorer's report.
    pub metrics_json: PathBuf,
    /// `OUT/results.md`.
    pub results_md: PathBuf,
}

impl ScoreOutput {
    /// The headline (first scorer's) report.
    pub fn report(&self) -> Option<&Report> {
        self.reports.first().map(|r| &r.report)
    }
}

/// Scores the test clips of `data` with the network trained in the run folder `run_dir` (or the training-free
/// system its `config.toml` names): embeds the normal training and the test clips, fits every scorer of
/// `scoring` (default: the run's) per machine type × ID / section, and writes the score CSVs, metrics, ROC
/// curves and `results.md` into `out`.
///
/// # Errors
/// A run folder without `config.toml` / `classes.json` / `model.bpk` (named), a weight file that does not fit
/// the configuration, a dataset that cannot be opened, an unreadable clip (named), a scorer error, a file that
/// cannot be written (named).
pub fn score(
    run_dir: &Path,
    data: &Path,
    scoring: Option<&ScoringConfig>,
    out: &Path,
    options: &RunOptions,
    progress: Progress<'_>,
) -> Result<ScoreOutput> {
    let mut config = RunConfig::load(&run_dir.join(CONFIG_FILE))?;
    if let Some(scoring) = scoring {
        config.scoring = scoring.clone();
    }
    config.check()?;
    let system = config.system.def();
    let network = system.build(&config, &options.device)?;
    let (network, classes) = if system.trains() {
        (network.load(&run_dir.join(MODEL_FILE))?, Some(read_classes(run_dir)?))
    } else {
        (network, None)
    };
    score_with(
        &config,
        network.as_ref(),
        classes.as_ref(),
        data,
        out,
        options,
        progress,
    )
}

fn score_with(
    config: &RunConfig,
    network: &dyn Network,
    classes: Option<&ClassMap>,
    data: &Path,
    out: &Path,
    options: &RunOptions,
    progress: Progress<'_>,
) -> Result<ScoreOutput> {
    let split = open_data(data)?;
    create_dir(out)?;
    let train_inputs = caches(config, out, &split.train, Split::Train, progress)?;
    let test_inputs = caches(config, out, &split.test, Split::Test, progress)?;
    let train_labels = classes.map(|c| class_indices(c, &split.train)).transpose()?;
    // PROB needs every test clip's class; a test ID unseen in training leaves it out.
    let test_labels: Option<Vec<usize>> =
        classes.and_then(|c| split.test.iter().map(|clip| c.class_of(clip)).collect());
    let train_out = extract(
        network,
        &train_inputs,
        train_labels.as_deref(),
        Split::Train,
        options,
        progress,
    )?;
    let test_out = extract(
        network,
        &test_inputs,
        test_labels.as_deref(),
        Split::Test,
        options,
        progress,
    )?;
    write_embeddings(out, "train", &train_out, &split.train)?;
    write_embeddings(out, "test", &test_out, &split.test)?;

    progress.event(Event::Scoring);
    let (train_groups, test_groups) = scorer_groups(&split.train, &split.test);
    let train_target: Vec<bool> = split.train.iter().map(|c| c.domain == Some(Domain::Target)).collect();
    let scores = scoring::score_clips(
        &config.scoring,
        &train_out,
        &train_groups,
        &train_target,
        &test_out,
        &test_groups,
        config.seed,
    )?;
    let named: Vec<(String, Array1<f64>)> = config.scoring.names().into_iter().zip(scores).collect();
    let reports = scoring::write_reports(out, &split.test, &named)?;
    let metrics_json = out.join("metrics.json");
    if let Some(first) = reports.first() {
        first.report.write_json(&metrics_json)?;
    }
    let results_md = out.join("results.md");
    write_file(&results_md, results_markdown(config, data, &reports).as_bytes())?;
    Ok(ScoreOutput {
        reports,
        metrics_json,
        results_md,
    })
}

/// One scorer group id per (machine type, ID / section) over both clip lists.
fn scorer_groups(train: &[Clip], test: &[Clip]) -> (Vec<i64>, Vec<i64>) {
    let groups: std::collections::BTreeMap<(String, String), i64> = train
        .iter()
        .chain(test)
        .map(|c| (c.machine_type.clone(), c.group.clone()))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .zip(0..)
        .collect();
    let group = |c: &Clip| groups[&(c.machine_type.clone(), c.group.clone())];
    (train.iter().map(group).collect(), test.iter().map(group).collect())
}

fn results_markdown(config: &RunConfig, data: &Path, reports: &[ScorerReport]) -> String {
    let mut text = format!(
        "# {} on {}\n\nAUC / pAUC (p = 0.1, McClish) in percent, per machine type (mean over IDs / sections) and on \
         average; one row per scorer.\n\n{}\n",
        config.system,
        data.display(),
        scoring::summary_table(reports)
    );
    if let Some(first) = reports.first() {
        text.push_str(&format!(
            "## {} (headline scorer)\n\n{}",
            first.name,
            first.report.to_table()
        ));
    }
    text
}

/// What [`run`] produced.
#[derive(Debug)]
pub struct RunOutput {
    /// The training log (empty for the training-free system).
    pub history: Vec<asd_train::EpochLog>,
    /// The scorers' reports and files.
    pub scores: ScoreOutput,
}

impl RunOutput {
    /// The headline (first scorer's) report.
    pub fn report(&self) -> Option<&Report> {
        self.scores.report()
    }
}

/// Trains (unless the system is training-free), then scores and evaluates, writing everything into the run
/// folder `out` (see [`crate::run_folder`]).
///
/// # Errors
/// As [`train`] and [`score`].
pub fn run(
    config: &RunConfig,
    data: &Path,
    out: &Path,
    options: &RunOptions,
    progress: Progress<'_>,
) -> Result<RunOutput> {
    if config.system.def().trains() {
        // `train` checks the configuration first.
        let trained = train(config, data, out, options, progress)?;
        let scores = score_with(
            &trained.config,
            trained.network.as_ref(),
            Some(&trained.classes),
            data,
            out,
            options,
            progress,
        )?;
        return Ok(RunOutput {
            history: trained.history,
            scores,
        });
    }
    config.check()?;
    create_dir(out)?;
    config.save(&out.join(CONFIG_FILE))?;
    let network = config.system.def().build(config, &options.device)?;
    let scores = score_with(config, network.as_ref(), None, data, out, options, progress)?;
    Ok(RunOutput {
        history: Vec::new(),
        scores,
    })
}

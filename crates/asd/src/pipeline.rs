//! The run pipeline: dataset → features (cached) → train → embeddings → scorers per group → score CSVs → metrics.
//!
//! [`run`] is [`train`] followed by [`score`]; each also stands alone (`asd train`, `asd score`). What each writes
//! into the run folder is listed in [`crate::run_folder`]. Everything system-specific (inputs, network, training
//! step) comes from the configuration's [`System`](crate::System); a training-free system's embeddings need no
//! training.

use crate::config::RunConfig;
use crate::detector::GroupName;
use crate::progress::{Event, Progress, TrainObserver};
use crate::run_folder::{
    CONFIG_FILE, MODEL_FILE, open_run_folder, read_classes, write_classes, write_embeddings, write_file,
};
use crate::scoring::{self, CalibratedScorer, ClipPooling, ExampleOutputs, NamedScores, ScorerReport, ScoringConfig};
use crate::system::{EmbedJob, LabelJob, Network, TrainJob};
use crate::{Error, Result};
use asd_data::{ClassMap, Clip, Condition, Dataset, Domain, FeatureCache, Selection, Split, SupplementalClip};
use asd_metrics::{EvalOptions, Report};
use asd_models::burn::tensor::Device;
/// Device names of `--device` (`cpu`, `cuda`, `cuda:<index>`); see [`asd_models::parse_device`].
pub use asd_models::parse_device;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
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

/// The clips a run uses: normal training clips, and every test clip, labelled (development names) or not
/// (evaluation names, scored for submission but not evaluated).
struct RunClips {
    train: Vec<Clip>,
    test: Vec<Clip>,
    /// DCASE 2025's supplemental clips (empty for other data), trained on only by a system that takes them.
    supplemental: Vec<SupplementalClip>,
}

/// A machine type and group in words, as messages name it: `pump id_02`.
fn group_words(clip: &Clip) -> String {
    format!("{} {}", clip.machine_type, clip.group)
}

/// Opens the dataset and lists what its structure alone shows to be wrong, before any decoding: test groups
/// without normal training clips to fit their scorers on, and labelled test groups that cannot be evaluated (a
/// single-class folder, a domain without normal clips), each named by machine type and group.
///
/// # Errors
/// A dataset that cannot be opened, or one without test clips.
fn open_data(data: &Path) -> Result<(RunClips, Vec<Error>)> {
    let RunClips {
        train,
        test,
        supplemental,
    } = run_clips(data)?;
    if test.is_empty() {
        return Err(Error::File {
            path: data.into(),
            reason: "no test clips to score".into(),
        });
    }
    let mut problems = Vec::new();
    let missing = groups_outside(&test, train.iter());
    if !missing.is_empty() {
        problems.push(Error::File {
            path: data.into(),
            reason: format!(
                "test groups without normal training clips to fit their scorers on: {}",
                missing.join(", ")
            ),
        });
    }
    // The evaluator's own rules, run on placeholder scores: a group it would refuse after training is
    // refused now.
    for group in scoring::labelled_groups(&test, |_| 0.0, |_| None) {
        if let Err(e) = asd_metrics::evaluate(
            std::slice::from_ref(&group),
            &EvalOptions::default().with_jackknife(false),
        ) {
            problems.push(Error::File {
                path: data.into(),
                reason: format!(
                    "test group {} {} cannot be evaluated: {e}",
                    group.machine_type, group.group
                ),
            });
        }
    }
    Ok((
        RunClips {
            train,
            test,
            supplemental,
        },
        problems,
    ))
}

/// The normal training clips and every test clip of the dataset at `data`.
fn run_clips(data: &Path) -> Result<RunClips> {
    let dataset = Dataset::open(data)?;
    let train = dataset.select(
        &Selection::new()
            .with_split(Split::Train)
            .with_condition(Condition::Normal),
    );
    let test = dataset.select(&Selection::new().with_split(Split::Test));
    Ok(RunClips {
        train,
        test,
        supplemental: dataset.supplemental().to_vec(),
    })
}

/// [`RunConfig::decide_channels`] from the training clips of `data`, which are listed only when the setting is
/// left out.
fn decide_channels(config: &mut RunConfig, data: &Path) -> Result<()> {
    if config.channels.is_none() {
        config.decide_channels(&run_clips(data)?.train)?;
    }
    Ok(())
}

/// The (machine type, group)s of `test` without any labelled clip, in words (`fan id_01`), sorted.
fn unlabelled_groups(test: &[Clip]) -> Vec<String> {
    groups_outside(test, test.iter().filter(|c| c.condition != Condition::Unknown))
}

/// The (machine type, group)s of `clips` that no clip of `known` belongs to, in words (`fan id_01`), sorted.
fn groups_outside<'a>(clips: &[Clip], known: impl Iterator<Item = &'a Clip>) -> Vec<String> {
    let known: BTreeSet<(&str, &str)> = known.map(|c| (c.machine_type.as_str(), c.group.as_str())).collect();
    let outside: BTreeSet<String> = clips
        .iter()
        .filter(|c| !known.contains(&(c.machine_type.as_str(), c.group.as_str())))
        .map(group_words)
        .collect();
    outside.into_iter().collect()
}

/// The feature caches of one clip list, one per input of the system, in the order it lists them.
fn caches(
    config: &RunConfig,
    out: &Path,
    clips: &[Clip],
    split: Split,
    progress: Progress<'_>,
) -> Result<Vec<FeatureCache>> {
    let policy = config.clip_policy();
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

/// The feature caches of both splits, built (or reopened) before any training.
struct Inputs {
    train: Vec<FeatureCache>,
    test: Vec<FeatureCache>,
}

/// Everything that can go wrong before the first epoch, found and reported together: the structural
/// `problems` of [`open_data`], every train and test clip that does not decode (both feature caches are built
/// here), and every scorer that cannot be fitted on a group's training examples.
///
/// # Errors
/// [`Error::Problems`] listing them (or the one problem alone).
fn prepare(
    config: &RunConfig,
    out: &Path,
    clips: &RunClips,
    mut problems: Vec<Error>,
    progress: Progress<'_>,
) -> Result<Inputs> {
    problems.extend(scorers_fit(config, &clips.train).err());
    let train = caches(config, out, &clips.train, Split::Train, progress);
    let test = caches(config, out, &clips.test, Split::Test, progress);
    match (train, test) {
        (Ok(train), Ok(test)) => Error::collect(problems).map(|()| Inputs { train, test }),
        (train, test) => {
            problems.extend(train.err());
            problems.extend(test.err());
            Err(Error::together(problems))
        }
    }
}

/// Checks that each scorer can be fitted on the training examples of every group (a K-Means with more clusters
/// than a group's examples fails otherwise after training), and that every group has the training clips its
/// thresholds are calibrated on ([`asd_scorers::Threshold::min_scores`]); all failures together.
fn scorers_fit(config: &RunConfig, train: &[Clip]) -> Result<()> {
    let per_clip = match config.scoring.clip_pooling {
        ClipPooling::MeanSegmentEmbedding => 1,
        ClipPooling::MeanSegmentScore => config.system.def().examples_per_clip(config)?,
    };
    let mut rows: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for clip in train {
        let (source, target) = rows.entry(group_words(clip)).or_default();
        match clip.domain {
            Some(Domain::Target) => *target += per_clip,
            _ => *source += per_clip,
        }
    }
    let mut problems = Vec::new();
    for (scorer, name) in config.scoring.scorers.iter().zip(config.scoring.names()) {
        for (group, &(source, target)) in &rows {
            if let Err(e) = scorer.check_group(source, target) {
                problems.push(Error::Setting {
                    field: "scoring.scorers".into(),
                    reason: format!("scorer {name} cannot be fitted on the training examples of {group}: {e}"),
                });
            }
        }
    }
    let needed = config.scoring.threshold.min_scores();
    for (group, &(source, target)) in &rows {
        let clips = (source + target) / per_clip.max(1);
        if clips < needed {
            problems.push(Error::Setting {
                field: "scoring.threshold".into(),
                reason: format!(
                    "{group} has {clips} normal training clips; its thresholds need at least {needed} (choose a \
                     percentile threshold, or a higher false-alarm rate)"
                ),
            });
        }
    }
    Error::collect(problems)
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
    /// The trained network's outputs for the normal training clips, and every scorer fitted and calibrated on
    /// them (written into the run folder as its detector).
    pub detector: TrainedDetector,
}

/// A detector fitted on the normal training clips after training ([`TrainOutput::detector`]).
#[derive(Clone, Debug)]
pub struct TrainedDetector {
    /// The network's outputs for the normal training clips.
    pub train_outputs: ExampleOutputs,
    /// Every scorer of the run's scoring settings, fitted and calibrated per group.
    pub calibrated: Vec<CalibratedScorer>,
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
    let (split, problems) = open_data(data)?;
    let mut config = config.clone();
    config.decide_channels(&split.train)?;
    open_run_folder(out)?;
    let supplemental = system.supplemental(&config, &split.supplemental);
    let classes = system.class_map(&LabelJob {
        config: &config,
        train: &split.train,
        supplemental: &supplemental,
        test: &split.test,
        run_dir: Some(out),
    })?;
    set_classes(&mut config, classes.len())?;
    config.check()?;
    config.save(&out.join(CONFIG_FILE))?;
    write_classes(out, &classes)?;

    let labels = class_indices(&classes, &split.train)?;
    let supplemental_labels = class_indices(&classes, &supplemental)?;
    // Both splits' features before the first epoch: a test clip that does not decode is found now.
    let inputs = prepare(&config, out, &split, problems, progress)?.train;
    let supplemental_inputs = match supplemental.is_empty() {
        true => Vec::new(),
        false => caches(&config, out, &supplemental, Split::Train, progress)?,
    };
    let supplemental_kinds = supplemental_kinds(&supplemental, &split.supplemental)?;
    let network = asd_models::init::seeded(&options.device, config.seed, |d| system.build(&config, d))?;
    let observer = TrainObserver(progress);
    let job = TrainJob {
        config: &config,
        inputs: &inputs,
        labels: &labels,
        classes: &classes,
        supplemental: &supplemental_inputs,
        supplemental_labels: &supplemental_labels,
        supplemental_kinds: &supplemental_kinds,
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
    let train_outputs = extract(
        network.as_ref(),
        &inputs,
        Some(&labels),
        Split::Train,
        options,
        progress,
    )?;
    progress.event(Event::Scoring);
    let held_out = held_out_clips(&config, &labels)?;
    let calibrated = calibrate_detector(&config, out, &split.train, &train_outputs, held_out.as_deref())?;
    Ok(TrainOutput {
        config,
        network,
        classes,
        history,
        model_path,
        detector: TrainedDetector {
            train_outputs,
            calibrated,
        },
    })
}

/// Sets the `[model]` settings the data fixes (the class count) through [`SystemDef::set_classes`](
/// crate::SystemDef::set_classes). A value the user wrote (one that is neither the preset's nor the data's) is
/// refused with that reason rather than silently replaced.
fn set_classes(config: &mut RunConfig, n_classes: usize) -> Result<()> {
    let system = config.system.def();
    let Some(model) = &mut config.model else {
        return Ok(());
    };
    let preset = RunConfig::preset(config.system).model.unwrap_or_default();
    let mut fixed = model.clone();
    system.set_classes(&mut fixed, n_classes);
    for (key, value) in &fixed {
        if let Some(written) = model.get(key).filter(|&w| w != value && Some(w) != preset.get(key)) {
            return Err(Error::Setting {
                field: format!("model.{key}"),
                reason: format!(
                    "is set from the data ({value} here, from {n_classes} training classes); leave it out (it is {written})"
                ),
            });
        }
    }
    *model = fixed;
    Ok(())
}

/// The kind of each of the supplemental training clips `chosen`, found by path among the dataset's `all`.
///
/// # Errors
/// [`Error::File`] naming a chosen clip that is not one of the dataset's supplemental clips.
fn supplemental_kinds(chosen: &[Clip], all: &[SupplementalClip]) -> Result<Vec<asd_data::SupplementalKind>> {
    let kinds: BTreeMap<&Path, asd_data::SupplementalKind> = all.iter().map(|c| (c.path.as_path(), c.kind)).collect();
    chosen
        .iter()
        .map(|c| {
            kinds.get(c.path.as_path()).copied().ok_or_else(|| Error::File {
                path: c.path.clone(),
                reason: "the system trains on it as a supplemental clip, but it is not in a supplemental folder".into(),
            })
        })
        .collect()
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
    /// `OUT/metrics.json`: the first scorer's report; `None` when no test clip has a label.
    pub metrics_json: Option<PathBuf>,
    /// `OUT/results.md`.
    pub results_md: PathBuf,
    /// The test groups that were scored but not evaluated because none of their clips has a label (evaluation
    /// names such as `section_03_0000.wav`), as `fan section_03`.
    pub unlabelled: Vec<String>,
}

impl ScoreOutput {
    /// The headline (first scorer's) report, when some test clips have labels.
    pub fn report(&self) -> Option<&Report> {
        self.reports.first().and_then(|r| r.report.as_ref())
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
    // An imported network's run has not seen data yet: the data decide its channels as training would.
    decide_channels(&mut config, data)?;
    let system = config.system.def();
    let network = system.build(&config, &options.device)?;
    let (network, classes) = if system.trains() {
        (
            network.load(&run_dir.join(MODEL_FILE))?,
            Some(run_classes(&config, run_dir, data, out)?),
        )
    } else {
        (network, None)
    };
    if !same_folder(run_dir, out) {
        // `out` becomes a complete detector of its own: the network's files beside the scorers.
        open_run_folder(out)?;
        for name in crate::detector::network_files(system.trains()) {
            if *name == crate::run_folder::CLASSES_FILE && !run_dir.join(name).exists() {
                continue; // an imported network's classes, just written into `out`
            }
            let bytes = std::fs::read(run_dir.join(name)).map_err(|source| Error::Io {
                path: run_dir.join(name),
                source,
            })?;
            write_file(&out.join(name), &bytes)?;
        }
    }
    score_with(
        &config,
        network.as_ref(),
        classes.as_ref(),
        Places::new(data, out),
        options,
        progress,
        None,
    )
}

/// What [`import`] wrote.
#[derive(Debug)]
pub struct ImportOutput {
    /// The configuration saved as `OUT/config.toml` (class count, variant and head from the weights).
    pub config: RunConfig,
    /// `OUT/model.bpk`.
    pub model_path: PathBuf,
    /// The class map written as `OUT/classes.json`: the one given, or the DCASE 2020 map for a 41-class
    /// machine-ID network; `None` when neither applies (`asd score` then takes the training data's classes).
    pub classes: Option<ClassMap>,
    /// How many tensors the checkpoint holds.
    pub tensors: usize,
}

/// Makes the run folder `out` from a checkpoint of the reference PyTorch implementation of `config.system`
/// (`torch.save` `.pt` / `.pth`, a Lightning `.ckpt`, or safetensors): the settings the weights fix (class count,
/// MobileFaceNet variant, head) are read from their tensors' shapes ([`SystemDef::settings_from_weights`](
/// crate::SystemDef::settings_from_weights)), the rest comes from `config` (a preset or the user's file); the
/// network with the imported weights is saved as `model.bpk` beside `config.toml` and the class map. [`score`] then
/// fits the scorers on the user's normal clips, which makes the folder a complete detector.
///
/// `classes` is a class map in the format of `classes.json`; without one, a machine-ID network of 41 classes gets
/// the DCASE 2020 map (the reference implementations' class order, decisions.md §4).
///
/// # Errors
/// A system without a reference implementation, weights that contradict a setting (named) or do not fit the
/// network, a class map of another class count, a file that cannot be read or written (named).
pub fn import(
    config: &RunConfig,
    weights: &Path,
    classes: Option<&Path>,
    out: &Path,
    options: &RunOptions,
) -> Result<ImportOutput> {
    let system = config.system.def();
    let tensors = asd_models::weights::tensor_shapes(weights)?;
    let mut config = config.clone();
    system.settings_from_weights(&mut config, &tensors)?;
    config.check()?;
    let network = asd_models::init::seeded(&options.device, config.seed, |d| system.build(&config, d))?;
    let network = network.load_reference(weights)?;
    let n_classes = config
        .model
        .as_ref()
        .and_then(|m| m.get("n_classes"))
        .and_then(toml::Value::as_integer);
    let classes = match classes {
        Some(path) => {
            let map = crate::run_folder::read_class_file(path)?;
            if n_classes != Some(map.len() as i64) {
                return Err(Error::File {
                    path: path.into(),
                    reason: format!(
                        "a class map of {} classes, the network has {}",
                        map.len(),
                        n_classes.map_or_else(|| "?".to_string(), |n| n.to_string())
                    ),
                });
            }
            Some(map)
        }
        None => {
            let dcase2020 = ClassMap::dcase2020();
            (config.classes == crate::ClassSource::TypeGroup && n_classes == Some(dcase2020.len() as i64))
                .then_some(dcase2020)
        }
    };
    open_run_folder(out)?;
    config.save(&out.join(CONFIG_FILE))?;
    let model_path = out.join(MODEL_FILE);
    network.save(&model_path)?;
    if let Some(map) = &classes {
        write_classes(out, map)?;
    }
    Ok(ImportOutput {
        config,
        model_path,
        classes,
        tensors: tensors.len(),
    })
}

/// The class map of a run folder: `classes.json`, or for an imported network without one the classes of the
/// training clips of `data`, written to `out/classes.json` once their count is the network's.
fn run_classes(config: &RunConfig, run_dir: &Path, data: &Path, out: &Path) -> Result<ClassMap> {
    if run_dir.join(crate::run_folder::CLASSES_FILE).exists() {
        return read_classes(run_dir);
    }
    let RunClips {
        train,
        test,
        supplemental,
    } = run_clips(data)?;
    let system = config.system.def();
    let supplemental = system.supplemental(config, &supplemental);
    let classes = system.class_map(&LabelJob {
        config,
        train: &train,
        supplemental: &supplemental,
        test: &test,
        run_dir: None,
    })?;
    let mut fixed = config.clone();
    set_classes(&mut fixed, classes.len()).map_err(|_| Error::Setting {
        field: "model.n_classes".into(),
        reason: format!(
            "the network has another class count than the {} classes of the training clips; give its class map \
             with `asd import --classes`",
            classes.len()
        ),
    })?;
    if fixed.model != config.model {
        return Err(Error::Setting {
            field: "model.n_classes".into(),
            reason: format!(
                "the network's class count differs from the {} classes of the training clips; give its class map \
                 with `asd import --classes`",
                classes.len()
            ),
        });
    }
    open_run_folder(out)?;
    write_classes(out, &classes)?;
    Ok(classes)
}

/// Whether two paths name the same folder (`out` may not exist yet).
fn same_folder(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// The scorer groups (machine type, ID / section) of the normal training clips, sorted: a group's id is its index.
fn scorer_groups(train: &[Clip]) -> Vec<GroupName> {
    let set: BTreeSet<GroupName> = train.iter().map(GroupName::of).collect();
    set.into_iter().collect()
}

/// The scorer group id of each clip.
///
/// # Errors
/// A clip of a group without training clips (named).
fn group_ids(groups: &[GroupName], clips: &[Clip]) -> Result<Vec<i64>> {
    clips
        .iter()
        .map(|c| {
            groups
                .binary_search(&GroupName::of(c))
                .map(|i| i as i64)
                .map_err(|_| Error::File {
                    path: c.path.clone(),
                    reason: format!(
                        "its group {} has no normal training clips to fit the scorers on",
                        group_words(c)
                    ),
                })
        })
        .collect()
}

/// The training clips (of class `labels`, in training order) that the run's validation split held out of training,
/// one flag per clip; `None` without a validation split. A clip of several examples (segments) counts as held out
/// when all of them were.
fn held_out_clips(config: &RunConfig, labels: &[usize]) -> Result<Option<Vec<bool>>> {
    if config.train.validation.is_none() || !config.system.def().trains() {
        return Ok(None);
    }
    let per_clip = config.system.def().examples_per_clip(config)?.max(1);
    let example_labels: Vec<usize> = labels.iter().flat_map(|&l| std::iter::repeat_n(l, per_clip)).collect();
    let mut held = vec![0usize; labels.len()];
    for example in asd_train::validation_split(&example_labels, &config.train) {
        held[example / per_clip] += 1;
    }
    Ok(Some(held.into_iter().map(|n| n == per_clip).collect()))
}

/// Fits and calibrates every scorer of `config` on the outputs of the normal training clips `train` (thresholds on
/// the `held_out` clips where there are enough) and writes the detector into the run folder `out`
/// ([`crate::detector`]).
fn calibrate_detector(
    config: &RunConfig,
    out: &Path,
    train: &[Clip],
    train_outputs: &ExampleOutputs,
    held_out: Option<&[bool]>,
) -> Result<Vec<CalibratedScorer>> {
    let groups = scorer_groups(train);
    let names: Vec<String> = groups.iter().map(ToString::to_string).collect();
    let train_target: Vec<bool> = train.iter().map(|c| c.domain == Some(Domain::Target)).collect();
    let calibrated = scoring::calibrate(
        &config.scoring,
        train_outputs,
        &group_ids(&groups, train)?,
        &train_target,
        held_out,
        &names,
        config.seed,
    )?;
    crate::detector::write_detector(
        out,
        &groups,
        config.scoring.clip_pooling,
        config.scoring.threshold,
        &calibrated,
    )?;
    Ok(calibrated)
}

/// Where a scoring pass reads and writes.
#[derive(Clone, Copy)]
struct Places<'a> {
    /// The dataset.
    data: &'a Path,
    /// The folder the scores, reports and detector files go to.
    out: &'a Path,
    /// The folder whose `cache/` holds the feature caches (the run folder; a snapshot's pass reuses the run's).
    cache: &'a Path,
}

impl<'a> Places<'a> {
    /// Data from `data`, everything (caches included) in `out`.
    fn new(data: &'a Path, out: &'a Path) -> Self {
        Self { data, out, cache: out }
    }
}

fn score_with(
    config: &RunConfig,
    network: &dyn Network,
    classes: Option<&ClassMap>,
    places: Places<'_>,
    options: &RunOptions,
    progress: Progress<'_>,
    trained: Option<TrainedDetector>,
) -> Result<ScoreOutput> {
    let Places { data, out, cache } = places;
    let (split, problems) = open_data(data)?;
    open_run_folder(out)?;
    let Inputs {
        train: train_inputs,
        test: test_inputs,
    } = prepare(config, cache, &split, problems, progress)?;
    let train_labels = classes.map(|c| class_indices(c, &split.train)).transpose()?;
    // PROB needs every test clip's class; a test ID unseen in training leaves it out.
    let test_labels: Option<Vec<usize>> =
        classes.and_then(|c| split.test.iter().map(|clip| c.class_of(clip)).collect());
    let test_out = extract(
        network,
        &test_inputs,
        test_labels.as_deref(),
        Split::Test,
        options,
        progress,
    )?;
    let (train_out, calibrated) = match trained {
        Some(t) => (t.train_outputs, t.calibrated),
        None => {
            let train_out = extract(
                network,
                &train_inputs,
                train_labels.as_deref(),
                Split::Train,
                options,
                progress,
            )?;
            progress.event(Event::Scoring);
            let held_out = match &train_labels {
                Some(labels) => held_out_clips(config, labels)?,
                None => None,
            };
            let calibrated = calibrate_detector(config, out, &split.train, &train_out, held_out.as_deref())?;
            (train_out, calibrated)
        }
    };
    write_embeddings(out, "train", &train_out, &split.train)?;
    write_embeddings(out, "test", &test_out, &split.test)?;

    progress.event(Event::Scoring);
    let groups = scorer_groups(&split.train);
    let test_groups = group_ids(&groups, &split.test)?;
    let scores = scoring::score_test(&config.scoring, &calibrated, &test_out, &test_groups)?;
    let mut named: Vec<NamedScores> = Vec::with_capacity(scores.len());
    for (i, (name, scores)) in config.scoring.names().into_iter().zip(scores).enumerate() {
        let decisions = calibrated.get(i).map(|c| {
            test_groups
                .iter()
                .zip(&scores)
                .map(|(g, &s)| c.thresholds.get(g).is_some_and(|t| s > t.threshold))
                .collect()
        });
        named.push(NamedScores {
            name,
            scores,
            decisions,
        });
    }
    let reports = scoring::write_reports(out, &split.test, &named, config.scoring.pool)?;
    let metrics_json = match reports.first().and_then(|r| r.report.as_ref()) {
        Some(report) => {
            let path = out.join("metrics.json");
            report.write_json(&path)?;
            Some(path)
        }
        None => None,
    };
    let unlabelled = unlabelled_groups(&split.test);
    let results_md = out.join("results.md");
    write_file(
        &results_md,
        results_markdown(config, data, &reports, &unlabelled).as_bytes(),
    )?;
    Ok(ScoreOutput {
        reports,
        metrics_json,
        results_md,
        unlabelled,
    })
}

fn results_markdown(config: &RunConfig, data: &Path, reports: &[ScorerReport], unlabelled: &[String]) -> String {
    let mut text = format!("# {} on {}\n\n", config.system, data.display());
    let headline = reports
        .first()
        .and_then(|r| r.report.as_ref().map(|report| (&r.name, report)));
    if let Some((name, report)) = headline {
        text.push_str(&format!(
            "AUC / pAUC (p = 0.1, McClish) in percent, per machine type (mean over IDs / sections) and on average; \
             one row per scorer.\n\n{}\n## {name} (headline scorer)\n\n{}",
            scoring::summary_table(reports),
            report.to_table()
        ));
    }
    if !unlabelled.is_empty() {
        text.push_str(&format!("\n{}\n", unlabelled_note(unlabelled)));
    }
    text
}

/// The sentence that says which groups were scored without labels.
pub fn unlabelled_note(unlabelled: &[String]) -> String {
    format!(
        "Scored without evaluation (no test clip of theirs has a normal / anomaly label): {}.",
        unlabelled.join(", ")
    )
}

/// What [`run`] produced.
#[derive(Debug)]
pub struct RunOutput {
    /// The training log (empty for the training-free system).
    pub history: Vec<asd_train::EpochLog>,
    /// The scorers' reports and files.
    pub scores: ScoreOutput,
    /// In the reproduction mode that chooses the model by test AUC, which snapshot was chosen and why.
    pub selection: Option<SnapshotSelection>,
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
        if trained.config.scoring.select_by_test_auc {
            return run_selected_by_test_auc(trained, data, out, options, progress);
        }
        let scores = score_with(
            &trained.config,
            trained.network.as_ref(),
            Some(&trained.classes),
            Places::new(data, out),
            options,
            progress,
            Some(trained.detector),
        )?;
        return Ok(RunOutput {
            history: trained.history,
            scores,
            selection: None,
        });
    }
    config.check()?;
    let mut config = config.clone();
    decide_channels(&mut config, data)?;
    let config = &config;
    open_run_folder(out)?;
    config.save(&out.join(CONFIG_FILE))?;
    let network = config.system.def().build(config, &options.device)?;
    let scores = score_with(
        config,
        network.as_ref(),
        None,
        Places::new(data, out),
        options,
        progress,
        None,
    )?;
    Ok(RunOutput {
        history: Vec::new(),
        scores,
        selection: None,
    })
}

/// One candidate of [`SnapshotSelection`]: a snapshot and its test AUC.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SnapshotScore {
    /// Epochs trained when it was taken.
    pub epoch: usize,
    /// The headline scorer's test AUC with this model: pooled per machine type when the reports pool
    /// ([`ScoringConfig::pool`](crate::scoring::ScoringConfig::pool)), DCASE's average otherwise.
    pub auc: f64,
}

/// The reproduction mode of [`ScoringConfig::select_by_test_auc`](crate::scoring::ScoringConfig::select_by_test_auc):
/// which snapshot the test AUC chose, among which.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SnapshotSelection {
    /// What the figures mean, in one sentence (printed and written with them).
    pub note: String,
    /// The AUC the choice maximised, in words.
    pub metric: String,
    /// Every snapshot, in epoch order (the final model last).
    pub candidates: Vec<SnapshotScore>,
    /// The chosen snapshot's epoch count (ties: the earlier).
    pub selected_epoch: usize,
}

/// The file `asd run` writes into the run folder in the reproduction mode that chooses the model by test AUC
/// ([`SnapshotSelection`], as JSON).
pub const SELECTION_FILE: &str = "selection.json";

/// The reference attention-net code's model selection, reproduced on request (decisions.md §3): every snapshot
/// (`train.snapshot_every`) and the final model are scored on the test clips, each into
/// `snapshots/epoch_NNNN/`; the one with the best headline test AUC becomes the run's model (`model.bpk`), scored
/// and calibrated into the run folder as usual, and `selection.json`, `results.md` and the returned
/// [`SnapshotSelection`] say so.
fn run_selected_by_test_auc(
    trained: TrainOutput,
    data: &Path,
    out: &Path,
    options: &RunOptions,
    progress: Progress<'_>,
) -> Result<RunOutput> {
    let config = &trained.config;
    let system = config.system.def();
    let final_epoch = trained.history.len();
    let mut epochs: Vec<usize> = (1..final_epoch)
        .filter(|e| config.train.snapshot_every.is_some_and(|every| e % every == 0))
        .collect();
    epochs.push(final_epoch);
    let pooled = config.scoring.pool == asd_metrics::Pool::Type;
    let mut candidates = Vec::with_capacity(epochs.len());
    for &epoch in &epochs {
        let weights = if epoch == final_epoch {
            trained.model_path.clone()
        } else {
            asd_train::snapshot_path(out, epoch)
        };
        let network = system.build(config, &options.device)?.load(&weights)?;
        let folder = out.join(asd_train::SNAPSHOT_DIR).join(format!("epoch_{epoch:04}"));
        let places = Places {
            data,
            out: &folder,
            cache: out,
        };
        let scored = score_with(
            config,
            network.as_ref(),
            Some(&trained.classes),
            places,
            options,
            progress,
            None,
        )?;
        let report = scored.report().ok_or_else(|| Error::Setting {
            field: "scoring.select_by_test_auc".into(),
            reason: "choosing a snapshot by test AUC needs labelled test clips (normal / anomaly names)".into(),
        })?;
        let auc = if pooled {
            report.average.pooled_auc.unwrap_or(report.average.auc)
        } else {
            report.average.auc
        };
        candidates.push(SnapshotScore { epoch, auc });
    }
    let best = candidates
        .iter()
        .fold(None::<&SnapshotScore>, |best, c| match best {
            Some(b) if b.auc >= c.auc => Some(b),
            _ => Some(c),
        })
        .map_or(final_epoch, |c| c.epoch);
    let metric = format!(
        "the {} scorer's {} test AUC",
        config.scoring.names().first().map_or("headline", String::as_str),
        if pooled {
            "pooled-per-type mean"
        } else {
            "DCASE average"
        }
    );
    let note = format!(
        "Reproduction mode: the model is the epoch-{best} snapshot, chosen among {} snapshots by {metric}, as the \
         reference code chooses; the test labels chose the model, so these figures overstate what a deployed \
         detector achieves.",
        candidates.len()
    );
    let selection = SnapshotSelection {
        note,
        metric,
        candidates,
        selected_epoch: best,
    };
    let (network, detector) = if best == final_epoch {
        (trained.network, Some(trained.detector))
    } else {
        let weights = asd_train::snapshot_path(out, best);
        let network = system.build(config, &options.device)?.load(&weights)?;
        network.save(&trained.model_path)?;
        (network, None)
    };
    let scores = score_with(
        config,
        network.as_ref(),
        Some(&trained.classes),
        Places::new(data, out),
        options,
        progress,
        detector,
    )?;
    let json = serde_json::to_string_pretty(&selection).map_err(|e| Error::Mismatch(e.to_string()))?;
    write_file(&out.join(SELECTION_FILE), json.as_bytes())?;
    let results = std::fs::read_to_string(&scores.results_md).map_err(|source| Error::Io {
        path: scores.results_md.clone(),
        source,
    })?;
    write_file(
        &scores.results_md,
        format!("{}\n\n{results}", selection.note).as_bytes(),
    )?;
    Ok(RunOutput {
        history: trained.history,
        scores,
        selection: Some(selection),
    })
}

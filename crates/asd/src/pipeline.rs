//! The run pipeline: dataset → features (cached) → train → embeddings → scorers per group → score CSVs → metrics.
//!
//! [`run`] is [`train`] followed by [`score`]; each also stands alone (`asd train`, `asd score`). A run folder:
//!
//! | path | content |
//! |---|---|
//! | `config.toml` | the resolved [`RunConfig`] (written first; the class count set from the data) |
//! | `classes.json` | the class map the network was trained with (names in class order) |
//! | `cache/` | memory-mapped feature caches, reused by the next run on the same clips and front end |
//! | `checkpoints/`, `train_log.csv` | per-epoch checkpoints and log of [`asd_train::train`] (`--resume` continues) |
//! | `model.bpk` | the final network's weights (Burn burnpack) |
//! | `embeddings/{train,test}.npy` | `[examples, dim]` f32 embeddings; `{train,test}_files.txt`: the clip of each row |
//! | `scores/<scorer>/anomaly_score_<type>_<group>.csv` | DCASE-format score CSVs (`file,score`), one folder per scorer |
//! | `metrics/<scorer>.json`, `roc/<scorer>/` | the report of each scorer (as `asd evaluate --json`) and its ROC curves |
//! | `metrics.json` | the report of the first scorer (the headline) |
//! | `results.md` | all scorers side by side, then the headline scorer's table per type and ID / section |
//!
//! The training-free [`System::RawLogmel`] skips the network: each clip's log-Mel frames summarised over time
//! ([`Pooling`]) are its embedding.

use crate::scoring::{self, ExampleOutputs, ScorerReport, ScoringConfig, create_dir};
use crate::system::{ModelConfig, Network, System};
use crate::{Error, Result};
use asd_data::{ClassMap, ClassScheme, Clip, Condition, Dataset, Domain, FeatureCache, LengthPolicy, Selection, Split};
use asd_features::{FeatureKind, FeatureSpec, FrontendPreset};
use asd_metrics::Report;
use asd_models::Embedder;
use asd_models::burn::module::Module;
use asd_models::burn::tensor::Device;
/// Device names of `--device` (`cpu`, `cuda`, `cuda:<index>`); see [`asd_models::parse_device`].
pub use asd_models::parse_device;
use asd_scorers::{ScorerConfig, ScorerKind};
use asd_train::{Clips, Examples, Extracted, Paired, Rows, Schedule, TrainConfig, TrainEvent};
use ndarray::{Array1, Array2, Axis};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Clip length of every DCASE 2020 reference system, seconds (dcase_protocols.md §1.3: clips are cropped to
/// their first 10 s).
pub const DEFAULT_CLIP_SECONDS: f32 = 10.0;
/// STgram-MFN / LogMel-MFN epochs (seed 004 §3.1; decisions.md §10).
pub const MFN_EPOCHS: usize = 200;
/// STgram-MFN / LogMel-MFN batch size (seed 004 §3.1).
pub const MFN_BATCH_SIZE: usize = 128;
/// Epochs of constant learning rate before STgram-MFN's cosine schedule starts (stgram_mfn.md §6,
/// `start_scheduler_epoch`).
pub const MFN_SCHEDULE_START_EPOCH: usize = 20;
/// Examples per forward pass when extracting embeddings (memory only; results do not depend on it).
pub const EXTRACT_BATCH: usize = 64;
/// File name of the final weights in a run folder.
pub const MODEL_FILE: &str = "model.bpk";
/// File name of the class map in a run folder.
pub const CLASSES_FILE: &str = "classes.json";
/// File name of the configuration in a run folder.
pub const CONFIG_FILE: &str = "config.toml";

/// How a clip's feature frames `[rows, frames]` become one embedding (training-free system only).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pooling {
    /// Mean and (population) standard deviation over frames: `[2 · rows]`.
    #[default]
    MeanStd,
    /// Mean over frames: `[rows]` (the baseline of `spec/synthetic.md`).
    Mean,
}

/// Everything a run needs besides the data; saved as `RUN/config.toml`. [`RunConfig::preset`] gives each
/// system's paper settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunConfig {
    /// Which system.
    pub system: System,
    /// The network's input front end (for STgram-MFN the log-Mel; the waveform is taken as well).
    pub features: FeatureSpec,
    /// Clip length, seconds: longer clips are cropped to their start, shorter ones repeat-padded
    /// (decisions.md §11).
    pub clip_seconds: f32,
    /// Training-free system only: how feature frames are summarised into an embedding.
    pub pooling: Pooling,
    /// The network (absent for the training-free system). Its class count is set from the data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelConfig>,
    /// How the network is trained.
    pub train: TrainConfig,
    /// Scorers fitted per machine type × ID / section on the normal training embeddings.
    pub scoring: ScoringConfig,
    /// Seed of the network's initial weights and of the scorers' random draws (training draws use
    /// `train.seed`).
    pub seed: u64,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self::preset(System::default())
    }
}

impl PartialEq for RunConfig {
    /// Equal when they serialise to the same TOML (the model configurations have no `PartialEq`).
    fn eq(&self, other: &Self) -> bool {
        toml::to_string(self).ok() == toml::to_string(other).ok()
    }
}

impl RunConfig {
    /// The paper's settings of `system` (decisions.md §10, the systems' specs):
    ///
    /// | system | input | training | scorers (first = headline) |
    /// |---|---|---|---|
    /// | asdnet, specmfn | `|rfft|` of five 2-s segments per 10-s clip | Adam 1e-4, cosine to 1e-5 over 300 epochs, batch 64, mixup α 0.5 + ArcMix | K-Means, PROB, COS, GMM, LOF (seed 000 Table 4), mean segment score |
    /// | logmel-mfn, stgram-mfn | torchaudio log-Mel 128 × 313 of the 10-s clip (+ waveform) | Adam 1e-4, 200 epochs, batch 128, constant 20 epochs then cosine to 1e-5, no mixup | PROB (seed 004) |
    /// | raw-logmel | that log-Mel, mean and std per band | none | KNN |
    pub fn preset(system: System) -> RunConfig {
        let model = ModelConfig::preset(system);
        let segment_scorers = || {
            [
                ScorerKind::Kmeans,
                ScorerKind::Prob,
                ScorerKind::Cos,
                ScorerKind::Gmm,
                ScorerKind::Lof,
            ]
            .map(ScorerConfig::new)
            .to_vec()
        };
        let mfn_training = TrainConfig {
            epochs: MFN_EPOCHS,
            batch_size: MFN_BATCH_SIZE,
            schedule: Schedule::Cosine {
                t_max: MFN_EPOCHS,
                eta_min: asd_train::COSINE_ETA_MIN,
                start_epoch: MFN_SCHEDULE_START_EPOCH,
            },
            loss: asd_losses::LossConfig::default(),
            ..TrainConfig::default()
        };
        let logmel = FeatureSpec::new(FeatureKind::LogMel).with_preset(FrontendPreset::StgramMfn);
        let (features, train, scorers) = match system {
            System::Asdnet | System::Specmfn => (
                FeatureSpec::new(FeatureKind::Spectrum),
                TrainConfig::default(),
                segment_scorers(),
            ),
            System::LogmelMfn | System::StgramMfn => (logmel, mfn_training, vec![ScorerConfig::new(ScorerKind::Prob)]),
            System::RawLogmel => (logmel, TrainConfig::default(), vec![ScorerConfig::new(ScorerKind::Knn)]),
        };
        RunConfig {
            system,
            features,
            clip_seconds: DEFAULT_CLIP_SECONDS,
            pooling: Pooling::default(),
            model,
            train,
            scoring: ScoringConfig::many(scorers),
            seed: 0,
        }
    }

    /// Checks every setting before any decoding or training.
    ///
    /// # Errors
    /// [`Error::Config`] for a non-positive clip length, a network that does not belong to the system or is
    /// missing, a front end the system cannot use, or a scorer it cannot feed; [`Error::Features`],
    /// [`Error::Scorers`], [`Error::Models`], [`Error::Train`] for bad settings of those stages.
    pub fn check(&self) -> Result<()> {
        let frontend = self.features.build()?;
        if !(self.clip_seconds > 0.0 && self.clip_seconds.is_finite()) {
            return Err(Error::Config(format!(
                "clip_seconds must be positive, got {}",
                self.clip_seconds
            )));
        }
        let wanted = match self.system {
            System::Asdnet | System::Specmfn => FeatureKind::Spectrum,
            _ => FeatureKind::LogMel,
        };
        if self.features.kind != wanted
            && !(wanted == FeatureKind::LogMel && self.features.kind == FeatureKind::HpfLogMel)
        {
            return Err(Error::Config(format!(
                "system {} needs features.kind = \"{}\", got \"{}\"",
                self.system,
                wanted.name(),
                self.features.kind.name()
            )));
        }
        match (&self.model, self.system) {
            (None, System::RawLogmel) => {}
            (Some(model), system) if model.system() == system => {
                model.check()?;
                self.train.check()?;
                // The network's input size must be what the front end gives for clips of this length.
                let (rows, cols) = frontend.output_shape(self.clip_samples());
                let expected = match model {
                    ModelConfig::Asdnet(c) => [1, c.input_bins],
                    ModelConfig::Specmfn(c) => [1, c.input_bins],
                    ModelConfig::LogmelMfn(c) => [c.n_mels, c.frames],
                    ModelConfig::StgramMfn(c) => [c.n_mels, c.frames],
                };
                let got = match model {
                    ModelConfig::Asdnet(_) | ModelConfig::Specmfn(_) => [1, cols],
                    _ => [rows, cols],
                };
                if expected != got {
                    return Err(Error::Config(format!(
                        "the network of {} expects inputs {expected:?} but the front end gives {got:?} for \
                         {} s clips; set the model's input size or clip_seconds to match",
                        self.system, self.clip_seconds
                    )));
                }
                if let ModelConfig::StgramMfn(c) = model
                    && c.samples != self.clip_samples()
                {
                    return Err(Error::Config(format!(
                        "stgram-mfn's TgramNet expects {} samples, clips are {} samples",
                        c.samples,
                        self.clip_samples()
                    )));
                }
            }
            (Some(model), system) => {
                return Err(Error::Config(format!(
                    "the [model] table is for {} but the system is {system}",
                    model.system()
                )));
            }
            (None, system) => return Err(Error::Config(format!("system {system} needs a [model] table"))),
        }
        self.scoring.check(self.model.is_some(), self.system.name())
    }

    /// Clip length in samples at 16 kHz.
    pub fn clip_samples(&self) -> usize {
        (self.clip_seconds * asd_audio::TARGET_SAMPLE_RATE as f32).round() as usize
    }

    /// Sets the number of epochs, and the cosine schedule's period with it when it spanned the old count (so a
    /// shortened run still anneals to its floor).
    pub fn with_epochs(mut self, epochs: usize) -> RunConfig {
        if let Schedule::Cosine { t_max, .. } = &mut self.train.schedule
            && *t_max == self.train.epochs
        {
            *t_max = epochs;
        }
        self.train.epochs = epochs;
        self
    }

    /// Parses a configuration (the format of `RUN/config.toml`). Every setting left out takes the value of the
    /// preset of the file's `system` (default `asdnet`): tables are merged key by key, so
    /// `system = "stgram-mfn"` plus `[train] epochs = 20` is the STgram-MFN recipe with 20 epochs.
    ///
    /// # Errors
    /// [`Error::Config`] for invalid TOML, an unknown system or setting, or a value of the wrong type.
    pub fn from_toml(text: &str) -> Result<RunConfig> {
        let user: toml::Table = toml::from_str(text).map_err(|e| Error::Config(e.message().to_string()))?;
        let system = match user.get("system") {
            Some(value) => System::deserialize(value.clone()).map_err(|e| Error::Config(e.message().to_string()))?,
            None => System::default(),
        };
        let preset = toml::Table::try_from(RunConfig::preset(system)).map_err(|e| Error::Config(e.to_string()))?;
        let merged = merge_tables(preset, user);
        RunConfig::deserialize(merged).map_err(|e| Error::Config(e.message().to_string()))
    }

    /// The quick recipe for the [`quick_benchmark`]: its clip length and, for systems with a network,
    /// [`QUICK_EPOCHS`] epochs (the cosine period shortened with them) at learning rate [`QUICK_LR`]; the
    /// front end and the network's input size follow the 4-s clips where they depend on them (the MobileFaceNets'
    /// frame count, TgramNet's samples).
    pub fn quick(mut self) -> RunConfig {
        self.clip_seconds = QUICK_SECONDS;
        let samples = self.clip_samples();
        let frames = self.features.build().map(|f| f.output_shape(samples).1).ok();
        self.model = match (self.model.take(), frames) {
            (Some(ModelConfig::LogmelMfn(c)), Some(frames)) => Some(ModelConfig::LogmelMfn(c.with_frames(frames))),
            (Some(ModelConfig::StgramMfn(c)), Some(frames)) => {
                Some(ModelConfig::StgramMfn(c.with_frames(frames).with_samples(samples)))
            }
            (model, _) => model,
        };
        if self.model.is_some() {
            self = self.with_epochs(QUICK_EPOCHS);
            let (asd_train::OptimizerConfig::Adam { lr, .. } | asd_train::OptimizerConfig::AdamW { lr, .. }) =
                &mut self.train.optimizer;
            *lr = QUICK_LR;
        }
        self
    }

    /// Reads a configuration file ([`RunConfig::from_toml`]).
    ///
    /// # Errors
    /// [`Error::Io`] / [`Error::Config`] naming the file.
    pub fn load(path: &Path) -> Result<RunConfig> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.into(),
            source,
        })?;
        Self::from_toml(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
    }

    fn save(&self, path: &Path) -> Result<()> {
        let text = toml::to_string_pretty(self).map_err(|e| Error::Config(e.to_string()))?;
        write_file(path, text)
    }
}

/// Machine types of the quick synthetic benchmark ([`quick_benchmark`]).
pub const QUICK_TYPES: usize = 6;
/// Machine IDs per type of the quick benchmark.
pub const QUICK_IDS: usize = 2;
/// Normal training clips per ID of the quick benchmark.
pub const QUICK_TRAIN: usize = 40;
/// Test clips per ID and condition of the quick benchmark.
pub const QUICK_TEST: usize = 20;
/// Clip length of the quick benchmark, seconds (two of ASDNet's 2-s segments).
pub const QUICK_SECONDS: f32 = 4.0;
/// Epochs of the quick recipe ([`RunConfig::quick`]); the presets' full recipes take hundreds.
pub const QUICK_EPOCHS: usize = 12;
/// Learning rate of the quick recipe: ten times the presets' 1e-4, so that a dozen epochs learn the IDs.
pub const QUICK_LR: f64 = 1e-3;

/// The quick synthetic benchmark `asd run` writes when no dataset is given: DCASE 2020 layout, 6 machine
/// types × 2 IDs, 40 normal training and 20 + 20 test clips per ID, 4-s clips (960 clips).
pub fn quick_benchmark() -> asd_audio::synth::SynthConfig {
    asd_audio::synth::SynthConfig {
        types: QUICK_TYPES,
        ids: QUICK_IDS,
        train: QUICK_TRAIN,
        test: QUICK_TEST,
        seconds: QUICK_SECONDS,
        ..asd_audio::synth::SynthConfig::default()
    }
}

/// `over` laid onto `base`: tables merge key by key (recursively), any other value of `over` replaces `base`'s.
/// A table whose `kind` tag changes (another optimiser, schedule or network) is replaced whole.
fn merge_tables(mut base: toml::Table, over: toml::Table) -> toml::Table {
    for (key, value) in over {
        let merged = match (base.remove(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o))
                if b.get("kind") == o.get("kind") || o.get("kind").is_none() =>
            {
                toml::Value::Table(merge_tables(b, o))
            }
            (_, value) => value,
        };
        base.insert(key, merged);
    }
    base
}

/// Progress of [`train`], [`score`] and [`run`], for a caller that shows it (the library prints nothing).
#[derive(Clone, Debug)]
pub enum Event {
    /// Clips decoded and featurised (called from worker threads); nothing when the cache is reused.
    Features {
        /// Which clips.
        split: Split,
        /// Clips done.
        done: usize,
        /// Clips in all.
        total: usize,
    },
    /// The trainer's progress.
    Train(TrainEvent),
    /// Examples embedded by the trained network.
    Embed {
        /// Which clips.
        split: Split,
        /// Examples done.
        done: usize,
        /// Examples in all.
        total: usize,
    },
    /// The scorers are being fitted and evaluated.
    Scoring,
}

impl Event {
    /// One line summarising a finished training epoch, for progress output; `None` for other events.
    pub fn epoch_summary(&self) -> Option<String> {
        match self {
            Event::Train(TrainEvent::EpochEnd(log)) => Some(format!(
                "epoch {:>4}: loss {:.4}, train accuracy {:.3}, lr {:.3e}, {:.1} s",
                log.epoch + 1,
                log.loss,
                log.accuracy,
                log.lr,
                log.seconds
            )),
            _ => None,
        }
    }
}

/// The progress callback of [`train`], [`score`] and [`run`].
pub type Progress<'a> = &'a (dyn Fn(Event) + Sync);

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
        return Err(Error::Config(format!(
            "{}: no labelled test clips to evaluate",
            data.display()
        )));
    }
    Ok(RunClips { train, test })
}

/// The feature caches of one clip list: the network's input, and the waveform for STgram-MFN.
struct Caches {
    features: FeatureCache,
    waveform: Option<FeatureCache>,
}

fn caches(config: &RunConfig, out: &Path, clips: &[Clip], split: Split, progress: Progress<'_>) -> Result<Caches> {
    let policy = LengthPolicy::new(config.clip_samples());
    let dir = out.join("cache");
    let report = |done, total| progress(Event::Features { split, done, total });
    let open = |spec: &FeatureSpec| -> Result<FeatureCache> {
        Ok(FeatureCache::open_or_build(
            &dir,
            clips,
            spec.build()?.as_ref(),
            &policy,
            &report,
        )?)
    };
    Ok(Caches {
        features: open(&config.features)?,
        waveform: match config.system {
            System::StgramMfn => Some(open(&FeatureSpec::new(FeatureKind::Waveform))?),
            _ => None,
        },
    })
}

/// What [`train`] produced.
#[derive(Debug)]
pub struct TrainOutput {
    /// The configuration as saved in the run folder (the network's class count set from the data).
    pub config: RunConfig,
    /// The trained network (evaluation mode).
    pub network: Network,
    /// The classes it was trained on.
    pub classes: ClassMap,
    /// One entry per epoch.
    pub history: Vec<asd_train::EpochLog>,
    /// `RUN/model.bpk`.
    pub model_path: PathBuf,
}

/// Trains the system's network on the normal training clips of `data` and writes `config.toml`,
/// `classes.json`, the checkpoints, `train_log.csv` and `model.bpk` into the run folder `out`.
///
/// # Errors
/// A bad configuration ([`RunConfig::check`]) or a training-free system; a dataset that cannot be opened or
/// has fewer than two classes; an unreadable clip (named); a training or checkpoint error; a file that cannot
/// be written (named).
pub fn train(
    config: &RunConfig,
    data: &Path,
    out: &Path,
    options: &RunOptions,
    progress: Progress<'_>,
) -> Result<TrainOutput> {
    config.check()?;
    let Some(model) = &config.model else {
        return Err(Error::Config(format!(
            "system {} has no network to train",
            config.system
        )));
    };
    let split = open_data(data)?;
    let classes = ClassMap::from_clips(ClassScheme::TypeGroup, &split.train)?;
    let model = model.clone().with_classes(classes.len());
    let config = RunConfig {
        model: Some(model.clone()),
        ..config.clone()
    };
    create_dir(out)?;
    config.save(&out.join(CONFIG_FILE))?;
    let classes_text = serde_json::to_string_pretty(&classes).map_err(|e| Error::Config(e.to_string()))?;
    write_file(&out.join(CLASSES_FILE), classes_text)?;

    let labels = class_indices(&classes, &split.train)?;
    let inputs = caches(&config, out, &split.train, Split::Train, progress)?;
    let network = asd_models::init::seeded(&options.device, config.seed, |d| model.init(d))?;
    let on_event = |event: TrainEvent| progress(Event::Train(event));
    let fit = |network| -> Result<(Network, Vec<asd_train::EpochLog>)> {
        macro_rules! fit {
            ($variant:ident, $model:expr, $examples:expr) => {{
                let trained = asd_train::train(
                    $model,
                    &$examples,
                    &config.train,
                    &options.device,
                    Some(out),
                    options.resume,
                    &on_event,
                )?;
                (Network::$variant(trained.model), trained.history)
            }};
        }
        Ok(match network {
            Network::Asdnet(m) => fit!(Asdnet, m, Rows::new(&inputs.features, &labels)?),
            Network::Specmfn(m) => fit!(Specmfn, m, Rows::new(&inputs.features, &labels)?),
            Network::LogmelMfn(m) => fit!(LogmelMfn, m, Clips::new(&inputs.features, &labels)?),
            Network::StgramMfn(m) => fit!(StgramMfn, m, stgram_examples(&inputs, &labels)?),
        })
    };
    let (network, history) = fit(network)?;
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
            classes.class_of(c).ok_or_else(|| {
                Error::Config(format!(
                    "{}: its machine type and ID / section is not among the training classes",
                    c.path.display()
                ))
            })
        })
        .collect()
}

/// STgram-MFN's examples: waveform rows `[batch, samples]` and log-Mel images `[batch, n_mels, frames]` of the
/// same clips (batches convert into `StgramInput`).
type StgramExamples<'a> = Paired<Rows<'a, FeatureCache>, Clips<'a, FeatureCache>>;

fn stgram_examples<'a>(inputs: &'a Caches, labels: &'a [usize]) -> Result<StgramExamples<'a>> {
    let wave = inputs
        .waveform
        .as_ref()
        .ok_or_else(|| Error::Config("stgram-mfn needs the waveform cache".into()))?;
    Ok(Paired::new(
        Rows::new(wave, labels)?,
        Clips::new(&inputs.features, labels)?,
    )?)
}

/// Embeddings (and class scores) of every example of `clips`, with the clip of each example.
fn extract(
    network: &Network,
    inputs: &Caches,
    labels: Option<&[usize]>,
    split: Split,
    options: &RunOptions,
    progress: Progress<'_>,
) -> Result<ExampleOutputs> {
    let n_clips = inputs.features.len();
    let placeholder = vec![0; n_clips];
    let labels_or_zero = labels.unwrap_or(&placeholder);
    let report = |done, total| progress(Event::Embed { split, done, total });
    fn go<M: Embedder + Module, E: Examples<Input: Into<M::Input>>>(
        model: &M,
        examples: &E,
        scores: bool,
        device: &Device,
        report: &dyn Fn(usize, usize),
    ) -> Result<Extracted> {
        Ok(asd_train::embed(
            model,
            examples,
            EXTRACT_BATCH,
            device,
            scores,
            report,
        )?)
    }
    let scores = labels.is_some();
    let device = &options.device;
    let (extracted, rows_per_clip) = match network {
        Network::Asdnet(m) => {
            let rows = Rows::new(&inputs.features, labels_or_zero)?;
            (go(m, &rows, scores, device, &report)?, rows.rows_per_clip())
        }
        Network::Specmfn(m) => {
            let rows = Rows::new(&inputs.features, labels_or_zero)?;
            (go(m, &rows, scores, device, &report)?, rows.rows_per_clip())
        }
        Network::LogmelMfn(m) => (
            go(
                m,
                &Clips::new(&inputs.features, labels_or_zero)?,
                scores,
                device,
                &report,
            )?,
            1,
        ),
        Network::StgramMfn(m) => (
            go(m, &stgram_examples(inputs, labels_or_zero)?, scores, device, &report)?,
            1,
        ),
    };
    let n = extracted.embeddings.nrows();
    Ok(ExampleOutputs {
        embeddings: extracted.embeddings.mapv(f64::from),
        class_scores: extracted.scores.map(|s| s.mapv(f64::from)),
        clip: (0..n).map(|i| i / rows_per_clip.max(1)).collect(),
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
    let network = match &config.model {
        Some(model) => Some(model.load(&run_dir.join(MODEL_FILE), &options.device)?),
        None => None,
    };
    let classes = match &network {
        Some(_) => {
            let path = run_dir.join(CLASSES_FILE);
            let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            Some(
                serde_json::from_str::<ClassMap>(&text)
                    .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?,
            )
        }
        None => None,
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
    network: Option<&Network>,
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
    let (train_out, test_out) = match (network, classes) {
        (Some(network), Some(classes)) => {
            let train_labels = class_indices(classes, &split.train)?;
            // PROB needs every test clip's class; a test ID unseen in training leaves it out.
            let test_labels: Option<Vec<usize>> = split.test.iter().map(|c| classes.class_of(c)).collect();
            let train_out = extract(
                network,
                &train_inputs,
                Some(&train_labels),
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
            (train_out, test_out)
        }
        _ => (
            ExampleOutputs::per_clip(pooled_embeddings(&train_inputs.features, config.pooling), None),
            ExampleOutputs::per_clip(pooled_embeddings(&test_inputs.features, config.pooling), None),
        ),
    };
    write_embeddings(out, "train", &train_out, &split.train)?;
    write_embeddings(out, "test", &test_out, &split.test)?;

    progress(Event::Scoring);
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
    write_file(&results_md, results_markdown(config, data, &reports))?;
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

/// `OUT/embeddings/<split>.npy` (`[examples, dim]` f32) and `<split>_files.txt` (the clip file of each row).
fn write_embeddings(out: &Path, split: &str, outputs: &ExampleOutputs, clips: &[Clip]) -> Result<()> {
    let dir = out.join("embeddings");
    create_dir(&dir)?;
    let path = dir.join(format!("{split}.npy"));
    ndarray_npy::write_npy(&path, &outputs.embeddings.mapv(|v| v as f32))
        .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
    let files: String = outputs
        .clip
        .iter()
        .map(|&c| format!("{}\n", clips[c].path.display()))
        .collect();
    write_file(&dir.join(format!("{split}_files.txt")), files)
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
/// folder `out` (see the module docs).
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
    match config.model {
        // `train` checks the configuration first.
        Some(_) => {
            let trained = train(config, data, out, options, progress)?;
            let scores = score_with(
                &trained.config,
                Some(&trained.network),
                Some(&trained.classes),
                data,
                out,
                options,
                progress,
            )?;
            Ok(RunOutput {
                history: trained.history,
                scores,
            })
        }
        None => {
            config.check()?;
            create_dir(out)?;
            config.save(&out.join(CONFIG_FILE))?;
            let scores = score_with(config, None, None, data, out, options, progress)?;
            Ok(RunOutput {
                history: Vec::new(),
                scores,
            })
        }
    }
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

/// Writes a run-folder file, naming it on failure.
fn write_file(path: &Path, text: String) -> Result<()> {
    std::fs::write(path, text).map_err(|source| Error::Io {
        path: path.into(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_file_takes_the_rest_from_its_systems_preset() {
        let config = RunConfig::from_toml(
            "system = \"stgram-mfn\"\n[train]\nepochs = 20\n[train.optimizer]\nlr = 0.001\n[model]\nn_classes = 7\n",
        )
        .unwrap();
        let preset = RunConfig::preset(System::StgramMfn);
        assert_eq!(config.system, System::StgramMfn);
        assert_eq!(config.train.epochs, 20);
        assert_eq!(config.train.optimizer.lr(), 1e-3);
        assert_eq!(config.train.batch_size, preset.train.batch_size);
        assert_eq!(config.features, preset.features);
        assert_eq!(config.model.as_ref().map(ModelConfig::n_classes), Some(7));
        assert!(config.check().is_ok());
        // Every preset reads back as itself, and an empty file is the default system's preset.
        for system in System::ALL {
            let preset = RunConfig::preset(system);
            let text = toml::to_string(&preset).unwrap();
            assert_eq!(RunConfig::from_toml(&text).unwrap(), preset, "{system}");
        }
        assert_eq!(RunConfig::from_toml("").unwrap(), RunConfig::default());
        assert!(
            RunConfig::from_toml("sytem = \"asdnet\"").is_err(),
            "unknown keys are refused"
        );
        assert!(RunConfig::from_toml("system = \"nope\"").is_err());
    }

    #[test]
    fn with_epochs_keeps_a_full_cosine_period() {
        let config = RunConfig::preset(System::Asdnet).with_epochs(10);
        assert_eq!(config.train.epochs, 10);
        assert!(matches!(config.train.schedule, Schedule::Cosine { t_max: 10, .. }));
    }
}

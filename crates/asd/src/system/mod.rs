//! The systems `asd` can run: one module per system, one registry.
//!
//! A system is a value implementing [`SystemDef`]: its name and source, its paper recipe ([`Recipe`]), the inputs
//! it reads from a clip, how its `[model]` table is checked and fitted to the clip length, and how its network is
//! built ([`Network`]: training with the system's own [`TrainStep`](asd_train::TrainStep), embedding, weight files).
//! [`System`] is a copyable handle to one; [`System::all`] lists the built-in systems (one module each below) and
//! those a program added with [`System::register`]. Everything that depends on the system (`asd info`, the CLI's
//! `--system` values, presets, `config.toml` parsing, run-folder weight loading) asks the handle, so adding a
//! system touches its own module and the registry's list, nothing else (docs/architecture.md, "Adding a system").

mod asdnet;
mod dcase_ae;
pub mod firstshot2025;
mod logmel_mfn;
pub mod margin;
mod neri_attention;
mod os_scl;
mod raw_logmel;
mod specmfn;
mod stgram_mfn;

use crate::config::RunConfig;
use crate::paper::PaperResults;
use crate::scoring::ExampleOutputs;
use crate::{Error, Result};
use asd_data::FeatureCache;
use asd_features::FeatureSpec;
use asd_losses::LossConfig;
use asd_models::burn::tensor::Device;
use asd_models::count::{LayerRow, ModelCount};
use asd_scorers::ScorerConfig;
use asd_train::{EpochLog, TrainConfig};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Mutex;

/// A system's paper recipe: everything of a [`RunConfig`] that depends on the system.
#[derive(Clone, Debug)]
pub struct Recipe {
    /// The front end of the network's main input.
    pub features: FeatureSpec,
    /// The `[model]` table (network settings, with `kind` = the system's name); `None` for a training-free system.
    pub model: Option<toml::Table>,
    /// How the network is trained.
    pub train: TrainConfig,
    /// The loss its training step computes.
    pub loss: LossConfig,
    /// Scorers, the headline first.
    pub scorers: Vec<ScorerConfig>,
}

/// What a network is trained on: the clips' inputs, their classes, where and how.
pub struct TrainJob<'a> {
    /// The resolved configuration (the `[model]` table's class count set from the data).
    pub config: &'a RunConfig,
    /// One feature cache per input of [`SystemDef::inputs`], in that order, over the same clips.
    pub inputs: &'a [FeatureCache],
    /// Class index of each clip.
    pub labels: &'a [usize],
    /// The class map the labels index (its names say what each class is).
    pub classes: &'a asd_data::ClassMap,
    /// The training-only clips of [`SystemDef::supplemental`] (DCASE 2025's supplemental folders), one cache per
    /// input as [`inputs`](Self::inputs); empty when the system takes none or the data have none.
    pub supplemental: &'a [FeatureCache],
    /// Class index of each supplemental clip.
    pub supplemental_labels: &'a [usize],
    /// Clean machine or noise only, for each supplemental clip.
    pub supplemental_kinds: &'a [asd_data::SupplementalKind],
    /// The device of the network.
    pub device: &'a Device,
    /// Run folder, resume flag and observer of the trainer.
    pub session: asd_train::Session<'a>,
}

/// The clips a system's classes are computed from ([`SystemDef::class_map`]).
pub struct LabelJob<'a> {
    /// The resolved configuration.
    pub config: &'a RunConfig,
    /// The normal training clips.
    pub train: &'a [asd_data::Clip],
    /// The training-only clips the system takes from the supplemental folders ([`SystemDef::supplemental`]).
    pub supplemental: &'a [asd_data::Clip],
    /// Every test clip.
    pub test: &'a [asd_data::Clip],
    /// The run folder, where a system that computes its labels writes what it found; `None` when nothing is
    /// written (a class map rebuilt to score an imported network).
    pub run_dir: Option<&'a Path>,
}

/// What a network embeds: the clips' inputs and, for class scores, their classes.
pub struct EmbedJob<'a> {
    /// One feature cache per input of [`SystemDef::inputs`], in that order, over the same clips.
    pub inputs: &'a [FeatureCache],
    /// Class index of each clip, when every clip has one (then the class scores are computed too).
    pub labels: Option<&'a [usize]>,
    /// The device of the network.
    pub device: &'a Device,
    /// `(done, total)` examples after each batch.
    pub progress: &'a dyn Fn(usize, usize),
}

impl EmbedJob<'_> {
    /// The clips' labels, or zeros when the job has none (example sources need a label per clip; no class score
    /// is computed then).
    pub fn labels_or_zeros(&self) -> std::borrow::Cow<'_, [usize]> {
        match self.labels {
            Some(labels) => std::borrow::Cow::Borrowed(labels),
            None => std::borrow::Cow::Owned(vec![0; self.inputs.first().map_or(0, FeatureCache::len)]),
        }
    }
}

/// A map a network computes from one clip (`asd explain`), e.g. a learned front end's output or an attention map.
#[derive(Clone, Debug)]
pub struct NetworkMap {
    /// What it shows, in words (`"attention on the log-Mel"`).
    pub name: String,
    /// Values `[rows, frames]`: the frames of the network's main input (its first input, e.g. the log-Mel's).
    pub values: ndarray::Array2<f32>,
    /// What the rows are: `None` for the main input's rows (the log-Mel's Mel bands), else the name of the
    /// network's own channels (`"Wavegram channel"`).
    pub rows: Option<String>,
    /// `true` for the weights the network multiplies its input by (an attention map), in `[0, 1]`.
    pub attention: bool,
}

/// A built network of a system: trained, saved, loaded and asked for embeddings through this one interface.
pub trait Network: Send {
    /// Parameters (as trained and as the paper counts them) and MACs per input example (decisions.md §9).
    fn count(&self) -> ModelCount;

    /// The layer table in forward order (`asd info`).
    fn layers(&self) -> Vec<LayerRow>;

    /// Trains the network with the system's training step ([`asd_train::train`]); returns it trained (evaluation
    /// mode) with the log of every epoch.
    ///
    /// # Errors
    /// A training, data or checkpoint error.
    fn train(self: Box<Self>, job: &TrainJob<'_>) -> Result<(Box<dyn Network>, Vec<EpochLog>)>;

    /// Embeddings (and class scores with labels) of every example of the clips, with the clip of each example.
    ///
    /// # Errors
    /// A data error, or a label beyond the network's classes.
    fn embed(&self, job: &EmbedJob<'_>) -> Result<ExampleOutputs>;

    /// The maps the network computes from the first clip of `job` that show where it listens (`asd explain`): a
    /// learned front end's output, an attention map. Default: none (a network without such maps).
    ///
    /// # Errors
    /// A data error.
    fn maps(&self, job: &EmbedJob<'_>) -> Result<Vec<NetworkMap>> {
        let _ = job;
        Ok(Vec::new())
    }

    /// Saves every weight (and BatchNorm statistic) at `path`.
    ///
    /// # Errors
    /// [`Error::Models`] naming the file when it cannot be written.
    fn save(&self, path: &Path) -> Result<()>;

    /// The same network with the weights saved by [`save`](Self::save) at `path`.
    ///
    /// # Errors
    /// A file that cannot be read or does not fit this network (named).
    fn load(self: Box<Self>, path: &Path) -> Result<Box<dyn Network>>;

    /// The same network with the weights of a checkpoint of the system's reference PyTorch implementation
    /// (`torch.save` file or safetensors, a Lightning `.ckpt` too; `asd import`). Default: none to import.
    ///
    /// # Errors
    /// A network without a reference implementation; a file that cannot be read or does not fit (named).
    fn load_reference(self: Box<Self>, path: &Path) -> Result<Box<dyn Network>> {
        Err(Error::File {
            path: path.into(),
            reason: "this system has no reference PyTorch implementation to import weights from".into(),
        })
    }
}

/// Everything about one system. Implement it (a unit struct is enough) and wrap it in a [`System`] to run a
/// system of your own through [`crate::train`], [`crate::score`] and [`crate::run`]; `tests/downstream_system.rs`
/// does so from outside the crate.
pub trait SystemDef: Send + Sync {
    /// The name used on the command line and in `config.toml` (kebab-case, unique).
    fn name(&self) -> &'static str;

    /// Where it comes from, as cited in the docs.
    fn source(&self) -> &'static str;

    /// The paper's recipe.
    fn recipe(&self) -> Recipe;

    /// The published results, if the system has a paper table ([`crate::paper`]).
    fn paper(&self) -> Option<PaperResults> {
        None
    }

    /// The published results in the DCASE 2021+ layout (per type AUC source / target and pAUC, their harmonic means
    /// and the official score), if the system's paper has such a table ([`crate::paper::domain_comparison_table`]).
    fn paper_domains(&self) -> Option<crate::paper::DomainPaperResults> {
        None
    }

    /// How the preset sets each scorer's decision threshold (default: the DCASE baseline's gamma fit at 0.9).
    fn threshold(&self) -> asd_scorers::Threshold {
        asd_scorers::Threshold::default()
    }

    /// How the system's paper groups its AUCs: DCASE's per ID / section ([`asd_metrics::Pool::Group`], the default), or also
    /// pooled per machine type ([`asd_metrics::Pool::Type`]: the attention-net and OS-SCL codes). The preset's reports show the
    /// pooled values beside DCASE's, named as such (decisions.md §2).
    fn paper_pool(&self) -> asd_metrics::Pool {
        asd_metrics::Pool::Group
    }

    /// Sentences `asd info` adds to the counts: where they differ from the paper's and why. Default none.
    fn count_notes(&self) -> Vec<String> {
        Vec::new()
    }

    /// Whether the system has a network to train (`false`: its embeddings need no training).
    fn trains(&self) -> bool {
        true
    }

    /// Whether the network computes class logits (and PROB's class scores): by default every system with a network
    /// does; an autoencoder does not, and PROB is refused for it.
    fn has_logits(&self) -> bool {
        self.trains()
    }

    /// Whether the system reads both channels of a two-channel clip as two inputs (`channels = "both"`: each
    /// front end's features of the left and the right channel stacked along the rows, `[2 · rows, cols]`).
    /// Default `false`: the setting is refused.
    fn reads_two_channels(&self) -> bool {
        false
    }

    /// The front ends of the inputs the system reads from each clip, in the order [`TrainJob::inputs`] and
    /// [`EmbedJob::inputs`] hold them (e.g. `[config.features]`, or the log-Mel and the waveform).
    fn inputs(&self, config: &RunConfig) -> Vec<FeatureSpec> {
        vec![config.features.clone()]
    }

    /// One input example in words, for `asd info` (e.g. `"spectrum of a 2-s segment [16001]"`).
    ///
    /// # Errors
    /// An invalid `[model]` table.
    fn describe_input(&self, config: &RunConfig) -> Result<String>;

    /// Checks the system's settings (front end, `[model]` table, loss) and that the network's input size is what
    /// the front end gives for clips of `config.clip_seconds`. The facade checks everything else.
    ///
    /// # Errors
    /// [`Error::Setting`] naming the setting.
    fn check(&self, config: &RunConfig) -> Result<()>;

    /// Examples the network embeds per clip of `config.clip_seconds`: 1 (the default) for a whole-clip model, the
    /// segment count for a segment model. Before training, the facade checks with it that every scorer can be
    /// fitted on each group's training examples.
    ///
    /// # Errors
    /// An invalid front end.
    fn examples_per_clip(&self, config: &RunConfig) -> Result<usize> {
        let _ = config;
        Ok(1)
    }

    /// Makes the network's input size follow the clip length where it depends on it (frame counts, samples),
    /// for the quick recipe's shorter clips. Default: nothing depends on it.
    ///
    /// # Errors
    /// An invalid `[model]` table.
    fn fit_clip_length(&self, config: &mut RunConfig) -> Result<()> {
        let _ = config;
        Ok(())
    }

    /// Where the preset's classes come from ([`RunConfig::classes`]): by default machine type × ID / section, the
    /// seeds' classes.
    fn classes(&self) -> crate::config::ClassSource {
        crate::config::ClassSource::TypeGroup
    }

    /// The class map of the training clips: by default what `config.classes` says of `job.train`. A system that
    /// computes its classes from the audio (pseudo labels) or trains on supplemental clips overrides this and
    /// returns an [`asd_data::ClassMap::from_listed`] map holding every clip of `job.train` and
    /// `job.supplemental`; listing the `test` clips as well gives them PROB scores.
    ///
    /// # Errors
    /// Fewer than two classes, or a label source that cannot be used (named).
    fn class_map(&self, job: &LabelJob<'_>) -> Result<asd_data::ClassMap> {
        job.config.classes.class_map(job.train)
    }

    /// The training-only clips the system takes from a DCASE 2025 dataset's supplemental folders (`clips`), as
    /// training clips with the attribute strings of their classes ([`asd_data::SupplementalClip::training_clip`]),
    /// one per entry of `clips` or none. They are trained on ([`TrainJob::supplemental`]) but never scored nor fitted
    /// by a scorer. Default: none.
    fn supplemental(&self, config: &RunConfig, clips: &[asd_data::SupplementalClip]) -> Vec<asd_data::Clip> {
        let _ = (config, clips);
        Vec::new()
    }

    /// Sets the class count of the `[model]` table (default: its `n_classes` key).
    fn set_classes(&self, model: &mut toml::Table, n_classes: usize) {
        model.insert("n_classes".into(), toml::Value::Integer(n_classes as i64));
    }

    /// Sets the `[model]` settings of `config` that a checkpoint of the system's reference PyTorch implementation
    /// fixes (class count, MobileFaceNet variant, head), read from its tensors' names and shapes
    /// ([`asd_models::weights::tensor_shapes`]), for `asd import`. Default: the system imports no weights.
    ///
    /// # Errors
    /// [`Error::Setting`] naming the setting the tensors contradict, or saying the system imports no weights.
    fn settings_from_weights(&self, config: &mut RunConfig, tensors: &[(String, Vec<usize>)]) -> Result<()> {
        let _ = (config, tensors);
        Err(Error::Setting {
            field: "system".into(),
            reason: format!(
                "system {} has no reference PyTorch implementation to import weights from",
                self.name()
            ),
        })
    }

    /// Builds the network of `config` with fresh weights on `device` (the caller seeds the device).
    ///
    /// # Errors
    /// An invalid `[model]` table.
    fn build(&self, config: &RunConfig, device: &Device) -> Result<Box<dyn Network>>;
}

/// A handle to a system: copyable, compared by name, written as its name in TOML and on the command line.
#[derive(Clone, Copy)]
pub struct System(&'static dyn SystemDef);

/// The built-in systems, in the order of [`System::all`].
const BUILTIN: [System; 10] = [
    System::ASDNET,
    System::SPECMFN,
    System::LOGMEL_MFN,
    System::STGRAM_MFN,
    System::NERI_ATTENTION,
    System::OS_SCL_LOGMEL,
    System::OS_SCL_TFSTGRAM,
    System::DCASE_AE,
    System::FIRSTSHOT2025,
    System::RAW_LOGMEL,
];

/// Systems added by [`System::register`].
static REGISTERED: Mutex<Vec<System>> = Mutex::new(Vec::new());

impl System {
    /// ASDNet (Kong et al. 2025, seed 000): Conv1d layers on the magnitude spectrum of 2-s segments, ArcFace.
    pub const ASDNET: System = System(&asdnet::AsdNet);
    /// SpecMFN (seed 000): SpecNet's Conv1d layers shape the spectrum into an image for MobileFaceNet, ArcFace.
    pub const SPECMFN: System = System(&specmfn::SpecMfn);
    /// LogMel-MFN (Liu et al. 2022, seed 004 §3.3): MobileFaceNet on the 10-s log-Mel, Linear ("CEE") head.
    pub const LOGMEL_MFN: System = System(&logmel_mfn::LogMelMfn);
    /// STgram-MFN (seed 004): log-Mel and TgramNet's learnable Tgram stacked into MobileFaceNet, ArcFace.
    pub const STGRAM_MFN: System = System(&stgram_mfn::StgramMfn);
    /// The attention + separable-convolution net (Neri & Carli 2024, seed 001): log-Mel and a learned Wavegram
    /// weighted by an attention map, MobileFaceNet B, ArcFace; Noisy-ArcMix on waveforms.
    pub const NERI_ATTENTION: System = System(&neri_attention::NeriAttention);
    /// Log-Mel(OS-SCL) (Huang et al. 2025, seed 002): MobileFaceNet B on the log-Mel, the feature-perturbation head
    /// (LeakyReLU), ArcFace m 0.7; Noisy-ArcMix + noisy supervised contrastive loss, EMA, validation selection.
    pub const OS_SCL_LOGMEL: System = System(&os_scl::LOGMEL);
    /// TFSTgram(OS-SCL) (seed 002): MobileFaceNet B on [log-Mel, Tgram, TFgram], the feature-perturbation head (ReLU),
    /// ArcFace m 0.4; trained as [`System::OS_SCL_LOGMEL`].
    pub const OS_SCL_TFSTGRAM: System = System(&os_scl::TFSTGRAM);
    /// The DCASE 2023–2026 Task 2 autoencoder baseline (docs/dcase_ae.md): one MLP autoencoder per machine type on
    /// vectors of 5 stacked log-Mel frames; scored by the mean squared error and the selective Mahalanobis distance.
    pub const DCASE_AE: System = System(&dcase_ae::DcaseAe);
    /// The DCASE 2025 first-shot system (Chu & Qian, seed 003): pseudo attribute labels, SE-ResNet18 with two AdaCos
    /// heads and Wilkinghoff's mixup / StatEx / FeatEx, supplemental and simulated classes, a domain-wise kNN.
    pub const FIRSTSHOT2025: System = System(&firstshot2025::FirstShot2025);
    /// No network: the mean and standard deviation over time of each log-Mel band (a training-free baseline).
    pub const RAW_LOGMEL: System = System(&raw_logmel::RawLogMel);

    /// A handle to a system defined outside this crate.
    pub const fn new(def: &'static dyn SystemDef) -> System {
        System(def)
    }

    /// The system's definition.
    pub fn def(self) -> &'static dyn SystemDef {
        self.0
    }

    /// The name used on the command line and in `config.toml`.
    pub fn name(self) -> &'static str {
        self.0.name()
    }

    /// The paper the system comes from, as cited in the docs.
    pub fn source(self) -> &'static str {
        self.0.source()
    }

    /// Every system: the built-in ones, then those registered, in registration order.
    pub fn all() -> Vec<System> {
        let registered = REGISTERED.lock().map(|r| r.clone()).unwrap_or_default();
        BUILTIN.into_iter().chain(registered).collect()
    }

    /// The names of [`all`](Self::all), joined with ` | ` (for help texts).
    pub fn names() -> String {
        Self::all().iter().map(|s| s.name()).collect::<Vec<_>>().join(" | ")
    }

    /// The system called `name`.
    ///
    /// # Errors
    /// [`Error::Setting`] (`system`) listing the known names.
    pub fn from_name(name: &str) -> Result<System> {
        Self::all()
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| Error::Setting {
                field: "system".into(),
                reason: format!("unknown system `{name}` (known: {})", Self::names()),
            })
    }

    /// Adds a system to [`all`](Self::all), so that configuration files and run folders can name it.
    ///
    /// # Errors
    /// [`Error::Setting`] (`system`) when another system has the same name.
    pub fn register(system: System) -> Result<()> {
        let mut registered = REGISTERED.lock().map_err(|_| Error::Setting {
            field: "system".into(),
            reason: "the system registry is poisoned".into(),
        })?;
        match BUILTIN
            .iter()
            .chain(registered.iter())
            .find(|s| s.name() == system.name())
        {
            Some(other) if std::ptr::addr_eq(other.0, system.0) => Ok(()),
            Some(_) => Err(Error::Setting {
                field: "system".into(),
                reason: format!("a system named `{}` exists already", system.name()),
            }),
            None => {
                registered.push(system);
                Ok(())
            }
        }
    }
}

impl Default for System {
    fn default() -> Self {
        System::ASDNET
    }
}

impl PartialEq for System {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

impl Eq for System {}

impl std::hash::Hash for System {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name().hash(state);
    }
}

impl std::fmt::Debug for System {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "System({})", self.name())
    }
}

impl std::fmt::Display for System {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for System {
    type Err = Error;
    fn from_str(name: &str) -> Result<System> {
        System::from_name(name)
    }
}

impl Serialize for System {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for System {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<System, D::Error> {
        let name = String::deserialize(deserializer)?;
        System::from_name(&name).map_err(serde::de::Error::custom)
    }
}

/// The `[model]` table of `config` parsed as the system's network settings `C`: its `kind` must be the system's
/// name, and every key must be one of `C`'s (an unknown key is refused, naming it).
///
/// # Errors
/// [`Error::Setting`] (`model`, or `model.<key>`) naming what is missing, foreign or unknown.
pub fn model_config<C: Serialize + serde::de::DeserializeOwned>(config: &RunConfig) -> Result<C> {
    let system = config.system.name();
    let setting = |field: &str, reason: String| Error::Setting {
        field: field.into(),
        reason,
    };
    let mut table = config
        .model
        .clone()
        .ok_or_else(|| setting("model", format!("system {system} needs a [model] table")))?;
    match table.remove("kind") {
        Some(toml::Value::String(kind)) if kind == system => {}
        Some(kind) => {
            return Err(setting(
                "model.kind",
                format!("the [model] table is for {kind} but the system is {system}"),
            ));
        }
        None => return Err(setting("model.kind", format!("missing; it must be \"{system}\""))),
    }
    let unknown = |key: &str| {
        setting(
            &format!("model.{key}"),
            format!("unknown setting of {system}'s network"),
        )
    };
    let parsed = match C::deserialize(toml::Value::Table(table.clone())) {
        Ok(parsed) => parsed,
        // An extra key inside a tagged table (`head = { ArcFace = { …, typo = 1 } }`) fails the parse itself:
        // name the key whose removal makes the table parse, when the parsed settings have no such key (a known key
        // of the wrong type keeps the parser's message).
        Err(e) => {
            let is_culprit = |path: &Vec<String>| {
                C::deserialize(toml::Value::Table(without(&table, path)))
                    .ok()
                    .and_then(|parsed| toml::Table::try_from(&parsed).ok())
                    .is_some_and(|known| !key_paths(&known).contains(path))
            };
            let culprit = key_paths(&table).into_iter().find(is_culprit);
            return Err(culprit.map_or_else(|| setting("model", e.message().to_string()), |p| unknown(&p.join("."))));
        }
    };
    let known = toml::Table::try_from(&parsed).map_err(|e| setting("model", e.to_string()))?;
    let known_paths = key_paths(&known);
    match key_paths(&table).into_iter().find(|path| !known_paths.contains(path)) {
        Some(path) => Err(unknown(&path.join("."))),
        None => Ok(parsed),
    }
}

/// The path of every key of `table`, nested tables' keys included (`["head", "ArcFace", "scale"]`).
fn key_paths(table: &toml::Table) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    for (key, value) in table {
        paths.push(vec![key.clone()]);
        if let toml::Value::Table(inner) = value {
            paths.extend(key_paths(inner).into_iter().map(|p| [vec![key.clone()], p].concat()));
        }
    }
    paths
}

/// `table` without the key at `path`.
fn without(table: &toml::Table, path: &[String]) -> toml::Table {
    let mut table = table.clone();
    match path {
        [] => {}
        [key] => {
            table.remove(key);
        }
        [key, rest @ ..] => {
            if let Some(toml::Value::Table(inner)) = table.get(key) {
                let inner = without(inner, rest);
                table.insert(key.clone(), toml::Value::Table(inner));
            }
        }
    }
    table
}

/// Checks that `config.features.kind` is one of `kinds` (the first is named in the message).
///
/// # Errors
/// [`Error::Setting`] (`features.kind`) when it is not.
pub fn require_features(config: &RunConfig, kinds: &[asd_features::FeatureKind]) -> Result<()> {
    if kinds.contains(&config.features.kind) {
        return Ok(());
    }
    Err(Error::Setting {
        field: "features.kind".into(),
        reason: format!(
            "system {} needs \"{}\", got \"{}\"",
            config.system,
            kinds.first().map_or("", |k| k.name()),
            config.features.kind.name()
        ),
    })
}

/// `settings` as a `[model]` table of `system` (with `kind`).
///
/// # Errors
/// [`Error::Setting`] (`model`) if the settings do not serialise to a table.
pub fn model_table<C: Serialize>(system: &str, settings: &C) -> Result<toml::Table> {
    let mut table = toml::Table::try_from(settings).map_err(|e| Error::Setting {
        field: "model".into(),
        reason: e.to_string(),
    })?;
    table.insert("kind".into(), toml::Value::String(system.into()));
    Ok(table)
}

/// What `asd info` reports about a system's network.
#[derive(Clone, Debug, Serialize)]
pub struct SystemInfo {
    /// The system's name.
    pub system: String,
    /// Where it comes from.
    pub source: String,
    /// One input example, in words (e.g. `"2-s segment spectrum [16001]"`).
    pub input: String,
    /// Trainable parameters (decisions.md §9: front end, backbone, embedding and classification head).
    pub params: usize,
    /// Parameters as the paper counts them.
    pub params_paper: usize,
    /// Multiply-accumulates (conv + linear) per input example.
    pub macs: u64,
    /// The layer table, in forward order.
    pub layers: Vec<LayerInfo>,
    /// Where the counts differ from the paper's, and why ([`SystemDef::count_notes`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// One row of [`SystemInfo::layers`].
#[derive(Clone, Debug, Serialize)]
pub struct LayerInfo {
    /// Field path of the layer (as in weight files).
    pub name: String,
    /// Output shape of one example, without the batch axis.
    pub output_shape: Vec<usize>,
    /// Parameters of the layer.
    pub params: usize,
    /// MACs of the layer per example.
    pub macs: u64,
    /// `network`, `head` or `reference-only` (built by the reference but unused: counted only in `params_paper`).
    pub role: String,
}

/// Counts and layer table of `system`'s paper network (the recipe's class count), built on the CPU.
///
/// # Errors
/// [`Error::Setting`] (`system`) for a training-free system.
pub fn info(system: System) -> Result<SystemInfo> {
    if !system.def().trains() {
        return Err(Error::Setting {
            field: "system".into(),
            reason: format!("system {system} has no network to describe"),
        });
    }
    let config = RunConfig::preset(system);
    let network = system.def().build(&config, &Device::flex())?;
    let count = network.count();
    let layers = network
        .layers()
        .into_iter()
        .map(|row| LayerInfo {
            name: row.name,
            output_shape: row.output_shape,
            params: row.count.params,
            macs: row.count.macs,
            role: match row.role {
                asd_models::count::LayerRole::Network => "network",
                asd_models::count::LayerRole::Head => "head",
                asd_models::count::LayerRole::ReferenceOnly => "reference-only",
            }
            .into(),
        })
        .collect();
    Ok(SystemInfo {
        system: system.name().into(),
        source: system.source().into(),
        input: system.def().describe_input(&config)?,
        params: count.params,
        params_paper: count.params_paper,
        macs: count.macs,
        layers,
        notes: system.def().count_notes(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Criterion: decisions.md §9 — params / params_paper / MACs of each preset, exact integers.
    #[test]
    fn info_gives_the_decided_counts() {
        let expected = [
            (System::ASDNET, 515_456, 510_208, 85_695_744),
            (System::SPECMFN, 1_052_288, 1_052_329, 184_037_376),
            (System::LOGMEL_MFN, 1_064_105, 1_064_105, 704_717_952),
            (System::STGRAM_MFN, 1_345_046, 1_350_335, 797_684_864),
            // os_scl.md §7–8: the spec's MACs less the dead fc_out's 5 248, which ours does not run.
            (System::OS_SCL_LOGMEL, 891_968, 897_257, 692_651_136),
            (System::OS_SCL_TFSTGRAM, 1_372_246, 1_377_535, 2_251_728_000),
            // docs/dcase_ae.md §1: one type's autoencoder; MACs per 640-value vector.
            (System::DCASE_AE, 267_928, 267_928, 264_192),
            // firstshot2025.md §7: SE-ResNet18 on the 128 × 313 log-Mel; the preset's 3 classes give the
            // self-supervised head 256 × 27 trainable centres, which the paper's count leaves out.
            (System::FIRSTSHOT2025, 11_389_376 + 256 * 27, 11_389_376, 1_411_130_368),
        ];
        for (system, params, params_paper, macs) in expected {
            let info = info(system).unwrap();
            assert_eq!(
                (info.params, info.params_paper, info.macs),
                (params, params_paper, macs),
                "{system}"
            );
            let sum: usize = info
                .layers
                .iter()
                .filter(|l| l.role != "reference-only")
                .map(|l| l.params)
                .sum();
            assert_eq!(sum, params, "{system}: the layer table adds up");
        }
        let notes = info(System::OS_SCL_LOGMEL).unwrap().notes.join(" ");
        assert!(notes.contains("0.88 M") && notes.contains("fc_out"), "{notes}");
        assert!(matches!(info(System::RAW_LOGMEL), Err(Error::Setting { .. })));
    }

    /// Criterion: every system's name parses back to it, names are unique, and a preset's `[model]` table reads
    /// back as the system's own; an unknown key or another system's table is refused, naming the key.
    #[test]
    fn names_and_model_tables_round_trip() {
        let all = System::all();
        for system in &all {
            assert_eq!(System::from_name(system.name()).unwrap(), *system);
            assert_eq!(all.iter().filter(|s| s.name() == system.name()).count(), 1);
            let preset = RunConfig::preset(*system);
            assert!(preset.check().is_ok(), "{system}");
            let text = toml::to_string(&preset).unwrap();
            assert_eq!(RunConfig::from_toml(&text).unwrap(), preset, "{system}");
        }
        assert!(System::from_name("nope").is_err());
        let mut config = RunConfig::preset(System::ASDNET);
        if let Some(model) = &mut config.model {
            model.insert("n_clases".into(), toml::Value::Integer(3));
        }
        let err = config.check().unwrap_err();
        assert!(err.to_string().contains("model.n_clases"), "{err}");
        // A known key of the wrong type is not called unknown.
        let mut config = RunConfig::preset(System::ASDNET);
        if let Some(model) = &mut config.model {
            model.insert("n_classes".into(), toml::Value::String("many".into()));
        }
        let err = config.check().unwrap_err().to_string();
        assert!(!err.contains("unknown setting"), "{err}");
        // A size setting that would give billions of parameters is refused before any weight is drawn.
        for system in [System::ASDNET, System::STGRAM_MFN, System::DCASE_AE] {
            let mut huge = RunConfig::preset(system);
            if let Some(model) = &mut huge.model {
                model.insert("n_classes".into(), toml::Value::Integer(1 << 31));
            }
            let device = asd_models::burn::tensor::Device::flex();
            let err = system.def().build(&huge, &device).err().expect("2^31 classes");
            assert!(err.to_string().contains("parameters"), "{system}: {err}");
        }
        let mut foreign = RunConfig::preset(System::ASDNET);
        foreign.model = RunConfig::preset(System::SPECMFN).model;
        assert!(foreign.check().is_err());
    }
}

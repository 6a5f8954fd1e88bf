//! The run configuration ([`RunConfig`], saved as `RUN/config.toml`): each system's preset, TOML parsing that
//! takes every left-out setting from the preset, the checks made before any decoding or training, and the quick
//! recipe of the built-in benchmark.

use crate::scoring::ScoringConfig;
use crate::system::System;
use crate::{Error, Result};
use asd_audio::ChannelPolicy;
use asd_data::{ClassMap, ClassScheme, Clip};
use asd_features::FeatureSpec;
use asd_losses::LossConfig;
use asd_train::{Schedule, TrainConfig};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Clip length of every DCASE 2020 reference system, seconds (dcase_protocols.md §1.3: clips are cropped to
/// their first 10 s).
pub const DEFAULT_CLIP_SECONDS: f32 = 10.0;
/// Longest clip length a run accepts, seconds: DCASE clips last 6 to 16 s, and a clip of this length is already
/// 9.6 M samples per clip in every feature cache. A documented limit of `asd` (issue 17), not a paper's number.
pub const MAX_CLIP_SECONDS: f32 = 600.0;
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

/// Where the training classes come from (`classes` in `config.toml`).
///
/// TOML: `classes = "type"`, `classes = "type_group"`, `classes = "type_group_domain_attribute"` or `classes = { file = "labels.csv" }`.
/// A system may instead compute its classes from the clips (pseudo labels) through
/// [`SystemDef::class_map`](crate::system::SystemDef::class_map).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassSource {
    /// Machine type alone: one model per type (the DCASE autoencoder baseline, `dcase-ae`); one type is enough.
    Type,
    /// Machine type × ID (DCASE 2020) or machine type × section (2021+): the seeds' classes.
    #[default]
    TypeGroup,
    /// Machine type × section × domain × attributes (DCASE 2023+ systems).
    TypeGroupDomainAttribute,
    /// A label file: one `clip,class` line per training clip, `clip` being `type/split/file`
    /// ([`asd_data::clip_key`]); test clips listed too get PROB scores.
    File(PathBuf),
}

impl ClassSource {
    /// The class map of the training clips `train`.
    ///
    /// # Errors
    /// Fewer classes than the scheme needs; a label file that cannot be read or parsed (named).
    pub fn class_map(&self, train: &[Clip]) -> Result<ClassMap> {
        Ok(match self {
            ClassSource::Type => ClassMap::from_clips(ClassScheme::Type, train)?,
            ClassSource::TypeGroup => ClassMap::from_clips(ClassScheme::TypeGroup, train)?,
            ClassSource::TypeGroupDomainAttribute => {
                ClassMap::from_clips(ClassScheme::TypeGroupDomainAttribute, train)?
            }
            ClassSource::File(path) => ClassMap::from_listed(asd_data::read_labels(path)?, path)?,
        })
    }
}

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
    /// Which system ([`System::all`]).
    pub system: System,
    /// The network's main input front end (a system may read more inputs, e.g. STgram-MFN's waveform).
    pub features: FeatureSpec,
    /// Clip length, seconds: longer clips are cropped to their start, shorter ones repeat-padded
    /// (decisions.md §11).
    pub clip_seconds: f32,
    /// Which channels of a clip are read: `mean`, `left`, `right` or `both` (two inputs; only systems that
    /// [read two channels](crate::SystemDef::reads_two_channels)). Left out, training decides from the data and
    /// writes its choice into the run's `config.toml`: `left` for a tree of two-channel clips (DCASE 2026: the near
    /// microphone, as its official baseline reads), `mean` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<ChannelPolicy>,
    /// Training-free system only: how feature frames are summarised into an embedding.
    pub pooling: Pooling,
    /// Where the training classes come from ([`ClassSource`]): machine type × ID / section (the default), type ×
    /// section × domain × attributes, or a label file. The run folder keeps the class map (`classes.json`).
    pub classes: ClassSource,
    /// The network's settings, tagged by `kind` (the system's name); absent for a training-free system. Its
    /// class count is set from the data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<toml::Table>,
    /// How the network is trained.
    pub train: TrainConfig,
    /// The loss of the system's training step, tagged by `kind`.
    pub loss: LossConfig,
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
    /// Equal when they serialise to the same TOML.
    fn eq(&self, other: &Self) -> bool {
        toml::to_string(self).ok() == toml::to_string(other).ok()
    }
}

impl RunConfig {
    /// The paper's settings of `system` (its [`Recipe`](crate::system::Recipe); decisions.md §10, the systems'
    /// specs):
    ///
    /// | system | input | training | scorers (first = headline) |
    /// |---|---|---|---|
    /// | asdnet, specmfn | `|rfft|` of five 2-s segments per 10-s clip | Adam 1e-4, cosine to 1e-5 over 300 epochs, batch 64, mixup α 0.5 + ArcMix | K-Means, PROB, COS, GMM, LOF (seed 000 Table 4), mean segment score |
    /// | logmel-mfn, stgram-mfn | torchaudio log-Mel 128 × 313 of the 10-s clip (+ waveform) | Adam 1e-4, 200 epochs, batch 128, constant 20 epochs then cosine to 1e-5, no mixup | PROB (seed 004) |
    /// | raw-logmel | that log-Mel, mean and std per band | none | KNN |
    pub fn preset(system: System) -> RunConfig {
        let recipe = system.def().recipe();
        RunConfig {
            system,
            features: recipe.features,
            clip_seconds: DEFAULT_CLIP_SECONDS,
            channels: None,
            pooling: Pooling::default(),
            classes: system.def().classes(),
            model: recipe.model,
            train: recipe.train,
            loss: recipe.loss,
            scoring: ScoringConfig {
                pool: system.def().paper_pool(),
                threshold: system.def().threshold(),
                ..ScoringConfig::many(recipe.scorers)
            },
            seed: 0,
        }
    }

    /// Checks every setting before any decoding or training.
    ///
    /// # Errors
    /// [`Error::Setting`] naming the setting for a non-positive clip length, a `[model]` table that does not
    /// belong to the system or does not fit the front end, a front end the system cannot use, or a scorer it
    /// cannot feed; [`Error::Features`], [`Error::Scorers`], [`Error::Models`], [`Error::Train`] for bad settings of
    /// those stages.
    pub fn check(&self) -> Result<()> {
        self.features.build()?;
        if !(self.clip_seconds > 0.0 && self.clip_seconds <= MAX_CLIP_SECONDS) {
            return Err(Error::Setting {
                field: "clip_seconds".into(),
                reason: format!("must be in (0, {MAX_CLIP_SECONDS}] seconds, got {}", self.clip_seconds),
            });
        }
        let system = self.system.def();
        if self.channels == Some(ChannelPolicy::Both) && !system.reads_two_channels() {
            return Err(Error::Setting {
                field: "channels".into(),
                reason: format!(
                    "system {} reads one channel; \"both\" needs a system that reads two (raw-logmel); use left, \
                     right or mean",
                    self.system
                ),
            });
        }
        system.check(self)?;
        if system.trains() {
            self.train.check()?;
            let expected = system.recipe().loss.kind();
            if self.loss.kind() != expected {
                return Err(Error::Setting {
                    field: "loss.kind".into(),
                    reason: format!(
                        "system {} trains with the {expected} loss, not {}",
                        self.system,
                        self.loss.kind()
                    ),
                });
            }
            self.loss.check().map_err(|e| match e {
                asd_losses::Error::Config { field, reason } => Error::Setting {
                    field: format!("loss.{field}"),
                    reason,
                },
                other => Error::Setting {
                    field: "loss".into(),
                    reason: other.to_string(),
                },
            })?;
        }
        if self.scoring.select_by_test_auc && !(system.trains() && self.train.snapshot_every.is_some()) {
            return Err(Error::Setting {
                field: "scoring.select_by_test_auc".into(),
                reason: "choosing among snapshots needs a trained system and train.snapshot_every (the attention \
                         net's reference keeps one every 20 epochs)"
                    .into(),
            });
        }
        self.scoring.check(system.has_logits(), self.system.name())
    }

    /// Clip length in samples at 16 kHz.
    pub fn clip_samples(&self) -> usize {
        (self.clip_seconds * asd_audio::TARGET_SAMPLE_RATE as f32).round() as usize
    }

    /// How each clip is read: the channels ([`RunConfig::channels`], the mean when not decided), then cropped or
    /// repeat-padded to [`RunConfig::clip_samples`].
    pub fn clip_policy(&self) -> asd_data::LengthPolicy {
        asd_data::LengthPolicy::new(self.clip_samples()).with_channels(self.channels.unwrap_or_default())
    }

    /// Decides [`RunConfig::channels`] from the data when it is left out: `left` when the first of `clips` has two
    /// channels (a DCASE 2026 tree), `mean` otherwise.
    ///
    /// # Errors
    /// [`Error::Audio`] naming the clip when its header cannot be read.
    pub fn decide_channels(&mut self, clips: &[Clip]) -> Result<()> {
        if self.channels.is_none() {
            let two = match clips.first() {
                Some(clip) => asd_audio::probe(&clip.path)?.channels == 2,
                None => false,
            };
            self.channels = Some(if two { ChannelPolicy::Left } else { ChannelPolicy::Mean });
        }
        Ok(())
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
    /// [`Error::Toml`] for invalid TOML; [`Error::Setting`] for an unknown system or setting, or a value of the
    /// wrong type.
    pub fn from_toml(text: &str) -> Result<RunConfig> {
        let user: toml::Table = toml::from_str(text).map_err(|e| Error::Toml {
            path: None,
            reason: e.message().to_string(),
        })?;
        let setting = |reason: String| Error::Setting {
            field: "config".into(),
            reason,
        };
        let system = match user.get("system") {
            Some(toml::Value::String(name)) => System::from_name(name)?,
            Some(other) => {
                return Err(Error::Setting {
                    field: "system".into(),
                    reason: format!("must be a system name, got {other}"),
                });
            }
            None => System::default(),
        };
        let preset = toml::Table::try_from(RunConfig::preset(system)).map_err(|e| setting(e.to_string()))?;
        let merged = merge_tables(preset, user);
        RunConfig::deserialize(merged).map_err(|e| setting(e.message().to_string()))
    }

    /// The quick recipe for the [`quick_benchmark`]: its clip length and, for systems with a network,
    /// [`QUICK_EPOCHS`] epochs (the cosine period shortened with them) at learning rate [`QUICK_LR`]; the network's
    /// input size follows the 4-s clips where it depends on them ([`SystemDef::fit_clip_length`](
    /// crate::system::SystemDef::fit_clip_length): the MobileFaceNets' frame count, TgramNet's samples).
    ///
    /// # Errors
    /// An invalid `[model]` table.
    pub fn quick(mut self) -> Result<RunConfig> {
        self.clip_seconds = QUICK_SECONDS;
        let system = self.system.def();
        system.fit_clip_length(&mut self)?;
        if system.trains() {
            self = self.with_epochs(QUICK_EPOCHS);
            let (asd_train::OptimizerConfig::Adam { lr, .. } | asd_train::OptimizerConfig::AdamW { lr, .. }) =
                &mut self.train.optimizer;
            *lr = QUICK_LR;
        }
        Ok(self)
    }

    /// Reads a configuration file ([`RunConfig::from_toml`]).
    ///
    /// # Errors
    /// [`Error::Io`] naming the file when it cannot be read; [`Error::ConfigFile`] naming it and wrapping what
    /// [`RunConfig::from_toml`] found.
    pub fn load(path: &Path) -> Result<RunConfig> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.into(),
            source,
        })?;
        Self::from_toml(&text).map_err(|e| match e {
            Error::Toml { reason, .. } => Error::Toml {
                path: Some(path.into()),
                reason,
            },
            other => Error::ConfigFile {
                path: path.into(),
                source: Box::new(other),
            },
        })
    }

    /// Writes the configuration as TOML to `path`.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file.
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = toml::to_string_pretty(self).map_err(|e| Error::Io {
            path: path.into(),
            source: std::io::Error::other(e),
        })?;
        crate::run_folder::write_file(path, text.as_bytes())
    }
}

/// `over` laid onto `base`: tables merge key by key (recursively), any other value of `over` replaces `base`'s.
/// A table whose `kind` tag changes (another optimiser, schedule, loss or network) is replaced whole.
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every table of `table` (itself, nested tables, tables inside arrays), each as the path to it.
    fn table_paths(table: &toml::Table, at: Vec<String>, out: &mut Vec<Vec<String>>) {
        out.push(at.clone());
        for (key, value) in table {
            match value {
                toml::Value::Table(t) => table_paths(t, [at.clone(), vec![key.clone()]].concat(), out),
                toml::Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        if let toml::Value::Table(t) = item {
                            table_paths(t, [at.clone(), vec![key.clone(), i.to_string()]].concat(), out);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn table_at<'a>(table: &'a mut toml::Table, path: &[String]) -> &'a mut toml::Table {
        let Some((first, rest)) = path.split_first() else {
            return table;
        };
        let next = match table.get_mut(first) {
            Some(toml::Value::Table(t)) => t,
            Some(toml::Value::Array(items)) => {
                let (index, rest) = rest.split_first().expect("an index after an array");
                match &mut items[index.parse::<usize>().expect("index")] {
                    toml::Value::Table(t) => return table_at(t, rest),
                    other => panic!("{other} is not a table"),
                }
            }
            other => panic!("{other:?} is not a table"),
        };
        table_at(next, rest)
    }

    /// Criterion (issue 17): in every system's full configuration, a misspelt key in any table (the top level,
    /// `[features]`, `[train]` and its optimiser and schedule, `[loss]`, `[model]`, each scorer of `[scoring]`, …)
    /// is refused, naming the key, when the file is read or checked; none is silently ignored.
    #[test]
    fn an_unknown_key_in_any_table_is_refused() {
        for system in System::all() {
            let full = toml::Table::try_from(RunConfig::preset(system)).expect("preset as TOML");
            let mut paths = Vec::new();
            table_paths(&full, Vec::new(), &mut paths);
            assert!(paths.len() >= 5, "{system}: {paths:?}");
            for path in paths {
                let mut edited = full.clone();
                table_at(&mut edited, &path).insert("n_clases".into(), toml::Value::Integer(3));
                let text = toml::to_string(&edited).expect("TOML");
                let result = RunConfig::from_toml(&text).and_then(|c| c.check());
                let err = result.expect_err(&format!(
                    "{system}: an unknown key in [{}] was accepted",
                    path.join(".")
                ));
                assert!(
                    err.to_string().contains("n_clases"),
                    "{system} [{}]: {err}",
                    path.join(".")
                );
            }
        }
    }

    /// Criterion: a loss of another kind than the system's is refused by `check`, naming `loss.kind` (the
    /// autoencoder with a margin loss, a margin system with the reconstruction loss).
    #[test]
    fn a_loss_of_another_kind_is_refused() {
        for (system, loss) in [
            (System::DCASE_AE, asd_losses::LossConfig::default()),
            (System::ASDNET, asd_losses::LossConfig::reconstruction()),
        ] {
            let config = RunConfig {
                loss,
                ..RunConfig::preset(system)
            };
            match config.check() {
                Err(Error::Setting { field, .. }) => assert_eq!(field, "loss.kind", "{system}"),
                other => panic!("{system}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_partial_file_takes_the_rest_from_its_systems_preset() {
        let config = RunConfig::from_toml(
            "system = \"stgram-mfn\"\n[train]\nepochs = 20\n[train.optimizer]\nlr = 0.001\n[model]\nn_classes = 7\n",
        )
        .unwrap();
        let preset = RunConfig::preset(System::STGRAM_MFN);
        assert_eq!(config.system, System::STGRAM_MFN);
        assert_eq!(config.train.epochs, 20);
        assert_eq!(config.train.optimizer.lr(), 1e-3);
        assert_eq!(config.train.batch_size, preset.train.batch_size);
        assert_eq!(config.features, preset.features);
        let n_classes = config
            .model
            .as_ref()
            .and_then(|m| m.get("n_classes"))
            .and_then(toml::Value::as_integer);
        assert_eq!(n_classes, Some(7));
        assert!(config.check().is_ok());
        // Every preset reads back as itself, and an empty file is the default system's preset.
        for system in System::all() {
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
        assert!(matches!(RunConfig::from_toml("system = "), Err(Error::Toml { .. })));
    }

    /// Criterion (issue 17): a clip length that is not positive, not finite or beyond [`MAX_CLIP_SECONDS`] (`1e6`
    /// aborted `asd run` when the caches were sized) is a setting error naming `clip_seconds`, found by `check`.
    #[test]
    fn clip_lengths_are_bounded() {
        for seconds in [0.0, -1.0, f32::NAN, f32::INFINITY, 1e6, MAX_CLIP_SECONDS + 1.0] {
            let config = RunConfig {
                clip_seconds: seconds,
                ..RunConfig::preset(System::RAW_LOGMEL)
            };
            match config.check() {
                Err(Error::Setting { field, .. }) => assert_eq!(field, "clip_seconds", "{seconds}"),
                other => panic!("{seconds}: {other:?}"),
            }
        }
        let longest = RunConfig {
            clip_seconds: MAX_CLIP_SECONDS,
            ..RunConfig::preset(System::RAW_LOGMEL)
        };
        assert!(longest.check().is_ok());
    }

    #[test]
    fn with_epochs_keeps_a_full_cosine_period() {
        let config = RunConfig::preset(System::ASDNET).with_epochs(10);
        assert_eq!(config.train.epochs, 10);
        assert!(matches!(config.train.schedule, Schedule::Cosine { t_max: 10, .. }));
    }
}

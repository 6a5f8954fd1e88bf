//! A trained detector: the network, front end, class map, fitted scorers and decision thresholds of a run folder,
//! loaded to score new audio with no access to the training data.
//!
//! [`crate::train`], [`crate::score`] and [`crate::run`] write the detector into the run folder:
//! `scorers/<name>.json` (each scorer fitted on every group's normal training examples,
//! [`asd_scorers::FittedScorer`]) and `detector.json` (the groups, each scorer's threshold per group and how it
//! was calibrated), beside `config.toml`, `classes.json` and `model.bpk`. A folder with those five is a complete
//! detector: copy it anywhere.
//!
//! ```no_run
//! # fn main() -> asd::Result<()> {
//! use asd::detector::Detector;
//! let detector = Detector::load("runs/fan".as_ref())?;
//! let wave = asd::audio::load_16k("new_clip.wav".as_ref())?;
//! let verdict = detector.score_in(&wave, &"fan/id_00".parse()?)?;
//! for s in &verdict.scores {
//!     println!("{}: {:.3} (threshold {:.3}) → {}", s.name, s.score, s.threshold, u8::from(s.anomalous));
//! }
//! # Ok(()) }
//! ```

use crate::config::RunConfig;
use crate::run_folder::{CLASSES_FILE, CONFIG_FILE, MODEL_FILE, create_dir, read_classes, write_file};
use crate::scoring::{CalibratedScorer, ClipPooling, ExampleOutputs, GroupThreshold, clip_scores, example_scores};
use crate::system::{EmbedJob, Network};
use crate::{Error, Result};
use asd_data::{ClassMap, Clip, Condition, FeatureCache, LengthPolicy, Split};
use asd_features::Frontend;
use asd_models::burn::tensor::Device;
use asd_scorers::{FittedScorer, Threshold};
use ndarray::{Array1, Array2, Array3, Axis};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// File name of the detector's manifest in a run folder.
pub const DETECTOR_FILE: &str = "detector.json";
/// Folder of the fitted scorers in a run folder.
pub const SCORERS_DIR: &str = "scorers";
/// Format name written into `detector.json`.
const DETECTOR_FORMAT: &str = "asd-detector";
/// Version of `detector.json`; bumped whenever its layout changes.
pub const DETECTOR_VERSION: u32 = 1;
/// The largest `detector.json` read (thresholds of thousands of groups are far below it).
const MAX_MANIFEST_BYTES: u64 = 64 << 20;

/// A scorer group: a machine type and its machine ID or section, written `fan/id_00`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct GroupName {
    /// Machine type, e.g. `fan`.
    pub machine_type: String,
    /// Group, e.g. `id_00` or `section_00`.
    pub group: String,
}

impl GroupName {
    /// The group of a clip.
    pub fn of(clip: &Clip) -> Self {
        Self {
            machine_type: clip.machine_type.clone(),
            group: clip.group.clone(),
        }
    }
}

impl std::fmt::Display for GroupName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.machine_type, self.group)
    }
}

impl std::str::FromStr for GroupName {
    type Err = Error;

    /// Parses `TYPE/GROUP`, e.g. `fan/id_00` or `ToyCar/section_01`.
    fn from_str(text: &str) -> Result<Self> {
        match text.split_once('/') {
            Some((machine_type, group)) if !machine_type.is_empty() && !group.is_empty() && !group.contains('/') => {
                Ok(Self {
                    machine_type: machine_type.to_string(),
                    group: group.to_string(),
                })
            }
            _ => Err(Error::Setting {
                field: "group".into(),
                reason: format!("`{text}` is not TYPE/GROUP (e.g. fan/id_00 or fan/section_00)"),
            }),
        }
    }
}

/// One scorer's entry of `detector.json`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScorerEntry {
    name: String,
    /// The scorer's file, relative to `scorers/`.
    file: String,
    /// Threshold per group, keyed `TYPE/GROUP`.
    thresholds: BTreeMap<String, GroupThreshold>,
}

/// `detector.json`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    format: String,
    version: u32,
    /// The scorer groups; a group's id in the scorer files is its index here.
    groups: Vec<GroupName>,
    clip_pooling: ClipPooling,
    threshold: Threshold,
    scorers: Vec<ScorerEntry>,
}

/// Writes the detector files of `calibrated` (fitted on the scorer groups `groups`, ids = indices) into the run
/// folder `out`: each scorer, then `detector.json` last, so a folder with a manifest has every scorer it names.
pub(crate) fn write_detector(
    out: &Path,
    groups: &[GroupName],
    clip_pooling: ClipPooling,
    threshold: Threshold,
    calibrated: &[CalibratedScorer],
) -> Result<()> {
    let dir = out.join(SCORERS_DIR);
    create_dir(&dir)?;
    let mut scorers = Vec::with_capacity(calibrated.len());
    for c in calibrated {
        let file = format!("{}.json", c.name);
        c.scorer.save(&dir.join(&file))?;
        let thresholds = c
            .thresholds
            .iter()
            .map(|(&id, t)| {
                let group = groups.get(id as usize).ok_or_else(|| {
                    Error::Mismatch(format!("scorer {}: group id {id} of {} groups", c.name, groups.len()))
                })?;
                Ok((group.to_string(), *t))
            })
            .collect::<Result<_>>()?;
        scorers.push(ScorerEntry {
            name: c.name.clone(),
            file,
            thresholds,
        });
    }
    let manifest = Manifest {
        format: DETECTOR_FORMAT.into(),
        version: DETECTOR_VERSION,
        groups: groups.to_vec(),
        clip_pooling,
        threshold,
        scorers,
    };
    let path = out.join(DETECTOR_FILE);
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| Error::File {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    write_file(&path, text.as_bytes())
}

/// A fitted scorer with its threshold per group id.
struct LoadedScorer {
    name: String,
    scorer: FittedScorer,
    thresholds: Vec<Option<GroupThreshold>>,
}

/// One scorer's verdict on one clip.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScorerVerdict {
    /// The scorer's name (`kmeans`, `prob`, …).
    pub name: String,
    /// The anomaly score (higher = more anomalous), in the scorer's units.
    pub score: f64,
    /// The group's threshold.
    pub threshold: f64,
    /// `score > threshold`: called anomalous.
    pub anomalous: bool,
}

/// What the detector says about one clip.
#[derive(Clone, Debug)]
pub struct Verdict {
    /// The group it was scored in.
    pub group: GroupName,
    /// One verdict per scorer of the detector, in its order; PROB is left out for a clip whose class the network
    /// was not trained on (an attribute it never saw, or no attributes where its classes have them).
    pub scores: Vec<ScorerVerdict>,
    /// The clip's embedding `[dim]` (the mean over its examples for a segment model).
    pub embedding: Array1<f32>,
    /// The classifier's logits without margin `[n_classes]` (mean over examples), when the system has one.
    pub logits: Option<Array1<f32>>,
}

/// A clip to score: its 16-kHz waveform, its group, and (for PROB) its name's attributes.
#[derive(Clone, Copy, Debug)]
pub struct Query<'a> {
    /// Mono samples at 16 kHz (`asd_audio::load_16k` gives them from any file).
    pub wave: &'a asd_audio::Waveform,
    /// Where the samples come from, named in errors.
    pub source: &'a Path,
    /// The clip's target: group and attributes.
    pub target: &'a Target,
}

/// The group (and the attributes, for class-confidence scores) a clip is scored under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The scorer group.
    pub group: GroupName,
    /// The attribute part of a DCASE 2021+ name (`car_A1_spd_28V`), `""` when unknown.
    pub attributes: String,
    /// The domain, when the name tells it.
    pub domain: Option<asd_data::Domain>,
}

impl std::str::FromStr for Target {
    type Err = Error;

    /// Parses `TYPE/GROUP` as [`GroupName`] does, with no attributes and no domain.
    fn from_str(text: &str) -> Result<Self> {
        text.parse::<GroupName>().map(Target::from)
    }
}

impl From<GroupName> for Target {
    fn from(group: GroupName) -> Self {
        Self {
            group,
            attributes: String::new(),
            domain: None,
        }
    }
}

/// A run folder's detector, ready to score 16-kHz waveforms.
pub struct Detector {
    config: RunConfig,
    network: Box<dyn Network>,
    classes: Option<ClassMap>,
    frontends: Vec<Box<dyn Frontend>>,
    policy: LengthPolicy,
    groups: Vec<GroupName>,
    clip_pooling: ClipPooling,
    scorers: Vec<LoadedScorer>,
    device: Device,
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detector")
            .field("system", &self.config.system)
            .field("groups", &self.groups.len())
            .field("scorers", &self.scorer_names())
            .finish_non_exhaustive()
    }
}

impl Detector {
    /// Loads the detector of the run folder `run` on the CPU.
    ///
    /// # Errors
    /// As [`Detector::load_on`].
    pub fn load(run: &Path) -> Result<Detector> {
        Self::load_on(run, &Device::flex())
    }

    /// Loads the detector of the run folder `run` on `device`: `config.toml`, `model.bpk` and `classes.json` (for a
    /// system with a network), `detector.json` and the scorer files it names.
    ///
    /// # Errors
    /// A missing or unreadable file (named; a folder trained with `asd train` before scoring has every file); a
    /// `detector.json` of another version or one whose scorers or groups do not agree; weights that do not fit
    /// the configuration.
    pub fn load_on(run: &Path, device: &Device) -> Result<Detector> {
        let config = RunConfig::load(&run.join(CONFIG_FILE))?;
        config.check()?;
        let system = config.system.def();
        let network = system.build(&config, device)?;
        let (network, classes) = if system.trains() {
            (network.load(&run.join(MODEL_FILE))?, Some(read_classes(run)?))
        } else {
            (network, None)
        };
        let manifest = read_manifest(&run.join(DETECTOR_FILE))?;
        let scorers = manifest
            .scorers
            .into_iter()
            .map(|entry| load_scorer(run, entry, &manifest.groups))
            .collect::<Result<Vec<_>>>()?;
        let frontends = system
            .inputs(&config)
            .iter()
            .map(|spec| spec.build().map_err(Error::from))
            .collect::<Result<Vec<_>>>()?;
        Ok(Detector {
            policy: config.clip_policy(),
            config,
            network,
            classes,
            frontends,
            groups: manifest.groups,
            clip_pooling: manifest.clip_pooling,
            scorers,
            device: device.clone(),
        })
    }

    /// The run's configuration.
    pub fn config(&self) -> &RunConfig {
        &self.config
    }

    /// The groups the detector has scorers for, sorted.
    pub fn groups(&self) -> &[GroupName] {
        &self.groups
    }

    /// The scorers' names, in order.
    pub fn scorer_names(&self) -> Vec<&str> {
        self.scorers.iter().map(|s| s.name.as_str()).collect()
    }

    /// Samples one clip holds (the network's window): `clip_seconds` at 16 kHz.
    pub fn window_samples(&self) -> usize {
        self.policy.samples
    }

    /// Loads a file at 16 kHz as the run reads its clips: the channel of its `channels` setting (`left`, `right`)
    /// or the mean of all channels.
    ///
    /// # Errors
    /// The decoder's error naming `path` (a file without the run's channel is one); [`Error::Setting`] for a run
    /// that reads both channels of a clip as two inputs, which a [`Query`]'s single waveform cannot give (score
    /// such files with [`crate::score`]).
    pub fn load_clip(&self, path: &Path) -> Result<asd_audio::Waveform> {
        self.reads_one_channel()?;
        let mut waves = asd_audio::load_16k_channels(path, self.policy.channels)?;
        Ok(waves.swap_remove(0))
    }

    /// Refuses a run that reads two channels per clip: a [`Query`] holds one waveform.
    fn reads_one_channel(&self) -> Result<()> {
        if self.policy.channels == asd_audio::ChannelPolicy::Both {
            return Err(Error::Setting {
                field: "channels".into(),
                reason: "this run reads both channels of a clip as two inputs; a single waveform cannot be scored \
                         with it (score the files with `asd score`)"
                    .into(),
            });
        }
        Ok(())
    }

    /// The threshold of scorer `name` in `group`.
    pub fn threshold(&self, name: &str, group: &GroupName) -> Option<GroupThreshold> {
        let id = self.group_id(group).ok()?;
        self.scorers.iter().find(|s| s.name == name)?.thresholds[id]
    }

    /// Scores `wave` in the detector's only group.
    ///
    /// # Errors
    /// A detector of several groups (use [`Detector::score_in`]), or as [`Detector::score_in`].
    pub fn score(&self, wave: &asd_audio::Waveform) -> Result<Verdict> {
        match self.groups.as_slice() {
            [only] => self.score_in(wave, &only.clone().into()),
            groups => Err(Error::Setting {
                field: "group".into(),
                reason: format!(
                    "the detector has {} groups ({}); say which one the clip belongs to",
                    groups.len(),
                    list(groups)
                ),
            }),
        }
    }

    /// Scores `wave` (16 kHz, mono, any length: fitted to the clip length as in training) under `target`.
    ///
    /// # Errors
    /// A group the detector has no scorers for (the known groups listed), features that cannot be computed, or
    /// a scorer error.
    pub fn score_in(&self, wave: &asd_audio::Waveform, target: &Target) -> Result<Verdict> {
        let source = PathBuf::from("waveform");
        let mut verdicts = self.score_many(&[Query {
            wave,
            source: &source,
            target,
        }])?;
        verdicts
            .pop()
            .ok_or_else(|| Error::Mismatch("no verdict for one waveform".into()))
    }

    /// Scores several clips in one pass (batched through the network), in order.
    ///
    /// # Errors
    /// As [`Detector::score_in`]; errors name the clip's source.
    pub fn score_many(&self, queries: &[Query<'_>]) -> Result<Vec<Verdict>> {
        if queries.is_empty() {
            return Ok(Vec::new());
        }
        let ids = queries
            .iter()
            .map(|q| {
                self.group_id(&q.target.group).map_err(|reason| Error::File {
                    path: q.source.into(),
                    reason,
                })
            })
            .collect::<Result<Vec<usize>>>()?;
        let classes: Vec<Option<usize>> = queries.iter().map(|q| self.class_of(q)).collect();
        let outputs = self.embed(queries, &classes)?;
        let outputs = match self.clip_pooling {
            ClipPooling::MeanSegmentScore => outputs,
            ClipPooling::MeanSegmentEmbedding => outputs.clip_means(),
        };
        let groups: Vec<i64> = ids.iter().map(|&i| i as i64).collect();
        let has_class: Vec<bool> = classes.iter().map(Option::is_some).collect();
        let mut per_scorer = Vec::with_capacity(self.scorers.len());
        for s in &self.scorers {
            // PROB needs the class scores (computed at class 0 for a clip without a class, and not reported).
            let scores = match (&s.scorer, &outputs.class_scores) {
                (FittedScorer::Prob { .. }, None) => None,
                _ => Some(clip_scores(&s.scorer, &outputs, &groups)?),
            };
            per_scorer.push(scores);
        }
        let clip_means = outputs.clip_means();
        Ok(queries
            .iter()
            .enumerate()
            .map(|(i, q)| {
                let scores = self
                    .scorers
                    .iter()
                    .zip(&per_scorer)
                    .filter(|(s, _)| has_class[i] || !matches!(s.scorer, FittedScorer::Prob { .. }))
                    .filter_map(|(s, scores)| {
                        let score = scores.as_ref()?[i];
                        let threshold = s.thresholds[ids[i]]?.threshold;
                        Some(ScorerVerdict {
                            name: s.name.clone(),
                            score,
                            threshold,
                            anomalous: score > threshold,
                        })
                    })
                    .collect();
                Verdict {
                    group: q.target.group.clone(),
                    scores,
                    embedding: clip_means.embeddings.row(i).mapv(|v| v as f32),
                    logits: clip_means.logits.as_ref().map(|l| l.row(i).to_owned()),
                }
            })
            .collect())
    }

    /// The network's outputs for the queries' examples, with class scores at each clip's class (`classes`, one per
    /// query; class 0 for a clip without one, whose PROB score is then not reported).
    fn embed(&self, queries: &[Query<'_>], classes: &[Option<usize>]) -> Result<ExampleOutputs> {
        let caches = self.inputs(queries)?;
        let labels: Option<Vec<usize>> = self
            .classes
            .as_ref()
            .map(|_| classes.iter().map(|c| c.unwrap_or(0)).collect());
        self.network.embed(&EmbedJob {
            inputs: &caches,
            labels: labels.as_deref(),
            device: &self.device,
            progress: &|_, _| {},
        })
    }

    /// The network's inputs of the queries: one feature cache per input of the system, each fitted to the clip
    /// length as in training.
    fn inputs(&self, queries: &[Query<'_>]) -> Result<Vec<FeatureCache>> {
        self.reads_one_channel()?;
        self.frontends
            .iter()
            .map(|frontend| {
                let (rows, cols) = frontend.output_shape(self.policy.samples);
                let mut features = Array3::<f32>::zeros((queries.len(), rows, cols));
                for (mut out, q) in features.axis_iter_mut(Axis(0)).zip(queries) {
                    let f = asd_data::waveform_features(q.wave, q.source, frontend.as_ref(), &self.policy)?;
                    out.assign(&f);
                }
                Ok(FeatureCache::in_memory("queries", features)?)
            })
            .collect()
    }

    /// What [`crate::explain`] needs of one query: its network inputs, the network's maps, and the first scorer's
    /// score of each of its examples when the clip's score is their mean over several examples (segments).
    pub(crate) fn look_inside(&self, query: &Query<'_>) -> Result<Inside> {
        let id = self.group_id(&query.target.group).map_err(|reason| Error::File {
            path: query.source.into(),
            reason,
        })?;
        let inputs = self.inputs(std::slice::from_ref(query))?;
        let class = self.class_of(query);
        let labels = self.classes.as_ref().map(|_| vec![class.unwrap_or(0)]);
        let job = EmbedJob {
            inputs: &inputs,
            labels: labels.as_deref(),
            device: &self.device,
            progress: &|_, _| {},
        };
        let maps = self.network.maps(&job)?;
        let mut per_example = None;
        if self.clip_pooling == ClipPooling::MeanSegmentScore {
            let outputs = self.network.embed(&job)?;
            // A scorer of the clip's mean embedding has no score per example.
            let usable = |s: &&LoadedScorer| {
                (class.is_some() || !matches!(s.scorer, FittedScorer::Prob { .. }))
                    && !s.scorer.kind().scores_clip_mean()
            };
            if outputs.clip.len() > 1
                && let Some(s) = self.scorers.iter().find(usable)
            {
                let groups = vec![id as i64; outputs.clip.len()];
                per_example = Some((s.name.clone(), example_scores(&s.scorer, &outputs, &groups)?.to_vec()));
            }
        }
        Ok(Inside {
            inputs,
            maps,
            example_scores: per_example,
        })
    }

    /// The system's inputs and their front ends' settings.
    pub(crate) fn input_specs(&self) -> Vec<asd_features::FeatureSpec> {
        self.config.system.def().inputs(&self.config)
    }

    /// The training class of a query (its group, domain and attributes), when the network has one for it.
    fn class_of(&self, q: &Query<'_>) -> Option<usize> {
        let classes = self.classes.as_ref()?;
        let group = &q.target.group;
        let number = group.group.rsplit('_').next()?.parse().ok()?;
        classes.class_of(&Clip {
            path: q.source.to_path_buf(),
            file_name: q.source.file_name()?.to_string_lossy().into_owned(),
            machine_type: group.machine_type.clone(),
            group: group.group.clone(),
            id_or_section: number,
            domain: q.target.domain,
            split: Split::Test,
            condition: Condition::Unknown,
            attributes: q.target.attributes.clone(),
        })
    }

    /// The id of `group`, or a sentence naming the known groups.
    fn group_id(&self, group: &GroupName) -> std::result::Result<usize, String> {
        self.groups.binary_search(group).map_err(|_| {
            format!(
                "the detector has no scorers for group {group}; its groups: {}",
                list(&self.groups)
            )
        })
    }

    /// The target of an audio file: its group and attributes from its DCASE name and folders (`fan/test/
    /// normal_id_00_00000000.wav`, `ToyCar/test/section_00_source_test_normal_0000_car_A1.wav`), or `group` when
    /// given (then a DCASE name still gives the attributes). A name without a machine type takes it from the
    /// folder above `train/` or `test/`, or from the detector when only one of its types has that group; any
    /// other name takes the detector's group when it has only one.
    ///
    /// # Errors
    /// [`Error::File`] naming the file when its group cannot be told (pass `group`).
    pub fn target_of(&self, path: &Path, group: Option<&GroupName>) -> Result<Target> {
        let parsed = path
            .file_name()
            .and_then(|n| asd_data::parse_file_name(&n.to_string_lossy()).ok());
        let (attributes, domain) = parsed
            .as_ref()
            .map_or((String::new(), None), |p| (p.attributes.clone(), p.domain));
        if let Some(group) = group {
            return Ok(Target {
                group: group.clone(),
                attributes,
                domain,
            });
        }
        let cannot = |why: String| Error::File {
            path: path.into(),
            reason: format!(
                "{why}; pass --group TYPE/GROUP (the detector's groups: {})",
                list(&self.groups)
            ),
        };
        let Some(parsed) = parsed else {
            return match self.groups.as_slice() {
                [only] => Ok(only.clone().into()),
                _ => Err(cannot("its name is not a DCASE clip name".into())),
            };
        };
        let name = parsed.group();
        let folder_type = path
            .parent()
            .filter(|p| p.file_name().is_some_and(|n| n == "train" || n == "test"))
            .and_then(Path::parent)
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned());
        let candidates: Vec<&GroupName> = self
            .groups
            .iter()
            .filter(|g| g.group == name && folder_type.as_ref().is_none_or(|t| *t == g.machine_type))
            .collect();
        match candidates.as_slice() {
            [only] => Ok(Target {
                group: (*only).clone(),
                attributes,
                domain,
            }),
            [] => Err(cannot(format!("the detector has no group {name} of its machine type"))),
            _ => Err(cannot(format!("several machine types have group {name}"))),
        }
    }
}

/// One clip seen from inside the detector ([`Detector::look_inside`]).
pub(crate) struct Inside {
    /// One feature cache (of one clip) per input of the system.
    pub inputs: Vec<FeatureCache>,
    /// The network's maps of the clip.
    pub maps: Vec<crate::system::NetworkMap>,
    /// The first usable scorer's name and its score of each example, for a clip scored as the mean of several.
    pub example_scores: Option<(String, Vec<f64>)>,
}

/// Groups in words, comma-separated.
fn list(groups: &[GroupName]) -> String {
    groups.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// Reads and checks `detector.json`.
fn read_manifest(path: &Path) -> Result<Manifest> {
    let bytes = asd_io::read_limited(path, MAX_MANIFEST_BYTES).map_err(|source| Error::Io {
        path: path.into(),
        source,
    })?;
    let bad = |reason: String| Error::File {
        path: path.into(),
        reason,
    };
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| bad(format!("not a detector manifest: {e}")))?;
    if value["format"] != DETECTOR_FORMAT {
        return Err(bad(format!(
            "not a detector manifest (no `\"format\": \"{DETECTOR_FORMAT}\"`)"
        )));
    }
    if value["version"].as_u64() != Some(u64::from(DETECTOR_VERSION)) {
        return Err(bad(format!(
            "a detector of version {}, this build reads version {DETECTOR_VERSION}; score the run again with `asd \
             score`",
            value["version"]
        )));
    }
    let manifest: Manifest = serde_json::from_value(value).map_err(|e| bad(format!("invalid manifest: {e}")))?;
    if !manifest.groups.windows(2).all(|w| w[0] < w[1]) {
        return Err(bad("its groups are not sorted and distinct".into()));
    }
    Ok(manifest)
}

/// Loads one scorer named by the manifest and places its thresholds by group id.
fn load_scorer(run: &Path, entry: ScorerEntry, groups: &[GroupName]) -> Result<LoadedScorer> {
    let manifest = run.join(DETECTOR_FILE);
    let plain = Path::new(&entry.file)
        .file_name()
        .is_some_and(|n| n == entry.file.as_str());
    if !plain {
        return Err(Error::File {
            path: manifest,
            reason: format!("scorer file `{}` is not a plain file name", entry.file),
        });
    }
    let scorer = FittedScorer::load(&run.join(SCORERS_DIR).join(&entry.file))?;
    let mut thresholds = vec![None; groups.len()];
    for (group, t) in entry.thresholds {
        let id = group
            .parse::<GroupName>()
            .ok()
            .and_then(|g| groups.binary_search(&g).ok())
            .ok_or_else(|| Error::File {
                path: manifest.clone(),
                reason: format!("scorer {}: threshold of unknown group {group}", entry.name),
            })?;
        if !t.threshold.is_finite() {
            return Err(Error::File {
                path: manifest.clone(),
                reason: format!("scorer {}: threshold of {group} is {}", entry.name, t.threshold),
            });
        }
        thresholds[id] = Some(t);
    }
    Ok(LoadedScorer {
        name: entry.name,
        scorer,
        thresholds,
    })
}

/// The clips' embeddings `[clips, dim]` and logits `[clips, classes]` of verdicts, for `.npy` files.
pub fn stack_outputs(verdicts: &[Verdict]) -> (Array2<f32>, Option<Array2<f32>>) {
    let dim = verdicts.first().map_or(0, |v| v.embedding.len());
    let mut embeddings = Array2::zeros((verdicts.len(), dim));
    for (mut row, v) in embeddings.outer_iter_mut().zip(verdicts) {
        row.assign(&v.embedding);
    }
    let logits = verdicts.first().and_then(|v| v.logits.as_ref()).map(|first| {
        let mut out = Array2::zeros((verdicts.len(), first.len()));
        for (mut row, v) in out.outer_iter_mut().zip(verdicts) {
            if let Some(l) = &v.logits {
                row.assign(l);
            }
        }
        out
    });
    (embeddings, logits)
}

/// The files a complete detector needs besides `detector.json` and `scorers/`: the configuration, and for a
/// system with a network its weights and class map.
pub(crate) fn network_files(system_trains: bool) -> &'static [&'static str] {
    if system_trains {
        &[CONFIG_FILE, CLASSES_FILE, MODEL_FILE]
    } else {
        &[CONFIG_FILE]
    }
}

//! `asd`: unsupervised anomalous sound detection for machines — the facade of the workspace.
//!
//! The pipeline, one crate per stage, each re-exported here under a short name:
//!
//! | stage | module | crate |
//! |---|---|---|
//! | audio file → mono 16 kHz [`audio::Waveform`]; the synthetic benchmark | [`audio`] | `asd-audio` |
//! | dataset layouts, names, class maps, loader, feature cache | [`data`] | `asd-data` |
//! | spectrum, STFT, log-Mel (each reference's), envelope | [`features`] | `asd-features` |
//! | networks (Burn): ASDNet, SpecMFN, LogMel-MFN, STgram-MFN; parameter and MAC counts | [`models`] | `asd-models` |
//! | losses (ArcFace, ArcMix, mixup) and the training loop | [`losses`], [`trainer`] | `asd-losses`, `asd-train` |
//! | scorers fitted on normal embeddings | [`scorers`] | `asd-scorers` |
//! | AUC, pAUC, DCASE tables and files | [`metrics`] | `asd-metrics` |
//!
//! Errors of every stage convert into [`Error`].
//!
//! On top of them:
//! - [`system`]: one module per system and the registry; a [`System`] handle says everything about a system
//!   (inputs, network, training step, recipe), and a program can define and [register](System::register) its own.
//! - [`config`]: [`RunConfig`] and [`RunConfig::preset`], each system's recipe (front end, network, loss, optimiser,
//!   schedule, scorers), TOML parsing and checks.
//! - [`pipeline`]: [`train`], [`score`] and [`run`] drive the pipeline and write a run folder ([`run_folder`]);
//!   [`progress`]: the one [`Observer`] interface for progress and cancellation.
//! - [`scoring`] evaluates several scorers and their ensemble on one set of embeddings and calibrates each
//!   scorer's decision threshold per group; [`info`] counts a network's parameters and MACs; [`paper`] holds the
//!   papers' tables.
//! - [`detector`]: a run folder is a complete detector (network, front end, class map, fitted scorers,
//!   thresholds): [`Detector`](detector::Detector) scores new audio with no access to the training data;
//!   [`explain`] shows what it sees in a clip (input features, attention maps, per-segment scores, as a PNG);
//!   [`monitor`] watches a stream with it; [`import`] makes a run folder from a published PyTorch checkpoint.
//!
//! ```
//! use asd::{RunConfig, RunOptions, System};
//!
//! # fn main() -> asd::Result<()> {
//! let dir = tempfile::tempdir().map_err(|source| asd::Error::Io { path: "tempdir".into(), source })?;
//! // A tiny synthetic DCASE 2020 tree: 2 machine types × 1 ID, 2-s clips.
//! let synth = asd::audio::synth::SynthConfig { types: 2, ids: 1, train: 4, test: 2, seconds: 2.0, ..Default::default() };
//! asd::audio::synth::generate(&synth, &dir.path().join("data"), &mut |_, _| {})?;
//!
//! // ASDNet with the paper's network and loss, one epoch, 2-s clips (one 2-s segment each).
//! let mut config = RunConfig::preset(System::ASDNET).with_epochs(1);
//! config.clip_seconds = 2.0;
//! let out = asd::run(&config, &dir.path().join("data"), &dir.path().join("run"), &RunOptions::default(), &())?;
//! assert_eq!(out.history.len(), 1);
//! // One report per scorer of the preset: K-Means (the headline), PROB, COS, GMM, LOF.
//! let names: Vec<&str> = out.scores.reports.iter().map(|r| r.name.as_str()).collect();
//! assert_eq!(names, ["kmeans", "prob", "cos", "gmm", "lof"]);
//! println!("{}", asd::scoring::summary_table(&out.scores.reports));
//!
//! // The run folder is a detector: score a new recording, one 0/1 decision per scorer.
//! let detector = asd::detector::Detector::load(&dir.path().join("run"))?;
//! let clip = dir.path().join("data/fan/test/anomaly_id_00_00000000.wav");
//! let verdict = detector.score_in(&asd::audio::load_16k(&clip)?, &detector.target_of(&clip, None)?)?;
//! for s in &verdict.scores {
//!     println!("{}: score {:.3}, threshold {:.3}, anomalous {}", s.name, s.score, s.threshold, s.anomalous);
//! }
//! # Ok(())
//! # }
//! ```
#![deny(unsafe_code)]

pub mod config;
pub mod detector;
mod error;
pub mod explain;
pub mod monitor;
pub mod paper;
pub mod pipeline;
pub mod progress;
pub mod run_folder;
pub mod scoring;
pub mod system;

pub use asd_audio as audio;
pub use asd_data as data;
pub use asd_features as features;
pub use asd_losses as losses;
pub use asd_metrics as metrics;
pub use asd_models as models;
pub use asd_scorers as scorers;
pub use asd_train as trainer;
pub use config::{ClassSource, Pooling, RunConfig};
pub use error::{Error, Result};
pub use pipeline::{RunOptions, RunOutput, import, run, score, train};
pub use progress::{Event, Observer};
pub use system::{Network, System, SystemDef, SystemInfo, info};

/// The ground truth of a development-set clip read from its DCASE file name (the data crate's grammar),
/// in the metrics crate's terms: anomalous or not, and the domain for DCASE 2021+ names. `None` when the
/// name carries no label (evaluation-test names) or follows no DCASE grammar.
///
/// This is the labeller `asd evaluate` uses when no `--truth` folder is given.
///
/// ```
/// let t = asd::truth_from_name("section_00_target_test_anomaly_0012_car_A1.wav");
/// assert_eq!(t.map(|t| (t.anomaly, t.domain)), Some((true, Some(asd::metrics::Domain::Target))));
/// assert_eq!(asd::truth_from_name("normal_id_02_00000007.wav").map(|t| t.anomaly), Some(false));
/// assert!(asd::truth_from_name("section_00_0012.wav").is_none()); // evaluation name: no label
/// ```
pub fn truth_from_name(file_name: &str) -> Option<metrics::ClipTruth> {
    let parsed = data::parse_file_name(file_name).ok()?;
    let anomaly = match parsed.condition {
        data::Condition::Normal => false,
        data::Condition::Anomaly => true,
        data::Condition::Unknown => return None,
    };
    Some(metrics::ClipTruth {
        anomaly,
        domain: parsed.domain.map(metrics_domain),
    })
}

/// The data crate's domain in the metrics crate's terms (the two crates do not depend on each other).
pub(crate) fn metrics_domain(domain: data::Domain) -> metrics::Domain {
    match domain {
        data::Domain::Source => metrics::Domain::Source,
        data::Domain::Target => metrics::Domain::Target,
    }
}

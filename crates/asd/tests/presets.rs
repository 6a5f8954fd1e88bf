//! Train → embed → score → evaluate for each of the four network presets on a small synthetic benchmark, on the
//! CPU: the networks are the papers' (only the input length is 2 s instead of 10 s, so the MobileFaceNets'
//! GDC kernel and TgramNet's LayerNorm follow the 63-frame input), trained for a few epochs with the presets'
//! losses, then scored with KNN on the embeddings (the headline) and the presets' own scorers.
//!
//! Criteria:
//! - every preset: the run folder is complete and the classes were learned (below);
//! - ASDNet and SpecMFN: the KNN mean AUC over the 6 machine types exceeds 0.6. With 12 normal and 12 anomalous test clips per
//!   type, a scorer that ranks at random has a per-type AUC standard deviation of √((12 + 12 + 1) / (12 · 12 ·
//!   12)) ≈ 0.12, so ≈ 0.05 for the mean of 6 types: 0.6 is two standard deviations above chance;
//! - the classes were learned: the last epoch's training accuracy exceeds 0.3 (chance 1/6 ≈ 0.17; with 144
//!   training examples its standard deviation at chance is ≈ 0.03; mixup, on for ASDNet and SpecMFN, keeps
//!   the accuracy on mixed batches below the clean one).
//!
//! ASDNet and SpecMFN train at 1e-3 for 6 epochs; the MobileFaceNets at their preset's 1e-4 for 3 epochs (at
//! 1e-3 they fit the 6 classes perfectly within 4 epochs and their embeddings collapse onto the class
//! centres, which leaves nothing for the scorers).
//!
//! Not met yet: on this small 2-s benchmark the MobileFaceNet presets' embeddings do not separate anomalies
//! within a test-sized budget (measured: LogMel-MFN KNN 55.9 % and PROB 44.9 % mean AUC, STgram-MFN KNN
//! 58.6 %), so their AUC is printed but not asserted; finding a small setting where they detect anomalies is open
//! work. docs/synthetic.md lists the settings tried (two IDs per type, 4-s clips, larger test sets: 53–57 %) and
//! the quick benchmark's results, where their embeddings reach 55–63 % and their class confidence stays at chance.

use asd::audio::synth::{SynthConfig, SynthLayout, generate};
use asd::models::backbone::logmel_mfn::LogMelMfnConfig;
use asd::models::backbone::stgram_mfn::StgramMfnConfig;
use asd::scorers::{ScorerConfig, ScorerKind};
use asd::trainer::{OptimizerConfig, Schedule};
use asd::{ModelConfig, RunConfig, RunOptions, System, run};

/// Clip length of the benchmark, seconds.
const SECONDS: f32 = 2.0;
/// Log-Mel frames of a 2-s clip: 1 + 32000 / 512.
const FRAMES: usize = 63;

fn data(dir: &std::path::Path) {
    let config = SynthConfig {
        layout: SynthLayout::Dcase2020,
        types: 6,
        ids: 1,
        train: 24,
        test: 12,
        seconds: SECONDS,
        seed: 3,
    };
    generate(&config, dir, &mut |_, _| {}).expect("synthetic data");
}

fn check(system: System, epochs: usize, lr: f64, model: Option<ModelConfig>, detects: bool) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("data");
    data(&root);
    let mut config = RunConfig::preset(system).with_epochs(epochs);
    config.clip_seconds = SECONDS;
    if model.is_some() {
        config.model = model;
    }
    config.train.batch_size = 32;
    config.train.optimizer = OptimizerConfig::adam(lr);
    config.train.schedule = Schedule::Constant;
    let own = config.scoring.scorers.clone();
    config.scoring.scorers = std::iter::once(ScorerConfig::new(ScorerKind::Knn)).chain(own).collect();
    let out = tmp.path().join("run");
    let result = run(&config, &root, &out, &RunOptions::default(), &|_| {}).expect("run");
    let accuracy = result.history.last().map_or(0.0, |l| l.accuracy);
    let report = result.report().expect("a report");
    eprintln!(
        "{system}: train accuracy {accuracy:.3}\n{}",
        asd::scoring::summary_table(&result.scores.reports)
    );
    assert!(accuracy > 0.3, "{system}: final training accuracy {accuracy}");
    let auc = report.average.auc;
    if detects {
        assert!(auc > 0.6, "{system}: mean AUC {auc}");
    }
    for f in [
        "model.bpk",
        "classes.json",
        "train_log.csv",
        "checkpoints/final.ckpt",
        "results.md",
    ] {
        assert!(out.join(f).is_file(), "{system}: {f} written");
    }
}

#[test]
fn asdnet_learns_and_detects_anomalies() {
    check(System::Asdnet, 6, 1e-3, None, true);
}

#[test]
fn specmfn_learns_and_detects_anomalies() {
    check(System::Specmfn, 6, 1e-3, None, true);
}

#[test]
fn logmel_mfn_learns_its_classes() {
    let model = ModelConfig::LogmelMfn(LogMelMfnConfig::new().with_frames(FRAMES));
    check(System::LogmelMfn, 3, 1e-4, Some(model), false);
}

#[test]
fn stgram_mfn_learns_its_classes() {
    let model = ModelConfig::StgramMfn(
        StgramMfnConfig::new()
            .with_frames(FRAMES)
            .with_samples((SECONDS * 16_000.0) as usize),
    );
    check(System::StgramMfn, 3, 1e-4, Some(model), false);
}

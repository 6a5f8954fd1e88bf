//! Resume through the facade for a preset whose training step has the most state, and for one whose batches are
//! drawn per class (the autoencoder baseline). For the first, OS-SCL's TFSTgram (mixup draws
//! on waveforms and log-Mels, SupCon, AdamW, an EMA with the online weights' extra decay, the EMA model of the
//! lowest validation loss). Training cancelled in the middle of an epoch and resumed with
//! [`RunOptions::resume`] must end where the uninterrupted run ends: the same online, EMA and selected weights in
//! the final checkpoint (the optimiser's moments through the weights they drive), the same `model.bpk`, the same
//! log.

use asd::audio::synth::{SynthConfig, SynthLayout, generate};
use asd::progress::{Event, Observer};
use asd::trainer::TrainEvent;
use asd::{RunConfig, RunOptions, System, train};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Clip length, seconds: short clips keep the three trainings of this test to seconds each.
const SECONDS: f32 = 2.0;
/// Optimiser steps after which the first run is stopped: the third step of the second epoch (the 22 training
/// clips left after validation make 5 batches of 4 and a last batch of 2 per epoch).
const STOP_AFTER: usize = 9;
/// EMA decay for this few-step test (the preset's 0.9999 barely moves in 12 steps; 0.9 makes the EMA, and the
/// validation selection it feeds, depend on every step).
const TEST_EMA_DECAY: f64 = 0.9;

/// Asks to stop once `after` training steps were taken.
struct StopAfter {
    after: usize,
    steps: AtomicUsize,
}

impl Observer for StopAfter {
    fn event(&self, event: Event) {
        if let Event::Train(TrainEvent::Step { .. }) = event {
            self.steps.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn cancelled(&self) -> bool {
        self.steps.load(Ordering::SeqCst) >= self.after
    }
}

/// The four weight records of a checkpoint (online model, optimiser, EMA, selected model), skipping the JSON info
/// whose log holds wall-clock seconds. The layout is `asd_train`'s documented one: 8 magic bytes, then five
/// length-prefixed parts, then an 8-byte hash.
fn weight_records(path: &Path) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut at = 8;
    let mut parts = Vec::new();
    for _ in 0..5 {
        let len = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
        parts.push(bytes[at + 8..at + 8 + len].to_vec());
        at += 8 + len;
    }
    assert_eq!(at + 8, bytes.len(), "{}: five parts and the hash", path.display());
    parts.split_off(1)
}

/// The tensor data of a burnpack record: what follows its header (magic, version, metadata size: 10 bytes) and
/// its metadata, from the 256-byte boundary where burnpack starts the data section.
fn tensor_data(record: &[u8]) -> &[u8] {
    let metadata = u32::from_le_bytes(record[6..10].try_into().unwrap()) as usize;
    &record[(10 + metadata).div_ceil(256) * 256..]
}

/// A synthetic DCASE 2020 tree of 2 types × 12 training clips of [`SECONDS`] in `dir`.
fn data(dir: &Path) -> std::path::PathBuf {
    data_of(dir, SynthLayout::Dcase2020, None)
}

/// [`data`] in `layout`, with `supplemental` clips per type (DCASE 2025).
fn data_of(dir: &Path, layout: SynthLayout, supplemental: Option<usize>) -> std::path::PathBuf {
    let data = dir.join("data");
    let synth = SynthConfig {
        layout,
        types: 2,
        ids: 1,
        train: 12,
        test: 2,
        seconds: SECONDS,
        seed: 11,
        supplemental,
        severity: None,
    };
    generate(&synth, &data, &mut |_, _| {}).unwrap();
    data
}

/// Trains `config` on `data` into `dir/whole` uninterrupted, and into `dir/split` stopped after `stop_after` steps
/// (within the second epoch) then resumed; checks that both logs are the same bit for bit and returns the two run
/// folders.
fn whole_and_resumed(
    config: &RunConfig,
    data: &Path,
    dir: &Path,
    stop_after: usize,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let whole = dir.join("whole");
    let uninterrupted = train(config, data, &whole, &RunOptions::default(), &()).unwrap();
    assert_eq!(uninterrupted.history.len(), 2);
    let split = dir.join("split");
    let stop = StopAfter {
        after: stop_after,
        steps: AtomicUsize::new(0),
    };
    let err = train(config, data, &split, &RunOptions::default(), &stop).unwrap_err();
    assert!(
        matches!(
            &err,
            asd::Error::Train(asd::trainer::Error::Cancelled {
                checkpoint: Some(_),
                epoch: 1,
                ..
            })
        ),
        "{err}"
    );
    assert!(!split.join("model.bpk").exists(), "no model before the run finished");
    let options = RunOptions {
        resume: true,
        ..RunOptions::default()
    };
    let resumed = train(config, data, &split, &options, &()).unwrap();
    let log = |h: &[asd::trainer::EpochLog]| -> Vec<(usize, u64, u64, Option<u64>)> {
        h.iter()
            .map(|l| {
                (
                    l.epoch,
                    l.loss.to_bits(),
                    l.accuracy.to_bits(),
                    l.val_loss.map(f64::to_bits),
                )
            })
            .collect()
    };
    assert_eq!(log(&uninterrupted.history), log(&resumed.history));
    let model = |dir: &Path| std::fs::read(dir.join("model.bpk")).unwrap();
    assert!(
        tensor_data(&model(&whole)) == tensor_data(&model(&split)),
        "model.bpk differs after resume"
    );
    (whole, split)
}

#[test]
fn os_scl_tfstgram_resumed_mid_epoch_ends_with_the_uninterrupted_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let data = data(tmp.path());
    let system = System::OS_SCL_TFSTGRAM;
    let mut config = RunConfig::preset(system).with_epochs(2);
    config.clip_seconds = SECONDS;
    system.def().fit_clip_length(&mut config).unwrap();
    config.train.batch_size = 4;
    let ema = config.train.ema.as_mut().expect("the preset averages its weights");
    assert!(ema.online_decay > 0.0, "the preset decays its online weights");
    ema.decay = TEST_EMA_DECAY;
    assert!(
        config.train.validation.is_some(),
        "the preset selects on a validation split"
    );
    let (whole, split) = whole_and_resumed(&config, &data, tmp.path(), STOP_AFTER);
    let records = |dir: &Path| weight_records(&dir.join("checkpoints/final.ckpt"));
    let (a, b) = (records(&whole), records(&split));
    // Burn records carry each parameter's random id beside its values: the values are compared. The optimiser's
    // record is keyed by those ids, so its bytes differ; its moments are checked through what they drive: the
    // weights after the steps that followed the resume.
    for (name, (x, y)) in ["online", "EMA", "selected"]
        .iter()
        .zip([(&a[0], &b[0]), (&a[2], &b[2]), (&a[3], &b[3])])
    {
        assert!(!x.is_empty(), "{name} weights stored");
        assert!(tensor_data(x) == tensor_data(y), "{name} weights differ after resume");
    }
    assert!(
        tensor_data(&a[0]) != tensor_data(&a[2]),
        "the EMA is not the online model"
    );
}

/// The autoencoder baseline trains on batches of one machine type, shuffled among themselves
/// (`train.batch_by_class`): stopped in the second epoch and resumed, it ends with the uninterrupted run's log,
/// weights and `model.bpk` (2 types × 12 clips × 59 vectors, 10 % held out, batches of 256: 6 batches per epoch).
#[test]
fn dcase_ae_resumed_mid_epoch_ends_with_the_uninterrupted_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let data = data(tmp.path());
    let mut config = RunConfig::preset(System::DCASE_AE).with_epochs(2);
    config.clip_seconds = SECONDS;
    assert!(config.train.batch_by_class, "the preset batches by machine type");
    let (whole, split) = whole_and_resumed(&config, &data, tmp.path(), 8);
    let online = |dir: &Path| weight_records(&dir.join("checkpoints/final.ckpt")).swap_remove(0);
    assert!(
        tensor_data(&online(&whole)) == tensor_data(&online(&split)),
        "weights differ after resume"
    );
}

/// The first-shot system's step keeps two AdaCos scales and draws the simulation, mixup, StatEx and FeatEx per item:
/// stopped in the second epoch and resumed, it ends with the uninterrupted run's log, weights, `model.bpk` and scales
/// (a `dcase2025` tree of fan, with clean supplemental clips, and bearing, with noise-only ones and hidden
/// attributes; small widths).
#[test]
fn firstshot2025_resumed_mid_epoch_ends_with_the_uninterrupted_weights_and_scales() {
    let tmp = tempfile::tempdir().unwrap();
    let data = data_of(tmp.path(), SynthLayout::Dcase2025, Some(3));
    let system = System::FIRSTSHOT2025;
    let mut config = RunConfig::preset(system).with_epochs(2);
    config.clip_seconds = SECONDS;
    system.def().fit_clip_length(&mut config).unwrap();
    config.train.batch_size = 8;
    let model = config.model.as_mut().unwrap();
    model.insert("widths".into(), toml::Value::try_from([16, 16, 16, 16]).unwrap());
    model.insert("embedding_dim".into(), toml::Value::Integer(16));
    let (whole, split) = whole_and_resumed(&config, &data, tmp.path(), 7);
    let records = |dir: &Path| weight_records(&dir.join("checkpoints/final.ckpt"));
    assert!(
        tensor_data(&records(&whole)[0]) == tensor_data(&records(&split)[0]),
        "weights differ after resume"
    );
    let scales = |dir: &Path| {
        let bytes = std::fs::read(dir.join("checkpoints/final.ckpt")).unwrap();
        let len = u64::from_le_bytes(bytes[8..16].try_into().unwrap()) as usize;
        let info: serde_json::Value = serde_json::from_slice(&bytes[16..16 + len]).unwrap();
        info["step_state"].clone()
    };
    let state = scales(&whole);
    assert!(
        state["main"]["scale"].as_f64().is_some() && state["ssl"]["scale"].as_f64().is_some(),
        "{state}"
    );
    assert_eq!(state, scales(&split));
}

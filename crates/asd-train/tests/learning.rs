//! An honest learning test: a small ASDNet trained on synthetic machine sounds classifies held-out normal test
//! clips by machine type × ID far above chance.
//!
//! Data: the built-in synthetic benchmark (`asd_audio::synth`, DCASE 2020 layout) with 2 machine types (fan, pump)
//! × 2 IDs (00, 02) = 4 classes, 32 training clips and 8 normal (+ 8 anomalous, unused) test clips per ID, 2 s
//! each. Features: `|rfft|` of non-overlapping 0.5-s segments (ASDNet's input, asdnet_specmfn.md §1, shortened
//! from 2 s), 4 segments × 4001 bins per clip, through the memory-mapped feature cache; every segment is one
//! training example (128 examples per class). Model: ASDNet with 3 small conv layers, 16-d embeddings and an
//! ArcFace head (s = 30, m = 0.5). Training: Adam 1e-3, constant rate, 20 epochs of batches of 32, mixup α 0.5
//! scored by ArcMix (the ASDNet recipe's loss, asdnet_specmfn.md §4.2). About 7 s in the dev profile.
//!
//! Criterion: segment accuracy on the 32 held-out normal test clips (128 segments), argmax of the eval-mode
//! logits, ≥ 0.6 against a chance level of 1/4. Why 0.6 is a safe and meaningful margin: the test clips are new
//! renderings (other random draws of shaft-rate wander, amplitudes, background noise and SNR from −6 to 6 dB),
//! so nothing is memorised; counting the 32 clips as the independent units, a classifier at chance has accuracy
//! 0.25 ± 0.077 (binomial standard deviation √(0.25·0.75/32)), so 0.6 is more than 4.5 standard deviations above
//! chance; and it is above 0.5, the most a model can reach by telling only the two machine types apart, so the
//! test also requires separating IDs of one type, which differ only by ±4 % shaft rate and resonances and ±20 %
//! amplitudes (docs/synthetic.md). Measured: 0.727 with this model seed (5); 0.766 and 0.805 with seeds 6 and 7.
//! Without mixup the model fits the training segments perfectly and reaches 0.66–0.72.

mod common;

use asd_audio::synth::{SynthConfig, SynthLayout, generate};
use asd_data::{Condition, Dataset, FeatureCache, LengthPolicy, Selection, Split};
use asd_features::SegmentSpectrum;
use asd_losses::{MarginLossConfig, MarginStep, MixupLoss};
use asd_models::backbone::asdnet::AsdNetConfig;
use asd_train::{Examples, OptimizerConfig, Rows, Schedule, Session, TrainConfig, embed, train};
use common::test_device;
use std::collections::BTreeMap;

/// Clip length (s) and segment length (samples at 16 kHz).
const SECONDS: f32 = 2.0;
const SEGMENT: usize = 8_000;

#[test]
fn asdnet_learns_machine_ids_of_synthetic_sounds() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    let synth = SynthConfig {
        layout: SynthLayout::Dcase2020,
        types: 2,
        ids: 2,
        train: 32,
        test: 8,
        seconds: SECONDS,
        seed: 3,
        supplemental: None,
        severity: None,
    };
    generate(&synth, &root, &mut |_, _| {}).unwrap();
    let data = Dataset::open(&root).unwrap();
    let train_clips = data.select(&Selection::new().with_split(Split::Train));
    let test_clips = data.select(
        &Selection::new()
            .with_split(Split::Test)
            .with_condition(Condition::Normal),
    );

    // Contiguous classes type × ID of the training clips.
    let classes: BTreeMap<(String, String), usize> = train_clips
        .iter()
        .map(|c| (c.machine_type.clone(), c.group.clone()))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .enumerate()
        .map(|(i, key)| (key, i))
        .collect();
    assert_eq!(classes.len(), 4);
    let label = |c: &asd_data::Clip| classes[&(c.machine_type.clone(), c.group.clone())];
    let train_labels: Vec<usize> = train_clips.iter().map(label).collect();
    let test_labels: Vec<usize> = test_clips.iter().map(label).collect();

    let frontend = SegmentSpectrum::new(SEGMENT).unwrap();
    let policy = LengthPolicy::new((SECONDS * 16_000.0) as usize);
    let cache_dir = dir.path().join("cache");
    let train_cache = FeatureCache::open_or_build(&cache_dir, &train_clips, &frontend, &policy, &|_, _| {}).unwrap();
    let test_cache = FeatureCache::open_or_build(&cache_dir, &test_clips, &frontend, &policy, &|_, _| {}).unwrap();
    assert_eq!(train_cache.feature_shape(), (4, SEGMENT / 2 + 1));
    let train_examples = Rows::new(&train_cache, &train_labels).unwrap();
    let test_examples = Rows::new(&test_cache, &test_labels).unwrap();
    assert_eq!((train_examples.len(), test_examples.len()), (512, 128));

    let device = test_device();
    let model = asd_models::init::seeded(&device, 5, |d| {
        AsdNetConfig::new()
            .with_layers(vec![[16, 9, 6], [16, 7, 5], [16, 5, 3]])
            .with_input_bins(SEGMENT / 2 + 1)
            .with_embedding_dim(16)
            .with_n_classes(classes.len())
            .init(d)
    })
    .unwrap();
    let config = TrainConfig {
        epochs: 20,
        batch_size: 32,
        seed: 1,
        optimizer: OptimizerConfig::adam(1e-3),
        schedule: Schedule::Constant {},
        ..TrainConfig::default()
    };
    let mut step = MarginStep::new(MarginLossConfig::mixup(0.5, MixupLoss::ArcMix));
    let trained = train(model, &train_examples, &mut step, &config, &device, &Session::new()).unwrap();
    let out = embed(&trained.model, &test_examples, 64, &device, None, &|_, _| {}).unwrap();

    let correct = (0..test_examples.len())
        .filter(|&i| {
            let row = out.logits.row(i);
            let best = (0..row.len()).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap_or(0);
            best == test_examples.label(i)
        })
        .count();
    let accuracy = correct as f64 / test_examples.len() as f64;
    let last = &trained.history[trained.history.len() - 1];
    eprintln!(
        "held-out segment accuracy {accuracy:.3} (chance 0.25); last epoch: loss {:.3}, train accuracy {:.3}, {:.2} s; \
         first epoch {:.2} s",
        last.loss, last.accuracy, last.seconds, trained.history[0].seconds
    );
    assert!(accuracy >= 0.6, "held-out accuracy {accuracy:.3} (chance 0.25)");
}

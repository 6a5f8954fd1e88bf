//! The DCASE 2025 and 2026 generations end to end, on trees written by `asd synth`: supplemental clips stay out of
//! training and testing, two-channel clips are read by the channel policy the run records, and `both` feeds a
//! system that reads two channels (the raw log-Mel baseline) while a one-channel system refuses it.

use asd::audio::ChannelPolicy;
use asd::audio::synth::{SynthConfig, SynthLayout, generate};
use asd::{RunConfig, RunOptions, System, run};
use std::path::Path;

/// Clip length of these trees, seconds (2026 types record 0.6, 1 or 1.6 times it).
const SECONDS: f32 = 2.0;

fn synth(layout: SynthLayout, dir: &Path) {
    let config = SynthConfig {
        layout,
        types: 2,
        ids: 1,
        train: 20,
        test: 8,
        seconds: SECONDS,
        seed: 5,
        supplemental: None,
        severity: Some(2.0),
    };
    generate(&config, dir, &mut |_, _| {}).expect("synthetic data");
}

fn raw_logmel(channels: Option<ChannelPolicy>) -> RunConfig {
    RunConfig {
        clip_seconds: SECONDS,
        channels,
        ..RunConfig::preset(System::RAW_LOGMEL)
    }
}

/// The embedding length of the run's training clips (`embeddings/train.npy`, `[clips, dim]`).
fn embedding_dim(run_dir: &Path) -> usize {
    let bytes = std::fs::read(run_dir.join("embeddings/train.npy")).expect("embeddings");
    let header = String::from_utf8_lossy(&bytes[10..bytes.len().min(200)]).to_string();
    let shape = header.split("'shape': (").nth(1).expect("an npy shape");
    let dims: Vec<usize> = shape
        .split(')')
        .next()
        .unwrap_or_default()
        .split(',')
        .filter_map(|d| d.trim().parse().ok())
        .collect();
    *dims.last().expect("a dimension")
}

#[test]
fn a_dcase2025_tree_scores_without_its_supplemental_clips() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    synth(SynthLayout::Dcase2025, &data);
    let out = tmp.path().join("run");
    let result = run(&raw_logmel(None), &data, &out, &RunOptions::default(), &()).unwrap();
    let official = result
        .report()
        .and_then(|r| r.official.as_ref())
        .expect("official score");
    assert!(official.score > 0.5, "official score {}", official.score);
    // 2 types × (20 source + 2 target) training clips: the 2 supplemental clips per type are not among them.
    let files = std::fs::read_to_string(out.join("embeddings/train_files.txt")).unwrap();
    assert_eq!(files.lines().count(), 44);
    assert!(!files.contains("supplemental"), "{files}");
}

#[test]
fn two_channel_clips_are_read_by_the_recorded_channel_policy() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    synth(SynthLayout::Dcase2026, &data);

    // Left out, the policy is decided from the data: the near microphone of two-channel clips.
    let left = tmp.path().join("left");
    run(&raw_logmel(None), &data, &left, &RunOptions::default(), &()).unwrap();
    let saved = RunConfig::load(&left.join("config.toml")).unwrap();
    assert_eq!(saved.channels, Some(ChannelPolicy::Left));

    let mut aucs = Vec::new();
    for policy in [
        ChannelPolicy::Left,
        ChannelPolicy::Right,
        ChannelPolicy::Mean,
        ChannelPolicy::Both,
    ] {
        let out = tmp.path().join(policy.as_str());
        let result = run(&raw_logmel(Some(policy)), &data, &out, &RunOptions::default(), &()).unwrap();
        let saved = RunConfig::load(&out.join("config.toml")).unwrap();
        assert_eq!(saved.channels, Some(policy));
        aucs.push(result.report().expect("report").average.auc);
        // Mean and standard deviation per band: 2 × 128, twice that for both channels.
        assert_eq!(embedding_dim(&out), 256 * policy.outputs(), "{policy}");
    }
    // The far channel's features differ from the near one's: its scores and AUC are its own.
    assert_ne!(aucs[0], aucs[1]);
    let left_scores = std::fs::read(left.join("scores/knn/anomaly_score_fan_section_00_test.csv")).unwrap();
    let right_scores = std::fs::read(
        tmp.path()
            .join("right/scores/knn/anomaly_score_fan_section_00_test.csv"),
    )
    .unwrap();
    assert_ne!(left_scores, right_scores);
}

#[test]
fn both_channels_are_refused_by_a_system_that_reads_one() {
    let tmp = tempfile::tempdir().unwrap();
    let config = RunConfig {
        channels: Some(ChannelPolicy::Both),
        ..RunConfig::preset(System::ASDNET)
    };
    let err = run(
        &config,
        tmp.path(),
        &tmp.path().join("run"),
        &RunOptions::default(),
        &(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, asd::Error::Setting { field, .. } if field == "channels"),
        "{err}"
    );
}

//! Front-end throughput: STgram-MFN log-Mel of one 10-s clip and of a batch of 64, |rfft| of 64 two-second
//! segments. Python anchors on the same machine type (shared/anchors.md): torchaudio 1.1 ms / 153–188 ms,
//! numpy 11.6–16.1 ms.

use asd_features::{FeatureKind, FeatureSpec, FrontendPreset, extract_batch};
use criterion::{Criterion, criterion_group, criterion_main};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;

/// The allocator of the `asd` binary (see its `main.rs`), so that the figures are what the command line gets.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// 10 s at 16 kHz.
const CLIP_SAMPLES: usize = 160_000;
/// Clips per batch and segments per spectrum batch (the anchors' workloads).
const BATCH: usize = 64;
/// 2 s at 16 kHz.
const SEGMENT_SAMPLES: usize = 32_000;

fn noise(len: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    (0..len).map(|_| rng.random::<f32>() - 0.5).collect()
}

fn features(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let clips: Vec<Vec<f32>> = (0..BATCH).map(|_| noise(CLIP_SAMPLES, &mut rng)).collect();
    let clip_refs: Vec<&[f32]> = clips.iter().map(Vec::as_slice).collect();
    let stgram = FeatureSpec::new(FeatureKind::LogMel)
        .with_preset(FrontendPreset::StgramMfn)
        .build()
        .unwrap();
    c.bench_function("stgram_logmel_1_clip", |b| {
        b.iter(|| stgram.extract(black_box(&clips[0])).unwrap())
    });
    c.bench_function("stgram_logmel_64_clips", |b| {
        b.iter(|| extract_batch(stgram.as_ref(), black_box(&clip_refs)).unwrap())
    });

    let long = noise(BATCH * SEGMENT_SAMPLES, &mut rng);
    let spectrum = FeatureSpec::new(FeatureKind::Spectrum).build().unwrap();
    c.bench_function("spectrum_64_segments_2s", |b| {
        b.iter(|| spectrum.extract(black_box(&long)).unwrap())
    });
}

criterion_group!(benches, features);
criterion_main!(benches);

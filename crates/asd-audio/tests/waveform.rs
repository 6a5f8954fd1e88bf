//! The length policies of `Waveform` (decisions.md §11: repeat-pad short clips, crop long ones to
//! their first samples; segmenting), including README §4 "Long clips": a 65-s PCM16 clip generated
//! in a temporary directory loads as 1 040 000 samples.

use asd_audio::{AudioError, Decoded, PadMode, Waveform, load_16k, write_wav_pcm16};

fn ramp(n: usize) -> Waveform {
    Waveform::new((0..n).map(|i| i as f32).collect(), 16_000)
}

#[test]
fn repeat_padding_tiles_the_clip_exactly() {
    let out = ramp(3).fit_length(8, PadMode::Repeat);
    assert_eq!(out.samples, [0.0, 1.0, 2.0, 0.0, 1.0, 2.0, 0.0, 1.0]);
    assert_eq!(out.sample_rate, 16_000);
    // The default mode is Repeat.
    assert_eq!(PadMode::default(), PadMode::Repeat);
}

#[test]
fn zero_padding_appends_zeros() {
    let out = ramp(3).fit_length(6, PadMode::Zero);
    assert_eq!(out.samples, [0.0, 1.0, 2.0, 0.0, 0.0, 0.0]);
}

#[test]
fn cropping_keeps_the_first_samples_in_both_modes() {
    for pad in [PadMode::Repeat, PadMode::Zero] {
        assert_eq!(ramp(10).fit_length(4, pad).samples, [0.0, 1.0, 2.0, 3.0]);
        assert_eq!(ramp(4).fit_length(4, pad), ramp(4));
    }
}

#[test]
fn an_empty_clip_is_zero_padded() {
    let out = Waveform::new(Vec::new(), 16_000).fit_length(3, PadMode::Repeat);
    assert_eq!(out.samples, [0.0; 3]);
}

#[test]
fn short_golden_clip_tiles_to_one_second() {
    // bad/short_0p1s_pcm16_16k.wav: 1600 samples; tiled to 16000 every block repeats the clip.
    let wave = load_16k(&asd_testkit::golden("audio/bad/short_0p1s_pcm16_16k.wav")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(wave.len(), 1_600);
    let fitted = wave.fit_length(16_000, PadMode::Repeat);
    assert_eq!(fitted.len(), 16_000);
    for block in fitted.samples.chunks(1_600) {
        assert_eq!(block, wave.samples.as_slice());
    }
}

#[test]
fn segments_are_whole_windows_at_every_hop() {
    let wave = ramp(10);
    let segments = wave.segments(4, 3).unwrap_or_else(|e| panic!("{e}"));
    // Starts 0, 3, 6; the window at 9 would be partial and is dropped.
    assert_eq!(
        segments,
        [&[0.0, 1.0, 2.0, 3.0][..], &[3.0, 4.0, 5.0, 6.0], &[6.0, 7.0, 8.0, 9.0]]
    );
    assert_eq!(wave.segments(10, 1).unwrap_or_else(|e| panic!("{e}")).len(), 1);
    assert_eq!(wave.segments(5, 5).unwrap_or_else(|e| panic!("{e}")).len(), 2);
}

#[test]
fn segments_refuse_zero_sizes_and_clips_shorter_than_one_window() {
    let wave = ramp(10);
    for (len, hop) in [(0, 1), (4, 0), (11, 1)] {
        let e = wave.segments(len, hop).expect_err("invalid segmenting");
        assert!(matches!(e, AudioError::Invalid(_)), "{e:?}");
    }
}

#[test]
fn duration_is_samples_over_rate() {
    assert_eq!(Waveform::new(vec![0.0; 24_000], 16_000).duration_seconds(), 1.5);
    assert_eq!(Waveform::new(vec![0.0; 10], 0).duration_seconds(), 0.0);
}

#[test]
fn mono_mix_is_the_mean_over_channels() {
    let decoded = Decoded {
        channels: vec![vec![1.0, 0.5, -1.0], vec![0.0, 0.25, 1.0], vec![0.5, 0.0, 0.0]],
        sample_rate: 8_000,
    };
    let mono = decoded.to_mono();
    assert_eq!(mono.samples, [0.5, 0.25, 0.0]);
    assert_eq!(mono.sample_rate, 8_000);
}

#[test]
fn a_65_second_clip_loads_whole_then_crops_and_segments() {
    // README §4 recipe: x[n] = 0.5·sin(2π·440·n/16000) + 0.05·r[n], 65 s, PCM16 mono 16 kHz.
    const RATE: u32 = 16_000;
    const SAMPLES: usize = 65 * RATE as usize;
    // A small linear congruential generator (Knuth's MMIX constants) for r[n] in [-1, 1).
    let mut state: u64 = 20_240_601;
    let mut noise = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    };
    let samples: Vec<f32> = (0..SAMPLES)
        .map(|n| {
            (0.5 * (2.0 * std::f64::consts::PI * 440.0 * n as f64 / f64::from(RATE)).sin()) as f32 + 0.05 * noise()
        })
        .collect();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("long.wav");
    write_wav_pcm16(&path, &Waveform::new(samples.clone(), RATE)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(std::fs::metadata(&path).map(|m| m.len()).ok(), Some(2_080_044));

    let wave = load_16k(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(wave.len(), 1_040_000);
    // PCM16 round trip: within half an LSB.
    let worst = wave
        .samples
        .iter()
        .zip(&samples)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst <= 0.5 / 32_768.0 + f32::EPSILON, "{worst}");

    // Crop to the model's 10 s: the first 160 000 samples.
    let cropped = wave.fit_length(160_000, PadMode::Repeat);
    assert_eq!(cropped.samples, wave.samples[..160_000]);
    // Or split into 10-s segments every 5 s: starts 0, 5, …, 55 s → 12 whole windows.
    let segments = wave.segments(160_000, 80_000).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(segments.len(), 12);
    assert_eq!(segments[11], &wave.samples[880_000..1_040_000]);
}

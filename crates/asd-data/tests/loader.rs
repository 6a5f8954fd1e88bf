//! The parallel loader and the feature cache on the real DCASE clips of shared/real/, checked against the
//! independent per-file figures of `shared/real/ref/real_files.json` (RMS and peak measured by the fixture's
//! maker in Python/soundfile), with a test-only front end of per-frame RMS and peak.

use asd_audio::PadMode;
use asd_data::{Clip, Condition, Error, FeatureCache, LengthPolicy, Split, load_features};
use asd_features::{FeatureError, Frontend};
use ndarray::{Array2, ArrayView2};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Test front end: frames of `FRAME` samples; row 0 = RMS per frame, row 1 = peak |x| per frame.
struct FrameStats;
const FRAME: usize = 1600;

impl Frontend for FrameStats {
    fn extract(&self, wave: &[f32]) -> Result<Array2<f32>, FeatureError> {
        let (rows, cols) = self.output_shape(wave.len());
        let mut out = Array2::zeros((rows, cols));
        for (j, frame) in wave.chunks_exact(FRAME).enumerate() {
            out[[0, j]] =
                (frame.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>() / FRAME as f64).sqrt() as f32;
            out[[1, j]] = frame.iter().fold(0.0f32, |m, &x| m.max(x.abs()));
        }
        Ok(out)
    }
    fn output_shape(&self, n_samples: usize) -> (usize, usize) {
        (2, n_samples / FRAME)
    }
    fn cache_key(&self) -> String {
        format!("test-frame-stats-{FRAME}")
    }
}

/// A front end that announces one shape and returns another.
struct Liar;
impl Frontend for Liar {
    fn extract(&self, _: &[f32]) -> Result<Array2<f32>, FeatureError> {
        Ok(Array2::zeros((1, 1)))
    }
    fn output_shape(&self, _: usize) -> (usize, usize) {
        (2, 2)
    }
    fn cache_key(&self) -> String {
        "liar".into()
    }
}

struct Oracle {
    frames: usize,
    rms: f64,
    peak: f64,
}

fn oracle(name: &str) -> Oracle {
    let json = asd_testkit::json(asd_testkit::real("ref/real_files.json"));
    let f = |key: &str| json[name][key].as_f64().unwrap_or_else(|| panic!("{name}: {key}"));
    Oracle {
        frames: f("frames") as usize,
        rms: f("rms"),
        peak: f("peak"),
    }
}

fn clip(path: PathBuf) -> Clip {
    Clip {
        file_name: path.file_name().and_then(|n| n.to_str()).expect("name").to_string(),
        path,
        machine_type: "any".into(),
        group: "section_00".into(),
        id_or_section: 0,
        domain: None,
        split: Split::Train,
        condition: Condition::Normal,
        attributes: String::new(),
    }
}

/// The real recordings of `frames` samples, copied into `dir` (so that tests can change them).
fn real_clips(dir: &Path, frames: usize) -> Vec<(Clip, Oracle)> {
    let mut names: Vec<String> = fs::read_dir(asd_testkit::real(""))
        .expect("shared/real")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".wav"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| (oracle(&n), n))
        .filter(|(o, _)| o.frames == frames)
        .map(|(o, n)| {
            let path = dir.join(&n);
            fs::copy(asd_testkit::real(&n), &path).expect("copy");
            (clip(path), o)
        })
        .collect()
}

/// Clip RMS from the per-frame RMS (frames tile the clip) and clip peak.
fn rms_peak(features: ArrayView2<'_, f32>) -> (f64, f64) {
    let row = features.row(0);
    let ms = row.iter().map(|&r| f64::from(r) * f64::from(r)).sum::<f64>() / row.len() as f64;
    (
        ms.sqrt(),
        features.row(1).iter().fold(0.0f64, |m, &p| m.max(f64::from(p))),
    )
}

/// Criterion: RMS within rtol 1e-5 of the oracle (f32 samples, f64 sums), peak exact (a 16-bit value / 32768
/// is exact in f32); `rms_factor` scales the oracle RMS for zero padding.
fn assert_matches(features: ArrayView2<'_, f32>, o: &Oracle, rms_factor: f64, what: &str) {
    let (rms, peak) = rms_peak(features);
    let expected = o.rms * rms_factor;
    assert!(
        ((rms - expected) / expected).abs() < 1e-5,
        "{what}: rms {rms} vs {expected}"
    );
    assert_eq!(peak, o.peak, "{what}: peak");
}

fn counter() -> (AtomicUsize, AtomicUsize) {
    (AtomicUsize::new(0), AtomicUsize::new(0))
}

#[test]
fn loader_matches_the_oracle_for_every_length_policy() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (frames, n_clips) in [(160_000, 9), (192_000, 3)] {
        let set = real_clips(dir.path(), frames);
        assert_eq!(set.len(), n_clips);
        let clips: Vec<Clip> = set.iter().map(|(c, _)| c.clone()).collect();
        let (calls, last) = counter();
        let progress = |done: usize, total: usize| {
            calls.fetch_add(1, Ordering::Relaxed);
            last.fetch_max(done, Ordering::Relaxed);
            assert_eq!(total, n_clips);
        };
        // exact length: the clip itself
        let features = load_features(&clips, &FrameStats, &LengthPolicy::new(frames), &progress).expect("load");
        assert_eq!(features.dim(), (n_clips, 2, frames / FRAME));
        assert_eq!(
            (calls.load(Ordering::Relaxed), last.load(Ordering::Relaxed)),
            (n_clips, n_clips)
        );
        for (i, (c, o)) in set.iter().enumerate() {
            assert_matches(features.slice(ndarray::s![i, .., ..]), o, 1.0, &c.file_name);
        }
        // twice the length: repeat padding tiles the clip exactly twice (same RMS); zero padding halves the power
        let long = LengthPolicy::new(2 * frames);
        let tiled = load_features(&clips, &FrameStats, &long, &|_, _| {}).expect("load");
        let zeros = load_features(&clips, &FrameStats, &long.with_pad(PadMode::Zero), &|_, _| {}).expect("load");
        for (i, (c, o)) in set.iter().enumerate() {
            assert_matches(tiled.slice(ndarray::s![i, .., ..]), o, 1.0, &c.file_name);
            assert_matches(
                zeros.slice(ndarray::s![i, .., ..]),
                o,
                std::f64::consts::FRAC_1_SQRT_2,
                &c.file_name,
            );
        }
    }
}

#[test]
fn cropping_keeps_the_first_samples() {
    let dir = tempfile::tempdir().expect("tempdir");
    let set = real_clips(dir.path(), 192_000);
    let clips: Vec<Clip> = set.iter().map(|(c, _)| c.clone()).collect();
    let full = load_features(&clips, &FrameStats, &LengthPolicy::new(192_000), &|_, _| {}).expect("load");
    let cropped = load_features(&clips, &FrameStats, &LengthPolicy::new(160_000), &|_, _| {}).expect("load");
    assert_eq!(cropped.dim(), (3, 2, 100));
    assert_eq!(cropped, full.slice(ndarray::s![.., .., ..100]));
}

/// Criterion (issue 17): every unusable clip is reported, each naming its file, in clip order (the loader used
/// to stop at the first).
#[test]
fn every_failing_clip_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut clips: Vec<Clip> = real_clips(dir.path(), 160_000).into_iter().map(|(c, _)| c).collect();
    let bad = [dir.path().join("bad_1.wav"), dir.path().join("bad_2.wav")];
    for b in &bad {
        fs::write(b, "RIFF....WAVE but nothing else").expect("write");
    }
    clips.insert(3, clip(bad[0].clone()));
    clips.push(clip(bad[1].clone()));
    let err = load_features(&clips, &FrameStats, &LengthPolicy::new(160_000), &|_, _| {}).expect_err("bad file");
    let Error::Clips(errors) = &err else {
        panic!("expected every failing clip, got {err}");
    };
    let named: Vec<Option<&Path>> = errors.iter().map(Error::path).collect();
    assert_eq!(named, [Some(bad[0].as_path()), Some(bad[1].as_path())], "{err}");
    let err = load_features(&clips[..4], &FrameStats, &LengthPolicy::new(160_000), &|_, _| {}).expect_err("bad file");
    assert_eq!(
        err.path(),
        Some(bad[0].as_path()),
        "one failing clip is its own error: {err}"
    );
    let err = load_features(&clips[..1], &Liar, &LengthPolicy::new(160_000), &|_, _| {}).expect_err("shape");
    assert!(
        matches!(
            err,
            Error::FeatureShape {
                expected: (2, 2),
                actual: (1, 1),
                ..
            }
        ),
        "{err}"
    );
    let err = load_features(&clips[..1], &FrameStats, &LengthPolicy::new(0), &|_, _| {}).expect_err("length 0");
    assert!(matches!(err, Error::Invalid(_)));
}

/// A front end whose first feature overflows to infinity.
struct Power;

impl Frontend for Power {
    fn extract(&self, wave: &[f32]) -> Result<Array2<f32>, FeatureError> {
        let (rows, cols) = self.output_shape(wave.len());
        Ok(Array2::from_shape_fn((rows, cols), |(_, j)| {
            if j == 0 { f32::MAX * 2.0 } else { 0.0 }
        }))
    }
    fn output_shape(&self, n_samples: usize) -> (usize, usize) {
        (1, n_samples / FRAME)
    }
    fn cache_key(&self) -> String {
        "test-power".into()
    }
}

/// Criterion (issue 17): samples far beyond full scale (±3e38, which overflowed the spectrum and surfaced as a
/// non-finite training loss) are refused when decoding, naming the file; features that are not finite for any
/// other reason (here a front end that overflows) are refused naming the file too.
#[test]
fn huge_samples_and_overflowing_features_name_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("loud.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut writer = hound::WavWriter::create(&path, spec).expect("create");
    for i in 0..4_000 {
        writer
            .write_sample(if i % 2 == 0 { 3e38f32 } else { -3e38 })
            .expect("sample");
    }
    writer.finalize().expect("finalize");
    let err = load_features(
        &[clip(path.clone())],
        &FrameStats,
        &LengthPolicy::new(32_000),
        &|_, _| {},
    )
    .expect_err("beyond full scale");
    assert!(
        matches!(err, Error::Audio(asd_audio::AudioError::OutOfRange { index: 0, .. })),
        "{err}"
    );
    assert_eq!(err.path(), Some(path.as_path()));

    let real = real_clips(dir.path(), 160_000).remove(0).0;
    let err = load_features(
        std::slice::from_ref(&real),
        &Power,
        &LengthPolicy::new(160_000),
        &|_, _| {},
    )
    .expect_err("overflow");
    assert!(matches!(err, Error::NonFiniteFeatures { .. }), "{err}");
    assert_eq!(err.path(), Some(real.path.as_path()));
}

#[test]
fn cache_is_reused_rebuilt_when_stale_or_corrupt() {
    let audio = tempfile::tempdir().expect("tempdir");
    let cache_dir = tempfile::tempdir().expect("tempdir");
    let set = real_clips(audio.path(), 160_000);
    let clips: Vec<Clip> = set.iter().map(|(c, _)| c.clone()).collect();
    let policy = LengthPolicy::new(160_000);
    let decoded = AtomicUsize::new(0);
    let count = |_: usize, _: usize| {
        decoded.fetch_add(1, Ordering::Relaxed);
    };
    let open = || FeatureCache::open_or_build(cache_dir.path(), &clips, &FrameStats, &policy, &count).expect("cache");

    let cache = open();
    assert_eq!(decoded.swap(0, Ordering::Relaxed), 9, "first run decodes every clip");
    assert_eq!((cache.len(), cache.feature_shape()), (9, (2, 100)));
    for (i, (c, o)) in set.iter().enumerate() {
        assert_matches(cache.get(i), o, 1.0, &c.file_name);
    }
    let path = cache.path().to_path_buf();
    drop(cache);

    let again = open();
    assert_eq!(
        decoded.swap(0, Ordering::Relaxed),
        0,
        "a valid cache is read without decoding"
    );
    assert_eq!(again.path(), path);
    drop(again);

    // a changed clip (another size) makes the cache stale
    let changed = &clips[4].path;
    fs::copy(
        asd_testkit::real("dcase2023t2_ToyCar_train_section_00_source_train_normal_0362_car_C2_spd_31V_mic_1.wav"),
        changed,
    )
    .expect("copy");
    let rebuilt = open();
    assert_eq!(
        decoded.swap(0, Ordering::Relaxed),
        9,
        "a changed clip triggers a rebuild"
    );
    let toycar = oracle("dcase2023t2_ToyCar_train_section_00_source_train_normal_0362_car_C2_spd_31V_mic_1.wav");
    let (_, peak) = rms_peak(rebuilt.get(4));
    assert_eq!(
        peak, toycar.peak,
        "the rebuilt cache holds the new clip (cropped to 10 s)"
    );
    drop(rebuilt);

    // a short file is detected and rebuilt
    let bytes = fs::read(&path).expect("read");
    fs::write(&path, &bytes[..bytes.len() - 4]).expect("truncate");
    assert!(matches!(FeatureCache::open(&path), Err(Error::CorruptCache { .. })));
    fs::write(&path, b"not a cache").expect("garbage");
    assert!(matches!(FeatureCache::open(&path), Err(Error::CorruptCache { .. })));
    let repaired = open();
    assert_eq!(decoded.swap(0, Ordering::Relaxed), 9, "a corrupt cache is rebuilt");
    assert_matches(repaired.get(0), &set[0].1, 1.0, "repaired");
    assert_eq!(
        fs::read_dir(cache_dir.path()).expect("dir").count(),
        1,
        "no temporary file left"
    );

    // another policy is another file
    let other = FeatureCache::open_or_build(
        cache_dir.path(),
        &clips,
        &FrameStats,
        &policy.with_pad(PadMode::Zero),
        &count,
    )
    .expect("cache");
    assert_ne!(other.path(), path);
}

#[test]
fn shuffled_batches() {
    let audio = tempfile::tempdir().expect("tempdir");
    let cache_dir = tempfile::tempdir().expect("tempdir");
    let clips: Vec<Clip> = real_clips(audio.path(), 160_000).into_iter().map(|(c, _)| c).collect();
    let cache = FeatureCache::open_or_build(
        cache_dir.path(),
        &clips,
        &FrameStats,
        &LengthPolicy::new(160_000),
        &|_, _| {},
    )
    .expect("cache");
    let batches: Vec<_> = cache.batches(4, 7).expect("batches").collect();
    assert_eq!(
        batches.iter().map(|(b, i)| (b.dim(), i.len())).collect::<Vec<_>>(),
        [((4, 2, 100), 4), ((4, 2, 100), 4), ((1, 2, 100), 1)]
    );
    let mut seen: Vec<usize> = batches.iter().flat_map(|(_, i)| i.clone()).collect();
    let order = seen.clone();
    seen.sort();
    assert_eq!(seen, (0..9).collect::<Vec<_>>());
    assert_ne!(order, seen, "seed 7 shuffles");
    for (batch, indices) in &batches {
        for (k, &i) in indices.iter().enumerate() {
            assert_eq!(batch.slice(ndarray::s![k, .., ..]), cache.get(i));
        }
    }
    let same: Vec<usize> = cache.batches(4, 7).expect("batches").flat_map(|(_, i)| i).collect();
    let other: Vec<usize> = cache.batches(4, 8).expect("batches").flat_map(|(_, i)| i).collect();
    assert_eq!(same, order);
    assert_ne!(other, order);
    assert_eq!(cache.batches(4, 0).expect("batches").len(), 3);
    assert!(matches!(cache.batches(0, 0), Err(Error::Invalid(_))));
}

//! The DCASE autoencoder baseline's pieces against `tests/fixtures/dcase_ae/` (made by its `make_fixture.py`, an
//! independent rewrite of the baseline's feature, model and score code, itself checked bit for bit against the
//! baseline's own functions; README there): the `dcase-ae` front end's log-Mel and stacked vectors.

use asd::features::{FeatureKind, FeatureSpec};
use asd_testkit::{assert_allclose, json, safetensor};
use ndarray::{Array2, Axis};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/dcase_ae")
        .join(name)
}

/// Tolerance of the log-Mel, dB (README: 1e-3 dB; our fast log10 is within 5e-5 dB, the f32 STFT within about
/// 1e-4 dB above −100 dB).
const DB_TOL: f64 = 1e-3;
/// Below this level a log-Mel value is rounding noise of the f32 FFT (the fixture's f32-vs-f64 gap is quoted above
/// it: 4.2e-6 dB).
const NOISE_DB: f64 = -100.0;

/// The baseline's log-Mel (librosa, 1024/512, 128 Slaney bands, zero-padded centre frames, `10·log10(max(p, ε))`)
/// of a 2-s clip with a silent stretch (frames 25–38 at the floor), and its stacked 640-value vectors.
#[test]
fn the_front_end_gives_the_baselines_log_mel_and_vectors() {
    let wave = safetensor(fixture("fixture.safetensors"), "feat.wave");
    let samples: Vec<f32> = wave.iter().copied().collect();
    let expected_logmel = safetensor(fixture("fixture.safetensors"), "feat.logmel");
    let logmel = FeatureSpec::new(FeatureKind::LogMel)
        .with_preset(asd::features::FrontendPreset::DcaseAe)
        .build()
        .expect("front end")
        .extract(&samples)
        .expect("log-Mel");
    assert_eq!(logmel.dim(), (128, 63));
    // Where the power is rounding noise of the silent stretch's edges (below −100 dB) the f32 FFTs of any two
    // implementations differ by tens of dB; there both must stay below −100 dB, and frames of exact silence sit at
    // the floor in both.
    let mut audible = 0;
    for (ours, reference) in logmel.iter().zip(expected_logmel.iter()) {
        let (ours, reference) = (f64::from(*ours), f64::from(*reference));
        if reference > NOISE_DB {
            audible += 1;
            assert!((ours - reference).abs() <= DB_TOL, "{ours} dB vs {reference} dB");
        } else {
            assert!(
                ours <= NOISE_DB + DB_TOL,
                "{ours} dB where the reference has {reference} dB"
            );
        }
    }
    assert!(audible > 6_000, "{audible} of 8 064 values compared");
    // Frames of exact digital silence (25–38): the reference's power is exactly 0, its floor −156.5 dB; ours is the
    // f32 rounding that the FFT of two real frames per complex transform leaves from the neighbouring frame, 146 dB
    // below it (measured −146.2 to −128.6 dB), within the bound above.

    let stacked = FeatureSpec::new(FeatureKind::StackedLogMel).build().expect("front end");
    assert_eq!(stacked.output_shape(samples.len()), (59, 640));
    let vectors: Array2<f32> = stacked.extract(&samples).expect("vectors");
    let rows = json(fixture("values.json"))["features"]["stacked_rows_index"].clone();
    let rows: Vec<usize> = rows
        .as_array()
        .expect("row indices")
        .iter()
        .map(|r| r.as_u64().expect("index") as usize)
        .collect();
    // The vectors are the log-Mel's frames, frame-major: exactly ours, compared with the reference where it is
    // audible as above.
    let picked = vectors.select(Axis(0), &rows);
    for (i, &t) in rows.iter().enumerate() {
        for k in 0..5 {
            for m in 0..128 {
                assert_eq!(
                    picked[[i, k * 128 + m]],
                    logmel[[m, t + k]],
                    "row {t}, frame {k}, band {m}"
                );
            }
        }
    }
    let expected = safetensor(fixture("fixture.safetensors"), "feat.stacked_rows");
    let audible = |x: f32| if f64::from(x) > NOISE_DB { x } else { 0.0 };
    let (ours, reference) = (picked.mapv(audible), expected.mapv(audible));
    assert_allclose(&ours.into_dyn(), &reference, DB_TOL, 0.0, "stacked vectors (dB)");
}

//! Wilkinghoff's label expansion (firstshot2025.md §6.2–6.4): the spec's Appendix B bookkeeping example (values in
//! `tests/fixtures/adacos/fixture.json`, case F, computed by its `make_fixture.py` and checked there against the
//! spec's printed vectors), and the tensor operations by hand.

use asd_losses::ssl::{SslDraws, partner};
use asd_models::burn::tensor::{Device, Tensor, TensorData};
use asd_testkit::{json, json_floats as floats};
use serde_json::Value;
use std::path::Path;

fn case_f() -> Value {
    json(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/adacos/fixture.json"))["cases"]["F_appendix_b"]
        .clone()
}

fn host<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().expect("f32")
}

/// Appendix B: C = 2, a batch of 2 (partners 1 and 0); mixup with λ = 0.7 on item 0, StatEx on item 0, FeatEx on item
/// 1 give y′, z (3C) and w (9C) as the spec prints them (within f32 rounding).
fn appendix_b() -> SslDraws {
    SslDraws {
        mixup: vec![Some(0.7), None],
        statex: vec![true, false],
        featex: vec![false, true],
    }
}

#[test]
fn the_appendix_b_targets_are_the_specs() {
    let case = case_f();
    let draws = appendix_b();
    let y: Vec<f32> = floats(&case["y"]).into_iter().map(|v| v as f32).collect();
    let y_prime = draws.mixup_targets(&y, 2);
    let z = draws.statex_targets(&y_prime, 2);
    let w = draws.featex_targets(&z, 2);
    for (ours, key) in [(&y_prime, "y_prime"), (&z, "z"), (&w, "w")] {
        let expected = floats(&case[key]);
        assert_eq!(ours.len(), expected.len(), "{key}");
        for (a, b) in ours.iter().zip(&expected) {
            assert!((f64::from(*a) - b).abs() < 1e-6, "{key}: {ours:?} vs {expected:?}");
        }
    }
    assert!(
        w.chunks(18).all(|row| (row.iter().sum::<f32>() - 1.0).abs() < 1e-6),
        "every target sums to 1"
    );
    assert_eq!((partner(0, 2), partner(1, 2), partner(1, 4)), (1, 0, 2));
}

/// Criterion (by hand): mixup blends item 0 with item 1 at λ = 0.7 and leaves item 1; StatEx gives item 0's frames
/// item 1's per-frame mean and standard deviation over the bands (item 1 unchanged); FeatEx gives item 1 item 0's
/// second half.
#[test]
fn the_augmentations_by_hand() {
    let device = Device::flex();
    let draws = appendix_b();
    let x = Tensor::<2>::from_data(TensorData::new(vec![1.0_f32, 2.0, 10.0, 20.0], [2, 2]), &device);
    let mixed = host(draws.mix(x));
    let expected = [0.7 * 1.0 + 0.3 * 10.0, 0.7 * 2.0 + 0.3 * 20.0, 10.0, 20.0];
    assert!(
        mixed.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-5),
        "{mixed:?}"
    );

    // Two items of 3 bands × 2 frames ([item][band][frame]).
    let features = vec![
        1.0_f32, 5.0, 2.0, 5.0, 3.0, 8.0, // item 0: frame 0 = (1, 2, 3), frame 1 = (5, 5, 8)
        0.0, 10.0, 4.0, 10.0, 8.0, 40.0, // item 1: frame 0 = (0, 4, 8), frame 1 = (10, 10, 40)
    ];
    let t = Tensor::<3>::from_data(TensorData::new(features.clone(), [2, 3, 2]), &device);
    let out = host(draws.statex(t));
    let stats = |values: [f32; 3]| {
        let mean = values.iter().sum::<f32>() / 3.0;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / 3.0;
        (mean, var.sqrt())
    };
    for frame in 0..2 {
        let own = [0, 1, 2].map(|band| features[band * 2 + frame]);
        let other = [0, 1, 2].map(|band| features[6 + band * 2 + frame]);
        let ((m0, s0), (m1, s1)) = (stats(own), stats(other));
        for band in 0..3 {
            let expected = (own[band] - m0) / s0 * s1 + m1;
            let got = out[band * 2 + frame];
            assert!(
                (got - expected).abs() < 1e-4,
                "frame {frame} band {band}: {got} vs {expected}"
            );
            assert_eq!(out[6 + band * 2 + frame], other[band], "item 1 unchanged");
        }
    }

    let e = Tensor::<2>::from_data(
        TensorData::new(vec![1.0_f32, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], [2, 4]),
        &device,
    );
    assert_eq!(host(draws.featex(e)), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 3.0, 4.0]);
}

/// Criterion: drawn with probability ½ each, λ in [0, 1); the same generator state gives the same draws.
#[test]
fn draws_are_seeded_and_about_half() {
    use rand::SeedableRng;
    let draw = |seed| SslDraws::draw(4_000, &mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
    let (a, b) = (draw(1), draw(1));
    assert_eq!(a, b);
    let share = |n: usize| n as f64 / 4_000.0;
    let mixed = a.mixup.iter().flatten().count();
    assert!((share(mixed) - 0.5).abs() < 0.05 && (share(a.statex.iter().filter(|&&s| s).count()) - 0.5).abs() < 0.05);
    assert!(a.mixup.iter().flatten().all(|l| (0.0..1.0).contains(l)));
}

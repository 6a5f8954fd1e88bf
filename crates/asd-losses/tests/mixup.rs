//! Mixup draws and blending (losses_arcmix.md §3), the loss forms on a hand-computable head, and the settings'
//! serde names.

use asd_losses::{
    LossConfig, MarginLossConfig, Mix, Mixable, MixupLoss, cross_entropy, cross_entropy_per_sample, training_loss_with,
};
use asd_models::burn::tensor::{Device, Int, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Number of λ draws for the moment checks.
const N_DRAWS: usize = 20_000;

fn values<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data().try_to_vec_as::<f64>().expect("float data")
}

/// Criterion: λ ~ Beta(0.5, 0.5) has mean 1/2 and variance 1/(4(2α + 1)) = 1/8. Over 20 000 seeded draws the
/// sample mean is within 0.01 of 0.5 (4 standard errors: σ/√n = 0.0025) and the sample variance within 0.003 of
/// 0.125 (about 5 standard errors: √((μ₄ − σ⁴)/n) = √((3/128 − 1/64)/20000) = 6.3e-4); every λ lies in [0, 1].
#[test]
fn beta_half_half_has_the_right_moments() {
    let mut rng = ChaCha8Rng::seed_from_u64(2024);
    let lambdas: Vec<f64> = (0..N_DRAWS).map(|_| Mix::draw(0.5, 4, &mut rng).lambda).collect();
    assert!(lambdas.iter().all(|l| (0.0..=1.0).contains(l)));
    let n = N_DRAWS as f64;
    let mean = lambdas.iter().sum::<f64>() / n;
    let variance = lambdas.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / (n - 1.0);
    println!("Beta(0.5, 0.5): mean {mean:.5}, variance {variance:.5}");
    assert!((mean - 0.5).abs() < 0.01, "mean {mean}");
    assert!((variance - 0.125).abs() < 0.003, "variance {variance}");
}

/// Criterion: the permutation is uniform: over 60 000 draws for a batch of 3, each of the 6 permutations appears
/// with frequency 1/6 ± 0.01 (standard error √(1/6·5/6/60000) = 0.0015), and every draw is a permutation.
#[test]
fn permutations_are_uniform() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let perms = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
    let mut counts = [0_usize; 6];
    let n = 60_000;
    for _ in 0..n {
        let mix = Mix::draw(0.5, 3, &mut rng);
        let index = perms
            .iter()
            .position(|p| p[..] == mix.perm[..])
            .expect("a permutation of 0..3");
        counts[index] += 1;
    }
    for count in counts {
        let frequency = count as f64 / n as f64;
        assert!((frequency - 1.0 / 6.0).abs() < 0.01, "{counts:?}");
    }
}

/// Criterion: the same seed gives the same draw (λ and permutation); another seed a different one.
#[test]
fn same_seed_same_draw() {
    let draw = |seed| Mix::draw(0.2, 16, &mut ChaCha8Rng::seed_from_u64(seed));
    assert_eq!(draw(11), draw(11));
    assert_ne!(draw(11), draw(12));
}

/// Criterion: α ≤ 0 (and NaN) gives λ = 1 and the identity permutation without consuming the generator
/// (losses_arcmix.md §3); the config's `draw_mix` is `None` then. α = +∞ gives λ = 1/2 (the limit).
#[test]
fn no_mixup_for_non_positive_alpha() {
    for alpha in [0.0, -1.0, f64::NAN] {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mix = Mix::draw(alpha, 5, &mut rng);
        assert_eq!(
            mix,
            Mix {
                lambda: 1.0,
                perm: vec![0, 1, 2, 3, 4]
            }
        );
        assert_eq!(
            rng.next_u64(),
            ChaCha8Rng::seed_from_u64(3).next_u64(),
            "α = {alpha} drew from the generator"
        );
        assert!(
            MarginLossConfig::mixup(alpha, MixupLoss::ArcMix)
                .draw_mix(5, &mut rng)
                .is_none()
        );
    }
    assert_eq!(
        Mix::draw(f64::INFINITY, 3, &mut ChaCha8Rng::seed_from_u64(0)).lambda,
        0.5
    );
    let config = MarginLossConfig::mixup(0.5, MixupLoss::ArcMix);
    let mix = config.draw_mix(6, &mut ChaCha8Rng::seed_from_u64(9)).expect("mixup on");
    assert_eq!(mix, Mix::draw(0.5, 6, &mut ChaCha8Rng::seed_from_u64(9)));
}

/// Criterion: mixing a `[4, 2, 3]` tensor equals λ·x_i + (1 − λ)·x_perm(i) computed element by element on plain
/// numbers (within 1e-6, f32), and `partner_labels` is labels[perm].
#[test]
fn mixing_a_tensor_matches_the_hand_formula() {
    let device = Device::flex();
    let data: Vec<f32> = (0..24).map(|v| (v as f32 * 0.37).sin() * 10.0).collect();
    let x = Tensor::<3>::from_data(TensorData::new(data.clone(), [4, 2, 3]), &device);
    let mix = Mix {
        lambda: 0.3,
        perm: vec![2, 0, 3, 1],
    };
    assert_eq!(x.batch_size(), 4);
    let got = values(x.mix(&mix));
    for i in 0..4 {
        for k in 0..6 {
            let want = 0.3 * f64::from(data[i * 6 + k]) + 0.7 * f64::from(data[mix.perm[i] * 6 + k]);
            assert!(
                (got[i * 6 + k] - want).abs() < 1e-6,
                "({i}, {k}): {} vs {want}",
                got[i * 6 + k]
            );
        }
    }
    let labels = Tensor::<1, Int>::from_data(TensorData::from([7_i64, 8, 9, 10]), &device);
    let partner = mix
        .partner_labels(labels)
        .into_data()
        .try_to_vec_as::<i64>()
        .expect("ints");
    assert_eq!(partner, vec![9, 7, 10, 8]);
}

/// Criterion: a pair (waveform `[3, 5]`, log-Mel `[3, 1, 2, 2]`) is mixed with one draw: each element equals that
/// tensor mixed alone with the same `Mix` (exactly) and the hand formula (1e-6); λ = 1 returns the input unchanged.
#[test]
fn pairs_are_mixed_with_the_same_draw() {
    let device = Device::flex();
    let wave: Vec<f32> = (0..15).map(|v| v as f32).collect();
    let mel: Vec<f32> = (0..12).map(|v| -(v as f32) * 0.5).collect();
    let pair = (
        Tensor::<2>::from_data(TensorData::new(wave.clone(), [3, 5]), &device),
        Tensor::<4>::from_data(TensorData::new(mel.clone(), [3, 1, 2, 2]), &device),
    );
    assert_eq!(pair.batch_size(), 3);
    let mix = Mix::draw(0.5, 3, &mut ChaCha8Rng::seed_from_u64(1));
    let (w, m) = pair.clone().mix(&mix);
    assert_eq!(values(w.clone()), values(pair.0.clone().mix(&mix)));
    assert_eq!(values(m.clone()), values(pair.1.clone().mix(&mix)));
    let (w, m) = (values(w), values(m));
    let l = mix.lambda;
    for i in 0..3 {
        let j = mix.perm[i];
        for k in 0..5 {
            let want = l * f64::from(wave[i * 5 + k]) + (1.0 - l) * f64::from(wave[j * 5 + k]);
            assert!((w[i * 5 + k] - want).abs() < 1e-6);
        }
        for k in 0..4 {
            let want = l * f64::from(mel[i * 4 + k]) + (1.0 - l) * f64::from(mel[j * 4 + k]);
            assert!((m[i * 4 + k] - want).abs() < 1e-6);
        }
    }
    let (w, _) = pair.clone().mix(&Mix::identity(3));
    assert_eq!(values(w), values(pair.0));
}

/// Criterion: a draw for another batch size is rejected at the boundary (panic).
#[test]
#[should_panic]
fn mixing_a_wrong_batch_panics() {
    let x = Tensor::<2>::zeros([3, 2], &Device::flex());
    let _ = x.mix(&Mix::identity(4));
}

/// Criterion: a loss given a draw for another batch size panics at the boundary instead of mixing wrong labels.
#[test]
#[should_panic(expected = "mixup draw for batch 3")]
fn loss_with_a_wrong_batch_draw_panics() {
    let device = Device::flex();
    let logits = Tensor::<2>::zeros([2, 4], &device);
    let labels = Tensor::<1, Int>::from_data(TensorData::from([0_i64, 1]), &device);
    let mix = Mix {
        lambda: 0.5,
        perm: vec![2, 0, 1],
    };
    let _ = training_loss_with(MixupLoss::ArcMix, |z, _| z, logits, labels, Some(&mix));
}

/// Criterion: with a head without margin (identity `margin`), the three loss forms equal their definitions built
/// from `cross_entropy` by hand (losses_arcmix.md §5–6): ArcMix and Noisy-ArcMix both λ·CE(z, y) + (1 − λ)·CE(z,
/// y[perm]), soft target the same, all within 1e-6; no mix and λ = 1 give CE(z, y).
#[test]
fn loss_forms_reduce_to_weighted_cross_entropies() {
    let device = Device::flex();
    let logits = Tensor::<2>::from_data(
        TensorData::from([
            [2.0_f32, -1.0, 0.5],
            [0.0, 1.0, 3.0],
            [1.5, 1.5, -2.0],
            [-0.5, 2.5, 0.0],
        ]),
        &device,
    );
    let labels = Tensor::<1, Int>::from_data(TensorData::from([0_i64, 2, 1, 1]), &device);
    let mix = Mix {
        lambda: 0.8,
        perm: vec![1, 3, 0, 2],
    };
    let per_a = values(cross_entropy_per_sample(logits.clone(), labels.clone()));
    let per_b = values(cross_entropy_per_sample(
        logits.clone(),
        mix.partner_labels(labels.clone()),
    ));
    let want = (0..4).map(|i| 0.8 * per_a[i] + 0.2 * per_b[i]).sum::<f64>() / 4.0;
    let identity = |z: Tensor<2>, _: Tensor<1, Int>| z;
    for kind in [MixupLoss::ArcMix, MixupLoss::NoisyArcMix, MixupLoss::SoftTarget] {
        let got = values(training_loss_with(
            kind,
            identity,
            logits.clone(),
            labels.clone(),
            Some(&mix),
        ))[0];
        assert!((got - want).abs() < 1e-6, "{kind:?}: {got} vs {want}");
        let plain = values(cross_entropy(logits.clone(), labels.clone()))[0];
        for m in [None, Some(&Mix::identity(4))] {
            let got = values(training_loss_with(kind, identity, logits.clone(), labels.clone(), m))[0];
            assert!((got - plain).abs() < 1e-6, "{kind:?} without mix: {got} vs {plain}");
        }
    }
}

/// Criterion: the loss is tagged by `kind` (`margin`); the serde names are kebab-case (`arc-mix`, `noisy-arc-mix`,
/// `soft-target`), the specs' spellings are accepted as aliases, a missing field takes its default, and an unknown
/// field or kind is an error.
#[test]
fn serde_names_and_defaults() {
    let parse = |s: &str| serde_json::from_str::<LossConfig>(s);
    assert_eq!(parse(r#"{"kind": "margin"}"#).expect("defaults"), LossConfig::default());
    let config = parse(r#"{"kind": "margin", "mixup_alpha": 0.5, "mixup_loss": "noisy-arc-mix"}"#).expect("valid");
    assert_eq!(config, LossConfig::mixup(0.5, MixupLoss::NoisyArcMix));
    for (name, kind) in [
        ("arc-mix", MixupLoss::ArcMix),
        ("arcmix", MixupLoss::ArcMix),
        ("noisy_arcmix", MixupLoss::NoisyArcMix),
        ("soft-target", MixupLoss::SoftTarget),
        ("soft_target", MixupLoss::SoftTarget),
    ] {
        assert_eq!(
            serde_json::from_str::<MixupLoss>(&format!("\"{name}\"")).expect(name),
            kind
        );
    }
    assert_eq!(
        serde_json::to_string(&MixupLoss::NoisyArcMix).expect("serialise"),
        "\"noisy-arc-mix\""
    );
    assert!(parse(r#"{"kind": "margin", "mixup_alpha": 0.5, "alpha": 1}"#).is_err());
    assert!(parse(r#"{"kind": "margin", "mixup_loss": "arcface"}"#).is_err());
    assert!(parse(r#"{"kind": "contrastive"}"#).is_err());
    assert!(parse(r#"{"mixup_alpha": 0.5}"#).is_err(), "the kind is required");
}

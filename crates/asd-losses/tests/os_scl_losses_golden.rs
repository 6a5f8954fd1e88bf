//! OS-SCL's losses against the reference code's values and gradients (`golden/os_scl/losses.safetensors`,
//! `values.json`; os_scl.md §4, README "Tolerances": losses relative 1e-5, gradients 1e-5 + 1e-4·|ref|): the
//! noisy supervised contrastive loss on two batches with singleton classes, and its sum with Noisy-ArcMix.

mod common;

use asd_losses::{Mix, MixupLoss, SupConConfig, supcon_loss, training_loss};
use asd_models::burn::module::Param;
use asd_models::burn::tensor::{Int, Tensor};
use common::{Fixture, HeadOnly, arcface, assert_close, test_device, to_array};

/// README: losses relative 1e-5.
const LOSS_RTOL: f64 = 1e-5;
/// README: gradients absolute 1e-5 plus relative 1e-4.
const GRAD_ATOL: f64 = 1e-5;
/// See [`GRAD_ATOL`].
const GRAD_RTOL: f64 = 1e-4;

fn values() -> serde_json::Value {
    asd_testkit::json(asd_testkit::golden("os_scl/values.json"))["losses_and_metrics"].clone()
}

fn scalar(t: Tensor<1>) -> f64 {
    t.into_data().try_to_vec_as::<f64>().expect("a float")[0]
}

fn check_value(got: f64, expected: f64, what: &str) {
    assert!(
        (got - expected).abs() <= LOSS_RTOL * expected.abs(),
        "{what}: {got} vs the reference's {expected}"
    );
}

/// Criterion: `loss_code` of both SupCon cases (τ 0.02, τ_b 0.07; case A has one singleton class, case B two)
/// within relative 1e-5, and d loss / d features within the README's gradient tolerance.
#[test]
fn supcon_matches_the_reference_with_singleton_classes() {
    let device = test_device().autodiff();
    let mut fixture = Fixture::open("os_scl/losses.safetensors");
    for case in ["A", "B"] {
        let features = Param::from_tensor(fixture.tensor::<2>(&format!("supcon_{case}_features"), &device));
        let labels: Tensor<1, Int> = fixture.int_tensor(&format!("supcon_{case}_labels"), &device);
        let loss = supcon_loss(features.val(), labels, &SupConConfig::default());
        let expected = values()[format!("supcon_{case}")]["loss_code"]
            .as_f64()
            .expect("loss_code");
        check_value(scalar(loss.clone()), expected, &format!("SupCon {case}"));
        let grads = loss.backward();
        let grad = features.grad(&grads).expect("a gradient for the features");
        assert_close(
            &to_array::<f64>(grad.into_data()),
            &fixture.array::<f64>(&format!("supcon_{case}_grad")),
            GRAD_ATOL,
            GRAD_RTOL,
            &format!("SupCon {case} gradient"),
        );
    }
}

/// Criterion: OS-SCL's objective L = L_sup(z, y_a) + λ·CE(ArcFace(z, y_a), y_a) + (1 − λ)·CE(·, y_b) with
/// λ = 0.62, m 0.4, s 30 equals the reference `os_scl(...)` 10.4189339 within relative 1e-5, its parts 0.7041588
/// and 9.7147751, and dL/dz the reference's gradient.
#[test]
fn supcon_plus_noisy_arcmix_is_the_reference_objective() {
    let device = test_device().autodiff();
    let mut fixture = Fixture::open("os_scl/losses.safetensors");
    let total = &values()["total_os_scl"];
    let features = Param::from_tensor(fixture.tensor::<2>("supcon_A_features", &device));
    let y_a: Tensor<1, Int> = fixture.int_tensor("supcon_A_labels", &device);
    let (labels_a, labels_b) = (
        common::indices(&mut fixture, "supcon_A_labels"),
        common::indices(&mut fixture, "total_yb"),
    );
    // The permutation whose partners carry y_b: the i-th unused example of y_a with label y_b[i].
    let mut used = vec![false; labels_a.len()];
    let perm: Vec<usize> = labels_b
        .iter()
        .map(|&b| {
            let p = (0..labels_a.len())
                .find(|&j| !used[j] && labels_a[j] == b)
                .expect("y_b is y_a permuted");
            used[p] = true;
            p
        })
        .collect();
    let mix = Mix {
        lambda: total["lam"].as_f64().expect("lam"),
        perm,
    };
    let head = HeadOnly(arcface(
        fixture.tensor::<2>("total_W", &device),
        total["s"].as_f64().expect("s"),
        total["m"].as_f64().expect("m"),
    ));
    let z = features.val();
    let supcon = supcon_loss(z.clone(), y_a.clone(), &SupConConfig::default());
    let logits = head.0.forward(z);
    let namix = training_loss(MixupLoss::NoisyArcMix, &head, logits, y_a, Some(&mix));
    check_value(
        scalar(supcon.clone()),
        total["supcon_part"].as_f64().expect("part"),
        "SupCon part",
    );
    check_value(
        scalar(namix.clone()),
        total["namix_part"].as_f64().expect("part"),
        "Noisy-ArcMix part",
    );
    let loss = supcon + namix;
    check_value(
        scalar(loss.clone()),
        total["loss_total"].as_f64().expect("total"),
        "OS-SCL objective",
    );
    let grads = loss.backward();
    let grad = features.grad(&grads).expect("a gradient for z");
    assert_close(
        &to_array::<f64>(grad.into_data()),
        &fixture.array::<f64>("total_grad_features"),
        GRAD_ATOL,
        GRAD_RTOL,
        "OS-SCL objective gradient",
    );
}

/// Criterion: with `[loss] supcon` set, the training step's loss is the margin loss plus exactly the reference's
/// SupCon value (0.7041588 on case A; without mixup, as the input of this head-only model is the embedding);
/// validation leaves it out.
#[test]
fn the_margin_step_adds_supcon_when_asked() {
    use asd_losses::{MarginLossConfig, MarginStep};
    use asd_train::{Batch, TrainStep};
    use rand::SeedableRng;

    let device = test_device().autodiff();
    let mut fixture = Fixture::open("os_scl/losses.safetensors");
    let z = fixture.tensor::<2>("supcon_A_features", &device);
    let label_values = common::indices(&mut fixture, "supcon_A_labels");
    let labels: Tensor<1, Int> = fixture.int_tensor("supcon_A_labels", &device);
    let head = HeadOnly(arcface(fixture.tensor::<2>("total_W", &device), 30.0, 0.4));
    let batch = || Batch {
        input: z.clone(),
        labels: labels.clone(),
        label_values: label_values.clone(),
        examples: (0..label_values.len()).collect(),
    };
    // No mixup: this head-only model's input is the embedding itself, which mixup would blend.
    let plain = MarginLossConfig::default();
    let with_supcon = MarginLossConfig {
        supcon: Some(SupConConfig::default()),
        ..plain.clone()
    };
    let step_loss = |config: &MarginLossConfig| {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        scalar(
            MarginStep::new(config.clone())
                .step(&head, batch(), &mut rng)
                .expect("a step")
                .loss,
        )
    };
    let added = step_loss(&with_supcon) - step_loss(&plain);
    let expected = values()["supcon_A"]["loss_code"].as_f64().expect("loss_code");
    assert!(
        (added - expected).abs() <= 1e-5,
        "the step added {added}, SupCon is {expected}"
    );
    let validation = |config: &MarginLossConfig| {
        scalar(
            MarginStep::new(config.clone())
                .validation_loss(&head, batch())
                .expect("a loss"),
        )
    };
    assert_eq!(validation(&with_supcon), validation(&plain));
}

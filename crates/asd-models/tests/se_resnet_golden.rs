//! SE-ResNet18 (firstshot2025.md §7) against `tests/fixtures/se_resnet18/` (made by its `make_fixture.py`, a
//! PyTorch implementation written from the spec; README there): with the fixture's small widths (16, 32, 64, 128),
//! embedding 32, and its weights and BatchNorm statistics, the evaluation-mode embedding, the training-mode
//! embedding, every BatchNorm's running statistics after that training forward, and the gradients of a fixed
//! projection of the embedding.

#[allow(dead_code)] // the ASDNet fixture helpers of `common` are not used here
mod common;

use asd_models::backbone::se_resnet::{SeResNet, SeResNetConfig};
use asd_models::burn::nn::BatchNorm;
use asd_models::burn::tensor::{Device, Tensor, TensorData};
use asd_testkit::{assert_allclose, max_abs, safetensor};
use common::{assert_close, test_device};
use ndarray::ArrayD;
use std::path::{Path, PathBuf};

/// README: `eval.out` atol 1e-5 (measured f32 vs f64 gap 1.7e-7).
const EVAL_ATOL: f64 = 1e-5;
/// README: `train.out` atol 2e-4 (gap 1.2e-5: BatchNorm1d over a batch of two).
const TRAIN_ATOL: f64 = 2e-4;
/// README: running statistics atol 5e-6 (gap ≤ 2e-7).
const RUNNING_ATOL: f64 = 5e-6;
/// README: gradients within 2e-3 × the tensor's largest |value| (gap ≤ 2e-4 of it).
const GRAD_REL: f64 = 2e-3;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/se_resnet18/fixture.safetensors")
}

fn read(key: &str) -> ArrayD<f32> {
    safetensor(fixture(), key)
}

fn tensor<const D: usize>(key: &str, device: &Device) -> Tensor<D> {
    let a = read(key);
    Tensor::from_data(
        TensorData::new(a.iter().copied().collect::<Vec<f32>>(), a.shape().to_vec()),
        device,
    )
}

fn array<const D: usize>(t: Tensor<D>) -> ArrayD<f32> {
    let shape = t.dims().to_vec();
    ArrayD::from_shape_vec(shape, t.into_data().try_to_vec::<f32>().expect("f32")).expect("shape")
}

/// The network with the fixture's weights: PyTorch's `downsample.0` / `.1` are our `downsample.conv` / `.bn`;
/// the fixture's inputs, outputs and gradients are not weights.
fn model(device: &Device) -> SeResNet {
    let skeleton = SeResNetConfig::new()
        .with_widths([16, 32, 64, 128])
        .with_embedding_dim(32)
        .init(device)
        .expect("fixture sizes");
    let names = asd_models::weights::tensor_shapes(&fixture()).expect("the fixture's tensors");
    let unused: Vec<&str> = names
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|n| {
            ["x", "proj"].contains(n) || ["eval.", "train.", "after.", "grad."].iter().any(|p| n.starts_with(p))
        })
        .collect();
    let map = [
        (r"^(layer\d\.\d)\.downsample\.0\.", "$1.downsample.conv."),
        (r"^(layer\d\.\d)\.downsample\.1\.", "$1.downsample.bn."),
    ];
    asd_models::weights::load_torch(skeleton, &fixture(), &map, &unused).unwrap_or_else(|e| panic!("{e}"))
}

/// Every BatchNorm of the network under its PyTorch name.
fn batch_norms(model: &SeResNet) -> Vec<(String, &BatchNorm)> {
    let mut out = vec![("bn1".to_string(), &model.bn1)];
    for (name, blocks) in [
        ("layer1", &model.layer1),
        ("layer2", &model.layer2),
        ("layer3", &model.layer3),
        ("layer4", &model.layer4),
    ] {
        for (i, block) in blocks.iter().enumerate() {
            out.push((format!("{name}.{i}.bn1"), &block.bn1));
            out.push((format!("{name}.{i}.bn2"), &block.bn2));
            if let Some(d) = &block.downsample {
                out.push((format!("{name}.{i}.downsample.1"), &d.bn));
            }
        }
    }
    out.push(("head_bn".to_string(), &model.head_bn));
    out
}

/// Criterion: in evaluation mode (BatchNorm on the fixture's running statistics) the embedding is the reference's
/// within 1e-5.
#[test]
fn the_evaluation_embedding_is_the_references() {
    let device = test_device();
    let out = model(&device).forward(tensor("x", &device));
    assert_close(out, &read("eval.out"), EVAL_ATOL, 0.0, "eval embedding");
}

/// Criterion: in training mode the embedding (within 2e-4), all 21 BatchNorms' running statistics after the
/// forward pass (within 5e-6; PyTorch's unbiased running variance), and the gradients of `sum(out · proj)` with
/// respect to the input and nine parameters spread over the stem, the blocks, a gate, a shortcut and the head
/// (within 2e-3 of each tensor's largest value) are the reference's.
#[test]
fn training_forward_statistics_and_gradients_are_the_references() {
    let device = test_device().autodiff();
    let model = model(&device);
    let x = tensor::<4>("x", &device).require_grad();
    let out = model.forward(x.clone());
    assert_close(out.clone(), &read("train.out"), TRAIN_ATOL, 0.0, "train embedding");
    for (name, bn) in batch_norms(&model) {
        let mean = array(bn.running_mean.value_sync().inner());
        assert_allclose(
            &mean,
            &read(&format!("after.{name}.running_mean")),
            RUNNING_ATOL,
            0.0,
            &name,
        );
        let var = array(bn.running_var.value_sync().inner());
        assert_allclose(
            &var,
            &read(&format!("after.{name}.running_var")),
            RUNNING_ATOL,
            0.0,
            &name,
        );
    }
    let loss = (out * tensor::<2>("proj", &device)).sum();
    let grads = loss.backward();
    let check = |key: &str, ours: ArrayD<f32>| {
        let expected = read(&format!("grad.{key}"));
        let atol = GRAD_REL * max_abs(&expected);
        assert_allclose(&ours, &expected, atol, 0.0, &format!("gradient of {key}"));
    };
    check("x", array(x.grad(&grads).expect("input gradient")));
    let conv = |w: &asd_models::burn::module::Param<Tensor<4>>| array(w.grad(&grads).expect("gradient"));
    let gamma = |bn: &BatchNorm| array(bn.gamma.grad(&grads).expect("gradient"));
    // Burn's Linear weight is [in, out], PyTorch's [out, in].
    let linear = |l: &asd_models::burn::nn::Linear| array(l.weight.grad(&grads).expect("gradient").transpose());
    check("conv1.weight", conv(&model.conv1.weight));
    check("bn1.weight", gamma(&model.bn1));
    check("layer1.0.conv1.weight", conv(&model.layer1[0].conv1.weight));
    check("layer1.0.se.fc1.weight", linear(&model.layer1[0].se.fc1));
    let shortcut = model.layer2[0].downsample.as_ref().expect("a projection shortcut");
    check("layer2.0.downsample.0.weight", conv(&shortcut.conv.weight));
    check("layer4.1.conv2.weight", conv(&model.layer4[1].conv2.weight));
    check("layer4.1.se.fc2.weight", linear(&model.layer4[1].se.fc2));
    check("head_bn.weight", gamma(&model.head_bn));
    check("head.weight", linear(&model.head));
}

//! SpecMFN (eval mode, BatchNorm running statistics) against the PyTorch reconstruction's fixtures
//! (`golden/asdnet/specmfn/`, README §3 and §5 tolerances).

mod common;

use asd_models::Embedder;
use asd_models::backbone::specmfn::{SpecMfn, SpecMfnConfig};
use asd_models::burn::module::Module;
use asd_models::burn::tensor::Device;
use common::{Fixture, assert_close, check_embedding_and_head, test_device};

/// README §5: SpecMFN `specnet_out`, `mfn_*`, embeddings (eval mode) |Δ| ≤ 1e-4 + 1e-4·|ref|.
const ATOL: f64 = 1e-4;
const RTOL: f64 = 1e-4;

fn golden_model(device: &Device) -> SpecMfn {
    let model = SpecMfnConfig::new().init(device).expect("default config is valid");
    let path = asd_testkit::golden("asdnet/specmfn/model.safetensors");
    model.load_torch(&path).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn activations_embedding_and_logits_match_the_reference() {
    let device = test_device();
    let model = golden_model(&device);
    let mut inputs = Fixture::open("asdnet/inputs.safetensors");
    let mut io = Fixture::open("asdnet/specmfn/io.safetensors");
    let spectrum = inputs.tensor::<2>("spectrum", &device);

    let image = model.image(spectrum.clone());
    assert_close(
        image.clone().squeeze_dim::<3>(1),
        &io.array("specnet_out"),
        ATOL,
        RTOL,
        "specnet_out",
    );
    let names = ["mfn_conv1", "mfn_dw_conv1"]
        .into_iter()
        .map(String::from)
        .chain((0..6).map(|b| format!("mfn_block_{b}")))
        .chain(["mfn_conv2", "mfn_linear7"].map(String::from));
    let acts = model.mfn.activations(image);
    for (name, act) in names.zip(&acts) {
        assert_close(act.clone(), &io.array(&name), ATOL, RTOL, &name);
    }

    let out = model.forward(spectrum);
    check_embedding_and_head(&model, &model.arcface, out, &mut inputs, &mut io, ATOL, RTOL);
}

#[test]
fn mixed_input_embedding_matches_the_reference() {
    let device = test_device();
    let model = golden_model(&device);
    // x_mix = λ·x + (1−λ)·x[perm], stored with the ASDNet outputs (README §1).
    let mixed = Fixture::open("asdnet/asdnet/io.safetensors").tensor::<2>("spectrum_mixed", &device);
    let mut io = Fixture::open("asdnet/specmfn/io.safetensors");
    let out = model.forward(mixed);
    assert_close(
        out.embedding,
        &io.array("embedding_mixed"),
        ATOL,
        RTOL,
        "embedding_mixed",
    );
}

/// Criterion: decisions.md §9 — params 1,052,288 (with ArcFace W, without fc_out), params_paper 1,052,329 (with
/// fc_out, without ArcFace W), MACs 184,037,376 per 2-s segment (asdnet_specmfn.md §3.4 "total without fc_out";
/// 184.04 M). Burn's `num_params()` also counts the BatchNorm running mean and variance: 2 × 6 912 BN channels
/// (conv1 64, dw_conv1 64, bottlenecks 384 + 640 + 4 × 1 152, conv2 512, linear7 512, linear1 128) = 13 824 more.
#[test]
fn counts_match_the_spec() {
    let device = test_device();
    let model = SpecMfnConfig::new().init(&device).expect("valid");
    let count = model.count();
    assert_eq!(count.params, 1_052_288);
    assert_eq!(count.params_paper, 1_052_329);
    assert_eq!(count.macs, 184_037_376);
    assert_eq!(model.num_params(), count.params + 13_824);
}

/// README §5: `embedding_trainmode_bn` (every BatchNorm on batch statistics, biased variance) ≤ 5e-3 absolute.
/// On an autodiff device Burn's BatchNorm takes its training path, as PyTorch's `train()` mode does.
#[test]
fn train_mode_batch_norm_embedding_matches_the_reference() {
    let device = test_device().autodiff();
    let model = golden_model(&device);
    let spectrum = Fixture::open("asdnet/inputs.safetensors").tensor::<2>("spectrum", &device);
    let mut io = Fixture::open("asdnet/specmfn/io.safetensors");
    let out = model.forward(spectrum);
    assert_close(
        out.embedding,
        &io.array("embedding_trainmode_bn"),
        5e-3,
        0.0,
        "embedding_trainmode_bn",
    );
}

//! ASDNet against the PyTorch reconstruction's fixtures (`golden/asdnet/`, README §2 and §5 tolerances).

mod common;

use asd_models::Embedder;
use asd_models::backbone::asdnet::{AsdNet, AsdNetConfig};
use asd_models::burn::tensor::Device;
use common::{Fixture, assert_close, check_embedding_and_head, test_device};

/// README §5: activations and embeddings |Δ| ≤ 1e-5 + 1e-4·|ref|.
const ACT_ATOL: f64 = 1e-5;
const ACT_RTOL: f64 = 1e-4;

fn golden_model(device: &Device) -> AsdNet {
    let model = AsdNetConfig::new().init(device).expect("paper config is valid");
    let path = asd_testkit::golden("asdnet/asdnet/model.safetensors");
    model.load_torch(&path).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn activations_embedding_and_logits_match_the_reference() {
    let device = test_device();
    let model = golden_model(&device);
    let mut inputs = Fixture::open("asdnet/inputs.safetensors");
    let mut io = Fixture::open("asdnet/asdnet/io.safetensors");
    let spectrum = inputs.tensor::<2>("spectrum", &device);

    let acts = model.stack.activations(spectrum.clone().unsqueeze_dim(1));
    assert_eq!(acts.len(), 8);
    for (i, act) in acts.iter().enumerate() {
        let key = format!("act_{i}");
        assert_close(act.clone(), &io.array(&key), ACT_ATOL, ACT_RTOL, &key);
    }
    let flat = acts[7].clone().flatten::<2>(1, 2);
    assert_close(flat, &io.array("flat"), ACT_ATOL, ACT_RTOL, "flat");

    let out = model.forward(spectrum);
    check_embedding_and_head(&model, &model.arcface, out, &mut inputs, &mut io, ACT_ATOL, ACT_RTOL);
}

#[test]
fn mixed_input_embedding_matches_the_reference() {
    let device = test_device();
    let model = golden_model(&device);
    let mut io = Fixture::open("asdnet/asdnet/io.safetensors");
    let mixed = io.tensor::<2>("spectrum_mixed", &device);
    let out = model.forward(mixed);
    assert_close(
        out.embedding,
        &io.array("embedding_mixed"),
        ACT_ATOL,
        ACT_RTOL,
        "embedding_mixed",
    );
}

/// Criterion: a weight file that does not fit is a typed error naming the file (here SpecMFN's weights).
#[test]
fn foreign_weights_are_rejected_with_the_path() {
    let device = test_device();
    let model = AsdNetConfig::new().init(&device).expect("valid");
    let path = asd_testkit::golden("asdnet/specmfn/model.safetensors");
    let err = model.load_torch(&path).expect_err("SpecMFN weights do not fit ASDNet");
    let text = err.to_string();
    assert!(
        text.contains("specmfn/model.safetensors") && text.contains("missing"),
        "{text}"
    );
    let missing = asd_testkit::golden("asdnet/nope.safetensors");
    let model = AsdNetConfig::new().init(&device).expect("valid");
    let err = model.load_torch(&missing).expect_err("no file");
    assert!(matches!(err, asd_models::Error::WeightFile { .. }), "{err}");
}

/// Criterion: decisions.md §9 — params 515,456 (with the 41×128 ArcFace W), params_paper 510,208, and MACs
/// 85,695,744 per 2-s segment (asdnet_specmfn.md §2.1 table: conv 85,662,976 + Linear 32,768); `params` equals
/// Burn's own `num_params()`.
#[test]
fn counts_match_the_spec() {
    use asd_models::burn::module::Module;
    let device = test_device();
    let model = AsdNetConfig::new().init(&device).expect("valid");
    let count = model.count();
    assert_eq!(count.params, 515_456);
    assert_eq!(count.params_paper, 510_208);
    assert_eq!(count.macs, 85_695_744);
    assert_eq!(model.num_params(), count.params);
}

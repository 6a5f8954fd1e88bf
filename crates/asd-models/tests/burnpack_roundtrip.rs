//! Saving and loading in Burn's burnpack format (`weights::save_burnpack` / `load_burnpack`).

#[allow(dead_code)] // the ASDNet fixture helpers of `common` are not used here
mod common;

use asd_models::backbone::mobilefacenet::MfnVariant;
use asd_models::backbone::stgram_mfn::{StgramInput, StgramMfn, StgramMfnConfig};
use asd_models::weights::{load_burnpack, save_burnpack};
use asd_models::{Embedder, Error};
use common::{Fixture, test_device};
use std::path::PathBuf;

fn config() -> StgramMfnConfig {
    StgramMfnConfig::new().with_variant(MfnVariant::B)
}

fn tmp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("asd-models-burnpack");
    std::fs::create_dir_all(&dir).expect("temporary directory");
    dir.join(name)
}

/// Criterion: a model with the golden STgram-MFN B weights (non-default BatchNorm running statistics, LayerNorm
/// and PReLU values), saved and loaded into a freshly initialised model of the same configuration, gives
/// bit-identical embeddings and logits on the golden inputs, and saving again over the file works.
#[test]
fn saved_model_reloads_bit_identically() {
    let device = test_device();
    let original: StgramMfn = config()
        .init(&device)
        .expect("valid")
        .load_torch(&asd_testkit::golden("stgram_mfn/model_head/model.safetensors"))
        .unwrap_or_else(|e| panic!("{e}"));
    let path = tmp("stgram_mfn_b.bpk");
    save_burnpack(&original, &path).unwrap_or_else(|e| panic!("{e}"));
    save_burnpack(&original, &path).unwrap_or_else(|e| panic!("overwrite: {e}"));
    let fresh = asd_models::init::seeded(&device, 99, |d| config().init(d)).expect("valid");
    let reloaded = load_burnpack(fresh, &path).unwrap_or_else(|e| panic!("{e}"));

    let mut inputs = Fixture::open("stgram_mfn/model_inputs.safetensors");
    let input = StgramInput {
        wave: inputs.tensor("x_wav", &device),
        mel: inputs.tensor("x_mel", &device),
    };
    let a = original.forward(input.clone());
    let b = reloaded.forward(input);
    for (x, y, what) in [(a.embedding, b.embedding, "embedding"), (a.logits, b.logits, "logits")] {
        let (x, y) = (x.into_data(), y.into_data());
        assert_eq!(x.try_to_vec::<f32>().ok(), y.try_to_vec::<f32>().ok(), "{what}");
    }
}

/// Criterion: a missing file is `WeightFile` naming it; a file from another variant is `WeightMismatch` naming it.
#[test]
fn bad_files_are_typed_errors_naming_the_file() {
    let device = test_device();
    let missing = tmp("does_not_exist.bpk");
    match load_burnpack(config().init(&device).expect("valid"), &missing) {
        Err(Error::WeightFile { path, .. }) => assert_eq!(path, missing),
        other => panic!("expected WeightFile, got {:?}", other.map(|_| ())),
    }
    let path = tmp("variant_b_for_a.bpk");
    save_burnpack(&config().init(&device).expect("valid"), &path).unwrap_or_else(|e| panic!("{e}"));
    let variant_a = config().with_variant(MfnVariant::A).init(&device).expect("valid");
    match load_burnpack(variant_a, &path) {
        Err(Error::WeightMismatch { path: p, detail }) => {
            assert_eq!(p, path);
            assert!(detail.contains("blocks.14"), "{detail}");
        }
        other => panic!("expected WeightMismatch, got {:?}", other.map(|_| ())),
    }
}

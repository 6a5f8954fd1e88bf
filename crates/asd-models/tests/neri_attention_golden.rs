//! The attention net of seed 001 (eval and training mode) against the reference PyTorch module's fixtures
//! (`golden/neri/`, README "Tolerances for a float32 reimplementation"), its parameter and MAC counts (spec §7–8),
//! and its weights loaded under a Lightning checkpoint's `model.` prefix.

#[allow(dead_code)] // the ASDNet fixture helpers of `common` are not used here
mod common;

use asd_models::Embedder;
use asd_models::backbone::neri_attention::{NeriAttention, NeriAttentionConfig};
use asd_models::backbone::stgram_mfn::StgramInput;
use asd_models::burn::tensor::{Device, Int, Tensor, TensorData};
use common::{Fixture, assert_close, test_device};
use ndarray::ArrayD;
use std::path::Path;

/// README: `wavegram`, `train_wavegram` |Δ| ≤ 1e-4.
const WAVEGRAM_ATOL: f64 = 1e-4;
/// README: `attention`, `train_attention` |Δ| ≤ 2e-4.
const ATTENTION_ATOL: f64 = 2e-4;
/// README: `embedding` (values up to ~21) |Δ| ≤ 5e-3.
const EMBEDDING_ATOL: f64 = 5e-3;
/// README: `train_embedding` |Δ| ≤ 1e-3.
const TRAIN_EMBEDDING_ATOL: f64 = 1e-3;
/// README: `arcface_logits`, `train_arcface_logits`, `anomaly_score` |Δ| ≤ 2e-3.
const LOGITS_ATOL: f64 = 2e-3;

fn model(path: &Path, device: &Device) -> NeriAttention {
    NeriAttentionConfig::new()
        .init(device)
        .expect("paper config")
        .load_torch(path)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The fixture's batch: the two waveforms, the reference log-Mel of each, and the labels [5, 28].
fn inputs(device: &Device) -> (StgramInput, Tensor<1, Int>) {
    let waves = asd_testkit::npy(asd_testkit::golden("neri/input_waveforms.npy"));
    let labels = asd_testkit::npy_i64(asd_testkit::golden("neri/input_labels.npy"));
    let mut outputs = Fixture::open("neri/outputs.safetensors");
    let wave = Tensor::<2>::from_data(
        TensorData::new(waves.iter().copied().collect::<Vec<f32>>(), waves.shape().to_vec()),
        device,
    );
    let labels = Tensor::<1, Int>::from_data(
        TensorData::new(labels.iter().copied().collect::<Vec<i64>>(), [labels.len()]),
        device,
    );
    (
        StgramInput {
            wave,
            mel: outputs.tensor("logmel", device),
        },
        labels,
    )
}

/// Checks the Wavegram, attention map, embedding and margin logits of `model` on `device` against the fixture's
/// tensors named with `prefix` (`""` for eval mode, `"train_"` for training mode).
fn check(model: &NeriAttention, device: &Device, prefix: &str, embedding_atol: f64) {
    let (input, labels) = inputs(device);
    let mut outputs = Fixture::open("neri/outputs.safetensors");
    let mut expected = |key: &str| -> ArrayD<f32> { outputs.array(&format!("{prefix}{key}")) };
    let maps = model.maps(input.clone());
    assert_close(maps.wavegram, &expected("wavegram"), WAVEGRAM_ATOL, 0.0, "wavegram");
    assert_close(
        maps.attention.clone(),
        &expected("attention"),
        ATTENTION_ATOL,
        0.0,
        "attention",
    );
    let low = f64::from(maps.attention.min().into_scalar::<f32>());
    assert!(low >= 0.5, "attention map below 0.5: {low}");
    if prefix.is_empty() {
        assert_close(
            maps.features,
            &expected("features_in"),
            WAVEGRAM_ATOL,
            0.0,
            "features_in",
        );
    }
    let out = model.forward(input);
    assert_close(out.embedding, &expected("embedding"), embedding_atol, 0.0, "embedding");
    let logits = model.margin_logits(out.logits, labels);
    assert_close(logits, &expected("arcface_logits"), LOGITS_ATOL, 0.0, "arcface_logits");
}

/// Criterion: with the golden weights, eval mode (BatchNorm on running statistics) reproduces the reference's
/// Wavegram, stacked input, attention map (≥ 0.5), embedding and ArcFace margin logits within the README's
/// tolerances.
#[test]
fn eval_mode_matches_the_reference() {
    let device = test_device();
    let model = model(&asd_testkit::golden("neri/model.safetensors"), &device);
    check(&model, &device, "", EMBEDDING_ATOL);
}

/// Criterion: training mode (every BatchNorm on this batch's statistics, an autodiff device) reproduces the
/// reference's `train_*` tensors within the README's tolerances.
#[test]
fn train_mode_matches_the_reference() {
    let device = test_device().autodiff();
    let model = model(&asd_testkit::golden("neri/model.safetensors"), &device);
    check(&model, &device, "train_", TRAIN_EMBEDDING_ATOL);
}

/// Criterion: spec §7–8 — 879 087 parameters as trained, 884 376 as the paper counts them (with the unused
/// `fc_out`), and 755 273 216 conv + linear MACs per 10-s clip.
#[test]
fn counts_are_the_specs() {
    let count = NeriAttentionConfig::new()
        .init(&Device::flex())
        .expect("paper config")
        .count();
    assert_eq!(
        (count.params, count.params_paper, count.macs),
        (879_087, 884_376, 755_273_216)
    );
}

/// Criterion: the golden weights saved with every key prefixed `model.` (the reference's Lightning checkpoint
/// layout) load to the same network, bit for bit.
#[test]
fn lightning_prefixed_weights_load_the_same() {
    let golden = asd_testkit::golden("neri/model.safetensors");
    let bytes = std::fs::read(&golden).expect("golden weights");
    let file = safetensors::SafeTensors::deserialize(&bytes).expect("safetensors");
    let renamed: Vec<(String, safetensors::tensor::TensorView<'_>)> = file
        .tensors()
        .into_iter()
        .map(|(name, view)| (format!("model.{name}"), view))
        .collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let prefixed = dir.path().join("lightning.safetensors");
    safetensors::serialize_to_file(renamed, None, &prefixed).expect("written");
    let device = Device::flex();
    let (input, _) = inputs(&device);
    let embed = |path: &Path| -> ArrayD<f32> {
        common::to_array(model(path, &device).forward(input.clone()).embedding.into_data())
    };
    assert_eq!(embed(&prefixed), embed(&golden));
}

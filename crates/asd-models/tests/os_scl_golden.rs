//! OS-SCL's networks (seed 002) against the reference code's fixtures (`golden/os_scl/`, README "Tolerances a
//! reimplementation should meet"): TFgramNet's intermediate maps and output with the TFSTgram model's weights,
//! and its parameter and MAC counts (os_scl.md §7–8).

#[allow(dead_code)] // the ASDNet fixture helpers of `common` are not used here
mod common;

use asd_models::burn::module::Module;
use asd_models::burn::tensor::{Device, Tensor};
use asd_models::frontend::tfgramnet::{TfgramNet, TfgramNetConfig};
use common::{Fixture, assert_close, test_device};

/// README: TFgram intermediates and `tfgram` max abs ≤ 1e-4.
const TFGRAM_ATOL: f64 = 1e-4;

/// TFgramNet alone, under the reference's key prefix `TFgramNet.` (the field is renamed to `tfgram`).
#[derive(Module, Debug)]
struct Only {
    tfgram: TfgramNet,
}

/// TFgramNet with the TFSTgram fixture's `TFgramNet.*` weights; every other tensor of the file is left unused.
fn tfgram(device: &Device) -> TfgramNet {
    let path = asd_testkit::golden("os_scl/tfstgram_model.safetensors");
    let names = asd_models::weights::tensor_shapes(&path).expect("the fixture's tensors");
    let unused: Vec<&str> = names
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|name| !name.starts_with("TFgramNet."))
        .collect();
    let only = Only {
        tfgram: TfgramNetConfig::new().init(device).expect("reference config"),
    };
    asd_models::weights::load_torch(only, &path, &[(r"^TFgramNet\.", "tfgram.")], &unused)
        .unwrap_or_else(|e| panic!("{e}"))
        .tfgram
}

/// The fixture's two 10-s waveforms `[2, 160000]`.
fn waves(device: &Device) -> Tensor<2> {
    let wav: Tensor<3> = Fixture::open("os_scl/inputs.safetensors").tensor("wav", device);
    wav.squeeze_dim::<2>(1)
}

/// Criterion: in evaluation mode (BatchNorm on the fixture's running statistics) the stem's first 2000 frames, the
/// first block's first 1000 pooled frames, the second block after its adaptive pool (626) and the TFgram (313)
/// are the reference's within 1e-4.
#[test]
fn tfgram_matches_the_reference() {
    let device = test_device();
    let stages = tfgram(&device).stages(waves(&device));
    let mut outputs = Fixture::open("os_scl/tfstgram_outputs.safetensors");
    assert_close(
        stages.stem.narrow(2, 0, 2000),
        &outputs.array("tfgram_stem_first2000"),
        TFGRAM_ATOL,
        0.0,
        "stem",
    );
    assert_close(
        stages.block1.narrow(2, 0, 1000),
        &outputs.array("tfgram_block1_first1000"),
        TFGRAM_ATOL,
        0.0,
        "block 1",
    );
    assert_close(
        stages.block2,
        &outputs.array("tfgram_block2"),
        TFGRAM_ATOL,
        0.0,
        "block 2",
    );
    assert_close(stages.tfgram, &outputs.array("tfgram"), TFGRAM_ATOL, 0.0, "tfgram");
}

/// Criterion: os_scl.md §7–8 — 198 720 parameters and 1 460 322 304 conv MACs per 10-s clip (pre_conv0 22.5 M,
/// blocks 786.4 M, 589.8 M, 61.5 M).
#[test]
fn tfgram_counts_are_the_specs() {
    let net = TfgramNetConfig::new().init(&Device::flex()).expect("reference config");
    let count = net.count();
    assert_eq!((count.params, count.macs), (198_720, 1_460_322_304));
    let macs: Vec<u64> = net.layers("tfgram").iter().map(|row| row.count.macs).collect();
    assert_eq!(
        macs.iter().map(|m| m / 100_000).collect::<Vec<_>>(),
        [225, 7864, 5898, 615]
    );
}

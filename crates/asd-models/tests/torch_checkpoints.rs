//! Published checkpoints as `torch.save` writes them (`.pt` / `.pth`): a model loads from one exactly as from the
//! same weights in safetensors, and files that are not such checkpoints are typed errors naming the file.

mod common;

use asd_models::backbone::asdnet::{AsdNet, AsdNetConfig};
use asd_models::{Embedder, Error};
use common::{Fixture, check_embedding_and_head, test_device, to_array};
use ndarray::ArrayD;
use std::path::{Path, PathBuf};

/// README §5 of `golden/asdnet`: embeddings |Δ| ≤ 1e-5 + 1e-4·|ref|.
const ATOL: f64 = 1e-5;
const RTOL: f64 = 1e-4;

/// This crate's checkpoint fixtures (written by `tests/fixtures/torch_pt/make_fixtures.py`).
fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/torch_pt")
        .join(name)
}

fn asdnet(path: &Path) -> Result<AsdNet, Error> {
    AsdNetConfig::new()
        .init(&test_device())
        .expect("paper config is valid")
        .load_torch(path)
}

/// Criterion: ASDNet loaded from `torch.save` of the golden weights gives the golden embedding, cosine, logits
/// and scores, and bit for bit the output of the same weights loaded from safetensors.
#[test]
fn asdnet_from_torch_save_matches_the_reference() {
    let device = test_device();
    let from_pt = asdnet(&fixture("asdnet.pt")).unwrap_or_else(|e| panic!("{e}"));
    let from_safetensors =
        asdnet(&asd_testkit::golden("asdnet/asdnet/model.safetensors")).unwrap_or_else(|e| panic!("{e}"));
    let mut inputs = Fixture::open("asdnet/inputs.safetensors");
    let mut io = Fixture::open("asdnet/asdnet/io.safetensors");
    let spectrum = inputs.tensor::<2>("spectrum", &device);

    let out = from_pt.forward(spectrum.clone());
    let reference: ArrayD<f32> = to_array(from_safetensors.forward(spectrum).embedding.into_data());
    assert_eq!(to_array::<f32>(out.embedding.clone().into_data()), reference);
    check_embedding_and_head(&from_pt, &from_pt.arcface, out, &mut inputs, &mut io, ATOL, RTOL);
}

/// Criterion: a pre-1.6 PyTorch file, a checkpoint of other tensors and a file that is neither format are typed
/// errors naming the file and the problem.
#[test]
fn other_files_are_typed_errors_naming_the_file() {
    let legacy = fixture("legacy.pt");
    match asdnet(&legacy) {
        Err(Error::WeightFile { path, message }) => {
            assert_eq!(path, legacy);
            assert!(message.contains("before version 1.6"), "{message}");
        }
        other => panic!("expected a WeightFile error, got {other:?}"),
    }
    let foreign = fixture("tensors.pt");
    match asdnet(&foreign) {
        Err(Error::WeightMismatch { path, detail }) => {
            assert_eq!(path, foreign);
            assert!(
                detail.contains("missing") && detail.contains("unused `layer.weight`"),
                "{detail}"
            );
        }
        other => panic!("expected a WeightMismatch error, got {other:?}"),
    }
    let text = fixture("make_fixtures.py");
    let err = asdnet(&text).expect_err("a Python script is no weight file");
    assert!(
        matches!(err, Error::WeightFile { .. }) && err.to_string().contains("make_fixtures.py"),
        "{err}"
    );
}

/// Criterion (issue 18): the reference STgram-MFN checkpoint as its training script saves it
/// (`{"epoch", "optimizer": None, "model": state_dict}`, `stgram_head.pth`) and as a Lightning `.ckpt` (keys prefixed
/// `model.`) list the golden safetensors' 166 tensors with their shapes (the prefix removed), say variant B, 41
/// classes, an ArcFace head and 2 input channels; the paper-era file says variant A; and the network loaded from
/// each file gives bit for bit the embedding of the network loaded from the golden safetensors.
#[test]
fn reference_stgram_checkpoints_tell_their_settings_and_load_like_safetensors() {
    use asd_models::backbone::mfn_classifier::ReferenceSettings;
    use asd_models::backbone::mobilefacenet::MfnVariant;
    use asd_models::backbone::stgram_mfn::{StgramInput, StgramMfn, StgramMfnConfig};
    use asd_models::weights::tensor_shapes;

    let golden = asd_testkit::golden("stgram_mfn/model_head/model.safetensors");
    let expected = tensor_shapes(&golden).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(expected.len(), 166);
    for name in ["stgram_head.pth", "stgram_head.ckpt"] {
        let shapes = tensor_shapes(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(shapes, expected, "{name}");
        let settings = ReferenceSettings::read(&shapes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            settings,
            ReferenceSettings {
                variant: MfnVariant::B,
                n_classes: 41,
                arcface: true,
                in_channels: 2
            }
        );
    }
    let paper = ReferenceSettings::read(&tensor_shapes(&fixture("stgram_paper.pth")).unwrap()).unwrap();
    assert_eq!((paper.variant, paper.n_classes), (MfnVariant::A, 41));

    let device = test_device();
    let load = |path: &Path| -> StgramMfn {
        StgramMfnConfig::new()
            .with_variant(MfnVariant::B)
            .init(&device)
            .expect("valid config")
            .load_torch(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let mut inputs = Fixture::open("stgram_mfn/model_inputs.safetensors");
    let input = StgramInput {
        wave: inputs.tensor("x_wav", &device),
        mel: inputs.tensor("x_mel", &device),
    };
    let reference: ArrayD<f32> = to_array(load(&golden).forward(input.clone()).embedding.into_data());
    for name in ["stgram_head.pth", "stgram_head.ckpt"] {
        let got: ArrayD<f32> = to_array(load(&fixture(name)).forward(input.clone()).embedding.into_data());
        assert_eq!(got, reference, "{name}");
    }
}

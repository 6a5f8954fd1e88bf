//! STgram-MFN (variants B and A) and LogMel-MFN (eval mode, BatchNorm running statistics) against the reference
//! PyTorch modules' fixtures (`golden/stgram_mfn/`, README §2–5, tolerances of README §8).

#[allow(dead_code)] // the ASDNet fixture helpers of `common` are not used here
mod common;

use asd_models::Embedder;
use asd_models::backbone::logmel_mfn::{LogMelMfn, LogMelMfnConfig};
use asd_models::backbone::mobilefacenet::MfnVariant;
use asd_models::backbone::stgram_mfn::{StgramInput, StgramMfn, StgramMfnConfig};
use asd_models::burn::module::Param;
use asd_models::burn::tensor::activation::log_softmax;
use asd_models::burn::tensor::{Device, Int, Tensor};
use asd_models::head::{Head, HeadConfig};
use common::{Fixture, assert_close, test_device};

/// README §8: `tgram`, `fused` |Δ| ≤ 1e-4.
const TGRAM_ATOL: f64 = 1e-4;
/// README §8: `blocks_out` |Δ| ≤ 5e-4.
const BLOCKS_ATOL: f64 = 5e-4;
/// README §8: `gdc_out`, `embedding` |Δ| ≤ 1e-3.
const EMBEDDING_ATOL: f64 = 1e-3;
/// README §8: `cosine` |Δ| ≤ 1e-4.
const COSINE_ATOL: f64 = 1e-4;
/// README §8: `logits_*` (already ×30) |Δ| ≤ 5e-3.
const LOGITS_ATOL: f64 = 5e-3;
/// README §8: `score_*`, `loss_*` |Δ| ≤ 5e-3.
const SCORE_ATOL: f64 = 5e-3;

/// ArcFace as configured in the fixtures (README §3: m = 0.7, s = 30).
const ARCFACE: HeadConfig = HeadConfig::ArcFace {
    scale: 30.0,
    margin: 0.7,
};

fn stgram(variant: MfnVariant, head: HeadConfig, weights: &str, device: &Device) -> StgramMfn {
    let model = StgramMfnConfig::new()
        .with_variant(variant)
        .with_head(head)
        .init(device)
        .expect("valid config");
    let path = asd_testkit::golden(weights);
    model.load_torch(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// The shared batch of README §2: waveforms, log-Mels and labels.
fn inputs(device: &Device) -> (StgramInput, Tensor<1, Int>) {
    let mut inputs = Fixture::open("stgram_mfn/model_inputs.safetensors");
    let input = StgramInput {
        wave: inputs.tensor("x_wav", device),
        mel: inputs.tensor("x_mel", device),
    };
    (input, inputs.int_tensor("labels", device))
}

/// −log softmax(logits)[label] per row: the anomaly score (spec §7.1); its batch mean is the cross-entropy loss.
fn target_nll(logits: Tensor<2>, labels: &Tensor<1, Int>) -> Tensor<1> {
    log_softmax(logits, 1)
        .gather(1, labels.clone().unsqueeze_dim(1))
        .neg()
        .squeeze_dim(1)
}

/// Compares the head outputs of README §3: from the ArcFace model `arc` (output `arc_out`) `embedding`, `cosine`,
/// `logits_nomargin`, `logits_arcface`, `score_arcface`, `score_nomargin`, `loss_arcface`; from the Linear-head
/// model `cee` (output `cee_out`) `logits_fc`, `score_fc`, `loss_fc`; each within README §8's tolerance.
fn check_heads<E: Embedder>(
    arc: &E,
    arc_head: &Head,
    arc_out: asd_models::ModelOutput,
    cee_out: asd_models::ModelOutput,
    labels: &Tensor<1, Int>,
    out: &mut Fixture,
) {
    assert_close(
        arc_out.embedding.clone(),
        &out.array("embedding"),
        EMBEDDING_ATOL,
        0.0,
        "embedding",
    );
    let Head::ArcFace(head) = arc_head else {
        panic!("expected an ArcFace head");
    };
    assert_close(
        head.cosine(arc_out.embedding),
        &out.array("cosine"),
        COSINE_ATOL,
        0.0,
        "cosine",
    );
    assert_close(
        arc_out.logits.clone(),
        &out.array("logits_nomargin"),
        LOGITS_ATOL,
        0.0,
        "logits_nomargin",
    );
    let margin = arc.margin_logits(arc_out.logits.clone(), labels.clone());
    assert_close(
        margin.clone(),
        &out.array("logits_arcface"),
        LOGITS_ATOL,
        0.0,
        "logits_arcface",
    );
    let scores = [
        ("arcface", margin),
        ("nomargin", arc_out.logits),
        ("fc", cee_out.logits.clone()),
    ];
    for (what, logits) in scores {
        let score = target_nll(logits, labels);
        assert_close(
            score.clone(),
            &out.array(&format!("score_{what}")),
            SCORE_ATOL,
            0.0,
            &format!("score_{what}"),
        );
        if what != "nomargin" {
            let key = format!("loss_{what}");
            assert_close(score.mean(), &out.array(&key), SCORE_ATOL, 0.0, &key);
        }
    }
    assert_close(cee_out.logits, &out.array("logits_fc"), LOGITS_ATOL, 0.0, "logits_fc");
}

/// Compares the network outputs of README §3–4: `tgram`, `fused` (if present), `blocks_out` and `gdc_out` of
/// the ArcFace model, then the heads ([`check_heads`]).
fn check_stgram(variant: MfnVariant, dir: &str, has_fused: bool) {
    let device = test_device();
    let weights = format!("stgram_mfn/{dir}/model.safetensors");
    let arc = stgram(variant, ARCFACE, &weights, &device);
    let cee = stgram(variant, HeadConfig::Linear, &weights, &device);
    let (input, labels) = inputs(&device);
    let mut out = Fixture::open(&format!("stgram_mfn/{dir}/outputs.safetensors"));

    let tgram = arc.tgram.forward(input.wave.clone());
    assert_close(tgram, &out.array("tgram"), TGRAM_ATOL, 0.0, "tgram");
    let fused = arc.fused(input.clone());
    if has_fused {
        assert_close(fused.clone(), &out.array("fused"), TGRAM_ATOL, 0.0, "fused");
    }
    let acts = arc.classifier.mfn.activations(fused);
    let n = acts.len();
    // Stages: conv1, dw_conv1, the bottlenecks, conv2, linear7, linear1.
    assert_eq!(n, 2 + arc.classifier.mfn.blocks.len() + 3);
    assert_close(
        acts[n - 4].clone(),
        &out.array("blocks_out"),
        BLOCKS_ATOL,
        0.0,
        "blocks_out",
    );
    assert_close(
        acts[n - 2].clone().flatten::<2>(1, 3),
        &out.array("gdc_out"),
        EMBEDDING_ATOL,
        0.0,
        "gdc_out",
    );

    let arc_out = arc.forward(input.clone());
    let cee_out = cee.forward(input);
    check_heads(&arc, &arc.classifier.head, arc_out, cee_out, &labels, &mut out);
}

/// Variant B (`model_head/`, HEAD 2023 key names): every key of `outputs.safetensors` within README §8
/// (tgram, fused 1e-4; blocks_out 5e-4; gdc_out, embedding 1e-3; cosine 1e-4; logits 5e-3; scores, losses 5e-3,
/// all absolute). The Linear-head ("CEE") model is loaded from the same file: it takes `fc_out` and skips
/// `arcface.weight`; the ArcFace model skips `fc_out`.
#[test]
fn variant_b_matches_the_reference() {
    check_stgram(MfnVariant::B, "model_head", true);
}

/// Variant A (`model_paper/`, paper-era key names, the ArcFace weight stored twice; one copy is skipped): every
/// key of `outputs.safetensors` within README §8, as for variant B (there is no `fused` key).
#[test]
fn variant_a_matches_the_reference() {
    check_stgram(MfnVariant::A, "model_paper", false);
}

/// A LogMel-MFN variant B as README §5 builds it: the `mobilefacenet.*` weights of `model_head/` with `conv1`
/// replaced by `logmel_mfn/conv1_weight.safetensors` (the log-Mel input channel).
fn logmel_from_head(head: HeadConfig, device: &Device) -> LogMelMfn {
    let source = stgram(
        MfnVariant::B,
        head.clone(),
        "stgram_mfn/model_head/model.safetensors",
        device,
    );
    let mut model = LogMelMfnConfig::new()
        .with_variant(MfnVariant::B)
        .with_head(head)
        .init(device)
        .expect("valid config");
    model.classifier = source.classifier;
    let conv1 =
        Fixture::open("stgram_mfn/logmel_mfn/conv1_weight.safetensors").tensor::<4>("conv1.conv.weight", device);
    model.classifier.mfn.conv1.conv.weight = Param::from_tensor(conv1);
    model
}

/// LogMel-MFN (`logmel_mfn/`): embedding (1e-3), cosine (1e-4), logits_nomargin, logits_arcface, logits_fc
/// (5e-3), scores and losses (5e-3) within README §8, absolute, on x_mel `[2, 128, 313]`.
#[test]
fn logmel_mfn_matches_the_reference() {
    let device = test_device();
    let arc = logmel_from_head(ARCFACE, &device);
    let cee = logmel_from_head(HeadConfig::Linear, &device);
    let (input, labels) = inputs(&device);
    let mut out = Fixture::open("stgram_mfn/logmel_mfn/outputs.safetensors");
    let arc_out = arc.forward(input.mel.clone());
    let cee_out = cee.forward(input.mel);
    check_heads(&arc, &arc.classifier.head, arc_out, cee_out, &labels, &mut out);
}

/// Criterion: a file that does not fit is a typed error naming the file, not a panic: the two-channel STgram-MFN
/// file into a LogMel-MFN (conv1 has 2 input channels there, and the TgramNet tensors are unused).
#[test]
fn stgram_weights_do_not_fit_logmel_mfn() {
    let device = test_device();
    let model = LogMelMfnConfig::new()
        .with_variant(MfnVariant::B)
        .init(&device)
        .expect("valid config");
    let path = asd_testkit::golden("stgram_mfn/model_head/model.safetensors");
    match model.load_torch(&path) {
        Err(asd_models::Error::WeightMismatch { path: p, detail }) => {
            assert_eq!(p, path);
            assert!(detail.contains("tgramnet"), "{detail}");
            assert!(detail.contains("conv1"), "{detail}");
        }
        other => panic!("expected a weight mismatch, got {other:?}"),
    }
}

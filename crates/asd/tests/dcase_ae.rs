//! The DCASE autoencoder baseline's pieces against `tests/fixtures/dcase_ae/` (made by its `make_fixture.py`, an
//! independent rewrite of the baseline's feature, model and score code, itself checked bit for bit against the
//! baseline's own functions; README there): the `dcase-ae` front end's log-Mel and stacked vectors, and the network's
//! forward passes, loss, gradients and BatchNorm statistics with the fixture's weights. Then the `dcase-ae` system
//! end to end on synthetic trees of three DCASE generations.

use asd::audio::ChannelPolicy;
use asd::features::{FeatureKind, FeatureSpec};
use asd_testkit::{assert_allclose, json, safetensor};
use ndarray::{Array2, Axis};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/dcase_ae")
        .join(name)
}

/// Tolerance of the log-Mel, dB (README: 1e-3 dB; our fast log10 is within 5e-5 dB, the f32 STFT within about
/// 1e-4 dB above −100 dB).
const DB_TOL: f64 = 1e-3;
/// Below this level a log-Mel value is rounding noise of the f32 FFT (the fixture's f32-vs-f64 gap is quoted above
/// it: 4.2e-6 dB).
const NOISE_DB: f64 = -100.0;

/// The baseline's log-Mel (librosa, 1024/512, 128 Slaney bands, zero-padded centre frames, `10·log10(max(p, ε))`)
/// of a 2-s clip with a silent stretch (frames 25–38 at the floor), and its stacked 640-value vectors.
#[test]
fn the_front_end_gives_the_baselines_log_mel_and_vectors() {
    let wave = safetensor(fixture("fixture.safetensors"), "feat.wave");
    let samples: Vec<f32> = wave.iter().copied().collect();
    let expected_logmel = safetensor(fixture("fixture.safetensors"), "feat.logmel");
    let logmel = FeatureSpec::new(FeatureKind::LogMel)
        .with_preset(asd::features::FrontendPreset::DcaseAe)
        .build()
        .expect("front end")
        .extract(&samples)
        .expect("log-Mel");
    assert_eq!(logmel.dim(), (128, 63));
    // Where the power is rounding noise of the silent stretch's edges (below −100 dB) the f32 FFTs of any two
    // implementations differ by tens of dB; there both must stay below −100 dB, and frames of exact silence sit at
    // the floor in both.
    let mut audible = 0;
    for (ours, reference) in logmel.iter().zip(expected_logmel.iter()) {
        let (ours, reference) = (f64::from(*ours), f64::from(*reference));
        if reference > NOISE_DB {
            audible += 1;
            assert!((ours - reference).abs() <= DB_TOL, "{ours} dB vs {reference} dB");
        } else {
            assert!(
                ours <= NOISE_DB + DB_TOL,
                "{ours} dB where the reference has {reference} dB"
            );
        }
    }
    assert!(audible > 6_000, "{audible} of 8 064 values compared");
    // Frames of exact digital silence (25–38): the reference's power is exactly 0, its floor −156.5 dB; ours is the
    // f32 rounding that the FFT of two real frames per complex transform leaves from the neighbouring frame, 146 dB
    // below it (measured −146.2 to −128.6 dB), within the bound above.

    let stacked = FeatureSpec::new(FeatureKind::StackedLogMel).build().expect("front end");
    assert_eq!(stacked.output_shape(samples.len()), (59, 640));
    let vectors: Array2<f32> = stacked.extract(&samples).expect("vectors");
    let rows = json(fixture("values.json"))["features"]["stacked_rows_index"].clone();
    let rows: Vec<usize> = rows
        .as_array()
        .expect("row indices")
        .iter()
        .map(|r| r.as_u64().expect("index") as usize)
        .collect();
    // The vectors are the log-Mel's frames, frame-major: exactly ours, compared with the reference where it is
    // audible as above.
    let picked = vectors.select(Axis(0), &rows);
    for (i, &t) in rows.iter().enumerate() {
        for k in 0..5 {
            for m in 0..128 {
                assert_eq!(
                    picked[[i, k * 128 + m]],
                    logmel[[m, t + k]],
                    "row {t}, frame {k}, band {m}"
                );
            }
        }
    }
    let expected = safetensor(fixture("fixture.safetensors"), "feat.stacked_rows");
    let audible = |x: f32| if f64::from(x) > NOISE_DB { x } else { 0.0 };
    let (ours, reference) = (picked.mapv(audible), expected.mapv(audible));
    assert_allclose(&ours.into_dyn(), &reference, DB_TOL, 0.0, "stacked vectors (dB)");
}

/// The fixture's initial weights as the baseline's state dict (its float tensors; the BatchNorm counters and the
/// covariances are not the network's), written to `dir`.
fn state_dict(dir: &Path) -> PathBuf {
    let values = json(fixture("values.json"));
    let tensors: Vec<(String, ndarray::ArrayD<f32>)> = values["state_dict_keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(|k| k.as_str())
        .filter(|k| !k.ends_with("num_batches_tracked") && !k.starts_with("cov_"))
        .map(|k| (k.to_string(), safetensor(fixture("fixture.safetensors"), k)))
        .collect();
    let path = dir.join("state_dict.safetensors");
    asd_testkit::write_safetensors(&path, &tensors);
    path
}

/// Tolerance of the forward passes (README: rtol 1e-5; absolute, the outputs being of order 1).
const FORWARD_TOL: f64 = 1e-5;

fn tensor(
    array: &ndarray::ArrayD<f32>,
    device: &asd::models::burn::tensor::Device,
) -> asd::models::burn::tensor::Tensor<2> {
    use asd::models::burn::tensor::{Tensor, TensorData};
    Tensor::<2>::from_data(
        TensorData::new(array.iter().copied().collect::<Vec<f32>>(), array.shape().to_vec()),
        device,
    )
}

fn array(t: asd::models::burn::tensor::Tensor<2>) -> ndarray::ArrayD<f32> {
    let shape = t.dims().to_vec();
    let values = t.into_data().try_to_vec::<f32>().expect("f32");
    ndarray::ArrayD::from_shape_vec(shape, values).expect("shape")
}

/// The baseline's network with the fixture's weights: its evaluation-mode reconstruction, code and per-vector MSE;
/// in training mode (BatchNorm on batch statistics) its reconstruction, the baseline's loss, the gradients of every
/// trainable tensor (the rows the fixture stores) and the BatchNorm running statistics after one batch.
#[test]
fn the_network_reproduces_the_baselines_forward_loss_and_gradients() {
    use asd::models::backbone::dcase_ae::DcaseAeConfig;
    use asd::models::burn::tensor::Device;
    let tmp = tempfile::tempdir().unwrap();
    let weights = state_dict(tmp.path());
    let file = fixture("fixture.safetensors");
    let values = json(fixture("values.json"));
    let x = safetensor(&file, "x");

    let device = Device::flex();
    let model = DcaseAeConfig::new()
        .init(&device)
        .unwrap()
        .load_torch(&weights)
        .unwrap();
    let out = model.forward(tensor(&x, &device));
    assert_allclose(
        &array(out.reconstruction.clone()),
        &safetensor(&file, "eval.recon"),
        FORWARD_TOL,
        FORWARD_TOL,
        "eval recon",
    );
    assert_allclose(
        &array(out.code),
        &safetensor(&file, "eval.z"),
        FORWARD_TOL,
        FORWARD_TOL,
        "eval code",
    );
    let mse = (out.reconstruction - tensor(&x, &device)).square().mean_dim(1);
    let mse: Vec<f32> = mse.into_data().try_to_vec().expect("f32");
    for (ours, theirs) in mse.iter().zip(values["eval_mse_per_row"].as_array().expect("mse")) {
        let theirs = theirs.as_f64().expect("number");
        assert!(
            (f64::from(*ours) - theirs).abs() <= FORWARD_TOL * theirs,
            "MSE {ours} vs {theirs}"
        );
    }

    let device = Device::flex().autodiff();
    let model = DcaseAeConfig::new()
        .init(&device)
        .unwrap()
        .load_torch(&weights)
        .unwrap();
    let input = tensor(&x, &device);
    let out = model.forward(input.clone());
    assert_allclose(
        &array(out.reconstruction.clone()),
        &safetensor(&file, "train.recon"),
        FORWARD_TOL,
        FORWARD_TOL,
        "train recon",
    );
    let loss = (out.reconstruction - input).square().mean();
    let loss_value = f64::from(loss.clone().into_scalar::<f32>());
    let expected_loss = values["train_loss"].as_f64().expect("loss");
    assert!(
        (loss_value - expected_loss).abs() <= FORWARD_TOL * expected_loss,
        "loss {loss_value} vs {expected_loss}"
    );
    let gradients = loss.backward();
    let rows = |key: &str| values["step"]["stored_rows"][key].as_u64().map(|r| r as usize);
    let check = |key: &str, grad: ndarray::ArrayD<f32>| {
        let expected = safetensor(&file, &format!("grad.{key}"));
        let ours = match rows(key) {
            Some(r) => grad.slice_axis(ndarray::Axis(0), ndarray::Slice::from(0..r)).to_owned(),
            None => grad,
        };
        assert_allclose(&ours, &expected, 1e-6, 1e-4, &format!("gradient of {key}"));
    };
    let dyn2 = |t: asd::models::burn::tensor::Tensor<2>| array(t);
    let dyn1 = |t: asd::models::burn::tensor::Tensor<1>| {
        let values = t.into_data().try_to_vec::<f32>().expect("f32");
        ndarray::ArrayD::from_shape_vec(vec![values.len()], values).expect("shape")
    };
    for (side, blocks) in [("encoder", &model.encoder), ("decoder", &model.decoder)] {
        for (i, block) in blocks.iter().enumerate() {
            // Burn's Linear weight is [in, out], PyTorch's [out, in].
            let weight = block
                .linear
                .weight
                .grad(&gradients)
                .expect("weight gradient")
                .transpose();
            check(&format!("{side}.{}.weight", 3 * i), dyn2(weight));
            let bias = block
                .linear
                .bias
                .as_ref()
                .expect("bias")
                .grad(&gradients)
                .expect("bias gradient");
            check(&format!("{side}.{}.bias", 3 * i), dyn1(bias));
            let gamma = block.bn.gamma.grad(&gradients).expect("gamma gradient");
            check(&format!("{side}.{}.weight", 3 * i + 1), dyn1(gamma));
            let running = dyn1(block.bn.running_mean.value_sync().inner());
            let expected = safetensor(&file, &format!("step.{side}.{}.running_mean", 3 * i + 1));
            assert_allclose(&running, &expected, 1e-7, 1e-5, &format!("{side} {i} running mean"));
            // PyTorch moves the running variance with the unbiased batch variance; so does the network (Burn's
            // layer alone would use the biased one).
            let running = dyn1(block.bn.running_var.value_sync().inner());
            let expected = safetensor(&file, &format!("step.{side}.{}.running_var", 3 * i + 1));
            assert_allclose(&running, &expected, 1e-7, 1e-5, &format!("{side} {i} running variance"));
        }
    }
    let weight = model
        .output
        .weight
        .grad(&gradients)
        .expect("output gradient")
        .transpose();
    check("decoder.12.weight", dyn2(weight));
}

/// The baseline's selective Mahalanobis score: per domain the covariance of the 128-value error blocks, centred
/// batch by batch (the fixture's three batches of 24 mixed-domain vectors, in order), its inverse, and each test
/// clip's score (the quadratic form of its mean error block, the smaller over the two domains).
#[test]
fn the_selective_mahalanobis_score_is_the_baselines() {
    use asd::scorers::{MahalanobisParams, Score};
    let file = fixture("fixture.safetensors");
    let values = json(fixture("values.json"));
    let rows = safetensor(&file, "mahala.train_diff").mapv(f64::from);
    let rows = rows.into_dimensionality::<ndarray::Ix2>().expect("[72, 640]");
    let target: Vec<bool> = safetensor(&file, "mahala.train_is_target")
        .iter()
        .map(|&t| t == 1.0)
        .collect();
    let params = MahalanobisParams {
        batch: 24,
        shuffle: false,
        ..MahalanobisParams::default()
    };
    let mut rng = asd::scorers::group_rng(0, 0);
    let [source, target_cov] = params.covariances(rows.view(), &target, &mut rng).expect("covariances");
    for (ours, key) in [(source, "cov_source"), (target_cov, "cov_target")] {
        let ours = ours.expect("both domains have rows").mapv(|v| v as f32).into_dyn();
        assert_allclose(&ours, &safetensor(&file, key), 1e-6, 1e-5, key);
    }
    let model = params.fit(rows.view(), &target, &mut rng).expect("fit");
    for (ours, key) in [
        (&model.source, "mahala.inv_cov_source"),
        (&model.target, "mahala.inv_cov_target"),
    ] {
        let expected = safetensor(&file, key);
        let scale = asd_testkit::max_abs(&expected);
        let ours = ours.precision().mapv(|v| v as f32).into_dyn();
        // The reference inverts in f32 (its own f32-vs-f64 gap: 6.4e-6 relative); ours in f64.
        assert_allclose(&ours, &expected, 1e-4 * scale, 0.0, key);
    }
    let clips = safetensor(&file, "mahala.test_diff").mapv(f64::from);
    let pooled = clips
        .mean_axis(Axis(1))
        .expect("clips")
        .into_dimensionality::<ndarray::Ix2>()
        .expect("[3, 640]");
    let scores = model.score(pooled.view()).expect("scores");
    let (source_scores, target_scores) = (
        model.source.score(pooled.view()).expect("source"),
        model.target.score(pooled.view()).expect("target"),
    );
    for (i, clip) in values["mahalanobis"]["test_clips"]
        .as_array()
        .expect("clips")
        .iter()
        .enumerate()
    {
        let expected = clip["score_f64"].as_f64().expect("score");
        assert!(
            (scores[i] - expected).abs() <= 1e-6 * expected,
            "clip {i}: {} vs {expected}",
            scores[i]
        );
        for (ours, key) in [(source_scores[i], "source"), (target_scores[i], "target")] {
            let expected = clip[key].as_f64().expect("domain score");
            assert!(
                (ours - expected).abs() <= 1e-4 * expected,
                "clip {i} {key}: {ours} vs {expected}"
            );
        }
    }
}

/// Clip length of the end-to-end trees, seconds (59 vectors per clip).
const E2E_SECONDS: f32 = 2.0;
/// Epochs of the end-to-end runs (the recipe's 100 at its learning rate 1e-3, shortened).
const E2E_EPOCHS: usize = 100;

/// `asd run --system dcase-ae` on a synthetic tree of `layout` (2 types, 30 normal training clips and 20 + 20 clear
/// faults per type): one autoencoder per type, a falling loss, both scorers above chance.
///
/// Chance: with 20 normal and 20 anomalous clips per type a random ranking has an AUC standard deviation of
/// √((20 + 20 + 1) / (12 · 20 · 20)) ≈ 0.092 per type, ≈ 0.065 for the mean of 2: 0.65 is above chance by 2.3 of
/// them.
fn dcase_ae_learns_on(layout: asd::audio::synth::SynthLayout) {
    use asd::audio::synth::{SynthConfig, generate};
    use asd::{RunConfig, RunOptions, System, run};
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let synth = SynthConfig {
        layout,
        types: 2,
        ids: 1,
        train: 30,
        test: 20,
        seconds: E2E_SECONDS,
        seed: 11,
        supplemental: None,
        severity: Some(2.0),
    };
    generate(&synth, &data, &mut |_, _| {}).expect("synthetic data");
    let mut config = RunConfig::preset(System::DCASE_AE).with_epochs(E2E_EPOCHS);
    config.clip_seconds = E2E_SECONDS;
    let out = tmp.path().join("run");
    let result = run(&config, &data, &out, &RunOptions::default(), &()).expect("run");
    eprintln!("{layout:?}: {}", asd::scoring::summary_table(&result.scores.reports));
    let losses: Vec<f64> = result.history.iter().map(|l| l.loss).collect();
    eprintln!("{layout:?}: losses {losses:?}");
    let (first, last) = (losses[0], losses[E2E_EPOCHS - 1]);
    assert!(last < 0.5 * first, "{layout:?}: loss {first} → {last}");
    assert!(result.history.iter().all(|l| l.val_loss.is_some_and(f64::is_finite)));
    let saved = RunConfig::load(&out.join("config.toml")).expect("config.toml");
    let n_models = saved
        .model
        .as_ref()
        .and_then(|m| m.get("n_classes"))
        .and_then(|v| v.as_integer());
    assert_eq!(n_models, Some(2), "{layout:?}: one autoencoder per type");
    let two_channels = matches!(layout, asd::audio::synth::SynthLayout::Dcase2026);
    let expected = if two_channels {
        ChannelPolicy::Left
    } else {
        ChannelPolicy::Mean
    };
    assert_eq!(saved.channels, Some(expected), "{layout:?}: the channel read");
    let classes = std::fs::read_to_string(out.join("classes.json")).expect("classes.json");
    assert!(
        !classes.contains('/'),
        "{layout:?}: classes are machine types: {classes}"
    );
    let names: Vec<&str> = result.scores.reports.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["mse", "domain-mahalanobis"]);
    for r in &result.scores.reports {
        let auc = r.report.as_ref().expect("labelled test clips").average.auc;
        assert!(auc > 0.65, "{layout:?} {}: mean AUC {auc}", r.name);
    }
}

#[test]
fn dcase_ae_learns_on_a_dcase2020_tree() {
    dcase_ae_learns_on(asd::audio::synth::SynthLayout::Dcase2020);
}

#[test]
fn dcase_ae_learns_on_a_dcase2025_tree() {
    dcase_ae_learns_on(asd::audio::synth::SynthLayout::Dcase2025);
}

/// Two-channel clips: the run reads the left (near) channel, as the baseline does.
#[test]
fn dcase_ae_learns_on_a_dcase2026_tree() {
    dcase_ae_learns_on(asd::audio::synth::SynthLayout::Dcase2026);
}

/// `asd import --system dcase-ae`: the baseline's state dict of one machine type (the fixture's) becomes a run folder
/// of one autoencoder whose error vectors are `x` minus the baseline's evaluation-mode reconstruction; a network of
/// two autoencoders refuses it.
#[test]
fn a_baseline_state_dict_imports_as_one_autoencoder() {
    use asd::system::EmbedJob;
    use asd::{RunConfig, RunOptions, System};
    let tmp = tempfile::tempdir().unwrap();
    let weights = state_dict(tmp.path());
    let out = tmp.path().join("run");
    let imported = asd::pipeline::import(
        &RunConfig::preset(System::DCASE_AE),
        &weights,
        None,
        &out,
        &RunOptions::default(),
    )
    .expect("import");
    let device = asd::models::burn::tensor::Device::flex();
    let network = System::DCASE_AE
        .def()
        .build(&imported.config, &device)
        .and_then(|n| n.load(&imported.model_path))
        .expect("the imported network");
    let x = safetensor(fixture("fixture.safetensors"), "x");
    let (rows, cols) = (x.shape()[0], x.shape()[1]);
    let clip = ndarray::Array3::from_shape_vec((1, rows, cols), x.iter().copied().collect()).expect("one clip");
    let cache = asd::data::FeatureCache::in_memory("x", clip).expect("cache");
    let outputs = network
        .embed(&EmbedJob {
            inputs: std::slice::from_ref(&cache),
            labels: Some(&[0]),
            device: &device,
            progress: &|_, _| {},
        })
        .expect("embeddings");
    let recon = safetensor(fixture("fixture.safetensors"), "eval.recon");
    let expected = (&x - &recon).mapv(f64::from);
    let ours = outputs.embeddings.into_dyn();
    assert_eq!(ours.shape(), expected.shape());
    for (a, b) in ours.iter().zip(expected.iter()) {
        assert!((a - b).abs() <= FORWARD_TOL * (1.0 + b.abs()), "{a} vs {b}");
    }
    let mut two = imported.config.clone();
    if let Some(model) = &mut two.model {
        model.insert("n_classes".into(), toml::Value::Integer(2));
    }
    let refused = System::DCASE_AE
        .def()
        .build(&two, &device)
        .and_then(|n| n.load_reference(&weights));
    assert!(refused.is_err_and(|e| e.to_string().contains("one machine type")));
}

//! Networks on the CPU (Flex backend), the workloads of shared/anchors.md "Models" (PyTorch CPU, 2 threads,
//! tuned malloc): ASDNet forward batch 64 75.5 ms and batch 1 1.6 ms; ASDNet training step batch 64 (ArcFace
//! s 30 m 0.5, Adam, no mixup) 264.5 ms; MobileFaceNet B 1-channel forward batch 16 on [16, 1, 128, 313]
//! 229.7 ms; STgram-MFN (variant B) training step batch 16 from waveforms (log-Mel on the CPU, ArcFace s 30
//! m 0.7, AdamW) 1166 ms. The attention net of seed 001 (neri_attention.md) has no anchors.md row: its training step
//! (batch 64 from waveforms, Noisy-ArcMix, the preset's AdamW) and forward (batch 16 from waveforms) are timed
//! against `benches/anchors/models.py` in the same session (docs/performance.md), as is OS-SCL's TFSTgram training
//! step (batch 64: waveforms and their log-Mels mixed alike, Noisy-ArcMix + SupCon, AdamW, the EMA with the online
//! decay).
//!
//! SE-ResNet18 of the DCASE 2025 first-shot system (firstshot2025.md §7) has no anchors.md row either: its training
//! step (batch 64 log-Mel images, AdaCos with the dynamic scale, Adam) and forward (batch 16) are timed against
//! `benches/anchors/models.py` in the same session.
//!
//! A training step is one `asd_train::train` epoch over exactly one batch (so it includes moving the model to
//! the autodiff device and back, a few milliseconds). The bench binary uses mimalloc, as the `asd` binary does.
//!
//! `ASD_BENCH_DEVICE` runs the same workloads on another device (`cuda` in a build with `--features cuda`); the
//! group is then named `models-<device>`. Each measured forward ends by reading its output back to the host, so
//! GPU times include the kernels' completion and the copy.

use asd::data::{ClassMap, FeatureCache};
use asd::system::TrainJob;
use asd::{RunConfig, System};
use asd_features::{FeatureKind, FeatureSpec, FrontendPreset, extract_batch};
use asd_losses::adacos::AdaCosScale;
use asd_losses::{MarginLossConfig, MarginStep};
use asd_models::Embedder;
use asd_models::backbone::asdnet::AsdNetConfig;
use asd_models::backbone::mobilefacenet::{MfnVariant, MobileFaceNetConfig};
use asd_models::backbone::neri_attention::NeriAttentionConfig;
use asd_models::backbone::os_scl::{OsSclConfig, OsSclInput};
use asd_models::backbone::se_resnet::{SE_RESNET_EMBEDDING, SeResNet, SeResNetConfig};
use asd_models::backbone::stgram_mfn::{StgramInput, StgramMfnConfig};
use asd_models::burn;
use asd_models::burn::module::Module;
use asd_models::burn::tensor::{Device, Distribution, Tensor, TensorData};
use asd_models::head::adacos::{AdaCos, AdaCosConfig};
use asd_train::{Batch, StepOutput, TrainStep};
use asd_train::{Clips, OptimizerConfig, Paired, Rows, Schedule, Session, TrainConfig, train};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use ndarray::Array3;
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;
use std::time::Duration;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The margin loss without mixup.
fn step() -> MarginStep {
    MarginStep::new(MarginLossConfig::default())
}

/// One epoch of one batch: a single optimiser step (no mixup: [`step`]).
fn one_step(batch: usize, optimizer: OptimizerConfig) -> TrainConfig {
    TrainConfig {
        epochs: 1,
        batch_size: batch,
        optimizer,
        schedule: Schedule::Constant {},
        ..TrainConfig::default()
    }
}

fn models(c: &mut Criterion) {
    let name = std::env::var("ASD_BENCH_DEVICE").unwrap_or_else(|_| "cpu".to_string());
    let device = asd_models::parse_device(&name).expect("ASD_BENCH_DEVICE names a device of this build");
    device.seed(0);
    let group_name = if name == "cpu" {
        "models".to_string()
    } else {
        format!("models-{name}")
    };
    let mut group = c.benchmark_group(group_name);
    group.sample_size(10).measurement_time(Duration::from_secs(20));

    let asdnet = AsdNetConfig::new().init(&device).expect("paper config");
    for batch in [64, 1] {
        let x = Tensor::<2>::random([batch, 16_001], Distribution::Uniform(0.0, 1.0), &device);
        group.bench_function(format!("asdnet_forward_b{batch}"), |b| {
            b.iter(|| black_box(asdnet.forward(x.clone()).embedding.into_data()))
        });
    }
    let spectra = Array3::from_shape_fn((64, 1, 16_001), |(i, _, k)| ((i * 31 + k) % 97) as f32 / 97.0);
    let labels: Vec<usize> = (0..64).map(|i| i % 41).collect();
    let rows = Rows::new(&spectra, &labels).expect("labels");
    let adam = one_step(64, OptimizerConfig::adam(1e-4));
    group.bench_function("asdnet_train_step_b64", |b| {
        b.iter(|| black_box(train(asdnet.clone(), &rows, &mut step(), &adam, &device, &Session::new()).expect("step")))
    });

    let mfn = MobileFaceNetConfig::new([128, 313])
        .with_setting(MfnVariant::B.setting())
        .init(&device)
        .expect("variant B");
    let image = Tensor::<4>::random([16, 1, 128, 313], Distribution::Uniform(-80.0, 20.0), &device);
    group.bench_function("mfn_b_forward_b16", |b| {
        b.iter(|| black_box(mfn.forward(image.clone()).into_data()))
    });

    let stgram = StgramMfnConfig::new()
        .with_variant(MfnVariant::B)
        .init(&device)
        .expect("variant B");
    let waves = sines(16);
    let logmel = FeatureSpec::new(FeatureKind::LogMel)
        .with_preset(FrontendPreset::StgramMfn)
        .build()
        .expect("front end");
    let labels16: Vec<usize> = (0..16).collect();
    let adamw = one_step(16, OptimizerConfig::adamw(1e-4));
    group.bench_function("stgram_mfn_b_train_step_b16_from_waveforms", |b| {
        b.iter(|| {
            let slices: Vec<&[f32]> = waves.iter().map(Vec::as_slice).collect();
            let mel = extract_batch(logmel.as_ref(), &slices).expect("log-Mel");
            let wave = Array3::from_shape_fn((16, 1, 160_000), |(i, _, n)| waves[i][n]);
            let examples = Paired::new(
                Rows::new(&wave, &labels16).expect("labels"),
                Clips::new(&mel, &labels16).expect("labels"),
            )
            .expect("pair");
            black_box(train(stgram.clone(), &examples, &mut step(), &adamw, &device, &Session::new()).expect("step"))
        })
    });
    attention_net(&mut group, &device);
    os_scl_tfstgram(&mut group, &device);
    se_resnet18(&mut group, &device);
    group.finish();
}

/// SE-ResNet18 with an AdaCos head of [`SE_RESNET_CLASSES`] classes (the DCASE 2025 first-shot system's network,
/// firstshot2025.md §7–8), as one module for the trainer.
#[derive(Module, Debug)]
struct SeResNetAdaCos {
    net: SeResNet,
    head: AdaCos,
}

/// Classes of the SE-ResNet18 workloads (as the other workloads' 41).
const SE_RESNET_CLASSES: usize = 41;

/// The AdaCos step of the workload: the dynamic scale ([`AdaCosScale`]) updated from the batch, then the loss of
/// one-hot targets.
struct AdaCosStep(AdaCosScale);

impl AdaCosStep {
    fn loss(&mut self, model: &SeResNetAdaCos, batch: Batch<Tensor<3>>, train: bool) -> Tensor<1> {
        let [b, rows, cols] = batch.input.dims();
        let cos = model
            .head
            .forward(model.net.forward(batch.input.reshape([b, 1, rows, cols])));
        let n = model.head.n_classes();
        let mut targets = vec![0.0_f32; b * n];
        for (i, &label) in batch.label_values.iter().enumerate() {
            targets[i * n + label] = 1.0;
        }
        self.0.loss(cos, &targets, train)
    }
}

impl TrainStep<SeResNetAdaCos, Tensor<3>> for AdaCosStep {
    fn step(
        &mut self,
        model: &SeResNetAdaCos,
        batch: Batch<Tensor<3>>,
        _: &mut ChaCha8Rng,
    ) -> asd_train::Result<StepOutput> {
        Ok(StepOutput {
            loss: self.loss(model, batch, true),
            predicted: None,
        })
    }

    fn validation_loss(&self, model: &SeResNetAdaCos, batch: Batch<Tensor<3>>) -> asd_train::Result<Tensor<1>> {
        Ok(AdaCosStep(self.0.clone()).loss(model, batch, false))
    }
}

/// SE-ResNet18 (firstshot2025.md §7): one training step on 64 log-Mel images [128, 313] (AdaCos with its dynamic
/// scale, Adam 1e-3 with ε 1e-7 as §9.1), and the forward of 16 images to the embedding.
fn se_resnet18(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>, device: &Device) {
    let model = SeResNetAdaCos {
        net: SeResNetConfig::new().init(device).expect("paper sizes"),
        head: AdaCosConfig::new(SE_RESNET_EMBEDDING, SE_RESNET_CLASSES).init(device),
    };
    let images = Array3::from_shape_fn((64, 128, 313), |(i, m, t)| ((i * 7 + m * 13 + t) % 101) as f32 - 80.0);
    let labels: Vec<usize> = (0..64).map(|i| i % SE_RESNET_CLASSES).collect();
    let clips = Clips::new(&images, &labels).expect("labels");
    let adam = one_step(
        64,
        OptimizerConfig::Adam {
            lr: 1e-3,
            betas: asd_train::ADAM_BETAS,
            eps: 1e-7,
            weight_decay: 0.0,
        },
    );
    group.bench_function("se_resnet18_train_step_b64", |b| {
        b.iter(|| {
            let mut step = AdaCosStep(AdaCosScale::new(SE_RESNET_CLASSES, 1, true));
            black_box(train(model.clone(), &clips, &mut step, &adam, device, &Session::new()).expect("step"))
        })
    });
    let image = Tensor::<4>::random([16, 1, 128, 313], Distribution::Uniform(-80.0, 20.0), device);
    group.bench_function("se_resnet18_forward_b16", |b| {
        b.iter(|| black_box(model.net.forward(image.clone()).into_data()))
    });
}

/// Waveforms `sin(0.001·n·(c + 1))·0.1` of 10-s clips, c = 0 … count − 1 (`benches/anchors/models.py`).
fn sines(count: usize) -> Vec<Vec<f32>> {
    (0..count)
        .map(|c| {
            (0..160_000)
                .map(|n| (0.001 * (n * (c + 1)) as f32).sin() * 0.1)
                .collect()
        })
        .collect()
}

/// One training step of `system`'s preset through the system (its own step, loss, EMA) on 64 clips of waveforms
/// `waves` and their features `mel` (the preset's log-Mel), without a validation split: exactly one batch.
fn preset_step(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    system: System,
    inputs: &[FeatureCache],
    device: &Device,
) {
    let labels: Vec<usize> = (0..64).map(|i| i % 41).collect();
    let classes = ClassMap::dcase2020();
    let mut config = RunConfig::preset(system).with_epochs(1);
    config.train.validation = None;
    let def = system.def();
    group.bench_function(name, |b| {
        b.iter_batched(
            || def.build(&config, device).expect("preset network"),
            |network| {
                let job = TrainJob {
                    config: &config,
                    inputs,
                    labels: &labels,
                    classes: &classes,
                    supplemental: &[],
                    supplemental_labels: &[],
                    supplemental_kinds: &[],
                    device,
                    session: Session::new(),
                };
                black_box(network.train(&job).map(|(_, log)| log).expect("step"))
            },
            BatchSize::PerIteration,
        )
    });
}

/// The 64 clips of [`sines`] as feature caches: the log-Mel of `preset`, then the waveforms.
fn wave_and_mel(preset: FrontendPreset) -> [FeatureCache; 2] {
    let logmel = FeatureSpec::new(FeatureKind::LogMel)
        .with_preset(preset)
        .build()
        .expect("front end");
    let waves = sines(64);
    let slices: Vec<&[f32]> = waves.iter().map(Vec::as_slice).collect();
    let mel = extract_batch(logmel.as_ref(), &slices).expect("log-Mel");
    let wave = Array3::from_shape_fn((64, 1, 160_000), |(i, _, n)| waves[i][n]);
    [
        FeatureCache::in_memory("log-Mel", mel).expect("clips"),
        FeatureCache::in_memory("waveforms", wave).expect("clips"),
    ]
}

/// OS-SCL's TFSTgram variant: one training step of its preset (batch 64, from waveforms and their log-Mels), and the
/// forward of 16 clips (Tgram, TFgram, 3-channel MobileFaceNet, FPH, ArcFace logits) from waveforms and their
/// log-Mels, computed beforehand as the reference's data loader does.
fn os_scl_tfstgram(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>, device: &Device) {
    let inputs = wave_and_mel(FrontendPreset::OsScl);
    preset_step(
        group,
        "os_scl_tfstgram_train_step_b64",
        System::OS_SCL_TFSTGRAM,
        &inputs,
        device,
    );

    let first: Vec<usize> = (0..16).collect();
    let tensor = |cache: &FeatureCache| {
        let clips = cache.gather(&first);
        let (n, rows, cols) = clips.dim();
        Tensor::<3>::from_data(
            TensorData::new(clips.into_iter().collect::<Vec<f32>>(), [n, rows, cols]),
            device,
        )
    };
    let [mel, wave] = &inputs;
    let (mel, wave) = (tensor(mel), tensor(wave).squeeze_dim::<2>(1));
    let model = OsSclConfig::tfstgram().init(device).expect("paper config");
    group.bench_function("os_scl_tfstgram_forward_b16_from_waveforms", |b| {
        b.iter(|| {
            let input = OsSclInput {
                mel: mel.clone(),
                wave: Some(wave.clone()),
            };
            black_box(model.outputs(input).logits.into_data())
        })
    });
}

/// The attention net: one training step of the `neri-attention` preset through its system (batch 64 from waveforms:
/// Noisy-ArcMix blends the waveforms, the log-Mel of the blend is computed in the step; AdamW 1e-4), and the forward
/// of 16 clips from waveforms (log-Mel, Wavegram, attention, MobileFaceNet, head).
fn attention_net(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>, device: &Device) {
    let inputs = wave_and_mel(FrontendPreset::NeriAttention);
    preset_step(
        group,
        "neri_attention_train_step_b64_from_waveforms",
        System::NERI_ATTENTION,
        &inputs,
        device,
    );

    let logmel = FeatureSpec::new(FeatureKind::LogMel)
        .with_preset(FrontendPreset::NeriAttention)
        .build()
        .expect("front end");
    let waves = sines(16);
    let slices: Vec<&[f32]> = waves.iter().map(Vec::as_slice).collect();
    let model = NeriAttentionConfig::new().init(device).expect("paper config");
    group.bench_function("neri_attention_forward_b16_from_waveforms", |b| {
        b.iter(|| {
            let mel = extract_batch(logmel.as_ref(), &slices).expect("log-Mel");
            let (n, rows, cols) = mel.dim();
            let mel = Tensor::<3>::from_data(
                TensorData::new(mel.into_iter().collect::<Vec<f32>>(), [n, rows, cols]),
                device,
            );
            let wave = Tensor::<2>::from_data(TensorData::new(waves[..16].concat(), [16, 160_000]), device);
            black_box(model.forward(StgramInput { wave, mel }).logits.into_data())
        })
    });
}

criterion_group!(benches, models);
criterion_main!(benches);

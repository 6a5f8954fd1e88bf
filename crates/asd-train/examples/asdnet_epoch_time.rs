//! Times training steps of the paper-size ASDNet (16 001 spectrum bins, 41 classes, batch 64, mixup ArcMix, Adam)
//! on the CPU (Burn Flex) with random spectra, and extrapolates to one epoch of the DCASE 2020 training set
//! (about 180 k segments, asdnet_specmfn.md §5).
//!
//! `cargo run --release -p asd-train --example asdnet_epoch_time [steps]` (default 10 steps).

use asd_losses::{MIXUP_ALPHA_NOISY_ARCMIX, MarginLossConfig, MarginStep, MixupLoss};
use asd_models::backbone::asdnet::AsdNetConfig;
use asd_models::burn::tensor::Device;
use asd_train::{Rows, Schedule, Session, TrainConfig, TrainEvent, train};
use ndarray::Array3;
use std::cell::Cell;
use std::time::Instant;

/// Segments per epoch of DCASE 2020 dev + additional training (asdnet_specmfn.md §5: ≈ 180 k).
const EPOCH_SEGMENTS: f64 = 180_000.0;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let steps: usize = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(10);
    let batch = 64;
    let clips = (steps * batch).div_ceil(5);
    let features = Array3::from_shape_fn((clips, 5, 16_001), |(c, r, k)| ((c * 7 + r * 3 + k) % 97) as f32 / 97.0);
    let labels: Vec<usize> = (0..clips).map(|c| c % 41).collect();
    let examples = Rows::new(&features, &labels)?;
    let device = Device::flex();
    device.seed(0);
    let model = AsdNetConfig::new().init(&device)?;
    let config = TrainConfig {
        epochs: 1,
        batch_size: batch,
        drop_last: true,
        schedule: Schedule::Constant {},
        ..TrainConfig::default()
    };
    let first_step_done = Cell::new(None);
    let started = Instant::now();
    let observer = |event| {
        if let TrainEvent::Step { step: 1, .. } = event {
            first_step_done.set(Some(started.elapsed().as_secs_f64()));
        }
    };
    // ASDNet's loss: mixup α 0.5 scored by ArcMix (asdnet_specmfn.md §4.2).
    let mut step = MarginStep::new(MarginLossConfig::mixup(MIXUP_ALPHA_NOISY_ARCMIX, MixupLoss::ArcMix));
    let session = Session::new().with_observer(&observer);
    let trained = train(model, &examples, &mut step, &config, &device, &session)?;
    let total = trained.history[0].seconds;
    let first = first_step_done.get().unwrap_or(0.0);
    let per_step = (total - first) / (steps.saturating_sub(1).max(1)) as f64;
    println!(
        "{steps} steps of batch {batch}: {total:.2} s (first step {first:.2} s, then {per_step:.3} s per step); \
         one epoch of {EPOCH_SEGMENTS} segments ≈ {:.0} s",
        per_step * EPOCH_SEGMENTS / batch as f64
    );
    Ok(())
}

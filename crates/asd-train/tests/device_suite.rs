//! The tests that hold on any device, gathered into one binary for GPU machines (`benches/cuda.sh`): a CUDA
//! test binary carries Burn's and cubecl's GPU kernels (about 85 MB stripped), so one binary travels where nine
//! would not. Built only with the `cuda` feature; every CPU build runs the same files as their own targets.
//! Run with `ASD_TEST_DEVICE=cuda` (and `ASD_SHARED` where `../shared` is not beside the repository).
#![cfg(feature = "cuda")]
// Each gathered file declares its own `mod common;`, as it does in its own target, so the helpers load once per file.
#![allow(clippy::duplicate_mod)]

#[path = "../../asd-models/tests/asdnet_golden.rs"]
mod asdnet_golden;
#[path = "../../asd-models/tests/burnpack_roundtrip.rs"]
mod burnpack_roundtrip;
#[path = "../../asd-models/tests/specmfn_golden.rs"]
mod specmfn_golden;
#[path = "../../asd-models/tests/stgram_mfn_golden.rs"]
mod stgram_mfn_golden;

#[path = "../../asd-losses/tests/neri_losses_golden_f32.rs"]
mod neri_losses_golden_f32;
#[path = "../../asd-losses/tests/stgram_arcface_head_golden.rs"]
mod stgram_arcface_head_golden;

#[path = "learning.rs"]
mod learning;
#[path = "paired.rs"]
mod paired;
#[path = "resume.rs"]
mod resume;

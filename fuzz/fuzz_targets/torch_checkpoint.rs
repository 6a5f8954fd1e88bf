//! Fuzz target `torch_checkpoint`: see `inputs::torch_checkpoint`.
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(init: common::init(), |data: &[u8]| {
    let _ = common::inputs::torch_checkpoint(&common::scratch(), data);
});

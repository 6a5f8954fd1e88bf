//! Fuzz target `npy`: see `inputs::npy`.
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(init: common::init(), |data: &[u8]| {
    let _ = common::inputs::npy(&common::scratch(), data);
});

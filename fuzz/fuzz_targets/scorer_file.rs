//! Fuzz target `scorer_file`: see `inputs::scorer_file`.
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(init: common::init(), |data: &[u8]| {
    let _ = common::inputs::scorer_file(&common::scratch(), data);
});

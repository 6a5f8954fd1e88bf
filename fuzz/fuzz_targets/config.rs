//! Fuzz target `config`: see `inputs::config`.
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(init: common::init(), |data: &[u8]| {
    let _ = common::inputs::config(&common::scratch(), data);
});

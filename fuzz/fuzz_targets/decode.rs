//! Fuzz target `decode`: see `inputs::decode`.
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(init: common::init(), |data: &[u8]| {
    let _ = common::inputs::decode(&common::scratch(), data);
});

//! Fuzz target `score_csv`: see `inputs::score_csv`.
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(init: common::init(), |data: &[u8]| {
    let _ = common::inputs::score_csv(&common::scratch(), data);
});

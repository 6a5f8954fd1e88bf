//! STgram-MFN on DCASE 2020 Task 2 (seed 004): train the paper's preset, score the development test set, and print
//! the paper's table with our numbers beside it.
//!
//! ```sh
//! cargo run --release -p asd --example stgram_mfn_dcase2020 -- [DEV_DATA_DIR] [RUN_DIR]
//! ```
//! `DEV_DATA_DIR` is a DCASE 2020 development tree (`<type>/train`, `<type>/test`); see docs/reproducing.md for
//! the download, the expected time and the model-selection convention. Without it, the quick synthetic benchmark
//! and the quick recipe run instead (minutes on a CPU; a smoke test, not a reproduction).

use asd::Event;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let data = args.next().map(PathBuf::from);
    let out = args
        .next()
        .map_or_else(|| std::env::temp_dir().join("asd-example-stgram_mfn"), PathBuf::from);
    let progress = |event: Event| event.epoch_summary().into_iter().for_each(|line| eprintln!("{line}"));
    let options = asd::RunOptions::default();
    let (_, table) = asd::paper::reproduce(asd::System::STGRAM_MFN, data.as_deref(), &out, &options, &progress)?;
    println!("{table}");
    println!(
        "run folder (scores, metrics, ROC curves, results.md): {}",
        out.display()
    );
    Ok(())
}

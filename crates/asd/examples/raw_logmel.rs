//! The training-free system on a DCASE folder (or, with no argument, a small synthetic benchmark):
//! log-Mel statistics per clip, one scorer per machine ID, and the DCASE table.
//!
//! ```sh
//! cargo run --release -p asd --example raw_logmel -- [DATASET_DIR] [SCORER]
//! ```
//! `SCORER` is one of cos, kmeans, gmm, lof, knn (default knn).

use asd::audio::synth::{SynthConfig, generate};
use asd::scorers::{ScorerConfig, ScorerKind};
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = std::env::temp_dir().join("asd-example-raw-logmel");
    let data = match args.next() {
        Some(dir) => PathBuf::from(dir),
        None => {
            let dir = out.join("data");
            let small = SynthConfig {
                types: 3,
                ids: 2,
                train: 40,
                test: 20,
                seconds: 4.0,
                ..SynthConfig::default()
            };
            generate(&small, &dir, &mut |_, _| {})?;
            dir
        }
    };
    let scorer: ScorerKind = match args.next() {
        Some(name) => serde_json::from_value(serde_json::Value::String(name))?,
        None => ScorerKind::Knn,
    };
    let config = asd::RunConfig {
        scoring: asd::scoring::ScoringConfig::single(ScorerConfig::new(scorer)),
        ..asd::RunConfig::preset(asd::System::RAW_LOGMEL)
    };
    let result = asd::run(&config, &data, &out.join("run"), &asd::RunOptions::default(), &())?;
    if let Some(report) = result.report() {
        println!("{}", report.to_table());
    }
    println!("run folder: {}", out.join("run").display());
    Ok(())
}

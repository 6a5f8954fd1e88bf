//! `asd run`: (synthesise →) features → embeddings → scorer → score CSVs → metrics, in one go.

use super::serde_name;
use crate::error::{CliError, Result};
use crate::progress::Progress;
use asd::audio::synth::{MANIFEST_FILE, SynthConfig};
use asd::pipeline::Stage;
use asd::scorers::{ScorerConfig, ScorerKind};
use asd::{RunConfig, System};
use std::path::PathBuf;

/// Run a system end to end and print the results table.
///
/// Features, embeddings, a scorer fitted per machine
/// type × ID / section on the normal training clips, DCASE score CSVs, metrics, ROC curves.
///
/// With no `--data`, the built-in synthetic benchmark (`asd synth` defaults) is written to `RUN/data` first,
/// so this works on a fresh machine.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  asd run\n  asd run --data ~/dcase2020/dev_data --out runs/raw --scorer gmm\n  \
asd run --config my.toml --out runs/mine"
)]
pub struct Args {
    /// System: raw-logmel (training-free log-Mel statistics).
    #[arg(long, value_parser = serde_name::<System>)]
    system: Option<System>,
    /// Dataset root (DCASE 2020 or 2021–25 layout); default: synthesise the built-in benchmark.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Run folder.
    #[arg(long, default_value = "runs/latest")]
    out: PathBuf,
    /// Scorer with its paper defaults: cos | kmeans | gmm | lof | knn.
    #[arg(long, value_parser = serde_name::<ScorerKind>)]
    scorer: Option<ScorerKind>,
    /// A TOML run configuration (the format of `RUN/config.toml`); flags override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Seed of every random draw.
    #[arg(long)]
    seed: Option<u64>,
}

/// Runs `asd run`.
pub fn run(args: Args) -> Result<()> {
    let mut config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(CliError::io(path))?;
            toml::from_str::<RunConfig>(&text)
                .map_err(|e| CliError::Usage(format!("{}: {}", path.display(), e.message())))?
        }
        None => RunConfig::default(),
    };
    if let Some(system) = args.system {
        config.system = system;
    }
    if let Some(kind) = args.scorer {
        config.scorer = ScorerConfig::new(kind);
    }
    if let Some(seed) = args.seed {
        config.seed = seed;
    }
    config.check().map_err(|e| CliError::Usage(e.to_string()))?;

    let data = match &args.data {
        Some(dir) => dir.clone(),
        None => {
            let dir = args.out.join("data");
            if dir.join(MANIFEST_FILE).is_file() {
                eprintln!("run: reusing the synthetic benchmark in {}", dir.display());
            } else {
                let synth = SynthConfig::default();
                let progress = Progress::new("synth");
                let summary = asd::audio::synth::generate(&synth, &dir, &mut |d, t| progress.update(d, t))
                    .map_err(asd::Error::from)?;
                progress.finish(&format!(
                    "{} synthetic clips written to {}",
                    summary.n_clips,
                    dir.display()
                ));
            }
            dir
        }
    };

    let features = Progress::new("features");
    let output = asd::run(&config, &data, &args.out, &|stage, done, total| {
        features.set_message(match stage {
            Stage::TrainFeatures => "train",
            Stage::TestFeatures => "test",
        });
        features.update(done as u64, total as u64);
    })
    .map_err(CliError::from)?;
    features.finish("train and test clips decoded and summarised (or read from the cache)");
    print!("{}", output.report.to_table());
    eprintln!(
        "run: scores in {}, metrics in {}, table in {}",
        output.scores_dir.display(),
        output.metrics_json.display(),
        output.results_md.display()
    );
    Ok(())
}

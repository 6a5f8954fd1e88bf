//! `asd score`: score a dataset's test clips with a trained run.

use super::{ScorerArgs, print_results};
use crate::error::{CliError, Result};
use crate::progress::PipelineProgress;
use std::path::PathBuf;

/// Score a dataset's test clips with the network of a run folder and evaluate.
///
/// Embeds the normal training and the test clips, fits each scorer per machine type × ID / section on the
/// training embeddings, and writes DCASE score CSVs (OUT/scores/<scorer>/anomaly_score_<type>_<id>.csv),
/// metrics, ROC curves and results.md.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  asd score --run runs/asdnet --data ~/dcase2020/dev_data\n  \
asd score --run runs/asdnet --data data/synth --scorer gmm --scorer lof --ensemble rank-average --out runs/asdnet/more"
)]
pub struct Args {
    /// Run folder written by `asd train` or `asd run`.
    #[arg(long)]
    run: PathBuf,
    /// Dataset root (the training clips fit the scorers; the test clips are scored).
    #[arg(long)]
    data: PathBuf,
    #[command(flatten)]
    scorers: ScorerArgs,
    /// Output folder (default: the run folder).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Device: cpu, or cuda / cuda:<index> in a build with `--features cuda`.
    #[arg(long, default_value = "cpu")]
    device: String,
}

/// Runs `asd score`.
pub fn run(args: Args) -> Result<()> {
    let base = asd::RunConfig::load(&args.run.join(asd::run_folder::CONFIG_FILE))?;
    let scoring = args.scorers.apply(&base.scoring);
    if let Some(s) = &scoring {
        s.check(base.model.is_some(), base.system.name())
            .map_err(|e| CliError::Usage(e.to_string()))?;
    }
    let options = asd::RunOptions {
        device: asd::pipeline::parse_device(&args.device).map_err(|e| CliError::Usage(e.to_string()))?,
        resume: false,
    };
    let out = args.out.unwrap_or_else(|| args.run.clone());
    let progress = PipelineProgress::new("score");
    let output = asd::score(&args.run, &args.data, scoring.as_ref(), &out, &options, &|e| {
        progress.update(e)
    })?;
    progress.finish(&format!("{} scorers evaluated", output.reports.len()));
    print_results(&output)
}

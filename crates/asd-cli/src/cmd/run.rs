//! `asd run`: (synthesise →) train → embed → score → evaluate, in one go.

use super::{ConfigArgs, ScorerArgs, print_results};
use crate::error::{CliError, Result};
use crate::progress::{PipelineProgress, Progress};
use asd::audio::synth::MANIFEST_FILE;
use std::path::PathBuf;

/// Train, score and evaluate a system in one go, and print the results table.
///
/// With no `--data`, a quick synthetic benchmark (6 machine types × 2 IDs, 4-s clips) is written to RUN/data
/// first and the system is trained for a few epochs with a higher learning rate, so the first command on a fresh
/// machine finishes in minutes; `--epochs` or `--config` give the full recipe back.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  asd run\n  asd run --system asdnet --data ~/dcase2020/dev_data --out runs/asdnet\n  \
asd run --system stgram-mfn --data data/synth --epochs 30 --scorer prob --scorer gmm\n  \
asd run --system raw-logmel --data data/synth --scorer gmm"
)]
pub struct Args {
    #[command(flatten)]
    config: ConfigArgs,
    /// Dataset root (DCASE 2020 or 2021–25 layout); default: synthesise the quick benchmark into RUN/data.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Run folder.
    #[arg(long, default_value = "runs/latest")]
    out: PathBuf,
    #[command(flatten)]
    scorers: ScorerArgs,
    /// Continue training from the run folder's last checkpoint.
    #[arg(long)]
    resume: bool,
}

/// Runs `asd run`.
pub fn run(args: Args) -> Result<()> {
    let (mut config, mut options) = args.config.resolve()?;
    options.resume = args.resume;
    if let Some(scoring) = args.scorers.apply(&config.scoring) {
        config.scoring = scoring;
    }
    let data = match &args.data {
        Some(dir) => dir.clone(),
        None => {
            let synth = asd::config::quick_benchmark();
            if args.config.config.is_none() {
                let epochs = config.train.epochs;
                config = config.quick().map_err(|e| CliError::Usage(e.to_string()))?;
                if args.config.epochs.is_some() {
                    config = config.with_epochs(epochs);
                }
            }
            let dir = args.out.join("data");
            if asd::audio::synth::is_generated(&synth, &dir) {
                eprintln!("run: reusing the synthetic benchmark in {}", dir.display());
            } else {
                if dir.exists() {
                    eprintln!(
                        "run: the synthetic benchmark in {} is incomplete (no matching {MANIFEST_FILE}); writing it again",
                        dir.display()
                    );
                }
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
    config.check().map_err(|e| CliError::Usage(e.to_string()))?;
    let progress = PipelineProgress::new("run");
    crate::progress::catch_interrupt();
    let command = super::resume_command("run", &args.config, args.data.as_deref(), &args.out);
    let output = asd::run(&config, &data, &args.out, &options, &progress).map_err(CliError::resumable(&command))?;
    progress.finish(&format!(
        "{} trained {} epochs and scored",
        config.system,
        output.history.len()
    ));
    if let Some(selection) = &output.selection {
        crate::error::print(&format!("{}\n", selection.note))?;
    }
    print_results(&output.scores)?;
    match asd::paper::domain_table(config.system, &output.scores) {
        Some(table) => crate::error::print(&format!("\n{table}")),
        None => Ok(()),
    }
}

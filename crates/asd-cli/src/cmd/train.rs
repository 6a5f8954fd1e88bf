//! `asd train`: train a system's network on a dataset's normal training clips.

use super::{ConfigArgs, resume_command};
use crate::error::{CliError, Result};
use crate::progress::PipelineProgress;
use std::path::PathBuf;

/// Train a system's network on the normal training clips of a dataset.
///
/// Writes RUN/config.toml, RUN/classes.json, a checkpoint per epoch (RUN/checkpoints/), RUN/train_log.csv and
/// the final weights RUN/model.bpk; `asd score --run RUN` then scores with them.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  asd train --system asdnet --data ~/dcase2020/dev_data --out runs/asdnet\n  \
asd train --system stgram-mfn --data data/synth --out runs/stgram --epochs 20\n  \
asd train --system asdnet --data data/synth --out runs/asdnet --resume"
)]
pub struct Args {
    #[command(flatten)]
    config: ConfigArgs,
    /// Dataset root (DCASE 2020 or 2021–25 layout).
    #[arg(long)]
    data: PathBuf,
    /// Run folder.
    #[arg(long)]
    out: PathBuf,
    /// Continue from the run folder's last checkpoint (to the same weights as an uninterrupted run).
    #[arg(long)]
    resume: bool,
}

/// Runs `asd train`.
pub fn run(args: Args) -> Result<()> {
    let (config, mut options) = args.config.resolve()?;
    options.resume = args.resume;
    if !config.system.def().trains() {
        return Err(CliError::Usage(format!(
            "system {} has no network to train",
            config.system
        )));
    }
    if config.scoring.select_by_test_auc {
        return Err(CliError::Usage(
            "scoring.select_by_test_auc chooses the model on the test clips after training: use `asd run`".into(),
        ));
    }
    let progress = PipelineProgress::new("train");
    crate::progress::catch_interrupt();
    let command = resume_command("train", &args.config, Some(&args.data), &args.out);
    let trained =
        asd::train(&config, &args.data, &args.out, &options, &progress).map_err(CliError::resumable(&command))?;
    let last = trained.history.last();
    progress.finish(&format!(
        "{} epochs of {}, final loss {:.4}{}; weights in {}",
        trained.history.len(),
        config.system,
        last.map_or(f64::NAN, |l| l.loss),
        asd::progress::accuracy_text(last.map_or(f64::NAN, |l| l.accuracy)),
        trained.model_path.display()
    ));
    Ok(())
}

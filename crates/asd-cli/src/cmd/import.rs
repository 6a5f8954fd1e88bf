//! `asd import`: a run folder from a published PyTorch checkpoint.

use crate::error::{CliError, Result};
use std::path::PathBuf;

/// Make a run folder from a checkpoint of a system's reference PyTorch implementation.
///
/// Reads `torch.save` files (.pt, .pth, a training checkpoint holding the state dict), PyTorch Lightning .ckpt
/// files (keys prefixed `model.`) and safetensors. The class count, the MobileFaceNet variant and the head are read
/// from the tensors' shapes; everything else comes from the system's preset or --config. Then `asd score --run OUT
/// --data DIR` fits the scorers and thresholds on your normal clips, and `asd infer` / `asd monitor` use the folder.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  asd import --system stgram-mfn --weights best_checkpoint.pth.tar --out runs/stgram-published\n  \
asd import --system logmel-mfn --weights model.ckpt --config my.toml --classes classes.json --out runs/logmel"
)]
pub struct Args {
    /// The system the checkpoint is of (`asd info --list`); stgram-mfn, logmel-mfn, asdnet, specmfn and
    /// neri-attention import.
    #[arg(long, value_parser = super::system_parser())]
    system: asd::System,
    /// The checkpoint: .pt / .pth / .tar (torch.save), .ckpt (Lightning) or .safetensors.
    #[arg(long)]
    weights: PathBuf,
    /// Run folder to write.
    #[arg(long)]
    out: PathBuf,
    /// A TOML run configuration for everything the weights do not fix (front end, clip length, scorers).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The network's class map, in the format of a run folder's classes.json (default: the DCASE 2020 machine-ID
    /// map for a 41-class network; otherwise `asd score` takes the classes of the training clips).
    #[arg(long)]
    classes: Option<PathBuf>,
}

/// Runs `asd import`.
pub fn run(args: Args) -> Result<()> {
    let config = match &args.config {
        Some(path) => {
            let config = asd::RunConfig::load(path)?;
            if config.system != args.system {
                return Err(CliError::Usage(format!(
                    "--system {} disagrees with the configuration file's system {}",
                    args.system, config.system
                )));
            }
            config
        }
        None => asd::RunConfig::preset(args.system),
    };
    let output = asd::import(
        &config,
        &args.weights,
        args.classes.as_deref(),
        &args.out,
        &asd::RunOptions::default(),
    )?;
    let model = output.config.model.clone().unwrap_or_default();
    let info: Vec<String> = ["variant", "n_classes"]
        .iter()
        .filter_map(|key| model.get(*key).map(|v| format!("{key} {v}")))
        .collect();
    let info = info.join(", ");
    eprintln!(
        "imported {} tensors into {} ({info}); {}. Next: asd score --run {} --data DIR",
        output.tensors,
        output.model_path.display(),
        match &output.classes {
            Some(c) => format!("{} classes", c.len()),
            None => "classes from the training data at `asd score`".to_string(),
        },
        args.out.display()
    );
    Ok(())
}

//! `asd info`: parameters, MACs and the layer table of a system's network.

use super::system_parser;
use crate::error::{CliError, Result};
use asd::System;
use std::path::PathBuf;

/// Parameters, MACs per input and the layer table of a system's network.
///
/// `params` counts every parameter the system trains (front end, backbone, embedding and classification
/// head); `params_paper` counts as the paper did (with layers the reference builds but never uses); MACs are
/// those of convolutions and linear layers for one input example (decisions.md §9).
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  asd info --list\n  asd info --system asdnet\n  asd info --system stgram-mfn --json stgram.json"
)]
pub struct Args {
    /// System with a network (`--list` shows every system).
    #[arg(long, value_parser = system_parser(), required_unless_present = "list")]
    system: Option<System>,
    /// List every system (name, whether it trains a network, source) and exit.
    #[arg(long, conflicts_with = "system")]
    list: bool,
    /// Also write `{"params", "params_paper", "macs", "layers", …}` as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// Runs `asd info`.
pub fn run(args: Args) -> Result<()> {
    let Some(system) = args.system else {
        for system in System::all() {
            let kind = if system.def().trains() {
                "network"
            } else {
                "training-free"
            };
            println!("{:<12} {:<14} {}", system.name(), kind, system.source());
        }
        return Ok(());
    };
    let info = asd::info(system).map_err(|e| CliError::Usage(e.to_string()))?;
    println!("{} ({})", info.system, info.source);
    println!("input: {}", info.input);
    println!(
        "params: {} trained, {} as the paper counts; MACs per input: {} ({:.2} M)\n",
        info.params,
        info.params_paper,
        info.macs,
        info.macs as f64 / 1e6
    );
    let width = info.layers.iter().map(|l| l.name.len()).max().unwrap_or(5).max(5);
    println!(
        "{:<width$}  {:<16}  {:>10}  {:>14}  role",
        "layer", "output", "params", "MACs"
    );
    for layer in &info.layers {
        let shape = format!("{:?}", layer.output_shape);
        println!(
            "{:<width$}  {:<16}  {:>10}  {:>14}  {}",
            layer.name, shape, layer.params, layer.macs, layer.role
        );
    }
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&info).map_err(|e| CliError::Io {
            path: path.clone(),
            source: std::io::Error::other(e),
        })?;
        std::fs::write(path, text + "\n").map_err(CliError::io(path))?;
    }
    Ok(())
}

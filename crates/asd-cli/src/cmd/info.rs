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
        let mut text = String::new();
        let width = System::all().iter().map(|s| s.name().len()).max().unwrap_or(0);
        for system in System::all() {
            let kind = if system.def().trains() {
                "network"
            } else {
                "training-free"
            };
            text.push_str(&format!("{:<width$} {:<14} {}\n", system.name(), kind, system.source()));
        }
        return crate::error::print(&text);
    };
    let info = asd::info(system).map_err(|e| CliError::Usage(e.to_string()))?;
    let mut text = format!(
        "{} ({})\ninput: {}\nparams: {} trained, {} as the paper counts; MACs per input: {} ({:.2} M)\n\n",
        info.system,
        info.source,
        info.input,
        info.params,
        info.params_paper,
        info.macs,
        info.macs as f64 / 1e6
    );
    for note in &info.notes {
        text.push_str(&format!("note: {note}\n"));
    }
    if !info.notes.is_empty() {
        text.push('\n');
    }
    let width = info.layers.iter().map(|l| l.name.len()).max().unwrap_or(5).max(5);
    text.push_str(&format!(
        "{:<width$}  {:<16}  {:>10}  {:>14}  role\n",
        "layer", "output", "params", "MACs"
    ));
    for layer in &info.layers {
        let shape = format!("{:?}", layer.output_shape);
        text.push_str(&format!(
            "{:<width$}  {:<16}  {:>10}  {:>14}  {}\n",
            layer.name, shape, layer.params, layer.macs, layer.role
        ));
    }
    // The JSON file first: a reader that closes the pipe early must not cost the file.
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&info).map_err(|e| CliError::Io {
            path: path.clone(),
            source: std::io::Error::other(e),
        })?;
        asd_io::write(path, (json + "\n").as_bytes()).map_err(CliError::io(path))?;
    }
    crate::error::print(&text)
}

//! `asd index`: detect a dataset's layout and print what it holds.

use crate::error::{CliError, Result};
use asd::data::{Dataset, Summary};
use std::path::PathBuf;

/// Detect a dataset's layout and print what it holds.
///
/// Prints a table of machine types, IDs or sections, domains, attributes and clip counts per split and
/// condition, and names every file it cannot parse.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  asd index data/synth2020\n  asd index ~/dcase2020/dev_data --json index.json")]
pub struct Args {
    /// Dataset root: a folder of `<type>/train|test/` folders, or one holding `dev_data/` / `eval_data/`.
    dir: PathBuf,
    /// Also write the table as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// Runs `asd index`.
pub fn run(args: Args) -> Result<()> {
    let (dataset, problems) = Dataset::scan(&args.dir).map_err(asd::Error::from)?;
    let summary = Summary::new(&dataset, problems);
    crate::error::print(&summary.to_string())?;
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&summary).map_err(|e| CliError::Io {
            path: path.clone(),
            source: std::io::Error::other(e),
        })?;
        asd_io::write(path, (text + "\n").as_bytes()).map_err(CliError::io(path))?;
    }
    Ok(())
}

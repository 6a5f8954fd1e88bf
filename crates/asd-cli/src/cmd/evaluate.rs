//! `asd evaluate`: score DCASE score CSVs against the ground truth.

use crate::error::Result;
use asd::metrics::{EvalOptions, Pool, Truth};
use std::path::PathBuf;

/// Score DCASE score CSVs against the ground truth.
///
/// Reads `anomaly_score_<type>_<id_XX|section_XX>.csv` files and prints AUC, pAUC (p = 0.1),
/// pAUC-raw and mAUC per machine type and ID or section (and per domain for DCASE 2021+), the averages or
/// harmonic means, and each DCASE generation's official figure the data define, named by year: dcase2020 (the
/// mean over types of the per-type mean AUC and pAUC), dcase2021 (hmean of the domain-only AUC and pAUC) and
/// dcase2022-2026 (hmean of AUC source, AUC target and pAUC).
///
/// Ground truth comes from the file names (development sets) or, with `--truth`, from the official
/// evaluator's files: 2020's `eval_data_list.csv`, or the folders of 2021–2026 (`ground_truth_data/`,
/// `ground_truth_domain/`, `ground_truth_attributes/`).
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  asd evaluate --scores runs/asdnet/scores\n  \
asd evaluate --scores teams/teamX/sysA --truth dcase2023_task2_evaluator --json r.json --csv r.csv --roc roc/")]
pub struct Args {
    /// Folder of score CSVs.
    #[arg(long)]
    scores: PathBuf,
    /// Folder of the official evaluator holding `ground_truth_data/` or 2020's `eval_data_list.csv` (default: labels
    /// from file names).
    #[arg(long)]
    truth: Option<PathBuf>,
    /// Write the results as JSON (spec/cli.md keys).
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write the results as CSV in the official evaluator's layout.
    #[arg(long)]
    csv: Option<PathBuf>,
    /// Write one ROC curve PNG per machine type into this folder.
    #[arg(long)]
    roc: Option<PathBuf>,
    /// Also report one AUC pooled over the IDs / sections of each type (decisions.md §2).
    #[arg(long)]
    pool_type: bool,
    /// Skip the jackknife confidence interval of the official score (O(N²) in the clips).
    #[arg(long)]
    no_ci: bool,
}

/// Runs `asd evaluate`.
pub fn run(args: Args) -> Result<()> {
    let labeller = |name: &str| asd::truth_from_name(name);
    let truth = match &args.truth {
        Some(dir) => Truth::Evaluator(dir.clone()),
        None => Truth::Labeller(&labeller),
    };
    let options = EvalOptions::default()
        .with_pool(if args.pool_type { Pool::Type } else { Pool::Group })
        .with_jackknife(!args.no_ci);
    let report = asd::metrics::evaluate_dir(&args.scores, &truth, &options).map_err(asd::Error::from)?;
    crate::error::print(&report.to_table())?;
    if let Some(path) = &args.json {
        report.write_json(path).map_err(asd::Error::from)?;
    }
    if let Some(path) = &args.csv {
        report.write_evaluator_csv(path).map_err(asd::Error::from)?;
    }
    if let Some(dir) = &args.roc {
        let written = asd::metrics::write_roc_pngs(&report, dir).map_err(asd::Error::from)?;
        eprintln!("evaluate: {} ROC curve(s) written to {}", written.len(), dir.display());
    }
    Ok(())
}

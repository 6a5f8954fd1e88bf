//! `asd infer`: score audio files with a run folder's detector.

use crate::error::{CliError, Result};
use asd::detector::{Query, Verdict};
use std::path::{Path, PathBuf};

/// Files decoded and embedded together (memory only; results do not depend on it).
const FILES_PER_PASS: usize = 64;

/// Score audio files with a trained run: each file's anomaly score and 0/1 decision for every fitted scorer.
///
/// The run folder must hold a detector (`asd train`, `asd run` or `asd score` writes it). A file's machine type
/// and group come from its DCASE name and folders (`fan/test/normal_id_00_00000000.wav`); other names need
/// --group. Files of any format and sample rate the decoder reads are converted to mono 16 kHz and fitted to the
/// run's clip length as in training.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  asd infer --run runs/fan data/fan/test/anomaly_id_00_00000012.wav\n  \
asd infer --run runs/fan --group fan/id_00 recording.flac --json verdicts.json --npy-dir out/"
)]
pub struct Args {
    /// Run folder holding a detector (config.toml, model.bpk, classes.json, detector.json, scorers/).
    #[arg(long)]
    run: PathBuf,
    /// Audio files to score.
    #[arg(required = true)]
    audio: Vec<PathBuf>,
    /// The group of every file, TYPE/GROUP (e.g. fan/id_00 or fan/section_00), for names that do not tell it.
    #[arg(long)]
    group: Option<String>,
    /// Also write one JSON object per file (argument order): file, group, scores, thresholds, decisions.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Also write embeddings.npy [files, dim] and logits.npy [files, classes] (f32, argument order) here.
    #[arg(long)]
    npy_dir: Option<PathBuf>,
    /// Device: cpu, or cuda / cuda:<index> in a build with `--features cuda`.
    #[arg(long, default_value = "cpu")]
    device: String,
}

/// One file's verdict as `--json` writes it.
#[derive(serde::Serialize)]
struct FileVerdict<'a> {
    file: &'a str,
    group: String,
    scores: serde_json::Map<String, serde_json::Value>,
    thresholds: serde_json::Map<String, serde_json::Value>,
    decisions: serde_json::Map<String, serde_json::Value>,
}

impl<'a> FileVerdict<'a> {
    fn new(file: &'a str, verdict: &Verdict) -> Self {
        let map = |f: &dyn Fn(&asd::detector::ScorerVerdict) -> serde_json::Value| {
            verdict.scores.iter().map(|s| (s.name.clone(), f(s))).collect()
        };
        Self {
            file,
            group: verdict.group.to_string(),
            scores: map(&|s| s.score.into()),
            thresholds: map(&|s| s.threshold.into()),
            decisions: map(&|s| u8::from(s.anomalous).into()),
        }
    }
}

/// Runs `asd infer`.
pub fn run(args: Args) -> Result<()> {
    let (detector, group) = super::open_detector(&args.run, args.group.as_deref(), &args.device)?;
    let mut verdicts = Vec::with_capacity(args.audio.len());
    for chunk in args.audio.chunks(FILES_PER_PASS) {
        let targets = chunk
            .iter()
            .map(|path| detector.target_of(path, group.as_ref()))
            .collect::<asd::Result<Vec<_>>>()?;
        let waves = chunk
            .iter()
            .map(|path| detector.load_clip(path))
            .collect::<asd::Result<Vec<_>>>()?;
        let queries: Vec<Query<'_>> = chunk
            .iter()
            .zip(&waves)
            .zip(&targets)
            .map(|((source, wave), target)| Query { wave, source, target })
            .collect();
        verdicts.extend(detector.score_many(&queries)?);
    }
    let names: Vec<String> = args.audio.iter().map(|p| p.display().to_string()).collect();
    crate::error::print(&table(&names, &verdicts))?;
    if let Some(path) = &args.json {
        let objects: Vec<FileVerdict<'_>> = names
            .iter()
            .zip(&verdicts)
            .map(|(f, v)| FileVerdict::new(f, v))
            .collect();
        let text = serde_json::to_string_pretty(&objects).map_err(|e| CliError::Io {
            path: path.clone(),
            source: std::io::Error::other(e),
        })?;
        asd_io::write(path, text.as_bytes()).map_err(CliError::io(path))?;
    }
    if let Some(dir) = &args.npy_dir {
        write_npy(dir, &verdicts)?;
    }
    Ok(())
}

/// One line per file: the file, its group, then `scorer score/threshold → decision` for each scorer.
fn table(names: &[String], verdicts: &[Verdict]) -> String {
    let mut text = String::new();
    for (name, v) in names.iter().zip(verdicts) {
        text.push_str(&format!("{name}\t{}", v.group));
        for s in &v.scores {
            text.push_str(&format!(
                "\t{} {:.4}/{:.4} {}",
                s.name,
                s.score,
                s.threshold,
                if s.anomalous { "anomalous" } else { "normal" }
            ));
        }
        text.push('\n');
    }
    text
}

/// `embeddings.npy` and (for a system with a classifier) `logits.npy` in `dir`.
fn write_npy(dir: &Path, verdicts: &[Verdict]) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(CliError::io(dir))?;
    let (embeddings, logits) = asd::detector::stack_outputs(verdicts);
    crate::npy::write(&dir.join("embeddings.npy"), &embeddings)?;
    if let Some(logits) = logits {
        crate::npy::write(&dir.join("logits.npy"), &logits)?;
    }
    Ok(())
}

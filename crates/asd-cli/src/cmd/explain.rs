//! `asd explain`: a picture of what a run's detector sees in one clip.

use crate::error::{CliError, Result};
use asd::detector::Query;
use std::fmt::Write as _;
use std::path::PathBuf;

/// Picture what a trained run sees in one audio file: its input features, the network's maps and the score.
///
/// Writes a PNG: the verdict of the run's headline scorer in the title, the input features (the log-Mel, or the
/// spectrum of each segment) over time in seconds and frequency in Hz, and for the attention net its Wavegram and
/// attention map. A system that scores a clip as the mean of its segments (ASDNet) also shows each segment's
/// score; a system without an attention module says so. --npy writes the attention map.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  asd explain --run runs/neri data/fan/test/anomaly_id_00_00000012.wav --out explain.png\n  \
asd explain --run runs/neri --group fan/id_00 recording.wav --out map.png --npy attention.npy"
)]
pub struct Args {
    /// Run folder holding a detector (config.toml, model.bpk, classes.json, detector.json, scorers/).
    #[arg(long)]
    run: PathBuf,
    /// The audio file.
    audio: PathBuf,
    /// The PNG to write.
    #[arg(long)]
    out: PathBuf,
    /// Also write the attention map here: f32 [maps, n_mels, frames] (the attention net: on the log-Mel, then
    /// on the Wavegram).
    #[arg(long)]
    npy: Option<PathBuf>,
    /// The file's group, TYPE/GROUP (e.g. fan/id_00), when its name does not tell it.
    #[arg(long)]
    group: Option<String>,
    /// Device: cpu, or cuda / cuda:<index> in a build with `--features cuda`.
    #[arg(long, default_value = "cpu")]
    device: String,
}

/// Runs `asd explain`.
pub fn run(args: Args) -> Result<()> {
    let (detector, group) = super::open_detector(&args.run, args.group.as_deref(), &args.device)?;
    let target = detector.target_of(&args.audio, group.as_ref())?;
    let wave = detector.load_clip(&args.audio)?;
    let seen = detector.explain(&Query {
        wave: &wave,
        source: &args.audio,
        target: &target,
    })?;
    let attention = match (&args.npy, seen.attention()) {
        (Some(_), None) => {
            return Err(CliError::Usage(format!(
                "--npy: {} has no attention module, so there is no attention map to write",
                seen.system
            )));
        }
        (_, attention) => attention,
    };
    seen.write_png(&args.out)?;
    if let (Some(path), Some(map)) = (&args.npy, &attention) {
        crate::npy::write(path, map)?;
    }
    let mut text = format!("{} in group {}\n", args.audio.display(), seen.verdict.group);
    for s in &seen.verdict.scores {
        let call = if s.anomalous { "anomalous" } else { "normal" };
        let _ = writeln!(
            text,
            "  {:<8} score {:>12.5}  threshold {:>12.5}  {call}",
            s.name, s.score, s.threshold
        );
    }
    for note in &seen.notes {
        let _ = writeln!(text, "{note}");
    }
    let _ = writeln!(text, "picture: {}", args.out.display());
    if let Some(path) = &args.npy {
        let _ = writeln!(text, "attention map: {}", path.display());
    }
    crate::error::print(&text)
}

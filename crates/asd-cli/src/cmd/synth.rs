//! `asd synth`: write the built-in synthetic machine-sound benchmark in a DCASE layout.

use crate::error::{CliError, Result};
use crate::progress::Progress;
use asd::audio::synth::{SynthConfig, SynthLayout};
use std::path::PathBuf;

/// Write a synthetic machine-sound dataset (WAV, 16 kHz, 16-bit) in a DCASE layout.
///
/// Deterministic: the same seed gives byte-identical files.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  asd synth --out data/synth2020\n  \
asd synth --out data/small --layout dcase2020 --types 2 --ids 3 --train 10 --test 6 --seconds 2\n  \
asd synth --out data/synth2023 --layout dcase2023 --seed 7\n  \
asd synth --out data/synth2025 --layout dcase2025 --types 3 --supplemental 20\n  \
asd synth --out data/synth2026 --layout dcase2026 --types 2 --ids 1\n  \
asd synth --out data/clear --test 20 --severity 0.8")]
pub struct Args {
    /// Output folder (created; files in it are overwritten).
    #[arg(long)]
    out: PathBuf,
    /// Folder layout and file-name grammar to write: dcase2023 has source and target domains and attributes;
    /// dcase2025 adds hidden attributes and supplemental clean-machine or noise-only clips; dcase2026 writes
    /// two-channel clips (near and far microphone) of 0.6, 1 or 1.6 × --seconds by type.
    #[arg(long, value_enum, default_value = "dcase2020")]
    layout: LayoutArg,
    /// Number of machine types (1–6 for dcase2020, 1–7 otherwise).
    #[arg(long)]
    types: Option<usize>,
    /// Machine IDs per type (dcase2020) or sections per type (the others).
    #[arg(long)]
    ids: Option<usize>,
    /// Normal training clips per ID or section.
    #[arg(long)]
    train: Option<usize>,
    /// Test clips per ID or section and per condition (normal, anomaly).
    #[arg(long)]
    test: Option<usize>,
    /// Clip length in seconds.
    #[arg(long)]
    seconds: Option<f32>,
    /// Random seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Supplemental clips per machine type (dcase2025 only; default a tenth of --train, at least 1).
    #[arg(long)]
    supplemental: Option<usize>,
    /// Fix every anomaly's severity at this position of its type's range (0 = weakest, 1 = strongest)
    /// instead of drawing it per clip.
    #[arg(long)]
    severity: Option<f32>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum LayoutArg {
    Dcase2020,
    Dcase2023,
    Dcase2025,
    Dcase2026,
}

/// Runs `asd synth`.
pub fn run(args: Args) -> Result<()> {
    let mut config = SynthConfig {
        layout: match args.layout {
            LayoutArg::Dcase2020 => SynthLayout::Dcase2020,
            LayoutArg::Dcase2023 => SynthLayout::Dcase2023,
            LayoutArg::Dcase2025 => SynthLayout::Dcase2025,
            LayoutArg::Dcase2026 => SynthLayout::Dcase2026,
        },
        supplemental: args.supplemental,
        severity: args.severity,
        ..SynthConfig::default()
    };
    if let Some(v) = args.types {
        config.types = v;
    }
    if let Some(v) = args.ids {
        config.ids = v;
    }
    if let Some(v) = args.train {
        config.train = v;
    }
    if let Some(v) = args.test {
        config.test = v;
    }
    if let Some(v) = args.seconds {
        config.seconds = v;
    }
    if let Some(v) = args.seed {
        config.seed = v;
    }
    // A bad flag value is a usage error (exit code 2), found before anything is written.
    config.check().map_err(|e| CliError::Usage(e.to_string()))?;
    let progress = Progress::new("synth");
    let summary = asd::audio::synth::generate(&config, &args.out, &mut |done, total| progress.update(done, total))
        .map_err(asd::Error::from)?;
    progress.finish(&format!("{} clips written to {}", summary.n_clips, args.out.display()));
    Ok(())
}

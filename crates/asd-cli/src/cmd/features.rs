//! `asd features`: one audio file's features as a float32 `.npy`.

use super::serde_name;
use crate::error::{CliError, Result};
use asd::features::{FeatureKind, FeatureSpec, FrontendPreset, MelNorm, MelScale, PadMode};
use std::path::PathBuf;

/// Compute one audio file's features as a float32 `.npy`.
///
/// Shapes: `[n_mels, frames]` for log-Mel, `[vectors, n_mels · frames]` for stacked log-Mel,
/// `[segments, bins]` for spectrum, `[bins, frames]` for STFT, `[bins]` for envelope.
///
/// The audio is decoded, mixed to mono and resampled to 16 kHz first.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  asd features --kind logmel --in clip.wav --out clip_logmel.npy\n  \
asd features --kind logmel --frontend librosa --pad reflect --in clip.wav --out x.npy\n  \
asd features --kind spectrum --segment-seconds 2 --in clip.flac --out spec.npy\n  \
asd features --kind hpf-logmel --frontend firstshot2025 --in clip.wav --out hp.npy"
)]
pub struct Args {
    /// What to compute: spectrum | logmel | hpf-logmel | stacked-logmel | stft | envelope | waveform.
    #[arg(long, value_parser = serde_name::<FeatureKind>)]
    kind: FeatureKind,
    /// Input audio file (WAV, FLAC, Ogg Vorbis, MP3).
    #[arg(long = "in")]
    input: PathBuf,
    /// Output `.npy` file.
    #[arg(long)]
    out: PathBuf,
    /// Reference front end: stgram-mfn | os-scl | neri-attention | librosa | firstshot2025 | dcase-ae
    /// (default: stgram-mfn; firstshot2025 for hpf-logmel and envelope; dcase-ae for stacked-logmel).
    #[arg(long, value_parser = serde_name::<FrontendPreset>)]
    frontend: Option<FrontendPreset>,
    /// FFT and window length, samples.
    #[arg(long)]
    n_fft: Option<usize>,
    /// Hop between frames, samples.
    #[arg(long)]
    hop: Option<usize>,
    /// Number of Mel bands.
    #[arg(long)]
    n_mels: Option<usize>,
    /// Lower Mel edge (or envelope filter edge), Hz.
    #[arg(long)]
    f_min: Option<f64>,
    /// Upper Mel edge (or envelope filter edge), Hz.
    #[arg(long)]
    f_max: Option<f64>,
    /// Mel scale: htk | slaney.
    #[arg(long, value_parser = serde_name::<MelScale>)]
    mel_scale: Option<MelScale>,
    /// Mel filter normalisation: none | slaney.
    #[arg(long, value_parser = serde_name::<MelNorm>)]
    mel_norm: Option<MelNorm>,
    /// STFT edge padding: reflect | zero.
    #[arg(long, value_parser = serde_name::<PadMode>)]
    pad: Option<PadMode>,
    /// Segment length of the spectrum kind, seconds.
    #[arg(long)]
    segment_seconds: Option<f64>,
    /// Frames per vector of the stacked-logmel kind (default 5).
    #[arg(long)]
    frames: Option<usize>,
}

/// Runs `asd features`.
pub fn run(args: Args) -> Result<()> {
    let mut spec = FeatureSpec::new(args.kind);
    spec.preset = args.frontend;
    spec.n_fft = args.n_fft;
    spec.hop = args.hop;
    spec.n_mels = args.n_mels;
    spec.f_min = args.f_min;
    spec.f_max = args.f_max;
    spec.mel_scale = args.mel_scale;
    spec.mel_norm = args.mel_norm;
    spec.pad = args.pad;
    spec.segment_seconds = args.segment_seconds;
    spec.frames = args.frames;
    // Check the settings before decoding anything.
    let frontend = spec.build().map_err(|e| CliError::Usage(e.to_string()))?;
    let wave = asd::audio::load_16k(&args.input).map_err(asd::Error::from)?;
    let features = frontend.extract(&wave.samples).map_err(|e| asd::Error::File {
        path: args.input.clone(),
        reason: e.to_string(),
    })?;
    if args.kind == FeatureKind::Envelope {
        // `[1, bins]` from the front end; the file holds `[bins]` (spec/cli.md).
        crate::npy::write(&args.out, &features.row(0).to_owned())?;
    } else {
        crate::npy::write(&args.out, &features)?;
    }
    let shape = features.shape();
    eprintln!(
        "features: {} {:?} written to {}",
        spec.kind.name(),
        shape,
        args.out.display()
    );
    Ok(())
}

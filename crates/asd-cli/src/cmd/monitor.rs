//! `asd monitor`: watch a stream with a run folder's detector.

use crate::error::{CliError, Result};
use asd::detector::{Detector, GroupName};
use asd::monitor::{Hop, Monitor, MonitorConfig};
use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Samples per chunk read from a file or standard input: 0.1 s at 16 kHz.
const CHUNK: usize = 1_600;

/// Watch a running machine: score the stream every hop and raise an alarm on repeated anomalous windows.
///
/// Reads a WAV/FLAC file (as fast as possible, or at real speed with --realtime), raw 16-bit little-endian mono
/// PCM at 16 kHz on standard input (`--input -`; e.g. from `arecord -f S16_LE -r 16000 -c 1 -t raw` or
/// `ffmpeg … -f s16le -ar 16000 -ac 1 -`), or the default microphone (`--input mic`, in a build with
/// `--features mic`). Writes one JSON line per hop on standard output: t (end of the scored window, seconds from
/// the start of the stream), score, threshold, decision (0|1), alarm (true|false). Stops at the end of the input
/// or on Ctrl-C.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  asd monitor --run runs/fan --group fan/id_00 --input recording.wav\n  \
arecord -q -f S16_LE -r 16000 -c 1 -t raw | asd monitor --run runs/fan --group fan/id_00 --input - --hop 2 --alarm 2/3"
)]
pub struct Args {
    /// Run folder holding a detector.
    #[arg(long)]
    run: PathBuf,
    /// The machine's group, TYPE/GROUP (e.g. fan/id_00); needed when the detector has several.
    #[arg(long)]
    group: Option<String>,
    /// An audio file, `-` for raw 16-bit 16-kHz mono PCM on standard input, or `mic`.
    #[arg(long)]
    input: String,
    /// Seconds between scored windows (the window is the run's clip length).
    #[arg(long, default_value_t = asd::monitor::HOP_SECONDS)]
    hop: f32,
    /// Alarm rule K/N: raised when K of the last N windows are anomalous.
    #[arg(long, default_value = "3/5", value_parser = alarm_rule)]
    alarm: (usize, usize),
    /// The alarm clears when at most this many of the last N windows are anomalous (default K − 2).
    #[arg(long)]
    clear: Option<usize>,
    /// The scorer that decides (default: the run's headline scorer).
    #[arg(long)]
    scorer: Option<String>,
    /// Feed a file at real speed instead of as fast as possible.
    #[arg(long)]
    realtime: bool,
    /// Device: cpu, or cuda / cuda:<index> in a build with `--features cuda`.
    #[arg(long, default_value = "cpu")]
    device: String,
}

/// Parses `K/N`.
fn alarm_rule(text: &str) -> std::result::Result<(usize, usize), String> {
    let parse = |s: &str| s.trim().parse::<usize>().map_err(|e| format!("`{s}`: {e}"));
    match text.split_once('/') {
        Some((k, n)) => Ok((parse(k)?, parse(n)?)),
        None => Err("expected K/N, e.g. 3/5".into()),
    }
}

/// Set by Ctrl-C: the stream stops after the current chunk.
static STOP: AtomicBool = AtomicBool::new(false);

/// Where samples come from: chunks of 16-kHz mono samples until the end of the input.
pub(crate) trait Source {
    /// The next chunk, `None` at the end of the input.
    fn next_chunk(&mut self) -> Result<Option<Vec<f32>>>;
}

/// A decoded file, fed in chunks, optionally at real speed.
struct FileSource {
    samples: Vec<f32>,
    pos: usize,
    realtime: Option<Instant>,
}

impl Source for FileSource {
    fn next_chunk(&mut self) -> Result<Option<Vec<f32>>> {
        if self.pos >= self.samples.len() {
            return Ok(None);
        }
        let end = (self.pos + CHUNK).min(self.samples.len());
        let chunk = self.samples[self.pos..end].to_vec();
        self.pos = end;
        if let Some(start) = self.realtime {
            let due = Duration::from_secs_f64(self.pos as f64 / f64::from(asd::audio::TARGET_SAMPLE_RATE));
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        Ok(Some(chunk))
    }
}

/// Raw 16-bit little-endian PCM on standard input.
struct StdinSource {
    stdin: std::io::Stdin,
    /// A byte of a sample split between two reads.
    carry: Option<u8>,
}

impl Source for StdinSource {
    fn next_chunk(&mut self) -> Result<Option<Vec<f32>>> {
        let mut buf = vec![0u8; 2 * CHUNK];
        let start = usize::from(self.carry.is_some());
        if let Some(b) = self.carry.take() {
            buf[0] = b;
        }
        let n = loop {
            match self.stdin.lock().read(&mut buf[start..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(CliError::io("standard input")(e)),
            }
        };
        if n == 0 {
            return Ok(None);
        }
        let bytes = &buf[..start + n];
        let whole = bytes.len() / 2 * 2;
        self.carry = bytes.get(whole).copied();
        Ok(Some(
            bytes[..whole]
                .chunks_exact(2)
                .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32_768.0)
                .collect(),
        ))
    }
}

/// Runs `asd monitor`.
pub fn run(args: Args) -> Result<()> {
    let device = asd::pipeline::parse_device(&args.device).map_err(|e| CliError::Usage(e.to_string()))?;
    let detector = Detector::load_on(&args.run, &device)?;
    let group: GroupName = match (&args.group, detector.groups()) {
        (Some(g), _) => g.parse().map_err(|e: asd::Error| CliError::Usage(e.to_string()))?,
        (None, [only]) => only.clone(),
        (None, groups) => {
            let known: Vec<String> = groups.iter().map(ToString::to_string).collect();
            return Err(CliError::Usage(format!(
                "--group is needed: the detector has {} groups ({})",
                groups.len(),
                known.join(", ")
            )));
        }
    };
    let config = MonitorConfig {
        hop_seconds: args.hop,
        alarm_k: args.alarm.0,
        alarm_n: args.alarm.1,
        clear: args.clear,
        scorer: args.scorer.clone(),
    };
    let mut monitor = Monitor::new(&detector, group.clone().into(), config).map_err(|e| match e {
        e @ asd::Error::Setting { .. } => CliError::Usage(e.to_string()),
        e => e.into(),
    })?;
    let mut source: Box<dyn Source> = match args.input.as_str() {
        "-" => Box::new(StdinSource {
            stdin: std::io::stdin(),
            carry: None,
        }),
        "mic" => microphone()?,
        path => Box::new(FileSource {
            samples: detector.load_clip(path.as_ref())?.samples,
            pos: 0,
            realtime: args.realtime.then(Instant::now),
        }),
    };
    if let Err(e) = ctrlc::set_handler(|| {
        if STOP.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    }) {
        tracing::warn!("Ctrl-C will stop at once: {e}");
    }
    eprintln!(
        "monitoring {group} with scorer {} (window {:.1} s, hop {:.1} s, alarm {}/{})",
        monitor.scorer(),
        monitor.window() as f64 / 16_000.0,
        monitor.hop() as f64 / 16_000.0,
        args.alarm.0,
        args.alarm.1
    );
    let live = std::io::stderr().is_terminal();
    let (mut hops, mut alarms) = (0usize, Vec::new());
    while !STOP.load(Ordering::SeqCst) {
        let Some(chunk) = source.next_chunk()? else {
            break;
        };
        for hop in monitor.push(&chunk)? {
            let was_on = alarms.last().is_some_and(|&(_, on)| on);
            if hop.alarm != was_on {
                alarms.push((hop.t, hop.alarm));
            }
            hops += 1;
            emit(&hop, live)?;
        }
    }
    if live {
        eprintln!();
    }
    let changes: Vec<String> = alarms
        .iter()
        .map(|(t, on)| format!("{} at {t:.1} s", if *on { "raised" } else { "cleared" }))
        .collect();
    eprintln!(
        "{hops} windows scored; alarm {}",
        if changes.is_empty() {
            "never raised".to_string()
        } else {
            changes.join(", ")
        }
    );
    Ok(())
}

/// Writes one hop as a JSON line on standard output, and the live line on a terminal's standard error.
fn emit(hop: &Hop, live: bool) -> Result<()> {
    let line = serde_json::to_string(hop).map_err(|e| CliError::Io {
        path: "standard output".into(),
        source: std::io::Error::other(e),
    })?;
    crate::error::print(&format!("{line}\n"))?;
    if live {
        eprint!(
            "\r  t {:>9.1} s  score {:>10.4} / {:<10.4} {}  alarm {}   ",
            hop.t,
            hop.score,
            hop.threshold,
            if hop.decision == 1 { "anomalous" } else { "normal   " },
            if hop.alarm { "ON " } else { "off" }
        );
    }
    Ok(())
}

/// The default microphone as a source.
#[cfg(feature = "mic")]
fn microphone() -> Result<Box<dyn Source>> {
    Ok(Box::new(crate::mic::Microphone::open()?))
}

/// Without the `mic` feature: a usage error saying how to build it.
#[cfg(not(feature = "mic"))]
fn microphone() -> Result<Box<dyn Source>> {
    Err(CliError::Usage(
        "this build has no microphone input; build with `cargo build --release -p asd-cli --features mic` \
         (needs the ALSA development files on Linux, e.g. libasound2-dev)"
            .into(),
    ))
}

//! Live monitoring: a [`Detector`] scoring a stream of samples every hop, with an alarm that needs several
//! anomalous hops to raise and several normal ones to clear.
//!
//! [`Monitor`] keeps the last window of samples (the run's clip length) in a ring buffer; every `hop` samples it
//! scores the window with one scorer of the detector and decides `score > threshold`. The alarm is raised when at
//! least `k` of the last `n` decisions are anomalous, and cleared only when at most `clear` of them are
//! (hysteresis, `clear < k`), so a single odd window neither raises nor clears it. Memory does not grow with the
//! stream: the ring buffer, one scratch window and the last `n` decisions.
//!
//! ```no_run
//! # fn main() -> asd::Result<()> {
//! use asd::detector::Detector;
//! use asd::monitor::{Monitor, MonitorConfig};
//! let detector = Detector::load("runs/fan".as_ref())?;
//! let mut monitor = Monitor::new(&detector, "fan/id_00".parse()?, MonitorConfig::default())?;
//! let chunk = vec![0.0f32; 1600]; // 0.1 s of 16-kHz samples from a microphone, a file, a socket…
//! for hop in monitor.push(&chunk)? {
//!     println!("t {:.1} s score {:.3} alarm {}", hop.t, hop.score, hop.alarm);
//! }
//! # Ok(()) }
//! ```

use crate::detector::{Detector, Query, Target};
use crate::{Error, Result};
use asd_audio::{TARGET_SAMPLE_RATE, Waveform};
use serde::Serialize;
use std::collections::VecDeque;
use std::path::Path;

/// One hop per second: deployments seen in the wild score a 10-s window every 5 s; a 1-s hop reacts sooner at
/// ten times the cost (our default).
pub const HOP_SECONDS: f32 = 1.0;
/// Alarm when 3 of the last 5 hops are anomalous (our default: with the baseline's 10 % false-alarm threshold,
/// three of five independent normal windows are anomalous with probability about 0.9 %).
pub const ALARM_K: usize = 3;
/// See [`ALARM_K`].
pub const ALARM_N: usize = 5;

/// How a [`Monitor`] scores and alarms.
#[derive(Clone, Debug, PartialEq)]
pub struct MonitorConfig {
    /// Seconds between scored windows (> 0; at most the window).
    pub hop_seconds: f32,
    /// Anomalous decisions among the last `alarm_n` that raise the alarm (1 ≤ k ≤ n).
    pub alarm_k: usize,
    /// Decisions the alarm rule looks back over.
    pub alarm_n: usize,
    /// The alarm clears when at most this many of the last `alarm_n` decisions are anomalous (< k); `None`: k − 2
    /// (0 when k ≤ 2).
    pub clear: Option<usize>,
    /// The scorer whose score and threshold decide; `None`: the detector's first (the run's headline).
    pub scorer: Option<String>,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        Self {
            hop_seconds: HOP_SECONDS,
            alarm_k: ALARM_K,
            alarm_n: ALARM_N,
            clear: None,
            scorer: None,
        }
    }
}

/// One scored window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Hop {
    /// End of the scored window, in seconds from the start of the stream.
    pub t: f64,
    /// The scorer's anomaly score of the window.
    pub score: f64,
    /// The group's threshold.
    pub threshold: f64,
    /// `score > threshold` (1: anomalous).
    pub decision: u8,
    /// Whether the alarm is raised after this hop.
    pub alarm: bool,
}

/// Scores a stream of 16-kHz samples every hop with one scorer of a [`Detector`] (module docs).
pub struct Monitor<'a> {
    detector: &'a Detector,
    target: Target,
    scorer: String,
    threshold: f64,
    /// Samples per scored window.
    window: usize,
    /// The last `window` samples; `next` is the oldest once full.
    ring: Vec<f32>,
    next: usize,
    /// Samples received in all (the stream's clock).
    received: u64,
    /// Samples received since the last scored window.
    since_hop: usize,
    hop: usize,
    recent: VecDeque<bool>,
    alarm_k: usize,
    alarm_n: usize,
    clear: usize,
    alarm: bool,
    /// The window in time order, reused for each hop.
    scratch: Vec<f32>,
}

impl std::fmt::Debug for Monitor<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor")
            .field("group", &self.target.group.to_string())
            .field("scorer", &self.scorer)
            .field("window", &self.window)
            .field("hop", &self.hop)
            .field("alarm", &self.alarm)
            .finish_non_exhaustive()
    }
}

impl<'a> Monitor<'a> {
    /// A monitor of `detector` for clips of `target`'s group.
    ///
    /// # Errors
    /// [`Error::Setting`] for a hop of no sample or longer than the window, an alarm rule outside 1 ≤ k ≤ n (or a
    /// clear level not below k), a scorer the detector lacks, or a group it has no threshold for.
    pub fn new(detector: &'a Detector, target: Target, config: MonitorConfig) -> Result<Monitor<'a>> {
        let window = detector.window_samples();
        let hop = (f64::from(config.hop_seconds) * f64::from(TARGET_SAMPLE_RATE)).round();
        let setting = |field: &str, reason: String| Error::Setting {
            field: field.into(),
            reason,
        };
        if !(hop >= 1.0 && hop <= window as f64) {
            return Err(setting(
                "hop",
                format!(
                    "{} s: must be positive and at most the window of {} s",
                    config.hop_seconds,
                    window as f64 / f64::from(TARGET_SAMPLE_RATE)
                ),
            ));
        }
        let (k, n) = (config.alarm_k, config.alarm_n);
        let clear = config.clear.unwrap_or(k.saturating_sub(2));
        if k == 0 || k > n || clear >= k {
            return Err(setting(
                "alarm",
                format!("{k} of {n}, clearing at {clear}: needs 1 ≤ k ≤ n and clear < k"),
            ));
        }
        let names = detector.scorer_names();
        let scorer = match &config.scorer {
            Some(name) if names.contains(&name.as_str()) => name.clone(),
            Some(name) => {
                return Err(setting(
                    "scorer",
                    format!("`{name}`: the detector has {}", names.join(", ")),
                ));
            }
            None => names
                .first()
                .map(|n| n.to_string())
                .ok_or_else(|| setting("scorer", "the detector has no scorer".into()))?,
        };
        let threshold = detector
            .threshold(&scorer, &target.group)
            .ok_or_else(|| {
                setting(
                    "group",
                    format!("the detector has no threshold of scorer {scorer} for {}", target.group),
                )
            })?
            .threshold;
        Ok(Monitor {
            detector,
            target,
            scorer,
            threshold,
            window,
            ring: Vec::with_capacity(window),
            next: 0,
            received: 0,
            since_hop: 0,
            hop: hop as usize,
            recent: VecDeque::with_capacity(n),
            alarm_k: k,
            alarm_n: n,
            clear,
            alarm: false,
            scratch: Vec::with_capacity(window),
        })
    }

    /// Window length in samples.
    pub fn window(&self) -> usize {
        self.window
    }

    /// Hop length in samples.
    pub fn hop(&self) -> usize {
        self.hop
    }

    /// The scorer that decides.
    pub fn scorer(&self) -> &str {
        &self.scorer
    }

    /// Whether the alarm is raised.
    pub fn alarm(&self) -> bool {
        self.alarm
    }

    /// Samples held (the window and the scratch copy): constant once the first window is full.
    pub fn buffered_samples(&self) -> usize {
        self.ring.capacity() + self.scratch.capacity()
    }

    /// Feeds 16-kHz mono `samples` (any chunk size) and returns the hops they complete, in order: the first when
    /// a whole window has arrived, then one every hop.
    ///
    /// # Errors
    /// A non-finite sample, or a scoring error.
    pub fn push(&mut self, samples: &[f32]) -> Result<Vec<Hop>> {
        if let Some(i) = samples.iter().position(|v| !v.is_finite()) {
            return Err(Error::Setting {
                field: "input".into(),
                reason: format!("sample {} of the stream is not finite", self.received + i as u64),
            });
        }
        let window = self.window();
        let mut hops = Vec::new();
        let mut rest = samples;
        while !rest.is_empty() {
            // Take samples up to the next scoring point (the window filling, then each hop).
            let due = if self.ring.len() < window {
                window - self.ring.len()
            } else {
                self.hop - self.since_hop
            };
            let (now, later) = rest.split_at(due.min(rest.len()));
            for &v in now {
                if self.ring.len() < window {
                    self.ring.push(v);
                } else {
                    self.ring[self.next] = v;
                    self.next = (self.next + 1) % window;
                    self.since_hop += 1;
                }
            }
            self.received += now.len() as u64;
            rest = later;
            let filled_now = self.ring.len() == window && self.received == window as u64;
            if filled_now || (self.ring.len() == window && self.since_hop == self.hop) {
                self.since_hop = 0;
                hops.push(self.score_window()?);
            }
        }
        Ok(hops)
    }

    /// Scores the window in the ring and updates the alarm.
    fn score_window(&mut self) -> Result<Hop> {
        self.scratch.clear();
        self.scratch.extend_from_slice(&self.ring[self.next..]);
        self.scratch.extend_from_slice(&self.ring[..self.next]);
        let wave = Waveform::new(std::mem::take(&mut self.scratch), TARGET_SAMPLE_RATE);
        let verdict = self.detector.score_many(&[Query {
            wave: &wave,
            source: Path::new("stream"),
            target: &self.target,
        }]);
        self.scratch = wave.samples;
        let verdict = verdict?
            .pop()
            .ok_or_else(|| Error::Mismatch("no verdict for the window".into()))?;
        let score = verdict
            .scores
            .iter()
            .find(|s| s.name == self.scorer)
            .map(|s| s.score)
            .ok_or_else(|| Error::Mismatch(format!("scorer {} gave no score for the window", self.scorer)))?;
        let decision = score > self.threshold;
        if self.recent.len() == self.alarm_n {
            self.recent.pop_front();
        }
        self.recent.push_back(decision);
        let anomalous = self.recent.iter().filter(|&&d| d).count();
        if anomalous >= self.alarm_k {
            self.alarm = true;
        } else if anomalous <= self.clear {
            self.alarm = false;
        }
        Ok(Hop {
            t: self.received as f64 / f64::from(TARGET_SAMPLE_RATE),
            score,
            threshold: self.threshold,
            decision: u8::from(decision),
            alarm: self.alarm,
        })
    }
}

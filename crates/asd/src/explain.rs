//! What a detector sees in one clip (`asd explain`): its input features, the maps its network computes (the
//! attention net's Wavegram and attention map), the per-segment contribution to the score for a system that scores
//! a clip as the mean of its segments, and the verdict, with a PNG picture of them all (feature `plot`).
//!
//! ```no_run
//! # fn main() -> asd::Result<()> {
//! use asd::detector::{Detector, Query};
//! use std::path::Path;
//!
//! let detector = Detector::load(Path::new("runs/neri"))?;
//! let clip = Path::new("data/fan/test/anomaly_id_00_00000000.wav");
//! let target = detector.target_of(clip, None)?;
//! let wave = asd::audio::load_16k(clip)?;
//! let seen = detector.explain(&Query { wave: &wave, source: clip, target: &target })?;
//! if let Some(map) = seen.attention() {
//!     println!("attention maps {:?}, smallest weight {}", map.dim(), map.fold(1.0f32, |a, &v| a.min(v)));
//! }
//! seen.write_png(Path::new("explain.png"))?;
//! # Ok(())
//! # }
//! ```

use crate::detector::{Detector, Query, ScorerVerdict, Verdict};
use crate::{Error, Result};
use asd_features::{FeatureAxis, FeatureKind, FeatureSpec, SpectrumValue};
use ndarray::{Array2, Array3, Axis as NdAxis};
use std::path::{Path, PathBuf};

/// Added to spectrum magnitudes and powers before their logarithm in pictures (a silent bin would be −∞ dB).
const PICTURE_DB_FLOOR: f32 = 1e-10;

/// What one axis of a [`Panel`] stands for.
#[derive(Clone, Debug, PartialEq)]
pub enum Axis {
    /// A frequency in Hz per index (Mel band centres, FFT bins).
    Hz(Vec<f64>),
    /// A time in seconds from the clip's start per index (frame centres, segment starts).
    Seconds(Vec<f64>),
    /// Indices without units, named (`"Wavegram channel"`).
    Index(String),
}

impl Axis {
    fn of(axis: FeatureAxis) -> Self {
        match axis {
            FeatureAxis::Hz(hz) => Self::Hz(hz),
            FeatureAxis::Seconds(s) => Self::Seconds(s),
            FeatureAxis::Single => Self::Index("row".into()),
        }
    }
}

/// One picture of a clip: a map over time (columns) and frequency or channels (rows).
#[derive(Clone, Debug)]
pub struct Panel {
    /// What it shows, with its unit (`"input: logmel (dB)"`, `"attention on the log-Mel"`).
    pub title: String,
    /// Values `[rows, columns]`: row 0 is the lowest frequency (drawn at the bottom), columns follow `x`.
    pub values: Array2<f32>,
    /// What the columns stand for (seconds for every panel of a clip).
    pub x: Axis,
    /// What the rows stand for.
    pub y: Axis,
    /// `true` for an attention map (the weights the network multiplies its input by).
    pub attention: bool,
}

/// The per-segment contribution to a clip's score: the clip's score is the mean of these.
#[derive(Clone, Debug, PartialEq)]
pub struct SegmentScores {
    /// The scorer whose scores these are (the detector's first that scores the clip).
    pub scorer: String,
    /// Start of each segment, seconds.
    pub starts: Vec<f64>,
    /// Length of a segment, seconds.
    pub seconds: f64,
    /// Each segment's score, in the scorer's units.
    pub scores: Vec<f64>,
}

/// What a detector sees in one clip ([`Detector::explain`]).
#[derive(Clone, Debug)]
pub struct Explanation {
    /// The system's name.
    pub system: String,
    /// Where the samples came from.
    pub source: PathBuf,
    /// The detector's verdict on the clip (every scorer).
    pub verdict: Verdict,
    /// Input features (the waveform input is not drawn), then the network's maps.
    pub panels: Vec<Panel>,
    /// The per-segment scores, for a system whose clip score is their mean; `None` when the system scores the
    /// whole clip at once (or pools its segments' embeddings first).
    pub segments: Option<SegmentScores>,
    /// Sentences saying what the picture shows and what the system has not (no attention module, no per-frame
    /// contribution).
    pub notes: Vec<String>,
}

impl Explanation {
    /// The attention maps `[maps, rows, frames]` (the attention net: on the log-Mel, then on the Wavegram), or
    /// `None` for a system without an attention module.
    pub fn attention(&self) -> Option<Array3<f32>> {
        let maps: Vec<_> = self
            .panels
            .iter()
            .filter(|p| p.attention)
            .map(|p| p.values.view())
            .collect();
        if maps.is_empty() {
            return None;
        }
        ndarray::stack(NdAxis(0), &maps).ok()
    }

    /// The verdict of the detector's headline scorer (its first that scored the clip).
    pub fn headline(&self) -> Option<&ScorerVerdict> {
        self.verdict.scores.first()
    }

    /// Writes the picture as a PNG at `path` (written whole or not at all): the verdict in the title, each panel
    /// as a heat map with its time axis in seconds, its frequency axis in Hz (or channels) and its colour scale,
    /// then the per-segment scores as bars with the threshold.
    ///
    /// # Errors
    /// [`Error::File`] naming the file when it cannot be drawn or written.
    #[cfg(feature = "plot")]
    pub fn write_png(&self, path: &Path) -> Result<()> {
        picture::write(self, path).map_err(|reason| Error::File {
            path: path.into(),
            reason,
        })
    }
}

impl Detector {
    /// What the detector sees in one clip: its verdict, its input features, the maps of its network and, for a
    /// system that scores a clip as the mean of its segments, each segment's score ([`Explanation`]).
    ///
    /// # Errors
    /// As [`Detector::score_in`]; errors name the query's source.
    pub fn explain(&self, query: &Query<'_>) -> Result<Explanation> {
        let verdict = self
            .score_many(std::slice::from_ref(query))?
            .pop()
            .ok_or_else(|| Error::Mismatch("no verdict for one clip".into()))?;
        let inside = self.look_inside(query)?;
        let system = self.config().system.name().to_string();
        let samples = self.window_samples();
        let mut panels = Vec::new();
        let mut notes = Vec::new();
        let mut main: Option<(Axis, Axis)> = None;
        for (spec, cache) in self.input_specs().iter().zip(&inside.inputs) {
            if spec.kind == FeatureKind::Waveform {
                notes.push("The waveform input is not drawn.".into());
                continue;
            }
            let [rows, cols] = spec.axes(samples)?;
            let values = in_db(spec, cache.get(0).to_owned());
            // Time runs along the columns of every panel: the spectrum's rows are its segments.
            let (values, y, x) = match (rows, cols) {
                (FeatureAxis::Seconds(t), other) => (values.t().to_owned(), Axis::of(other), Axis::Seconds(t)),
                (rows, cols) => (values, Axis::of(rows), Axis::of(cols)),
            };
            // A stacked log-Mel vector holds `frames` consecutive frames; the first frame of each is the log-Mel.
            let (values, y, title) = match y {
                Axis::Hz(hz) if spec.kind == FeatureKind::StackedLogMel => {
                    let bands = spec.log_mel_config().mel.band_centres_hz().len().min(hz.len());
                    (
                        values.slice(ndarray::s![..bands, ..]).to_owned(),
                        Axis::Hz(hz[..bands].to_vec()),
                        "input: stacked-logmel, the first frame of each vector = the log-Mel (dB)".to_string(),
                    )
                }
                y => (values, y, format!("input: {} (dB)", spec.kind.name())),
            };
            panels.push(Panel {
                title,
                values,
                x: x.clone(),
                y: y.clone(),
                attention: false,
            });
            main.get_or_insert((y, x));
        }
        let (main_y, main_x) = main.unwrap_or((Axis::Index("row".into()), Axis::Index("frame".into())));
        if !inside.maps.iter().any(|m| m.attention) {
            notes.push(format!(
                "{system} has no attention module: the picture shows its input features."
            ));
        }
        for map in inside.maps {
            let y = map.rows.map_or_else(|| main_y.clone(), Axis::Index);
            panels.push(Panel {
                title: map.name,
                values: map.values,
                x: main_x.clone(),
                y,
                attention: map.attention,
            });
        }
        let segments = inside.example_scores.map(|(scorer, scores)| {
            let seconds = samples as f64 / f64::from(asd_features::SAMPLE_RATE_HZ) / scores.len() as f64;
            let starts = match &main_x {
                Axis::Seconds(t) if t.len() == scores.len() => t.clone(),
                _ => (0..scores.len()).map(|i| i as f64 * seconds).collect(),
            };
            notes.push(format!(
                "The clip's {scorer} score is the mean of its {} segments' scores (bars).",
                scores.len()
            ));
            SegmentScores {
                scorer,
                starts,
                seconds,
                scores,
            }
        });
        if segments.is_none() {
            notes.push(format!(
                "{system} scores the whole clip at once: it has no per-frame contribution to the score."
            ));
        }
        Ok(Explanation {
            system,
            source: query.source.to_path_buf(),
            verdict,
            panels,
            segments,
            notes,
        })
    }
}

/// Spectra in dB for the picture (log-Mel is already in dB).
fn in_db(spec: &FeatureSpec, values: Array2<f32>) -> Array2<f32> {
    match db_factor(spec) {
        Some(factor) => values.mapv(|v| factor * (v.abs() + PICTURE_DB_FLOOR).log10()),
        None => values,
    }
}

/// 20 for a magnitude spectrum, 10 for a power spectrum, `None` for features already in dB or not spectra.
fn db_factor(spec: &FeatureSpec) -> Option<f32> {
    match spec.kind {
        FeatureKind::Spectrum | FeatureKind::Envelope => Some(20.0),
        FeatureKind::Stft => Some(match spec.value.unwrap_or(SpectrumValue::Power) {
            SpectrumValue::Magnitude => 20.0,
            SpectrumValue::Power => 10.0,
        }),
        FeatureKind::LogMel | FeatureKind::HpfLogMel | FeatureKind::StackedLogMel | FeatureKind::Waveform => None,
    }
}

#[cfg(feature = "plot")]
mod picture;

//! Decoding clips and computing their features in parallel, in bounded chunks.

use crate::clip::Clip;
use crate::error::{Error, Result};
use asd_audio::{ChannelPolicy, PadMode, Waveform};
use asd_features::Frontend;
use ndarray::{Array2, Array3, s};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A progress callback: `(clips done, clips in total)`; called from worker threads. `&|_, _| {}` ignores it.
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Sync);

/// Clips decoded at once per rayon thread: a chunk holds `CLIPS_PER_THREAD × threads` waveforms at most.
const CLIPS_PER_THREAD: usize = 4;

/// How every clip is brought to one shape before its features are computed: which channels are read, then the
/// length (decisions.md §11): a longer clip keeps its first `samples` samples, a shorter one is padded as `pad`
/// says (repeat by default).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LengthPolicy {
    /// Samples per clip at 16 kHz (e.g. 160 000 for the 10-s clips of DCASE 2020).
    pub samples: usize,
    /// How a short clip is filled.
    pub pad: PadMode,
    /// Which channels are read (default the mean). With [`ChannelPolicy::Both`] each channel's features are
    /// computed alike and stacked along the rows: `[2 · rows, cols]`, the left channel's rows first.
    #[serde(default)]
    pub channels: ChannelPolicy,
}

impl LengthPolicy {
    /// `samples` samples per clip, repeat-padded ([`PadMode::Repeat`]), channels averaged.
    pub fn new(samples: usize) -> Self {
        Self {
            samples,
            pad: PadMode::Repeat,
            channels: ChannelPolicy::Mean,
        }
    }

    /// The same length with another padding.
    pub fn with_pad(mut self, pad: PadMode) -> Self {
        self.pad = pad;
        self
    }

    /// The same length with another channel policy.
    pub fn with_channels(mut self, channels: ChannelPolicy) -> Self {
        self.channels = channels;
        self
    }

    /// The feature shape of a clip: `frontend.output_shape(samples)` with its rows multiplied by the waveforms
    /// the channel policy reads.
    pub fn feature_shape(&self, frontend: &dyn Frontend) -> (usize, usize) {
        let (rows, cols) = frontend.output_shape(self.samples);
        (rows * self.channels.outputs(), cols)
    }

    /// # Errors
    /// [`Error::Invalid`] when `samples` is 0.
    pub fn check(&self) -> Result<()> {
        if self.samples == 0 {
            return Err(Error::Invalid("a clip length of 0 samples".into()));
        }
        Ok(())
    }

    /// `wave` cropped or padded to `samples` samples.
    pub fn fit(&self, wave: &Waveform) -> Waveform {
        wave.fit_length(self.samples, self.pad)
    }
}

/// The features of one file: decode the channels `policy` reads at 16 kHz (`asd_audio::load_16k_channels`), fit
/// each to `policy`, extract; with [`ChannelPolicy::Both`] the two channels' features stacked along the rows.
///
/// # Errors
/// The decoder's error (naming the file; a file with too few channels for the policy is one), [`Error::Features`]
/// or [`Error::FeatureShape`] naming the file when the front end fails or returns another shape than
/// `frontend.output_shape(policy.samples)`, and [`Error::NonFiniteFeatures`] when a feature overflows (finite but
/// huge samples, ±3e38, give an infinite power spectrum that would otherwise surface as a non-finite training
/// loss).
pub fn clip_features(path: &Path, frontend: &dyn Frontend, policy: &LengthPolicy) -> Result<Array2<f32>> {
    let waves = asd_audio::load_16k_channels(path, policy.channels)?;
    let per_channel = waves
        .iter()
        .map(|wave| waveform_features(wave, path, frontend, policy))
        .collect::<Result<Vec<_>>>()?;
    match per_channel.as_slice() {
        [one] => Ok(one.clone()),
        many => {
            let views: Vec<_> = many.iter().map(Array2::view).collect();
            ndarray::concatenate(ndarray::Axis(0), &views).map_err(|e| Error::Invalid(e.to_string()))
        }
    }
}

/// The features of a decoded 16-kHz waveform: fit to `policy`, extract, checked as [`clip_features`] checks them;
/// errors name `path` (the waveform's source).
///
/// # Errors
/// As [`clip_features`], less the decoder's.
pub fn waveform_features(
    wave: &asd_audio::Waveform,
    path: &Path,
    frontend: &dyn Frontend,
    policy: &LengthPolicy,
) -> Result<Array2<f32>> {
    let wave = policy.fit(wave);
    let features = frontend.extract(&wave.samples).map_err(|source| Error::Features {
        path: path.to_path_buf(),
        source,
    })?;
    let expected = frontend.output_shape(policy.samples);
    if features.dim() != expected {
        return Err(Error::FeatureShape {
            path: path.to_path_buf(),
            expected,
            actual: features.dim(),
        });
    }
    if features.iter().any(|v| !v.is_finite()) {
        return Err(Error::NonFiniteFeatures {
            path: path.to_path_buf(),
        });
    }
    Ok(features)
}

/// Computes the features of `clips` in parallel (rayon), a bounded chunk at a time, and hands them to
/// `sink` in clip order as `(clip index, [rows, cols] features)`. At most one chunk of waveforms and
/// features is in memory at once.
///
/// A clip that fails does not stop the pass: every clip is still decoded, so that one run reports every
/// unusable file at once; `sink` is not called again after the first failure.
///
/// # Errors
/// [`Error::Invalid`] for a bad `policy`; the first error of `sink`; otherwise, when clips fail, the error of the
/// one failing clip (naming its file) or [`Error::Clips`] listing every failing clip in clip order.
pub fn for_each_features(
    clips: &[Clip],
    frontend: &dyn Frontend,
    policy: &LengthPolicy,
    progress: Progress<'_>,
    mut sink: impl FnMut(usize, Array2<f32>) -> Result<()>,
) -> Result<()> {
    policy.check()?;
    let chunk = CLIPS_PER_THREAD * rayon::current_num_threads().max(1);
    let done = AtomicUsize::new(0);
    let mut failed = Vec::new();
    for (c, block) in clips.chunks(chunk).enumerate() {
        let features: Vec<Result<Array2<f32>>> = block
            .par_iter()
            .map(|clip| {
                let result = clip_features(&clip.path, frontend, policy);
                progress(done.fetch_add(1, Ordering::Relaxed) + 1, clips.len());
                result
            })
            .collect();
        for (i, result) in features.into_iter().enumerate() {
            match result {
                Ok(features) if failed.is_empty() => sink(c * chunk + i, features)?,
                Ok(_) => {}
                Err(e) => failed.push(e),
            }
        }
    }
    Error::collect(failed)
}

/// The features of every clip in one array `[n_clips, rows, cols]` (for data that fits in memory; a
/// training set goes through [`crate::FeatureCache`] instead).
///
/// # Errors
/// As [`for_each_features`].
pub fn load_features(
    clips: &[Clip],
    frontend: &dyn Frontend,
    policy: &LengthPolicy,
    progress: Progress<'_>,
) -> Result<Array3<f32>> {
    policy.check()?;
    let (rows, cols) = policy.feature_shape(frontend);
    let mut out = Array3::zeros((clips.len(), rows, cols));
    for_each_features(clips, frontend, policy, progress, |i, features| {
        out.slice_mut(s![i, .., ..]).assign(&features);
        Ok(())
    })?;
    Ok(out)
}

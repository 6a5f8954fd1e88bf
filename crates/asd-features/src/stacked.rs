//! Consecutive log-Mel frames stacked into one vector: the input of the DCASE autoencoder baseline
//! (`docs/dcase_ae.md` §3).

use crate::error::{FeatureError, Result};
use crate::logmel::LogMel;
use crate::{Frontend, check_output, extract_by_writing};
use ndarray::{Array2, ArrayViewMut2};

/// Frames stacked into one vector by the DCASE 2023–2026 autoencoder baseline (its `baseline.yaml`: `frames: 5`).
pub const DCASE_AE_FRAMES: usize = 5;

/// The most frames a vector may stack (a vector of 64 frames of 128 bands is 8 192 values).
pub const MAX_STACKED_FRAMES: usize = 64;

/// A log-Mel front end whose output rows are vectors of `frames` consecutive frames, one per frame position (hop 1):
/// `[frames_total − frames + 1, n_mels · frames]`, element `k · n_mels + m` of row `t` being band `m` of frame `t + k`
/// (frame-major, as the baseline's `file_to_vectors` lays them out).
pub struct StackedLogMel {
    log_mel: LogMel,
    frames: usize,
}

impl StackedLogMel {
    /// Stacks `frames` frames of `log_mel`.
    ///
    /// # Errors
    /// [`FeatureError::Zero`] for `frames` of 0, [`FeatureError::TooLarge`] beyond [`MAX_STACKED_FRAMES`].
    pub fn new(log_mel: LogMel, frames: usize) -> Result<Self> {
        if frames == 0 {
            return Err(FeatureError::Zero { name: "frames" });
        }
        if frames > MAX_STACKED_FRAMES {
            return Err(FeatureError::TooLarge {
                name: "frames",
                value: frames,
                max: MAX_STACKED_FRAMES,
            });
        }
        Ok(Self { log_mel, frames })
    }

    /// Frames per vector.
    pub fn frames(&self) -> usize {
        self.frames
    }
}

impl Frontend for StackedLogMel {
    /// `[vectors, n_mels · frames]` in dB; a clip shorter than `frames` frames gives no vector (zero rows).
    fn extract(&self, wave: &[f32]) -> Result<Array2<f32>> {
        extract_by_writing(self, wave)
    }

    fn extract_into(&self, wave: &[f32], mut out: ArrayViewMut2<'_, f32>) -> Result<()> {
        check_output(self.output_shape(wave.len()), &out)?;
        let log_mel = self.log_mel.extract(wave)?;
        let n_mels = log_mel.nrows();
        for (t, mut row) in out.outer_iter_mut().enumerate() {
            for k in 0..self.frames {
                row.slice_mut(ndarray::s![k * n_mels..(k + 1) * n_mels])
                    .assign(&log_mel.column(t + k));
            }
        }
        Ok(())
    }

    fn output_shape(&self, n_samples: usize) -> (usize, usize) {
        let (n_mels, frames) = self.log_mel.output_shape(n_samples);
        ((frames + 1).saturating_sub(self.frames), n_mels * self.frames)
    }

    fn cache_key(&self) -> String {
        format!("stacked{}:{}", self.frames, self.log_mel.cache_key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FeatureKind, FeatureSpec, FrontendPreset};

    /// Rows are vectors of consecutive frames, frame-major; a clip of fewer frames than a vector gives no row;
    /// `frames` is checked and belongs to `stacked-logmel` only.
    #[test]
    fn vectors_stack_consecutive_frames() {
        let wave: Vec<f32> = (0..8_000).map(|n| (n as f32 * 0.05).sin() * 0.1).collect();
        let spec = FeatureSpec {
            frames: Some(3),
            ..FeatureSpec::new(FeatureKind::StackedLogMel)
        };
        let stacked = spec.build().expect("front end").extract(&wave).expect("vectors");
        let log_mel = FeatureSpec::new(FeatureKind::LogMel)
            .with_preset(FrontendPreset::DcaseAe)
            .build()
            .expect("front end")
            .extract(&wave)
            .expect("log-Mel");
        let (n_mels, frames) = log_mel.dim();
        assert_eq!(stacked.dim(), (frames - 2, 3 * n_mels));
        for t in [0, frames - 3] {
            for k in 0..3 {
                assert_eq!(stacked[[t, k * n_mels + 7]], log_mel[[7, t + k]]);
            }
        }
        let short = FeatureSpec::new(FeatureKind::StackedLogMel).build().expect("front end");
        assert_eq!(short.output_shape(1_024).0, 0, "3 frames cannot fill a vector of 5");
        let zero = FeatureSpec {
            frames: Some(0),
            ..FeatureSpec::new(FeatureKind::StackedLogMel)
        };
        assert!(matches!(zero.build(), Err(FeatureError::Zero { name: "frames" })));
        let misplaced = FeatureSpec {
            frames: Some(5),
            ..FeatureSpec::new(FeatureKind::LogMel)
        };
        assert!(matches!(
            misplaced.build(),
            Err(FeatureError::UnusedOverride { name: "frames", .. })
        ));
    }
}

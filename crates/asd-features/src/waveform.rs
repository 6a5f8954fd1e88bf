//! The raw waveform as a one-row feature: the input of learnable front ends (TgramNet, Wavegram), stored in the
//! same feature cache as the spectral features.

use crate::error::Result;
use crate::{Frontend, check_wave};
use ndarray::Array2;

/// Version of the stored layout, part of the cache key.
const WAVEFORM_LAYOUT_VERSION: u32 = 1;

/// The samples unchanged, `[1, samples]`: no scaling, no padding (the clip length is fixed by the loader).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RawWaveform;

impl Frontend for RawWaveform {
    /// `[1, wave.len()]`; the samples themselves.
    fn extract(&self, wave: &[f32]) -> Result<Array2<f32>> {
        check_wave(wave)?;
        Ok(Array2::from_shape_fn((1, wave.len()), |(_, n)| wave[n]))
    }

    fn output_shape(&self, n_samples: usize) -> (usize, usize) {
        (1, n_samples)
    }

    fn cache_key(&self) -> String {
        format!("waveform-v{WAVEFORM_LAYOUT_VERSION}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FeatureError;

    #[test]
    fn the_waveform_is_one_row_of_the_samples() {
        let wave = [0.5_f32, -0.25, 0.0, 1.0];
        let out = RawWaveform.extract(&wave).unwrap();
        assert_eq!(out.dim(), (1, 4));
        assert_eq!(out.dim(), RawWaveform.output_shape(wave.len()));
        assert_eq!(out.row(0).to_vec(), wave.to_vec());
    }

    #[test]
    fn empty_and_non_finite_waveforms_are_rejected() {
        assert!(matches!(RawWaveform.extract(&[]), Err(FeatureError::Empty)));
        assert!(RawWaveform.extract(&[0.0, f32::NAN]).is_err());
    }
}

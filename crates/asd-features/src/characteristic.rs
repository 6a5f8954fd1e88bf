//! The characteristic frequency of a machine's sound (the DCASE 2025 first-shot system's pseudo-label Method B,
//! firstshot2025.md §4.3): the octave band where a type's clips carry the most power, then per clip the strongest
//! modulation of that band's envelope between 5 and 300 Hz (rotation rates of 300 to 18 000 rpm).

use crate::error::{FeatureError, Result};
use crate::filter::Band;
use crate::{EnvelopeSpectrum, Frontend, check_wave};
use realfft::RealFftPlanner;

/// Centres of the candidate octave bands, Hz (firstshot2025.md §4.3 step 1).
pub const OCTAVE_CENTRES_HZ: [f64; 5] = [250.0, 500.0, 1000.0, 2000.0, 4000.0];
/// The envelope frequencies searched, Hz (§4.3 step 5: 300–18 000 rpm).
pub const MODULATION_RANGE_HZ: (f64, f64) = (5.0, 300.0);
/// Order of the band-pass filter (§4.3 step 2: 4th order, 8 poles).
pub const BAND_PASS_ORDER: usize = 4;

/// The octave band `[fc/√2, fc·√2]` of [`OCTAVE_CENTRES_HZ`] with the highest mean power density of the clips'
/// averaged periodogram |rFFT(x)|² / (rate · L) (§4.3 step 1). Clips may differ in length; each is weighted alike.
///
/// # Errors
/// No clip, an empty or non-finite clip.
pub fn loudest_octave_band(clips: &[&[f32]], sample_rate: f64) -> Result<Band> {
    if clips.is_empty() {
        return Err(FeatureError::Empty);
    }
    let mut planner = RealFftPlanner::<f64>::new();
    let mut density = [0.0; OCTAVE_CENTRES_HZ.len()];
    for clip in clips {
        check_wave(clip)?;
        let n = clip.len();
        let fft = planner.plan_fft_forward(n);
        let mut x: Vec<f64> = clip.iter().map(|&v| f64::from(v)).collect();
        let mut spectrum = fft.make_output_vec();
        fft.process(&mut x, &mut spectrum)?;
        for (band, &centre) in density.iter_mut().zip(&OCTAVE_CENTRES_HZ) {
            let (low, high) = (centre / std::f64::consts::SQRT_2, centre * std::f64::consts::SQRT_2);
            let bins: Vec<f64> = spectrum
                .iter()
                .enumerate()
                .filter(|&(k, _)| (low..=high).contains(&(k as f64 * sample_rate / n as f64)))
                .map(|(_, c)| c.norm_sqr() / (sample_rate * n as f64))
                .collect();
            if !bins.is_empty() {
                *band += bins.iter().sum::<f64>() / bins.len() as f64 / clips.len() as f64;
            }
        }
    }
    let best = (0..density.len()).fold(0, |b, i| if density[i] > density[b] { i } else { b });
    let centre = OCTAVE_CENTRES_HZ[best];
    Ok(Band::BandPass {
        low_hz: centre / std::f64::consts::SQRT_2,
        high_hz: centre * std::f64::consts::SQRT_2,
    })
}

/// The characteristic frequency f* of a clip, Hz: the peak of its envelope spectrum (`envelope`, the band's
/// [`EnvelopeSpectrum`]) within [`MODULATION_RANGE_HZ`], at the spectrum's resolution rate / L (0.1 Hz for 10 s).
///
/// # Errors
/// An empty or non-finite clip, or one shorter than rate / 5 Hz samples (too short to resolve the range).
pub fn characteristic_frequency(envelope: &EnvelopeSpectrum, clip: &[f32], sample_rate: f64) -> Result<f64> {
    let (low, high) = MODULATION_RANGE_HZ;
    // The spectrum's resolution must reach the range's lower end.
    let needed = (sample_rate / low).ceil() as usize;
    if clip.len() < needed {
        return Err(FeatureError::TooShort {
            what: "a characteristic frequency between 5 and 300 Hz",
            needed,
            got: clip.len(),
        });
    }
    let spectrum = envelope.extract(clip)?;
    let resolution = sample_rate / clip.len() as f64;
    let first = (low / resolution).ceil() as usize;
    let last = ((high / resolution).floor() as usize).min(spectrum.ncols().saturating_sub(1));
    let row = spectrum.row(0);
    let peak = (first..=last).fold(first, |b, k| if row[k] > row[b] { k } else { b });
    Ok(peak as f64 * resolution)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: f64 = 16_000.0;

    /// Uniform values in [−1, 1) from a fixed linear congruential sequence (Knuth's MMIX constants).
    fn uniform(state: &mut u64) -> f64 {
        *state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (*state >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }

    /// 10 s of band-limited noise (160 sines of random phase, 805–1600 Hz) amplitude-modulated at `modulation` Hz
    /// (depth 0.8), plus white noise: the spec's sanity-check signal (firstshot2025.md §4.3).
    fn modulated(modulation: f64, seed: u64) -> Vec<f32> {
        let mut state = seed;
        let tones: Vec<(f64, f64)> = (0..160)
            .map(|i| (805.0 + 5.0 * i as f64, std::f64::consts::PI * uniform(&mut state)))
            .collect();
        (0..160_000)
            .map(|n| {
                let t = n as f64 / RATE;
                let carrier: f64 = tones
                    .iter()
                    .map(|&(f, p)| (std::f64::consts::TAU * f * t + p).sin())
                    .sum::<f64>()
                    / 16.0;
                let envelope = 1.0 + 0.8 * (std::f64::consts::TAU * modulation * t).sin();
                (0.1 * (carrier * envelope + 0.3 * uniform(&mut state))) as f32
            })
            .collect()
    }

    /// Criterion (firstshot2025.md §4.3, the spec's sanity check): noise between 805 and 1600 Hz modulated at 12.5,
    /// 37 and 150 Hz selects the 1000-Hz octave band and gives f* = 12.5, 37.0 and 150.0 Hz.
    #[test]
    fn modulated_noise_gives_its_modulation_frequency() {
        let clips: Vec<(f64, Vec<f32>)> = [12.5, 37.0, 150.0]
            .iter()
            .map(|&f| (f, modulated(f, f as u64)))
            .collect();
        let slices: Vec<&[f32]> = clips.iter().map(|(_, c)| c.as_slice()).collect();
        let band = loudest_octave_band(&slices, RATE).expect("a band");
        let Band::BandPass { low_hz, high_hz } = band else {
            panic!("a band-pass band")
        };
        assert!(
            (low_hz * high_hz).sqrt() - 1000.0 < 1e-9 && (low_hz - 707.106_781_186_547_5).abs() < 1e-6,
            "{band:?}"
        );
        let envelope = EnvelopeSpectrum::new(BAND_PASS_ORDER, band, RATE as u32).expect("filter");
        for (expected, clip) in &clips {
            let found = characteristic_frequency(&envelope, clip, RATE).expect("f*");
            assert!(
                (found - expected).abs() < 1e-9,
                "{found} Hz for a modulation at {expected} Hz"
            );
        }
        let short = vec![0.1_f32; 1000];
        assert!(
            characteristic_frequency(&envelope, &short, RATE).is_err(),
            "a resolution of 16 Hz cannot reach 5 Hz"
        );
    }
}

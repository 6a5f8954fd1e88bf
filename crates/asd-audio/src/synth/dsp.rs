//! Small signal-processing blocks of the generator: white and coloured noise, biquad filters, phasors,
//! and the fixed hash that seeds every clip's generator.

use rand::Rng;
use std::f64::consts::PI;

/// One step of the SplitMix64 output function (Steele, Lea & Flood, OOPSLA 2014): a fixed, portable
/// 64-bit mixer. Unlike `std`'s `RandomState` its output never changes between runs or Rust versions.
fn splitmix64(mut z: u64) -> u64 {
    // Constants of SplitMix64 (Steele, Lea & Flood 2014, Fig. 2).
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A fixed hash of a key path (seed, type, id, …): each part is folded in through [`splitmix64`].
pub(crate) fn hash_key(parts: &[u64]) -> u64 {
    parts.iter().fold(0x5EED_u64, |h, &p| splitmix64(h ^ splitmix64(p)))
}

/// A uniform draw in [lo, hi) (f64).
pub(crate) fn uniform(rng: &mut impl Rng, lo: f64, hi: f64) -> f64 {
    // 53 random bits → [0, 1).
    let u = (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
    lo + (hi - lo) * u
}

/// Zero-mean white noise of unit variance (uniform distribution, so it is cheap and bounded).
pub(crate) fn white(rng: &mut impl Rng, n: usize) -> Vec<f64> {
    // A uniform variable on [-√3, √3) has variance 1.
    let scale = 3f64.sqrt();
    (0..n).map(|_| uniform(rng, -scale, scale)).collect()
}

/// A second-order IIR section (direct form I), coefficients normalised by a0.
#[derive(Clone, Debug)]
pub(crate) struct Biquad {
    b: [f64; 3],
    a: [f64; 2],
    x: [f64; 2],
    y: [f64; 2],
}

impl Biquad {
    fn from_raw(b: [f64; 3], a: [f64; 3]) -> Self {
        Self {
            b: b.map(|v| v / a[0]),
            a: [a[1] / a[0], a[2] / a[0]],
            x: [0.0; 2],
            y: [0.0; 2],
        }
    }

    /// Band-pass with 0 dB gain at the centre `fc` (Hz) and quality `q` (the bilinear-transform design of
    /// the analogue prototype `H(s) = (s/Q) / (s² + s/Q + 1)`, frequency pre-warped at `fc`).
    pub(crate) fn bandpass(fc: f64, q: f64, sample_rate: f64) -> Self {
        let w0 = 2.0 * PI * fc.clamp(1.0, 0.49 * sample_rate) / sample_rate;
        let alpha = w0.sin() / (2.0 * q);
        Self::from_raw([alpha, 0.0, -alpha], [1.0 + alpha, -2.0 * w0.cos(), 1.0 - alpha])
    }

    /// Second-order low-pass at `fc` (Hz) with quality `q` (bilinear transform of `1 / (s² + s/Q + 1)`).
    pub(crate) fn lowpass(fc: f64, q: f64, sample_rate: f64) -> Self {
        let w0 = 2.0 * PI * fc.clamp(1.0, 0.49 * sample_rate) / sample_rate;
        let (alpha, c) = (w0.sin() / (2.0 * q), w0.cos());
        Self::from_raw(
            [(1.0 - c) / 2.0, 1.0 - c, (1.0 - c) / 2.0],
            [1.0 + alpha, -2.0 * c, 1.0 - alpha],
        )
    }

    /// Filters one sample.
    #[inline]
    pub(crate) fn tick(&mut self, x: f64) -> f64 {
        let y = self.b[0] * x + self.b[1] * self.x[0] + self.b[2] * self.x[1]
            - self.a[0] * self.y[0]
            - self.a[1] * self.y[1];
        self.x = [x, self.x[0]];
        self.y = [y, self.y[0]];
        y
    }

    /// Filters a whole signal in place.
    pub(crate) fn run(&mut self, signal: &mut [f64]) {
        for v in signal.iter_mut() {
            *v = self.tick(*v);
        }
    }
}

/// Lowest corner frequency (Hz) of the pink-noise filter bank; below it the spectrum is flat.
const PINK_LOWEST_CORNER_HZ: f64 = 20.0;
/// Ratio between successive corner frequencies of the pink-noise bank (two octaves).
const PINK_CORNER_RATIO: f64 = 4.0;

/// Pink (1/f) noise of roughly unit variance: white noise through a bank of one-pole low-passes whose
/// corners `f_i` are spaced by a constant ratio `r`, with amplitudes `√(ln r / f_i)`. The sum of
/// `(1/f_c) / (1 + (f/f_c)²)` over log-spaced corners approximates `∫ dx / (x² + f²) = π / (2f)`, i.e. 1/f.
pub(crate) fn pink(rng: &mut impl Rng, n: usize, sample_rate: f64) -> Vec<f64> {
    let mut poles = Vec::new();
    let mut corner = PINK_LOWEST_CORNER_HZ;
    while corner < 0.5 * sample_rate {
        poles.push((
            (-2.0 * PI * corner / sample_rate).exp(),
            (PINK_CORNER_RATIO.ln() / corner).sqrt(),
        ));
        corner *= PINK_CORNER_RATIO;
    }
    let mut state = vec![0.0; poles.len()];
    let mut out: Vec<f64> = white(rng, n)
        .into_iter()
        .map(|x| {
            let mut y = 0.0;
            for (s, &(pole, gain)) in state.iter_mut().zip(&poles) {
                *s = pole * *s + (1.0 - pole) * x;
                y += gain * *s;
            }
            y
        })
        .collect();
    normalise_rms(&mut out);
    out
}

/// Corner frequency (Hz) of the leaky integrator that makes brown (1/f²) noise; below it the spectrum is flat.
const BROWN_CORNER_HZ: f64 = 10.0;

/// Brown (1/f²) noise of unit RMS: white noise through a leaky integrator.
pub(crate) fn brown(rng: &mut impl Rng, n: usize, sample_rate: f64) -> Vec<f64> {
    let pole = (-2.0 * PI * BROWN_CORNER_HZ / sample_rate).exp();
    let mut state = 0.0;
    let mut out: Vec<f64> = white(rng, n)
        .into_iter()
        .map(|x| {
            state = pole * state + (1.0 - pole) * x;
            state
        })
        .collect();
    normalise_rms(&mut out);
    out
}

/// Root mean square of a signal (0 for an empty one).
pub(crate) fn rms(signal: &[f64]) -> f64 {
    if signal.is_empty() {
        return 0.0;
    }
    (signal.iter().map(|v| v * v).sum::<f64>() / signal.len() as f64).sqrt()
}

/// Scales a signal to unit RMS (a silent signal stays silent).
pub(crate) fn normalise_rms(signal: &mut [f64]) {
    let r = rms(signal);
    if r > 0.0 {
        signal.iter_mut().for_each(|v| *v /= r);
    }
}

/// A bank of rotating unit phasors `e^{iθ_k}`: one complex multiplication per oscillator and sample
/// instead of a `sin` call. Stored as structure of arrays so that the oscillators update independently.
#[derive(Clone, Debug)]
pub(crate) struct PhasorBank {
    re: Vec<f64>,
    im: Vec<f64>,
    step_re: Vec<f64>,
    step_im: Vec<f64>,
}

impl PhasorBank {
    /// Oscillators starting at the given phases (radians), not yet rotating.
    pub(crate) fn new(phases: impl IntoIterator<Item = f64>) -> Self {
        let (re, im): (Vec<f64>, Vec<f64>) = phases.into_iter().map(|t| (t.cos(), t.sin())).unzip();
        let n = re.len();
        Self {
            re,
            im,
            step_re: vec![1.0; n],
            step_im: vec![0.0; n],
        }
    }

    /// Sets each oscillator's frequency (cycles per sample) and pulls the magnitudes back to 1
    /// (rounding drift since the last call).
    pub(crate) fn retune(&mut self, frequencies: impl IntoIterator<Item = f64>) {
        for (k, f) in frequencies.into_iter().enumerate().take(self.re.len()) {
            (self.step_re[k], self.step_im[k]) = ((2.0 * PI * f).cos(), (2.0 * PI * f).sin());
            let m = self.re[k].hypot(self.im[k]);
            if m > 0.0 {
                self.re[k] /= m;
                self.im[k] /= m;
            }
        }
    }

    /// Advances every oscillator one sample and returns the two weighted sums `Σ w_k sin θ_k`.
    #[inline]
    pub(crate) fn tick(&mut self, w1: &[f64], w2: &[f64]) -> (f64, f64) {
        let (mut a, mut b) = (0.0, 0.0);
        let n = self.re.len().min(w1.len()).min(w2.len());
        for k in 0..n {
            let re = self.re[k] * self.step_re[k] - self.im[k] * self.step_im[k];
            let im = self.re[k] * self.step_im[k] + self.im[k] * self.step_re[k];
            self.re[k] = re;
            self.im[k] = im;
            a += w1[k] * im;
            b += w2[k] * im;
        }
        (a, b)
    }
}

/// Comb-filter delays of the Schroeder reverberator, seconds (Schroeder 1962's mutually prime 30–45 ms range).
const COMB_DELAYS_S: [f64; 4] = [0.0297, 0.0371, 0.0411, 0.0437];
/// All-pass delays (s) and gain of the Schroeder reverberator's diffusion stage (Schroeder 1962).
const ALLPASS_DELAYS_S: [f64; 2] = [0.005, 0.0017];
/// See [`ALLPASS_DELAYS_S`].
const ALLPASS_GAIN: f64 = 0.7;

/// The reverberant part of `signal` in a room of reverberation time `rt60` s (the time to decay by 60 dB): four
/// parallel feedback combs whose gains give that decay, then two all-passes (Schroeder's reverberator), scaled to the
/// RMS of `signal`.
pub(crate) fn reverb(signal: &[f64], rt60: f64, sample_rate: f64) -> Vec<f64> {
    let mut wet = vec![0.0; signal.len()];
    for delay_s in COMB_DELAYS_S {
        let d = (delay_s * sample_rate).round().max(1.0) as usize;
        let g = 10f64.powf(-3.0 * delay_s / rt60);
        let mut y = vec![0.0; signal.len()];
        for t in 0..signal.len() {
            y[t] = signal[t] + if t >= d { g * y[t - d] } else { 0.0 };
            wet[t] += y[t];
        }
    }
    for delay_s in ALLPASS_DELAYS_S {
        let d = (delay_s * sample_rate).round().max(1.0) as usize;
        let x = wet.clone();
        for t in 0..x.len() {
            let (x_d, y_d) = if t >= d { (x[t - d], wet[t - d]) } else { (0.0, 0.0) };
            wet[t] = -ALLPASS_GAIN * x[t] + x_d + ALLPASS_GAIN * y_d;
        }
    }
    let (dry_rms, wet_rms) = (rms(signal), rms(&wet));
    if wet_rms > 0.0 {
        wet.iter_mut().for_each(|w| *w *= dry_rms / wet_rms);
    }
    wet
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// Gain of a biquad at `f` Hz, measured by driving it with a long sine.
    fn measured_gain(mut filter: Biquad, f: f64, fs: f64) -> f64 {
        let n = 32_000;
        let y: Vec<f64> = (0..n)
            .map(|i| filter.tick((2.0 * PI * f * i as f64 / fs).sin()))
            .collect();
        rms(&y[n / 2..]) * 2f64.sqrt()
    }

    #[test]
    fn bandpass_has_unit_gain_at_centre_and_attenuates_away() {
        let fs = 16_000.0;
        let g0 = measured_gain(Biquad::bandpass(1000.0, 5.0, fs), 1000.0, fs);
        assert!((g0 - 1.0).abs() < 0.01, "centre gain {g0}");
        // Second-order band-pass, Q 5: one octave away the gain is 1/√(1 + Q²(2 - 1/2)²) ≈ 0.13.
        let g1 = measured_gain(Biquad::bandpass(1000.0, 5.0, fs), 2000.0, fs);
        assert!((g1 - 0.133).abs() < 0.01, "octave gain {g1}");
        let lp = measured_gain(Biquad::lowpass(500.0, 0.707, fs), 4000.0, fs);
        assert!(lp < 0.02, "low-pass stop-band gain {lp}");
    }

    #[test]
    fn pink_and_brown_noise_have_their_slopes() {
        let fs = 16_000.0;
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        // Energy through two constant-Q bands one decade apart. A band's bandwidth grows ∝ f, so pink (1/f)
        // noise gives equal energy in both, brown (1/f²) 10 dB less in the upper one (white: 10 dB more).
        let band_db = |x: &[f64], fc: f64| {
            let mut y = x.to_vec();
            Biquad::bandpass(fc, 2.0, fs).run(&mut y);
            20.0 * rms(&y).log10()
        };
        let p = pink(&mut rng, 160_000, fs);
        let b = brown(&mut rng, 160_000, fs);
        let pink_drop = band_db(&p, 200.0) - band_db(&p, 2000.0);
        let brown_drop = band_db(&b, 200.0) - band_db(&b, 2000.0);
        assert!(pink_drop.abs() < 1.5, "pink: {pink_drop} dB per decade");
        assert!((brown_drop - 10.0).abs() < 1.5, "brown: {brown_drop} dB per decade");
    }

    #[test]
    fn hash_is_fixed_and_order_sensitive() {
        assert_eq!(hash_key(&[1, 2, 3]), hash_key(&[1, 2, 3]));
        assert_ne!(hash_key(&[1, 2, 3]), hash_key(&[3, 2, 1]));
        // SplitMix64 reference value: the first output for state 0 is 0xE220A8397B1DCDAF.
        assert_eq!(splitmix64(0), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn phasor_bank_tracks_sines() {
        let mut bank = PhasorBank::new([0.0, 1.0]);
        bank.retune([0.01 / (2.0 * PI), 0.02 / (2.0 * PI)]);
        let last = (0..10_000)
            .map(|_| bank.tick(&[1.0, 0.0], &[0.0, 1.0]))
            .last()
            .unwrap_or((0.0, 0.0));
        assert!((last.0 - 100f64.sin()).abs() < 1e-9, "{last:?}");
        assert!((last.1 - 201f64.sin()).abs() < 1e-9, "{last:?}");
    }
}

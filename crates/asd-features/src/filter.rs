//! Digital Butterworth filters as second-order sections, and causal / zero-phase filtering.
//!
//! The design follows the classical route (and scipy's `butter(..., output="sos")` step by step, so the
//! coefficients agree to rounding): analog prototype poles on the unit circle → frequency transform
//! (high-pass `ω₀/s`, band-pass `s → (s² + ω₀²)/(s·B)`) at bilinear pre-warped edges → bilinear transform →
//! poles paired with their nearest zeros into sections, the pole closest to the unit circle last, the gain in
//! the first section.

use crate::error::{FeatureError, Result};
use realfft::num_complex::Complex64;

/// The band a Butterworth filter passes (edges in Hz, strictly between 0 and the Nyquist frequency).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Band {
    /// Passes frequencies above `cutoff_hz` (−3 dB point).
    HighPass {
        /// Cut-off frequency in Hz.
        cutoff_hz: f64,
    },
    /// Passes `low_hz ..= high_hz`; an order-`n` band-pass has `2n` poles.
    BandPass {
        /// Lower −3 dB edge in Hz.
        low_hz: f64,
        /// Upper −3 dB edge in Hz.
        high_hz: f64,
    },
}

/// A cascade of second-order sections; each row is `[b0, b1, b2, a0, a1, a2]` with `a0 = 1`, applied as
/// `y[n] = b0 x[n] + b1 x[n−1] + b2 x[n−2] − a1 y[n−1] − a2 y[n−2]` (direct form II transposed), first row first.
#[derive(Clone, Debug, PartialEq)]
pub struct Sos {
    sections: Vec<[f64; 6]>,
}

/// Designs an order-`order` digital Butterworth filter for `sample_rate` Hz.
///
/// # Errors
/// `order == 0`; an edge outside `(0, sample_rate / 2)`; band-pass edges not increasing.
pub fn butterworth(order: usize, band: Band, sample_rate: f64) -> Result<Sos> {
    if order == 0 {
        return Err(FeatureError::Zero { name: "order" });
    }
    let nyquist = sample_rate / 2.0;
    let check = |name: &'static str, hz: f64| {
        if hz > 0.0 && hz < nyquist {
            Ok(hz)
        } else {
            Err(FeatureError::FrequencyOutOfRange { name, hz, nyquist })
        }
    };
    // Bilinear transform with sampling rate 2 (normalised): pre-warp each edge, ω = 4 · tan(π · f / fs).
    let warp = |hz: f64| 4.0 * (std::f64::consts::PI * hz / sample_rate).tan();
    // Analog prototype: poles −exp(iπm/(2N)), m = −N+1, −N+3, …, N−1; no zeros; gain 1.
    let prototype: Vec<Complex64> = (0..order)
        .map(|i| {
            let m = 2.0 * i as f64 - order as f64 + 1.0;
            -Complex64::from_polar(1.0, std::f64::consts::PI * m / (2.0 * order as f64))
        })
        .collect();
    let (zeros, poles, gain) = match band {
        Band::HighPass { cutoff_hz } => {
            let w0 = warp(check("cutoff_hz", cutoff_hz)?);
            let poles: Vec<Complex64> = prototype.iter().map(|&p| w0 / p).collect();
            let gain = (Complex64::new(1.0, 0.0) / product(prototype.iter().map(|&p| -p))).re;
            (vec![Complex64::new(0.0, 0.0); order], poles, gain)
        }
        Band::BandPass { low_hz, high_hz } => {
            let (lo, hi) = (warp(check("low_hz", low_hz)?), warp(check("high_hz", high_hz)?));
            if low_hz >= high_hz {
                return Err(FeatureError::EmptyBand {
                    low: low_hz,
                    high: high_hz,
                });
            }
            let (bw, w0) = (hi - lo, (lo * hi).sqrt());
            let scaled: Vec<Complex64> = prototype.iter().map(|&p| p * bw / 2.0).collect();
            let root = |p: Complex64| (p * p - w0 * w0).sqrt();
            let poles = scaled
                .iter()
                .map(|&p| p + root(p))
                .chain(scaled.iter().map(|&p| p - root(p)))
                .collect();
            (vec![Complex64::new(0.0, 0.0); order], poles, bw.powi(order as i32))
        }
    };
    // Bilinear transform (fs = 2, so 2·fs = 4); zeros at infinity map to z = −1.
    let bilinear = |s: Complex64| (4.0 + s) / (4.0 - s);
    let gain = gain * (product(zeros.iter().map(|&z| 4.0 - z)) / product(poles.iter().map(|&p| 4.0 - p))).re;
    let mut z: Vec<Complex64> = zeros.iter().map(|&s| bilinear(s)).collect();
    z.resize(poles.len(), Complex64::new(-1.0, 0.0));
    let p: Vec<Complex64> = poles.iter().map(|&s| bilinear(s)).collect();
    Ok(Sos {
        sections: zpk_to_sos(z, p, gain),
    })
}

fn product(values: impl Iterator<Item = Complex64>) -> Complex64 {
    values.fold(Complex64::new(1.0, 0.0), |acc, v| acc * v)
}

/// Relative tolerance that tells a real root from a complex one (100 machine epsilons, as scipy's `_cplxreal`).
const REAL_TOLERANCE: f64 = 100.0 * f64::EPSILON;

/// Splits roots into one representative of each conjugate pair (positive imaginary part, sorted by real part
/// and then by |imag|, pairs averaged) followed by the real roots (sorted): the order scipy pairs them in.
fn conjugate_pairs_then_reals(mut roots: Vec<Complex64>) -> Vec<Complex64> {
    roots.sort_by(|a, b| a.re.total_cmp(&b.re).then(a.im.abs().total_cmp(&b.im.abs())));
    let is_real = |r: &Complex64| r.im.abs() <= REAL_TOLERANCE * r.norm();
    let reals: Vec<Complex64> = roots
        .iter()
        .filter(|r| is_real(r))
        .map(|r| Complex64::new(r.re, 0.0))
        .collect();
    let upper: Vec<Complex64> = roots.iter().filter(|r| !is_real(r) && r.im > 0.0).copied().collect();
    let lower: Vec<Complex64> = roots.iter().filter(|r| !is_real(r) && r.im < 0.0).copied().collect();
    let mut out: Vec<Complex64> = upper.iter().zip(&lower).map(|(u, l)| (u + l.conj()) / 2.0).collect();
    out.extend(reals);
    out
}

/// Removes and returns the root in `from` nearest to `to`, restricted to real or complex roots when asked.
fn take_nearest(from: &mut Vec<Complex64>, to: Complex64, want_real: Option<bool>) -> Option<Complex64> {
    let mut order: Vec<usize> = (0..from.len()).collect();
    order.sort_by(|&a, &b| (from[a] - to).norm().total_cmp(&(from[b] - to).norm()));
    let index = order
        .into_iter()
        .find(|&i| want_real.is_none_or(|real| (from[i].im == 0.0) == real))?;
    Some(from.remove(index))
}

/// Monic polynomial with the given roots, `[1, c1, c2]` padded on the left to 3 coefficients (real part).
fn quadratic(roots: &[Complex64]) -> [f64; 3] {
    let mut coeffs = vec![Complex64::new(1.0, 0.0)];
    for &r in roots {
        let mut next = vec![Complex64::new(0.0, 0.0); coeffs.len() + 1];
        for (i, &c) in coeffs.iter().enumerate() {
            next[i] += c;
            next[i + 1] -= c * r;
        }
        coeffs = next;
    }
    let mut out = [0.0; 3];
    for (o, c) in out.iter_mut().rev().zip(coeffs.iter().rev()) {
        *o = c.re;
    }
    out
}

/// One section from up to two zeros and two poles (scipy's `_single_zpksos`).
fn section(zeros: &[Complex64], poles: &[Complex64]) -> [f64; 6] {
    let (b, a) = (quadratic(zeros), quadratic(poles));
    [b[0], b[1], b[2], a[0], a[1], a[2]]
}

/// Pairs poles and zeros into sections ("nearest" pairing) and puts the gain into the first section.
fn zpk_to_sos(mut z: Vec<Complex64>, mut p: Vec<Complex64>, gain: f64) -> Vec<[f64; 6]> {
    let zero = Complex64::new(0.0, 0.0);
    let n_sections = p.len().max(z.len()).div_ceil(2);
    if p.len() % 2 == 1 {
        p.push(zero);
        z.push(zero);
    }
    let mut z = conjugate_pairs_then_reals(z);
    let mut p = conjugate_pairs_then_reals(p);
    let is_real = |c: &Complex64| c.im == 0.0;
    let mut sos = vec![[0.0; 6]; n_sections];
    for si in (0..n_sections).rev() {
        // the pole nearest the unit circle goes last
        let Some(p1_idx) =
            (0..p.len()).min_by(|&a, &b| (1.0 - p[a].norm()).abs().total_cmp(&(1.0 - p[b].norm()).abs()))
        else {
            break;
        };
        let p1 = p.remove(p1_idx);
        let reals_left = p.iter().filter(|c| is_real(c)).count();
        sos[si] = if is_real(&p1) && reals_left == 0 {
            // last real pole: pair with the nearest real zero
            let z1 = take_nearest(&mut z, p1, Some(true)).unwrap_or(zero);
            section(&[z1, zero], &[p1, zero])
        } else if p.len() + 1 == z.len()
            && !is_real(&p1)
            && reals_left == 1
            && z.iter().filter(|c| is_real(c)).count() == 1
        {
            // one real pole and one real zero remain: this complex pole must take a complex zero
            let z1 = take_nearest(&mut z, p1, Some(false)).unwrap_or(zero);
            section(&[z1, z1.conj()], &[p1, p1.conj()])
        } else {
            let p2 = if is_real(&p1) {
                let idx = (0..p.len())
                    .filter(|&i| is_real(&p[i]))
                    .min_by(|&a, &b| (p[a].norm() - 1.0).abs().total_cmp(&(p[b].norm() - 1.0).abs()));
                idx.map_or(zero, |i| p.remove(i))
            } else {
                p1.conj()
            };
            match take_nearest(&mut z, p1, None) {
                None => section(&[], &[p1, p2]),
                Some(z1) if !is_real(&z1) => section(&[z1, z1.conj()], &[p1, p2]),
                Some(z1) => match take_nearest(&mut z, p1, Some(true)) {
                    Some(z2) => section(&[z1, z2], &[p1, p2]),
                    None => section(&[z1], &[p1, p2]),
                },
            }
        };
    }
    if let Some(first) = sos.first_mut() {
        first[..3].iter_mut().for_each(|b| *b *= gain);
    }
    sos
}

impl Sos {
    /// Builds a cascade from rows `[b0, b1, b2, a0, a1, a2]`; each row is divided by its `a0`.
    pub fn from_sections(sections: &[[f64; 6]]) -> Result<Self> {
        if sections.is_empty() {
            return Err(FeatureError::Zero { name: "sections" });
        }
        Ok(Self {
            sections: sections.iter().map(|s| s.map(|c| c / s[3])).collect(),
        })
    }

    /// The sections, rows `[b0, b1, b2, a0 = 1, a1, a2]`.
    pub fn sections(&self) -> &[[f64; 6]] {
        &self.sections
    }

    /// Causal filtering from a zero initial state (scipy `sosfilt(sos, x)`).
    pub fn filter(&self, x: &[f64]) -> Vec<f64> {
        let mut state = vec![[0.0; 2]; self.sections.len()];
        self.filter_with_state(x, &mut state)
    }

    fn filter_with_state(&self, x: &[f64], state: &mut [[f64; 2]]) -> Vec<f64> {
        x.iter()
            .map(|&sample| {
                self.sections
                    .iter()
                    .zip(state.iter_mut())
                    .fold(sample, |input, (s, z)| {
                        let output = s[0] * input + z[0];
                        z[0] = s[1] * input - s[4] * output + z[1];
                        z[1] = s[2] * input - s[5] * output;
                        output
                    })
            })
            .collect()
    }

    /// Initial states giving the step response's steady state (scipy `sosfilt_zi`), one `[z0, z1]` per section.
    pub fn steady_state(&self) -> Vec<[f64; 2]> {
        let mut scale = 1.0;
        self.sections
            .iter()
            .map(|s| {
                let (b0, b1, b2, a1, a2) = (s[0], s[1], s[2], s[4], s[5]);
                // solve (I − Aᵀ) z = b[1..] − a[1..]·b0 for the 2×2 companion matrix A
                let (r0, r1) = (b1 - a1 * b0, b2 - a2 * b0);
                let z0 = (r0 + r1) / (1.0 + a1 + a2);
                let zi = [scale * z0, scale * (r1 - a2 * z0)];
                scale *= (b0 + b1 + b2) / (1.0 + a1 + a2);
                zi
            })
            .collect()
    }

    /// Edge padding of [`Sos::filter_zero_phase`]: `3 · (2 · sections + 1 − min(#b2 = 0, #a2 = 0))`, scipy's
    /// `sosfiltfilt` default.
    pub fn pad_len(&self) -> usize {
        let b2_zero = self.sections.iter().filter(|s| s[2] == 0.0).count();
        let a2_zero = self.sections.iter().filter(|s| s[5] == 0.0).count();
        3 * (2 * self.sections.len() + 1 - b2_zero.min(a2_zero))
    }

    /// Zero-phase filtering exactly as scipy's `sosfiltfilt(sos, x)` with its defaults: odd extension by
    /// [`Sos::pad_len`] samples at each end, forward pass from the steady state scaled by the first sample,
    /// backward pass likewise, extension removed.
    ///
    /// # Errors
    /// [`FeatureError::TooShort`] unless `x` is longer than the padding.
    pub fn filter_zero_phase(&self, x: &[f64]) -> Result<Vec<f64>> {
        let pad = self.pad_len();
        let n = x.len();
        if n <= pad {
            return Err(FeatureError::TooShort {
                what: "zero-phase filter padding",
                needed: pad + 1,
                got: n,
            });
        }
        let mut ext = Vec::with_capacity(n + 2 * pad);
        ext.extend((1..=pad).rev().map(|i| 2.0 * x[0] - x[i]));
        ext.extend_from_slice(x);
        ext.extend((1..=pad).map(|i| 2.0 * x[n - 1] - x[n - 1 - i]));
        let zi = self.steady_state();
        let scaled = |v: f64| zi.iter().map(|z| [z[0] * v, z[1] * v]).collect::<Vec<_>>();
        let mut forward = self.filter_with_state(&ext, &mut scaled(ext[0]));
        forward.reverse();
        let mut backward = self.filter_with_state(&forward, &mut scaled(forward[0]));
        backward.reverse();
        Ok(backward[pad..pad + n].to_vec())
    }
}

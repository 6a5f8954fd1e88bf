//! The jackknife confidence line of the DCASE 2022–2025 evaluators ("official score ci95", §3.7), and the
//! Student-t quantile it needs.

use crate::error::{Error, Result};
use crate::roc::{Roc, sort_descending};

/// Confidence level of the evaluator's interval (`confidence = 0.95` in the DCASE 2023 evaluator).
pub const CONFIDENCE: f64 = 0.95;

/// Jackknife estimate and confidence half-width of one metric (Mesaros et al. 2019 §IV, as the DCASE 2023
/// evaluator's `jackknife_estimate`).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Jackknife {
    /// Bias-corrected jackknife estimate: mean over i of N·θ̂ − (N − 1)·θ̂₋ᵢ.
    pub estimate: f64,
    /// Half-width of the 95 % interval: |t₀.₀₂₅,ₙ₋₁| · √(Σ(θ̂₋ᵢ − θ̄)² / (N(N − 1))).
    pub ci95: f64,
}

/// Jackknife of `metric` over the clips (`scores`, `labels`: `true` = anomalous): θ̂₋ᵢ is the metric of all
/// clips but clip i. O(N²) after one sort (each leave-one-out reuses the sorted order).
///
/// Errors: those of [`Roc::new`]; [`Error::SingleClass`] if leaving one clip out leaves one class only;
/// [`Error::Empty`] for fewer than 2 clips.
pub fn jackknife(scores: &[f64], labels: &[bool], metric: impl Fn(&Roc) -> Result<f64>) -> Result<Jackknife> {
    let sorted = sort_descending(scores, labels)?;
    let n = sorted.len();
    if n < 2 {
        return Err(Error::Empty("jackknife needs at least 2 clips"));
    }
    let theta = metric(&Roc::from_sorted(&sorted)?)?;
    let leave_one_out = (0..n)
        .map(|i| {
            let rest = sorted
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(_, &pair)| pair);
            metric(&Roc::from_sorted_iter(rest)?)
        })
        .collect::<Result<Vec<f64>>>()?;
    let nf = n as f64;
    let mean = leave_one_out.iter().sum::<f64>() / nf;
    let estimate = leave_one_out.iter().map(|t| nf * theta - (nf - 1.0) * t).sum::<f64>() / nf;
    let sigma = (leave_one_out.iter().map(|t| (t - mean).powi(2)).sum::<f64>() / (nf * (nf - 1.0))).sqrt();
    let t_crit = student_t_quantile((1.0 - CONFIDENCE) / 2.0, nf - 1.0).abs();
    Ok(Jackknife {
        estimate,
        ci95: t_crit * sigma,
    })
}

/// ln Γ(x) for x > 0 (musl's `lgamma` through `libm`, within an ulp or so).
fn ln_gamma(x: f64) -> f64 {
    libm::lgamma(x)
}

/// Regularised incomplete beta function I_x(a, b), by its continued fraction (modified Lentz evaluation),
/// using I_x(a, b) = 1 − I_{1−x}(b, a) where the fraction converges slowly.
fn incomplete_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    if x > (a + 1.0) / (a + b + 2.0) {
        return 1.0 - incomplete_beta(1.0 - x, b, a);
    }
    const TINY: f64 = 1e-300;
    let ln_front = a * x.ln() + b * (1.0 - x).ln() - (ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)) - a.ln();
    // I = front / G with G = 1 + d₁/(1 + d₂/(1 + …)), evaluated by the modified Lentz method;
    // d₂ₘ₊₁ = −(a+m)(a+b+m)x / ((a+2m)(a+2m+1)), d₂ₘ = m(b−m)x / ((a+2m−1)(a+2m))
    let (mut g, mut c, mut d) = (1.0_f64, 1.0_f64, 0.0_f64);
    for j in 1..100_000u32 {
        let m = f64::from(j / 2);
        let dj = if j % 2 == 0 {
            m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m))
        } else {
            -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0))
        };
        d = 1.0 + dj * d;
        d = if d.abs() < TINY { TINY } else { d }.recip();
        c = 1.0 + dj / c;
        c = if c.abs() < TINY { TINY } else { c };
        let delta = c * d;
        g *= delta;
        if (delta - 1.0).abs() <= f64::EPSILON {
            break;
        }
    }
    ln_front.exp() / g
}

/// Upper tail P(T > t) of Student's t with `df` degrees of freedom, for t ≥ 0: ½·I_{df/(df+t²)}(df/2, ½).
fn student_t_upper_tail(t: f64, df: f64) -> f64 {
    0.5 * incomplete_beta(df / (df + t * t), df / 2.0, 0.5)
}

/// Quantile of Student's t distribution: the t with P(T ≤ t) = `p`, `df` degrees of freedom (scipy
/// `stats.t.ppf`). Bisection on the tail probability, to about 1e-14 relative.
///
/// `p` must lie in (0, 1) and `df` be positive; otherwise the result is NaN.
pub fn student_t_quantile(p: f64, df: f64) -> f64 {
    if !(p > 0.0 && p < 1.0 && df > 0.0) {
        return f64::NAN;
    }
    let tail = p.min(1.0 - p);
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    while student_t_upper_tail(hi, df) > tail {
        lo = hi;
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if student_t_upper_tail(mid, df) > tail {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let t = 0.5 * (lo + hi);
    if p < 0.5 { -t } else { t }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Closed forms: df = 1 is Cauchy, t = tan(π(p − ½)); df = 2: t = (2p − 1) / √(2p(1 − p)).
    #[test]
    fn t_quantile_matches_closed_forms() {
        for p in [0.025, 0.3, 0.975, 0.999] {
            let cauchy = (std::f64::consts::PI * (p - 0.5)).tan();
            let two = (2.0 * p - 1.0) / (2.0 * p * (1.0 - p)).sqrt();
            assert!(
                (student_t_quantile(p, 1.0) - cauchy).abs() < 1e-12 * cauchy.abs().max(1.0),
                "{p}"
            );
            assert!(
                (student_t_quantile(p, 2.0) - two).abs() < 1e-12 * two.abs().max(1.0),
                "{p}"
            );
        }
        assert!(student_t_quantile(0.0, 3.0).is_nan());
    }

    /// For large df the t distribution tends to the normal: z₀.₉₇₅ = 1.959963984540054; the first
    /// Cornish–Fisher term gives t ≈ z + (z³ + z)/(4ν) with error O(ν⁻²).
    #[test]
    fn t_quantile_large_df_follows_cornish_fisher() {
        let z: f64 = 1.959_963_984_540_054;
        let df = 100_000.0;
        let approx = z + (z.powi(3) + z) / (4.0 * df);
        assert!((student_t_quantile(0.975, df) - approx).abs() < 1e-8);
    }

    #[test]
    fn ln_gamma_of_integers_and_half() {
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-13);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-13);
    }
}

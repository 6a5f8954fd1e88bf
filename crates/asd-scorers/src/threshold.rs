//! Decision thresholds calibrated on the anomaly scores of normal clips: a score above its group's threshold is
//! called anomalous (decision 1).
//!
//! Three rules ([`Threshold`]):
//! - **gamma** (the default): the DCASE baseline's rule — a three-parameter gamma distribution fitted to the
//!   normal scores by maximum likelihood exactly as `scipy.stats.gamma.fit` does it ([`GammaFit`]), and the
//!   threshold its `quantile` (0.9: about 10 % of normal clips flagged);
//! - **percentile**: the scores' empirical percentile, interpolated linearly as `numpy.percentile` does;
//! - **false-alarm**: the split-conformal threshold for a target false-alarm `rate`: the ⌈(n + 1)(1 − rate)⌉-th
//!   smallest of n normal scores. If a new normal clip's score is exchangeable with the calibration scores, the
//!   chance that it exceeds this threshold is at most `rate` and at least `rate − 1/(n + 1)` (Vovk et al.,
//!   *Algorithmic Learning in a Random World*, 2005), so the measured rate on a large normal set falls in that
//!   band up to sampling noise.
//!
//! The scores must not be the scorer's own training scores when it has seen those clips (a KNN gives each of its
//! training rows distance 0): the facade calibrates on out-of-fold scores.
//!
//! ```
//! use asd_scorers::Threshold;
//! let scores: Vec<f64> = (1..=99).map(|i| f64::from(i) / 100.0).collect();
//! assert_eq!(Threshold::Percentile { percentile: 90.0 }.fit(&scores)?, 0.892);
//! // ⌈100 · 0.9⌉ = the 90th smallest.
//! assert_eq!(Threshold::FalseAlarm { rate: 0.1 }.fit(&scores)?, 0.9);
//! let gamma = Threshold::default().fit(&scores)?;
//! assert!(gamma > 0.8 && gamma < 1.0);
//! # Ok::<(), asd_scorers::Error>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The DCASE baseline's quantile of the fitted gamma distribution (dcase2023_task2_baseline_ae,
/// `decision_threshold: 0.9` in its `baseline.yaml`).
pub const GAMMA_QUANTILE: f64 = 0.9;

/// How a group's threshold is set from the normal scores. TOML: `kind = "gamma"` and `quantile = 0.9`;
/// `kind = "percentile"` and `percentile = 90`; `kind = "false-alarm"` and `rate = 0.1`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Threshold {
    /// The `quantile` (in (0, 1)) of a gamma distribution fitted to the scores ([`GammaFit`]).
    Gamma {
        /// The quantile, e.g. 0.9.
        quantile: f64,
    },
    /// The scores' empirical `percentile` (in (0, 100)), linearly interpolated (`numpy.percentile`).
    Percentile {
        /// The percentile, e.g. 90.
        percentile: f64,
    },
    /// The split-conformal threshold for a false-alarm `rate` (in (0, 1)): needs at least ⌈1/rate⌉ − 1 scores.
    FalseAlarm {
        /// The target false-alarm rate, e.g. 0.1.
        rate: f64,
    },
}

impl Default for Threshold {
    fn default() -> Self {
        Self::Gamma {
            quantile: GAMMA_QUANTILE,
        }
    }
}

impl Threshold {
    /// Checks the rule's parameter.
    ///
    /// # Errors
    /// [`Error::OutOfRange`] naming it.
    pub fn check(&self) -> Result<()> {
        let (param, value, high) = match *self {
            Self::Gamma { quantile } => ("quantile", quantile, 1.0),
            Self::Percentile { percentile } => ("percentile", percentile, 100.0),
            Self::FalseAlarm { rate } => ("rate", rate, 1.0),
        };
        if value > 0.0 && value < high {
            Ok(())
        } else {
            Err(Error::OutOfRange {
                param,
                value,
                expected: if high == 1.0 { "in (0, 1)" } else { "in (0, 100)" },
            })
        }
    }

    /// The fewest scores the rule needs: 3 for the gamma fit (its start uses the skewness), ⌈(1 − rate)/rate⌉
    /// for the conformal rule (otherwise no score is high enough), 1 for the percentile.
    pub fn min_scores(&self) -> usize {
        match *self {
            Self::Gamma { .. } => 3,
            Self::Percentile { .. } => 1,
            Self::FalseAlarm { rate } => ((1.0 - rate) / rate).ceil().max(1.0) as usize,
        }
    }

    /// The threshold of `scores` (normal clips' anomaly scores, any order). Scores that are all equal give that
    /// value.
    ///
    /// # Errors
    /// A bad parameter; fewer scores than [`Threshold::min_scores`] ([`Error::TooFewPoints`]); a non-finite
    /// score; a gamma fit that does not give a finite threshold.
    pub fn fit(&self, scores: &[f64]) -> Result<f64> {
        self.check()?;
        check_scores(scores, "threshold", self.min_scores())?;
        let mut sorted = scores.to_vec();
        sorted.sort_by(f64::total_cmp);
        if sorted[0] == sorted[sorted.len() - 1] {
            return Ok(sorted[0]);
        }
        match *self {
            Self::Gamma { quantile } => {
                let t = GammaFit::fit(scores)?.ppf(quantile);
                if t.is_finite() {
                    Ok(t)
                } else {
                    Err(Error::OutOfRange {
                        param: "gamma threshold",
                        value: t,
                        expected: "finite (the gamma fit failed: use the percentile or false-alarm rule)",
                    })
                }
            }
            Self::Percentile { percentile } => {
                let pos = percentile / 100.0 * (sorted.len() - 1) as f64;
                let (lo, frac) = (pos.floor() as usize, pos.fract());
                let hi = (lo + 1).min(sorted.len() - 1);
                Ok(sorted[lo] + frac * (sorted[hi] - sorted[lo]))
            }
            Self::FalseAlarm { rate } => {
                let rank = ((sorted.len() + 1) as f64 * (1.0 - rate)).ceil() as usize;
                Ok(sorted[rank.clamp(1, sorted.len()) - 1])
            }
        }
    }
}

/// At least `needed` scores, all finite; `param` names the need in the error.
fn check_scores(scores: &[f64], param: &'static str, needed: usize) -> Result<()> {
    if scores.len() < needed {
        return Err(Error::TooFewPoints {
            param,
            needed,
            found: scores.len(),
        });
    }
    match scores.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        Some((row, &value)) => Err(Error::NonFinite {
            what: "scores",
            value,
            row,
            col: 0,
        }),
        None => Ok(()),
    }
}

/// Constants of scipy 1.17's generic maximum-likelihood fit (`rv_continuous.fit` with `optimize.fmin`).
mod scipy {
    /// Penalty per sample outside the support or with an infinite log-density: `100 · ln(f64::MAX)`
    /// (`_nnlf_and_penalty`, `_XMAX`).
    pub const PENALTY: f64 = 100.0 * 709.782_712_893_384;
    /// Nelder–Mead's first simplex: each coordinate scaled by 1 + 0.05, or set to 0.00025 when zero (`fmin`).
    pub const NONZERO_STEP: f64 = 0.05;
    /// See [`NONZERO_STEP`].
    pub const ZERO_STEP: f64 = 0.00025;
    /// `fmin`'s `xtol` and `ftol`.
    pub const TOL: f64 = 1e-4;
    /// `fmin`'s iteration and evaluation limits: 200 per parameter.
    pub const EVALS_PER_PARAM: usize = 200;
    /// Relative margin below the smallest sample of the starting location when the moment start leaves a sample
    /// outside the support (`_fit_loc_scale_support`).
    pub const MARGIN: f64 = 0.1;
    /// Regulariser of the skewness in the starting shape 4 / (1e-8 + skew²) (`gamma_gen._fitstart`).
    pub const SKEW_EPS: f64 = 1e-8;
}

/// A gamma distribution with shape `a`, location `loc` and scale `scale`: density
/// `y^(a−1) e^(−y) / Γ(a) / scale` at `y = (x − loc) / scale > 0`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GammaFit {
    /// Shape a > 0.
    pub shape: f64,
    /// Location (the support's lower end).
    pub loc: f64,
    /// Scale > 0.
    pub scale: f64,
}

impl GammaFit {
    /// The maximum-likelihood fit of all three parameters to `x` as `scipy.stats.gamma.fit(x)` computes it: the
    /// start a = 4 / (1e-8 + skew²) with the method-of-moments location and scale (moved below the smallest sample
    /// when that start leaves one outside the support), then Nelder–Mead (`scipy.optimize.fmin`: xtol = ftol =
    /// 1e-4, 600 evaluations) on the negative log-likelihood with scipy's penalty for samples outside the support.
    ///
    /// # Errors
    /// Fewer than 3 samples, or non-finite ones.
    pub fn fit(x: &[f64]) -> Result<GammaFit> {
        check_scores(x, "gamma fit", 3)?;
        let start = Self::start(x);
        let nll = |p: &[f64; 3]| Self::penalized_nll(p, x);
        let [shape, loc, scale] = nelder_mead(nll, [start.shape, start.loc, start.scale]);
        Ok(GammaFit { shape, loc, scale })
    }

    /// scipy's starting point (`gamma_gen._fitstart`, `_fit_loc_scale_support`).
    fn start(x: &[f64]) -> GammaFit {
        let n = x.len() as f64;
        let mean = pairwise_sum(x) / n;
        let centred: Vec<f64> = x.iter().map(|v| v - mean).collect();
        let m2 = pairwise_sum(&centred.iter().map(|d| d * d).collect::<Vec<_>>()) / n;
        let m3 = pairwise_sum(&centred.iter().map(|d| d * d * d).collect::<Vec<_>>()) / n;
        let skew = m3 / m2.powf(1.5);
        let shape = 4.0 / (scipy::SKEW_EPS + skew * skew);
        // Moments of the standard gamma: mean a, variance a.
        let mut scale = (m2 / shape).sqrt();
        let mut loc = mean - scale * shape;
        if !loc.is_finite() {
            loc = 0.0;
        }
        if !(scale.is_finite() && scale > 0.0) {
            scale = 1.0;
        }
        let (min, max) = x.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
        if loc >= min {
            loc = min - (max - min) * scipy::MARGIN;
            scale = 1.0;
        }
        GammaFit { shape, loc, scale }
    }

    /// scipy's `_penalized_nnlf` of `[shape, loc, scale]` on `x`.
    fn penalized_nll(&[shape, loc, scale]: &[f64; 3], x: &[f64]) -> f64 {
        if shape.is_nan() || scale.is_nan() || shape <= 0.0 || scale <= 0.0 {
            return f64::INFINITY;
        }
        let ln_gamma_a = ln_gamma(shape);
        let mut bad = 0usize;
        let mut logpdf = Vec::with_capacity(x.len());
        for &v in x {
            let y = (v - loc) / scale;
            if y.is_nan() || y < 0.0 {
                bad += 1;
                continue;
            }
            let xlogy = if shape == 1.0 { 0.0 } else { (shape - 1.0) * y.ln() };
            let l = xlogy - y - ln_gamma_a;
            if l.is_finite() {
                logpdf.push(l);
            } else {
                bad += 1;
            }
        }
        -pairwise_sum(&logpdf) + bad as f64 * scipy::PENALTY + x.len() as f64 * scale.ln()
    }

    /// P(X ≤ x).
    pub fn cdf(&self, x: f64) -> f64 {
        let y = (x - self.loc) / self.scale;
        if y <= 0.0 { 0.0 } else { gamma_p(self.shape, y) }
    }

    /// The `q`-quantile (`scipy.stats.gamma.ppf`): `loc + scale · P⁻¹(a, q)`.
    pub fn ppf(&self, q: f64) -> f64 {
        self.loc + self.scale * gamma_p_inv(self.shape, q)
    }
}

/// `numpy.sum`'s pairwise summation of a contiguous float64 array (blocks of 128 summed with eight accumulators),
/// so that the likelihood agrees with scipy's to the last bits where it matters for the simplex's comparisons.
fn pairwise_sum(x: &[f64]) -> f64 {
    const BLOCK: usize = 128;
    if x.len() < 8 {
        return x.iter().fold(0.0, |s, v| s + v);
    }
    if x.len() <= BLOCK {
        let mut r = [0.0; 8];
        let whole = x.len() - x.len() % 8;
        for chunk in x[..whole].chunks_exact(8) {
            for (r, v) in r.iter_mut().zip(chunk) {
                *r += v;
            }
        }
        let mut sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for v in &x[whole..] {
            sum += v;
        }
        return sum;
    }
    let mut half = x.len() / 2;
    half -= half % 8;
    pairwise_sum(&x[..half]) + pairwise_sum(&x[half..])
}

/// Nelder–Mead as `scipy.optimize.fmin` runs it with its defaults (ρ 1, χ 2, ψ ½, σ ½; stop when the simplex and
/// its values are within 1e-4 of the best vertex, or after 200 evaluations / iterations per parameter). As in
/// scipy, the evaluation that would pass the limit is not made: the iteration stops there (a shrink cut short
/// keeps its moved vertices with their old values) and the best vertex after sorting is returned.
fn nelder_mead(f: impl Fn(&[f64; 3]) -> f64, x0: [f64; 3]) -> [f64; 3] {
    const N: usize = 3;
    type Simplex = ([[f64; N]; N + 1], [f64; N + 1]);
    let max_evals = N * scipy::EVALS_PER_PARAM;
    let mut evals = 0;
    let mut eval = |x: &[f64; N]| {
        (evals < max_evals).then(|| {
            evals += 1;
            f(x)
        })
    };
    // A stable sort (numpy's argsort on so few elements may not be; ties only arise between equal values).
    let sort = |(sim, fsim): &mut Simplex| {
        let mut order: Vec<usize> = (0..=N).collect();
        order.sort_by(|&a, &b| fsim[a].total_cmp(&fsim[b]));
        let (s, v) = (*sim, *fsim);
        for (i, &o) in order.iter().enumerate() {
            sim[i] = s[o];
            fsim[i] = v[o];
        }
    };
    let mut simplex: Simplex = ([x0; N + 1], [f64::INFINITY; N + 1]);
    for (k, &v) in x0.iter().enumerate() {
        simplex.0[k + 1][k] = if v != 0.0 {
            (1.0 + scipy::NONZERO_STEP) * v
        } else {
            scipy::ZERO_STEP
        };
    }
    for i in 0..=N {
        simplex.1[i] = eval(&simplex.0[i]).unwrap_or(f64::INFINITY);
    }
    sort(&mut simplex);
    let along = |a: f64, xbar: &[f64; N], worst: &[f64; N]| -> [f64; N] {
        std::array::from_fn(|j| (1.0 + a) * xbar[j] - a * worst[j])
    };
    let mut iterations = 1;
    // One iteration; `None` when the evaluation limit cut it short.
    let mut step = |(sim, fsim): &mut Simplex| -> Option<()> {
        let xbar: [f64; N] = std::array::from_fn(|j| sim[..N].iter().map(|v| v[j]).sum::<f64>() / N as f64);
        let worst = sim[N];
        let xr = along(1.0, &xbar, &worst);
        let fxr = eval(&xr)?;
        if fxr < fsim[0] {
            let xe = along(2.0, &xbar, &worst);
            let fxe = eval(&xe)?;
            (sim[N], fsim[N]) = if fxe < fxr { (xe, fxe) } else { (xr, fxr) };
            return Some(());
        }
        if fxr < fsim[N - 1] {
            (sim[N], fsim[N]) = (xr, fxr);
            return Some(());
        }
        let (xc, fxc, accept) = if fxr < fsim[N] {
            let xc = along(0.5, &xbar, &worst);
            let fxc = eval(&xc)?;
            (xc, fxc, fxc <= fxr)
        } else {
            let xcc: [f64; N] = std::array::from_fn(|j| 0.5 * xbar[j] + 0.5 * worst[j]);
            let fxcc = eval(&xcc)?;
            (xcc, fxcc, fxcc < fsim[N])
        };
        if accept {
            (sim[N], fsim[N]) = (xc, fxc);
        } else {
            for j in 1..=N {
                sim[j] = std::array::from_fn(|i| sim[0][i] + 0.5 * (sim[j][i] - sim[0][i]));
                fsim[j] = eval(&sim[j])?;
            }
        }
        Some(())
    };
    while iterations < max_evals {
        let (sim, fsim) = &simplex;
        let spread = sim[1..]
            .iter()
            .flat_map(|v| v.iter().zip(&sim[0]).map(|(a, b)| (a - b).abs()))
            .fold(0.0, f64::max);
        let fspread = fsim[1..].iter().map(|v| (fsim[0] - v).abs()).fold(0.0, f64::max);
        if spread <= scipy::TOL && fspread <= scipy::TOL {
            break;
        }
        let done = step(&mut simplex);
        sort(&mut simplex);
        if done.is_none() {
            break;
        }
        iterations += 1;
    }
    simplex.0[0]
}

/// ln Γ(x) for x > 0 (musl's `lgamma` through `libm`, within an ulp or so, as scipy's `gammaln`).
fn ln_gamma(x: f64) -> f64 {
    libm::lgamma(x)
}

/// The regularised lower incomplete gamma function P(a, x) = γ(a, x) / Γ(a), a > 0, x ≥ 0: the series for
/// x < a + 1, the continued fraction (modified Lentz) otherwise (Numerical Recipes §6.2).
pub(crate) fn gamma_p(a: f64, x: f64) -> f64 {
    const EPS: f64 = 1e-16;
    const MAX_TERMS: usize = 10_000;
    const TINY: f64 = 1e-300;
    if x <= 0.0 {
        return 0.0;
    }
    let log_prefix = a * x.ln() - x - ln_gamma(a);
    if x < a + 1.0 {
        let (mut term, mut sum, mut ap) = (1.0 / a, 1.0 / a, a);
        for _ in 0..MAX_TERMS {
            ap += 1.0;
            term *= x / ap;
            sum += term;
            if term.abs() < sum.abs() * EPS {
                break;
            }
        }
        (sum.ln() + log_prefix).exp().min(1.0)
    } else {
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / TINY;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..MAX_TERMS {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < TINY {
                d = TINY;
            }
            c = b + an / c;
            if c.abs() < TINY {
                c = TINY;
            }
            d = 1.0 / d;
            let step = d * c;
            h *= step;
            if (step - 1.0).abs() < EPS {
                break;
            }
        }
        (1.0 - (log_prefix.exp() * h)).max(0.0)
    }
}

/// x with P(a, x) = q, for a > 0 and q in [0, 1]: bisection on a bracket, then Newton steps kept inside it, to
/// a relative precision of 1e-14.
pub(crate) fn gamma_p_inv(a: f64, q: f64) -> f64 {
    if q <= 0.0 {
        return 0.0;
    }
    if q >= 1.0 {
        return f64::INFINITY;
    }
    let (mut lo, mut hi) = (0.0, a.max(1.0));
    while gamma_p(a, hi) < q {
        lo = hi;
        hi *= 2.0;
        if !hi.is_finite() {
            return f64::INFINITY;
        }
    }
    let mut x = 0.5 * (lo + hi);
    for _ in 0..200 {
        let p = gamma_p(a, x);
        if p < q {
            lo = x;
        } else {
            hi = x;
        }
        // Newton: the density of the standard gamma at x.
        let density = ((a - 1.0) * x.ln() - x - ln_gamma(a)).exp();
        let newton = x - (p - q) / density;
        let next = if density > 0.0 && newton > lo && newton < hi {
            newton
        } else {
            0.5 * (lo + hi)
        };
        if (next - x).abs() <= 1e-14 * x.abs() || hi - lo <= 1e-15 * hi {
            return next;
        }
        x = next;
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_gamma_and_the_incomplete_gamma_match_closed_forms() {
        // Γ(n) = (n − 1)!, Γ(½) = √π.
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-13);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-13);
        assert!((ln_gamma(0.1) - 2.252_712_651_734_206).abs() < 1e-12);
        // P(1, x) = 1 − e^(−x); P(2, x) = 1 − (1 + x) e^(−x).
        for x in [0.01f64, 0.5, 1.0, 3.0, 20.0] {
            assert!((gamma_p(1.0, x) - (1.0 - (-x).exp())).abs() < 1e-14, "{x}");
            assert!((gamma_p(2.0, x) - (1.0 - (1.0 + x) * (-x).exp())).abs() < 1e-14, "{x}");
        }
        for (a, q) in [(0.3, 0.9), (2.0, 0.5), (50.0, 0.99), (1.0, 0.1)] {
            let x = gamma_p_inv(a, q);
            assert!((gamma_p(a, x) - q).abs() < 1e-12, "{a} {q}");
        }
    }

    #[test]
    fn pairwise_sum_equals_the_exact_sum_of_integers() {
        let x: Vec<f64> = (0..1000).map(f64::from).collect();
        assert_eq!(pairwise_sum(&x), 499_500.0);
        assert_eq!(pairwise_sum(&x[..7]), 21.0);
    }

    #[test]
    fn parameters_are_checked_and_constant_scores_give_their_value() {
        assert!(Threshold::Gamma { quantile: 1.0 }.fit(&[1.0, 2.0, 3.0]).is_err());
        assert!(Threshold::Percentile { percentile: 0.0 }.check().is_err());
        assert!(matches!(
            Threshold::FalseAlarm { rate: 0.01 }.fit(&[1.0; 50]),
            Err(Error::TooFewPoints { needed: 99, .. })
        ));
        assert_eq!(Threshold::default().fit(&[2.5; 10]).unwrap(), 2.5);
        assert!(matches!(
            Threshold::default().fit(&[1.0, f64::NAN, 2.0]),
            Err(Error::NonFinite { row: 1, .. })
        ));
    }
}

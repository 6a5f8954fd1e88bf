//! GMM: a Gaussian mixture per group fitted by EM, score −ln p(z) (seed 000 §2.4.3).
//!
//! A port of scikit-learn 1.x `GaussianMixture` (full and diagonal covariance), in f64. Our own, not
//! linfa-clustering's `GaussianMixtureModel`: linfa can only start from k-means or random responsibilities,
//! so it cannot be run from scikit-learn's (or a user's) initial means, weights and precisions, and its
//! k-means initialisation is linfa's own k-means (see [`crate::kmeans`]).
//!
//! # Ill-conditioning
//! A full covariance in `dim` dimensions estimated from fewer than `dim` points (per component) is singular;
//! `reg_covar` then sets its smallest eigenvalues, and test scores are dominated by those null directions
//! (of order 1e6–1e7 for 128-d embeddings with ~100 points per component and `reg_covar` = 1e-6). The
//! arithmetic here is f64 and follows scikit-learn, so it reproduces scikit-learn's float64 result, but the
//! scores then measure little more than the distance from a low-dimensional subspace. With fewer than
//! about `dim` embeddings per component, choose one of (decisions §15): [`Covariance::Diagonal`], fewer
//! components, a larger `reg_covar` (STgram-MFN uses 1e-3), or more data per group.

use std::f64::consts::PI;

use ndarray::{Array1, Array2, Array3, ArrayView2, Axis, Zip, s};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::kmeans::KMeansParams;
use crate::linalg::{check_matrix, check_rows, check_test, cholesky, inv_lower_t, par_dot, par_t_dot, standard};
use crate::{Error, Fit, Result, Score};

/// k = 4 components, the same k as K-Means (asdnet_specmfn.md §7.4).
pub const GMM_N_COMPONENTS: usize = 4;
/// reg_covar = 1e-6 added to each covariance diagonal: scikit-learn's default (decisions §15).
pub const GMM_REG_COVAR: f64 = 1e-6;
/// At most 100 EM iterations: scikit-learn's default (asdnet_specmfn.md §7.4).
pub const GMM_MAX_ITER: usize = 100;
/// Stop when the mean log-likelihood changes by less than 1e-3: scikit-learn's default (asdnet_specmfn.md §7.4).
pub const GMM_TOL: f64 = 1e-3;
/// scikit-learn adds 10·ε to every component's responsibility sum (`_estimate_gaussian_parameters`).
const NK_FLOOR: f64 = 10.0 * f64::EPSILON;

/// Covariance structure of each component.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Covariance {
    /// A full `dim × dim` matrix per component (seed 000 §2.4.3).
    #[default]
    Full,
    /// A diagonal per component: well defined with few points per component.
    Diagonal,
}

/// Which log-likelihood the score negates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GmmScore {
    /// −ln p(z) = −logsumexp_k(ln w_k + ln N(z | μ_k, Σ_k)) (seed 000).
    #[default]
    Mixture,
    /// −max_k ln N(z | μ_k, Σ_k), weights ignored (STgram-MFN's optional GMM; asdnet_specmfn.md §7.4).
    MaxComponent,
}

/// GMM scorer settings; defaults are seed 000's as the spec fixes them (4 full components, reg 1e-6,
/// 100 iterations, tol 1e-3, initialised from one k-means++ run's labels as scikit-learn does).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GmmParams {
    /// Number of components k.
    pub n_components: usize,
    /// Covariance structure.
    pub covariance: Covariance,
    /// Added to every covariance diagonal.
    pub reg_covar: f64,
    /// Maximum EM iterations.
    pub max_iter: usize,
    /// Convergence threshold on the change of the mean log-likelihood.
    pub tol: f64,
    /// Score form.
    pub score: GmmScore,
}

impl Default for GmmParams {
    fn default() -> Self {
        Self {
            n_components: GMM_N_COMPONENTS,
            covariance: Covariance::Full,
            reg_covar: GMM_REG_COVAR,
            max_iter: GMM_MAX_ITER,
            tol: GMM_TOL,
            score: GmmScore::Mixture,
        }
    }
}

/// Initial parameters for [`GmmParams::fit_from`] (scikit-learn's `weights_init`, `means_init`,
/// `precisions_init`).
#[derive(Clone, Debug, PartialEq)]
pub struct GmmStart {
    /// Weights, `[n_components]`, positive, summing to 1.
    pub weights: Array1<f64>,
    /// Means, `[n_components, dim]`.
    pub means: Array2<f64>,
    /// Precision matrices Σ⁻¹, `[n_components, dim, dim]`, symmetric positive definite (only the
    /// diagonals are read for [`Covariance::Diagonal`]).
    pub precisions: Array3<f64>,
}

/// Per-component factor `P` of the precision (Σ⁻¹ = P Pᵀ): a matrix or, for diagonal covariance, a vector.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum PrecChol {
    Full(Vec<Array2<f64>>),
    Diagonal(Array2<f64>),
}

impl GmmParams {
    /// `n_components` components, other settings at their defaults.
    pub fn new(n_components: usize) -> Self {
        Self {
            n_components,
            ..Self::default()
        }
    }
    /// Sets the covariance structure.
    pub fn with_covariance(mut self, covariance: Covariance) -> Self {
        self.covariance = covariance;
        self
    }
    /// Sets `reg_covar`.
    pub fn with_reg_covar(mut self, reg_covar: f64) -> Self {
        self.reg_covar = reg_covar;
        self
    }
    /// Sets the maximum number of EM iterations.
    pub fn with_max_iter(mut self, max_iter: usize) -> Self {
        self.max_iter = max_iter;
        self
    }
    /// Sets the tolerance.
    pub fn with_tol(mut self, tol: f64) -> Self {
        self.tol = tol;
        self
    }
    /// Sets the score form.
    pub fn with_score(mut self, score: GmmScore) -> Self {
        self.score = score;
        self
    }

    /// Checks: `n_components`, `max_iter` ≥ 1; `reg_covar` and `tol` finite and ≥ 0.
    pub fn check(&self) -> Result<()> {
        for (param, v) in [("n_components", self.n_components), ("max_iter", self.max_iter)] {
            if v == 0 {
                return Err(Error::Zero { param });
            }
        }
        for (param, v) in [("reg_covar", self.reg_covar), ("tol", self.tol)] {
            if !(v >= 0.0 && v.is_finite()) {
                return Err(Error::OutOfRange {
                    param,
                    value: v,
                    expected: "finite and ≥ 0",
                });
            }
        }
        Ok(())
    }

    fn check_train(&self, train: ArrayView2<'_, f64>) -> Result<()> {
        self.check()?;
        check_matrix(train, "train")?;
        check_rows(self.min_rows(), train.nrows())?;
        Ok(())
    }

    /// EM from given initial parameters, as scikit-learn's `GaussianMixture(weights_init=…, means_init=…,
    /// precisions_init=…)`. Errors on shapes that do not match, a precision that is not positive definite,
    /// or a covariance that becomes singular ([`Error::IllConditioned`]).
    pub fn fit_from(&self, train: ArrayView2<'_, f64>, start: &GmmStart) -> Result<Gmm> {
        self.check_train(train)?;
        let (k, d) = (self.n_components, train.ncols());
        for (what, expected, found) in [
            ("weights", vec![k], start.weights.shape()),
            ("means", vec![k, d], start.means.shape()),
            ("precisions", vec![k, d, d], start.precisions.shape()),
        ] {
            if found != expected.as_slice() {
                return Err(Error::InitShape {
                    what,
                    expected,
                    found: found.to_vec(),
                });
            }
        }
        let prec_chol = match self.covariance {
            Covariance::Full => PrecChol::Full(
                start
                    .precisions
                    .outer_iter()
                    .enumerate()
                    .map(|(component, p)| cholesky(p).ok_or(Error::IllConditioned { component }))
                    .collect::<Result<_>>()?,
            ),
            Covariance::Diagonal => {
                let diag = Array2::from_shape_fn((k, d), |(c, i)| start.precisions[[c, i, i]]);
                if let Some((component, _)) = diag
                    .indexed_iter()
                    .map(|((c, _), v)| (c, v))
                    .find(|(_, v)| v.is_nan() || **v <= 0.0)
                {
                    return Err(Error::IllConditioned { component });
                }
                PrecChol::Diagonal(diag.mapv(f64::sqrt))
            }
        };
        let gmm = Gmm {
            weights: start.weights.clone(),
            means: start.means.clone(),
            prec_chol,
            score: self.score,
            n_iter: 0,
            lower_bound: f64::NEG_INFINITY,
        };
        self.em(standard(train).view(), gmm)
    }

    /// EM iterations from `gmm` (scikit-learn's loop: E-step, M-step, stop when |Δ lower bound| < tol).
    fn em(&self, x: ArrayView2<'_, f64>, mut gmm: Gmm) -> Result<Gmm> {
        let mut lower_bound = f64::NEG_INFINITY;
        for n_iter in 1..=self.max_iter {
            let (mean_ll, resp) = gmm.e_step(x);
            let previous = lower_bound;
            gmm = Gmm {
                n_iter,
                lower_bound: mean_ll,
                ..self.m_step(x, resp.view())?
            };
            lower_bound = mean_ll;
            if (lower_bound - previous).abs() < self.tol {
                break;
            }
        }
        Ok(gmm)
    }

    /// Weights, means and precision factors from responsibilities `resp` (`[n, k]`).
    fn m_step(&self, x: ArrayView2<'_, f64>, resp: ArrayView2<'_, f64>) -> Result<Gmm> {
        let nk = resp.sum_axis(Axis(0)) + NK_FLOOR;
        let means = par_t_dot(resp, x) / nk.view().insert_axis(Axis(1));
        let prec_chol = match self.covariance {
            Covariance::Full => PrecChol::Full(
                (0..self.n_components)
                    .map(|c| {
                        // Rows with a responsibility of exactly 0 add nothing: leave them out of the product.
                        let rows: Vec<usize> = (0..x.nrows()).filter(|&i| resp[[i, c]] != 0.0).collect();
                        let diff = x.select(Axis(0), &rows) - means.row(c);
                        let weights = resp.column(c).select(Axis(0), &rows);
                        let weighted = &diff * &weights.insert_axis(Axis(1));
                        let mut cov = par_t_dot(weighted.view(), diff.view()) / nk[c];
                        cov.diag_mut().mapv_inplace(|v| v + self.reg_covar);
                        let l = cholesky(cov.view()).ok_or(Error::IllConditioned { component: c })?;
                        Ok(inv_lower_t(l.view()))
                    })
                    .collect::<Result<_>>()?,
            ),
            Covariance::Diagonal => {
                // scikit-learn's form: E_r[x²] − μ² + reg.
                let avg_x2 = par_t_dot(resp, x.mapv(|v| v * v).view()) / nk.view().insert_axis(Axis(1));
                let cov = avg_x2 - means.mapv(|v| v * v) + self.reg_covar;
                if let Some(((component, _), _)) = cov.indexed_iter().find(|(_, v)| v.is_nan() || **v <= 0.0) {
                    return Err(Error::IllConditioned { component });
                }
                PrecChol::Diagonal(cov.mapv(|v| 1.0 / v.sqrt()))
            }
        };
        let weights = &nk / nk.sum();
        Ok(Gmm {
            weights,
            means,
            prec_chol,
            score: self.score,
            n_iter: 0,
            lower_bound: f64::NEG_INFINITY,
        })
    }
}

/// Fitted GMM scorer. Serialised as its weights, means, the Cholesky factors of the precisions, the score rule
/// and the fit's iteration count and bound; deserialising checks their shapes and that the weights and factors'
/// diagonals are positive and finite.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(into = "GmmFile", try_from = "GmmFile")]
pub struct Gmm {
    weights: Array1<f64>,
    means: Array2<f64>,
    prec_chol: PrecChol,
    score: GmmScore,
    n_iter: usize,
    lower_bound: f64,
}

/// A [`Gmm`] as saved.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct GmmFile {
    weights: Array1<f64>,
    means: Array2<f64>,
    precisions_cholesky: PrecChol,
    score: GmmScore,
    n_iter: usize,
    lower_bound: f64,
}

impl From<Gmm> for GmmFile {
    fn from(g: Gmm) -> Self {
        Self {
            weights: g.weights,
            means: g.means,
            precisions_cholesky: g.prec_chol,
            score: g.score,
            n_iter: g.n_iter,
            lower_bound: g.lower_bound,
        }
    }
}

impl TryFrom<GmmFile> for Gmm {
    type Error = Error;

    fn try_from(file: GmmFile) -> Result<Self> {
        check_matrix(file.means.view(), "means")?;
        let (k, d) = file.means.dim();
        let shape_error = |what, found: Vec<usize>, expected: Vec<usize>| Error::SavedShape { what, found, expected };
        if file.weights.len() != k {
            return Err(shape_error("weights", vec![file.weights.len()], vec![k]));
        }
        let positive = |v: &f64| v.is_finite() && *v > 0.0;
        let mut diagonals = Vec::new();
        match &file.precisions_cholesky {
            PrecChol::Full(p) => {
                if p.len() != k {
                    return Err(shape_error("precisions_cholesky", vec![p.len()], vec![k]));
                }
                for m in p {
                    if m.dim() != (d, d) {
                        return Err(shape_error("precisions_cholesky", m.shape().to_vec(), vec![d, d]));
                    }
                    check_matrix(m.view(), "precisions_cholesky")?;
                    diagonals.extend(m.diag().iter().copied());
                }
            }
            PrecChol::Diagonal(p) => {
                if p.dim() != (k, d) {
                    return Err(shape_error("precisions_cholesky", p.shape().to_vec(), vec![k, d]));
                }
                diagonals.extend(p.iter().copied());
            }
        }
        if let Some(bad) = file.weights.iter().chain(&diagonals).find(|v| !positive(v)) {
            return Err(Error::OutOfRange {
                param: "weights and precision diagonals",
                value: *bad,
                expected: "positive and finite",
            });
        }
        Ok(Gmm {
            weights: file.weights,
            means: file.means,
            prec_chol: file.precisions_cholesky,
            score: file.score,
            n_iter: file.n_iter,
            lower_bound: file.lower_bound,
        })
    }
}

impl Gmm {
    /// Mixture weights, `[n_components]`.
    pub fn weights(&self) -> &Array1<f64> {
        &self.weights
    }
    /// Component means, `[n_components, dim]`.
    pub fn means(&self) -> &Array2<f64> {
        &self.means
    }
    /// Covariance matrices, `[n_components, dim, dim]` (diagonal matrices for diagonal covariance).
    pub fn covariances(&self) -> Array3<f64> {
        let (k, d) = self.means.dim();
        let mut out = Array3::zeros((k, d, d));
        match &self.prec_chol {
            PrecChol::Full(p) => {
                for (mut o, p) in out.outer_iter_mut().zip(p) {
                    // After an M-step P is upper triangular and Σ = (P Pᵀ)⁻¹ = P⁻ᵀ P⁻¹.
                    let p_inv = inv_lower_t(p.t());
                    o.assign(&p_inv.t().dot(&p_inv));
                }
            }
            PrecChol::Diagonal(p) => {
                for (mut o, p) in out.outer_iter_mut().zip(p.outer_iter()) {
                    o.diag_mut().assign(&p.mapv(|v| 1.0 / (v * v)));
                }
            }
        }
        out
    }
    /// EM iterations run.
    pub fn n_iter(&self) -> usize {
        self.n_iter
    }
    /// Mean training log-likelihood at the last E-step (scikit-learn's `lower_bound_`).
    pub fn lower_bound(&self) -> f64 {
        self.lower_bound
    }

    /// ln N(x | μ_k, Σ_k) for every row and component, `[n, k]`.
    fn log_gaussian(&self, x: ArrayView2<'_, f64>) -> Array2<f64> {
        let (k, d) = self.means.dim();
        let mut out = Array2::zeros((x.nrows(), k));
        let constant = -0.5 * d as f64 * (2.0 * PI).ln();
        match &self.prec_chol {
            PrecChol::Full(p) => {
                // scikit-learn's form y = x P − μ P, with every component's P side by side in one product.
                let mut wide = Array2::<f64>::zeros((d, k * d));
                for (c, p) in p.iter().enumerate() {
                    wide.slice_mut(s![.., c * d..(c + 1) * d]).assign(p);
                }
                let xp = par_dot(x, wide.view());
                let mp: Vec<Array1<f64>> = p.iter().zip(self.means.outer_iter()).map(|(p, m)| m.dot(p)).collect();
                let log_det: Vec<f64> = p.iter().map(|p| p.diag().mapv(f64::ln).sum()).collect();
                Zip::from(out.rows_mut()).and(xp.rows()).par_for_each(|mut o, r| {
                    for (c, o) in o.iter_mut().enumerate() {
                        let y = r.slice(s![c * d..(c + 1) * d]);
                        let maha: f64 = y.iter().zip(&mp[c]).map(|(a, b)| (a - b) * (a - b)).sum();
                        *o = constant - 0.5 * maha + log_det[c];
                    }
                });
            }
            PrecChol::Diagonal(p) => {
                for c in 0..k {
                    let y = (&x - &self.means.row(c)) * p.row(c);
                    let log_det = p.row(c).mapv(f64::ln).sum();
                    let maha = y.map_axis(Axis(1), |r| r.dot(&r));
                    out.column_mut(c).assign(&maha.mapv(|m| constant - 0.5 * m + log_det));
                }
            }
        }
        out
    }

    /// Mean log-likelihood and responsibilities `[n, k]`.
    fn e_step(&self, x: ArrayView2<'_, f64>) -> (f64, Array2<f64>) {
        let mut lw = self.log_gaussian(x) + &self.weights.mapv(f64::ln);
        let mut total = 0.0;
        for mut row in lw.outer_iter_mut() {
            let lse = log_sum_exp(row.iter().copied());
            total += lse;
            row.mapv_inplace(|v| (v - lse).exp());
        }
        (total / x.nrows() as f64, lw)
    }
}

/// ln Σ exp(v), with the maximum subtracted first.
fn log_sum_exp(values: impl Iterator<Item = f64> + Clone) -> f64 {
    let max = values.clone().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        return max;
    }
    max + values.map(|v| (v - max).exp()).sum::<f64>().ln()
}

impl Fit for GmmParams {
    type Fitted = Gmm;

    /// scikit-learn's default start: the labels of one k-means++ K-Means run (`n_init` 1, drawn with `rng`)
    /// become one-hot responsibilities for a first M-step, then EM. Errors as [`GmmParams::fit_from`].
    fn fit(&self, train: ArrayView2<'_, f64>, rng: &mut impl Rng) -> Result<Gmm> {
        self.check_train(train)?;
        let x = standard(train);
        let km = KMeansParams::new(self.n_components).with_n_init(1).fit(x.view(), rng)?;
        let labels = km.labels(x.view());
        let mut resp = Array2::zeros((x.nrows(), self.n_components));
        Zip::from(resp.rows_mut()).and(&labels).for_each(|mut r, &l| r[l] = 1.0);
        let start = self.m_step(x.view(), resp.view())?;
        self.em(x.view(), start)
    }

    fn min_rows(&self) -> (&'static str, usize) {
        ("n_components", self.n_components)
    }
}

impl Score for Gmm {
    fn score(&self, test: ArrayView2<'_, f64>) -> Result<Array1<f64>> {
        check_test(test, self.means.ncols())?;
        let lg = self.log_gaussian(standard(test).view());
        let ln_w = self.weights.mapv(f64::ln);
        Ok(lg.map_axis(Axis(1), |r| match self.score {
            GmmScore::Mixture => -log_sum_exp(r.iter().zip(&ln_w).map(|(a, b)| a + b)),
            GmmScore::MaxComponent => -r.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }))
    }
}

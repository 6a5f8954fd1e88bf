//! Small dense helpers: input checks, row-parallel products, Cholesky factors (all f64).

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis, CowArray, Ix2, Zip, s};
use rayon::prelude::*;

use crate::{Error, Result};

/// Rows per parallel task in row-blocked products and scans.
pub(crate) const ROW_BLOCK: usize = 256;

/// Checks that `x` has rows and columns and only finite values.
/// [`Error::TooFewPoints`] when `found` rows are fewer than `need` ([`crate::Fit::min_rows`]) asks for.
pub(crate) fn check_rows((param, needed): (&'static str, usize), found: usize) -> Result<()> {
    if found < needed {
        return Err(Error::TooFewPoints { param, needed, found });
    }
    Ok(())
}

pub(crate) fn check_matrix(x: ArrayView2<'_, f64>, what: &'static str) -> Result<()> {
    if x.is_empty() {
        return Err(Error::Empty {
            what,
            rows: x.nrows(),
            cols: x.ncols(),
        });
    }
    // A branch-free test per block (vectorised) clears a finite matrix; the slower indexed search runs only
    // to name the first bad entry.
    let all_finite = match x.as_slice() {
        Some(s) => s
            .chunks(ROW_BLOCK)
            .all(|c| c.iter().fold(true, |ok, v| ok & v.is_finite())),
        None => x.iter().all(|v| v.is_finite()),
    };
    if all_finite {
        return Ok(());
    }
    match x.indexed_iter().find(|(_, v)| !v.is_finite()) {
        Some(((row, col), &value)) => Err(Error::NonFinite { what, row, col, value }),
        None => Ok(()),
    }
}

/// [`check_matrix`] plus a width check against the training width.
pub(crate) fn check_test(x: ArrayView2<'_, f64>, dim: usize) -> Result<()> {
    check_matrix(x, "test")?;
    if x.ncols() != dim {
        return Err(Error::DimensionMismatch {
            what: "test",
            expected: dim,
            found: x.ncols(),
        });
    }
    Ok(())
}

/// `x` in standard (row-major) layout, borrowed when it already is.
pub(crate) fn standard(x: ArrayView2<'_, f64>) -> CowArray<'_, f64, Ix2> {
    if x.is_standard_layout() {
        x.into()
    } else {
        x.as_standard_layout().into_owned().into()
    }
}

/// Euclidean norm of each row.
pub(crate) fn row_norms(x: ArrayView2<'_, f64>) -> Array1<f64> {
    x.map_axis(Axis(1), |r| r.dot(&r).sqrt())
}

/// Independent partial sums in [`dot`] and [`sq_euclid`]: enough for the compiler to keep several SIMD registers
/// of them, so that additions do not wait on each other (4 with AVX2, 8 with SSE2).
const LANES: usize = 16;

/// Σ f(aᵢ, bᵢ) over two equal-length slices, accumulated in [`LANES`] partial sums.
///
/// Our binaries target baseline x86-64 (SSE2: two `f64` per register); on a CPU with AVX2 the same loop runs
/// from a copy compiled for it (four per register). Both copies do the same operations in the same order, so
/// the result does not depend on the CPU.
fn lane_sum(a: &[f64], b: &[f64], f: impl Fn(f64, f64) -> f64) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the copy is compiled for AVX2, which the CPU was just found to support.
        return unsafe { lane_sum_avx2(a, b, f) };
    }
    lane_sum_portable(a, b, f)
}

/// [`lane_sum_portable`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn lane_sum_avx2(a: &[f64], b: &[f64], f: impl Fn(f64, f64) -> f64) -> f64 {
    lane_sum_portable(a, b, f)
}

/// The loop of [`lane_sum`], inlined into each of its compiled copies.
#[inline(always)]
fn lane_sum_portable(a: &[f64], b: &[f64], f: impl Fn(f64, f64) -> f64) -> f64 {
    let mut acc = [0.0; LANES];
    let (ac, bc) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f64 = ac.remainder().iter().zip(bc.remainder()).map(|(&x, &y)| f(x, y)).sum();
    for (x, y) in ac.zip(bc) {
        for l in 0..LANES {
            acc[l] += f(x[l], y[l]);
        }
    }
    acc.iter().sum::<f64>() + tail
}

/// a · b of two equal-length slices.
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    lane_sum(a, b, |x, y| x * y)
}

/// ‖a − b‖² of two equal-length slices.
pub(crate) fn sq_euclid(a: &[f64], b: &[f64]) -> f64 {
    lane_sum(a, b, |x, y| (x - y) * (x - y))
}

/// ‖a − b‖² of two rows: through [`sq_euclid`] when both are contiguous, element by element otherwise.
pub(crate) fn sq_euclid_rows(a: ArrayView1<'_, f64>, b: ArrayView1<'_, f64>) -> f64 {
    match (a.as_slice(), b.as_slice()) {
        (Some(a), Some(b)) => sq_euclid(a, b),
        _ => a.iter().zip(&b).map(|(&x, &y)| (x - y) * (x - y)).sum(),
    }
}

/// Index of the first all-zero row, if any.
pub(crate) fn first_zero_row(x: ArrayView2<'_, f64>) -> Option<usize> {
    x.outer_iter().position(|r| r.iter().all(|&v| v == 0.0))
}

/// Errors on the first all-zero row (cosine-based scores and metrics need a direction).
pub(crate) fn check_nonzero_rows(x: ArrayView2<'_, f64>, what: &'static str) -> Result<()> {
    match first_zero_row(x) {
        Some(row) => Err(Error::ZeroVector { what, row }),
        None => Ok(()),
    }
}

/// Rows of `x` divided by their Euclidean norms (callers have rejected zero rows).
pub(crate) fn unit_rows(x: ArrayView2<'_, f64>) -> Array2<f64> {
    let norms = row_norms(x);
    let mut out = x.to_owned();
    Zip::from(out.rows_mut()).and(&norms).for_each(|mut r, &n| r /= n);
    out
}

/// `a · b`, with the rows of `a` split over rayon tasks.
pub(crate) fn par_dot(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>) -> Array2<f64> {
    let mut out = Array2::zeros((a.nrows(), b.ncols()));
    out.axis_chunks_iter_mut(Axis(0), ROW_BLOCK)
        .into_par_iter()
        .zip(a.axis_chunks_iter(Axis(0), ROW_BLOCK))
        .for_each(|(mut o, a)| ndarray::linalg::general_mat_mul(1.0, &a, &b, 0.0, &mut o));
    out
}

/// `aᵀ · b` for tall `a`, `b` (`[n, p]`, `[n, q]` → `[p, q]`): one product per row block, in parallel, then
/// summed in block order, so the result is the same for any thread count (a rayon `reduce` would group the
/// blocks as the threads split them).
pub(crate) fn par_t_dot(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>) -> Array2<f64> {
    let (p, q) = (a.ncols(), b.ncols());
    let blocks: Vec<Array2<f64>> = (0..a.nrows().div_ceil(ROW_BLOCK))
        .into_par_iter()
        .map(|i| {
            let rows = s![i * ROW_BLOCK..((i + 1) * ROW_BLOCK).min(a.nrows()), ..];
            a.slice(rows).t().dot(&b.slice(rows))
        })
        .collect();
    blocks.into_iter().fold(Array2::zeros((p, q)), |sum, block| sum + block)
}

/// Lower Cholesky factor `L` of a symmetric matrix (`a = L Lᵀ`); `None` if `a` is not positive definite.
pub(crate) fn cholesky(a: ArrayView2<'_, f64>) -> Option<Array2<f64>> {
    let n = a.nrows();
    let mut l = Array2::<f64>::zeros((n, n));
    for j in 0..n {
        let row_j = l.slice(s![j, ..j]).to_owned();
        let d = a[[j, j]] - row_j.dot(&row_j);
        if d.is_nan() || d <= 0.0 {
            return None;
        }
        let djj = d.sqrt();
        l[[j, j]] = djj;
        for i in j + 1..n {
            let v = (a[[i, j]] - l.slice(s![i, ..j]).dot(&row_j)) / djj;
            l[[i, j]] = v;
        }
    }
    Some(l)
}

/// `(L⁻¹)ᵀ` of a lower-triangular `L` with a positive diagonal: an upper-triangular matrix `U` with
/// `(L Lᵀ)⁻¹ = U Uᵀ`, the "precision Cholesky factor" of scikit-learn's GaussianMixture.
pub(crate) fn inv_lower_t(l: ArrayView2<'_, f64>) -> Array2<f64> {
    let n = l.nrows();
    // Solve L X = I column by column (forward substitution); X = L⁻¹ is lower triangular.
    let mut x = Array2::<f64>::zeros((n, n));
    for c in 0..n {
        for i in c..n {
            let mut v = if i == c { 1.0 } else { 0.0 };
            for k in c..i {
                v -= l[[i, k]] * x[[k, c]];
            }
            x[[i, c]] = v / l[[i, i]];
        }
    }
    x.reversed_axes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// Criterion: the AVX2 copy of the lane sum gives bit-identical results to the portable one (lengths with
    /// and without a tail), and both agree with a plain sum to rounding.
    #[test]
    fn lane_sums_do_not_depend_on_the_cpu() {
        for len in [0, 3, 16, 37, 128, 1000] {
            let a: Vec<f64> = (0..len).map(|i| ((i * 7919) as f64 * 0.001).sin()).collect();
            let b: Vec<f64> = (0..len).map(|i| ((i * 104_729) as f64 * 0.001).cos()).collect();
            let portable = lane_sum_portable(&a, &b, |x, y| x * y);
            let plain: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!((portable - plain).abs() <= 1e-12 * len.max(1) as f64, "{len}");
            assert_eq!(dot(&a, &b).to_bits(), portable.to_bits(), "{len}");
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2 (checked on the line above).
                let avx2 = unsafe { lane_sum_avx2(&a, &b, |x, y| x * y) };
                assert_eq!(avx2.to_bits(), portable.to_bits(), "{len}");
            }
        }
    }

    #[test]
    fn cholesky_and_inverse_reconstruct() {
        let a = array![[4.0, 2.0, 0.4], [2.0, 5.0, 1.0], [0.4, 1.0, 3.0]];
        let l = cholesky(a.view()).unwrap();
        assert!((l.dot(&l.t()) - &a).iter().all(|v| v.abs() < 1e-12));
        let u = inv_lower_t(l.view());
        // U Uᵀ = A⁻¹  ⇔  A U Uᵀ = I
        let id = a.dot(&u).dot(&u.t());
        assert!((id - Array2::<f64>::eye(3)).iter().all(|v| v.abs() < 1e-12));
    }

    #[test]
    fn cholesky_rejects_indefinite() {
        assert!(cholesky(array![[1.0, 2.0], [2.0, 1.0]].view()).is_none());
    }

    #[test]
    fn par_products_match_dot() {
        let a = Array2::from_shape_fn((600, 7), |(i, j)| ((i * 7 + j) as f64).sin());
        let b = Array2::from_shape_fn((7, 3), |(i, j)| (i as f64) - (j as f64) * 0.5);
        assert!(
            (par_dot(a.view(), b.view()) - a.dot(&b))
                .iter()
                .all(|v| v.abs() < 1e-12)
        );
        let c = Array2::from_shape_fn((600, 3), |(i, j)| ((i + j) as f64).cos());
        assert!(
            (par_t_dot(a.view(), c.view()) - a.t().dot(&c))
                .iter()
                .all(|v| v.abs() < 1e-10)
        );
    }
}

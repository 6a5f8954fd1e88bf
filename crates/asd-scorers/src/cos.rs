//! COS: cosine to the class mean (seed 000 §2.4.1) and the cosine score shared with K-Means.

use ndarray::{Array1, Array2, ArrayView2, Axis, Zip};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::linalg::{check_matrix, check_nonzero_rows, check_test, row_norms, unit_rows};
use crate::{Error, Fit, Result, Score};

/// Smallest |cos| the cosine scores use, so an orthogonal embedding scores −ln 1e-12 ≈ 27.6 instead of +∞
/// (asdnet_specmfn.md §7.2 guard).
pub const COS_FLOOR: f64 = 1e-12;

/// COS scorer settings (it has none; the type exists for the params → fit → score flow).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CosParams {}

impl CosParams {
    /// The COS scorer.
    pub fn new() -> Self {
        Self {}
    }

    /// Nothing to check.
    pub fn check(&self) -> Result<()> {
        Ok(())
    }
}

/// Fitted COS scorer: the mean μ of the training embeddings; score(z) = −ln max(|cos(z, μ)|, 1e-12).
/// Serialised as `{"mean": [...]}`; deserialising refuses a non-finite or zero mean.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(into = "CosFile", try_from = "CosFile")]
pub struct Cos {
    mean: Array1<f64>,
}

/// A [`Cos`] as saved.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CosFile {
    mean: Array1<f64>,
}

impl From<Cos> for CosFile {
    fn from(cos: Cos) -> Self {
        Self { mean: cos.mean }
    }
}

impl TryFrom<CosFile> for Cos {
    type Error = Error;

    fn try_from(file: CosFile) -> Result<Self> {
        check_centres(file.mean.view().insert_axis(Axis(0)), "mean")?;
        Ok(Cos { mean: file.mean })
    }
}

/// Checks saved centres (a mean, K-Means centres) `[k, dim]`: at least one, finite, none the zero vector.
pub(crate) fn check_centres(centres: ArrayView2<'_, f64>, what: &'static str) -> Result<()> {
    check_matrix(centres, what)?;
    check_nonzero_rows(centres, what)
}

impl Cos {
    /// The class mean μ, `[dim]`.
    pub fn mean(&self) -> &Array1<f64> {
        &self.mean
    }
}

impl Fit for CosParams {
    type Fitted = Cos;

    /// Errors on an empty or non-finite `train`, or a mean that is the zero vector.
    fn fit(&self, train: ArrayView2<'_, f64>, _rng: &mut impl Rng) -> Result<Cos> {
        check_matrix(train, "train")?;
        let mean = train.mean_axis(Axis(0)).ok_or(Error::Empty {
            what: "train",
            rows: 0,
            cols: train.ncols(),
        })?;
        let as_row = mean.view().insert_axis(Axis(0));
        check_nonzero_rows(as_row, "train mean")?;
        Ok(Cos { mean })
    }

    fn min_rows(&self) -> (&'static str, usize) {
        ("rows", 1)
    }
}

impl Score for Cos {
    fn score(&self, test: ArrayView2<'_, f64>) -> Result<Array1<f64>> {
        neg_log_max_abs_cos(test, self.mean.view().insert_axis(Axis(0)))
    }
}

/// Per test row z: −ln max(max_j |cos(z, c_j)|, [`COS_FLOOR`]) over the rows c_j of `centres` (non-zero).
/// Errors on a test row of the wrong width, non-finite or all zero.
pub(crate) fn neg_log_max_abs_cos(test: ArrayView2<'_, f64>, centres: ArrayView2<'_, f64>) -> Result<Array1<f64>> {
    check_test(test, centres.ncols())?;
    check_nonzero_rows(test, "test")?;
    let cos: Array2<f64> = crate::linalg::par_dot(test, unit_rows(centres).t());
    let norms = row_norms(test);
    let mut out = Array1::zeros(test.nrows());
    Zip::from(&mut out)
        .and(cos.rows())
        .and(&norms)
        .par_for_each(|o, c, &n| {
            let best = c.iter().fold(0.0f64, |m, &v| m.max(v.abs())) / n;
            *o = -best.max(COS_FLOOR).ln();
        });
    Ok(out)
}

//! MSE: the mean square of each embedding row. For an autoencoder whose embedding is its reconstruction error
//! `x − x̂`, this is the mean squared reconstruction error: the DCASE autoencoder baseline's "MSE" score
//! (docs/dcase_ae.md §4; a clip's score is the mean over its vectors, which equals the mean over all its values).

use crate::Result;
use crate::linalg::check_matrix;
use ndarray::{Array1, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

/// MSE scorer settings: none. Nothing is fitted: a row's score depends on that row only.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MseParams {}

impl MseParams {
    /// Nothing to check.
    ///
    /// # Errors
    /// None.
    pub fn check(&self) -> Result<()> {
        Ok(())
    }

    /// `Σ_j z_j² / dim` of each row of `test` (`[n, dim]`), `[n]`.
    ///
    /// # Errors
    /// [`crate::Error::Empty`] / [`crate::Error::NonFinite`] for bad rows.
    pub fn score(&self, test: ArrayView2<'_, f64>) -> Result<Array1<f64>> {
        check_matrix(test, "test")?;
        let width = test.ncols() as f64;
        Ok(test.map_axis(Axis(1), |row| row.dot(&row) / width))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Criterion: hand-computed means of squares, (1, −2) → 2.5 and (0, 3) → 4.5; a NaN is refused.
    #[test]
    fn mean_squares_by_hand() {
        let s = MseParams::default()
            .score(ndarray::array![[1.0, -2.0], [0.0, 3.0]].view())
            .expect("finite");
        assert_eq!(s.to_vec(), [2.5, 4.5]);
        assert!(MseParams::default().score(ndarray::array![[f64::NAN]].view()).is_err());
    }
}

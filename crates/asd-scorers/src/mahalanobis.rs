//! The DCASE autoencoder baseline's "selective Mahalanobis" score (docs/dcase_ae.md §4): each embedding row is a
//! reconstruction error of `k` blocks of `block` values (the baseline: 5 frames of 128 Mel bands). Per domain, the
//! covariance of the training blocks is estimated as the baseline does, batch by batch; a row's score is
//! `d̄ᵀ Σ⁻¹ d̄` of the mean `d̄` of its blocks, and the smaller of the source-domain and target-domain scores counts.

use crate::linalg::{check_matrix, check_test, cholesky, inv_lower_t};
use crate::{Error, Result, Score};
use ndarray::{Array1, Array2, ArrayView2, Axis};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

/// Values per block: the 128 Mel bands of one frame (the baseline's `block_size = n_mels`).
pub const MAHALANOBIS_BLOCK: usize = 128;
/// Rows per batch of the covariance pass: the baseline's training batch size (baseline.yaml `batch_size: 256`).
pub const MAHALANOBIS_BATCH: usize = 256;

/// Settings of the selective Mahalanobis scorer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MahalanobisParams {
    /// Values per block; the embedding width must be a multiple of it.
    pub block: usize,
    /// Rows per batch of the covariance pass: in each batch, each domain's blocks are centred on that batch's mean
    /// block of the domain before their scatter is summed (the baseline's estimator over its loader's batches).
    pub batch: usize,
    /// Whether the rows are shuffled (with the group's generator) before they are cut into batches, as the
    /// baseline's shuffled loader does; `false` takes them in order.
    pub shuffle: bool,
}

impl Default for MahalanobisParams {
    fn default() -> Self {
        Self {
            block: MAHALANOBIS_BLOCK,
            batch: MAHALANOBIS_BATCH,
            shuffle: true,
        }
    }
}

impl MahalanobisParams {
    /// Checks that the block and the batch hold at least one value and one row.
    ///
    /// # Errors
    /// [`Error::Zero`] naming the setting.
    pub fn check(&self) -> Result<()> {
        for (param, value) in [("block", self.block), ("batch", self.batch)] {
            if value == 0 {
                return Err(Error::Zero { param });
            }
        }
        Ok(())
    }

    /// The fewest training rows a domain needs for a covariance.
    pub fn min_rows(&self) -> (&'static str, usize) {
        ("rows for a covariance", 2)
    }

    /// The two domains' block covariances of `rows` (`[n, k · block]`; `target[i]` the domain of row `i`) as the
    /// baseline estimates them: the rows, shuffled with `rng` when `shuffle`, are cut into batches of `batch`; in
    /// each batch each domain's blocks are centred on that batch's mean block of the domain and their scatter is
    /// added to the domain's sum; each sum is divided by the domain's rows − 1 (rows, not blocks: about `k` times a
    /// per-block covariance, as the baseline has it). `None` for a domain with fewer than two rows.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] without one flag per row; [`Error::BlockWidth`] for a width that is not a multiple
    /// of the block; [`Error::Empty`] / [`Error::NonFinite`] for bad rows.
    pub fn covariances(
        &self,
        rows: ArrayView2<'_, f64>,
        target: &[bool],
        rng: &mut impl rand::Rng,
    ) -> Result<[Option<Array2<f64>>; 2]> {
        self.check()?;
        check_matrix(rows, "train")?;
        let (n, width) = rows.dim();
        if target.len() != n {
            return Err(Error::LengthMismatch {
                what: "train_target",
                expected: n,
                found: target.len(),
            });
        }
        if width % self.block != 0 {
            return Err(Error::BlockWidth {
                width,
                block: self.block,
            });
        }
        let mut order: Vec<usize> = (0..n).collect();
        if self.shuffle {
            order.shuffle(rng);
        }
        let zeros = || Array2::<f64>::zeros((self.block, self.block));
        let mut sums = [zeros(), zeros()];
        let mut counts = [0usize; 2];
        for batch in order.chunks(self.batch) {
            for (domain, sum) in sums.iter_mut().enumerate() {
                let members: Vec<usize> = batch
                    .iter()
                    .copied()
                    .filter(|&r| usize::from(target[r]) == domain)
                    .collect();
                if members.is_empty() {
                    continue;
                }
                counts[domain] += members.len();
                let blocks = rows
                    .select(Axis(0), &members)
                    .into_shape_with_order((members.len() * width / self.block, self.block))
                    .map_err(|_| Error::BlockWidth {
                        width,
                        block: self.block,
                    })?;
                let mean = blocks.mean_axis(Axis(0)).unwrap_or_else(|| Array1::zeros(self.block));
                let centred = &blocks - &mean;
                *sum += &centred.t().dot(&centred);
            }
        }
        let [source, target] = sums;
        let divide = |sum: Array2<f64>, count: usize| (count >= 2).then(|| sum / (count - 1) as f64);
        Ok([divide(source, counts[0]), divide(target, counts[1])])
    }

    /// Fits one group: [`MahalanobisParams::covariances`], then each one's inverse (by Cholesky). A domain without
    /// a covariance takes the other's, as the baseline copies the source covariance when there are no target rows.
    ///
    /// # Errors
    /// As [`MahalanobisParams::covariances`]; [`Error::TooFewPoints`] when neither domain has two rows;
    /// [`Error::SingularCovariance`] for a covariance that is not positive definite (fewer independent blocks than
    /// values per block).
    pub fn fit(
        &self,
        rows: ArrayView2<'_, f64>,
        target: &[bool],
        rng: &mut impl rand::Rng,
    ) -> Result<SelectiveMahalanobis> {
        let [source, target_cov] = self.covariances(rows, target, rng)?;
        let model = |covariance: Array2<f64>| Mahalanobis::from_covariance(covariance.view(), rows.ncols());
        let (source, target) = match (source, target_cov) {
            (Some(s), Some(t)) => (model(s)?, model(t)?),
            (Some(only), None) | (None, Some(only)) => {
                let m = model(only)?;
                (m.clone(), m)
            }
            (None, None) => {
                return Err(Error::TooFewPoints {
                    param: "rows for a covariance",
                    needed: 2,
                    found: rows.nrows(),
                });
            }
        };
        Ok(SelectiveMahalanobis { source, target })
    }
}

/// A Mahalanobis distance of a row's mean block: `U` with `Σ⁻¹ = U Uᵀ`. A saved one is checked as it is read
/// (block and width consistent, `U` of `[block, block]` finite values).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(try_from = "SavedMahalanobis")]
pub struct Mahalanobis {
    block: usize,
    width: usize,
    precision_factor: Array2<f64>,
}

/// [`Mahalanobis`] as stored, before its checks.
#[derive(Deserialize)]
struct SavedMahalanobis {
    block: usize,
    width: usize,
    precision_factor: Array2<f64>,
}

impl TryFrom<SavedMahalanobis> for Mahalanobis {
    type Error = Error;

    fn try_from(saved: SavedMahalanobis) -> Result<Self> {
        let SavedMahalanobis {
            block,
            width,
            precision_factor,
        } = saved;
        if block == 0 || width == 0 || width % block != 0 {
            return Err(Error::BlockWidth { width, block });
        }
        if precision_factor.dim() != (block, block) {
            return Err(Error::SavedShape {
                what: "precision_factor",
                found: precision_factor.shape().to_vec(),
                expected: vec![block, block],
            });
        }
        check_matrix(precision_factor.view(), "precision_factor")?;
        Ok(Self {
            block,
            width,
            precision_factor,
        })
    }
}

impl Mahalanobis {
    /// The distance for rows of `width` values (a multiple of the covariance's size) from a block covariance
    /// `[block, block]`.
    ///
    /// # Errors
    /// [`Error::BlockWidth`] for a width that is not a multiple of the block; [`Error::SingularCovariance`] for a
    /// covariance that is not positive definite.
    pub fn from_covariance(covariance: ArrayView2<'_, f64>, width: usize) -> Result<Self> {
        let block = covariance.nrows();
        if block == 0 || width % block != 0 || covariance.ncols() != block {
            return Err(Error::BlockWidth { width, block });
        }
        let lower = cholesky(covariance).ok_or(Error::SingularCovariance)?;
        Ok(Self {
            block,
            width,
            precision_factor: inv_lower_t(lower.view()),
        })
    }

    /// The inverse covariance `Σ⁻¹` `[block, block]`.
    pub fn precision(&self) -> Array2<f64> {
        self.precision_factor.dot(&self.precision_factor.t())
    }
}

impl Score for Mahalanobis {
    /// `d̄ᵀ Σ⁻¹ d̄` of each row's mean block `d̄` (the baseline averages every entry of `D Σ⁻¹ Dᵀ` over a clip's
    /// blocks `D`, which is the same number).
    fn score(&self, test: ArrayView2<'_, f64>) -> Result<Array1<f64>> {
        check_test(test, self.width)?;
        let blocks = self.width / self.block;
        Ok(test
            .outer_iter()
            .map(|row| {
                let mean: Array1<f64> = (0..self.block)
                    .map(|m| (0..blocks).map(|k| row[k * self.block + m]).sum::<f64>() / blocks as f64)
                    .collect();
                let projected = self.precision_factor.t().dot(&mean);
                projected.dot(&projected)
            })
            .collect())
    }
}

/// The selective Mahalanobis scorer of one group: a source-domain and a target-domain model; a row's score is
/// the smaller of the two.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SelectiveMahalanobis {
    /// The source-domain model.
    pub source: Mahalanobis,
    /// The target-domain model.
    pub target: Mahalanobis,
}

impl Score for SelectiveMahalanobis {
    fn score(&self, test: ArrayView2<'_, f64>) -> Result<Array1<f64>> {
        let mut s = self.source.score(test)?;
        let t = self.target.score(test)?;
        ndarray::Zip::from(&mut s).and(&t).for_each(|s, &t| *s = s.min(t));
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group_rng;
    use ndarray::Array2;
    use rand::RngExt;

    /// Rows of 2 blocks of 2 values, seeded: enough blocks for a positive definite covariance.
    fn rows(n: usize, seed: u64) -> Array2<f64> {
        let mut rng = group_rng(seed, 0);
        Array2::from_shape_simple_fn((n, 4), || rng.random::<f64>() - 0.5)
    }

    /// A group without target rows scores with the source covariance for both domains (the baseline copies it);
    /// a width that is not a whole number of blocks and a single row are refused.
    #[test]
    fn one_domain_serves_both_and_bad_inputs_are_refused() {
        let params = MahalanobisParams {
            block: 2,
            batch: 8,
            shuffle: true,
        };
        let x = rows(20, 1);
        let model = params.fit(x.view(), &[false; 20], &mut group_rng(3, 0)).expect("fit");
        let test = rows(5, 2);
        let (both, source) = (
            model.score(test.view()).expect("score"),
            model.source.score(test.view()).expect("score"),
        );
        assert_eq!(both, source);
        assert!(both.iter().all(|s| s.is_finite() && *s >= 0.0));
        let odd = MahalanobisParams {
            block: 3,
            ..params.clone()
        };
        assert!(matches!(
            odd.fit(x.view(), &[false; 20], &mut group_rng(3, 0)),
            Err(Error::BlockWidth { .. })
        ));
        let one = params.fit(x.slice(ndarray::s![..1, ..]), &[false], &mut group_rng(3, 0));
        assert!(matches!(one, Err(Error::TooFewPoints { .. })), "{one:?}");
    }
}

#[cfg(test)]
mod saved_tests {
    use super::*;

    /// A damaged saved scorer (a block of 0, a factor of the wrong shape) is refused as it is read, never divided by.
    #[test]
    fn damaged_saved_models_are_refused() {
        let ok = serde_json::json!({"block": 2, "width": 4, "precision_factor": {"v": 1, "dim": [2, 2], "data": [1.0, 0.0, 0.0, 1.0]}});
        assert!(serde_json::from_value::<Mahalanobis>(ok).is_ok());
        let zero = serde_json::json!({"block": 0, "width": 4, "precision_factor": {"v": 1, "dim": [0, 0], "data": []}});
        assert!(serde_json::from_value::<Mahalanobis>(zero).is_err());
        let shape =
            serde_json::json!({"block": 2, "width": 4, "precision_factor": {"v": 1, "dim": [1, 1], "data": [1.0]}});
        assert!(serde_json::from_value::<Mahalanobis>(shape).is_err());
    }
}

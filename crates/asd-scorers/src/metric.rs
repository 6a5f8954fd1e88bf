//! Distances for LOF and KNN, defined as scikit-learn's neighbour search computes them (decisions §14).

use linfa_nn::distance::Distance;
use ndarray::{ArrayView, Dimension};
use serde::{Deserialize, Serialize};

/// A distance between two embeddings `a`, `b` of the same width.
///
/// The six metrics of seed 000 §4.2, with scikit-learn's `DistanceMetric` definitions (the ones
/// `NearestNeighbors` and `LocalOutlierFactor` use):
///
/// | metric | d(a, b) |
/// |---|---|
/// | `euclidean` | √Σ(a−b)² |
/// | `manhattan` | Σ\|a−b\| |
/// | `chebyshev` | max\|a−b\| |
/// | `cosine` | 1 − a·b / (‖a‖‖b‖); zero vectors are rejected by the scorers |
/// | `canberra` | Σ \|a−b\| / (\|a\|+\|b\|), a 0/0 term counts 0 |
/// | `braycurtis` | Σ\|a−b\| / (Σ\|a\| + Σ\|b\|), 0 when both are zero vectors |
///
/// Bray–Curtis is scikit-learn's neighbour-search form, not `scipy.spatial.distance.braycurtis`
/// (Σ\|a−b\| / Σ\|a+b\|); the two agree only for non-negative vectors (decisions §14).
///
/// `Metric` implements linfa-nn's [`Distance`], so it also works with linfa-nn's indices.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// √Σ(a−b)² (seed 000 §4.2's best LOF metric, the default).
    #[default]
    Euclidean,
    /// Σ|a−b|.
    Manhattan,
    /// max|a−b|.
    Chebyshev,
    /// 1 − cos(a, b).
    Cosine,
    /// Σ |a−b| / (|a|+|b|).
    Canberra,
    /// Σ|a−b| / (Σ|a| + Σ|b|) (scikit-learn's neighbour-search definition).
    BrayCurtis,
}

impl Metric {
    /// The distance between two equal-length slices.
    pub fn eval(self, a: &[f64], b: &[f64]) -> f64 {
        self.eval_iter(a.iter().copied().zip(b.iter().copied()))
    }

    fn eval_iter(self, pairs: impl Iterator<Item = (f64, f64)>) -> f64 {
        match self {
            Metric::Euclidean => pairs.map(|(x, y)| (x - y) * (x - y)).sum::<f64>().sqrt(),
            Metric::Manhattan => pairs.map(|(x, y)| (x - y).abs()).sum(),
            Metric::Chebyshev => pairs.map(|(x, y)| (x - y).abs()).fold(0.0, f64::max),
            Metric::Cosine => {
                let (dot, na, nb) = pairs.fold((0.0, 0.0, 0.0), |(d, a, b), (x, y)| (d + x * y, a + x * x, b + y * y));
                1.0 - dot / (na.sqrt() * nb.sqrt())
            }
            Metric::Canberra => pairs
                .map(|(x, y)| {
                    let den = x.abs() + y.abs();
                    if den > 0.0 { (x - y).abs() / den } else { 0.0 }
                })
                .sum(),
            Metric::BrayCurtis => {
                let (num, den) = pairs.fold((0.0, 0.0), |(n, d), (x, y)| (n + (x - y).abs(), d + x.abs() + y.abs()));
                if den > 0.0 { num / den } else { 0.0 }
            }
        }
    }
}

impl Distance<f64> for Metric {
    fn distance<D: Dimension>(&self, a: ArrayView<'_, f64, D>, b: ArrayView<'_, f64, D>) -> f64 {
        self.eval_iter(a.iter().copied().zip(b.iter().copied()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_on_a_small_pair() {
        let (a, b) = ([1.0, -2.0, 0.0], [2.0, 1.0, 0.0]);
        assert_eq!(Metric::Euclidean.eval(&a, &b), 10f64.sqrt());
        assert_eq!(Metric::Manhattan.eval(&a, &b), 4.0);
        assert_eq!(Metric::Chebyshev.eval(&a, &b), 3.0);
        assert!((Metric::Cosine.eval(&a, &b) - 1.0).abs() < 1e-15); // orthogonal
        assert!((Metric::Canberra.eval(&a, &b) - (1.0 / 3.0 + 1.0)).abs() < 1e-15);
        // scikit-learn's Bray–Curtis: 4 / (3 + 3); scipy's would be 4 / |3 + -1| = 2.
        assert!((Metric::BrayCurtis.eval(&a, &b) - 4.0 / 6.0).abs() < 1e-15);
        assert_eq!(Metric::BrayCurtis.eval(&[0.0; 2], &[0.0; 2]), 0.0);
    }

    #[test]
    fn serde_names() {
        let names: Vec<String> = [Metric::Euclidean, Metric::BrayCurtis, Metric::Chebyshev]
            .iter()
            .map(|m| toml::Value::try_from(m).unwrap().as_str().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["euclidean", "braycurtis", "chebyshev"]);
    }
}

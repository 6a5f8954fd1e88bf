//! Aggregations over groups: DCASE harmonic mean, arithmetic mean, minimum (mAUC), and precision / recall / F1
//! of binary decisions.

use crate::error::{Error, Result};

/// The clamp of the DCASE harmonic mean: f64 machine epsilon, Python `sys.float_info.epsilon`
/// (DCASE 2021–2025 evaluators and baseline call `scipy.stats.hmean(numpy.maximum(v, eps))`; §3.5).
pub const DCASE_EPS: f64 = f64::EPSILON;

/// DCASE harmonic mean: n / Σ 1/max(vᵢ, ε) with ε = [`DCASE_EPS`], so a zero drives the mean to about n·ε
/// instead of failing (`dcase_protocols.md` §3.5).
///
/// Errors: [`Error::Empty`] for no values.
pub fn hmean(values: &[f64]) -> Result<f64> {
    if values.is_empty() {
        return Err(Error::Empty("harmonic mean of no values"));
    }
    let mean_reciprocal = values.iter().map(|v| 1.0 / v.max(DCASE_EPS)).sum::<f64>() / values.len() as f64;
    Ok(1.0 / mean_reciprocal)
}

/// Arithmetic mean.
///
/// Errors: [`Error::Empty`] for no values.
pub fn amean(values: &[f64]) -> Result<f64> {
    if values.is_empty() {
        return Err(Error::Empty("mean of no values"));
    }
    Ok(values.iter().sum::<f64>() / values.len() as f64)
}

/// mAUC: the minimum over the groups (IDs / sections) of one machine type of their AUC (seed 002, seed 004 §3).
///
/// Errors: [`Error::Empty`] for no values.
pub fn mauc(aucs: &[f64]) -> Result<f64> {
    aucs.iter()
        .copied()
        .reduce(f64::min)
        .ok_or(Error::Empty("mAUC of no groups"))
}

/// Precision, recall and F1 of binary decisions (`dcase_protocols.md` §3.6, as the DCASE 2023 evaluator):
/// prec = tp / max(tp + fp, ε), rec = tp / max(tp + fn, ε), F1 = 2·prec·rec / max(prec + rec, ε).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Detection {
    /// Precision, in [0, 1].
    pub precision: f64,
    /// Recall, in [0, 1].
    pub recall: f64,
    /// F1 score, in [0, 1].
    pub f1: f64,
}

impl Detection {
    /// Scores `decisions` (`true` = called anomalous) against `labels` (`true` = anomalous).
    ///
    /// Errors: [`Error::LengthMismatch`].
    pub fn new(decisions: &[bool], labels: &[bool]) -> Result<Self> {
        if decisions.len() != labels.len() {
            return Err(Error::LengthMismatch {
                n_scores: decisions.len(),
                n_labels: labels.len(),
            });
        }
        let count = |d: bool, l: bool| {
            decisions
                .iter()
                .zip(labels)
                .filter(|&(&a, &b)| a == d && b == l)
                .count()
        };
        let (tp, fp, fn_) = (
            count(true, true) as f64,
            count(true, false) as f64,
            count(false, true) as f64,
        );
        let precision = tp / (tp + fp).max(DCASE_EPS);
        let recall = tp / (tp + fn_).max(DCASE_EPS);
        let f1 = 2.0 * precision * recall / (precision + recall).max(DCASE_EPS);
        Ok(Self { precision, recall, f1 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_inputs_are_errors() {
        assert!(matches!(hmean(&[]), Err(Error::Empty(_))));
        assert!(matches!(amean(&[]), Err(Error::Empty(_))));
        assert!(matches!(mauc(&[]), Err(Error::Empty(_))));
    }

    #[test]
    fn detection_counts() {
        // tp 2, fp 1, fn 1 → precision 2/3, recall 2/3, F1 2/3
        let d = Detection::new(&[true, true, true, false, false], &[true, true, false, true, false]).unwrap();
        assert!((d.precision - 2.0 / 3.0).abs() < 1e-15);
        assert!((d.recall - 2.0 / 3.0).abs() < 1e-15);
        assert!((d.f1 - 2.0 / 3.0).abs() < 1e-15);
        // nothing called anomalous: all zero, no division by zero
        let d = Detection::new(&[false, false], &[true, false]).unwrap();
        assert_eq!((d.precision, d.recall, d.f1), (0.0, 0.0, 0.0));
    }
}

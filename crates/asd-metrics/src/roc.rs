//! Binary ranking metrics of one set of scores: ROC curve, AUC, McClish pAUC, raw pAUC, strict AUC.
//!
//! Everything is derived from one sorted pass: the clips are sorted by score (descending) and every run of equal
//! scores (a *tie group*) becomes one step of the ROC curve, exactly as scikit-learn's `roc_curve` builds it.
//! AUCs are then exact rational counts; the partial area follows `roc_auc_score(max_fpr = p)` step by step.

use crate::error::{Error, Result};

/// The false-positive-rate limit of the DCASE pAUC: `max_fpr = 0.1` (DCASE 2020–2025 baselines and evaluators,
/// `baseline.yaml` `max_fpr: 0.1`; `dcase_protocols.md` §3.2).
pub const DEFAULT_MAX_FPR: f64 = 0.1;

/// One tie group: the clips sharing one score value.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Step {
    score: f64,
    n_normal: usize,
    n_anomaly: usize,
}

/// One point of a ROC curve.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct RocPoint {
    /// False-positive rate (fraction of normal clips scored at or above `threshold`), in [0, 1].
    pub fpr: f64,
    /// True-positive rate (fraction of anomalous clips scored at or above `threshold`), in [0, 1].
    pub tpr: f64,
    /// Score threshold (a clip is called anomalous when its score is ≥ it); `+∞` for the first point (0, 0).
    pub threshold: f64,
}

/// The ROC statistics of one scoring: counts of normal and anomalous clips per distinct score, in descending
/// score order. Build it once, then read any metric from it.
///
/// Larger score = more anomalous. Construction fails on a NaN score, on scores and labels of different length,
/// and when one class is absent ([`Error::SingleClass`]: the AUC is undefined, never 0.5).
#[derive(Clone, Debug, PartialEq)]
pub struct Roc {
    n_normal: usize,
    n_anomaly: usize,
    steps: Vec<Step>,
}

/// All scalar metrics of one scoring (`dcase_protocols.md` §3).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct BinaryMetrics {
    /// Number of normal clips (N⁻).
    pub n_normal: usize,
    /// Number of anomalous clips (N⁺).
    pub n_anomaly: usize,
    /// ROC-AUC with ties counted one half (scikit-learn `roc_auc_score`).
    pub auc: f64,
    /// McClish-standardised partial AUC up to `max_fpr` (scikit-learn `roc_auc_score(max_fpr=p)`), in
    /// [0.5·(1 − p/(2 − p)), 1]; 0.5 for random scores.
    pub pauc: f64,
    /// The partial area under the ROC curve up to `max_fpr` before standardisation, in [0, p].
    pub partial_area: f64,
    /// Seed 000's raw pAUC: fraction of (top-⌊p·N⁻⌋ normal, anomaly) pairs ranked strictly right; `None` when
    /// ⌊p·N⁻⌋ = 0.
    pub pauc_raw: Option<f64>,
    /// AUC with ties counted zero (the papers' formula with the strict step function).
    pub auc_strict: f64,
}

/// Checks that `max_fpr` lies in (0, 1].
pub(crate) fn check_max_fpr(max_fpr: f64) -> Result<()> {
    if max_fpr > 0.0 && max_fpr <= 1.0 {
        Ok(())
    } else {
        Err(Error::InvalidMaxFpr(max_fpr))
    }
}

/// Order-preserving map of a non-NaN `f64` to `u64` (−0.0 and +0.0 map to the same key).
fn order_key(score: f64) -> u64 {
    let bits = (score + 0.0).to_bits(); // `+ 0.0` turns −0.0 into +0.0
    if bits >> 63 == 1 { !bits } else { bits | (1 << 63) }
}

/// The score of an [`order_key`].
fn from_order_key(key: u64) -> f64 {
    f64::from_bits(if key >> 63 == 1 { key & !(1 << 63) } else { !key })
}

impl Roc {
    /// Sorts `scores` (larger = more anomalous) with their `labels` (`true` = anomalous) into tie groups.
    ///
    /// O(n log n). Errors: [`Error::LengthMismatch`], [`Error::NaNScore`], [`Error::SingleClass`].
    pub fn new(scores: &[f64], labels: &[bool]) -> Result<Self> {
        Self::from_sorted(&sort_descending(scores, labels)?)
    }

    /// Builds the tie groups from pairs already sorted by descending score (see [`sort_descending`]).
    pub(crate) fn from_sorted(sorted: &[(f64, bool)]) -> Result<Self> {
        Self::from_sorted_iter(sorted.iter().copied())
    }

    /// As [`Roc::from_sorted`], from any iterator of descending `(score, anomalous)` pairs.
    pub(crate) fn from_sorted_iter(sorted: impl Iterator<Item = (f64, bool)>) -> Result<Self> {
        let mut steps: Vec<Step> = Vec::new();
        for (score, anomalous) in sorted {
            let (n_normal, n_anomaly) = (usize::from(!anomalous), usize::from(anomalous));
            match steps.last_mut() {
                Some(last) if last.score == score => {
                    last.n_normal += n_normal;
                    last.n_anomaly += n_anomaly;
                }
                _ => steps.push(Step {
                    score,
                    n_normal,
                    n_anomaly,
                }),
            }
        }
        let n_normal = steps.iter().map(|s| s.n_normal).sum();
        let n_anomaly = steps.iter().map(|s| s.n_anomaly).sum();
        if n_normal == 0 || n_anomaly == 0 {
            return Err(Error::SingleClass { n_normal, n_anomaly });
        }
        Ok(Self {
            n_normal,
            n_anomaly,
            steps,
        })
    }

    /// Number of normal clips (N⁻).
    pub fn n_normal(&self) -> usize {
        self.n_normal
    }

    /// Number of anomalous clips (N⁺).
    pub fn n_anomaly(&self) -> usize {
        self.n_anomaly
    }

    /// Cumulative `(false positives, true positives)` after each tie group, in descending score order, with the
    /// score of the group.
    fn cumulative(&self) -> impl Iterator<Item = (usize, usize, f64)> + '_ {
        self.steps.iter().scan((0, 0), |(fp, tp), step| {
            *fp += step.n_normal;
            *tp += step.n_anomaly;
            Some((*fp, *tp, step.score))
        })
    }

    /// ROC-AUC, ties counted one half: (#{x⁺ > x⁻} + ½·#{x⁺ = x⁻}) / (N⁺N⁻), exact up to the final division
    /// (`dcase_protocols.md` §3.1; equal to scikit-learn's trapezoid over `roc_curve`).
    pub fn auc(&self) -> f64 {
        let (mut twice_pairs, mut above) = (0u128, 0u128);
        for step in &self.steps {
            twice_pairs += step.n_normal as u128 * (2 * above + step.n_anomaly as u128);
            above += step.n_anomaly as u128;
        }
        twice_pairs as f64 / (2.0 * self.n_normal as f64 * self.n_anomaly as f64)
    }

    /// AUC with the strict step function (ties count 0): #{x⁺ > x⁻} / (N⁺N⁻) (`dcase_protocols.md` §3.3).
    pub fn auc_strict(&self) -> f64 {
        let (mut pairs, mut above) = (0u128, 0u128);
        for step in &self.steps {
            pairs += step.n_normal as u128 * above;
            above += step.n_anomaly as u128;
        }
        pairs as f64 / (self.n_normal as f64 * self.n_anomaly as f64)
    }

    /// The ROC curve: (0, 0) and then one point per distinct score, descending (scikit-learn's `roc_curve`
    /// with `drop_intermediate=False`).
    pub fn points(&self) -> Vec<RocPoint> {
        let (n_neg, n_pos) = (self.n_normal as f64, self.n_anomaly as f64);
        std::iter::once(RocPoint {
            fpr: 0.0,
            tpr: 0.0,
            threshold: f64::INFINITY,
        })
        .chain(self.cumulative().map(|(fp, tp, score)| RocPoint {
            fpr: fp as f64 / n_neg,
            tpr: tp as f64 / n_pos,
            threshold: score,
        }))
        .collect()
    }

    /// The area under the ROC curve from FPR 0 to `max_fpr`, with the curve linearly interpolated at
    /// `max_fpr` (scikit-learn `_binary_roc_auc_score` before standardisation), in [0, `max_fpr`].
    ///
    /// Errors: [`Error::InvalidMaxFpr`] unless 0 < `max_fpr` ≤ 1.
    pub fn partial_area(&self, max_fpr: f64) -> Result<f64> {
        check_max_fpr(max_fpr)?;
        let (n_neg, n_pos) = (self.n_normal as f64, self.n_anomaly as f64);
        let (mut area, mut prev_fpr, mut prev_tpr) = (0.0, 0.0, 0.0);
        for (fp, tp, _) in self.cumulative() {
            let (fpr, tpr) = (fp as f64 / n_neg, tp as f64 / n_pos);
            if fpr <= max_fpr {
                area += (fpr - prev_fpr) * (tpr + prev_tpr) / 2.0;
                (prev_fpr, prev_tpr) = (fpr, tpr);
            } else {
                // numpy.interp between the last point inside and the first point outside
                let slope = (tpr - prev_tpr) / (fpr - prev_fpr);
                let tpr_at = slope * (max_fpr - prev_fpr) + prev_tpr;
                area += (max_fpr - prev_fpr) * (tpr_at + prev_tpr) / 2.0;
                break;
            }
        }
        Ok(area)
    }

    /// McClish-standardised partial AUC, exactly scikit-learn's `roc_auc_score(max_fpr = p)`:
    /// 0.5·(1 + (A − p²/2)/(p − p²/2)) with A = [`Roc::partial_area`]; the plain AUC when p = 1
    /// (`dcase_protocols.md` §3.2).
    ///
    /// Errors: [`Error::InvalidMaxFpr`] unless 0 < `max_fpr` ≤ 1.
    pub fn pauc(&self, max_fpr: f64) -> Result<f64> {
        if max_fpr == 1.0 {
            return Ok(self.auc());
        }
        let area = self.partial_area(max_fpr)?;
        Ok(mcclish(area, max_fpr))
    }

    /// Seed 000's raw partial AUC: 1/(k·N⁺)·Σ_{i ≤ k} Σ_j H(x⁺_j − x⁻_(i)) over the k = ⌊p·N⁻⌋ highest-scoring
    /// normals, H strict (ties count 0); `None` when k = 0 (`dcase_protocols.md` §3.3).
    ///
    /// Errors: [`Error::InvalidMaxFpr`] unless 0 < `max_fpr` ≤ 1.
    pub fn pauc_raw(&self, max_fpr: f64) -> Result<Option<f64>> {
        check_max_fpr(max_fpr)?;
        let k = (max_fpr * self.n_normal as f64).floor() as usize;
        if k == 0 {
            return Ok(None);
        }
        let (mut remaining, mut pairs, mut above) = (k, 0u128, 0u128);
        for step in &self.steps {
            let take = step.n_normal.min(remaining);
            pairs += take as u128 * above;
            remaining -= take;
            if remaining == 0 {
                break;
            }
            above += step.n_anomaly as u128;
        }
        Ok(Some(pairs as f64 / (k as f64 * self.n_anomaly as f64)))
    }

    /// Every scalar metric at once.
    ///
    /// Errors: [`Error::InvalidMaxFpr`] unless 0 < `max_fpr` ≤ 1.
    pub fn metrics(&self, max_fpr: f64) -> Result<BinaryMetrics> {
        let partial_area = self.partial_area(max_fpr)?;
        Ok(BinaryMetrics {
            n_normal: self.n_normal,
            n_anomaly: self.n_anomaly,
            auc: self.auc(),
            pauc: if max_fpr == 1.0 {
                self.auc()
            } else {
                mcclish(partial_area, max_fpr)
            },
            partial_area,
            pauc_raw: self.pauc_raw(max_fpr)?,
            auc_strict: self.auc_strict(),
        })
    }
}

/// McClish (1989) standardisation of a partial area `area` up to `max_fpr`: maps the diagonal's area p²/2 to
/// 0.5 and the perfect area p to 1.
fn mcclish(area: f64, max_fpr: f64) -> f64 {
    let min_area = 0.5 * max_fpr * max_fpr;
    0.5 * (1.0 + (area - min_area) / (max_fpr - min_area))
}

/// Pairs each score with its label and sorts by descending score (ties in any order).
///
/// Errors: [`Error::LengthMismatch`], [`Error::NaNScore`].
pub(crate) fn sort_descending(scores: &[f64], labels: &[bool]) -> Result<Vec<(f64, bool)>> {
    if scores.len() != labels.len() {
        return Err(Error::LengthMismatch {
            n_scores: scores.len(),
            n_labels: labels.len(),
        });
    }
    if let Some(index) = scores.iter().position(|s| s.is_nan()) {
        return Err(Error::NaNScore { index });
    }
    // Sort the two classes separately as plain integer keys (descending score = ascending `!key`), then merge:
    // much faster than sorting (score, label) pairs.
    let sorted_keys = |anomalous: bool| {
        let mut keys: Vec<u64> = scores
            .iter()
            .zip(labels)
            .filter(|&(_, &l)| l == anomalous)
            .map(|(&s, _)| !order_key(s))
            .collect();
        keys.sort_unstable();
        keys
    };
    let (normal, anomaly) = (sorted_keys(false), sorted_keys(true));
    let mut merged = Vec::with_capacity(scores.len());
    let (mut i, mut j) = (0, 0);
    while i < normal.len() || j < anomaly.len() {
        let take_normal = j == anomaly.len() || (i < normal.len() && normal[i] <= anomaly[j]);
        if take_normal {
            merged.push((from_order_key(!normal[i]), false));
            i += 1;
        } else {
            merged.push((from_order_key(!anomaly[j]), true));
            j += 1;
        }
    }
    Ok(merged)
}

/// ROC-AUC of `scores` (larger = more anomalous) against `labels` (`true` = anomalous), ties counted one half
/// (scikit-learn `roc_auc_score`). See [`Roc::auc`].
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Result<f64> {
    Ok(Roc::new(scores, labels)?.auc())
}

/// McClish-standardised partial AUC up to `max_fpr` (scikit-learn `roc_auc_score(max_fpr = max_fpr)`).
/// See [`Roc::pauc`].
pub fn pauc(scores: &[f64], labels: &[bool], max_fpr: f64) -> Result<f64> {
    Roc::new(scores, labels)?.pauc(max_fpr)
}

/// Every scalar metric of one scoring. See [`BinaryMetrics`].
pub fn binary_metrics(scores: &[f64], labels: &[bool], max_fpr: f64) -> Result<BinaryMetrics> {
    Roc::new(scores, labels)?.metrics(max_fpr)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute-force pair counting, the definition of §3.1 / §3.3 written out (an independent check).
    fn pairs(scores: &[f64], labels: &[bool]) -> (f64, f64) {
        let (mut half, mut strict, mut n) = (0.0, 0.0, 0.0);
        for (sp, _) in scores.iter().zip(labels).filter(|(_, l)| **l) {
            for (sn, _) in scores.iter().zip(labels).filter(|(_, l)| !**l) {
                n += 1.0;
                if sp > sn {
                    half += 1.0;
                    strict += 1.0;
                } else if sp == sn {
                    half += 0.5;
                }
            }
        }
        (half / n, strict / n)
    }

    #[test]
    fn auc_equals_pair_counting_with_ties_and_signed_zero() {
        let scores = [0.0, -0.0, 1.0, 1.0, 2.0, -1.0, 0.5, 1.0, 0.0];
        let labels = [true, false, false, true, true, false, false, true, false];
        let roc = Roc::new(&scores, &labels).unwrap();
        let (half, strict) = pairs(&scores, &labels);
        assert!((roc.auc() - half).abs() < 1e-15, "{} vs {half}", roc.auc());
        assert!((roc.auc_strict() - strict).abs() < 1e-15);
    }

    #[test]
    fn order_keys_sort_like_floats_and_invert() {
        let values = [
            f64::NEG_INFINITY,
            -1e300,
            -1.5,
            -5e-324,
            -0.0,
            0.0,
            5e-324,
            1.5,
            1e300,
            f64::INFINITY,
        ];
        for pair in values.windows(2) {
            assert!(order_key(pair[0]) <= order_key(pair[1]), "{pair:?}");
        }
        for x in values {
            assert_eq!(from_order_key(order_key(x)), x + 0.0);
        }
        assert_eq!(order_key(-0.0), order_key(0.0));
    }

    #[test]
    fn single_class_is_an_error_not_one_half() {
        assert!(matches!(
            roc_auc(&[0.1, 0.2], &[false, false]),
            Err(Error::SingleClass {
                n_normal: 2,
                n_anomaly: 0
            })
        ));
        assert!(matches!(roc_auc(&[], &[]), Err(Error::SingleClass { .. })));
    }

    #[test]
    fn bad_inputs_are_typed_errors() {
        assert!(matches!(
            roc_auc(&[0.1], &[true, false]),
            Err(Error::LengthMismatch { .. })
        ));
        assert!(matches!(
            roc_auc(&[0.1, f64::NAN], &[true, false]),
            Err(Error::NaNScore { index: 1 })
        ));
        let roc = Roc::new(&[0.1, 0.2], &[true, false]).unwrap();
        for p in [0.0, -0.1, 1.5, f64::NAN] {
            assert!(matches!(roc.pauc(p), Err(Error::InvalidMaxFpr(_))), "{p}");
        }
    }

    #[test]
    fn points_start_at_origin_and_end_at_one() {
        let roc = Roc::new(&[3.0, 2.0, 2.0, 1.0], &[true, false, true, false]).unwrap();
        let fpr_tpr: Vec<(f64, f64)> = roc.points().iter().map(|p| (p.fpr, p.tpr)).collect();
        assert_eq!(fpr_tpr, vec![(0.0, 0.0), (0.0, 0.5), (0.5, 1.0), (1.0, 1.0)]);
        // p = 1 gives the plain AUC
        assert_eq!(roc.pauc(1.0).unwrap(), roc.auc());
    }
}

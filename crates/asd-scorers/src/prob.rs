//! PROB: the negative log softmax probability of the clip's own class (seed 000 §2.4, STgram-MFN, OS-SCL).

use ndarray::{Array1, ArrayView1, ArrayView2, Zip};
use serde::{Deserialize, Serialize};

use crate::linalg::check_matrix;
use crate::{Error, Result};

/// ArcFace scale s of OS-SCL and STgram-MFN (os_scl.md §6; stgram_mfn.md §5.1).
pub const ARCFACE_SCALE: f64 = 30.0;
/// ArcFace margin m of STgram-MFN and the OS-SCL log-Mel variant (stgram_mfn.md §5.1; os_scl.md §9 row 14).
pub const ARCFACE_MARGIN: f64 = 0.7;

/// What the PROB scorer receives per clip.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ProbInput {
    /// Final class logits, margin already applied by the model head: score = logsumexp(ℓ) − ℓ_c. (A struct
    /// variant without fields, so that serde refuses unknown keys beside `type = "logits"`, which it does not
    /// check for a unit variant of a tagged enum.)
    Logits {},
    /// ArcFace cosines `cos(z, W_j)` of a head without margin: the scorer applies the additive angular
    /// margin at the clip's class and the scale, then takes the cross-entropy (OS-SCL's test score).
    ArcFaceCosine {
        /// Scale s.
        scale: f64,
        /// Additive angular margin m (radians).
        margin: f64,
    },
}

impl Default for ProbInput {
    /// Final logits.
    fn default() -> Self {
        ProbInput::Logits {}
    }
}

/// PROB scorer settings. Nothing is fitted: the score of a clip depends only on its own logits and class.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProbParams {
    /// What the input columns are.
    pub input: ProbInput,
}

impl ProbParams {
    /// PROB on final logits.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the input kind.
    pub fn with_input(mut self, input: ProbInput) -> Self {
        self.input = input;
        self
    }

    /// Checks the parameters: scale > 0 and 0 ≤ margin < π for the ArcFace input.
    pub fn check(&self) -> Result<()> {
        if let ProbInput::ArcFaceCosine { scale, margin } = self.input {
            if !(scale > 0.0 && scale.is_finite()) {
                return Err(Error::OutOfRange {
                    param: "scale",
                    value: scale,
                    expected: "finite and > 0",
                });
            }
            if !((0.0..std::f64::consts::PI).contains(&margin)) {
                return Err(Error::OutOfRange {
                    param: "margin",
                    value: margin,
                    expected: "in [0, π)",
                });
            }
        }
        Ok(())
    }

    /// Scores `values` (`[n_clips, n_classes]` logits or cosines) against each clip's class
    /// (`classes`, one per row, `0..n_classes`). Returns `[n_clips]`, higher = more anomalous.
    pub fn score(&self, values: ArrayView2<'_, f64>, classes: &[i64]) -> Result<Array1<f64>> {
        self.check()?;
        check_matrix(values, "logits")?;
        if classes.len() != values.nrows() {
            return Err(Error::LengthMismatch {
                what: "classes",
                expected: values.nrows(),
                found: classes.len(),
            });
        }
        let n_classes = values.ncols();
        let cls: Vec<usize> = classes
            .iter()
            .enumerate()
            .map(|(row, &class)| {
                usize::try_from(class)
                    .ok()
                    .filter(|&c| c < n_classes)
                    .ok_or(Error::ClassOutOfRange { row, class, n_classes })
            })
            .collect::<Result<_>>()?;
        let mut out = Array1::zeros(values.nrows());
        Zip::from(&mut out)
            .and(values.rows())
            .and(&cls)
            .par_for_each(|o, row, &c| {
                *o = match self.input {
                    ProbInput::Logits {} => cross_entropy(row, c, row[c]),
                    ProbInput::ArcFaceCosine { scale, margin } => {
                        let logits = row.mapv(|v| scale * v);
                        cross_entropy(logits.view(), c, scale * arc_margin(row[c], margin))
                    }
                };
            });
        Ok(out)
    }
}

/// −log softmax at class `c` of `logits` whose entry `c` is replaced by `target`:
/// logsumexp − target, with the maximum subtracted first.
fn cross_entropy(logits: ArrayView1<'_, f64>, c: usize, target: f64) -> f64 {
    let max = logits
        .iter()
        .enumerate()
        .fold(target, |m, (j, &v)| if j == c { m } else { m.max(v) });
    let sum: f64 = logits
        .iter()
        .enumerate()
        .map(|(j, &v)| ((if j == c { target } else { v }) - max).exp())
        .sum();
    max + sum.ln() - target
}

/// ArcFace's margin at the target class: cos(θ + m) where cos θ > cos(π − m), otherwise cos θ − m·sin m
/// (the non-easy-margin fallback; os_scl.md §3, stgram_mfn.md §5.1). 1 − cos² is clamped at 0.
fn arc_margin(cos: f64, margin: f64) -> f64 {
    if cos > (std::f64::consts::PI - margin).cos() {
        cos * margin.cos() - (1.0 - cos * cos).max(0.0).sqrt() * margin.sin()
    } else {
        cos - margin * margin.sin()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn logits_score_is_negative_log_softmax() {
        let s = ProbParams::new().score(array![[1.0, 2.0, 3.0]].view(), &[2]).unwrap();
        let p = 3f64.exp() / (1f64.exp() + 2f64.exp() + 3f64.exp());
        assert!((s[0] + p.ln()).abs() < 1e-14);
    }

    #[test]
    fn arcface_input_applies_margin_at_the_class_only() {
        let (s, m) = (ARCFACE_SCALE, ARCFACE_MARGIN);
        let params = ProbParams::new().with_input(ProbInput::ArcFaceCosine { scale: s, margin: m });
        let cos = array![[0.8, 0.1], [-0.9, 0.2]];
        let got = params.score(cos.view(), &[0, 0]).unwrap();
        // Row 0: cos θ = 0.8 > cos(π − m) → cos(θ + m); row 1: −0.9 ≤ cos(π − 0.7) = −0.765 → fallback.
        let phi0 = (0.8f64.acos() + m).cos();
        let phi1 = -0.9 - m * m.sin();
        let ce = |phi: f64, other: f64| -((s * phi).exp() / ((s * phi).exp() + (s * other).exp())).ln();
        assert!((got[0] - ce(phi0, 0.1)).abs() < 1e-12);
        assert!((got[1] - ce(phi1, 0.2)).abs() < 1e-12);
    }

    #[test]
    fn rejects_bad_classes_and_params() {
        let l = array![[0.0, 1.0]];
        assert!(matches!(
            ProbParams::new().score(l.view(), &[2]),
            Err(Error::ClassOutOfRange { class: 2, .. })
        ));
        assert!(matches!(
            ProbParams::new().score(l.view(), &[-1]),
            Err(Error::ClassOutOfRange { .. })
        ));
        assert!(matches!(
            ProbParams::new().score(l.view(), &[0, 1]),
            Err(Error::LengthMismatch { .. })
        ));
        let bad = ProbParams::new().with_input(ProbInput::ArcFaceCosine {
            scale: 0.0,
            margin: 0.5,
        });
        assert!(matches!(bad.check(), Err(Error::OutOfRange { param: "scale", .. })));
        let bad = ProbParams::new().with_input(ProbInput::ArcFaceCosine {
            scale: 30.0,
            margin: 4.0,
        });
        assert!(matches!(bad.check(), Err(Error::OutOfRange { param: "margin", .. })));
        let nan = array![[0.0, f64::NAN]];
        assert!(matches!(
            ProbParams::new().score(nan.view(), &[0]),
            Err(Error::NonFinite { col: 1, .. })
        ));
    }
}

//! Binary metrics and the DCASE harmonic mean against `shared/golden/metrics/` (scikit-learn 1.9.1 and an
//! independent numpy re-implementation; README there).
//!
//! Criteria (README "Tolerances"): AUC, strict AUC, raw pAUC, McClish pAUC and the partial area abs ≤ 1e-12;
//! harmonic means relative ≤ 1e-12.

use asd_metrics::{Roc, binary_metrics, hmean, roc_auc};
use asd_testkit::{golden, json};
use serde_json::Value;

const ABS_TOL: f64 = 1e-12;
const REL_TOL: f64 = 1e-12;

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

#[test]
fn binary_sets_match_sklearn() {
    let fixture = json(golden("metrics/binary_sets.json"));
    let max_fpr = fixture["max_fpr"].as_f64().unwrap();
    let sets = fixture["sets"].as_array().unwrap();
    assert_eq!(sets.len(), 7);
    for set in sets {
        let name = set["name"].as_str().unwrap();
        let scores = floats(&set["scores"]);
        let labels: Vec<bool> = floats(&set["labels"]).iter().map(|&l| l == 1.0).collect();
        let m = binary_metrics(&scores, &labels, max_fpr).unwrap();
        let e = &set["expected"];
        assert_eq!(m.n_normal as u64, set["n_normal"].as_u64().unwrap(), "{name}");
        assert_eq!(m.n_anomaly as u64, set["n_anomaly"].as_u64().unwrap(), "{name}");
        for (what, got, key) in [
            ("AUC", m.auc, "roc_auc"),
            ("McClish pAUC", m.pauc, "roc_auc_max_fpr_0.1"),
            ("partial area", m.partial_area, "partial_area_0.1_unstandardized"),
            ("strict AUC", m.auc_strict, "auc_raw_strict"),
        ] {
            let want = e[key].as_f64().unwrap();
            assert!((got - want).abs() <= ABS_TOL, "{name} {what}: {got} vs {want}");
        }
        match (m.pauc_raw, e["pauc_raw_0.1"].as_f64()) {
            (None, None) => {}
            (Some(got), Some(want)) => assert!((got - want).abs() <= ABS_TOL, "{name} raw pAUC: {got} vs {want}"),
            (got, want) => panic!("{name} raw pAUC: {got:?} vs {want:?}"),
        }
        // the convenience function and the ROC type agree with the table
        assert_eq!(roc_auc(&scores, &labels).unwrap(), m.auc);
        let roc = Roc::new(&scores, &labels).unwrap();
        let points = roc.points();
        assert_eq!((points[0].fpr, points[0].tpr), (0.0, 0.0), "{name}");
        let last = points.last().unwrap();
        assert_eq!((last.fpr, last.tpr), (1.0, 1.0), "{name}");
    }
}

#[test]
fn hmean_cases_match_scipy_with_eps_clamp() {
    let fixture = json(golden("metrics/hmean_cases.json"));
    assert_eq!(fixture["eps"].as_f64().unwrap(), asd_metrics::DCASE_EPS);
    for case in fixture["cases"].as_array().unwrap() {
        let values = floats(&case["values"]);
        let want = case["hmean_eps_clamped"].as_f64().unwrap();
        let got = hmean(&values).unwrap();
        assert!(
            (got - want).abs() <= REL_TOL * want.abs(),
            "{values:?}: {got} vs {want}"
        );
    }
}

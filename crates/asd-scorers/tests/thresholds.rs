//! Thresholds against scipy / numpy: `tests/fixtures/thresholds/thresholds.json`, written by `make_fixtures.py`
//! beside it (scipy 1.17.1, numpy 2.4.6): `scipy.stats.gamma.fit`, `gamma.ppf`, `special.gammainc` and
//! `numpy.percentile` on nine samples.

use asd_scorers::{GammaFit, Threshold};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct Case {
    name: String,
    data: Vec<f64>,
    gamma_fit: [f64; 3],
    gamma_ppf: BTreeMap<String, f64>,
    percentile_90: f64,
    gammainc: Vec<[f64; 3]>,
    diagnostics: Diagnostics,
}

#[derive(Deserialize)]
struct Diagnostics {
    /// How far the ppf moves when scipy's start moves by one ulp: large for the fits without a finite optimum.
    ppf_rel_spread_x0_1ulp: f64,
}

#[derive(Deserialize)]
struct Fixture {
    cases: Vec<Case>,
}

fn cases() -> Vec<Case> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/thresholds/thresholds.json");
    let fixture: Fixture = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    fixture.cases
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

/// Criterion: the gamma rule's threshold equals scipy's `gamma.ppf(q, *gamma.fit(x))` within 1e-9 (relative) on
/// the well-posed fits, and within 100 × the fixture's own one-ulp sensitivity (at least 1e-9, at most 5e-2) on
/// the fits where scipy stops at its evaluation limit or at the support's edge (README of the fixture).
#[test]
fn gamma_thresholds_match_scipy() {
    for case in cases() {
        let fit = GammaFit::fit(&case.data).unwrap();
        let tolerance = (100.0 * case.diagnostics.ppf_rel_spread_x0_1ulp).clamp(1e-9, 5e-2);
        for (q, &expected) in &case.gamma_ppf {
            let q: f64 = q.parse().unwrap();
            let got = Threshold::Gamma { quantile: q }.fit(&case.data).unwrap();
            assert!(
                rel(got, expected) <= tolerance,
                "{} q {q}: {got} vs scipy {expected} (fit {fit:?} vs {:?})",
                case.name,
                case.gamma_fit
            );
        }
        if tolerance == 1e-9 {
            for (got, expected) in [fit.shape, fit.loc, fit.scale].into_iter().zip(case.gamma_fit) {
                assert!(
                    rel(got, expected) <= 1e-9,
                    "{}: {fit:?} vs {:?}",
                    case.name,
                    case.gamma_fit
                );
            }
        }
    }
}

/// Criterion: the regularised incomplete gamma equals `scipy.special.gammainc` within 1e-12, and the percentile
/// rule equals `numpy.percentile(x, 90)` within 1e-14 (relative).
#[test]
fn incomplete_gamma_and_percentiles_match_scipy_and_numpy() {
    for case in cases() {
        for [a, x, p] in &case.gammainc {
            let fit = GammaFit {
                shape: *a,
                loc: 0.0,
                scale: 1.0,
            };
            assert!(
                (fit.cdf(*x) - p).abs() <= 1e-12,
                "{}: P({a}, {x}) = {} vs {p}",
                case.name,
                fit.cdf(*x)
            );
        }
        let got = Threshold::Percentile { percentile: 90.0 }.fit(&case.data).unwrap();
        assert!(
            rel(got, case.percentile_90) <= 1e-14,
            "{}: {got} vs {}",
            case.name,
            case.percentile_90
        );
    }
}

/// Criterion: the false-alarm rule keeps its promise on normal data it has not seen: over 200 draws of 99
/// calibration and 1000 fresh scores from one distribution, the mean rate of fresh scores above the threshold lies
/// in [rate − 1/(n + 1), rate] up to the sampling error of 200 × 1000 draws (±0.005 is over 4 standard errors).
#[test]
fn the_false_alarm_rule_keeps_its_rate_on_fresh_scores() {
    use rand::{RngExt, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let rate = 0.1;
    let mut above = 0usize;
    let trials = 200;
    for _ in 0..trials {
        let calibration: Vec<f64> = (0..99).map(|_| rng.random::<f64>().powi(3)).collect();
        let t = Threshold::FalseAlarm { rate }.fit(&calibration).unwrap();
        above += (0..1000).filter(|_| rng.random::<f64>().powi(3) > t).count();
    }
    let measured = above as f64 / (trials * 1000) as f64;
    assert!(
        measured <= rate + 0.005 && measured >= rate - 0.01 - 0.005,
        "{measured}"
    );
}

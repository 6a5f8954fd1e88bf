//! Each DCASE generation's official figure on toy submissions laid out exactly as that year's official evaluator
//! reads them (`tests/fixtures/official_years/`, made by its `make_fixtures.py`; the official evaluators of 2020,
//! 2021, 2022 and 2024 were run on them and their result CSVs agree with `expected.json`): the 2020 ground-truth
//! list and its per-ID files, 2021's per-domain files, 2022's section files, 2024's revealed and baseline-named
//! submissions, and the reconstructed 2026 layout.

use asd_metrics::{EvalOptions, Report, Truth, evaluate_dir};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Tolerance of exact formulas (fixtures' README).
const TOL: f64 = 1e-12;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/official_years")
}

fn expected() -> Value {
    let text = std::fs::read_to_string(fixtures().join("expected.json")).expect("expected.json");
    serde_json::from_str(&text).expect("json")
}

fn evaluate(year: &str, system: &str) -> Report {
    let root = fixtures().join(year);
    let options = EvalOptions::default().with_jackknife(false);
    evaluate_dir(&root.join(system), &Truth::Evaluator(root.clone()), &options)
        .unwrap_or_else(|e| panic!("{year} {system}: {e}"))
}

fn close(actual: f64, expected: &Value, what: &str) {
    let expected = expected
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: no number in expected.json"));
    assert!(
        (actual - expected).abs() <= TOL * expected.abs().max(1.0),
        "{what}: {actual} vs {expected}"
    );
}

#[test]
fn dcase2020_per_type_means_and_the_mean_over_types() {
    let expected = &expected()["years"]["dcase2020"];
    let report = evaluate("dcase2020", "teams/teamX");
    for t in expected["per_type"].as_array().expect("types") {
        let name = t["machine_type"].as_str().expect("name");
        let ty = &report.types[name];
        close(ty.auc, &t["mean_auc"], &format!("{name} mean AUC"));
        close(ty.pauc, &t["mean_pauc"], &format!("{name} mean pAUC"));
        close(ty.mauc, &t["mauc_min_over_ids"], &format!("{name} mAUC"));
        for id in t["per_id"].as_array().expect("ids") {
            let group = &ty.groups[&format!("id_{}", id["id"].as_str().expect("id"))];
            close(group.auc, &id["auc"], &format!("{name} {} AUC", id["id"]));
            close(group.pauc, &id["pauc"], &format!("{name} {} pAUC", id["id"]));
        }
    }
    let overall = &expected["overall"];
    close(report.average.auc, &overall["mean_auc_over_types"], "mean AUC");
    close(report.average.pauc, &overall["mean_pauc_over_types"], "mean pAUC");
    close(
        report.official_by_year["dcase2020"],
        &overall["asdkit_official20_mean_over_types"],
        "dcase2020",
    );
}

#[test]
fn dcase2021_hmean_of_the_domain_only_values() {
    let expected = &expected()["years"]["dcase2021"];
    let report = evaluate("dcase2021", "teams/teamX");
    close(
        report.official_by_year["dcase2021"],
        &expected["official_score"],
        "dcase2021",
    );
    for g in expected["groups"].as_array().expect("groups") {
        let name = g["machine_type"].as_str().expect("type");
        let group = &report.types[name].groups[&format!("section_{}", g["section"].as_str().expect("section"))];
        let domain = match g["domain"].as_str() {
            Some("source") => group.source,
            _ => group.target,
        };
        let only = domain.and_then(|d| d.only).expect("both classes in the domain");
        close(
            only.auc,
            &g["auc"],
            &format!("{name} {} {} AUC", g["section"], g["domain"]),
        );
        close(
            only.pauc,
            &g["pauc"],
            &format!("{name} {} {} pAUC", g["section"], g["domain"]),
        );
        let detection = domain.and_then(|d| d.detection).expect("decisions");
        close(
            detection.f1,
            &g["f1"],
            &format!("{name} {} {} F1", g["section"], g["domain"]),
        );
    }
}

/// 2022, 2024 (evaluation names, revealed names, the baseline's file names) and 2026: the hmean over AUC_source,
/// AUC_target and pAUC per section, and every section's values.
#[test]
fn dcase2022_to_2026_hmean_of_source_target_and_mixed_pauc() {
    let all = expected();
    for (year, systems) in [
        ("dcase2022", vec!["teams/teamX/sysA"]),
        (
            "dcase2024",
            vec!["teams/teamX/sysA", "teams/teamX/sysB", "teams/teamX/sysC"],
        ),
        ("dcase2026", vec!["teams/teamX/sysA", "teams/teamX/sysB"]),
    ] {
        let expected = &all["years"][year];
        for system in systems {
            let report = evaluate(year, system);
            let what = |s: &str| format!("{year} {system} {s}");
            close(
                report.official_by_year["dcase2022-2026"],
                &expected["official_score"],
                &what("official"),
            );
            for g in expected["groups"].as_array().expect("groups") {
                let name = g["machine_type"].as_str().expect("type");
                let key = format!("section_{}", g["section"].as_str().expect("section"));
                let group = &report.types[name].groups[&key];
                let at = |s: &str| what(&format!("{name} {key} {s}"));
                close(group.auc, &g["auc_all"], &at("AUC (all)"));
                close(group.pauc, &g["pauc"], &at("pAUC"));
                close(group.auc_source.expect("source"), &g["auc_source"], &at("AUC source"));
                close(group.auc_target.expect("target"), &g["auc_target"], &at("AUC target"));
                let source = group.source.and_then(|d| d.detection).expect("decisions");
                close(source.f1, &g["f1_source"], &at("F1 source"));
            }
        }
    }
}

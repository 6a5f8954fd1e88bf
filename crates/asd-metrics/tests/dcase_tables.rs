//! DCASE tables against `shared/golden/metrics/` (scikit-learn 1.9.1, numpy, and the official DCASE 2023
//! evaluator's own result file; README there).
//!
//! Criteria (README "Tolerances"): AUC / pAUC / raw pAUC / per-domain values / precision, recall, F1 abs ≤ 1e-12;
//! harmonic means and the official score relative ≤ 1e-12; the jackknife ci95 relative ≤ 1e-6.

use asd_metrics::{
    ClipTruth, Domain, Error, EvalOptions, GroupScores, Pool, Report, ScoredClip, Truth, Year, evaluate, evaluate_dir,
    read_scores_dir, score_file_name, write_scores,
};
use asd_testkit::{golden, json};
use serde_json::Value;
use std::path::{Path, PathBuf};

const ABS_TOL: f64 = 1e-12;
const REL_TOL: f64 = 1e-12;
const JACKKNIFE_REL_TOL: f64 = 1e-6;

fn close_abs(got: f64, want: f64, what: &str) {
    assert!((got - want).abs() <= ABS_TOL, "{what}: {got} vs {want}");
}

fn close_rel(got: f64, want: f64, tol: f64, what: &str) {
    assert!((got - want).abs() <= tol * want.abs(), "{what}: {got} vs {want}");
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// A test labeller of DCASE 2020 development names (`normal_id_00_00000000.wav`) and 2021+ names
/// (`section_00_source_test_anomaly_0000_attr_A.wav`); the real grammar lives in the data crate.
fn labeller(name: &str) -> Option<ClipTruth> {
    let tokens: Vec<&str> = name.trim_end_matches(".wav").split('_').collect();
    match tokens.as_slice() {
        [cond, "id", _, _] => Some(ClipTruth {
            anomaly: *cond == "anomaly",
            domain: None,
        }),
        ["section", _, domain, "test", cond, ..] => Some(ClipTruth {
            anomaly: *cond == "anomaly",
            domain: Some(if *domain == "target" {
                Domain::Target
            } else {
                Domain::Source
            }),
        }),
        _ => None,
    }
}

fn toy2020() -> (Value, Vec<GroupScores>) {
    let fixture = json(golden("metrics/dcase2020_toy.json"));
    let mut groups: Vec<GroupScores> = Vec::new();
    for machine in fixture["machines"].as_array().unwrap() {
        let machine_type = machine["machine_type"].as_str().unwrap();
        for clip in machine["clips"].as_array().unwrap() {
            let group = format!("id_{}", clip["id"].as_str().unwrap());
            if !groups
                .iter()
                .any(|g| g.machine_type == machine_type && g.group == group)
            {
                groups.push(GroupScores {
                    machine_type: machine_type.into(),
                    group: group.clone(),
                    clips: vec![],
                });
            }
            let g = groups
                .iter_mut()
                .find(|g| g.machine_type == machine_type && g.group == group)
                .unwrap();
            g.clips.push(ScoredClip {
                file: clip["file"].as_str().unwrap().into(),
                score: num(&clip["score"]),
                truth: ClipTruth {
                    anomaly: num(&clip["label"]) == 1.0,
                    domain: None,
                },
                decision: None,
            });
        }
    }
    (fixture, groups)
}

fn check_2020(report: &Report, fixture: &Value) {
    assert_eq!(report.year, Year::Dcase2020);
    for machine in fixture["machines"].as_array().unwrap() {
        let name = machine["machine_type"].as_str().unwrap();
        let ty = &report.types[name];
        let e = &machine["expected"];
        for per_id in e["per_id"].as_array().unwrap() {
            let key = format!("id_{}", per_id["id"].as_str().unwrap());
            let g = &ty.groups[&key];
            close_abs(g.auc, num(&per_id["auc"]), &format!("{name} {key} AUC"));
            close_abs(g.pauc, num(&per_id["pauc"]), &format!("{name} {key} pAUC"));
            close_abs(
                g.pauc_raw.unwrap(),
                num(&per_id["pauc_raw_0.1"]),
                &format!("{name} {key} raw pAUC"),
            );
        }
        assert_eq!(ty.groups.len(), e["per_id"].as_array().unwrap().len());
        close_abs(ty.auc, num(&e["mean_auc"]), &format!("{name} mean AUC"));
        close_abs(ty.pauc, num(&e["mean_pauc"]), &format!("{name} mean pAUC"));
        close_abs(ty.mauc, num(&e["mauc_min_over_ids"]), &format!("{name} mAUC"));
    }
    let o = &fixture["expected_overall"];
    close_abs(
        report.average.auc,
        num(&o["mean_over_types_of_mean_auc"]),
        "average AUC",
    );
    close_abs(
        report.average.pauc,
        num(&o["mean_over_types_of_mean_pauc"]),
        "average pAUC",
    );
    close_abs(report.average.mauc, num(&o["mean_over_types_of_mauc"]), "average mAUC");
    assert!(report.official.is_none() && report.hmean.is_none());
}

#[test]
fn dcase2020_toy_tables() {
    let (fixture, groups) = toy2020();
    let report = evaluate(&groups, &EvalOptions::default()).unwrap();
    check_2020(&report, &fixture);
}

/// The same toy through score CSVs and a file-name labeller (development-set ground truth).
#[test]
fn dcase2020_toy_through_score_files_and_labeller() {
    let (fixture, groups) = toy2020();
    let dir = tempfile::tempdir().unwrap();
    for g in &groups {
        let rows: Vec<(&str, f64)> = g.clips.iter().map(|c| (c.file.as_str(), c.score)).collect();
        write_scores(&dir.path().join(score_file_name(&g.machine_type, &g.group)), &rows).unwrap();
    }
    let report = evaluate_dir(dir.path(), &Truth::Labeller(&labeller), &EvalOptions::default()).unwrap();
    check_2020(&report, &fixture);

    // JSON keys of spec/cli.md
    let value = serde_json::to_value(&report).unwrap();
    assert_eq!(value["year"], "dcase2020");
    let fan = &value["types"]["fan"];
    for key in ["auc", "pauc", "pauc_raw"] {
        assert!(fan["groups"]["id_00"][key].is_number(), "{key}");
    }
    for key in ["auc", "pauc", "mauc"] {
        assert!(fan[key].is_number(), "{key}");
    }
    assert!(value["average"]["auc"].is_number() && value["average"]["pauc"].is_number());
    assert!(value.get("hmean").is_none());
    let path = dir.path().join("report.json");
    report.write_json(&path).unwrap();
    let back: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_json_close(&back, &value, "report.json");

    // result.csv layout of the 2020 baseline
    let csv = report.to_evaluator_csv().unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[1], "id,AUC,pAUC");
    assert_eq!(lines[0], "ToyConveyor"); // types in byte order, as the evaluators sort them
    assert!(lines[2].starts_with("01,"));
    assert!(csv.contains("Average,"));
    assert!(report.to_table().contains("| fan | id_00 |"));
}

/// Structural equality of two JSON values, numbers within 1e-15 relative (serde_json's default float parser
/// may be one ulp off the written shortest form).
fn assert_json_close(got: &Value, want: &Value, at: &str) {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            assert_eq!(g.keys().collect::<Vec<_>>(), w.keys().collect::<Vec<_>>(), "{at}");
            for (key, wv) in w {
                assert_json_close(&g[key], wv, &format!("{at}.{key}"));
            }
        }
        (Value::Number(g), Value::Number(w)) => {
            let (g, w) = (g.as_f64().unwrap(), w.as_f64().unwrap());
            assert!((g - w).abs() <= 1e-15 * w.abs(), "{at}: {g} vs {w}");
        }
        _ => assert_eq!(got, want, "{at}"),
    }
}

/// `pool = "type"`: one AUC over all clips of a type, checked against brute-force pair counting.
#[test]
fn pooled_over_ids_matches_pair_counting() {
    let (_, groups) = toy2020();
    let report = evaluate(&groups, &EvalOptions::default().with_pool(Pool::Type)).unwrap();
    assert_eq!(serde_json::to_value(&report).unwrap()["pool"], "type");
    for (name, ty) in &report.types {
        let clips: Vec<&ScoredClip> = groups
            .iter()
            .filter(|g| &g.machine_type == name)
            .flat_map(|g| &g.clips)
            .collect();
        let (mut credit, mut pairs) = (0.0, 0.0);
        for a in clips.iter().filter(|c| c.truth.anomaly) {
            for n in clips.iter().filter(|c| !c.truth.anomaly) {
                pairs += 1.0;
                credit += if a.score > n.score {
                    1.0
                } else if a.score == n.score {
                    0.5
                } else {
                    0.0
                };
            }
        }
        close_abs(ty.pooled.unwrap().auc, credit / pairs, &format!("{name} pooled AUC"));
    }
    assert!(report.average.pooled_auc.is_some());
}

fn toy2023_groups(fixture: &Value) -> Vec<GroupScores> {
    fixture["machines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| GroupScores {
            machine_type: m["machine_type"].as_str().unwrap().into(),
            group: format!("section_{}", m["section"].as_str().unwrap()),
            clips: m["clips"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| ScoredClip {
                    file: c["eval_file"].as_str().unwrap().into(),
                    score: num(&c["score"]),
                    truth: ClipTruth {
                        anomaly: num(&c["label"]) == 1.0,
                        domain: Some(if num(&c["domain_id"]) == 1.0 {
                            Domain::Target
                        } else {
                            Domain::Source
                        }),
                    },
                    decision: Some(num(&c["decision"]) == 1.0),
                })
                .collect(),
        })
        .collect()
}

fn check_2023(report: &Report, fixture: &Value) {
    assert_eq!(report.year, Year::Dcase2021Plus);
    for e in fixture["expected_per_type"].as_array().unwrap() {
        let name = e["machine_type"].as_str().unwrap();
        let ty = &report.types[name];
        let g = &ty.groups[&format!("section_{}", e["section"].as_str().unwrap())];
        let (s, t) = (g.source.unwrap(), g.target.unwrap());
        let (sd, td) = (s.detection.unwrap(), t.detection.unwrap());
        for (what, got, key) in [
            ("AUC (all)", g.auc, "AUC (all)"),
            ("pAUC", g.pauc, "pAUC"),
            ("AUC (source)", g.auc_source.unwrap(), "AUC (source)"),
            ("AUC (target)", g.auc_target.unwrap(), "AUC (target)"),
            ("pAUC (source)", s.only.unwrap().pauc, "pAUC (source) [baseline extra]"),
            ("pAUC (target)", t.only.unwrap().pauc, "pAUC (target) [baseline extra]"),
            ("precision (source)", sd.precision, "precision (source)"),
            ("recall (source)", sd.recall, "recall (source)"),
            ("F1 (source)", sd.f1, "F1 score (source)"),
            ("precision (target)", td.precision, "precision (target)"),
            ("recall (target)", td.recall, "recall (target)"),
            ("F1 (target)", td.f1, "F1 score (target)"),
            ("type arithmetic mean AUC", ty.auc, "type_row_arithmetic_mean_AUC"),
        ] {
            close_abs(got, num(&e[key]), &format!("{name} {what}"));
        }
        close_rel(
            ty.hmean.unwrap(),
            num(&e["type_hmean_of_auc_s_auc_t_pauc"]),
            REL_TOL,
            &format!("{name} hmean"),
        );
    }
    let o = &fixture["expected_overall"];
    let off = report.official.unwrap();
    for (what, got, key) in [
        ("official score", off.score, "official_score"),
        ("hmean AUC source", off.hmean_auc_source, "hmean_AUC_source_over_types"),
        ("hmean AUC target", off.hmean_auc_target, "hmean_AUC_target_over_types"),
        ("hmean pAUC", off.hmean_pauc, "hmean_pAUC_over_types"),
        ("hmean AUC", off.hmean_auc, "hmean_AUC_source_and_target"),
        ("amean AUC", report.average.auc, "amean_AUC_source_and_target"),
        ("amean official", off.score_amean, "official_score_amean_variant"),
        (
            "2021 score",
            off.dcase2021_score.unwrap(),
            "dcase2021_style_official_domain_separated",
        ),
    ] {
        close_rel(got, num(&o[key]), REL_TOL, what);
    }
    assert_eq!(report.hmean, Some(off.score));
    let components: Vec<f64> = report
        .types
        .values()
        .flat_map(|t| t.groups.values())
        .flat_map(|g| [g.source.unwrap().only.unwrap(), g.target.unwrap().only.unwrap()])
        .flat_map(|s| [s.auc, s.pauc])
        .collect();
    let want = o["dcase2021_style_values_in_order_[type][src_auc,src_pauc,tgt_auc,tgt_pauc]"]
        .as_array()
        .unwrap();
    assert_eq!(components.len(), want.len());
    for (i, (got, want)) in components.iter().zip(want).enumerate() {
        close_abs(*got, num(want), &format!("2021-style component {i}"));
    }
    let jack = &o["jackknife_detail"];
    let (ja, jp) = (off.jackknife_auc.unwrap(), off.jackknife_pauc.unwrap());
    close_rel(
        off.ci95.unwrap(),
        num(&o["official_score_ci95_jackknife"]),
        JACKKNIFE_REL_TOL,
        "ci95",
    );
    close_rel(ja.ci95, num(&jack["auc_ci95"]), JACKKNIFE_REL_TOL, "AUC ci95");
    close_rel(jp.ci95, num(&jack["pauc_ci95"]), JACKKNIFE_REL_TOL, "pAUC ci95");
    close_rel(
        ja.estimate,
        num(&jack["auc_jack"]),
        JACKKNIFE_REL_TOL,
        "AUC jackknife estimate",
    );
    close_rel(
        jp.estimate,
        num(&jack["pauc_jack"]),
        JACKKNIFE_REL_TOL,
        "pAUC jackknife estimate",
    );
}

#[test]
fn dcase2023_toy_tables_and_official_score() {
    let fixture = json(golden("metrics/dcase2023_toy.json"));
    let report = evaluate(&toy2023_groups(&fixture), &EvalOptions::default()).unwrap();
    check_2023(&report, &fixture);
    let value = serde_json::to_value(&report).unwrap();
    assert_eq!(value["year"], "dcase2021+");
    assert!(value["hmean"].is_number());
    let section = &value["types"]["ToyAlpha"]["groups"]["section_00"];
    assert!(section["auc_source"].is_number() && section["auc_target"].is_number());
}

fn evaluator_root() -> PathBuf {
    golden("metrics/dcase2023_toy_evaluator_format")
}

fn system(name: &str) -> PathBuf {
    evaluator_root().join("teams/teamX").join(name)
}

/// Parses CSV text into rows of cells (the files hold no quoted commas except in the overall labels).
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

#[test]
fn evaluator_folder_sys_a_and_sys_b_match_the_official_result_file() {
    let truth = Truth::Evaluator(evaluator_root());
    let options = EvalOptions::default();
    let a = evaluate_dir(&system("sysA"), &truth, &options).unwrap();
    let b = evaluate_dir(&system("sysB"), &truth, &options).unwrap();
    check_2023(&a, &json(golden("metrics/dcase2023_toy.json")));
    assert_eq!(a, b, "sysB (revealed names) must give the same numbers as sysA");

    let expected = std::fs::read_to_string(evaluator_root().join("expected_result_sysA.csv")).unwrap();
    let (got, want) = (csv_rows(&a.to_evaluator_csv().unwrap()), csv_rows(&expected));
    assert_eq!(got.len(), want.len(), "row count");
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g.len(), w.len(), "row {i}: {g:?} vs {w:?}");
        let tol = if w[0] == "official score ci95" {
            JACKKNIFE_REL_TOL
        } else {
            REL_TOL
        };
        for (gc, wc) in g.iter().zip(w) {
            match (gc.parse::<f64>(), wc.parse::<f64>()) {
                (Ok(gv), Ok(wv)) if !wc.is_empty() => {
                    assert!((gv - wv).abs() <= tol * wv.abs().max(1.0), "row {i}: {gc} vs {wc}")
                }
                _ => assert_eq!(gc, wc, "row {i}"),
            }
        }
    }
}

/// Copies a system folder into a temporary one for corruption tests.
fn copy_system(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(system(name)).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    dir
}

fn edit(path: &Path, f: impl Fn(String) -> String) {
    std::fs::write(path, f(std::fs::read_to_string(path).unwrap())).unwrap();
}

#[test]
fn join_errors_name_the_clip_and_the_csv() {
    let truth = Truth::Evaluator(evaluator_root());
    let read = |dir: &Path| read_scores_dir(dir, &truth);
    let scores = "anomaly_score_fanBeta_section_00_test.csv";

    let dir = copy_system("sysA");
    edit(&dir.path().join(scores), |t| {
        t.lines().skip(1).map(|l| format!("{l}\n")).collect()
    });
    match read(dir.path()) {
        Err(e @ Error::MissingClip { .. }) => assert!(e.to_string().contains(scores), "{e}"),
        other => panic!("{other:?}"),
    }

    let dir = copy_system("sysA");
    edit(&dir.path().join(scores), |t| t + "section_00_9999.wav,0.5\n");
    match read(dir.path()) {
        Err(e @ Error::UnknownClip { .. }) => {
            assert!(
                e.to_string().contains(scores) && e.to_string().contains("section_00_9999.wav"),
                "{e}"
            )
        }
        other => panic!("{other:?}"),
    }

    let dir = copy_system("sysA");
    let decisions = "decision_result_ToyAlpha_section_00_test.csv";
    edit(&dir.path().join(decisions), |t| {
        t.lines().skip(1).map(|l| format!("{l}\n")).collect()
    });
    match read(dir.path()) {
        Err(e @ Error::MissingClip { .. }) => assert!(e.to_string().contains(decisions), "{e}"),
        other => panic!("{other:?}"),
    }

    let dir = copy_system("sysA");
    edit(&dir.path().join(scores), |t| t.replacen(",", ",x", 1));
    assert!(matches!(read(dir.path()), Err(Error::Csv { line: 1, .. })));

    let dir = copy_system("sysA");
    std::fs::remove_file(dir.path().join("anomaly_score_valveGamma_section_00_test.csv")).unwrap();
    assert!(matches!(read(dir.path()), Err(Error::MissingScoreFile { .. })));

    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(read(empty.path()), Err(Error::NoScoreFiles(_))));

    // a labeller that cannot label the evaluation names
    let err = read_scores_dir(&system("sysA"), &Truth::Labeller(&labeller)).unwrap_err();
    assert!(matches!(err, Error::Unlabelled { .. }), "{err}");
}

#[test]
fn sys_b_with_the_labeller_gives_the_same_scores() {
    // sysB names reveal label and domain, so the development-set path (labeller) evaluates it too
    let options = EvalOptions::default().with_jackknife(false);
    let by_labeller = evaluate_dir(&system("sysB"), &Truth::Labeller(&labeller), &options).unwrap();
    let by_truth = evaluate_dir(&system("sysA"), &Truth::Evaluator(evaluator_root()), &options).unwrap();
    assert_eq!(by_labeller.official.unwrap().score, by_truth.official.unwrap().score);
}

#[test]
fn single_class_group_is_an_error() {
    let (_, mut groups) = toy2020();
    groups[0].clips.retain(|c| !c.truth.anomaly);
    assert!(matches!(
        evaluate(&groups, &EvalOptions::default()),
        Err(Error::GroupSingleClass {
            subset: "AUC (all)",
            n_anomaly: 0,
            ..
        })
    ));
    let fixture = json(golden("metrics/dcase2023_toy.json"));
    let mut groups = toy2023_groups(&fixture);
    groups[0].clips[0].truth.domain = None;
    assert!(matches!(
        evaluate(&groups, &EvalOptions::default()),
        Err(Error::NoDomain { .. })
    ));
    let mut mixed = toy2023_groups(&fixture);
    mixed[0].group = "id_00".into();
    assert!(matches!(
        evaluate(&mixed, &EvalOptions::default()),
        Err(Error::MixedYears(_))
    ));
}

#[cfg(feature = "plot")]
#[test]
fn roc_pngs_are_valid_png_files() {
    let fixture = json(golden("metrics/dcase2023_toy.json"));
    let report = evaluate(&toy2023_groups(&fixture), &EvalOptions::default().with_jackknife(false)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let paths = asd_metrics::write_roc_pngs(&report, &dir.path().join("roc")).unwrap();
    assert_eq!(paths.len(), 3);
    for path in paths {
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{}", path.display());
        assert_eq!(&bytes[12..16], b"IHDR");
        let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
        let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
        assert_eq!((width, height), asd_metrics::plot::ROC_PNG_SIZE);
        assert!(bytes.len() > 2_000, "{} is only {} bytes", path.display(), bytes.len());
    }
}

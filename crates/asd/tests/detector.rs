//! Run folders are complete detectors: a copy of a run's detector files alone scores new clips as the run did, and
//! calibrated thresholds hold their false-alarm rate on normal clips they have not seen.

use asd::audio::synth::{SynthConfig, SynthLayout, generate};
use asd::data::{Condition, Dataset, Selection, Split};
use asd::detector::{Detector, Query, Target};
use asd::scorers::Threshold;
use asd::{RunConfig, RunOptions, System, run};
use std::collections::HashMap;
use std::path::Path;

fn synth(dir: &Path, types: usize, ids: usize, train: usize, test: usize, seconds: f32) {
    let config = SynthConfig {
        layout: SynthLayout::Dcase2020,
        types,
        ids,
        train,
        test,
        seconds,
        seed: 5,
        supplemental: None,
        severity: None,
    };
    generate(&config, dir, &mut |_, _| {}).expect("synthetic data");
}

/// Reads a DCASE `file,value` CSV into a map.
fn read_csv(path: &Path) -> HashMap<String, f64> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| {
            let (file, value) = l.split_once(',').expect("file,value");
            (file.to_string(), value.parse().expect("a number"))
        })
        .collect()
}

/// Copies the files a detector needs, and nothing else, into `to`.
fn copy_detector(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.join("scorers")).unwrap();
    for f in ["config.toml", "classes.json", "model.bpk", "detector.json"] {
        std::fs::copy(from.join(f), to.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    }
    for entry in std::fs::read_dir(from.join("scorers")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join("scorers").join(entry.file_name())).unwrap();
    }
}

/// Criterion: after `asd::run` of ASDNet, a folder holding only the run's config, weights, class map and detector
/// files, with the dataset gone, scores every test clip exactly as the original folder does, within 1e-5 of the
/// score CSVs the run wrote (features and embeddings are computed in other batches), with the same decisions
/// as the decision CSVs wherever the score is not within that distance of its threshold; every scorer has a
/// threshold in every group, and each decision is `score > threshold`.
#[test]
fn a_copied_run_folder_scores_new_clips_as_the_run_did() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    synth(&data, 2, 2, 8, 6, 2.0);
    let mut config = RunConfig::preset(System::ASDNET).with_epochs(1);
    config.clip_seconds = 2.0;
    let out = tmp.path().join("run");
    let result = run(&config, &data, &out, &RunOptions::default(), &()).expect("run");
    let names: Vec<String> = result.scores.reports.iter().map(|r| r.name.clone()).collect();

    let test = Dataset::open(&data)
        .unwrap()
        .select(&Selection::new().with_split(Split::Test));
    let waves: Vec<_> = test.iter().map(|c| asd::audio::load_16k(&c.path).unwrap()).collect();
    let copy = tmp.path().join("elsewhere/detector");
    copy_detector(&out, &copy);
    let original = Detector::load(&out).expect("the run folder is a detector");
    let copied = Detector::load(&copy).expect("the copy is a detector");
    std::fs::remove_dir_all(&data).unwrap();
    assert_eq!(copied.scorer_names(), names);
    assert_eq!(copied.groups().len(), 4);

    let score = |detector: &Detector| {
        let targets: Vec<Target> = test
            .iter()
            .map(|c| detector.target_of(&c.path, None).unwrap())
            .collect();
        let queries: Vec<Query<'_>> = test
            .iter()
            .zip(&waves)
            .zip(&targets)
            .map(|((c, wave), target)| Query {
                wave,
                source: &c.path,
                target,
            })
            .collect();
        detector.score_many(&queries).unwrap()
    };
    let (a, b) = (score(&original), score(&copied));
    for (va, vb) in a.iter().zip(&b) {
        assert_eq!(va.scores, vb.scores);
        assert_eq!(va.embedding, vb.embedding);
    }
    for (clip, verdict) in test.iter().zip(&b) {
        assert_eq!(
            verdict.scores.len(),
            names.len(),
            "every scorer (PROB too) scores {}",
            clip.file_name
        );
        for s in &verdict.scores {
            let dir = out.join("scores").join(&s.name);
            let csv_score =
                read_csv(&dir.join(format!("anomaly_score_{}_{}.csv", clip.machine_type, clip.group)))[&clip.file_name];
            let csv_decision = read_csv(&dir.join(format!("decision_result_{}_{}.csv", clip.machine_type, clip.group)))
                [&clip.file_name];
            let tolerance = 1e-5 * csv_score.abs().max(1.0);
            assert!(
                (s.score - csv_score).abs() <= tolerance,
                "{} {}: {} vs {csv_score}",
                clip.file_name,
                s.name,
                s.score
            );
            assert_eq!(s.anomalous, s.score > s.threshold);
            if (s.score - s.threshold).abs() > tolerance {
                assert_eq!(
                    f64::from(u8::from(s.anomalous)),
                    csv_decision,
                    "{} {}",
                    clip.file_name,
                    s.name
                );
            }
        }
    }
}

/// Criterion: with the conformal false-alarm rule at 20 %, the share of normal test clips called anomalous on a
/// synthetic set (normal test clips drawn like the training clips) lies in the rule's band [0.2 − 1/(n + 1), 0.2]
/// for n = 40 calibration clips per group, widened by three binomial standard errors of the normal test clips
/// (160 of them: ±0.095; measured 0.181). Thresholds calibrated on the KNN's own training scores (distance 0 to themselves) would flag nearly
/// every clip; the manifest says they are out-of-fold.
#[test]
fn false_alarm_thresholds_hold_their_rate_on_normal_test_clips() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    synth(&data, 2, 1, 40, 80, 2.0);
    let mut config = RunConfig::preset(System::RAW_LOGMEL);
    config.clip_seconds = 2.0;
    config.scoring.threshold = Threshold::FalseAlarm { rate: 0.2 };
    let out = tmp.path().join("run");
    run(&config, &data, &out, &RunOptions::default(), &()).expect("run");
    let detector = Detector::load(&out).unwrap();
    let manifest = std::fs::read_to_string(out.join("detector.json")).unwrap();
    assert!(
        manifest.contains("\"out-of-fold\"") && !manifest.contains("in-sample"),
        "{manifest}"
    );

    let normal = Dataset::open(&data).unwrap().select(
        &Selection::new()
            .with_split(Split::Test)
            .with_condition(Condition::Normal),
    );
    let mut flagged = 0;
    for clip in &normal {
        let wave = asd::audio::load_16k(&clip.path).unwrap();
        let verdict = detector
            .score_in(&wave, &detector.target_of(&clip.path, None).unwrap())
            .unwrap();
        flagged += usize::from(verdict.scores[0].anomalous);
    }
    let n = normal.len() as f64;
    let rate = flagged as f64 / n;
    let se = (0.2f64 * 0.8 / n).sqrt();
    eprintln!("false-alarm rate {rate} on {n} normal test clips");
    assert!(n >= 150.0, "{n} normal test clips");
    assert!(
        rate <= 0.2 + 3.0 * se && rate >= 0.2 - 1.0 / 41.0 - 3.0 * se,
        "false-alarm rate {rate}"
    );
}

/// Criterion: with a validation split (`[train.validation] fraction = 0.25`), every scorer's thresholds, PROB's
/// included, are calibrated on the held-out clips (5 of each group's 20, drawn as the trainer draws them), which
/// the network never trained on; without one, PROB's are in-sample and the others out-of-fold.
#[test]
fn thresholds_are_calibrated_on_the_clips_training_held_out() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    synth(&data, 2, 1, 20, 2, 2.0);
    let mut config = RunConfig::preset(System::ASDNET).with_epochs(1);
    config.clip_seconds = 2.0;
    let calibrations = |out: &Path| {
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("detector.json")).unwrap()).unwrap();
        let mut seen: Vec<(String, String, u64)> = Vec::new();
        for scorer in manifest["scorers"].as_array().unwrap() {
            for t in scorer["thresholds"].as_object().unwrap().values() {
                seen.push((
                    scorer["name"].as_str().unwrap().to_string(),
                    t["calibration"].as_str().unwrap().to_string(),
                    t["clips"].as_u64().unwrap(),
                ));
            }
        }
        seen
    };
    let plain = tmp.path().join("plain");
    run(&config, &data, &plain, &RunOptions::default(), &()).expect("run");
    for (name, calibration, clips) in calibrations(&plain) {
        let expected = if name == "prob" { "in-sample" } else { "out-of-fold" };
        assert_eq!((calibration.as_str(), clips), (expected, 20), "{name}");
    }
    config.train.validation = Some(asd::trainer::ValidationConfig {
        fraction: 0.25,
        select: asd::trainer::ModelSelection::Last,
    });
    let held = tmp.path().join("held");
    run(&config, &data, &held, &RunOptions::default(), &()).expect("run with a validation split");
    let seen = calibrations(&held);
    assert_eq!(seen.len(), 10, "5 scorers × 2 groups");
    for (name, calibration, clips) in seen {
        assert_eq!((calibration.as_str(), clips), ("held-out", 5), "{name}");
    }
}

/// Criterion: a run folder whose detector files are damaged is refused by name, never with a panic: no
/// `detector.json`, one of another version, one naming a scorer file outside `scorers/`, a truncated scorer file,
/// and a group the detector does not know.
#[test]
fn damaged_detectors_are_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    synth(&data, 2, 1, 8, 2, 2.0);
    let mut config = RunConfig::preset(System::RAW_LOGMEL);
    config.clip_seconds = 2.0;
    let out = tmp.path().join("run");
    run(&config, &data, &out, &RunOptions::default(), &()).expect("run");
    let manifest_path = out.join("detector.json");
    let manifest = std::fs::read_to_string(&manifest_path).unwrap();
    let refused = |why: &str, words: &str| {
        let message = Detector::load(&out).expect_err(why).to_string();
        assert!(message.contains(words), "{why}: {message}");
    };

    let detector = Detector::load(&out).unwrap();
    let wave = asd::audio::load_16k(&data.join("fan/test/normal_id_00_00000000.wav")).unwrap();
    let unknown = detector
        .score_in(&wave, &"pump/id_09".parse().unwrap())
        .unwrap_err()
        .to_string();
    assert!(
        unknown.contains("pump/id_09") && unknown.contains("fan/id_00"),
        "{unknown}"
    );

    std::fs::write(&manifest_path, manifest.replace("\"version\": 1", "\"version\": 7")).unwrap();
    refused("another version", "version 7");
    std::fs::write(&manifest_path, manifest.replace("\"knn.json\"", "\"../config.toml\"")).unwrap();
    refused("a scorer file outside scorers/", "not a plain file name");
    std::fs::write(&manifest_path, &manifest).unwrap();
    let scorer = out.join("scorers/knn.json");
    let bytes = std::fs::read(&scorer).unwrap();
    std::fs::write(&scorer, &bytes[..bytes.len() / 2]).unwrap();
    refused("a truncated scorer file", "knn.json");
    std::fs::remove_file(&manifest_path).unwrap();
    refused("no manifest", "detector.json");
}

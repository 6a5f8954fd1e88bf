//! The run pipeline end to end on the synthetic benchmark with the training-free system: it writes the run
//! folder, and anomalies score higher than normals (the benchmark has learnable structure; the raw log-Mel
//! statistics find some of it).

use asd::Event;
use asd::audio::synth::{SynthConfig, SynthLayout, generate};
use asd::{RunConfig, RunOptions, System, run};

fn synth(layout: SynthLayout, dir: &std::path::Path) {
    let config = SynthConfig {
        layout,
        types: 6,
        ids: 1,
        train: 40,
        test: 20,
        seconds: 4.0,
        seed: 11,
        supplemental: None,
        severity: None,
    };
    generate(&config, dir, &mut |_, _| {}).expect("synthetic data");
}

fn raw_logmel() -> RunConfig {
    RunConfig {
        clip_seconds: 4.0,
        ..RunConfig::preset(System::RAW_LOGMEL)
    }
}

#[test]
fn run_writes_the_run_folder_and_detects_anomalies() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    synth(SynthLayout::Dcase2020, &data);
    let out = tmp.path().join("run");
    let config = raw_logmel();
    let result = run(&config, &data, &out, &RunOptions::default(), &()).expect("run");
    for f in [
        "config.toml",
        "metrics.json",
        "metrics/knn.json",
        "results.md",
        "roc/knn/roc_fan.png",
        "scores/knn/anomaly_score_fan_id_00.csv",
        "embeddings/train.npy",
        "embeddings/test_files.txt",
    ] {
        assert!(out.join(f).is_file(), "{f} written");
    }
    let saved = RunConfig::load(&out.join("config.toml")).expect("config.toml parses back");
    // The run records the channel policy the data decided: mono clips, so the mean.
    let decided = RunConfig {
        channels: Some(asd::audio::ChannelPolicy::Mean),
        ..config.clone()
    };
    assert_eq!(saved, decided);
    let report = result.report().expect("a report");
    let avg = report.average.auc;
    eprintln!("{}", report.to_table());
    // Chance is 0.5; on this benchmark the training-free system reaches about 0.65 (docs/synthetic.md).
    assert!(avg > 0.58, "average AUC {avg} is not above chance");

    // A second run reuses the feature cache: no clip is decoded again.
    let decoded = std::sync::atomic::AtomicUsize::new(0);
    run(&config, &data, &out, &RunOptions::default(), &|event| {
        if let Event::Features { .. } = event {
            decoded.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    })
    .expect("second run");
    assert_eq!(
        decoded.into_inner(),
        0,
        "second run decoded clips instead of reading the cache"
    );
}

#[test]
fn run_on_the_dcase2023_layout_reports_domains_and_the_official_score() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    synth(SynthLayout::Dcase2023, &data);
    let result = run(
        &raw_logmel(),
        &data,
        &tmp.path().join("run"),
        &RunOptions::default(),
        &(),
    )
    .expect("run");
    let official = result
        .report()
        .and_then(|r| r.official.as_ref())
        .expect("an official score for DCASE 2021+ layouts");
    assert!(
        official.score > 0.0 && official.score < 1.0,
        "official score {}",
        official.score
    );
}

#[test]
fn bad_configurations_are_refused_before_any_work() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let go = |config: &RunConfig, data: &std::path::Path, out: &str| {
        run(config, data, &tmp.path().join(out), &RunOptions::default(), &())
    };
    let mut prob = raw_logmel();
    prob.scoring = asd::scoring::ScoringConfig::single(asd::scorers::ScorerConfig::new(asd::scorers::ScorerKind::Prob));
    let err = go(&prob, tmp.path(), "run").expect_err("prob needs logits");
    assert!(err.to_string().contains("logits"), "{err}");
    let zero = RunConfig {
        clip_seconds: 0.0,
        ..raw_logmel()
    };
    assert!(go(&zero, tmp.path(), "run2").is_err());
    let missing = go(&raw_logmel(), &tmp.path().join("nope"), "run3").expect_err("no dataset");
    assert!(missing.to_string().contains("nope"), "{missing}");
    // A network whose input size does not fit the front end's output for the clip length.
    let short = RunConfig {
        clip_seconds: 2.0,
        ..RunConfig::preset(System::LOGMEL_MFN)
    };
    let err = go(&short, tmp.path(), "run4").expect_err("313-frame network on 2-s clips");
    assert!(err.to_string().contains("expects inputs"), "{err}");
    // A [model] table of another system.
    let mut mixed = RunConfig::preset(System::ASDNET);
    mixed.model = RunConfig::preset(System::SPECMFN).model;
    assert!(go(&mixed, tmp.path(), "run5").is_err());
}

/// A synthetic DCASE 2020 tree in `dir/data` (2 types × 2 IDs, `train` training and 2 + 2 test clips per ID,
/// 2-s clips) and its training clips.
fn small_tree(dir: &std::path::Path, train: usize) -> (std::path::PathBuf, Vec<asd::data::Clip>) {
    let data = dir.join("data");
    let synth = SynthConfig {
        types: 2,
        ids: 2,
        train,
        test: 2,
        seconds: 2.0,
        ..SynthConfig::default()
    };
    generate(&synth, &data, &mut |_, _| {}).expect("synthetic data");
    let dataset = asd::data::Dataset::open(&data).expect("dataset");
    let clips = dataset.select(&asd::data::Selection::new().with_split(asd::data::Split::Train));
    (data, clips)
}

/// Criterion (issue: label sources): `classes = { file = … }` trains on the file's classes (here the machine type
/// of each training clip: 2 classes where type × ID gives 4), the network's class count follows and the run folder
/// keeps the listed map; a training clip the file does not list is refused, naming the clip.
#[test]
fn a_label_file_sets_the_training_classes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (data, train) = small_tree(tmp.path(), 6);
    let lines: Vec<String> = train
        .iter()
        .map(|c| format!("{},{}", asd::data::clip_key(c), c.machine_type))
        .collect();
    let labels = tmp.path().join("labels.csv");
    std::fs::write(&labels, format!("clip,class\n{}\n", lines.join("\n"))).expect("labels");

    let text = format!(
        "system = \"asdnet\"\nclip_seconds = 2.0\nclasses = {{ file = {:?} }}\n[train]\nepochs = 1\n",
        labels.display().to_string()
    );
    let config = RunConfig::from_toml(&text).expect("config");
    assert_eq!(config.classes, asd::ClassSource::File(labels.clone()));
    let run_dir = tmp.path().join("run");
    let trained = asd::train(&config, &data, &run_dir, &RunOptions::default(), &()).expect("train");
    assert_eq!(trained.classes.len(), 2);
    let saved = asd::run_folder::read_classes(&run_dir).expect("classes.json");
    assert_eq!((saved.scheme(), saved.len()), (asd::data::ClassScheme::Listed, 2));
    let n_classes = trained
        .config
        .model
        .as_ref()
        .and_then(|m| m.get("n_classes"))
        .and_then(|v| v.as_integer());
    assert_eq!(n_classes, Some(2));

    std::fs::write(&labels, format!("clip,class\n{}\n", lines[1..].join("\n"))).expect("labels");
    let err = asd::train(&config, &data, &tmp.path().join("run2"), &RunOptions::default(), &()).expect_err("unlisted");
    assert!(err.to_string().contains(&train[0].file_name), "{err}");
}

/// Criterion (issue 17): a class count the user wrote that the data contradicts is refused with that reason, naming
/// the key, before any decoding (it was silently replaced); the preset's placeholder is replaced without a word.
#[test]
fn a_class_count_the_data_contradicts_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (data, _) = small_tree(tmp.path(), 4);
    let config =
        RunConfig::from_toml("system = \"asdnet\"\nclip_seconds = 2.0\n[model]\nn_classes = 7\n").expect("config");
    let out = tmp.path().join("run");
    let err = asd::train(&config, &data, &out, &RunOptions::default(), &()).expect_err("7 classes for 4");
    let text = err.to_string();
    assert!(
        text.contains("model.n_classes") && text.contains("set from the data"),
        "{text}"
    );
    assert!(err.is_setting() && !out.join("cache").exists());
}

/// Criterion (issue 17): everything that would fail after training is found before the first epoch and reported
/// together, each naming its file or group: a test group without training clips (named by machine type and group,
/// not "test group 3"), a training clip and a test clip that do not decode, a labelled test group of one class,
/// and a scorer with more clusters than a group's training examples.
#[test]
fn every_problem_is_found_before_the_first_epoch_and_reported_together() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (data, train) = small_tree(tmp.path(), 4);
    let (machine_type, group) = (train[0].machine_type.clone(), train[0].group.clone());
    for clip in train
        .iter()
        .filter(|c| c.machine_type == machine_type && c.group == group)
    {
        std::fs::remove_file(&clip.path).expect("remove");
    }
    let dataset = asd::data::Dataset::open(&data).expect("dataset");
    let test = dataset.select(&asd::data::Selection::new().with_split(asd::data::Split::Test));
    let last_train = train.last().expect("training clips");
    // A RIFF/WAVE header followed by junk: listed as audio, but it does not decode.
    let junk = b"RIFF\x24\x00\x00\x00WAVEjunk and more junk";
    std::fs::write(&last_train.path, junk).expect("junk");
    let broken_test = test.last().expect("test clips");
    std::fs::write(&broken_test.path, junk).expect("junk");
    // One group keeps only its normal test clips.
    let single = &test[test.len() / 2];
    for clip in test.iter().filter(|c| {
        (&c.machine_type, &c.group) == (&single.machine_type, &single.group)
            && c.condition == asd::data::Condition::Anomaly
    }) {
        std::fs::remove_file(&clip.path).expect("remove");
    }

    let mut config = RunConfig::preset(System::ASDNET).with_epochs(1);
    config.clip_seconds = 2.0;
    config.scoring = asd::scoring::ScoringConfig::single(asd::scorers::ScorerConfig::Kmeans(
        asd::scorers::KMeansParams::new(1000),
    ));
    let out = tmp.path().join("run");
    let epochs = std::sync::atomic::AtomicUsize::new(0);
    let err = run(&config, &data, &out, &RunOptions::default(), &|event: Event| {
        if matches!(event, Event::Train(_)) {
            epochs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    })
    .expect_err("a tree with problems");
    assert_eq!(
        epochs.into_inner(),
        0,
        "no training event before the problems are reported"
    );
    let text = err.to_string();
    for needle in [
        format!("{machine_type} {group}"),
        last_train.file_name.clone(),
        broken_test.file_name.clone(),
        format!(
            "test group {} {} cannot be evaluated",
            single.machine_type, single.group
        ),
        "n_clusters".to_string(),
    ] {
        assert!(text.contains(&needle), "{needle:?} missing from: {text}");
    }
    assert!(matches!(err, asd::Error::Problems(ref p) if p.len() >= 5), "{err:?}");
    assert!(
        !err.is_setting(),
        "data problems are failures (exit 1), not usage errors"
    );
}

/// Criterion (issue 17): an evaluation-layout tree, where some groups have development names (labelled) and
/// others evaluation names (`id_II_NNNNNNNN.wav`, no label), is scored end to end: every test clip is in the
/// score CSVs, metrics cover the labelled groups, and the unlabelled groups are named; a tree with no label at
/// all gives score CSVs and no metrics instead of an error.
#[test]
fn evaluation_names_are_scored_and_only_labelled_groups_evaluated() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (data, _) = small_tree(tmp.path(), 4);
    let dataset = asd::data::Dataset::open(&data).expect("dataset");
    let test = dataset.select(&asd::data::Selection::new().with_split(asd::data::Split::Test));
    let hide = |clips: &[&asd::data::Clip]| {
        for (i, clip) in clips.iter().enumerate() {
            let eval_name = format!("{}_{:08}.wav", clip.group, 100 + i);
            std::fs::rename(&clip.path, clip.path.with_file_name(eval_name)).expect("rename");
        }
    };
    let (eval_type, eval_group) = (test[0].machine_type.clone(), test[0].group.clone());
    let in_eval_group: Vec<&asd::data::Clip> = test
        .iter()
        .filter(|c| (&c.machine_type, &c.group) == (&eval_type, &eval_group))
        .collect();
    hide(&in_eval_group);
    let config = RunConfig {
        clip_seconds: 2.0,
        ..RunConfig::preset(System::RAW_LOGMEL)
    };
    let out = tmp.path().join("run");
    let result = run(&config, &data, &out, &RunOptions::default(), &()).expect("mixed dev / eval names");
    assert_eq!(result.scores.unlabelled, [format!("{eval_type} {eval_group}")]);
    let csv = out
        .join("scores/knn")
        .join(asd::metrics::score_file_name(&eval_type, &eval_group));
    let rows = asd::metrics::read_scores(&csv).expect("the evaluation group's score CSV");
    assert_eq!(rows.len(), in_eval_group.len(), "every unlabelled clip is scored");
    assert!(
        rows.iter().all(|r| r.file.starts_with(&eval_group)),
        "{:?}",
        rows[0].file
    );
    let report = result.report().expect("labelled groups are evaluated");
    let evaluated: usize = report.types.values().map(|t| t.groups.len()).sum();
    assert_eq!(evaluated, 3, "2 types × 2 IDs, one of them unlabelled");
    let results = std::fs::read_to_string(&result.scores.results_md).expect("results.md");
    assert!(results.contains(&format!("{eval_type} {eval_group}")), "{results}");

    // Nothing labelled at all: scores, a note, no metrics.
    let rest: Vec<&asd::data::Clip> = test
        .iter()
        .filter(|c| (&c.machine_type, &c.group) != (&eval_type, &eval_group))
        .collect();
    hide(&rest);
    let out = tmp.path().join("run-eval");
    let result = run(&config, &data, &out, &RunOptions::default(), &()).expect("an evaluation set");
    assert_eq!(result.scores.unlabelled.len(), 4);
    assert!(result.report().is_none() && result.scores.metrics_json.is_none());
    assert!(!out.join("metrics.json").exists());
    let names: Vec<String> = std::fs::read_dir(out.join("scores/knn"))
        .expect("score CSVs")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    let count = |prefix: &str| names.iter().filter(|n| n.starts_with(prefix)).count();
    assert_eq!(names.len(), 8, "{names:?}");
    assert_eq!(count("anomaly_score_"), 4, "one score CSV per group: {names:?}");
    assert_eq!(count("decision_result_"), 4, "one decision CSV per group: {names:?}");
}

/// Criterion (issue 19, decisions.md §3): the reproduction mode that chooses the model by test AUC scores every
/// snapshot (`train.snapshot_every`) and the final model into `snapshots/epoch_NNNN/`, keeps the best, and the
/// run's own scores are then that model's: its headline AUC is the chosen candidate's. Every output says so
/// (`selection.json`, the first line of `results.md`). Without snapshots the mode is refused before any work.
#[test]
fn choosing_the_model_by_test_auc_is_a_flagged_reproduction_mode() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    synth(SynthLayout::Dcase2020, &data);
    let mut config = RunConfig::preset(System::ASDNET).with_epochs(3);
    config.clip_seconds = 2.0;
    config.scoring.select_by_test_auc = true;
    let out = tmp.path().join("run");
    let refused = run(&config, &data, &out, &RunOptions::default(), &());
    assert!(
        matches!(&refused, Err(asd::Error::Setting { field, .. }) if field == "scoring.select_by_test_auc"),
        "{refused:?}"
    );
    assert!(!out.exists(), "refused before any work");

    config.train.snapshot_every = Some(1);
    let result = run(&config, &data, &out, &RunOptions::default(), &()).unwrap_or_else(|e| panic!("{e}"));
    let selection = result
        .selection
        .as_ref()
        .expect("the reproduction mode reports its choice");
    let epochs: Vec<usize> = selection.candidates.iter().map(|c| c.epoch).collect();
    assert_eq!(epochs, [1, 2, 3]);
    let best = selection
        .candidates
        .iter()
        .map(|c| c.auc)
        .fold(f64::NEG_INFINITY, f64::max);
    let chosen = selection
        .candidates
        .iter()
        .find(|c| c.epoch == selection.selected_epoch)
        .expect("the chosen epoch is a candidate");
    assert_eq!(chosen.auc, best);
    let auc = result.report().expect("a report").average.auc;
    assert!(
        (auc - chosen.auc).abs() < 1e-12,
        "the run scores the chosen model: {auc} vs {}",
        chosen.auc
    );
    for e in 1..=3 {
        assert!(
            out.join(format!("snapshots/epoch_{e:04}.bpk")).is_file(),
            "snapshot {e}"
        );
        assert!(
            out.join(format!("snapshots/epoch_{e:04}/metrics.json")).is_file(),
            "scores of snapshot {e}"
        );
    }
    let results = std::fs::read_to_string(out.join("results.md")).unwrap();
    assert!(results.starts_with("Reproduction mode"), "{results}");
    assert!(out.join("selection.json").is_file());
}

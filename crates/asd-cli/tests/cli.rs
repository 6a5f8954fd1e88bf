//! End-to-end tests of the `asd` binary: the "done when" scenarios of the foundation and scorer issues,
//! checked against the shared oracles.

use asd_testkit::{assert_allclose, golden, json, npy, npy_f64};
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn asd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_asd"))
        .args(args)
        .output()
        .expect("the asd binary runs")
}

fn ok(args: &[&str]) -> String {
    let out = asd(args);
    assert!(
        out.status.success(),
        "asd {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

/// Writes a float32 WAV (16 kHz mono) so the decoded samples equal the oracle's input bit for bit.
/// `asd synth` of a small tree: 2 machine types of 2-s clips, `ids` IDs / sections, `train` training clips and
/// `test` normal + `test` anomalous test clips each.
fn synth(data: &Path, layout: &str, ids: usize, train: usize, test: usize) {
    let (ids, train, test) = (ids.to_string(), train.to_string(), test.to_string());
    ok(&[
        "synth",
        "--out",
        p(data),
        "--layout",
        layout,
        "--types",
        "2",
        "--ids",
        &ids,
        "--train",
        &train,
        "--test",
        &test,
        "--seconds",
        "2",
    ]);
}

fn write_f32_wav(path: &Path, samples: &[f32]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    for &s in samples {
        w.write_sample(s).expect("write sample");
    }
    w.finalize().expect("finalize wav");
}

#[test]
fn synth_then_index_both_layouts() {
    for (layout, types_in_table) in [("dcase2020", ["fan", "pump"]), ("dcase2023", ["", ""])] {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        synth(&data, layout, 3, 10, 6);
        let index_json = dir.path().join("index.json");
        let table = ok(&["index", p(&data), "--json", p(&index_json)]);
        for t in types_in_table.iter().filter(|t| !t.is_empty()) {
            assert!(table.contains(t), "{layout}: table lacks {t}:\n{table}");
        }
        let summary = json(&index_json);
        let rows = summary["rows"].as_array().expect("rows");
        let total =
            |split: &str, cond: &str| -> u64 { rows.iter().map(|r| r[split][cond].as_u64().expect("count")).sum() };
        let types: std::collections::BTreeSet<&str> =
            rows.iter().map(|r| r["machine_type"].as_str().expect("type")).collect();
        assert_eq!(types.len(), 2, "{layout}: two machine types");
        // 2 types × 3 IDs/sections, 6 normal + 6 anomalous test clips each (per domain for dcase2023).
        let per_group_test = if layout == "dcase2020" { 6 } else { 12 };
        assert_eq!(
            total("test", "normal"),
            2 * 3 * per_group_test,
            "{layout}: test normals"
        );
        assert_eq!(
            total("test", "anomaly"),
            2 * 3 * per_group_test,
            "{layout}: test anomalies"
        );
        assert_eq!(total("train", "anomaly"), 0, "{layout}: no anomalies in train");
        assert!(total("train", "normal") >= 2 * 3 * 10, "{layout}: train normals");
    }
}

#[test]
fn features_logmel_of_a_golden_waveform_matches_torchaudio() {
    let dir = tempfile::tempdir().expect("tempdir");
    for i in 0..3 {
        let wave = npy(golden(&format!("stgram_mfn/logmel/wave_{i}.npy")));
        let wav = dir.path().join(format!("wave_{i}.wav"));
        write_f32_wav(&wav, wave.as_slice().expect("contiguous"));
        let out = dir.path().join(format!("logmel_{i}.npy"));
        ok(&["features", "--kind", "logmel", "--in", p(&wav), "--out", p(&out)]);
        // golden/stgram_mfn README §1: |Δ logmel| ≤ 1e-2 dB everywhere.
        let expected = npy(golden(&format!("stgram_mfn/logmel/logmel_{i}.npy")));
        assert_allclose(
            &npy(&out),
            &expected,
            1e-2,
            0.0,
            "asd features --kind logmel (stgram-mfn)",
        );
    }
    // librosa front end on golden/features wave0: ≤ 1e-2 dB everywhere (≤ 1e-3 dB within 80 dB of the max is
    // tested in asd-features; the CLI test checks the flags reach it).
    let wave = npy(golden("features/wave0.npy"));
    let wav = dir.path().join("wave0.wav");
    write_f32_wav(&wav, wave.as_slice().expect("contiguous"));
    for (pad, oracle) in [
        ("zero", "wave0_librosa_logmel_db"),
        ("reflect", "wave0_librosa_reflectpad_logmel_db"),
    ] {
        let out = dir.path().join(format!("librosa_{pad}.npy"));
        ok(&[
            "features",
            "--kind",
            "logmel",
            "--frontend",
            "librosa",
            "--pad",
            pad,
            "--in",
            p(&wav),
            "--out",
            p(&out),
        ]);
        let expected = npy(golden(&format!("features/{oracle}.npy")));
        assert_allclose(
            &npy(&out),
            &expected,
            1e-2,
            0.0,
            &format!("librosa log-Mel, {pad} padding"),
        );
    }
    // Spectrum of 2-s segments: ≤ 1e-5 × max (golden/features README).
    let out = dir.path().join("spectrum.npy");
    ok(&["features", "--kind", "spectrum", "--in", p(&wav), "--out", p(&out)]);
    let expected = npy_f64(golden("features/wave0_rfft_mag_2s_segments_f64.npy"));
    let max = expected.iter().fold(0.0f64, |m, &v| m.max(v));
    assert_allclose(&npy(&out), &expected, 1e-5 * max, 0.0, "spectrum of 2-s segments");
}

#[test]
fn evaluate_the_official_evaluator_toy() {
    let toy = golden("metrics/dcase2023_toy_evaluator_format");
    let expected = json(golden("metrics/dcase2023_toy.json"));
    let official = expected["expected_overall"]["official_score"]
        .as_f64()
        .expect("official score");
    let dir = tempfile::tempdir().expect("tempdir");
    // sysA submits evaluation names, sysB revealed names: both must give the official figures.
    for sys in ["sysA", "sysB"] {
        let scores = toy.join("teams/teamX").join(sys);
        let out_json = dir.path().join(format!("{sys}.json"));
        let out_csv = dir.path().join(format!("{sys}.csv"));
        let roc = dir.path().join(format!("roc_{sys}"));
        let table = ok(&[
            "evaluate",
            "--scores",
            p(&scores),
            "--truth",
            p(&toy),
            "--json",
            p(&out_json),
            "--csv",
            p(&out_csv),
            "--roc",
            p(&roc),
        ]);
        assert!(table.contains("ToyAlpha"), "table names the machine types:\n{table}");
        let report = json(&out_json);
        assert_eq!(report["year"], "dcase2021+");
        let hmean = report["hmean"].as_f64().expect("hmean");
        assert!(
            (hmean - official).abs() <= 1e-12 * official,
            "{sys}: official score {hmean} vs {official}"
        );
        for t in expected["expected_per_type"].as_array().expect("per type") {
            let name = t["machine_type"].as_str().expect("type");
            let got = &report["types"][name]["groups"]["section_00"];
            for (key, golden_key) in [
                ("auc_source", "AUC (source)"),
                ("auc_target", "AUC (target)"),
                ("pauc", "pAUC"),
            ] {
                let (g, e) = (got[key].as_f64().expect(key), t[golden_key].as_f64().expect(golden_key));
                assert!((g - e).abs() <= 1e-12, "{sys} {name} {key}: {g} vs {e}");
            }
        }
        assert!(std::fs::metadata(&out_csv).expect("csv written").len() > 0);
        let pngs = std::fs::read_dir(&roc).expect("roc dir").count();
        assert_eq!(pngs, 3, "one ROC PNG per machine type");
    }
}

#[test]
fn evaluate_dcase2020_scores_labelled_by_file_name() {
    let toy = json(golden("metrics/dcase2020_toy.json"));
    let dir = tempfile::tempdir().expect("tempdir");
    let scores = dir.path().join("scores");
    std::fs::create_dir(&scores).expect("mkdir");
    for m in toy["machines"].as_array().expect("machines") {
        let t = m["machine_type"].as_str().expect("type");
        let mut files: std::collections::BTreeMap<String, String> = Default::default();
        for c in m["clips"].as_array().expect("clips") {
            let id = format!("id_{}", c["id"].as_str().expect("id"));
            let line = format!(
                "{},{}\n",
                c["file"].as_str().expect("file"),
                c["score"].as_f64().expect("score")
            );
            files.entry(id).or_default().push_str(&line);
        }
        for (id, body) in files {
            std::fs::write(scores.join(format!("anomaly_score_{t}_{id}.csv")), body).expect("write csv");
        }
    }
    let out_json = dir.path().join("r.json");
    ok(&["evaluate", "--scores", p(&scores), "--json", p(&out_json)]);
    let report = json(&out_json);
    assert_eq!(report["year"], "dcase2020");
    for m in toy["machines"].as_array().expect("machines") {
        let t = m["machine_type"].as_str().expect("type");
        let e = &m["expected"];
        let got = &report["types"][t];
        for (key, golden_key) in [
            ("auc", "mean_auc"),
            ("pauc", "mean_pauc"),
            ("mauc", "mauc_min_over_ids"),
        ] {
            let (g, x) = (got[key].as_f64().expect(key), e[golden_key].as_f64().expect(golden_key));
            assert!((g - x).abs() <= 1e-12, "{t} {key}: {g} vs {x}");
        }
        for id in e["per_id"].as_array().expect("per id") {
            let key = format!("id_{}", id["id"].as_str().expect("id"));
            let (g, x) = (
                got["groups"][&key]["auc"].as_f64().expect("auc"),
                id["auc"].as_f64().expect("auc"),
            );
            assert!((g - x).abs() <= 1e-12, "{t} {key} auc: {g} vs {x}");
        }
    }
    let overall = &toy["expected_overall"];
    for (key, golden_key) in [
        ("auc", "mean_over_types_of_mean_auc"),
        ("pauc", "mean_over_types_of_mean_pauc"),
    ] {
        let (g, x) = (
            report["average"][key].as_f64().expect(key),
            overall[golden_key].as_f64().expect(golden_key),
        );
        assert!((g - x).abs() <= 1e-12, "average {key}: {g} vs {x}");
    }
}

#[test]
fn scorer_lof_on_golden_embeddings_matches_scikit_learn() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("lof.npy");
    let g = |f: &str| golden(&format!("scorers/{f}"));
    ok(&[
        "scorer",
        "--kind",
        "lof",
        "--n-neighbors",
        "20",
        "--metric",
        "euclidean",
        "--train",
        p(&g("train_X.npy")),
        "--train-groups",
        p(&g("train_y.npy")),
        "--test",
        p(&g("test_X.npy")),
        "--test-groups",
        p(&g("test_y.npy")),
        "--out",
        p(&out),
    ]);
    // golden/scorers: within 1e-5 relative.
    assert_allclose(
        &npy_f64(&out),
        &npy_f64(g("lof_euclidean_score.npy")),
        0.0,
        1e-5,
        "asd scorer --kind lof",
    );
}

#[test]
fn errors_name_the_file_and_set_the_exit_code() {
    let missing = asd(&["index", "/definitely/not/here"]);
    assert_eq!(missing.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("/definitely/not/here"),
        "stderr names the folder: {stderr}"
    );

    let bad = golden("audio/bad/text_renamed.flac");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("x.npy");
    let decode = asd(&["features", "--kind", "logmel", "--in", p(&bad), "--out", p(&out)]);
    assert_eq!(decode.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&decode.stderr).contains("text_renamed.flac"));
    assert!(!out.exists(), "no output on failure");
    // A clip too short for the front end (100 samples; the STFT's reflect padding needs 513): named (issue 17).
    let short = dir.path().join("short.wav");
    write_f32_wav(&short, &[0.1; 100]);
    let too_short = asd(&["features", "--kind", "logmel", "--in", p(&short), "--out", p(&out)]);
    assert_eq!(too_short.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&too_short.stderr);
    assert!(stderr.contains("short.wav") && stderr.contains("513"), "{stderr}");
    // A warning (a truncated last sample) reaches a stderr that is not a terminal without colour codes.
    let truncated = golden("audio/bad/truncated_mid_sample.wav");
    let warned = asd(&["features", "--kind", "logmel", "--in", p(&truncated), "--out", p(&out)]);
    let stderr = String::from_utf8_lossy(&warned.stderr);
    assert!(stderr.contains("WARN") && !stderr.contains('\u{1b}'), "{stderr:?}");

    assert_eq!(
        asd(&["features", "--kind", "nonsense", "--in", "a", "--out", "b"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(asd(&["synth"]).status.code(), Some(2), "missing --out is a usage error");
    let lof_k = asd(&[
        "scorer",
        "--kind",
        "lof",
        "--k",
        "3",
        "--train",
        "a",
        "--train-groups",
        "b",
        "--test",
        "c",
        "--test-groups",
        "d",
        "--out",
        "e",
    ]);
    assert_eq!(lof_k.status.code(), Some(2), "--k does not apply to lof");
}

/// Criterion: `asd scorer --kind domain-knn` reads one 0/1 domain per training row. Fitted on the golden test
/// embeddings themselves (domains: the outlier flags), every row is its own nearest neighbour in its group and
/// domain, so every score is 0; a domain value other than 0 or 1 is an error naming the file, and a missing
/// `--train-domains` a usage error.
#[test]
fn scorer_domain_knn_reads_training_domains() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("dk.npy");
    let g = |f: &str| golden(&format!("scorers/{f}"));
    let args = |domains: &str| {
        vec![
            "scorer".to_string(),
            "--kind".into(),
            "domain-knn".into(),
            "--train".into(),
            p(&g("test_X.npy")).into(),
            "--train-groups".into(),
            p(&g("test_y.npy")).into(),
            "--train-domains".into(),
            p(&g(domains)).into(),
            "--test".into(),
            p(&g("test_X.npy")).into(),
            "--test-groups".into(),
            p(&g("test_y.npy")).into(),
            "--out".into(),
            p(&out).into(),
        ]
    };
    let run = |a: Vec<String>| asd(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let good = run(args("test_is_outlier.npy"));
    assert_eq!(good.status.code(), Some(0), "{}", String::from_utf8_lossy(&good.stderr));
    let scores = npy_f64(&out);
    assert_eq!(scores.len(), 200);
    assert!(scores.iter().all(|&s| s.abs() < 1e-12), "{scores:?}");
    let bad = run(args("test_y.npy"));
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("test_y.npy"));
    let mut missing = args("test_y.npy");
    missing.drain(7..9);
    assert_eq!(run(missing).status.code(), Some(2), "--train-domains is required");
}

/// Criterion: decisions.md §9 — `asd info --json` gives the decided params / params_paper / MACs of each preset
/// (exact integers), and a training-free system is a usage error.
#[test]
fn info_reports_the_decided_counts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let expected = [
        ("asdnet", 515_456, 510_208, 85_695_744),
        ("specmfn", 1_052_288, 1_052_329, 184_037_376),
        ("logmel-mfn", 1_064_105, 1_064_105, 704_717_952),
        ("stgram-mfn", 1_345_046, 1_350_335, 797_684_864),
    ];
    for (system, params, params_paper, macs) in expected {
        let path = dir.path().join(format!("{system}.json"));
        let table = ok(&["info", "--system", system, "--json", p(&path)]);
        assert!(table.contains("params"), "{table}");
        let info: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("json written")).expect("valid json");
        assert_eq!(info["params"], params, "{system}");
        assert_eq!(info["params_paper"], params_paper, "{system}");
        assert_eq!(info["macs"], macs, "{system}");
        assert!(
            info["layers"].as_array().is_some_and(|l| l.len() > 3),
            "{system}: a layer table"
        );
    }
    assert_eq!(asd(&["info", "--system", "raw-logmel"]).status.code(), Some(2));
    assert_eq!(asd(&["info", "--system", "nonsense"]).status.code(), Some(2));
}

/// Criterion: `asd run` trains ASDNet (one epoch) and scores on a synthetic DCASE 2020 tree and on a DCASE 2023
/// tree, writing the run folder; `asd score` then rescores the run with other scorers and an ensemble, and
/// `asd train --resume` continues it. (Whether the networks learn is tested in crates/asd/tests/presets.rs.)
#[test]
fn run_then_score_on_both_layouts() {
    let dir = tempfile::tempdir().expect("tempdir");
    for layout in ["dcase2020", "dcase2023"] {
        let data = dir.path().join(layout);
        let run = dir.path().join(format!("run-{layout}"));
        synth(&data, layout, 1, 8, 4);
        let table = ok(&[
            "run",
            "--system",
            "asdnet",
            "--data",
            p(&data),
            "--out",
            p(&run),
            "--epochs",
            "1",
        ]);
        assert!(table.contains("kmeans") && table.contains("average"), "{table}");
        for f in [
            "config.toml",
            "classes.json",
            "model.bpk",
            "train_log.csv",
            "checkpoints/final.ckpt",
            "embeddings/test.npy",
            "metrics.json",
            "metrics/lof.json",
            "results.md",
        ] {
            assert!(run.join(f).is_file(), "{layout}: {f}");
        }
        let more = run.join("more");
        ok(&[
            "score",
            "--run",
            p(&run),
            "--data",
            p(&data),
            "--scorer",
            "gmm",
            "--scorer",
            "cos",
            "--scorer",
            "domain-knn",
            "--ensemble",
            "rank-average",
            "--out",
            p(&more),
        ]);
        assert!(
            more.join("metrics/rank-average.json").is_file() && more.join("metrics/domain-knn.json").is_file(),
            "{layout}: ensemble and domain-wise KNN reports"
        );
        // A scoring folder of its own is a complete detector too.
        let machine = std::fs::read_dir(&data)
            .expect("machine types")
            .map(|e| e.expect("entry").path())
            .find(|path| path.join("test").is_dir())
            .expect("a machine type");
        let clip = std::fs::read_dir(machine.join("test"))
            .expect("test clips")
            .next()
            .expect("a clip")
            .expect("entry")
            .path();
        let inferred = ok(&["infer", "--run", p(&more), p(&clip)]);
        assert!(
            inferred.contains("domain-knn") && !inferred.contains("rank-average"),
            "{inferred}"
        );
    }
    // Resuming continues an interrupted run with the same settings; only the epoch count may grow (a constant
    // schedule here, so the cosine period does not change with it).
    let data = dir.path().join("dcase2020");
    let run = dir.path().join("resumed");
    let config = dir.path().join("constant.toml");
    std::fs::write(&config, "system = \"asdnet\"\n[train.schedule]\nkind = \"constant\"\n").expect("config");
    for (epochs, resume) in [("1", false), ("2", true)] {
        let mut args = vec![
            "train",
            "--config",
            p(&config),
            "--data",
            p(&data),
            "--out",
            p(&run),
            "--epochs",
            epochs,
        ];
        if resume {
            args.push("--resume");
        }
        ok(&args);
    }
    let log = std::fs::read_to_string(run.join("train_log.csv")).expect("log");
    assert_eq!(log.lines().count(), 3, "header + 2 epochs after resuming: {log}");
    assert_eq!(
        asd(&["train", "--system", "raw-logmel", "--data", p(&data), "--out", p(&run)])
            .status
            .code(),
        Some(2),
        "nothing to train"
    );
}

/// Criterion (issue 17): a reader that closes the pipe (`asd info | head -1`) ends the command quietly with code 0
/// (it panicked with code 101); a bad `asd synth` flag value is a usage error (code 2, it was 1) and writes nothing.
#[test]
fn closed_pipes_end_quietly_and_bad_synth_flags_are_usage_errors() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_asd"))
        .args(["info", "--system", "stgram-mfn"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the asd binary runs");
    drop(child.stdout.take()); // the reader goes away before the table is written
    let out = child.wait_with_output().expect("asd info ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("synth");
    for flag in [["--types", "0"], ["--ids", "0"], ["--train", "0"]] {
        let bad = asd(&["synth", "--out", p(&target), flag[0], flag[1]]);
        assert_eq!(
            bad.status.code(),
            Some(2),
            "{flag:?}: {}",
            String::from_utf8_lossy(&bad.stderr)
        );
        assert!(
            String::from_utf8_lossy(&bad.stderr).contains(&flag[0][2..]),
            "{flag:?} named"
        );
        assert!(!target.exists(), "{flag:?}: nothing written");
    }
}

/// Criterion (issue 18): after `asd run`, `asd infer` scores audio files in argument order with a score and a
/// 0/1 decision per scorer (`--json`, `--npy-dir` with `[files, dim]` embeddings), refuses an unknown `--group`
/// as a usage error naming the groups, takes a non-DCASE name with `--group`; `asd evaluate` reads the run's
/// decision CSVs back and reports precision, recall and F1; `asd explain` writes a PNG, refuses `--npy` for a
/// system without an attention map (usage error) and names a missing file; `asd monitor` writes one JSON line per
/// hop from a file and from raw PCM on standard input, the same lines both ways.
#[test]
fn infer_evaluate_decisions_and_monitor_a_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    synth(&data, "dcase2020", 1, 20, 4);
    let config = dir.path().join("raw.toml");
    std::fs::write(&config, "system = \"raw-logmel\"\nclip_seconds = 2.0\n").expect("config");
    let run = dir.path().join("run");
    ok(&["run", "--config", p(&config), "--data", p(&data), "--out", p(&run)]);

    let evaluated = ok(&["evaluate", "--scores", p(&run.join("scores/knn")), "--no-ci"]);
    assert!(
        evaluated.contains("precision") && evaluated.contains("F1"),
        "{evaluated}"
    );

    let test = data.join("fan/test");
    let files = [
        test.join("anomaly_id_00_00000001.wav"),
        test.join("normal_id_00_00000002.wav"),
    ];
    let json = dir.path().join("verdicts.json");
    let npy_dir = dir.path().join("npy");
    let table = ok(&[
        "infer",
        "--run",
        p(&run),
        p(&files[0]),
        p(&files[1]),
        "--json",
        p(&json),
        "--npy-dir",
        p(&npy_dir),
    ]);
    assert_eq!(table.lines().count(), 2, "{table}");
    let verdicts: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).expect("json")).expect("parses");
    let verdicts = verdicts.as_array().expect("one object per file");
    assert_eq!(verdicts.len(), 2);
    for (v, f) in verdicts.iter().zip(&files) {
        assert_eq!(v["file"], p(f));
        assert_eq!(v["group"], "fan/id_00");
        let (score, threshold, decision) = (&v["scores"]["knn"], &v["thresholds"]["knn"], &v["decisions"]["knn"]);
        let anomalous = score.as_f64().expect("score") > threshold.as_f64().expect("threshold");
        assert_eq!(decision.as_u64(), Some(u64::from(anomalous)), "{v}");
    }
    let embeddings = npy(npy_dir.join("embeddings.npy"));
    assert_eq!(embeddings.shape()[0], 2);
    assert!(
        !npy_dir.join("logits.npy").exists(),
        "a training-free system has no logits"
    );

    let not_audio = asd(&["infer", "--run", p(&run), "--group", "fan/id_00", p(&config)]);
    let stderr = String::from_utf8_lossy(&not_audio.stderr);
    assert_eq!(not_audio.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("raw.toml"), "the message names the file: {stderr}");
    let unknown = asd(&["infer", "--run", p(&run), "--group", "pump/id_09", p(&files[0])]);
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert_eq!(unknown.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("fan/id_00"), "{stderr}");
    let renamed = dir.path().join("recording.wav");
    std::fs::copy(&files[0], &renamed).expect("copy");
    let by_group = ok(&["infer", "--run", p(&run), "--group", "fan/id_00", p(&renamed)]);
    let first_line = table.lines().next().expect("a line");
    assert_eq!(
        by_group.trim_end().split_once('\t').map(|(_, rest)| rest),
        first_line.split_once('\t').map(|(_, rest)| rest),
        "the same clip under another name scores the same"
    );

    // A picture of what the run sees in one clip; a system without an attention module has no map for --npy.
    let png = dir.path().join("explain.png");
    let explained = ok(&["explain", "--run", p(&run), p(&files[0]), "--out", p(&png)]);
    assert!(
        explained.contains("knn") && explained.contains("no attention module"),
        "{explained}"
    );
    assert_eq!(&std::fs::read(&png).expect("the PNG")[..8], b"\x89PNG\r\n\x1a\n");
    let npy_asked = asd(&[
        "explain",
        "--run",
        p(&run),
        p(&files[0]),
        "--out",
        p(&png),
        "--npy",
        "map.npy",
    ]);
    assert_eq!(
        npy_asked.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&npy_asked.stderr)
    );
    let missing = asd(&[
        "explain",
        "--run",
        p(&run),
        "--group",
        "fan/id_00",
        "gone.wav",
        "--out",
        p(&png),
    ]);
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        missing.status.code() == Some(1) && stderr.contains("gone.wav"),
        "{stderr}"
    );

    // Monitor the normal clips one after another, from the file and from raw PCM on standard input.
    let stream: Vec<f32> = (0..4)
        .flat_map(|i| {
            asd::audio::load_16k(&test.join(format!("normal_id_00_{i:08}.wav")))
                .expect("clip")
                .samples
        })
        .collect();
    let wav = dir.path().join("stream.wav");
    write_f32_wav(&wav, &stream);
    let args = [
        "monitor",
        "--run",
        p(&run),
        "--group",
        "fan/id_00",
        "--hop",
        "1",
        "--alarm",
        "2/3",
    ];
    let from_file = ok(&[&args[..], &["--input", p(&wav)]].concat());
    let lines: Vec<serde_json::Value> = from_file
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 7, "8 s of stream, 2-s window, 1-s hop: {from_file}");
    assert_eq!(lines[0]["t"], 2.0);
    assert!(lines.iter().all(|l| l["decision"].is_u64() && l["alarm"].is_boolean()));
    let pcm: Vec<u8> = stream
        .iter()
        .flat_map(|v| ((v * 32_768.0).round().clamp(-32_768.0, 32_767.0) as i16).to_le_bytes())
        .collect();
    let mut child = Command::new(env!("CARGO_BIN_EXE_asd"))
        .args([&args[..], &["--input", "-"]].concat())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the asd binary runs");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), &pcm).expect("write PCM");
    let out = child.wait_with_output().expect("monitor ends at end of input");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let from_stdin = String::from_utf8(out.stdout).expect("utf-8");
    assert_eq!(from_stdin.lines().count(), 7, "{from_stdin}");
}

/// Criterion (issue 18): `asd import` of the reference STgram-MFN saved as a Lightning checkpoint writes a run folder
/// with variant B, 41 classes and the DCASE 2020 class map; after `asd score` on 10-s clips, `asd infer` on the
/// golden waveforms gives the reference embedding and logits (`golden/stgram_mfn/model_head/outputs.safetensors`)
/// within the README §8 tolerances (embedding 1e-3, logits 5e-3; our log-Mel of the waveform stands in for
/// torchaudio's, within 1.4e-3 dB of it); a system without a reference implementation is a usage error.
#[test]
fn import_a_reference_checkpoint_then_infer_gives_the_reference_outputs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let weights = Path::new(env!("CARGO_MANIFEST_DIR")).join("../asd-models/tests/fixtures/torch_pt/stgram_head.ckpt");
    let run = dir.path().join("imported");
    ok(&[
        "import",
        "--system",
        "stgram-mfn",
        "--weights",
        p(&weights),
        "--out",
        p(&run),
    ]);
    let config = std::fs::read_to_string(run.join("config.toml")).expect("config.toml");
    assert!(
        config.contains("variant = \"B\"") && config.contains("n_classes = 41"),
        "{config}"
    );
    assert_eq!(
        json(run.join("classes.json"))["names"].as_array().map(Vec::len),
        Some(41)
    );

    let data = dir.path().join("data");
    ok(&[
        "synth",
        "--out",
        p(&data),
        "--types",
        "1",
        "--ids",
        "1",
        "--train",
        "4",
        "--test",
        "1",
        "--seconds",
        "10",
    ]);
    ok(&["score", "--run", p(&run), "--data", p(&data)]);
    assert!(run.join("detector.json").is_file() && run.join("scorers/prob.json").is_file());

    let waves: Vec<std::path::PathBuf> = ["wave_0", "wave_2"]
        .iter()
        .map(|name| {
            let path = dir.path().join(format!("{name}.wav"));
            let samples = npy(golden(&format!("stgram_mfn/logmel/{name}.npy")));
            write_f32_wav(&path, samples.as_slice().expect("contiguous"));
            path
        })
        .collect();
    let out = dir.path().join("npy");
    ok(&[
        "infer",
        "--run",
        p(&run),
        "--group",
        "fan/id_00",
        p(&waves[0]),
        p(&waves[1]),
        "--npy-dir",
        p(&out),
    ]);
    let reference = golden("stgram_mfn/model_head/outputs.safetensors");
    let embedding = asd_testkit::safetensor(&reference, "embedding");
    let logits = asd_testkit::safetensor(&reference, "logits_nomargin");
    assert_allclose(&npy(out.join("embeddings.npy")), &embedding, 1e-3, 0.0, "embedding");
    assert_allclose(&npy(out.join("logits.npy")), &logits, 5e-3, 0.0, "logits");

    let refused = asd(&[
        "import",
        "--system",
        "raw-logmel",
        "--weights",
        p(&weights),
        "--out",
        p(&dir.path().join("x")),
    ]);
    assert_eq!(
        refused.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    // STgram-MFN's two-channel MobileFaceNet is not LogMel-MFN's: the message says which setting disagrees.
    let out = dir.path().join("y");
    let other = asd(&[
        "import",
        "--system",
        "logmel-mfn",
        "--weights",
        p(&weights),
        "--out",
        p(&out),
    ]);
    let stderr = String::from_utf8_lossy(&other.stderr);
    assert_eq!(other.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("input channels"), "{stderr}");
    assert!(!out.exists(), "nothing written");
}

/// DCASE 2025/2026 from the command line: `asd index` shows channels, lengths and supplemental clips; `--channels`
/// reaches the run's config.toml and a system that reads one channel refuses `both` as a usage error (exit 2);
/// `asd evaluate` reads the 2020 evaluator's `eval_data_list.csv` and names each year's figure in `--json`.
#[test]
fn dcase2025_2026_trees_channels_and_official_figures_by_year() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s25 = dir.path().join("s25");
    let s26 = dir.path().join("s26");
    for (out, layout) in [(&s25, "dcase2025"), (&s26, "dcase2026")] {
        let args = [
            "--types",
            "2",
            "--ids",
            "1",
            "--train",
            "10",
            "--test",
            "3",
            "--seconds",
            "1",
        ];
        ok(&[&["synth", "--out", p(out), "--layout", layout], args.as_slice()].concat());
    }
    let index_json = dir.path().join("index.json");
    let table = ok(&["index", p(&s25), "--json", p(&index_json)]);
    assert!(
        table.contains("supplemental clean") && table.contains("supplemental noise"),
        "{table}"
    );
    let types = json(&index_json)["types"].clone();
    let supplemental: u64 = types
        .as_array()
        .expect("types")
        .iter()
        .map(|t| t["supplemental_clean"].as_u64().unwrap_or(0) + t["supplemental_noise"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(supplemental, 2, "one supplemental clip per type");
    ok(&["index", p(&s26), "--json", p(&index_json)]);
    for t in json(&index_json)["types"].as_array().expect("types") {
        assert_eq!(t["channels"], serde_json::json!([2]), "{t}");
    }

    let run = dir.path().join("run");
    ok(&[
        "run",
        "--system",
        "raw-logmel",
        "--channels",
        "right",
        "--data",
        p(&s26),
        "--out",
        p(&run),
    ]);
    let config = std::fs::read_to_string(run.join("config.toml")).expect("config.toml");
    assert!(config.contains("channels = \"right\""), "{config}");
    let refused = asd(&[
        "run",
        "--system",
        "asdnet",
        "--channels",
        "both",
        "--data",
        p(&s26),
        "--out",
        p(&run),
    ]);
    assert_eq!(
        refused.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(String::from_utf8_lossy(&refused.stderr).contains("channels"));

    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../asd-metrics/tests/fixtures/official_years/dcase2020");
    let out_json = dir.path().join("2020.json");
    ok(&[
        "evaluate",
        "--scores",
        p(&fixtures.join("teams/teamX")),
        "--truth",
        p(&fixtures),
        "--json",
        p(&out_json),
    ]);
    let by_year = json(&out_json)["official_by_year"].clone();
    let official20 = by_year["dcase2020"].as_f64().expect("dcase2020");
    assert!((official20 - 0.713_709_676_045_202_4).abs() < 1e-12, "{by_year}");
}

//! Dataset trees built in temporary folders: both layouts, 2021's domain test folders, attribute CSVs,
//! every malformed case of `Dataset::open`, the lenient scan, the summary, and a tree of the real DCASE clips.

use asd_audio::{Waveform, write_wav_pcm16};
use asd_data::{ClassScheme, Condition, Dataset, Domain, Error, Layout, Selection, Split, Summary};
use std::fs;
use std::path::{Path, PathBuf};

/// Writes a tiny 16 kHz WAV at `root/rel`, creating folders.
fn wav(root: &Path, rel: &str) -> PathBuf {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
    let wave = Waveform {
        samples: (0..320).map(|i| (i as f32 * 0.05).sin() * 0.1).collect(),
        sample_rate: 16_000,
    };
    write_wav_pcm16(&path, &wave).expect("write wav");
    path
}

fn tree(files: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for rel in files {
        wav(dir.path(), rel);
    }
    dir
}

/// A DCASE 2020 download: dev_data (two IDs) and eval_data (additional train + unlabelled test).
const TREE_2020: [&str; 9] = [
    "dev_data/ToyCar/train/normal_id_01_00000000.wav",
    "dev_data/ToyCar/train/normal_id_02_00000000.wav",
    "dev_data/ToyCar/test/normal_id_01_00000000.wav",
    "dev_data/ToyCar/test/anomaly_id_01_00000000.wav",
    "dev_data/fan/train/normal_id_00_00000000.wav",
    "dev_data/fan/test/anomaly_id_00_00000001.wav",
    "eval_data/ToyCar/train/normal_id_05_00000000.wav",
    "eval_data/ToyCar/test/id_05_00000000.wav",
    "eval_data/ToyCar/test/id_05_00000001.wav",
];

#[test]
fn dcase2020_tree_with_dev_and_eval_data() {
    let dir = tree(&TREE_2020);
    let data = Dataset::open(dir.path()).expect("valid tree");
    assert_eq!((data.layout(), data.len()), (Layout::Dcase2020, 9));
    // sorted by path, so dev_data before eval_data, ToyCar before fan (byte order)
    let rel: Vec<String> = data
        .clips()
        .iter()
        .map(|c| c.path.strip_prefix(dir.path()).expect("inside").display().to_string())
        .collect();
    let mut sorted = TREE_2020.map(String::from).to_vec();
    sorted.sort();
    assert_eq!(rel, sorted);
    let eval_test = data.select(&Selection::new().with_split(Split::Test).with_group("id_05"));
    assert_eq!(eval_test.len(), 2);
    assert!(
        eval_test
            .iter()
            .all(|c| c.condition == Condition::Unknown && c.domain.is_none())
    );
    assert_eq!(data.machine_types(), ["ToyCar", "fan"]);
    assert_eq!(data.groups("ToyCar"), ["id_01", "id_02", "id_05"]);
    let anomalies = data.select(&Selection::new().with_condition(Condition::Anomaly));
    assert_eq!(
        anomalies.iter().map(|c| c.file_name.as_str()).collect::<Vec<_>>(),
        ["anomaly_id_01_00000000.wav", "anomaly_id_00_00000001.wav"]
    );

    // canonical index 7·t + k (dcase_protocols.md §1.1): ToyCar t = 4, k = ID − 1; fan t = 0, k = ID
    let map = data.class_map(ClassScheme::TypeGroup).expect("4 classes");
    assert_eq!(map.len(), 41);
    let class = |name: &str| map.class_of(data.clips().iter().find(|c| c.file_name == name).expect("clip"));
    assert_eq!(class("normal_id_01_00000000.wav"), Some(28));
    assert_eq!(class("normal_id_02_00000000.wav"), Some(29));
    assert_eq!(class("normal_id_05_00000000.wav"), Some(32));
    assert_eq!(class("normal_id_00_00000000.wav"), Some(0));

    let summary = Summary::new(&data, Vec::new());
    let row = summary
        .rows
        .iter()
        .find(|r| r.machine_type == "ToyCar" && r.group == "id_01")
        .expect("row");
    assert_eq!(
        (row.train.normal, row.test.normal, row.test.anomaly, row.test.unknown),
        (1, 1, 1, 0)
    );
    let row = summary.rows.iter().find(|r| r.group == "id_05").expect("row");
    assert_eq!((row.train.normal, row.test.unknown), (1, 2));
}

/// A 2023-style tree without dev_data/: two types, domains, attributes, an attribute CSV.
#[test]
fn dcase2023_tree_with_attribute_csv() {
    let dir = tree(&[
        "fan/train/section_00_source_train_normal_0000_m-n_W.wav",
        "fan/train/section_00_target_train_normal_0000_m-n_X.wav",
        "fan/test/section_00_source_test_normal_0001_m-n_W.wav",
        "fan/test/section_00_target_test_anomaly_0001_m-n_X.wav",
        "bearing/train/section_00_source_train_normal_0000_noAttribute.wav",
        "bearing/test/section_00_source_test_anomaly_0000_noAttribute.wav",
    ]);
    fs::write(
        dir.path().join("fan/attributes_00.csv"),
        "file_name,d1p,d1v\n\
         fan/train/section_00_source_train_normal_0000_m-n_W.wav,m-n,W\n\
         train/section_00_target_train_normal_0000_m-n_X,m-n,X,,\n",
    )
    .expect("csv");
    fs::write(
        dir.path().join("bearing/attributes_00.csv"),
        "file_name\nbearing/train/section_00_source_train_normal_0000_noAttribute.wav\n",
    )
    .expect("csv");
    let data = Dataset::open(dir.path()).expect("valid tree");
    assert_eq!((data.layout(), data.len()), (Layout::Dcase2021Plus, 6));
    let fan = data.select(&Selection::new().with_machine_type("fan").with_split(Split::Train));
    assert_eq!(
        fan.iter()
            .map(|c| (c.domain, c.attributes.as_str()))
            .collect::<Vec<_>>(),
        [(Some(Domain::Source), "m-n_W"), (Some(Domain::Target), "m-n_X")]
    );
    let pairs = |clip| data.csv_attributes(clip).map(<[_]>::to_vec);
    assert_eq!(pairs(&fan[0]), Some(vec![("m-n".to_string(), "W".to_string())]));
    assert_eq!(pairs(&fan[1]), Some(vec![("m-n".to_string(), "X".to_string())]));
    let bearing = data.select(&Selection::new().with_machine_type("bearing"));
    assert_eq!(pairs(&bearing[1]), Some(vec![]));
    assert!(!bearing[1].has_attributes());
    assert_eq!(pairs(&bearing[0]), None, "test clips are not in the CSV");
    assert_eq!(data.select(&Selection::new().with_domain(Domain::Target)).len(), 2);

    assert!(data.attribute_mismatches().is_empty());
    let map = data.class_map(ClassScheme::TypeGroupDomainAttribute).expect("classes");
    assert_eq!(
        map.names(),
        [
            "bearing/section_00/source/",
            "fan/section_00/source/m-n_W",
            "fan/section_00/target/m-n_X"
        ]
    );
    let by_section = data.class_map(ClassScheme::TypeGroup).expect("classes");
    assert_eq!(by_section.names(), ["bearing/section_00", "fan/section_00"]);
}

/// DCASE 2021 development data: `source_test/` and `target_test/`, test names without attributes.
#[test]
fn dcase2021_domain_test_folders() {
    let dir = tree(&[
        "dev_data/gearbox/train/section_00_source_train_normal_0000_volt_1.0.wav",
        "dev_data/gearbox/train/section_01_target_train_normal_0000_volt_2.0.wav",
        "dev_data/gearbox/source_test/section_00_source_test_normal_0000.wav",
        "dev_data/gearbox/source_test/section_00_source_test_anomaly_0000.wav",
        "dev_data/gearbox/target_test/section_01_target_test_normal_0000.wav",
        "eval_data/gearbox/train/section_03_source_train_normal_0000_volt_1.0.wav",
        "eval_data/gearbox/source_test/section_03_source_test_0000.wav",
        "eval_data/gearbox/target_test/section_03_target_test_0000.wav",
    ]);
    let data = Dataset::open(dir.path()).expect("valid tree");
    assert_eq!(data.layout(), Layout::Dcase2021Plus);
    let test = data.select(&Selection::new().with_split(Split::Test));
    assert_eq!(test.len(), 5);
    let target = data.select(&Selection::new().with_split(Split::Test).with_domain(Domain::Target));
    assert_eq!(
        target
            .iter()
            .map(|c| (c.group.as_str(), c.condition))
            .collect::<Vec<_>>(),
        [("section_01", Condition::Normal), ("section_03", Condition::Unknown)]
    );
    assert!(test.iter().all(|c| c.attributes.is_empty()));
}

/// The real DCASE recordings of shared/real/ in a 2023 tree and a 2020 tree (file names and labels as its README lists them).
#[test]
fn real_dcase_clips() {
    let real = asd_testkit::real("");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut n = 0;
    for entry in fs::read_dir(&real).expect("shared/real") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).expect("utf-8").to_string();
        let Some(rest) = name.strip_prefix("dcase2023t2_") else {
            continue;
        };
        let mut parts = rest.splitn(3, '_');
        let (machine, split, original) = (
            parts.next().expect("type"),
            parts.next().expect("split"),
            parts.next().expect("name"),
        );
        let target = dir.path().join("dev_data").join(machine).join(split).join(original);
        fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
        fs::copy(&path, &target).expect("copy");
        n += 1;
    }
    assert_eq!(n, 11);
    // ToyCar has a train clip only and fan a train and test clip: a lenient scan reports ToyCar's missing test folder
    let (data, problems) = Dataset::scan(dir.path()).expect("scan");
    assert_eq!(problems.len(), 5, "{problems:?}"); // ToyCar lacks test/; bearing, gearbox, ToyTrain, valve lack train/
    assert_eq!((data.layout(), data.len()), (Layout::Dcase2021Plus, 11));
    let find = |name: &str| {
        data.clips()
            .iter()
            .find(|c| c.file_name == name)
            .unwrap_or_else(|| panic!("{name}"))
            .clone()
    };
    let gearbox = find("section_00_target_test_anomaly_0040_volt_1.5_wt_130.wav");
    assert_eq!(
        (gearbox.machine_type.as_str(), gearbox.domain, gearbox.condition),
        ("gearbox", Some(Domain::Target), Condition::Anomaly)
    );
    assert_eq!(gearbox.attributes, "volt_1.5_wt_130");
    let toycar = find("section_00_source_train_normal_0362_car_C2_spd_31V_mic_1.wav");
    assert_eq!(
        (toycar.split, toycar.attributes.as_str()),
        (Split::Train, "car_C2_spd_31V_mic_1")
    );
    let summary = Summary::new(&data, problems);
    assert_eq!(summary.rows.iter().map(|r| r.test.anomaly).sum::<usize>(), 5);
    assert_eq!(summary.rows.iter().map(|r| r.test.normal).sum::<usize>(), 4);
}

fn open_err(dir: &Path) -> Error {
    match Dataset::open(dir) {
        Ok(d) => panic!("expected an error, opened {} clips", d.len()),
        Err(e) => e,
    }
}

const GOOD: [&str; 3] = [
    "fan/train/normal_id_00_00000000.wav",
    "fan/train/normal_id_02_00000000.wav",
    "fan/test/anomaly_id_00_00000000.wav",
];

#[test]
fn bad_name_is_an_error_naming_the_file() {
    let dir = tree(&GOOD);
    let bad = wav(dir.path(), "fan/test/abnormal_id_00_00000000.wav");
    match open_err(dir.path()) {
        Error::BadName { path, reason } => {
            assert_eq!((path, reason.contains("abnormal")), (bad, true))
        }
        e => panic!("{e}"),
    }
}

#[test]
fn root_may_be_one_machine_type_folder() {
    let dir = tree(&TREE_2020);
    let data = Dataset::open(dir.path().join("dev_data/ToyCar")).expect("a type folder");
    assert_eq!(data.len(), 4);
    assert!(data.clips().iter().all(|c| c.machine_type == "ToyCar"));
    let dotted = dir.path().join("dev_data/ToyCar/train/..");
    let data = Dataset::open(&dotted).expect("a type folder through ..");
    assert_eq!(data.machine_types(), ["ToyCar"]);
}

#[test]
fn missing_train_or_test_folder() {
    let dir = tree(&["fan/test/anomaly_id_00_00000000.wav"]);
    assert!(matches!(open_err(dir.path()), Error::MissingFolder { path } if path == dir.path().join("fan/train")));
    let dir = tree(&["fan/train/normal_id_00_00000000.wav"]);
    assert!(matches!(open_err(dir.path()), Error::MissingFolder { path } if path == dir.path().join("fan/test")));
}

#[test]
fn empty_folder() {
    let dir = tree(&GOOD);
    fs::create_dir_all(dir.path().join("pump/train")).expect("mkdir");
    wav(dir.path(), "pump/test/normal_id_00_00000000.wav");
    assert!(matches!(open_err(dir.path()), Error::EmptyFolder { path } if path == dir.path().join("pump/train")));
}

#[test]
fn non_audio_files() {
    let dir = tree(&GOOD);
    fs::write(dir.path().join("fan/train/notes.txt"), "hello").expect("write");
    assert!(
        matches!(open_err(dir.path()), Error::NotAudio { path, .. } if path == dir.path().join("fan/train/notes.txt"))
    );
    let dir = tree(&GOOD);
    let fake = dir.path().join("fan/test/normal_id_00_00000001.wav");
    fs::write(&fake, "not a wav file at all").expect("write");
    assert!(matches!(open_err(dir.path()), Error::NotAudio { path, .. } if path == fake));
}

#[test]
fn unreadable_file() {
    let dir = tree(&GOOD);
    let dangling = dir.path().join("fan/test/normal_id_00_00000005.wav");
    std::os::unix::fs::symlink(dir.path().join("nowhere.wav"), &dangling).expect("symlink");
    assert!(matches!(open_err(dir.path()), Error::Io { path, .. } if path == dangling));
}

#[test]
fn mixed_layouts() {
    let dir = tree(&GOOD);
    wav(dir.path(), "valve/train/section_00_source_train_normal_0000_a.wav");
    // the first clip (by path) of the other grammar is named: test/ sorts before train/
    let late = wav(dir.path(), "valve/test/section_00_source_test_normal_0000_a.wav");
    assert!(matches!(open_err(dir.path()), Error::MixedLayouts { path } if path == late));
}

#[test]
fn misplaced_clips() {
    let dir = tree(&GOOD);
    let anomaly = wav(dir.path(), "fan/train/anomaly_id_00_00000001.wav");
    assert!(matches!(open_err(dir.path()), Error::Misplaced { path, .. } if path == anomaly));
    let dir = tree(&[
        "fan/train/section_00_source_train_normal_0000_a.wav",
        "fan/test/section_00_source_train_normal_0001_a.wav",
    ]);
    assert!(
        matches!(open_err(dir.path()), Error::Misplaced { path, .. } if path.ends_with("test/section_00_source_train_normal_0001_a.wav"))
    );
    let dir = tree(&[
        "fan/train/section_00_source_train_normal_0000.wav",
        "fan/source_test/section_00_target_test_normal_0000.wav",
    ]);
    assert!(matches!(open_err(dir.path()), Error::Misplaced { reason, .. } if reason.contains("source_test")));
}

#[test]
fn attribute_csv_cross_check() {
    let dir = tree(&[
        "fan/train/section_00_source_train_normal_0000_m-n_W.wav",
        "fan/train/section_00_source_train_normal_0001_m-n_W.wav",
        "fan/test/section_00_source_test_normal_0000_m-n_W.wav",
    ]);
    fs::write(
        dir.path().join("fan/attributes_00.csv"),
        "file_name,d1p,d1v\n\
         fan/train/section_00_source_train_normal_0000_m-n_W.wav,m-n,W\n\
         fan/train/section_00_source_train_normal_0001_m-n_W.wav,m-n,X\n",
    )
    .expect("csv");
    let data = Dataset::open(dir.path()).expect("valid tree");
    let mismatches = data.attribute_mismatches();
    assert_eq!(mismatches.len(), 1);
    assert!(
        mismatches[0]
            .path
            .ends_with("section_00_source_train_normal_0001_m-n_W.wav")
    );
    assert!(
        mismatches[0].reason.contains("\"m-n_X\" in the attribute CSV"),
        "{}",
        mismatches[0].reason
    );
    let text = Summary::new(&data, Vec::new()).to_string();
    assert!(text.contains("1 attribute mismatch(es)"), "{text}");
}

#[test]
fn bad_attribute_csv() {
    let dir = tree(&[
        "fan/train/section_00_source_train_normal_0000_a_1.wav",
        "fan/test/section_00_source_test_normal_0000_a_1.wav",
    ]);
    let csv = dir.path().join("fan/attributes_00.csv");
    fs::write(
        &csv,
        "file_name,d1p,d1v\nfan/train/section_00_source_train_normal_0000_a_1.wav,a\n",
    )
    .expect("write");
    assert!(
        matches!(open_err(dir.path()), Error::AttributeCsv { path, reason } if path == csv && reason.contains("line 2"))
    );
}

#[test]
fn no_layout() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::create_dir_all(dir.path().join("docs")).expect("mkdir");
    assert!(matches!(open_err(dir.path()), Error::NoLayout { path } if path == dir.path()));
    assert!(matches!(open_err(&dir.path().join("absent")), Error::Io { .. }));
}

#[test]
fn one_class_only() {
    let dir = tree(&[
        "fan/train/normal_id_00_00000000.wav",
        "fan/test/anomaly_id_00_00000000.wav",
    ]);
    let data = Dataset::open(dir.path()).expect("a valid tree");
    assert!(
        matches!(data.class_map(ClassScheme::TypeGroup), Err(Error::TooFewClasses { path, n_classes: 1, needed: 2 }) if path == dir.path())
    );
    // One model per machine type needs no second class.
    let by_type = data.class_map(ClassScheme::Type).expect("one type is enough");
    assert_eq!(by_type.names(), ["fan"]);
}

#[test]
fn lenient_scan_reports_every_problem() {
    let dir = tree(&GOOD);
    fs::write(dir.path().join("fan/train/notes.txt"), "hello").expect("write");
    wav(dir.path(), "fan/test/abnormal_id_00_00000000.wav");
    wav(dir.path(), "fan/train/anomaly_id_00_00000009.wav");
    fs::create_dir_all(dir.path().join("pump/train")).expect("mkdir");
    wav(dir.path(), "pump/test/normal_id_00_00000000.wav");
    wav(dir.path(), "valve/test/normal_id_00_00000000.wav");
    let (data, problems) = Dataset::scan(dir.path()).expect("scan");
    assert_eq!(data.len(), 5);
    let paths: Vec<PathBuf> = problems
        .iter()
        .map(|p| p.path.strip_prefix(dir.path()).expect("inside").to_path_buf())
        .collect();
    let expect = [
        "fan/test/abnormal_id_00_00000000.wav",
        "fan/train/anomaly_id_00_00000009.wav",
        "fan/train/notes.txt",
        "pump/train",
        "valve/train",
    ];
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(sorted, expect.map(PathBuf::from));
    let summary = Summary::new(&data, problems);
    let text = summary.to_string();
    assert!(text.contains("5 problem(s)") && text.contains("notes.txt"), "{text}");
    assert!(text.lines().nth(1).is_some_and(|l| l.starts_with("type")), "{text}");
    let json = serde_json::to_string(&summary).expect("json");
    let back: Summary = serde_json::from_str(&json).expect("parse");
    assert_eq!(back, summary);
}

/// Criterion (issue 17): a FIFO named like a clip is refused without being opened (opening it would block), as
/// `NotAudio` naming it; the lenient scan reports it and keeps the other clips.
#[cfg(unix)]
#[test]
fn fifo_named_like_a_clip_is_refused_without_blocking() {
    let dir = tree(&GOOD);
    let fifo = dir.path().join("fan/test/normal_id_00_00000009.wav");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    match open_err(dir.path()) {
        Error::NotAudio { path, reason } => {
            assert_eq!(path, fifo);
            assert!(reason.contains("regular file"), "{reason}");
        }
        e => panic!("{e}"),
    }
    let (data, problems) = Dataset::scan(dir.path()).expect("lenient scan");
    assert_eq!(data.len(), GOOD.len());
    assert!(problems.iter().any(|p| p.path == fifo), "{problems:?}");
}

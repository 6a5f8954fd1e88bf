//! Tests of the synthetic machine-sound generator: layouts and file names, determinism, config checks,
//! clip properties, and that every anomaly kind changes the spectrum measurably.

use asd_audio::AudioError;
use asd_audio::synth::{
    ClipSpec, Domain, GENERATOR_VERSION, MANIFEST_FILE, MachineType, SEVERITY_MAX, Split, SynthConfig, SynthLayout,
    generate, is_generated, render_clip,
};
use realfft::RealFftPlanner;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every file under `root`, as paths relative to it, sorted.
fn files(root: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("readable dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                walk(&path, root, out);
            } else {
                out.push(path.strip_prefix(root).expect("under root").to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

fn generate_into(config: &SynthConfig, dir: &Path) {
    let mut last = (0, 0);
    let summary = generate(config, dir, &mut |done, total| last = (done, total)).expect("generate");
    assert_eq!(last.0, last.1, "progress ends at the total");
    assert_eq!(summary.n_clips as u64, last.1);
}

fn small_2020() -> SynthConfig {
    SynthConfig {
        layout: SynthLayout::Dcase2020,
        types: 2,
        ids: 3,
        train: 10,
        test: 6,
        seconds: 2.0,
        seed: 7,
        supplemental: None,
        severity: None,
    }
}

#[test]
fn dcase2020_layout_writes_exactly_the_expected_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    generate_into(&small_2020(), dir.path());
    // Built here from the grammar of dcase_protocols.md §1.2, independently of the generator's naming code.
    let mut expected = BTreeSet::from([PathBuf::from(MANIFEST_FILE)]);
    for machine in ["fan", "pump"] {
        for id in ["00", "02", "04"] {
            for i in 0..10 {
                expected.insert(format!("{machine}/train/normal_id_{id}_{i:08}.wav").into());
            }
            for cond in ["normal", "anomaly"] {
                for i in 0..6 {
                    expected.insert(format!("{machine}/test/{cond}_id_{id}_{i:08}.wav").into());
                }
            }
        }
    }
    let got: BTreeSet<PathBuf> = files(dir.path()).into_iter().collect();
    assert_eq!(got, expected);
    assert_eq!(got.len(), 1 + 2 * 3 * (10 + 12));

    let manifest = std::fs::read_to_string(dir.path().join(MANIFEST_FILE)).expect("manifest");
    assert!(
        manifest.contains(&format!("version = \"{GENERATOR_VERSION}\"")),
        "{manifest}"
    );
    assert!(
        manifest.contains("synthetic = true") && manifest.contains("layout = \"dcase2020\""),
        "{manifest}"
    );
    assert!(
        manifest.contains("seed = 7") && manifest.contains("seconds = 2.0"),
        "{manifest}"
    );
}

/// Criterion (issue 17): the manifest is written last, so a generation interrupted before it is recognised as
/// incomplete (as is a tree of other settings), and generating again removes the temporary files the interrupted
/// run left and gives the complete tree.
#[test]
fn an_interrupted_generation_is_recognised_and_completed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = small_2020();
    generate_into(&config, dir.path());
    let complete = files(dir.path());
    assert!(is_generated(&config, dir.path()));
    assert!(!is_generated(&SynthConfig { seed: 8, ..config }, dir.path()));

    // What a kill in the middle leaves: no manifest, a missing clip, a temporary file.
    std::fs::remove_file(dir.path().join(MANIFEST_FILE)).expect("remove manifest");
    std::fs::remove_file(dir.path().join(&complete[5])).expect("remove a clip");
    let leftover = dir.path().join("fan/train/.asd-tmp-1-normal_id_00_00000003.wav");
    std::fs::write(&leftover, b"RIFF").expect("leftover");
    assert!(!is_generated(&config, dir.path()));
    generate_into(&config, dir.path());
    assert!(is_generated(&config, dir.path()));
    assert_eq!(files(dir.path()), complete);
}

#[test]
fn toyadmos_ids_start_at_01() {
    let config = SynthConfig {
        types: 6,
        ids: 2,
        train: 1,
        test: 1,
        seconds: 0.5,
        ..SynthConfig::default()
    };
    let names: BTreeSet<String> = config
        .clips()
        .iter()
        .filter(|c| c.split == Split::Train)
        .map(|c| c.relative_path().to_string_lossy().into_owned())
        .collect();
    for name in [
        "ToyCar/train/normal_id_01_00000000.wav",
        "ToyConveyor/train/normal_id_02_00000000.wav",
    ] {
        assert!(names.contains(name), "{name} missing from {names:?}");
    }
    assert!(names.contains("valve/train/normal_id_02_00000000.wav"));
}

/// `(section, domain, split, condition, index, attributes)` of a 2021+ file name
/// (`dcase_protocols.md` §2.2: `^section_(\d{2})_(source|target)_(train|test)_(normal|anomaly)_(\d{4})(?:_(.*))?$`).
fn parse_2023(name: &str) -> (String, String, String, String, String, String) {
    let stem = name.strip_suffix(".wav").expect(".wav");
    let tokens: Vec<&str> = stem.splitn(7, '_').collect();
    assert_eq!(tokens.len(), 7, "{name}");
    assert_eq!(tokens[0], "section", "{name}");
    assert!(
        tokens[1].len() == 2 && tokens[1].bytes().all(|b| b.is_ascii_digit()),
        "{name}"
    );
    assert!(["source", "target"].contains(&tokens[2]), "{name}");
    assert!(["train", "test"].contains(&tokens[3]), "{name}");
    assert!(["normal", "anomaly"].contains(&tokens[4]), "{name}");
    let (index, attrs) = tokens[5..]
        .split_first()
        .map(|(i, a)| (*i, a.join("_")))
        .expect("index");
    assert!(index.len() == 4 && index.bytes().all(|b| b.is_ascii_digit()), "{name}");
    let s = |t: &str| t.to_string();
    (s(tokens[1]), s(tokens[2]), s(tokens[3]), s(tokens[4]), s(index), attrs)
}

#[test]
fn dcase2023_layout_writes_sections_domains_and_attribute_tables() {
    let config = SynthConfig {
        layout: SynthLayout::Dcase2023,
        types: 7,
        ids: 2,
        train: 12,
        test: 3,
        seconds: 0.5,
        seed: 3,
        supplemental: None,
        severity: None,
    };
    let dir = tempfile::tempdir().expect("tempdir");
    generate_into(&config, dir.path());
    let all = files(dir.path());
    let expected_types = ["fan", "gearbox", "bearing", "valve", "slider", "ToyCar", "ToyTrain"];
    // Attribute keys of each type, modelled on the real DCASE 2023 names.
    let keys: BTreeMap<&str, Vec<&str>> = BTreeMap::from([
        ("fan", vec!["m-n"]),
        ("gearbox", vec!["volt", "wt"]),
        ("bearing", vec!["vel", "loc"]),
        ("valve", vec!["pat"]),
        ("slider", vec!["vel", "ac"]),
        ("ToyCar", vec!["car", "spd", "mic"]),
        ("ToyTrain", vec!["car", "spd", "mic"]),
    ]);
    let mut counts: BTreeMap<(String, String, String, String, String), usize> = BTreeMap::new();
    let mut wavs = 0;
    for rel in &all {
        let parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
        match parts.as_slice() {
            [m] => assert_eq!(m, MANIFEST_FILE),
            [machine, csv] => {
                assert!(expected_types.contains(&machine.as_str()), "{rel:?}");
                assert!(csv == "attributes_00.csv" || csv == "attributes_01.csv", "{rel:?}");
            }
            [machine, split, name] => {
                wavs += 1;
                let (section, domain, split_in_name, cond, _, attrs) = parse_2023(name);
                assert_eq!(split, &split_in_name, "{rel:?}");
                let attr_keys: Vec<&str> = attrs.split('_').step_by(2).collect();
                assert_eq!(attr_keys, keys[machine.as_str()], "{rel:?}");
                *counts
                    .entry((machine.clone(), section, domain, split.clone(), cond))
                    .or_default() += 1;
            }
            _ => panic!("unexpected path {rel:?}"),
        }
    }
    // Per type and section: 12 source + max(1, 12 / 10) = 1 target training clips, 3 + 3 test clips per domain.
    assert_eq!(wavs, 7 * 2 * (12 + 1 + 4 * 3));
    for machine in expected_types {
        for section in ["00", "01"] {
            let n = |d: &str, s: &str, c: &str| {
                counts
                    .get(&(machine.into(), section.into(), d.into(), s.into(), c.into()))
                    .copied()
                    .unwrap_or(0)
            };
            assert_eq!(n("source", "train", "normal"), 12, "{machine} {section}");
            assert_eq!(n("target", "train", "normal"), 1, "{machine} {section}");
            assert_eq!(n("source", "train", "anomaly") + n("target", "train", "anomaly"), 0);
            for d in ["source", "target"] {
                assert_eq!(
                    (n(d, "test", "normal"), n(d, "test", "anomaly")),
                    (3, 3),
                    "{machine} {section} {d}"
                );
            }
            // attributes_SS.csv: header file_name,d1p,d1v,…; a row per clip of the section, matching its name.
            let csv = std::fs::read_to_string(dir.path().join(machine).join(format!("attributes_{section}.csv")))
                .expect("attributes csv");
            let mut lines = csv.lines();
            let header: Vec<String> = (1..=keys[machine].len())
                .flat_map(|d| [format!("d{d}p"), format!("d{d}v")])
                .collect();
            assert_eq!(lines.next(), Some(format!("file_name,{}", header.join(",")).as_str()));
            let rows: Vec<&str> = lines.collect();
            assert_eq!(rows.len(), 12 + 1 + 4 * 3);
            for row in rows {
                let fields: Vec<&str> = row.split(',').collect();
                assert!(dir.path().join(fields[0]).is_file(), "{row}");
                let prefix = format!("{machine}/");
                let name = fields[0]
                    .strip_prefix(&prefix)
                    .and_then(|r| r.split('/').nth(1))
                    .expect("type/split/name");
                let (sec, _, _, _, _, attrs) = parse_2023(name);
                assert_eq!(sec, section);
                assert_eq!(attrs, fields[1..].join("_"), "{row}");
            }
        }
    }
}

#[test]
fn target_domain_attributes_differ_from_source_ones() {
    let config = SynthConfig {
        layout: SynthLayout::Dcase2023,
        types: 7,
        ids: 1,
        train: 30,
        test: 5,
        ..Default::default()
    };
    for &machine in config.machine_types() {
        let values = |domain| -> BTreeSet<String> {
            config
                .clips()
                .iter()
                .filter(|c| c.machine == machine && c.domain == domain)
                .map(|c| {
                    c.attributes()
                        .iter()
                        .map(|(k, v)| format!("{k}_{v}"))
                        .collect::<Vec<_>>()
                        .join("_")
                })
                .collect()
        };
        let (source, target) = (values(Domain::Source), values(Domain::Target));
        assert!(
            source.is_disjoint(&target),
            "{}: {source:?} vs {target:?}",
            machine.name()
        );
    }
}

#[test]
fn same_seed_gives_identical_bytes_and_another_seed_differs() {
    let config = small_2020();
    let (a, b, c) = (
        tempfile::tempdir().expect("a"),
        tempfile::tempdir().expect("b"),
        tempfile::tempdir().expect("c"),
    );
    generate_into(&config, a.path());
    generate_into(&config, b.path());
    generate_into(
        &SynthConfig {
            seed: 8,
            ..config.clone()
        },
        c.path(),
    );
    let names = files(a.path());
    assert_eq!(names, files(b.path()));
    assert_eq!(names, files(c.path()));
    let read = |root: &Path, rel: &Path| std::fs::read(root.join(rel)).expect("read");
    for rel in &names {
        assert!(
            read(a.path(), rel) == read(b.path(), rel),
            "{rel:?} differs between runs of one seed"
        );
        if rel.extension().is_some_and(|e| e == "wav") {
            assert!(
                read(a.path(), rel) != read(c.path(), rel),
                "{rel:?} equal for seeds 7 and 8"
            );
        }
    }
}

#[test]
fn check_rejects_each_out_of_range_field() {
    let ok = SynthConfig::default();
    assert!(ok.check().is_ok());
    let cases: Vec<(SynthConfig, &str)> = vec![
        (SynthConfig { types: 0, ..ok.clone() }, "types"),
        (SynthConfig { types: 7, ..ok.clone() }, "types"),
        (
            SynthConfig {
                layout: SynthLayout::Dcase2023,
                types: 8,
                ..ok.clone()
            },
            "types",
        ),
        (SynthConfig { ids: 0, ..ok.clone() }, "ids"),
        (SynthConfig { ids: 7, ..ok.clone() }, "ids"), // ToyConveyor has 6 IDs
        (
            SynthConfig {
                ids: 8,
                types: 5,
                ..ok.clone()
            },
            "ids",
        ),
        (
            SynthConfig {
                layout: SynthLayout::Dcase2023,
                ids: 7,
                ..ok.clone()
            },
            "ids",
        ),
        (SynthConfig { train: 0, ..ok.clone() }, "train"),
        (SynthConfig { test: 0, ..ok.clone() }, "test"),
        (
            SynthConfig {
                seconds: 0.0,
                ..ok.clone()
            },
            "seconds",
        ),
        (
            SynthConfig {
                seconds: f32::NAN,
                ..ok.clone()
            },
            "seconds",
        ),
        (
            SynthConfig {
                seconds: 61.0,
                ..ok.clone()
            },
            "seconds",
        ),
        (
            SynthConfig {
                severity: Some(-0.1),
                ..ok.clone()
            },
            "severity",
        ),
        (
            SynthConfig {
                severity: Some(SEVERITY_MAX + 0.5),
                ..ok.clone()
            },
            "severity",
        ),
        (
            SynthConfig {
                severity: Some(f32::NAN),
                ..ok.clone()
            },
            "severity",
        ),
    ];
    for (config, field) in cases {
        match config.check() {
            Err(AudioError::SynthConfig { field: f, .. }) => assert_eq!(f, field, "{config:?}"),
            other => panic!("{config:?}: expected a `{field}` error, got {other:?}"),
        }
    }
    assert!(
        SynthConfig {
            ids: 7,
            types: 5,
            ..ok.clone()
        }
        .check()
        .is_ok()
    );
    // A bad config is refused before anything is written.
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("never");
    assert!(generate(&SynthConfig { train: 0, ..ok }, &out, &mut |_, _| {}).is_err());
    assert!(!out.exists());
}

/// Every machine type of both layouts, normal and each anomaly kind (drawn and strongest severity).
fn all_variants(seconds: f32) -> Vec<ClipSpec> {
    let mut out = Vec::new();
    for layout in [SynthLayout::Dcase2020, SynthLayout::Dcase2023] {
        for &machine in layout.machine_types() {
            for domain in [Domain::Source, Domain::Target] {
                let base = ClipSpec {
                    layout,
                    machine,
                    group: 1,
                    split: Split::Test,
                    domain,
                    anomaly: None,
                    severity: None,
                    index: 2,
                    seconds,
                    seed: 11,
                };
                out.push(base);
                for severity in [None, Some(SEVERITY_MAX)] {
                    out.extend(machine.anomalies().iter().map(|&k| ClipSpec {
                        anomaly: Some(k),
                        severity,
                        ..base
                    }));
                }
            }
        }
    }
    out
}

#[test]
fn clips_are_finite_16k_of_the_right_length_and_never_clip() {
    for spec in all_variants(1.5) {
        let wave = render_clip(&spec);
        assert_eq!(wave.sample_rate, 16_000);
        assert_eq!(wave.samples.len(), 24_000, "{spec:?}");
        assert!(wave.samples.iter().all(|s| s.is_finite()), "{spec:?}");
        let peak = wave.samples.iter().fold(0f32, |m, s| m.max(s.abs()));
        let rms = (wave.samples.iter().map(|s| s * s).sum::<f32>() / wave.samples.len() as f32).sqrt();
        // Peak limit 0.95 (< 1: no 16-bit clipping); RMS within the documented −30…−22 dBFS unless the peak
        // limit lowered it.
        assert!(peak <= 0.95 + 1e-6, "{spec:?}: peak {peak}");
        assert!(
            rms > 10f32.powf(-40.0 / 20.0) && rms < 10f32.powf(-22.0 / 20.0) + 1e-6,
            "{spec:?}: rms {rms}"
        );
    }
}

const N_FFT: usize = 1024;
const HOP: usize = 512;
/// Log-spaced analysis bands (Hz) for the spectral-change test: 24 bands from 30 Hz to 7.9 kHz.
fn band_edges() -> Vec<f64> {
    (0..=24)
        .map(|i| 30.0 * (7900.0f64 / 30.0).powf(i as f64 / 24.0))
        .collect()
}

/// Mean over frames of the log energy (dB) in each band of [`band_edges`] (Hann window, 1024-point FFT),
/// relative to the clip's mean over bands.
fn band_profile(samples: &[f32]) -> Vec<f64> {
    let fft = RealFftPlanner::<f64>::new().plan_fft_forward(N_FFT);
    let edges = band_edges();
    let window: Vec<f64> = (0..N_FFT)
        .map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / N_FFT as f64).cos())
        .collect();
    let (mut buf, mut spec) = (vec![0.0; N_FFT], fft.make_output_vec());
    let mut acc = vec![0.0; edges.len() - 1];
    let mut frames = 0;
    for start in (0..samples.len().saturating_sub(N_FFT)).step_by(HOP) {
        for (b, (x, w)) in buf.iter_mut().zip(samples[start..].iter().zip(&window)) {
            *b = f64::from(*x) * w;
        }
        fft.process(&mut buf, &mut spec).expect("fft");
        for (k, a) in acc.iter_mut().enumerate() {
            let (lo, hi) = (
                (edges[k] * N_FFT as f64 / 16_000.0) as usize,
                (edges[k + 1] * N_FFT as f64 / 16_000.0) as usize,
            );
            let e: f64 = spec[lo..=hi.max(lo)].iter().map(|c| c.norm_sqr()).sum();
            *a += 10.0 * (e + 1e-20).log10();
        }
        frames += 1;
    }
    // Remove the clip's overall level (the random gain): keep the spectral shape.
    let level = acc.iter().sum::<f64>() / (acc.len() * frames) as f64;
    acc.iter().map(|a| a / frames as f64 - level).collect()
}

/// The largest |Welch t| over bands between two sets of band profiles.
fn max_t(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
    let stats = |set: &[Vec<f64>], k: usize| {
        let n = set.len() as f64;
        let mean = set.iter().map(|p| p[k]).sum::<f64>() / n;
        let var = set.iter().map(|p| (p[k] - mean).powi(2)).sum::<f64>() / (n - 1.0);
        (mean, var / n)
    };
    (0..a[0].len())
        .map(|k| {
            let ((ma, va), (mb, vb)) = (stats(a, k), stats(b, k));
            (ma - mb).abs() / (va + vb).sqrt().max(1e-9)
        })
        .fold(0.0, f64::max)
}

#[test]
fn every_anomaly_kind_changes_the_band_energies() {
    // Criterion: for each type and anomaly kind at the top of its severity range, some band's mean log
    // energy (relative to the clip's mean) over 16 anomalous clips differs from that over 16 normal clips of
    // the same machine by |t| > 3.5, while two sets of 16 normal clips differ by |t| < 3.5 in every band.
    const N: usize = 16;
    const T_LIMIT: f64 = 3.5;
    let mut weak = Vec::new();
    for layout in [SynthLayout::Dcase2020, SynthLayout::Dcase2023] {
        for &machine in layout.machine_types() {
            let spec = |anomaly, index| ClipSpec {
                layout,
                machine,
                group: 0,
                split: Split::Test,
                domain: Domain::Source,
                anomaly,
                severity: Some(1.0),
                index,
                seconds: 2.0,
                seed: 5,
            };
            let profiles = |anomaly, from: usize| -> Vec<Vec<f64>> {
                (from..from + N)
                    .map(|i| band_profile(&render_clip(&spec(anomaly, i)).samples))
                    .collect()
            };
            let normal = profiles(None, 0);
            let control = max_t(&normal, &profiles(None, N));
            eprintln!("{:12} {:16} max |t| {control:.1}", machine.name(), "(normal)");
            assert!(
                control < T_LIMIT,
                "{}: normal vs normal |t| = {control:.1}",
                machine.name()
            );
            for &kind in machine.anomalies() {
                let t = max_t(&normal, &profiles(Some(kind), 0));
                eprintln!("{:12} {:16} max |t| {t:.1}", machine.name(), kind.name());
                if t <= T_LIMIT {
                    weak.push(format!("{} {}: |t| = {t:.1}", machine.name(), kind.name()));
                }
            }
        }
    }
    assert!(
        weak.is_empty(),
        "anomalies without a measurable spectral change: {weak:?}"
    );
}

#[test]
fn a_fixed_severity_changes_only_the_anomalies_and_stronger_ones_more() {
    // Same dataset with drawn and with fixed severities: the normal clips are byte-identical, every anomalous
    // clip differs.
    let drawn = small_2020();
    let fixed = SynthConfig {
        severity: Some(2.0),
        ..drawn.clone()
    };
    let (a, b) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    generate_into(&drawn, a.path());
    generate_into(&fixed, b.path());
    let read = |root: &Path, rel: &Path| std::fs::read(root.join(rel)).expect("read");
    let rels: Vec<PathBuf> = files(a.path())
        .into_iter()
        .filter(|r| r.extension().is_some_and(|e| e == "wav"))
        .collect();
    assert_eq!(
        rels,
        files(b.path())
            .into_iter()
            .filter(|r| r.extension().is_some_and(|e| e == "wav"))
            .collect::<Vec<_>>()
    );
    for rel in &rels {
        let anomalous = rel.to_string_lossy().contains("anomaly_");
        let same = read(a.path(), rel) == read(b.path(), rel);
        assert_eq!(same, !anomalous, "{rel:?}");
    }
    // Positions above SEVERITY_MAX are clamped to it.
    let spec = |severity| ClipSpec {
        layout: SynthLayout::Dcase2020,
        machine: MachineType::Fan,
        group: 0,
        split: Split::Test,
        domain: Domain::Source,
        anomaly: Some(MachineType::Fan.anomalies()[0]),
        severity: Some(severity),
        index: 4,
        seconds: 1.0,
        seed: 9,
    };
    assert_eq!(render_clip(&spec(SEVERITY_MAX)), render_clip(&spec(SEVERITY_MAX + 7.0)));
    // Twice the strongest benchmark fault moves the band energies further from the normal clips than the
    // strongest one, for every kind of a type (16 clips per set, as in the test above).
    const N: usize = 16;
    for &kind in MachineType::Pump.anomalies() {
        let profiles = |anomaly, severity| -> Vec<Vec<f64>> {
            (0..N)
                .map(|index| {
                    let clip = ClipSpec {
                        machine: MachineType::Pump,
                        anomaly,
                        severity,
                        index,
                        seconds: 2.0,
                        ..spec(0.0)
                    };
                    band_profile(&render_clip(&clip).samples)
                })
                .collect()
        };
        let normal = profiles(None, None);
        let (t1, t2) = (
            max_t(&normal, &profiles(Some(kind), Some(1.0))),
            max_t(&normal, &profiles(Some(kind), Some(2.0))),
        );
        assert!(t2 > t1, "pump {}: |t| {t1:.1} at severity 1, {t2:.1} at 2", kind.name());
    }
}

/// The 2025 and 2026 trees (issue 21): hidden attributes as each year writes them (`_noAttribute`, a trailing
/// `_`), 2025's supplemental folders, 2026's type names, two channels and per-type lengths, attribute tables
/// without parameter columns for hidden types, the layout in the manifest.
#[test]
fn dcase2025_and_2026_layouts_write_their_trees() {
    for layout in [SynthLayout::Dcase2025, SynthLayout::Dcase2026] {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = SynthConfig {
            layout,
            types: 7,
            ids: 1,
            train: 10,
            test: 1,
            seconds: 0.5,
            seed: 4,
            supplemental: None,
            severity: None,
        };
        generate_into(&config, dir.path());
        let written = files(dir.path());
        let manifest = std::fs::read_to_string(dir.path().join(MANIFEST_FILE)).expect("manifest");
        assert!(
            manifest.contains(&format!("layout = \"{}\"", layout.name())),
            "{manifest}"
        );
        for spec in config.clips() {
            let rel = spec.relative_path();
            assert!(written.contains(&rel), "{rel:?} written");
            let name = spec.file_name();
            let hidden = layout.hides_attributes(spec.machine) && spec.split != Split::Supplemental;
            match layout {
                SynthLayout::Dcase2025 if hidden => assert!(name.ends_with("_noAttribute.wav"), "{name}"),
                SynthLayout::Dcase2026 if hidden => assert!(name.ends_with("_.wav"), "{name}"),
                _ => assert!(!name.ends_with("_.wav") && !name.contains("noAttribute"), "{name}"),
            }
            let info = asd_audio::probe(&dir.path().join(&rel)).expect("header");
            assert_eq!(
                (info.channels, info.frames as usize),
                (spec.channels(), spec.n_samples()),
                "{rel:?}"
            );
        }
        let types: BTreeSet<&str> = config.clips().iter().map(|c| c.type_name()).collect();
        let supplemental = written
            .iter()
            .filter(|p| p.to_string_lossy().contains("/supplemental/"))
            .count();
        match layout {
            SynthLayout::Dcase2025 => {
                assert_eq!(supplemental, 7, "one per type (a tenth of 10 training clips)");
                let tables = std::fs::read_to_string(dir.path().join("bearing/attributes_00.csv")).expect("csv");
                assert!(
                    tables
                        .starts_with("file_name\nbearing/train/section_00_source_train_normal_0000_noAttribute.wav\n")
                );
            }
            _ => {
                assert_eq!(supplemental, 0);
                let expected = [
                    "ToyCar",
                    "ToyCarEmu",
                    "bearingEmu",
                    "fan",
                    "gearboxEmu",
                    "sliderEmu",
                    "valveEmu",
                ];
                assert_eq!(types, expected.into_iter().collect());
                let lengths: BTreeSet<usize> = config.clips().iter().map(ClipSpec::n_samples).collect();
                assert_eq!(
                    lengths,
                    [4_800, 8_000, 12_800].into_iter().collect(),
                    "0.6, 1 and 1.6 × 0.5 s"
                );
                let fan = config
                    .clips()
                    .into_iter()
                    .find(|c| c.machine == MachineType::Fan)
                    .expect("fan");
                assert!(fan.file_name().contains("_noise_"), "{}", fan.file_name());
            }
        }
    }
}

/// The 2026 layout's far channel hears the same machine as the near one, through a room and over its own louder
/// background: the two are correlated but far from equal, for every type (the unit tests of `synth::machines`
/// check the mixtures themselves).
#[test]
fn the_far_channel_hears_the_near_channels_machine() {
    for &machine in SynthLayout::Dcase2026.machine_types() {
        let spec = ClipSpec {
            layout: SynthLayout::Dcase2026,
            machine,
            group: 0,
            split: Split::Train,
            domain: Domain::Source,
            anomaly: None,
            severity: None,
            index: 1,
            seconds: 4.0,
            seed: 3,
        };
        let channels = asd_audio::synth::render_channels(&spec);
        let (near, far) = (&channels[0], &channels[1]);
        assert_eq!(near, &render_clip(&spec).samples, "render_clip gives the near channel");
        let dot: f64 = near.iter().zip(far).map(|(a, b)| f64::from(a * b)).sum();
        let norm = |x: &[f32]| x.iter().map(|v| f64::from(v * v)).sum::<f64>().sqrt();
        let correlation = dot / (norm(near) * norm(far));
        assert!(
            correlation > 0.05 && correlation < 0.9,
            "{machine:?}: correlation {correlation}"
        );
    }
}

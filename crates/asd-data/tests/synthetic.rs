//! The synthetic benchmark of asd-audio, written in every DCASE layout it has, read back strictly: every clip the
//! generator's own specification lists is found with the labels, group, domain, attributes (hidden ones as
//! `noAttribute` in 2025 and an empty string in 2026) and channel count it was given, and DCASE 2025's
//! supplemental clips are listed apart with their kind, never among the training or test clips.

use asd_audio::synth::{self, SynthConfig, SynthLayout};
use asd_data::{ClassScheme, Condition, Dataset, Domain, Layout, NO_ATTRIBUTE, Split, Summary, SupplementalKind};

#[test]
fn synthetic_datasets_read_back_strictly() {
    for (synth_layout, layout) in [
        (SynthLayout::Dcase2020, Layout::Dcase2020),
        (SynthLayout::Dcase2023, Layout::Dcase2021Plus),
        (SynthLayout::Dcase2025, Layout::Dcase2021Plus),
        (SynthLayout::Dcase2026, Layout::Dcase2021Plus),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = SynthConfig {
            layout: synth_layout,
            types: 3,
            ids: 2,
            train: 3,
            test: 1,
            seconds: 0.1,
            seed: 1,
            supplemental: None,
            severity: None,
        };
        synth::generate(&config, dir.path(), &mut |_, _| {}).expect("generate");
        let data = Dataset::open(dir.path()).expect("a valid tree");
        let (supplemental, specs): (Vec<_>, Vec<_>) = config
            .clips()
            .into_iter()
            .partition(|c| c.split == synth::Split::Supplemental);
        assert_eq!(
            (data.layout(), data.len()),
            (layout, specs.len()),
            "{}",
            synth_layout.name()
        );
        let n_supplemental = if synth_layout == SynthLayout::Dcase2025 { 3 } else { 0 };
        assert_eq!(
            supplemental.len(),
            n_supplemental,
            "a tenth of the training clips, at least 1, per type"
        );
        assert_eq!(data.supplemental().len(), supplemental.len());
        for spec in &supplemental {
            let path = dir.path().join(spec.relative_path());
            let clip = data
                .supplemental()
                .iter()
                .find(|c| c.path == path)
                .unwrap_or_else(|| panic!("{}", path.display()));
            let kind = match synth_layout.supplemental_kind(spec.machine) {
                synth::SupplementalKind::CleanMachine => SupplementalKind::CleanMachine,
                synth::SupplementalKind::NoiseOnly => SupplementalKind::NoiseOnly,
            };
            assert_eq!(
                (clip.kind, clip.section, clip.machine_type.as_str()),
                (kind, Some(0), spec.type_name())
            );
        }
        for spec in &specs {
            let path = dir.path().join(spec.relative_path());
            let clip = data
                .clips()
                .iter()
                .find(|c| c.path == path)
                .unwrap_or_else(|| panic!("{}", path.display()));
            let condition = if spec.anomaly.is_some() {
                Condition::Anomaly
            } else {
                Condition::Normal
            };
            let split = match spec.split {
                synth::Split::Train => Split::Train,
                _ => Split::Test,
            };
            let domain = match (layout, spec.domain) {
                (Layout::Dcase2020, _) => None,
                (_, synth::Domain::Source) => Some(Domain::Source),
                (_, synth::Domain::Target) => Some(Domain::Target),
            };
            let attributes: Vec<String> = match synth_layout {
                l if !l.hides_attributes(spec.machine) => {
                    spec.attributes().iter().map(|(k, v)| format!("{k}_{v}")).collect()
                }
                SynthLayout::Dcase2025 => vec![NO_ATTRIBUTE.to_string()],
                _ => Vec::new(),
            };
            assert_eq!(
                (
                    clip.condition,
                    clip.split,
                    clip.domain,
                    clip.id_or_section as usize,
                    clip.attributes.clone()
                ),
                (condition, split, domain, spec.group_label(), attributes.join("_")),
                "{}",
                path.display()
            );
            assert_eq!(clip.machine_type, spec.type_name());
            let info = asd_audio::probe(&path).expect("header");
            assert_eq!(info.channels, spec.channels());
            assert_eq!(info.frames as usize, spec.n_samples());
        }
        // `asd index`'s per-type table: channels, lengths and supplemental counts.
        let summary = Summary::new(&data, Vec::new());
        assert!(summary.problems.is_empty(), "{:?}", summary.problems);
        assert_eq!(summary.types.len(), 3);
        for t in &summary.types {
            let spec = specs
                .iter()
                .find(|s| s.type_name() == t.machine_type)
                .expect("a type of the config");
            assert_eq!(t.channels, vec![spec.channels()], "{}", t.machine_type);
            assert!((t.min_seconds - spec.n_samples() as f64 / 16_000.0).abs() < 1e-9);
            assert_eq!(t.min_seconds, t.max_seconds);
            let (clean, noise) = match (n_supplemental, synth_layout.supplemental_kind(spec.machine)) {
                (0, _) => (0, 0),
                (_, synth::SupplementalKind::CleanMachine) => (1, 0),
                (_, synth::SupplementalKind::NoiseOnly) => (0, 1),
            };
            assert_eq!(
                (t.supplemental_clean, t.supplemental_noise),
                (clean, noise),
                "{}",
                t.machine_type
            );
        }
        assert!(
            data.attribute_mismatches().is_empty(),
            "{:?}",
            data.attribute_mismatches()
        );
        let map = data.class_map(ClassScheme::TypeGroup).expect("classes");
        match layout {
            // fan, pump, slider with IDs 00 and 02: canonical classes 7·t + k
            Layout::Dcase2020 => {
                let classes: Vec<usize> = [
                    "fan/id_00",
                    "fan/id_02",
                    "pump/id_00",
                    "pump/id_02",
                    "slider/id_00",
                    "slider/id_02",
                ]
                .iter()
                .map(|n| map.class_named(n).expect("class"))
                .collect();
                assert_eq!((map.len(), classes), (41, vec![0, 2, 7, 9, 14, 16]));
            }
            Layout::Dcase2021Plus => assert_eq!(map.len(), 6),
        }
    }
}

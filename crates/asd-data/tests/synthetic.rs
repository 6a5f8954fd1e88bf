//! The synthetic benchmark of asd-audio, written in both DCASE layouts, read back strictly: every clip the
//! generator's own specification lists is found with the labels, group, domain and attributes it was given.

use asd_audio::synth::{self, SynthConfig, SynthLayout};
use asd_data::{ClassScheme, Condition, Dataset, Domain, Layout, Split};

#[test]
fn synthetic_datasets_read_back_strictly() {
    for (synth_layout, layout) in [
        (SynthLayout::Dcase2020, Layout::Dcase2020),
        (SynthLayout::Dcase2023, Layout::Dcase2021Plus),
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
            severity: None,
        };
        synth::generate(&config, dir.path(), &mut |_, _| {}).expect("generate");
        let data = Dataset::open(dir.path()).expect("a valid tree");
        let specs = config.clips();
        assert_eq!((data.layout(), data.len()), (layout, specs.len()));
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
                synth::Split::Test => Split::Test,
            };
            let domain = match (layout, spec.domain) {
                (Layout::Dcase2020, _) => None,
                (_, synth::Domain::Source) => Some(Domain::Source),
                (_, synth::Domain::Target) => Some(Domain::Target),
            };
            let attributes: Vec<String> = spec.attributes().iter().map(|(k, v)| format!("{k}_{v}")).collect();
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
            assert_eq!(clip.machine_type, spec.machine.name());
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

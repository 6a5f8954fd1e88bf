//! Class maps: clip metadata → contiguous class indices for the classifiers of the seed papers.

use crate::clip::Layout;
use crate::clip::{Clip, NO_ATTRIBUTE};
use crate::error::{Error, Result};
use crate::name::group_name;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// DCASE 2020 machine types in the order `t` of the canonical class index `7·t + k`
/// (`dcase_protocols.md` §1.1, from the STgram-MFN reference code's `ID_factor`).
pub const DCASE2020_TYPES: [&str; 6] = ["fan", "pump", "slider", "valve", "ToyCar", "ToyConveyor"];
/// First machine ID of each type of [`DCASE2020_TYPES`]: 00 for MIMII types, 01 for ToyADMOS types (§1.1).
const DCASE2020_FIRST_ID: [u32; 6] = [0, 0, 0, 0, 1, 1];
/// Number of machine IDs (dev + additional training) of each type of [`DCASE2020_TYPES`] (§1.1).
const DCASE2020_N_IDS: [u32; 6] = [7, 7, 7, 7, 7, 6];
/// The stride `7` of the canonical index `7·t + k` (§1.1).
const DCASE2020_IDS_PER_TYPE: usize = 7;
/// Number of classes of the canonical DCASE 2020 map (§1.1: 41 training classes).
pub const DCASE2020_N_CLASSES: usize = 41;

/// Which metadata makes a class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassScheme {
    /// Machine type × group: type × ID (2020) or type × section (2021–25).
    TypeGroup,
    /// Machine type × section × domain × attribute string (2021–25; `""` and `noAttribute` are one value).
    TypeGroupDomainAttribute,
}

/// Contiguous class indices `0..len()` with a name per class.
///
/// Names are `type/group` (`fan/id_00`) or `type/group/domain/attributes` (`fan/section_00/source/m-n_W`;
/// a missing domain or attribute is written as an empty field).
///
/// Order: for [`ClassScheme::TypeGroup`] on DCASE 2020 clips whose types and IDs are all in the official
/// table, the canonical index `7·t + k` of `dcase_protocols.md` §1.1 ([`ClassMap::dcase2020`], 41 classes,
/// whichever of them the clips hold; decisions.md §4). Otherwise (other types, such as synthetic ones, or
/// 2021–25 data) the classes present in the clips, sorted by name (byte order), numbered from 0.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "ClassMapData", from = "ClassMapData")]
pub struct ClassMap {
    scheme: ClassScheme,
    names: Vec<String>,
    index: HashMap<String, usize>,
}

/// What a saved class map holds: the scheme and the names in class order (the index is rebuilt).
#[derive(Clone, Serialize, Deserialize)]
struct ClassMapData {
    scheme: ClassScheme,
    names: Vec<String>,
}

impl From<ClassMapData> for ClassMap {
    fn from(data: ClassMapData) -> Self {
        ClassMap::from_names(data.scheme, data.names)
    }
}

impl From<ClassMap> for ClassMapData {
    fn from(map: ClassMap) -> Self {
        ClassMapData {
            scheme: map.scheme,
            names: map.names,
        }
    }
}

impl ClassMap {
    /// The canonical DCASE 2020 map: 41 classes `type/id_II`, class `7·t + k` (§1.1).
    ///
    /// ```
    /// let map = asd_data::ClassMap::dcase2020();
    /// assert_eq!(map.len(), 41);
    /// assert_eq!(map.names()[35], "ToyConveyor/id_01");
    /// ```
    pub fn dcase2020() -> ClassMap {
        let mut names = Vec::with_capacity(DCASE2020_N_CLASSES);
        for (t, machine_type) in DCASE2020_TYPES.iter().enumerate() {
            for k in 0..DCASE2020_N_IDS[t] {
                debug_assert_eq!(names.len(), DCASE2020_IDS_PER_TYPE * t + k as usize);
                names.push(format!(
                    "{machine_type}/{}",
                    group_name(Layout::Dcase2020, DCASE2020_FIRST_ID[t] + k)
                ));
            }
        }
        ClassMap::from_names(ClassScheme::TypeGroup, names)
    }

    /// The class map of `clips` under `scheme` (see the type's docs for the order).
    ///
    /// # Errors
    /// [`Error::TooFewClasses`] (naming the folder of the first clip) when the clips hold fewer than 2 classes.
    pub fn from_clips(scheme: ClassScheme, clips: &[Clip]) -> Result<ClassMap> {
        let origin = clips
            .first()
            .and_then(|c| c.path.parent())
            .map(Path::to_path_buf)
            .unwrap_or_default();
        Self::from_clips_at(scheme, clips, origin)
    }

    /// [`ClassMap::from_clips`] with `origin` named in the error.
    pub(crate) fn from_clips_at(scheme: ClassScheme, clips: &[Clip], origin: PathBuf) -> Result<ClassMap> {
        let present: BTreeSet<String> = clips.iter().map(|c| class_name(scheme, c)).collect();
        if present.len() < 2 {
            return Err(Error::TooFewClasses {
                path: origin,
                n_classes: present.len(),
            });
        }
        if scheme == ClassScheme::TypeGroup {
            let canonical = ClassMap::dcase2020();
            if clips
                .iter()
                .all(|c| c.group.starts_with("id_") && canonical.index.contains_key(&class_name(scheme, c)))
            {
                return Ok(canonical);
            }
        }
        Ok(ClassMap::from_names(scheme, present.into_iter().collect()))
    }

    fn from_names(scheme: ClassScheme, names: Vec<String>) -> ClassMap {
        let index = names.iter().enumerate().map(|(i, n)| (n.clone(), i)).collect();
        ClassMap { scheme, names, index }
    }

    /// The class of `clip`, or `None` when the map has no such class (e.g. a test-only combination).
    pub fn class_of(&self, clip: &Clip) -> Option<usize> {
        self.index.get(&class_name(self.scheme, clip)).copied()
    }

    /// The class with name `name`, if any.
    pub fn class_named(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// Number of classes.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the map has no class (never true for a built map).
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Class names, indexed by class.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The scheme the map was built with.
    pub fn scheme(&self) -> ClassScheme {
        self.scheme
    }
}

impl crate::Dataset {
    /// The class map of this dataset's training clips (the seeds train on `train/` of dev and eval data).
    ///
    /// # Errors
    /// [`Error::TooFewClasses`] naming the dataset root when the training clips hold fewer than 2 classes.
    pub fn class_map(&self, scheme: ClassScheme) -> Result<ClassMap> {
        let train = self.select(&crate::Selection::new().with_split(crate::Split::Train));
        ClassMap::from_clips_at(scheme, &train, self.root().to_path_buf())
    }
}

/// The name of `clip`'s class under `scheme`.
fn class_name(scheme: ClassScheme, clip: &Clip) -> String {
    match scheme {
        ClassScheme::TypeGroup => format!("{}/{}", clip.machine_type, clip.group),
        ClassScheme::TypeGroupDomainAttribute => {
            let domain = clip.domain.map_or("", |d| d.as_str());
            let attributes = if clip.attributes == NO_ATTRIBUTE {
                ""
            } else {
                clip.attributes.as_str()
            };
            format!("{}/{}/{domain}/{attributes}", clip.machine_type, clip.group)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Condition, Domain, Split};

    fn clip(machine_type: &str, group: &str, domain: Option<Domain>, attributes: &str) -> Clip {
        Clip {
            path: PathBuf::from(format!("{machine_type}/train/x.wav")),
            file_name: "x.wav".into(),
            machine_type: machine_type.into(),
            group: group.into(),
            id_or_section: group[group.len() - 2..].parse().unwrap_or(0),
            domain,
            split: Split::Train,
            condition: Condition::Normal,
            attributes: attributes.into(),
        }
    }

    /// The canonical index of dcase_protocols.md §1.1, evaluated by hand: class = 7·t + k.
    #[test]
    fn dcase2020_canonical_index() {
        let map = ClassMap::dcase2020();
        assert_eq!(map.len(), 41);
        let expect = [
            ("fan", "id_00", 0),
            ("fan", "id_06", 6),
            ("pump", "id_00", 7),
            ("slider", "id_03", 17),
            ("valve", "id_06", 27),
            ("ToyCar", "id_01", 28),
            ("ToyCar", "id_07", 34),
            ("ToyConveyor", "id_01", 35),
            ("ToyConveyor", "id_06", 40),
        ];
        for (t, g, class) in expect {
            assert_eq!(map.class_of(&clip(t, g, None, "")), Some(class), "{t}/{g}");
        }
        assert_eq!(map.class_of(&clip("ToyCar", "id_00", None, "")), None);
        assert_eq!(map.class_of(&clip("ToyConveyor", "id_07", None, "")), None);
    }

    #[test]
    fn dcase2020_clips_use_the_canonical_map_even_when_few() {
        let clips = [clip("valve", "id_02", None, ""), clip("ToyCar", "id_05", None, "")];
        let map = ClassMap::from_clips(ClassScheme::TypeGroup, &clips).expect("two classes");
        assert_eq!(map.len(), 41);
        assert_eq!((map.class_of(&clips[0]), map.class_of(&clips[1])), (Some(23), Some(32)));
    }

    #[test]
    fn unknown_types_fall_back_to_sorted_names() {
        let clips = [
            clip("zeta", "id_01", None, ""),
            clip("Alpha", "id_03", None, ""),
            clip("fan", "id_00", None, ""),
        ];
        let map = ClassMap::from_clips(ClassScheme::TypeGroup, &clips).expect("three classes");
        assert_eq!(map.names(), ["Alpha/id_03", "fan/id_00", "zeta/id_01"]);
        assert_eq!(map.class_of(&clips[0]), Some(2));
    }

    #[test]
    fn attribute_scheme_sorted_and_no_attribute_merged() {
        let s = Some(Domain::Source);
        let t = Some(Domain::Target);
        let clips = [
            clip("fan", "section_00", t, "m-n_W"),
            clip("fan", "section_00", s, "m-n_X"),
            clip("bearing", "section_00", s, "noAttribute"),
            clip("bearing", "section_00", s, ""),
            clip("fan", "section_00", s, "m-n_W"),
        ];
        let map = ClassMap::from_clips(ClassScheme::TypeGroupDomainAttribute, &clips).expect("classes");
        assert_eq!(
            map.names(),
            [
                "bearing/section_00/source/",
                "fan/section_00/source/m-n_W",
                "fan/section_00/source/m-n_X",
                "fan/section_00/target/m-n_W"
            ]
        );
        let classes: Vec<Option<usize>> = clips.iter().map(|c| map.class_of(c)).collect();
        assert_eq!(classes, [Some(3), Some(2), Some(0), Some(0), Some(1)]);
        let by_section = ClassMap::from_clips(ClassScheme::TypeGroup, &clips).expect("two classes");
        assert_eq!(by_section.names(), ["bearing/section_00", "fan/section_00"]);
    }

    #[test]
    fn one_class_is_an_error() {
        let clips = [clip("fan", "section_00", None, ""), clip("fan", "section_00", None, "")];
        match ClassMap::from_clips(ClassScheme::TypeGroup, &clips) {
            Err(Error::TooFewClasses { path, n_classes: 1 }) => {
                assert_eq!(path, Path::new("fan/train"))
            }
            other => panic!("expected TooFewClasses, got {other:?}"),
        }
        assert!(matches!(
            ClassMap::from_clips(ClassScheme::TypeGroup, &[]),
            Err(Error::TooFewClasses { n_classes: 0, .. })
        ));
    }
}

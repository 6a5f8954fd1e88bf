//! Class maps: clip metadata → contiguous class indices for the classifiers of the seed papers.

use crate::clip::Layout;
use crate::clip::{Clip, NO_ATTRIBUTE};
use crate::error::{Error, Result};
use crate::name::group_name;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
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
    /// Machine type alone: one model per type (the DCASE autoencoder baseline), not a classifier, so one class is
    /// enough.
    Type,
    /// Machine type × group: type × ID (2020) or type × section (2021–25).
    TypeGroup,
    /// Machine type × section × domain × attribute string (2021–25; `""` and `noAttribute` are one value).
    TypeGroupDomainAttribute,
    /// A class given for each clip: from a label file ([`read_labels`]) or computed from the clips (pseudo
    /// labels); clips are known by [`clip_key`] (`type/split/file`). Built by [`ClassMap::from_listed`].
    Listed,
}

impl ClassScheme {
    /// The fewest classes a map of this scheme may hold: 1 for [`ClassScheme::Type`] (one model per type needs no
    /// second class), 2 for the classifiers' schemes.
    pub fn min_classes(self) -> usize {
        match self {
            ClassScheme::Type => 1,
            _ => 2,
        }
    }
}

/// The key of a clip in a listed class map and in label files: `type/split/file name` (e.g.
/// `fan/train/normal_id_00_00000000.wav`), the clip's path below the dataset root in the DCASE layouts.
pub fn clip_key(clip: &Clip) -> String {
    format!("{}/{}/{}", clip.machine_type, clip.split.as_str(), clip.file_name)
}

/// Reads a label file: one `clip,class` line per clip (an optional header line `clip,class`), where `clip` is its
/// [`clip_key`] and `class` any non-empty name. Returns the pairs in file order.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; [`Error::Labels`] naming the file and line for a line without
/// exactly two non-empty fields, or a clip listed twice with different classes.
pub fn read_labels(path: &Path) -> Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let bad = |line: usize, reason: String| Error::Labels {
        path: path.to_path_buf(),
        reason: format!("line {line}: {reason}"),
    };
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut labels = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || (i == 0 && line == "clip,class") {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let [clip, class] = fields[..] else {
            return Err(bad(
                i + 1,
                format!("expected `clip,class`, got {} fields", fields.len()),
            ));
        };
        if clip.is_empty() || class.is_empty() {
            return Err(bad(i + 1, "an empty clip or class".into()));
        }
        match seen.insert(clip.to_string(), class.to_string()) {
            Some(other) if other != class => {
                return Err(bad(i + 1, format!("{clip} is listed as {other} and as {class}")));
            }
            Some(_) => {}
            None => labels.push((clip.to_string(), class.to_string())),
        }
    }
    Ok(labels)
}

/// Contiguous class indices `0..len()` with a name per class.
///
/// Names are `type` (`fan`), `type/group` (`fan/id_00`) or `type/group/domain/attributes` (`fan/section_00/source/m-n_W`;
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
    /// [`ClassScheme::Listed`]: the class of each listed clip, by [`clip_key`].
    clips: HashMap<String, usize>,
}

/// What a saved class map holds: the scheme, the names in class order and, for a listed map, each clip's class
/// name (the indices are rebuilt).
#[derive(Clone, Serialize, Deserialize)]
struct ClassMapData {
    scheme: ClassScheme,
    names: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    clips: BTreeMap<String, String>,
}

impl From<ClassMapData> for ClassMap {
    fn from(data: ClassMapData) -> Self {
        let mut map = ClassMap::from_names(data.scheme, data.names);
        map.clips = data
            .clips
            .into_iter()
            .filter_map(|(clip, class)| map.index.get(&class).map(|&i| (clip, i)))
            .collect();
        map
    }
}

impl From<ClassMap> for ClassMapData {
    fn from(map: ClassMap) -> Self {
        let clips = map
            .clips
            .into_iter()
            .map(|(clip, i)| (clip, map.names[i].clone()))
            .collect();
        ClassMapData {
            scheme: map.scheme,
            names: map.names,
            clips,
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
    /// [`Error::TooFewClasses`] (naming the folder of the first clip) when the clips hold fewer classes than the
    /// scheme needs ([`ClassScheme::min_classes`]).
    pub fn from_clips(scheme: ClassScheme, clips: &[Clip]) -> Result<ClassMap> {
        let origin = clips
            .first()
            .and_then(|c| c.path.parent())
            .map(Path::to_path_buf)
            .unwrap_or_default();
        Self::from_clips_at(scheme, clips, origin)
    }

    /// A listed class map ([`ClassScheme::Listed`]): `labels` gives the class name of each clip by its
    /// [`clip_key`]; classes are the names present, sorted (byte order), numbered from 0. `origin` (the label file
    /// or the clips' folder) is named in errors.
    ///
    /// # Errors
    /// [`Error::TooFewClasses`] when the labels hold fewer than 2 classes.
    ///
    /// ```
    /// use asd_data::ClassMap;
    /// let labels = [("fan/train/a.wav", "loud"), ("fan/train/b.wav", "quiet"), ("pump/train/c.wav", "loud")];
    /// let map = ClassMap::from_listed(labels.map(|(c, l)| (c.to_string(), l.to_string())), "labels.csv".as_ref())?;
    /// assert_eq!(map.names(), ["loud", "quiet"]);
    /// # Ok::<(), asd_data::Error>(())
    /// ```
    pub fn from_listed(labels: impl IntoIterator<Item = (String, String)>, origin: &Path) -> Result<ClassMap> {
        let labels: Vec<(String, String)> = labels.into_iter().collect();
        let present: BTreeSet<&String> = labels.iter().map(|(_, class)| class).collect();
        if present.len() < 2 {
            return Err(Error::TooFewClasses {
                path: origin.to_path_buf(),
                n_classes: present.len(),
                needed: 2,
            });
        }
        let mut map = ClassMap::from_names(ClassScheme::Listed, present.into_iter().cloned().collect());
        map.clips = labels
            .into_iter()
            .filter_map(|(clip, class)| map.index.get(&class).map(|&i| (clip, i)))
            .collect();
        Ok(map)
    }

    /// [`ClassMap::from_clips`] with `origin` named in the error.
    pub(crate) fn from_clips_at(scheme: ClassScheme, clips: &[Clip], origin: PathBuf) -> Result<ClassMap> {
        if scheme == ClassScheme::Listed {
            return Err(Error::Labels {
                path: origin,
                reason: "listed classes come from a label file or a labelling function, not from the clips' names"
                    .into(),
            });
        }
        let present: BTreeSet<String> = clips.iter().filter_map(|c| class_name(scheme, c)).collect();
        if present.len() < scheme.min_classes() {
            return Err(Error::TooFewClasses {
                path: origin,
                n_classes: present.len(),
                needed: scheme.min_classes(),
            });
        }
        if scheme == ClassScheme::TypeGroup {
            let canonical = ClassMap::dcase2020();
            if clips.iter().all(|c| {
                c.group.starts_with("id_") && class_name(scheme, c).is_some_and(|n| canonical.index.contains_key(&n))
            }) {
                return Ok(canonical);
            }
        }
        Ok(ClassMap::from_names(scheme, present.into_iter().collect()))
    }

    fn from_names(scheme: ClassScheme, names: Vec<String>) -> ClassMap {
        let index = names.iter().enumerate().map(|(i, n)| (n.clone(), i)).collect();
        ClassMap {
            scheme,
            names,
            index,
            clips: HashMap::new(),
        }
    }

    /// The class of `clip`, or `None` when the map has no such class (e.g. a test-only combination, or a clip a
    /// listed map does not list).
    pub fn class_of(&self, clip: &Clip) -> Option<usize> {
        match self.scheme {
            ClassScheme::Listed => self.clips.get(&clip_key(clip)).copied(),
            scheme => self.index.get(&class_name(scheme, clip)?).copied(),
        }
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

/// The name of `clip`'s class under `scheme` (`None` for [`ClassScheme::Listed`], whose classes are not in the
/// clip's metadata).
fn class_name(scheme: ClassScheme, clip: &Clip) -> Option<String> {
    Some(match scheme {
        ClassScheme::Listed => return None,
        ClassScheme::Type => clip.machine_type.clone(),
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
    })
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
            Err(Error::TooFewClasses {
                path,
                n_classes: 1,
                needed: 2,
            }) => {
                assert_eq!(path, Path::new("fan/train"))
            }
            other => panic!("expected TooFewClasses, got {other:?}"),
        }
        assert!(matches!(
            ClassMap::from_clips(ClassScheme::TypeGroup, &[]),
            Err(Error::TooFewClasses { n_classes: 0, .. })
        ));
    }

    /// Criterion: a listed map classes clips by their `type/split/file` key alone (two clips of one type and ID in
    /// different classes), keeps its per-clip classes through JSON, refuses fewer than two classes, and is not
    /// built from clip names.
    #[test]
    fn listed_classes_follow_the_labels() {
        let mut a = clip("fan", "id_00", None, "");
        let mut b = a.clone();
        a.file_name = "a.wav".into();
        b.file_name = "b.wav".into();
        let labels = [("fan/train/a.wav", "low"), ("fan/train/b.wav", "high")];
        let map = ClassMap::from_listed(
            labels.map(|(c, l)| (c.to_string(), l.to_string())),
            Path::new("labels.csv"),
        )
        .unwrap();
        assert_eq!(map.scheme(), ClassScheme::Listed);
        assert_eq!(map.names(), ["high", "low"]);
        assert_eq!((map.class_of(&a), map.class_of(&b)), (Some(1), Some(0)));
        let mut unlisted = a.clone();
        unlisted.split = Split::Test;
        assert_eq!(map.class_of(&unlisted), None, "the key includes the split");
        let back: ClassMap = serde_json::from_str(&serde_json::to_string(&map).unwrap()).unwrap();
        assert_eq!(back, map);
        let one = [("fan/train/a.wav".to_string(), "low".to_string())];
        assert!(matches!(
            ClassMap::from_listed(one, Path::new("labels.csv")),
            Err(Error::TooFewClasses { n_classes: 1, .. })
        ));
        assert!(matches!(
            ClassMap::from_clips(ClassScheme::Listed, &[a, b]),
            Err(Error::Labels { .. })
        ));
    }

    /// Criterion: label files are read line by line (header optional, blank lines skipped); a line without two
    /// fields, an empty field, and a clip given two classes are errors naming the file and the line.
    #[test]
    fn label_files_name_the_bad_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("labels.csv");
        std::fs::write(
            &path,
            "clip,class\nfan/train/a.wav,low\n\nfan/train/b.wav, high\nfan/train/a.wav,low\n",
        )
        .unwrap();
        let labels = read_labels(&path).unwrap();
        assert_eq!(
            labels,
            [
                ("fan/train/a.wav".to_string(), "low".to_string()),
                ("fan/train/b.wav".to_string(), "high".to_string())
            ]
        );
        for (text, line) in [
            ("fan/train/a.wav\n", "line 1"),
            ("fan/train/a.wav,low,x\n", "line 1"),
            ("fan/train/a.wav,\n", "line 1"),
            ("fan/train/a.wav,low\nfan/train/a.wav,high\n", "line 2"),
        ] {
            std::fs::write(&path, text).unwrap();
            let err = read_labels(&path).unwrap_err().to_string();
            assert!(err.contains("labels.csv") && err.contains(line), "{text:?}: {err}");
        }
        assert!(matches!(
            read_labels(&dir.path().join("none.csv")),
            Err(Error::Io { .. })
        ));
    }
}

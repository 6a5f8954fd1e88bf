//! A clip and its metadata: layout, split, domain, condition.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

/// The two families of DCASE Task 2 trees (`dcase_protocols.md` §1.2, §2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// DCASE 2020: `<type>/{train,test}/{normal,anomaly}_id_XX_NNNNNNNN.wav`, groups are machine IDs.
    Dcase2020,
    /// DCASE 2021–2025: `<type>/{train,test}/section_XX_<domain>_<split>_<cond>_NNNN[_<attr>].wav`, groups are sections.
    Dcase2021Plus,
}

/// Training or test data (the folder a clip sits in; 2021's `source_test/` and `target_test/` are [`Split::Test`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// `train/`: normal clips only in every DCASE year.
    Train,
    /// `test/` (or 2021's `source_test/`, `target_test/`).
    Test,
}

/// The recording domain of DCASE 2021–25 (absent from DCASE 2020 and hidden in most evaluation-test names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Domain {
    /// The source domain (plenty of training clips).
    Source,
    /// The target domain (a few training clips, shifted conditions).
    Target,
}

/// The ground-truth label a file name carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// A normal clip.
    Normal,
    /// An anomalous clip.
    Anomaly,
    /// Unlabelled: an evaluation-test clip whose name hides the label.
    Unknown,
}

impl Split {
    /// The folder / name token: `train` or `test`.
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
        }
    }
}

impl Domain {
    /// The name token: `source` or `target`.
    pub fn as_str(self) -> &'static str {
        match self {
            Domain::Source => "source",
            Domain::Target => "target",
        }
    }
}

impl Condition {
    /// The name token: `normal`, `anomaly`, or `unknown` for unlabelled clips.
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::Normal => "normal",
            Condition::Anomaly => "anomaly",
            Condition::Unknown => "unknown",
        }
    }

    /// The evaluator's label: 0 normal, 1 anomaly, `None` when unlabelled.
    pub fn label(self) -> Option<u8> {
        match self {
            Condition::Normal => Some(0),
            Condition::Anomaly => Some(1),
            Condition::Unknown => None,
        }
    }
}

impl Layout {
    /// A short name: `dcase2020` or `dcase2021+` (the `year` of `asd evaluate --json`).
    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Dcase2020 => "dcase2020",
            Layout::Dcase2021Plus => "dcase2021+",
        }
    }
}

macro_rules! display_as_str {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}
display_as_str!(Layout, Split, Domain, Condition, SupplementalKind);

/// The attribute strings that mean "no attribute" (`dcase_protocols.md` §2.2).
pub const NO_ATTRIBUTE: &str = "noAttribute";

/// One audio file of a dataset and everything its path and name say about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clip {
    /// The file.
    pub path: PathBuf,
    /// The base name, e.g. `normal_id_00_00000000.wav` (the key of DCASE score files).
    pub file_name: String,
    /// The machine type: the name of the folder above `train/` / `test/` (case as written, e.g. `ToyCar`).
    pub machine_type: String,
    /// The group as written in score-file names: `id_00` (2020) or `section_00` (2021–25).
    pub group: String,
    /// The machine ID (2020) or section (2021–25) number.
    pub id_or_section: u32,
    /// The domain; `None` for DCASE 2020 and for evaluation-test names that hide it.
    pub domain: Option<Domain>,
    /// Train or test, from the folder.
    pub split: Split,
    /// Normal, anomaly, or unknown (unlabelled evaluation test).
    pub condition: Condition,
    /// The attribute part of the name as written (opaque; `""` or `"noAttribute"` mean none).
    pub attributes: String,
}

impl Clip {
    /// Whether the name carries attributes (neither `""` nor `"noAttribute"`).
    pub fn has_attributes(&self) -> bool {
        !self.attributes.is_empty() && self.attributes != NO_ATTRIBUTE
    }
}

/// What a DCASE 2025 supplemental clip holds (`dcase_protocols.md` §2.4): each machine type has one kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SupplementalKind {
    /// The machine alone, recorded without factory noise (source domain).
    CleanMachine,
    /// Background noise alone, without the machine.
    NoiseOnly,
}

impl SupplementalKind {
    /// The kind a supplemental file name means: noise-only when one of its `_`-separated tokens is `noise`, a clean
    /// machine otherwise (`dcase_protocols.md` §2.4, the loader's rule for names the organisers did not document).
    pub fn of_name(file_name: &str) -> Self {
        let stem = file_name.rsplit_once('.').map_or(file_name, |(stem, _)| stem);
        if stem.split('_').any(|t| t.eq_ignore_ascii_case("noise")) {
            Self::NoiseOnly
        } else {
            Self::CleanMachine
        }
    }

    /// `clean_machine` or `noise_only`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CleanMachine => "clean_machine",
            Self::NoiseOnly => "noise_only",
        }
    }
}

/// A clip of a machine type's `supplemental/` folder (DCASE 2025): extra training material that is neither a
/// training nor a test clip, so [`crate::Dataset::clips`] never holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplementalClip {
    /// The file.
    pub path: PathBuf,
    /// The base name.
    pub file_name: String,
    /// The machine type of the folder above `supplemental/`.
    pub machine_type: String,
    /// The section the name gives (`section_SS_…`), if it gives one.
    pub section: Option<u32>,
    /// Clean machine or noise only.
    pub kind: SupplementalKind,
}

impl SupplementalClip {
    /// The clip as a normal source-domain training clip of its type and section (section 00 when the name gives
    /// none) with the attribute string `attributes`, for a system that trains on supplemental material as classes
    /// of their own (firstshot2025.md §5). Its [`clip_key`](crate::clip_key) is `type/train/<file name>`.
    pub fn training_clip(&self, attributes: &str) -> Clip {
        let section = self.section.unwrap_or(0);
        Clip {
            path: self.path.clone(),
            file_name: self.file_name.clone(),
            machine_type: self.machine_type.clone(),
            group: format!("section_{section:02}"),
            id_or_section: section,
            domain: Some(Domain::Source),
            split: Split::Train,
            condition: Condition::Normal,
            attributes: attributes.into(),
        }
    }
}

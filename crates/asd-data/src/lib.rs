//! Which files, which labels: the DCASE Task 2 dataset layer of `asd`.
//!
//! Between the audio files and the models of the pipeline (audio file → waveform → **clips, classes,
//! features** → model → scorer → metrics), this crate
//! - parses every DCASE 2020–2026 file-name grammar ([`parse_file_name`]);
//! - opens a dataset tree, detects its [`Layout`] and lists its [`Clip`]s ([`Dataset::open`] strict,
//!   [`Dataset::scan`] lenient with a list of [`Problem`]s), with a [`Summary`] table for `asd index`;
//! - selects clips by split, type, group, domain, condition ([`Selection`]);
//! - turns metadata into class indices ([`ClassMap`]: the canonical 41-class DCASE 2020 index, or sorted
//!   type × section (× domain × attribute) classes);
//! - decodes clips, fits them to one length ([`LengthPolicy`]: crop, repeat-pad) and computes their
//!   features in parallel in bounded chunks ([`for_each_features`], [`load_features`]);
//! - keeps features in a memory-mapped on-disk cache and streams shuffled batches from it
//!   ([`FeatureCache`]), so that a training set never has to fit in memory as waveforms.
//!
//! ```
//! use asd_data::{Dataset, Layout, Selection, Split, Condition, ClassMap, ClassScheme};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A tiny DCASE 2020 tree: fan/{train,test}/ with two machine IDs.
//! let dir = tempfile::tempdir()?;
//! let wave = asd_audio::Waveform { samples: vec![0.0; 160], sample_rate: 16_000 };
//! for (split, name) in [("train", "normal_id_00_00000000.wav"), ("train", "normal_id_02_00000000.wav"),
//!                       ("test", "normal_id_00_00000000.wav"), ("test", "anomaly_id_00_00000000.wav")] {
//!     std::fs::create_dir_all(dir.path().join("fan").join(split))?;
//!     asd_audio::write_wav_pcm16(&dir.path().join("fan").join(split).join(name), &wave)?;
//! }
//! let data = Dataset::open(dir.path())?;
//! assert_eq!((data.layout(), data.len()), (Layout::Dcase2020, 4));
//! let anomalies = data.select(&Selection::new().with_split(Split::Test).with_condition(Condition::Anomaly));
//! assert_eq!(anomalies[0].group, "id_00");
//! let classes = data.class_map(ClassScheme::TypeGroup)?; // canonical 2020 index 7·t + k
//! assert_eq!((classes.len(), classes.class_of(&anomalies[0])), (41, Some(0)));
//! # Ok(()) }
//! ```
//!
//! # Layouts
//!
//! | layout | tree under the root (or under `dev_data/`, `eval_data/`) | names | groups |
//! |---|---|---|---|
//! | [`Layout::Dcase2020`] | `<type>/train/`, `<type>/test/` | `normal_id_00_00000000.wav`, `anomaly_id_00_…`; eval test `id_01_00000000.wav` | `id_XX` |
//! | [`Layout::Dcase2021Plus`] | `<type>/train/`, `<type>/test/` (2021: `source_test/`, `target_test/`), `<type>/attributes_XX.csv`; 2025: `<type>/supplemental/`; 2026: under `dev_data/raw/`, `eval_data/raw/` | `section_00_source_train_normal_0000_<attr>.wav`; 2021 test without `_<attr>`; hidden attributes `…_0000_noAttribute.wav` (2024–25) or `…_0000_.wav` (2026); eval test `section_03_source_test_0000.wav` (2021), `section_00_0000.wav` (2022–26) | `section_XX` |
//!
//! DCASE 2025's supplemental clips (a type's clean machine sound or its background noise alone) are listed apart
//! ([`Dataset::supplemental`], [`SupplementalClip`]) and never mixed into the training or test clips. DCASE 2026's
//! clips have two channels (near and far microphone): [`LengthPolicy::channels`] says which are read.
//!
//! The grammars and the canonical class index are those of `shared/spec/dcase_protocols.md` §1–§2.
//!
//! # Feature flags
//! None.
//!
//! # Errors
//! One enum, [`Error`]; every variant that comes from a file or folder names it ([`Error::path`]).
//! Decoding errors are `asd_audio`'s, wrapped in [`Error::Audio`]; they name the file too.
#![deny(unsafe_code)]

mod cache;
mod class_map;
mod clip;
mod dataset;
mod error;
mod loader;
mod name;
mod summary;

pub use cache::{Batches, FeatureCache};
pub use class_map::{ClassMap, ClassScheme, DCASE2020_N_CLASSES, DCASE2020_TYPES, clip_key, read_labels};
pub use clip::{Clip, Condition, Domain, Layout, NO_ATTRIBUTE, Split, SupplementalClip, SupplementalKind};
pub use dataset::{AttributePairs, Dataset, Problem, RAW_FOLDER, SET_FOLDERS, SUPPLEMENTAL_FOLDER, Selection};
pub use error::{Error, Result};
pub use loader::{LengthPolicy, Progress, clip_features, for_each_features, load_features, waveform_features};
pub use name::{NameForm, ParsedName, parse_file_name};
pub use summary::{Counts, Summary, SummaryRow};

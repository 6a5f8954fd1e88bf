//! Reading a DCASE tree: layout detection, strict and lenient scans, attribute CSVs, selections.

use crate::clip::{Clip, Condition, Domain, Layout, Split, SupplementalClip, SupplementalKind};
use crate::error::{Error, Result};
use crate::name::parse_file_name;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The folders that hold the development and the evaluation set of a DCASE download.
pub const SET_FOLDERS: [&str; 2] = ["dev_data", "eval_data"];

/// The folder between a set folder and its machine types in DCASE 2026 downloads (`dev_data/raw/<type>/`,
/// `dcase_protocols.md` §7).
pub const RAW_FOLDER: &str = "raw";

/// A machine type's folder of DCASE 2025 supplemental clips (`dcase_protocols.md` §2.4).
pub const SUPPLEMENTAL_FOLDER: &str = "supplemental";

/// The clip folders of a machine-type folder: `(name, split, domain the folder implies)`.
/// `source_test/` and `target_test/` are DCASE 2021's development test folders (`dcase_protocols.md` §2.2).
const CLIP_FOLDERS: [(&str, Split, Option<Domain>); 4] = [
    ("train", Split::Train, None),
    ("test", Split::Test, None),
    ("source_test", Split::Test, Some(Domain::Source)),
    ("target_test", Split::Test, Some(Domain::Target)),
];

/// The first bytes of a RIFF/WAVE file: `RIFF`, a 4-byte size, `WAVE`.
const WAV_HEADER_LEN: usize = 12;

/// A file or folder that a lenient [`Dataset::scan`] skipped, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The file or folder (empty when the error names none).
    pub path: PathBuf,
    /// The error, in words (the message of the [`Error`] a strict [`Dataset::open`] would return).
    pub reason: String,
}

impl From<Error> for Problem {
    fn from(e: Error) -> Self {
        Problem {
            path: e.path().map(Path::to_path_buf).unwrap_or_default(),
            reason: e.to_string(),
        }
    }
}

/// Attribute parameters of one clip from an `attributes_XX.csv` file: `(name, value)` pairs.
pub type AttributePairs = Vec<(String, String)>;

/// A DCASE dataset on disk: its layout, its clips sorted by path, and its attribute tables.
#[derive(Clone, Debug)]
pub struct Dataset {
    root: PathBuf,
    layout: Layout,
    clips: Vec<Clip>,
    /// DCASE 2025's supplemental clips, sorted by path.
    supplemental: Vec<SupplementalClip>,
    /// `(machine type, file name)` → pairs from the `attributes_XX.csv` files.
    csv_attributes: BTreeMap<(String, String), AttributePairs>,
}

/// Which clips to keep: every field that is `Some` must match. Build with [`Selection::new`] and `with_*`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    /// Keep only this split.
    pub split: Option<Split>,
    /// Keep only this machine type (case as written).
    pub machine_type: Option<String>,
    /// Keep only this group (`id_00`, `section_01`).
    pub group: Option<String>,
    /// Keep only this domain (clips without a domain never match).
    pub domain: Option<Domain>,
    /// Keep only this condition.
    pub condition: Option<Condition>,
}

impl Selection {
    /// Selects everything.
    pub fn new() -> Self {
        Self::default()
    }
    /// Keeps only `split`.
    pub fn with_split(mut self, split: Split) -> Self {
        self.split = Some(split);
        self
    }
    /// Keeps only `machine_type`.
    pub fn with_machine_type(mut self, machine_type: impl Into<String>) -> Self {
        self.machine_type = Some(machine_type.into());
        self
    }
    /// Keeps only `group` (`id_00`, `section_01`).
    pub fn with_group(mut self, group: impl Into<String>) -> Self {
        self.group = Some(group.into());
        self
    }
    /// Keeps only `domain`.
    pub fn with_domain(mut self, domain: Domain) -> Self {
        self.domain = Some(domain);
        self
    }
    /// Keeps only `condition`.
    pub fn with_condition(mut self, condition: Condition) -> Self {
        self.condition = Some(condition);
        self
    }
    /// Whether `clip` passes every set field.
    pub fn matches(&self, clip: &Clip) -> bool {
        self.split.is_none_or(|s| s == clip.split)
            && self.machine_type.as_ref().is_none_or(|t| *t == clip.machine_type)
            && self.group.as_ref().is_none_or(|g| *g == clip.group)
            && self.domain.is_none_or(|d| Some(d) == clip.domain)
            && self.condition.is_none_or(|c| c == clip.condition)
    }
}

impl Dataset {
    /// Opens a DCASE tree strictly: the first malformed part is an error.
    ///
    /// `root` holds either machine-type folders (`<type>/train/`, `<type>/test/`) or `dev_data/` and/or
    /// `eval_data/` holding them (directly, or in a `raw/` folder as DCASE 2026 has them), or is itself one
    /// machine type's folder. A type folder is any subfolder with at least one clip folder (`train/`, `test/`, or
    /// 2021's `source_test/` / `target_test/`). A type's `supplemental/` folder (DCASE 2025) is read into
    /// [`Dataset::supplemental`], apart from the clips; other subfolders and hidden files (`.*`) are ignored. The
    /// layout is detected from the names.
    /// Attributes come from the names; `attributes_XX.csv` files beside the clip folders are read and
    /// exposed through [`Dataset::csv_attributes`]. Clips are sorted by path.
    ///
    /// # Errors
    /// Naming the file or folder: [`Error::NoLayout`], [`Error::MissingFolder`] (a type folder without
    /// `train/` or without any test folder), [`Error::EmptyFolder`], [`Error::NotAudio`] (not `.wav`, or no
    /// RIFF/WAVE header), [`Error::BadName`], [`Error::Misplaced`] (a name that contradicts its folder, or a
    /// non-normal clip in `train/`), [`Error::MixedLayouts`], [`Error::AttributeCsv`], [`Error::Io`]
    /// (unreadable file or folder).
    pub fn open(root: impl AsRef<Path>) -> Result<Dataset> {
        walk(root.as_ref(), true).map(|(dataset, _)| dataset)
    }

    /// Opens a DCASE tree leniently: every malformed file or folder is skipped and reported as a [`Problem`]
    /// (what `asd index` prints), the rest is read as [`Dataset::open`] would.
    ///
    /// # Errors
    /// [`Error::Io`] when `root` cannot be read; [`Error::NoLayout`] when it holds no type folder or no
    /// readable clip at all.
    pub fn scan(root: impl AsRef<Path>) -> Result<(Dataset, Vec<Problem>)> {
        walk(root.as_ref(), false)
    }

    /// The folder the dataset was opened from.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The detected layout.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// All training and test clips, sorted by path.
    pub fn clips(&self) -> &[Clip] {
        &self.clips
    }

    /// The supplemental clips of every type's `supplemental/` folder (DCASE 2025), sorted by path: extra clean
    /// machine or noise-only recordings, never among [`Dataset::clips`].
    pub fn supplemental(&self) -> &[SupplementalClip] {
        &self.supplemental
    }

    /// Number of clips.
    pub fn len(&self) -> usize {
        self.clips.len()
    }

    /// Whether the dataset has no clip (never true for an opened dataset).
    pub fn is_empty(&self) -> bool {
        self.clips.is_empty()
    }

    /// Copies of the clips `selection` keeps, in the dataset's order.
    pub fn select(&self, selection: &Selection) -> Vec<Clip> {
        self.clips.iter().filter(|c| selection.matches(c)).cloned().collect()
    }

    /// The machine types, sorted, without repeats.
    pub fn machine_types(&self) -> Vec<String> {
        let mut types: Vec<String> = self.clips.iter().map(|c| c.machine_type.clone()).collect();
        types.sort();
        types.dedup();
        types
    }

    /// The groups (`id_00`, `section_00`, …) of one machine type, sorted, without repeats.
    pub fn groups(&self, machine_type: &str) -> Vec<String> {
        let mut groups: Vec<String> = self
            .clips
            .iter()
            .filter(|c| c.machine_type == machine_type)
            .map(|c| c.group.clone())
            .collect();
        groups.sort();
        groups.dedup();
        groups
    }

    /// The `(name, value)` pairs an `attributes_XX.csv` lists for `clip`, if any.
    /// The file name is authoritative (`dcase_protocols.md` §2.3); this is for cross-checks.
    pub fn csv_attributes(&self, clip: &Clip) -> Option<&[(String, String)]> {
        self.csv_attributes
            .get(&(clip.machine_type.clone(), clip.file_name.clone()))
            .map(Vec::as_slice)
    }

    /// Clips whose name attributes differ from the `name_value_…` join of their CSV pairs (a cross-check
    /// for `asd index`; names are authoritative, `dcase_protocols.md` §2.3). Clips without attributes in
    /// their name, or without a CSV row, are not compared.
    pub fn attribute_mismatches(&self) -> Vec<Problem> {
        self.clips
            .iter()
            .filter(|clip| clip.has_attributes())
            .filter_map(|clip| {
                let pairs = self.csv_attributes(clip)?;
                let joined: Vec<&str> = pairs.iter().flat_map(|(k, v)| [k.as_str(), v.as_str()]).collect();
                let joined = joined.join("_");
                (joined != clip.attributes).then(|| Problem {
                    path: clip.path.clone(),
                    reason: format!(
                        "{}: attributes {:?} in the name, {joined:?} in the attribute CSV",
                        clip.path.display(),
                        clip.attributes
                    ),
                })
            })
            .collect()
    }
}

/// Collects problems (lenient) or stops at the first (strict).
struct Walker {
    strict: bool,
    problems: Vec<Problem>,
}

impl Walker {
    fn report(&mut self, e: Error) -> Result<()> {
        if self.strict {
            return Err(e);
        }
        self.problems.push(e.into());
        Ok(())
    }
}

/// The one scan behind [`Dataset::open`] (strict) and [`Dataset::scan`] (lenient).
fn walk(root: &Path, strict: bool) -> Result<(Dataset, Vec<Problem>)> {
    let mut walker = Walker {
        strict,
        problems: Vec::new(),
    };
    let sets: Vec<PathBuf> = SET_FOLDERS
        .iter()
        .map(|s| root.join(s))
        .filter(|p| p.is_dir())
        .collect();
    let sets = if sets.is_empty() {
        vec![root.to_path_buf()]
    } else {
        sets
    };
    // DCASE 2026 puts the types one folder deeper: `dev_data/raw/<type>/`.
    let sets: Vec<PathBuf> = sets
        .into_iter()
        .map(|set| {
            let raw = set.join(RAW_FOLDER);
            if raw.is_dir() && !is_type_dir(&raw) { raw } else { set }
        })
        .collect();
    let mut found: Vec<(Clip, Layout)> = Vec::new();
    let mut supplemental = Vec::new();
    let mut csv_attributes = BTreeMap::new();
    // a root that is itself one machine type's folder (`fan/` holding `train/`, `test/`) is read alone
    let type_dirs = if is_type_dir(root) {
        vec![root.to_path_buf()]
    } else {
        let mut dirs = Vec::new();
        for set in &sets {
            dirs.extend(list_dir(set)?.into_iter().filter(|p| is_type_dir(p)));
        }
        dirs
    };
    for type_dir in &type_dirs {
        read_type(type_dir, &mut walker, &mut found, &mut csv_attributes)?;
        read_supplemental(type_dir, &mut walker, &mut supplemental)?;
    }
    supplemental.sort_by(|a: &SupplementalClip, b| a.path.cmp(&b.path));
    if type_dirs.is_empty() {
        return Err(Error::NoLayout {
            path: root.to_path_buf(),
        });
    }
    found.sort_by(|a, b| a.0.path.cmp(&b.0.path));
    let Some(layout) = found.first().map(|(_, layout)| *layout) else {
        return Err(Error::NoLayout {
            path: root.to_path_buf(),
        });
    };
    let mut clips = Vec::with_capacity(found.len());
    for (clip, clip_layout) in found {
        if clip_layout == layout {
            clips.push(clip);
        } else {
            walker.report(Error::MixedLayouts { path: clip.path })?;
        }
    }
    let dataset = Dataset {
        root: root.to_path_buf(),
        layout,
        clips,
        supplemental,
        csv_attributes,
    };
    Ok((dataset, walker.problems))
}

/// Entries of a folder, sorted by path.
fn list_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for entry in fs::read_dir(dir).map_err(Error::io(dir))? {
        paths.push(entry.map_err(Error::io(dir))?.path());
    }
    paths.sort();
    Ok(paths)
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'))
}

fn is_type_dir(path: &Path) -> bool {
    path.is_dir() && !is_hidden(path) && CLIP_FOLDERS.iter().any(|(name, ..)| path.join(name).is_dir())
}

/// Reads one machine-type folder: its clip folders and its attribute CSVs.
fn read_type(
    type_dir: &Path,
    walker: &mut Walker,
    found: &mut Vec<(Clip, Layout)>,
    csv_attributes: &mut BTreeMap<(String, String), AttributePairs>,
) -> Result<()> {
    // `.` or `fan/..` have no name of their own: take the name of the folder they resolve to
    let resolved = type_dir.canonicalize().unwrap_or_else(|_| type_dir.to_path_buf());
    let Some(machine_type) = resolved.file_name().and_then(|n| n.to_str()).map(str::to_string) else {
        let reason = "the machine-type folder name is not UTF-8".to_string();
        return walker.report(Error::BadName {
            path: type_dir.to_path_buf(),
            reason,
        });
    };
    if !type_dir.join("train").is_dir() {
        walker.report(Error::MissingFolder {
            path: type_dir.join("train"),
        })?;
    }
    if !CLIP_FOLDERS[1..].iter().any(|(name, ..)| type_dir.join(name).is_dir()) {
        walker.report(Error::MissingFolder {
            path: type_dir.join("test"),
        })?;
    }
    for (name, split, domain) in CLIP_FOLDERS {
        let folder = type_dir.join(name);
        if folder.is_dir() {
            read_clip_folder(&folder, &machine_type, split, domain, walker, found)?;
        }
    }
    let entries = match list_dir(type_dir) {
        Ok(entries) => entries,
        Err(e) => return walker.report(e),
    };
    for csv_path in entries.iter().filter(|p| is_attribute_csv(p)) {
        match read_attribute_csv(csv_path) {
            Ok(rows) => csv_attributes.extend(
                rows.into_iter()
                    .map(|(file, pairs)| ((machine_type.clone(), file), pairs)),
            ),
            Err(e) => walker.report(e)?,
        }
    }
    Ok(())
}

/// Reads a type's `supplemental/` folder, if it has one: every file must be a WAV file; its name says its kind
/// ([`SupplementalKind::of_name`]) and, when it starts with `section_SS`, its section.
fn read_supplemental(type_dir: &Path, walker: &mut Walker, out: &mut Vec<SupplementalClip>) -> Result<()> {
    let folder = type_dir.join(SUPPLEMENTAL_FOLDER);
    if !folder.is_dir() {
        return Ok(());
    }
    let resolved = type_dir.canonicalize().unwrap_or_else(|_| type_dir.to_path_buf());
    let Some(machine_type) = resolved.file_name().and_then(|n| n.to_str()).map(str::to_string) else {
        return Ok(()); // read_type reported the name
    };
    let entries = match list_dir(&folder) {
        Ok(entries) => entries,
        Err(e) => return walker.report(e),
    };
    for path in entries.into_iter().filter(|p| !is_hidden(p)) {
        match supplemental_clip(path, &machine_type) {
            Ok(clip) => out.push(clip),
            Err(e) => walker.report(e)?,
        }
    }
    Ok(())
}

/// One supplemental clip, after checking that it is a WAV file.
fn supplemental_clip(path: PathBuf, machine_type: &str) -> Result<SupplementalClip> {
    let Some(file_name) = path.file_name().and_then(|n| n.to_str()).map(str::to_string) else {
        return Err(Error::BadName {
            path,
            reason: "the name is not UTF-8".into(),
        });
    };
    if path.is_dir() || !file_name.to_ascii_lowercase().ends_with(".wav") {
        return Err(Error::NotAudio {
            path,
            reason: "not a .wav file in a supplemental folder".into(),
        });
    }
    check_wav_header(&path)?;
    let section = match file_name.split('_').collect::<Vec<_>>().as_slice() {
        ["section", ss, _, ..] if ss.len() == 2 && ss.bytes().all(|b| b.is_ascii_digit()) => ss.parse().ok(),
        _ => None,
    };
    Ok(SupplementalClip {
        kind: SupplementalKind::of_name(&file_name),
        section,
        file_name,
        machine_type: machine_type.to_string(),
        path,
    })
}

fn read_clip_folder(
    folder: &Path,
    machine_type: &str,
    split: Split,
    folder_domain: Option<Domain>,
    walker: &mut Walker,
    found: &mut Vec<(Clip, Layout)>,
) -> Result<()> {
    let entries = match list_dir(folder) {
        Ok(entries) => entries,
        Err(e) => return walker.report(e),
    };
    let files: Vec<PathBuf> = entries.into_iter().filter(|p| !is_hidden(p)).collect();
    if files.is_empty() {
        walker.report(Error::EmptyFolder {
            path: folder.to_path_buf(),
        })?;
    }
    for path in files {
        match clip_from_file(path, machine_type, split, folder_domain) {
            Ok(clip) => found.push(clip),
            Err(e) => walker.report(e)?,
        }
    }
    Ok(())
}

/// One clip from its path and the folder it sits in, after checking its name and WAV header.
fn clip_from_file(
    path: PathBuf,
    machine_type: &str,
    split: Split,
    folder_domain: Option<Domain>,
) -> Result<(Clip, Layout)> {
    if path.is_dir() {
        return Err(Error::NotAudio {
            path,
            reason: "a folder inside a clip folder".into(),
        });
    }
    let Some(file_name) = path.file_name().and_then(|n| n.to_str()).map(str::to_string) else {
        return Err(Error::BadName {
            path,
            reason: "the name is not UTF-8".into(),
        });
    };
    if !file_name.to_ascii_lowercase().ends_with(".wav") {
        return Err(Error::NotAudio {
            path,
            reason: "the extension is not .wav".into(),
        });
    }
    let parsed = match parse_file_name(&file_name) {
        Ok(parsed) => parsed,
        Err(Error::BadName { reason, .. }) => return Err(Error::BadName { path, reason }),
        Err(e) => return Err(e),
    };
    let misplaced = |reason: String| Error::Misplaced {
        path: path.clone(),
        reason,
    };
    if let Some(name_split) = parsed.split.filter(|s| *s != split) {
        return Err(misplaced(format!("a {name_split} clip in a {split} folder")));
    }
    if let (Some(folder), Some(name)) = (folder_domain, parsed.domain) {
        if folder != name {
            return Err(misplaced(format!("a {name} clip in the {folder}_test folder")));
        }
    }
    if split == Split::Train && parsed.condition != Condition::Normal {
        return Err(misplaced(format!(
            "an {} clip in train/ (training clips are normal)",
            parsed.condition
        )));
    }
    check_wav_header(&path)?;
    let clip = Clip {
        file_name,
        machine_type: machine_type.to_string(),
        group: parsed.group(),
        id_or_section: parsed.id_or_section,
        domain: parsed.domain.or(folder_domain),
        split,
        condition: parsed.condition,
        attributes: parsed.attributes,
        path,
    };
    Ok((clip, parsed.form.layout()))
}

/// Opens the file and checks its `RIFF....WAVE` header (an unreadable file is an [`Error::Io`]). Anything but a
/// regular file (a FIFO, a device, a folder named like a clip) is refused without being opened for reading: a FIFO
/// would block.
fn check_wav_header(path: &Path) -> Result<()> {
    if !fs::metadata(path).map_err(Error::io(path))?.is_file() {
        return Err(Error::NotAudio {
            path: path.to_path_buf(),
            reason: "not a regular file (a FIFO, device or folder)".into(),
        });
    }
    let mut header = [0u8; WAV_HEADER_LEN];
    let mut file = fs::File::open(path).map_err(Error::io(path))?;
    let mut n = 0;
    while n < WAV_HEADER_LEN {
        match file.read(&mut header[n..]).map_err(Error::io(path))? {
            0 => break,
            k => n += k,
        }
    }
    if n < WAV_HEADER_LEN || &header[0..4] != b"RIFF" || &header[8..12] != b"WAVE" {
        return Err(Error::NotAudio {
            path: path.to_path_buf(),
            reason: "no RIFF/WAVE header".into(),
        });
    }
    Ok(())
}

/// `attributes_XX.csv` (two digits), beside the clip folders.
fn is_attribute_csv(path: &Path) -> bool {
    path.is_file()
        && path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("attributes_"))
            .and_then(|n| n.strip_suffix(".csv"))
            .is_some_and(|ss| ss.len() == 2 && ss.bytes().all(|b| b.is_ascii_digit()))
}

/// Reads an `attributes_XX.csv` (`dcase_protocols.md` §2.3): a header line, then `path,p1,v1[,p2,v2…]` rows.
/// The path may lack the `<type>/<split>/` prefix or the `.wav`; rows are keyed by the clip's base name.
/// Empty trailing fields are ignored; hidden-attribute tables have no parameter fields.
fn read_attribute_csv(path: &Path) -> Result<Vec<(String, AttributePairs)>> {
    let bad = |reason: String| Error::AttributeCsv {
        path: path.to_path_buf(),
        reason,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_path(path)
        .map_err(|e| bad(e.to_string()))?;
    let mut rows = Vec::new();
    for (line, record) in reader.records().enumerate() {
        let record = record.map_err(|e| bad(e.to_string()))?;
        let line = line + 2; // 1-based, after the header
        let mut fields: Vec<&str> = record.iter().map(str::trim).collect();
        while fields.last().is_some_and(|f| f.is_empty()) {
            fields.pop();
        }
        let Some((first, params)) = fields.split_first() else {
            continue; // an empty line
        };
        let base = first.rsplit(['/', '\\']).next().unwrap_or(first); // ok: rsplit yields at least one item
        if base.is_empty() {
            return Err(bad(format!("line {line}: no file name")));
        }
        if params.len() % 2 != 0 {
            return Err(bad(format!(
                "line {line}: {} parameter fields, expected name/value pairs",
                params.len()
            )));
        }
        let file = if base.ends_with(".wav") {
            base.to_string()
        } else {
            format!("{base}.wav")
        };
        let pairs = params
            .chunks_exact(2)
            .map(|p| (p[0].to_string(), p[1].to_string()))
            .collect();
        rows.push((file, pairs));
    }
    Ok(rows)
}

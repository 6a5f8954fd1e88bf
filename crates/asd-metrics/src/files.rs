//! DCASE CSV files: score and decision CSVs (`anomaly_score_<type>_<group>[_…].csv`,
//! `decision_result_<type>_<group>[_…].csv`, rows `file,value`, no header) and the official evaluator's
//! ground-truth folders (`ground_truth_data/`, `ground_truth_domain/`, `ground_truth_attributes/`),
//! `dcase_protocols.md` §1.5, §2.5–§2.6.

use crate::error::{Error, Result, io};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// File-name prefix of score CSVs.
pub const SCORE_PREFIX: &str = "anomaly_score_";
/// File-name prefix of decision CSVs.
pub const DECISION_PREFIX: &str = "decision_result_";
/// File-name prefix of the evaluator's ground-truth CSVs.
pub const GROUND_TRUTH_PREFIX: &str = "ground_truth_";
/// Sub-folder of an evaluator checkout holding the labels (`<eval name>,<0|1>`, 1 = anomaly).
pub const GROUND_TRUTH_DATA_DIR: &str = "ground_truth_data";
/// Sub-folder holding the domains (`<eval name>,<0|1>`, 1 = target), DCASE 2022+.
pub const GROUND_TRUTH_DOMAIN_DIR: &str = "ground_truth_domain";
/// Sub-folder mapping evaluation names to revealed names (`<eval name>,<revealed name without .wav>`), 2023+.
pub const GROUND_TRUTH_ATTRIBUTES_DIR: &str = "ground_truth_attributes";
/// The DCASE 2020 evaluator's ground truth, one file at its root: a line holding a machine type opens its block,
/// then `<eval name>,<revealed name>,<0|1>` rows (`dcase_protocols.md` §1.4).
pub const EVAL_DATA_LIST: &str = "eval_data_list.csv";

/// Source / target domain of a DCASE 2021+ clip.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Domain {
    /// The source domain (most training data).
    Source,
    /// The target domain (few training clips).
    Target,
}

impl Domain {
    /// `"source"` or `"target"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Domain::Source => "source",
            Domain::Target => "target",
        }
    }
}

/// The ground truth of one test clip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClipTruth {
    /// `true` for an anomalous clip.
    pub anomaly: bool,
    /// Domain (DCASE 2021+); `None` for DCASE 2020.
    pub domain: Option<Domain>,
}

/// The parts of a DCASE per-group file name `<prefix><type>_<id_XX|section_XX><tail>.csv`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupFileName {
    /// Machine type (a `DCASE20XXT2` prefix of the baseline's long names is removed).
    pub machine_type: String,
    /// Group key as written: `id_00` (DCASE 2020) or `section_00` (2021+).
    pub group: String,
    /// Whatever follows the group key, without `.csv` (`""`, `"_test"`, `"_source_test"`, `"_test_seed13711_Eval"`).
    pub tail: String,
}

impl GroupFileName {
    /// Parses the file name of `path` after `prefix` (e.g. [`SCORE_PREFIX`]).
    ///
    /// Errors: [`Error::FileName`] when the name lacks the prefix, the `.csv` extension, or a group key.
    pub fn parse(path: &Path, prefix: &str) -> Result<Self> {
        let bad = |reason: String| Error::FileName {
            path: path.to_path_buf(),
            reason,
        };
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| bad("not a UTF-8 file name".into()))?;
        let stem = name
            .strip_prefix(prefix)
            .and_then(|s| s.strip_suffix(".csv"))
            .ok_or_else(|| bad(format!("expected {prefix}<type>_<id_XX|section_XX>….csv")))?;
        let (start, key_len) =
            find_group_key(stem).ok_or_else(|| bad("no `_id_XX` or `_section_XX` group key in the name".into()))?;
        let machine_type = strip_baseline_prefix(&stem[..start]);
        if machine_type.is_empty() {
            return Err(bad("no machine type before the group key".into()));
        }
        Ok(Self {
            machine_type: machine_type.to_string(),
            group: stem[start + 1..start + key_len].to_string(),
            tail: stem[start + key_len..].to_string(),
        })
    }

    /// The domain named by the tail (`_source_test` / `_target_test` of the DCASE 2021 per-domain files).
    pub fn tail_domain(&self) -> Option<Domain> {
        let tokens: Vec<&str> = self.tail.split('_').collect();
        if tokens.contains(&"source") {
            Some(Domain::Source)
        } else if tokens.contains(&"target") {
            Some(Domain::Target)
        } else {
            None
        }
    }
}

/// Byte offset of the first `_id_DD` / `_section_DD` (followed by `_` or the end) and its length.
fn find_group_key(stem: &str) -> Option<(usize, usize)> {
    let bytes = stem.as_bytes();
    (0..bytes.len()).find_map(|i| {
        ["_id_", "_section_"].iter().find_map(|key| {
            let digits = i + key.len();
            let end = digits + 2;
            let ok = bytes[i..].starts_with(key.as_bytes())
                && end <= bytes.len()
                && bytes[digits..end].iter().all(u8::is_ascii_digit)
                && (end == bytes.len() || bytes[end] == b'_');
            ok.then_some((i, end - i))
        })
    })
}

/// Removes the `DCASE20XXT2` prefix the challenge baseline puts before the machine type.
fn strip_baseline_prefix(machine_type: &str) -> &str {
    let b = machine_type.as_bytes();
    let prefixed =
        b.len() > 11 && b.starts_with(b"DCASE") && b[5..9].iter().all(u8::is_ascii_digit) && &b[9..11] == b"T2";
    if prefixed { &machine_type[11..] } else { machine_type }
}

/// The score CSV name the DCASE baselines write for a group: `anomaly_score_<type>_id_XX.csv` (2020) or
/// `anomaly_score_<type>_section_XX_test.csv` (2021+).
pub fn score_file_name(machine_type: &str, group: &str) -> String {
    group_file_name(SCORE_PREFIX, machine_type, group)
}

/// The decision CSV name that goes with [`score_file_name`].
pub fn decision_file_name(machine_type: &str, group: &str) -> String {
    group_file_name(DECISION_PREFIX, machine_type, group)
}

fn group_file_name(prefix: &str, machine_type: &str, group: &str) -> String {
    let tail = if group.starts_with("id_") { "" } else { "_test" };
    format!("{prefix}{machine_type}_{group}{tail}.csv")
}

/// One row of a two-column DCASE CSV.
#[derive(Clone, Debug, PartialEq)]
pub struct Row<T> {
    /// The clip name (first column).
    pub file: String,
    /// The parsed second column.
    pub value: T,
    /// 1-based line number in the file.
    pub line: u64,
}

/// Reads a two-column CSV without header, parsing the second column with `parse` (its `Err` text becomes the
/// reason of [`Error::Csv`]).
fn read_rows<T>(path: &Path, parse: impl Fn(&str) -> std::result::Result<T, String>) -> Result<Vec<Row<T>>> {
    read_rows_of(path, parse, false)
}

/// [`read_rows`], optionally ignoring fields after the second (the 2024 evaluator's attribute files add the
/// full-attribute name as a third).
fn read_rows_of<T>(
    path: &Path,
    parse: impl Fn(&str) -> std::result::Result<T, String>,
    extra_fields: bool,
) -> Result<Vec<Row<T>>> {
    let mut rows = Vec::new();
    for record in csv_records(path)? {
        let (record, line) = record?;
        let bad = |reason: String| Error::Csv {
            path: path.to_path_buf(),
            line,
            reason,
        };
        if record.len() < 2 || (record.len() > 2 && !extra_fields) {
            return Err(bad(format!("expected 2 fields (file,value), found {}", record.len())));
        }
        let file = record[0].trim().to_string(); // ok: two fields checked above
        if file.is_empty() {
            return Err(bad("empty file name".into()));
        }
        let value = parse(record[1].trim()).map_err(bad)?; // ok: two fields checked above
        rows.push(Row { file, value, line });
    }
    Ok(rows)
}

/// The records of a header-less CSV file of any width, each with its 1-based line; a malformed record is
/// [`Error::Csv`] naming the file and line.
fn csv_records(path: &Path) -> Result<impl Iterator<Item = Result<(csv::StringRecord, u64)>> + '_> {
    let file = std::fs::File::open(path).map_err(io(path))?;
    let reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(file);
    Ok(reader.into_records().map(move |record| {
        let record = record.map_err(|e| Error::Csv {
            path: path.to_path_buf(),
            line: e.position().map_or(0, |p| p.line()),
            reason: e.to_string(),
        })?;
        let line = record.position().map_or(0, |p| p.line());
        Ok((record, line))
    }))
}

/// Parses a score: any finite or infinite f64 (NaN is refused).
fn parse_score(text: &str) -> std::result::Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v.is_nan() => Err("score is NaN".into()),
        Ok(v) => Ok(v),
        Err(_) => Err(format!("score {text:?} is not a number")),
    }
}

/// Parses a 0/1 flag (`0`, `1`, or a float equal to either, as Python's `int(float(x))` accepts).
fn parse_flag(text: &str) -> std::result::Result<bool, String> {
    match text.parse::<f64>() {
        Ok(0.0) => Ok(false),
        Ok(1.0) => Ok(true),
        _ => Err(format!("expected 0 or 1, found {text:?}")),
    }
}

/// Reads a score CSV (`file,score` rows, no header, larger = more anomalous).
///
/// Errors: [`Error::Io`], [`Error::Csv`] naming the file and line of a malformed row or a NaN score.
pub fn read_scores(path: &Path) -> Result<Vec<Row<f64>>> {
    read_rows(path, parse_score)
}

/// Reads a decision CSV (`file,0|1` rows, 1 = anomalous).
///
/// Errors: [`Error::Io`], [`Error::Csv`].
pub fn read_decisions(path: &Path) -> Result<Vec<Row<bool>>> {
    read_rows(path, parse_flag)
}

/// Writes rows `file,value` (no header, `\n` line ends) with `value` formatted by `format`.
fn write_rows<T>(path: &Path, rows: &[(impl AsRef<str>, T)], format: impl Fn(&T) -> String) -> Result<()> {
    let mut text = String::new();
    for (file, value) in rows {
        let file = file.as_ref();
        if file.contains([',', '"', '\n', '\r']) {
            return Err(Error::Csv {
                path: path.to_path_buf(),
                line: text.lines().count() as u64 + 1,
                reason: format!("clip name {file:?} contains a CSV delimiter"),
            });
        }
        text.push_str(file);
        text.push(',');
        text.push_str(&format(value));
        text.push('\n');
    }
    asd_io::write(path, text.as_bytes()).map_err(io(path))
}

/// Writes a score CSV (`file,score`; scores in shortest round-trip form, so reading gives the same f64).
///
/// Errors: [`Error::Io`]; [`Error::Csv`] for a clip name containing `,`, `"` or a line break.
pub fn write_scores(path: &Path, rows: &[(impl AsRef<str>, f64)]) -> Result<()> {
    write_rows(path, rows, |s| format!("{s:?}"))
}

/// Writes a decision CSV (`file,0|1`).
///
/// Errors: as [`write_scores`].
pub fn write_decisions(path: &Path, rows: &[(impl AsRef<str>, bool)]) -> Result<()> {
    write_rows(path, rows, |&d| u8::from(d).to_string())
}

/// The `<prefix>*.csv` files of a folder with their parsed names, sorted by path.
///
/// Errors: [`Error::Io`] when the folder cannot be listed; [`Error::FileName`] for a `<prefix>*.csv` whose name
/// has no group key.
pub fn group_files(dir: &Path, prefix: &str) -> Result<Vec<(GroupFileName, PathBuf)>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let path = entry.map_err(io(dir))?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if path.is_file() && name.starts_with(prefix) && name.ends_with(".csv") {
            files.push((GroupFileName::parse(&path, prefix)?, path));
        }
    }
    files.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(files)
}

/// Ground truth of one (machine type, group) from the evaluator's folders.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GroupTruth {
    /// Truth per evaluation file name.
    pub clips: BTreeMap<String, ClipTruth>,
    /// Revealed name (with `.wav`) → evaluation name, from `ground_truth_attributes/`.
    pub aliases: HashMap<String, String>,
}

/// The ground truth of an official evaluator checkout, per (machine type, group key).
pub type EvaluatorTruth = BTreeMap<(String, String), GroupTruth>;

/// Reads the ground truth of an official DCASE evaluator checkout under `root`: the DCASE 2020 evaluator's
/// [`EVAL_DATA_LIST`] when there is no `ground_truth_data/`, else the folders of 2021–2026:
/// `ground_truth_data/` (labels), `ground_truth_domain/` (optional; domains, else taken from a
/// `_source_`/`_target_` file-name tail as in 2021) and `ground_truth_attributes/` (optional; revealed names;
/// fields after the second ignored). Subfolders of the side folders (2022's `ground_truth_attributes/<type>/`,
/// which its evaluator does not read) are ignored.
///
/// Errors: [`Error::Io`], [`Error::Csv`], [`Error::FileName`]; [`Error::UnknownClip`] when a domain or
/// attribute file names a clip the labels do not have; [`Error::DuplicateClip`].
pub fn read_evaluator_truth(root: &Path) -> Result<EvaluatorTruth> {
    let list = root.join(EVAL_DATA_LIST);
    if !root.join(GROUND_TRUTH_DATA_DIR).is_dir() && list.is_file() {
        return read_eval_data_list(&list);
    }
    let mut truth = EvaluatorTruth::new();
    for (name, path) in group_files(&root.join(GROUND_TRUTH_DATA_DIR), GROUND_TRUTH_PREFIX)? {
        let group = truth
            .entry((name.machine_type.clone(), name.group.clone()))
            .or_default();
        for row in read_rows(&path, parse_flag)? {
            let clip = ClipTruth {
                anomaly: row.value,
                domain: name.tail_domain(),
            };
            if group.clips.insert(row.file.clone(), clip).is_some() {
                return Err(Error::DuplicateClip {
                    clip: row.file,
                    csv: path,
                    line: row.line,
                });
            }
        }
    }
    read_side_folder(&root.join(GROUND_TRUTH_DOMAIN_DIR), &mut truth, |group, row, path| {
        let target = parse_flag(&row.value).map_err(|reason| Error::Csv {
            path: path.to_path_buf(),
            line: row.line,
            reason,
        })?;
        if let Some(clip) = group.clips.get_mut(&row.file) {
            clip.domain = Some(if target { Domain::Target } else { Domain::Source });
        }
        Ok(())
    })?;
    read_side_folder(&root.join(GROUND_TRUTH_ATTRIBUTES_DIR), &mut truth, |group, row, _| {
        group.aliases.insert(format!("{}.wav", row.value), row.file);
        Ok(())
    })?;
    Ok(truth)
}

/// Reads every `ground_truth_*.csv` of an optional side folder (domains, attributes) and hands each row, with
/// the group it belongs to, to `f`. A row naming a clip the labels lack is [`Error::UnknownClip`].
fn read_side_folder(
    dir: &Path,
    truth: &mut EvaluatorTruth,
    mut f: impl FnMut(&mut GroupTruth, Row<String>, &Path) -> Result<()>,
) -> Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    for (name, path) in group_files(dir, GROUND_TRUTH_PREFIX)? {
        for row in read_rows_of(&path, |s| Ok(s.to_string()), true)? {
            let group = truth.get_mut(&(name.machine_type.clone(), name.group.clone()));
            match group.filter(|g| g.clips.contains_key(&row.file)) {
                Some(group) => f(group, row, &path)?,
                None => {
                    return Err(Error::UnknownClip {
                        clip: row.file,
                        csv: path,
                    });
                }
            }
        }
    }
    Ok(())
}

/// Reads the DCASE 2020 evaluator's `eval_data_list.csv`: blocks of rows `<eval name>,<revealed name>,<0|1>`, each
/// opened by a line holding its machine type; the group is the `id_XX` of the evaluation name. Evaluation names
/// repeat across types (`id_05_…` in fan and ToyCar), so the truth is keyed by type as every other year's.
///
/// Errors: [`Error::Io`]; [`Error::Csv`] naming the line of a row before any type line, a row of another width, a
/// bad label or an evaluation name without `id_XX_`; [`Error::DuplicateClip`].
fn read_eval_data_list(path: &Path) -> Result<EvaluatorTruth> {
    let mut truth = EvaluatorTruth::new();
    let mut machine_type: Option<String> = None;
    for record in csv_records(path)? {
        let (record, line) = record?;
        let bad = |reason: String| Error::Csv {
            path: path.to_path_buf(),
            line,
            reason,
        };
        let fields: Vec<&str> = record.iter().map(str::trim).collect();
        match fields.as_slice() {
            [""] | [] => {}
            [name] => machine_type = Some((*name).to_string()),
            [eval, _revealed, label] => {
                let machine_type = machine_type
                    .clone()
                    .ok_or_else(|| bad("a clip row before any machine-type line".into()))?;
                let group = match eval.split('_').collect::<Vec<_>>().as_slice() {
                    ["id", id, ..] if id.len() == 2 && id.bytes().all(|b| b.is_ascii_digit()) => format!("id_{id}"),
                    _ => return Err(bad(format!("evaluation name {eval:?} does not start with id_XX_"))),
                };
                let anomaly = parse_flag(label).map_err(bad)?;
                let clips = &mut truth.entry((machine_type, group)).or_default().clips;
                let clip = ClipTruth { anomaly, domain: None };
                if clips.insert((*eval).to_string(), clip).is_some() {
                    return Err(Error::DuplicateClip {
                        clip: (*eval).to_string(),
                        csv: path.to_path_buf(),
                        line,
                    });
                }
            }
            other => {
                return Err(bad(format!(
                    "expected a machine type or <eval name>,<revealed name>,<0|1>, found {} fields",
                    other.len()
                )));
            }
        }
    }
    Ok(truth)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_group_file_names_of_every_year() {
        let p = |name: &str| GroupFileName::parse(Path::new(name), SCORE_PREFIX);
        let g = p("anomaly_score_ToyCar_id_01.csv").unwrap();
        assert_eq!(
            (g.machine_type.as_str(), g.group.as_str(), g.tail.as_str()),
            ("ToyCar", "id_01", "")
        );
        let g = p("anomaly_score_fan_section_02_target_test.csv").unwrap();
        assert_eq!(
            (g.group.as_str(), g.tail_domain()),
            ("section_02", Some(Domain::Target))
        );
        let g = p("anomaly_score_DCASE2023T2bandsaw_section_00_test_seed13711_id(0_)_Eval.csv").unwrap();
        assert_eq!((g.machine_type.as_str(), g.group.as_str()), ("bandsaw", "section_00"));
        assert!(matches!(p("anomaly_score_fan.csv"), Err(Error::FileName { .. })));
        assert!(matches!(p("anomaly_score_fan_id_1.csv"), Err(Error::FileName { .. })));
        assert!(matches!(p("scores_fan_id_01.csv"), Err(Error::FileName { .. })));
        let g = p("anomaly_score_Lüfter_section_01_test.csv").unwrap(); // non-ASCII type name
        assert_eq!((g.machine_type.as_str(), g.group.as_str()), ("Lüfter", "section_01"));
        assert!(matches!(p("anomaly_score_ü_id_ü.csv"), Err(Error::FileName { .. })));
        assert_eq!(score_file_name("fan", "id_00"), "anomaly_score_fan_id_00.csv");
        assert_eq!(
            decision_file_name("fan", "section_00"),
            "decision_result_fan_section_00_test.csv"
        );
    }

    #[test]
    fn score_csv_round_trip_and_bad_rows_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(score_file_name("fan", "id_00"));
        let rows = [("a.wav", 0.1 + 0.2), ("b.wav", -1e-300), ("c.wav", f64::INFINITY)];
        write_scores(&path, &rows).unwrap();
        let back = read_scores(&path).unwrap();
        assert_eq!(
            back.iter().map(|r| (r.file.as_str(), r.value)).collect::<Vec<_>>(),
            rows.to_vec()
        );
        assert_eq!(back[2].line, 3);

        std::fs::write(&path, "a.wav,1.0\nb.wav,oops\n").unwrap();
        match read_scores(&path) {
            Err(e @ Error::Csv { line: 2, .. }) => {
                assert!(e.to_string().contains("anomaly_score_fan_id_00.csv"))
            }
            other => panic!("{other:?}"),
        }
        std::fs::write(&path, "a.wav,NaN\n").unwrap();
        assert!(matches!(read_scores(&path), Err(Error::Csv { line: 1, .. })));
        std::fs::write(&path, "a.wav\n").unwrap();
        assert!(matches!(read_scores(&path), Err(Error::Csv { line: 1, .. })));
        assert!(matches!(
            read_scores(&dir.path().join("missing.csv")),
            Err(Error::Io { .. })
        ));
        assert!(matches!(
            write_scores(&path, &[("a,b.wav", 1.0)]),
            Err(Error::Csv { .. })
        ));
    }
}
